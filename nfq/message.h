// SPDX-License-Identifier: GPL-3.0-or-later
// Internal to the nfq library (and fuzz/nfq_message.cc): the attribute parsing half of
// Queue::on_packet_message, without the socket and the verdict state.
#pragma once

#include <cstdint>

#include "nfq/queue.h"

namespace imguard::nfq {

enum class MessageParse : uint8_t {
  kPacket,     // an NFQNL_MSG_PACKET; `pkt` is filled in (except `ts`)
  kOther,      // another message type: ignored
  kMalformed,  // attributes that do not parse, or no NFQA_PACKET_HDR (counted)
};

/// Parses one netlink message that libmnl has already bounded (mnl_cb_run checks
/// nlmsg_len against the datagram). `pkt` views point into the message. `truncated` is set
/// when the kernel copied less than the packet (NFQA_CAP_LEN). Never throws.
MessageParse parse_packet_message(const nlmsghdr* nlh, Packet& pkt, bool& truncated) noexcept;

}  // namespace imguard::nfq
