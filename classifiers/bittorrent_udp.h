// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// BitTorrent over UDP on any port:
/// - uTP (BEP 29): the 20-byte header (version 1, type 0..4, a well-formed extension
///   chain, no data on SYN/STATE/RESET) validated in both directions, the responder's
///   connection id tied to the initiator's and its ack_nr to the initiator's seq_nr;
/// - DHT KRPC (BEP 5): one complete bencoded dictionary with "t", "y" in {q, r, e} and a
///   20-byte "id" in "a" (query) or "r" (response); a query is held until its reply so the
///   reply's "nodes"/"nodes6"/"values" feed the cross-flow peer cache;
/// - UDP tracker (BEP 15): connect request (protocol id 0x41727101980, action 0), announce
///   request/response (action 1, matching transaction id); announce replies feed the cache;
/// - local peer discovery (BEP 14): "BT-SEARCH * HTTP/1.1" with the announcer's Port.
///
/// Features: every match carries `file_transfer`; uTP sessions also `serving` (the
/// responder accepts inbound peer connections). DHT, tracker and discovery flows are
/// signalling, not serving.
class BittorrentUdp final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "bittorrent_udp"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  std::optional<Match> give_up(const FlowContext& ctx, FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
