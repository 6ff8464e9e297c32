// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// eDonkey2000 / eMule on any port.
/// - TCP: messages are [protocol byte][uint32 little-endian length][opcode][payload],
///   protocol 0xE3 (eDonkey), 0xC5 (eMule extensions) or 0xD4 (zlib-packed). A segment is
///   accepted when its messages' lengths add up to exactly the segment. The client hello
///   (0xE3, opcode 0x01, then the hash length 16 and the 16-byte user hash) decides alone;
///   otherwise both directions must open with well-framed messages, or one side with an
///   exactly framed segment that the other never contradicts (decided when the flow ends).
/// - UDP Kad (0xE4 plain, 0xE5 zlib-packed): a known Kademlia opcode with a size that fits
///   its layout, answered by a Kad message from the other side (or repeated when unanswered).
///   eD2k server UDP (0xE3: server status, global source queries) and eMule reasks (0xC5)
///   are taken the same way. Contacts in Kad responses feed the cross-flow peer cache, so later
///   obfuscated connections to them are recognised by KnownPeers.
///
/// Features: `file_transfer` always. `serving` on peer connections (client hello or hello
/// answer: the responder is a client accepting inbound peers); not on client-to-server
/// logins (the responder is an eD2k index server) nor on Kad signalling.
class Edonkey final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "edonkey"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  std::optional<Match> give_up(const FlowContext& ctx, FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
