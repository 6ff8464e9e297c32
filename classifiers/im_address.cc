// SPDX-License-Identifier: GPL-3.0-or-later
// Address-list match on the first packet: either endpoint inside a `cidr` prefix of the
// signature data (e.g. Telegram's published ranges). Both ends are checked because a
// capture may start mid-flow with the server's packet.
// Evidence: pcaps/im_address/telegram-cidr.pcap. Look-alikes: any service on a neighbouring
// address (the capture's second flow, just outside the range; unit test "Neighbouring
// addresses are not IM"): only containment in a listed prefix counts. The answer is
// address_list, weak: the chain holds it while the payload is inspected, so a protocol
// recognised in the payload (other than a generic TLS/QUIC/HTTP/STUN carrier) wins. False
// positives: a prefix that a service re-assigns; keep the data current.
#include "classifiers/im_address.h"

namespace imguard::classifiers {

Result ImAddress::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                          FlowSlot /*slot*/) noexcept {
  if (ctx.packet_index != 0) {
    return NotMine{};
  }
  auto app = sigs_->app_for_address(pkt.dst);
  if (!app) {
    app = sigs_->app_for_address(pkt.src);
  }
  if (app) {
    return Match{.app = *app, .evidence = Evidence::kAddressList, .features = kFeatureNone};
  }
  return NotMine{};
}

}  // namespace imguard::classifiers
