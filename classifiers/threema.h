// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Threema's chat server protocol on any TCP port (the apps use 5222, then 443) by the
/// shape of its handshake and of the frames after it: the handshake messages carry no
/// plaintext marker, only fixed sizes in a fixed order, so the evidence is kBehaviour.
///
/// What separates it from the look-alikes (pcaps/threema/, pcaps/xmpp/, pcaps/background/):
/// - XMPP on 5222 and TLS on 443 open with far more than 48 bytes (a stream header, a
///   ClientHello), so their first message already fails.
/// - Random payload with the same first sizes (48 / 80 / 144+ / 32): it would further need
///   every frame length after the login acknowledgement to be at least a box (20 bytes)
///   and two frames to end exactly where a segment ends, each a 2^-16 coincidence.
/// - A protocol framed by 16-bit lengths from its first byte (the same sizes, each message
///   length-prefixed): Threema's four handshake messages are unframed, so a handshake
///   message whose first two bytes give its own length is not Threema.
/// Needs the connection's start (the handshake); a capture that starts later stays
/// unknown. Per-flow state only (both directions' stream offsets); allocates nothing.
class Threema final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "threema"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
