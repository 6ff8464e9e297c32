// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "packet/packet.h"
#include "packet_builder.h"

using imguard::packet::Anomaly;
using imguard::packet::L4;
using imguard::packet::PacketView;
using imguard::packet::parse_ip;
using imguard::packet::Timestamp;
namespace t = imguard::test;

namespace {
std::variant<PacketView, Anomaly> parse(const std::vector<uint8_t>& v) {
  return parse_ip(std::span<const uint8_t>(v), Timestamp{1});
}
}  // namespace

TEST_CASE("IPv4 TCP packet parses to ports, flags and payload", "[packet]") {
  const auto v = t::ipv4_tcp(
      {.src = "192.0.2.1", .dst = "198.51.100.7", .sport = 1234, .dport = 80}, "GET /", 0x18);
  const auto r = parse(v);
  REQUIRE(std::holds_alternative<PacketView>(r));
  const auto& p = std::get<PacketView>(r);
  CHECK(p.l4 == L4::kTcp);
  CHECK(p.src.to_string() == "192.0.2.1");
  CHECK(p.dst.to_string() == "198.51.100.7");
  CHECK(p.sport == 1234);
  CHECK(p.dport == 80);
  CHECK(p.tcp_flags == 0x18);
  CHECK(std::string(p.payload.begin(), p.payload.end()) == "GET /");
  CHECK(p.wire_length == v.size());
}

TEST_CASE("IPv6 UDP packet parses", "[packet]") {
  const auto v =
      t::ipv6_udp({.src = "2001:db8::1", .dst = "2001:db8::2", .sport = 5, .dport = 6}, "hello");
  const auto r = parse(v);
  REQUIRE(std::holds_alternative<PacketView>(r));
  const auto& p = std::get<PacketView>(r);
  CHECK(p.l4 == L4::kUdp);
  CHECK(p.src.to_string() == "2001:db8::1");
  CHECK(p.payload.size() == 5);
}

TEST_CASE("IPv6 extension headers are walked to TCP", "[packet]") {
  auto v = t::ipv6_tcp({.src = "2001:db8::1", .dst = "2001:db8::2"}, "x");
  // Insert a hop-by-hop header (8 bytes) and a destination-options header (16 bytes).
  std::vector<uint8_t> hbh = {60, 0, 1, 4, 0, 0, 0, 0};
  std::vector<uint8_t> dst = {6, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  v[6] = 0;  // next header: hop-by-hop
  v.insert(v.begin() + 40, dst.begin(), dst.end());
  v.insert(v.begin() + 40, hbh.begin(), hbh.end());
  const auto plen = static_cast<uint16_t>(v.size() - 40);
  v[4] = static_cast<uint8_t>(plen >> 8);
  v[5] = static_cast<uint8_t>(plen);
  const auto r = parse(v);
  REQUIRE(std::holds_alternative<PacketView>(r));
  CHECK(std::get<PacketView>(r).l4 == L4::kTcp);
  CHECK(std::get<PacketView>(r).payload.size() == 1);
}

TEST_CASE("packet/parse: any number of IPv6 extension headers is walked (no evasion by a cap)",
          "[packet]") {
  auto v = t::ipv6_tcp({.src = "2001:db8::1", .dst = "2001:db8::2"},
                       "\x13"
                       "BitTorrent protocol");
  v[6] = 60;  // next header: destination options, then 39 more of them, then TCP
  std::vector<uint8_t> chain;
  for (int i = 0; i < 40; ++i) {
    const uint8_t next = i + 1 < 40 ? 60 : 6;
    chain.insert(chain.end(), {next, 0, 1, 4, 0, 0, 0, 0});
  }
  v.insert(v.begin() + 40, chain.begin(), chain.end());
  const auto plen = static_cast<uint16_t>(v.size() - 40);
  v[4] = static_cast<uint8_t>(plen >> 8);
  v[5] = static_cast<uint8_t>(plen);
  const auto r = parse(v);
  REQUIRE(std::holds_alternative<PacketView>(r));
  CHECK(std::get<PacketView>(r).l4 == L4::kTcp);
  CHECK(std::get<PacketView>(r).payload.size() == 20);
}

TEST_CASE("fragments are named anomalies", "[packet]") {
  auto v4 = t::ipv4_udp({}, "frag");
  v4[6] = 0x20;  // MF
  CHECK(std::get<Anomaly>(parse(v4)) == Anomaly::kIpv4Fragment);
  auto v6 = t::ipv6_udp({.src = "::1", .dst = "::2"}, "frag");
  v6[6] = 44;
  CHECK(std::get<Anomaly>(parse(v6)) == Anomaly::kIpv6Fragment);
}

TEST_CASE("truncated and garbage packets never crash and are named", "[packet]") {
  const auto good = t::ipv4_tcp({}, "payload");
  for (size_t n = 0; n < 40; ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + static_cast<long>(n));
    const auto r = parse(cut);
    CHECK(std::holds_alternative<Anomaly>(r));
  }
  std::vector<uint8_t> bad_ihl = good;
  bad_ihl[0] = 0x42;
  CHECK(std::get<Anomaly>(parse(bad_ihl)) == Anomaly::kBadIpv4HeaderLength);
  std::vector<uint8_t> bad_off = good;
  bad_off[20 + 12] = 0x10;
  CHECK(std::get<Anomaly>(parse(bad_off)) == Anomaly::kBadTcpDataOffset);
  std::vector<uint8_t> version7 = good;
  version7[0] = 0x75;
  CHECK(std::get<Anomaly>(parse(version7)) == Anomaly::kUnknownIpVersion);
  std::vector<uint8_t> icmp = good;
  icmp[9] = 1;
  CHECK(std::get<Anomaly>(parse(icmp)) == Anomaly::kNotTcpUdp);
}

TEST_CASE("random bytes are handled without reading out of bounds", "[packet]") {
  uint32_t seed = 12345;
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> v(seed % 120);
    for (auto& b : v) {
      seed = seed * 1664525u + 1013904223u;
      b = static_cast<uint8_t>(seed >> 24);
    }
    if (!v.empty()) {
      v[0] = static_cast<uint8_t>((i % 2 == 0 ? 0x40 : 0x60) | (v[0] & 0x0f));
    }
    (void)parse(v);  // ASan builds catch any overread
    seed = seed * 1664525u + 1013904223u;
  }
  SUCCEED();
}
