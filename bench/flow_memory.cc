// SPDX-License-Identifier: GPL-3.0-or-later
// Heap bytes per flow, measured (not sizeof): drives engine::Analyzer with N new flows of
// one kind and reads glibc's in-use heap (mallinfo2: uordblks + hblkhd) before and after,
// so nDPI's per-flow allocations count too. Kinds:
//   undecided  TCP SYN + one 32-byte payload nobody recognises (the chain keeps waiting,
//              nDPI holds its flow state);
//   decided    TCP SYN + a BitTorrent handshake (decided by imguard's classifier);
//   decided    UDP DNS query and answer (decided by nDPI).
// The table's bucket array and closed-tuple slots are reserved when the analyzer is made
// and are printed apart (fixed per worker, bytes per flow of capacity).
// Usage: flow_memory [N_FLOWS=100000]
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "engine/analyzer.h"

namespace {

using imguard::engine::Analyzer;
using imguard::engine::FlowRecord;
using imguard::packet::Timestamp;

struct NullSink final : imguard::engine::FlowSink {
  void on_flow_end(const FlowRecord&) override {}
};

size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

void put16(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}

// 10.x.y.z:sport -> 10.200.0.1:dport (or back, `reply`), flow i spread over the client
// address and port.
std::vector<uint8_t> ipv4(bool udp, uint32_t i, uint16_t dport, uint8_t flags,
                          const std::string& payload, bool reply = false) {
  const size_t l4len = udp ? 8 : 20;
  std::vector<uint8_t> b(20 + l4len + payload.size(), 0);
  b[0] = 0x45;
  put16(b, 2, static_cast<uint32_t>(b.size()));
  b[8] = 64;
  b[9] = udp ? 17 : 6;
  b[12] = 10;
  b[13] = static_cast<uint8_t>(i >> 16);
  b[14] = static_cast<uint8_t>(i >> 8);
  b[15] = static_cast<uint8_t>(i);
  b[16] = 10;
  b[17] = 200;
  b[19] = 1;
  put16(b, 20, 20000 + (i % 40000));
  put16(b, 22, dport);
  if (udp) {
    put16(b, 24, static_cast<uint32_t>(8 + payload.size()));
  } else {
    b[27] = 1;       // seq 1
    b[32] = 5 << 4;  // data offset
    b[33] = flags;
    put16(b, 34, 65535);
  }
  std::copy(payload.begin(), payload.end(), b.begin() + static_cast<long>(20 + l4len));
  if (reply) {
    std::swap_ranges(b.begin() + 12, b.begin() + 16, b.begin() + 16);
    std::swap_ranges(b.begin() + 20, b.begin() + 22, b.begin() + 22);
  }
  return b;
}

struct Kind {
  const char* name;
  const char* what;
  bool udp;
  uint16_t dport;
  std::string payload;
  std::string answer;  // sent back by the server when not empty
};

void measure(const Kind& k, uint32_t n) {
  NullSink sink;
  std::string error;
  Analyzer::Config cfg;
  cfg.flows.capacity = n;
  const size_t before_engine = heap_in_use();
  auto an = Analyzer::create(cfg, sink, error);
  if (!an) {
    std::fprintf(stderr, "flow_memory: %s\n", error.c_str());
    std::exit(1);
  }
  const size_t before = heap_in_use();
  uint64_t decided = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const Timestamp t{1'000'000 + i};
    if (!k.udp) {
      an->on_packet(ipv4(false, i, k.dport, 0x02, ""), t);
    }
    auto out = an->on_packet(ipv4(k.udp, i, k.dport, 0x18, k.payload), t);
    if (!k.answer.empty()) {
      out = an->on_packet(ipv4(k.udp, i, k.dport, 0x18, k.answer, true), t);
    }
    decided += out.flow != nullptr && out.flow->chain.result.final ? 1 : 0;
  }
  const size_t after = heap_in_use();
  const double per_flow = static_cast<double>(after - before) / n;
  std::printf("bytes per %-9s flow: %7.0f  (%s; %u flows, %lu decided, %zu in table)\n", k.name,
              per_flow, k.what, n, static_cast<unsigned long>(decided), an->flows().size());
  static bool once = false;
  if (!once) {
    once = true;
    std::printf(
        "fixed per worker: %.1f MiB for a capacity of %u flows (%.0f B per flow of "
        "capacity: nDPI module, buckets, closed-tuple slots)\n",
        static_cast<double>(before - before_engine) / (1 << 20), n,
        static_cast<double>(before - before_engine) / n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t n = argc > 1 ? static_cast<uint32_t>(std::strtoul(argv[1], nullptr, 10)) : 100000;
  const std::string handshake =
      std::string("\x13") + "BitTorrent protocol" + std::string(8, '\0') + std::string(40, 'x');
  const std::string dns(
      "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07"
      "example\x03"
      "com\x00\x00\x01\x00\x01",
      29);
  measure({"undecided", "TCP, SYN + 32 unknown bytes", false, 31337, std::string(32, '\x5a'), ""},
          n);
  measure({"decided", "TCP, SYN + BitTorrent handshake, decided by bittorrent", false, 31337,
           handshake, ""},
          n);
  std::string answer = dns;
  answer[2] = '\x81';
  answer[3] = '\x80';
  answer[7] = 1;  // one answer: example.com A 192.0.2.1
  answer += std::string("\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01", 16);
  measure({"decided", "UDP DNS query and answer, decided by ndpi", true, 53, dns, answer}, n);
  return 0;
}
