// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// BitTorrent over TCP on any port:
/// - the peer-wire handshake (BEP 3) in either direction's first payload;
/// - HTTP tracker announces and scrapes (BEP 3, BEP 48): a GET whose query carries
///   info_hash and peer_id (or a scrape path); the flow is held until the response so the
///   compact peer list (BEP 23) feeds the cross-flow peer cache;
/// - MSE/PE encrypted sessions by behaviour: both sides open with a 96..608-byte random
///   blob (DH key + padding), no recognisable framing. Enough when one of the hosts is
///   already known as a BitTorrent host in the peer cache; otherwise the initiator's next
///   message must also look like MSE's (>= 56 random bytes: two hashes and the encrypted
///   verification constant), it must have sent its key in one segment, the server port
///   must not be an ordinary service port, and the initiator's 68-byte peer-wire
///   handshake must show by its size (in a 124-byte request, or as the next segment).
///   Encrypted sessions to a known peer endpoint are left to KnownPeers (cross_flow).
///
/// Features: every match carries `file_transfer`. `serving` is set when the responder is a
/// peer listener accepting inbound peer connections: peer-wire handshakes and MSE
/// sessions, not tracker requests (the tracker is a web service, not a peer).
///
/// Learns into FlowContext::peers: the responder of a peer-wire session (endpoint and host)
/// and the initiating host; the announcing client's listen port; tracker peer lists.
class Bittorrent final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "bittorrent"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  std::optional<Match> give_up(const FlowContext& ctx, FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
