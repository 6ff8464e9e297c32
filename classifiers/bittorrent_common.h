// SPDX-License-Identifier: GPL-3.0-or-later
// Helpers shared by the BitTorrent classifiers (TCP and UDP): byte access, compact peer
// lists (BEP 23/5/32) fed into the cross-flow peer cache, and the shape of an MSE/PE
// Diffie-Hellman key exchange.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string_view>

#include "packet/bytes.h"

#include "classifiers/classifier.h"
#include "classifiers/peer_cache.h"

namespace imguard::classifiers::bt {

using Bytes = std::span<const uint8_t>;

using packet::be16;
using packet::be32;
inline bool starts_with(Bytes p, std::string_view s) noexcept {
  return p.size() >= s.size() && std::equal(s.begin(), s.end(), p.begin(), [](char a, uint8_t b) {
           return static_cast<uint8_t>(a) == b;
         });
}
/// Offset of `needle` in `hay`, or hay.size() when absent.
inline size_t find(Bytes hay, std::string_view needle) noexcept {
  const auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                              [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
  return static_cast<size_t>(it - hay.begin());
}

/// Endpoints named by other hosts (DHT, trackers, Kad) are learned only from this port up.
inline constexpr uint16_t kMinLearnedPort = 1024;

/// Remembers every entry of a compact peer list: 6 bytes (IPv4 + port) or 18 bytes (IPv6 +
/// port) each, skipping `skip` leading bytes per entry (20-byte node ids in "nodes"), on
/// behalf of `learner` (the host that asked for the list and received it): the entries
/// speak only for that host's own later connections.
/// Entries below kMinLearnedPort are skipped. A cut-short last entry is ignored.
void learn_compact(PeerCache* cache, const packet::Address& learner, Bytes list, size_t skip,
                   size_t addr_len, packet::Timestamp now) noexcept;

/// Remembers both endpoints of a flow whose both ends are BitTorrent sockets (uTP, DHT,
/// peer wire's listener), each on behalf of the other end, and the two hosts. Call only
/// once the flow's own payload confirmed the protocol in the direction(s) it vouches for.
void learn_flow(const packet::PacketView& pkt, const FlowContext& ctx,
                bool client_port_too) noexcept;

/// Payload sizes of the first message of each side of an MSE/PE handshake: a 96-byte DH
/// public key plus 0..512 bytes of random padding.
inline constexpr size_t kMseMinBytes = 96;
inline constexpr size_t kMseMaxBytes = 96 + 512;

/// True when `p` could be the opening of an MSE/PE handshake: the size fits, it looks
/// random (many distinct byte values in the key part), and it carries no recognisable
/// framing (TLS, SSH, HTTP, a length prefix matching the segment).
bool looks_like_mse_key(Bytes p) noexcept;

/// The MSE initiator's second message: HASH('req1', S), HASH('req2', SKEY) xor
/// HASH('req3', S) (20 bytes each), then RC4 of VC (8), crypto_provide (4), len(PadC) (2),
/// PadC, len(IA) (2) and IA: at least 56 bytes, all of it random-looking.
inline constexpr size_t kMseRequestMinBytes = 20 + 20 + 8 + 4 + 2 + 2;
bool looks_like_mse_request(Bytes p) noexcept;

/// True for server ports of ordinary or obfuscated non-P2P services (below 1024, proxies,
/// alternative HTTPS, XMPP, Tor, VPNs), where a random-looking exchange alone must not be
/// taken for MSE. BitTorrent clients listen on unprivileged, mostly random ports.
bool is_service_port(uint16_t port) noexcept;

}  // namespace imguard::classifiers::bt
