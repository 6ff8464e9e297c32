// SPDX-License-Identifier: GPL-3.0-or-later
// Layout checks for Gnutella 0.6 binary messages and the Mojito DHT messages that ride in
// them, shared by the Gnutella classifier's UDP and TCP paths.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace imguard::classifiers::gnutella {

using Bytes = std::span<const uint8_t>;

/// Message header: GUID (16), payload type, TTL, hops, payload length (little-endian 32).
/// Mojito messages put their message version (major, minor) where TTL and hops would be.
inline constexpr size_t kHeader = 23;
inline constexpr size_t kTypeAt = 16;
inline constexpr size_t kLengthAt = 19;
/// Servents drop messages with longer payloads (LimeWire's limit is 64 KiB); none sends
/// them.
inline constexpr uint32_t kMaxPayload = 0xffff;

enum class Transport : uint8_t { kTcp, kUdp };

/// The header's payload type, TTL and hops are those of a message a servent sends over
/// `transport` (Mojito, type 0x44, only over UDP; query routing, 0x30, only over TCP).
bool header_fits(uint8_t type, uint8_t ttl, uint8_t hops, Transport transport) noexcept;

/// `payload` (the whole of one message's payload) has the layout its type prescribes:
/// fixed fields, NUL-terminated strings and GGEP blocks that end exactly where the
/// payload ends (Gnutella 0.6 draft, GGEP 0.51, LimeWire's vendor and Mojito formats).
bool payload_fits(uint8_t type, Bytes payload) noexcept;

/// One Mojito DHT message payload (after the Gnutella header): op code (PING, PONG, STORE,
/// FIND_NODE, FIND_VALUE requests and responses), vendor, version, node id, contact
/// address, instance id, flags, extended header, and the op code's body, every length
/// field chaining to the exact end.
bool is_mojito(Bytes payload) noexcept;

/// One exact GGEP block (0xC3 magic, extensions up to the one flagged last, ending at the
/// end of `b`).
bool is_ggep(Bytes b) noexcept;

}  // namespace imguard::classifiers::gnutella
