// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes packet::parse_ip: the input is one IP packet as NFQUEUE or a pcap hands it over.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "packet/packet.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  auto parsed = imguard::packet::parse_ip(in, imguard::packet::Timestamp{1});
  if (const auto* pkt = std::get_if<imguard::packet::PacketView>(&parsed)) {
    // The views must lie inside the input (the contract: never reads outside `l3`).
    const auto inside = [&](std::span<const uint8_t> s) {
      return s.empty() || (s.data() >= data && s.data() + s.size() <= data + size);
    };
    if (!inside(pkt->l3) || !inside(pkt->payload)) {
      __builtin_trap();
    }
    volatile uint8_t sink = 0;
    for (const uint8_t b : pkt->payload) {
      sink = static_cast<uint8_t>(sink ^ b);
    }
  }
  return 0;
}
