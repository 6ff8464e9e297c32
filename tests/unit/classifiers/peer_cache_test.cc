// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/peer_cache.h"
#include "packet_builder.h"

using namespace imguard::classifiers;
using imguard::packet::Address;
using imguard::packet::PacketView;
using imguard::packet::Timestamp;
namespace t = imguard::test;

namespace {
Address addr(const char* s) {
  return Address::parse(s);
}
Timestamp secs(int64_t s) {
  return std::chrono::seconds(s);
}
}  // namespace

TEST_CASE("peer cache remembers endpoints and hosts separately", "[peer_cache]") {
  PeerCache cache(PeerCache::Config{.capacity = 64, .ttl = std::chrono::seconds(60)});
  cache.remember(addr("198.51.100.7"), 6881, AppId::kBittorrent, secs(0));
  CHECK(cache.lookup(addr("198.51.100.7"), 6881, secs(1)) == AppId::kBittorrent);
  CHECK_FALSE(cache.lookup(addr("198.51.100.7"), 6882, secs(1)));
  CHECK_FALSE(cache.lookup(addr("198.51.100.7"), 0, secs(1)));
  CHECK_FALSE(cache.lookup(addr("198.51.100.8"), 6881, secs(1)));
  cache.remember(addr("2001:db8::1"), 0, AppId::kEdonkey, secs(0));
  CHECK(cache.lookup(addr("2001:db8::1"), 0, secs(1)) == AppId::kEdonkey);
  // Unspecified addresses are never stored.
  cache.remember(addr("0.0.0.0"), 1, AppId::kBittorrent, secs(0));
  CHECK(cache.size() == 2);
}

TEST_CASE("peer cache entries expire after the TTL and are refreshed", "[peer_cache]") {
  PeerCache cache(PeerCache::Config{.capacity = 64, .ttl = std::chrono::seconds(60)});
  cache.remember(addr("198.51.100.7"), 6881, AppId::kBittorrent, secs(0));
  CHECK(cache.lookup(addr("198.51.100.7"), 6881, secs(60)));
  CHECK_FALSE(cache.lookup(addr("198.51.100.7"), 6881, secs(61)));
  cache.remember(addr("198.51.100.7"), 6881, AppId::kBittorrent, secs(50));
  CHECK(cache.lookup(addr("198.51.100.7"), 6881, secs(100)));
  CHECK(cache.size() == 1);
}

TEST_CASE("peer cache never grows past its capacity", "[peer_cache]") {
  PeerCache cache(PeerCache::Config{.capacity = 20, .ttl = std::chrono::seconds(600)});
  CHECK(cache.capacity() == 24);  // rounded up to whole buckets
  for (uint32_t i = 0; i < 5000; ++i) {
    const uint8_t a[4] = {203, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    cache.remember(Address::v4(a), static_cast<uint16_t>(1000 + i), AppId::kBittorrent, secs(i));
  }
  CHECK(cache.size() <= cache.capacity());
  // The newest entry survives; the oldest was evicted.
  const uint8_t newest[4] = {203, 0, 4999 >> 8, 4999 & 0xff};
  CHECK(cache.lookup(Address::v4(newest), 1000 + 4999, secs(5000)));
  const uint8_t oldest[4] = {203, 0, 0, 0};
  CHECK_FALSE(cache.lookup(Address::v4(oldest), 1000, secs(5000)));
}

TEST_CASE("known_peers matches flows to cached endpoints only", "[peer_cache]") {
  PeerCache cache;
  cache.remember(addr("198.51.100.7"), 51413, AppId::kBittorrent, secs(0));
  KnownPeers kp;
  const auto run = [&](const std::vector<uint8_t>& v) {
    const auto pkt = std::get<PacketView>(imguard::packet::parse_ip(v, secs(10)));
    FlowContext ctx;
    ctx.payload_packets[0] = 1;
    ctx.peers = &cache;
    return kp.inspect(pkt, ctx, FlowSlot({}));
  };
  const std::string blob(120, '\x5a');
  const auto hit = run(t::ipv4_tcp({.dst = "198.51.100.7", .dport = 51413}, blob));
  REQUIRE(std::holds_alternative<Match>(hit));
  CHECK(std::get<Match>(hit).evidence == Evidence::kCrossFlow);
  CHECK((std::get<Match>(hit).features & kFeaturePeer) != 0);
  // Same host, other port: not a known endpoint.
  CHECK(std::holds_alternative<NotMine>(
      run(t::ipv4_tcp({.dst = "198.51.100.7", .dport = 443}, blob))));
  // Known endpoint, but the flow speaks TLS: left to the framing classifiers.
  CHECK(std::holds_alternative<NotMine>(run(t::ipv4_tcp(
      {.dst = "198.51.100.7", .dport = 51413}, t::bytes({0x16, 0x03, 0x01, 0x02, 0x00})))));
  // Entries other classifiers keep for non-P2P apps are not KnownPeers' business.
  cache.remember(addr("198.51.100.8"), 5000, AppId::kIrc, secs(0));
  CHECK(std::holds_alternative<NotMine>(
      run(t::ipv4_tcp({.dst = "198.51.100.8", .dport = 5000}, blob))));
  // UDP: a flow sent from a known node's port is that node's traffic.
  const auto udp = run(t::ipv4_udp({.src = "198.51.100.7", .sport = 51413}, blob));
  REQUIRE(std::holds_alternative<Match>(udp));
  CHECK((std::get<Match>(udp).features & kFeaturePeer) == 0);
}
