// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the NFQUEUE receive path without a socket: the input is one datagram as recv()
// returns it; libmnl splits and bounds its messages exactly as Queue::handle_message does,
// and each goes through nfq::parse_packet_message (the parsing half of
// Queue::on_packet_message; the other half builds verdicts and needs an open queue).
#include <libmnl/libmnl.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "nfq/message.h"

using namespace imguard;

namespace {
int on_message(const nlmsghdr* nlh, void* data) {
  const auto* end = static_cast<const uint8_t*>(data);
  nfq::Packet pkt;
  bool truncated = false;
  if (nfq::parse_packet_message(nlh, pkt, truncated) == nfq::MessageParse::kPacket) {
    // libmnl bounds attributes by the *aligned* message length, so a final message whose
    // length is not a multiple of 4 (the kernel always aligns) may reach 3 bytes further:
    // inside Queue's receive buffer, which is larger than any datagram (hence the slack
    // copy below).
    const auto* msg_end = reinterpret_cast<const uint8_t*>(nlh) + MNL_ALIGN(nlh->nlmsg_len);
    if (msg_end > end || (!pkt.l3.empty() && pkt.l3.data() + pkt.l3.size() > msg_end)) {
      __builtin_trap();  // the payload view must lie inside the message
    }
    volatile uint8_t sink = 0;
    for (const uint8_t b : pkt.l3) {
      sink = static_cast<uint8_t>(sink ^ b);
    }
  }
  return MNL_CB_OK;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // libmnl 1.0.4's mnl_nlmsg_ok() compares `(int)nlh->nlmsg_len <= len`, so a length of
  // 2^31 or more passes and mnl_cb_run() steps outside the datagram. Only the kernel (or a
  // CAP_NET_ADMIN sender) writes to an NFQUEUE socket and it never sends such lengths, so
  // those inputs are outside the contract here (reported in fuzz/README.md).
  for (size_t at = 0; size - at >= sizeof(nlmsghdr);) {
    uint32_t len = 0;
    std::memcpy(&len, data + at, sizeof(len));
    if (len > INT32_MAX) {
      return 0;
    }
    if (len < sizeof(nlmsghdr)) {
      break;
    }
    at += std::min<size_t>(MNL_ALIGN(len), size - at);
  }
  std::vector<uint8_t> buf(data, data + size);
  buf.resize(MNL_ALIGN(size));
  // portid 0 and seq 0: libmnl skips both checks, as for the kernel's unsolicited packets.
  (void)mnl_cb_run(buf.data(), size, 0, 0, on_message, buf.data() + buf.size());
  return 0;
}
