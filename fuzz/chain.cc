// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the whole classifier chain (our classifiers, then nDPI) over the packets of one
// flow, as a worker sees them.
//
// Input: a 6-byte flow header, then packet records.
//   header: [flags] [sport:2] [dport:2] [unused]   flags bit0: UDP, bit1: IPv6
//   record: [dir|tcp flags] [len:2 big-endian] [payload: len bytes]
//           bit7 of the first byte: server → client; the low 6 bits are the TCP flags.
// A truncated last record takes what is left. At the end the flow is finished (give_up)
// and released, as the flow table does.
//
// One chain per process, like one per worker: its nDPI module and cross-flow PeerCache
// live across inputs (so a crash may need an earlier input to reproduce; the PeerCache is
// bounded, so this stays rare).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "classifiers/registry.h"
#include "packet/packet.h"
#include "packet_builder.h"

using namespace imguard;

namespace {

classifiers::Chain& chain() {
  static classifiers::Chain* c = [] {
    std::string error;
    auto made = classifiers::make_chain(classifiers::Budget{}, error);
    if (!made) {
      __builtin_trap();
    }
    return made.release();  // lives as long as the process, like a worker's chain
  }();
  return *c;
}

uint16_t be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = 6;
  if (size < kHeader) {
    return 0;
  }
  const bool udp = (data[0] & 1) != 0;
  const bool v6 = (data[0] & 2) != 0;
  test::Endpoints client;
  client.src = v6 ? "2001:db8::1" : "10.0.0.1";
  client.dst = v6 ? "2001:db8::2" : "10.0.0.2";
  client.sport = be16(data + 1);
  client.dport = be16(data + 3);
  test::Endpoints server{client.dst, client.src, client.dport, client.sport};

  classifiers::Chain& c = chain();
  classifiers::ChainFlowState state;
  classifiers::FlowContext ctx;
  uint32_t packets = 0;
  bool final = false;
  size_t at = kHeader;
  while (at + 3 <= size && !final && packets < 80) {
    const uint8_t flags = data[at];
    const size_t len = std::min<size_t>(be16(data + at + 1), size - at - 3);
    const std::string_view payload(reinterpret_cast<const char*>(data + at + 3), len);
    at += 3 + len;
    const bool reply = (flags & 0x80) != 0;
    const test::Endpoints& e = reply ? server : client;
    const auto tcp_flags = static_cast<uint8_t>(flags & 0x3f);
    std::vector<uint8_t> wire =
        udp ? (v6 ? test::ipv6_udp(e, payload) : test::ipv4_udp(e, payload))
            : (v6 ? test::ipv6_tcp(e, payload, tcp_flags) : test::ipv4_tcp(e, payload, tcp_flags));
    auto parsed = packet::parse_ip(wire, packet::Timestamp{1000000 + 1000 * packets});
    const auto* pkt = std::get_if<packet::PacketView>(&parsed);
    if (pkt == nullptr) {
      continue;  // e.g. a payload too big for one IP packet
    }
    const auto dir =
        reply ? classifiers::Direction::kServerToClient : classifiers::Direction::kClientToServer;
    ctx.direction = dir;
    ctx.packet_index = packets++;
    if (!pkt->payload.empty()) {
      ++ctx.payload_packets[static_cast<size_t>(dir)];
    }
    final = c.inspect(*pkt, ctx, state);
    // `wire` dies here: like an NFQUEUE buffer, a packet is valid only during inspect().
  }
  if (!final) {
    c.finish(ctx, state);
  }
  if (state.result.final &&
      static_cast<size_t>(state.result.app) >= static_cast<size_t>(classifiers::AppId::kCount_)) {
    __builtin_trap();
  }
  (void)c.classifier_name(state.result.classifier);
  c.release(state);
  return 0;
}
