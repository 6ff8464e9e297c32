// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include <thread>

#include "classifiers/chain.h"
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

const Address kMe = Address::parse("10.0.0.1");

TEST_CASE("peer cache remembers endpoints and hosts separately", "[peer_cache]") {
  PeerCache cache(PeerCache::Config{.capacity = 64, .ttl = std::chrono::seconds(60)});
  cache.remember(kMe, addr("198.51.100.7"), 6881, AppId::kBittorrent, secs(0));
  CHECK(cache.lookup(kMe, addr("198.51.100.7"), 6881, secs(1)) == AppId::kBittorrent);
  CHECK_FALSE(cache.lookup(kMe, addr("198.51.100.7"), 6882, secs(1)));
  CHECK_FALSE(cache.lookup(kMe, addr("198.51.100.7"), 0, secs(1)));
  CHECK_FALSE(cache.lookup(kMe, addr("198.51.100.8"), 6881, secs(1)));
  cache.remember_host(addr("2001:db8::1"), AppId::kEdonkey, secs(0));
  CHECK(cache.lookup_host(addr("2001:db8::1"), secs(1)) == AppId::kEdonkey);
  // Unspecified addresses are never stored.
  cache.remember(kMe, addr("0.0.0.0"), 1, AppId::kBittorrent, secs(0));
  cache.remember(addr("0.0.0.0"), addr("198.51.100.9"), 6881, AppId::kBittorrent, secs(0));
  CHECK(cache.size() == 2);
}

TEST_CASE("peer cache hints are scoped to the host that learned them", "[peer_cache][regression]") {
  PeerCache cache;
  cache.remember(kMe, addr("203.0.113.10"), 5432, AppId::kBittorrent, secs(0));
  CHECK(cache.lookup(kMe, addr("203.0.113.10"), 5432, secs(1)) == AppId::kBittorrent);
  // Another host of the same worker: the hint does not speak for it.
  CHECK_FALSE(cache.lookup(addr("10.0.0.8"), addr("203.0.113.10"), 5432, secs(1)));
}

TEST_CASE("peer cache entries expire after the TTL and are refreshed", "[peer_cache]") {
  PeerCache cache(PeerCache::Config{.capacity = 64, .ttl = std::chrono::seconds(60)});
  cache.remember(kMe, addr("198.51.100.7"), 6881, AppId::kBittorrent, secs(0));
  CHECK(cache.lookup(kMe, addr("198.51.100.7"), 6881, secs(60)));
  CHECK_FALSE(cache.lookup(kMe, addr("198.51.100.7"), 6881, secs(61)));
  cache.remember(kMe, addr("198.51.100.7"), 6881, AppId::kBittorrent, secs(50));
  CHECK(cache.lookup(kMe, addr("198.51.100.7"), 6881, secs(100)));
  CHECK(cache.size() == 1);
  CHECK(cache.stats().inserted == 1);
  CHECK(cache.stats().refreshed == 1);
  // The default lifetime is minutes: 5, not 30.
  CHECK(PeerCache::Config{}.ttl == std::chrono::minutes(5));
}

TEST_CASE("peer cache never grows past its capacity", "[peer_cache]") {
  PeerCache cache(PeerCache::Config{.capacity = 20, .ttl = std::chrono::seconds(600)});
  CHECK(cache.capacity() == 24);  // rounded up to whole buckets
  for (uint32_t i = 0; i < 5000; ++i) {
    const uint8_t a[4] = {203, 0, static_cast<uint8_t>(i >> 8), static_cast<uint8_t>(i)};
    cache.remember(kMe, Address::v4(a), static_cast<uint16_t>(1000 + i), AppId::kBittorrent,
                   secs(i));
  }
  CHECK(cache.size() <= cache.capacity());
  // Every insert past the capacity pushed out an unexpired entry, and was counted.
  CHECK(cache.stats().inserted == 5000);
  CHECK(cache.stats().evicted_live + cache.stats().evicted_expired == 5000 - cache.capacity());
  CHECK(cache.stats().evicted_live > 0);
  // The newest entry survives; the oldest was evicted.
  const uint8_t newest[4] = {203, 0, 4999 >> 8, 4999 & 0xff};
  CHECK(cache.lookup(kMe, Address::v4(newest), 1000 + 4999, secs(5000)));
  const uint8_t oldest[4] = {203, 0, 0, 0};
  CHECK_FALSE(cache.lookup(kMe, Address::v4(oldest), 1000, secs(5000)));
}

TEST_CASE("known_peers matches flows to cached endpoints only", "[peer_cache]") {
  PeerCache cache;
  cache.remember(kMe, addr("198.51.100.7"), 51413, AppId::kBittorrent, secs(0));
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
  cache.remember(kMe, addr("198.51.100.8"), 5000, AppId::kIrc, secs(0));
  CHECK(std::holds_alternative<NotMine>(
      run(t::ipv4_tcp({.dst = "198.51.100.8", .dport = 5000}, blob))));
  // UDP: a flow sent from a known node's port is that node's traffic.
  const auto udp =
      run(t::ipv4_udp({.src = "198.51.100.7", .dst = "10.0.0.1", .sport = 51413}, blob));
  REQUIRE(std::holds_alternative<Match>(udp));
  CHECK((std::get<Match>(udp).features & kFeaturePeer) == 0);
  // Another host's flow to the same endpoint: 10.0.0.1's hint does not speak for it.
  CHECK(std::holds_alternative<NotMine>(
      run(t::ipv4_tcp({.src = "10.0.0.8", .dst = "198.51.100.7", .dport = 51413}, blob))));
}

TEST_CASE("one peer cache serves several threads: every hint learned is found by the others",
          "[peer_cache]") {
  // The daemon's workers share one cache (a hint is usually learned on another worker than
  // the one the hinted connection is steered to); run under the thread sanitizer too.
  PeerCache cache(PeerCache::Config{.capacity = 4096, .ttl = std::chrono::seconds(60)});
  constexpr int kPerThread = 400;
  auto learner = [&](int id) {
    for (int i = 0; i < kPerThread; ++i) {
      const uint8_t b[4] = {198, 51, static_cast<uint8_t>(id), static_cast<uint8_t>(i % 250)};
      cache.remember(kMe, Address::v4(b), static_cast<uint16_t>(20000 + i), AppId::kBittorrent,
                     secs(0));
      // Reads of what the other thread writes, interleaved with the writes.
      const uint8_t o[4] = {198, 51, static_cast<uint8_t>(1 - id), static_cast<uint8_t>(i % 250)};
      (void)cache.lookup(kMe, Address::v4(o), static_cast<uint16_t>(20000 + i), secs(1));
    }
  };
  std::thread a(learner, 0);
  std::thread b(learner, 1);
  a.join();
  b.join();
  size_t found = 0;
  for (int id = 0; id < 2; ++id) {
    for (int i = 0; i < kPerThread; ++i) {
      const uint8_t x[4] = {198, 51, static_cast<uint8_t>(id), static_cast<uint8_t>(i % 250)};
      found += cache.lookup(kMe, Address::v4(x), static_cast<uint16_t>(20000 + i), secs(2)) ==
               AppId::kBittorrent;
    }
  }
  CHECK(found == 2 * kPerThread);
  CHECK(cache.size() == 2 * kPerThread);
  CHECK(cache.stats().inserted == 2 * kPerThread);
}

TEST_CASE("chains given one peer cache share their hints; chains without keep their own",
          "[peer_cache][chain]") {
  auto shared = std::make_shared<PeerCache>();
  auto one = [](std::shared_ptr<PeerCache> peers) {
    std::vector<std::unique_ptr<Classifier>> list;
    list.push_back(std::make_unique<KnownPeers>());
    return Chain(std::move(list), Budget{.tcp_data_packets = 1, .udp_data_packets = 1},
                 PeerCache::Config{}, std::move(peers));
  };
  Chain learner = one(shared);
  Chain other_worker = one(shared);
  Chain alone = one(nullptr);
  // Worker 1's chain learned that 10.0.0.1 was told of a BitTorrent peer...
  const auto now = secs(5);
  shared->remember(kMe, addr("198.51.100.7"), 51413, AppId::kBittorrent, now);
  CHECK(&learner.peers() == &other_worker.peers());
  // ...and the connection to it reaches worker 2.
  const auto pkt =
      t::ipv4_tcp({.src = "10.0.0.1", .dst = "198.51.100.7", .sport = 40000, .dport = 51413},
                  std::string(68, '\x5a'));
  const auto view = std::get<PacketView>(imguard::packet::parse_ip(pkt, now));
  FlowContext ctx;
  ctx.payload_packets[0] = 1;
  ChainFlowState s2;
  other_worker.inspect(view, ctx, s2);
  other_worker.finish(ctx, s2);
  CHECK(s2.result.app == AppId::kBittorrent);
  CHECK(s2.result.evidence == Evidence::kCrossFlow);
  ChainFlowState s3;
  alone.inspect(view, ctx, s3);
  alone.finish(ctx, s3);
  CHECK(s3.result.app == AppId::kUnknown);
}
