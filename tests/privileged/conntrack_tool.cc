// SPDX-License-Identifier: GPL-3.0-or-later
// Drives conntrack::Conntrack for tests/privileged/conntrack.sh, in the caller's network
// namespace. Every subcommand dumps first; the setters then update every dumped TCP/UDP
// connection that passes the filters.
//
//   imguard_conntrack_tool dump [FILTER...]
//   imguard_conntrack_tool set-mark MASK VALUE [FILTER...]
//   imguard_conntrack_tool set-label BIT[,BIT...] [FILTER...]   (sets those label bits)
//   FILTER: --proto tcp|udp   --dport PORT   --dport-min PORT
//
// Prints one line per connection (dump) or the update counters, and the time taken on
// stderr as "time dump_ms=.. update_ms=.. entries=..".
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "conntrack/conntrack.h"
#include "conntrack/netlink.h"

namespace {

using imguard::conntrack::Entry;
using imguard::conntrack::Label;
using imguard::conntrack::Update;

struct Filter {
  uint8_t proto = 0;
  int dport = -1;
  int dport_min = -1;
  bool keep(const Entry& e) const {
    return (proto == 0 || e.original.l4proto == proto) &&
           (dport < 0 || e.original.dport == dport) &&
           (dport_min < 0 || e.original.dport >= dport_min);
  }
};

int usage() {
  std::fprintf(stderr,
               "usage: imguard_conntrack_tool dump|set-mark MASK VALUE|set-label BITS "
               "[--proto tcp|udp] [--dport PORT] [--dport-min PORT]\n");
  return 2;
}

bool parse_u32(const std::string& s, uint32_t& out) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(s.c_str(), &end, 0);
  if (s.empty() || *end != '\0' || v > 0xffffffffUL) {
    return false;
  }
  out = static_cast<uint32_t>(v);
  return true;
}

// Bit n of the label is bit n % 8 of byte n / 8: the kernel's unsigned long bitmap as a
// little-endian host stores it (nf_connlabel_set).
bool parse_bits(const std::string& s, Label& bits) {
  size_t at = 0;
  while (at <= s.size()) {
    const size_t comma = std::min(s.find(',', at), s.size());
    uint32_t bit = 0;
    if (!parse_u32(s.substr(at, comma - at), bit) || bit > 127) {
      return false;
    }
    bits[bit / 8] = static_cast<uint8_t>(bits[bit / 8] | (1u << (bit % 8)));
    at = comma + 1;
  }
  return true;
}

std::string hex(const Label& l) {
  std::string out;
  char b[3];
  for (uint8_t byte : l) {
    std::snprintf(b, sizeof b, "%02x", byte);
    out += b;
  }
  return out;
}

double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    return usage();
  }
  const std::string cmd = argv[1];
  int i = 2;
  uint32_t mask = 0;
  uint32_t value = 0;
  Label bits{};
  if (cmd == "set-mark") {
    if (argc < 4 || !parse_u32(argv[2], mask) || !parse_u32(argv[3], value)) {
      return usage();
    }
    i = 4;
  } else if (cmd == "set-label") {
    if (argc < 3 || !parse_bits(argv[2], bits)) {
      return usage();
    }
    i = 3;
  } else if (cmd != "dump") {
    return usage();
  }
  Filter filter;
  for (; i + 1 < argc; i += 2) {
    const std::string opt = argv[i];
    const std::string arg = argv[i + 1];
    uint32_t n = 0;
    if (opt == "--proto" && (arg == "tcp" || arg == "udp")) {
      filter.proto = arg == "tcp" ? IPPROTO_TCP : IPPROTO_UDP;
    } else if ((opt == "--dport" || opt == "--dport-min") && parse_u32(arg, n) && n <= 65535) {
      (opt == "--dport" ? filter.dport : filter.dport_min) = static_cast<int>(n);
    } else {
      return usage();
    }
  }
  if (i != argc) {
    return usage();
  }

  std::string error;
  auto ct = imguard::conntrack::Conntrack::open(error);
  if (!ct) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::vector<Entry> entries;
  auto t0 = std::chrono::steady_clock::now();
  if (!ct->dump(
          [&](const Entry& e) {
            if (filter.keep(e)) {
              entries.push_back(e);
            }
          },
          error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const double dump_ms = ms_since(t0);
  if (cmd == "dump") {
    for (const Entry& e : entries) {
      std::printf(
          "%s reply %s mark=0x%08x zone=%u id=%u label=%s packets=%llu/%llu "
          "bytes=%llu/%llu\n",
          imguard::conntrack::netlink::to_string(e.original).c_str(),
          imguard::conntrack::netlink::to_string(e.reply).c_str(), e.mark, e.zone, e.id,
          e.label ? hex(*e.label).c_str() : "none", static_cast<unsigned long long>(e.packets[0]),
          static_cast<unsigned long long>(e.packets[1]),
          static_cast<unsigned long long>(e.bytes[0]), static_cast<unsigned long long>(e.bytes[1]));
    }
    std::fprintf(stderr, "time dump_ms=%.1f entries=%zu\n", dump_ms, entries.size());
    return 0;
  }
  std::vector<Update> updates;
  updates.reserve(entries.size());
  for (const Entry& e : entries) {
    Update u;
    u.original = e.original;
    u.zone = e.zone;
    if (cmd == "set-mark") {
      u.mark = value;
      u.mark_mask = mask;
    } else {
      u.label = bits;
      u.label_mask = bits;
    }
    updates.push_back(u);
  }
  t0 = std::chrono::steady_clock::now();
  const auto stats = ct->update(updates);
  const double update_ms = ms_since(t0);
  std::printf("applied=%llu not_found=%llu failed=%llu\n",
              static_cast<unsigned long long>(stats.applied),
              static_cast<unsigned long long>(stats.not_found),
              static_cast<unsigned long long>(stats.failed));
  if (!stats.first_error.empty()) {
    std::printf("first_error=%s\n", stats.first_error.c_str());
  }
  std::fprintf(stderr, "time dump_ms=%.1f update_ms=%.1f entries=%zu\n", dump_ms, update_ms,
               entries.size());
  return stats.failed == 0 ? 0 : 1;
}
