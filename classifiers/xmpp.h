// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// XMPP (RFC 6120) on any port: the stream header of a client or server stream, then
/// STARTTLS or cleartext stanzas; BOSH and XMPP over WebSocket; and XEP-0065 SOCKS5
/// bytestreams (file transfer). The client's opening may span any number of segments
/// within the flow's budget (reassembled in a buffer freed on decision or release()).
/// Claims the flow once the stream header is seen, so the features are decided here.
class Xmpp final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "xmpp"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  std::optional<Match> give_up(const FlowContext& ctx, FlowSlot slot) noexcept override;
  void release(FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
