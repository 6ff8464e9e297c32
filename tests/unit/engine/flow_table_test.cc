// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>
#include <vector>

#include "config_util.h"
#include "engine/analyzer.h"
#include "engine/flow_table.h"
#include "packet_builder.h"
#include "policy/loader.h"

using namespace imguard::engine;
using imguard::packet::PacketView;
using imguard::packet::Timestamp;
namespace t = imguard::test;
using namespace std::chrono_literals;

namespace {

struct Ended {
  std::vector<std::pair<uint64_t, EndReason>> flows;
};

struct Fixture {
  std::vector<std::vector<uint8_t>> buffers;  // keep packet bytes alive
  PacketView pkt(const std::vector<uint8_t>& v, Timestamp ts) {
    buffers.push_back(v);
    return std::get<PacketView>(imguard::packet::parse_ip(buffers.back(), ts));
  }
};

FlowTable make(Ended& ended, FlowTable::Config cfg = {}) {
  return FlowTable(cfg, [&ended](Flow& f, EndReason r) { ended.flows.emplace_back(f.id, r); });
}

}  // namespace

TEST_CASE("both directions land in one flow with per-direction counters", "[flow]") {
  Ended ended;
  auto table = make(ended);
  Fixture fx;
  const t::Endpoints c2s{.src = "10.1.1.1", .dst = "10.2.2.2", .sport = 5555, .dport = 80};
  const t::Endpoints s2c{.src = "10.2.2.2", .dst = "10.1.1.1", .sport = 80, .dport = 5555};
  auto h1 = table.track(fx.pkt(t::ipv4_tcp(c2s, "", 0x02), Timestamp{1}));
  auto h2 = table.track(fx.pkt(t::ipv4_tcp(s2c, "", 0x12), Timestamp{2}));
  auto h3 = table.track(fx.pkt(t::ipv4_tcp(c2s, "GET", 0x18), Timestamp{3}));
  REQUIRE(h1.flow == h2.flow);
  REQUIRE(h1.flow == h3.flow);
  CHECK(h1.direction == Direction::kClientToServer);
  CHECK(h2.direction == Direction::kServerToClient);
  const Flow& f = *h1.flow;
  CHECK(f.client.to_string() == "10.1.1.1");
  CHECK(f.server_port == 80);
  CHECK(f.packets[0] == 2);
  CHECK(f.packets[1] == 1);
  CHECK(f.payload_packets[0] == 1);
  CHECK(f.bytes[0] == 40 + 43);
  CHECK(table.size() == 1);
}

TEST_CASE("a capture that starts with SYN-ACK still finds the client", "[flow]") {
  Ended ended;
  auto table = make(ended);
  Fixture fx;
  const t::Endpoints s2c{.src = "10.2.2.2", .dst = "10.1.1.1", .sport = 443, .dport = 40000};
  auto h = table.track(fx.pkt(t::ipv4_tcp(s2c, "", 0x12), Timestamp{1}));
  CHECK(h.flow->client.to_string() == "10.1.1.1");
  CHECK(h.direction == Direction::kServerToClient);
}

TEST_CASE("idle timeouts differ for UDP, TCP and closed TCP", "[flow]") {
  Ended ended;
  FlowTable::Config cfg;
  cfg.udp_idle = 30s;
  cfg.tcp_idle = 300s;
  cfg.closed_linger = 5s;
  auto table = make(ended, cfg);
  Fixture fx;
  table.track(fx.pkt(t::ipv4_udp({.sport = 1, .dport = 2}, "u"), Timestamp{0}));
  table.track(fx.pkt(t::ipv4_tcp({.sport = 3, .dport = 4}, "t"), Timestamp{0}));
  const t::Endpoints c{.sport = 5, .dport = 6};
  const t::Endpoints s{.src = "10.0.0.2", .dst = "10.0.0.1", .sport = 6, .dport = 5};
  table.track(fx.pkt(t::ipv4_tcp(c, "", 0x11), Timestamp{0}));
  table.track(fx.pkt(t::ipv4_tcp(s, "", 0x11), Timestamp{0}));
  table.expire_idle(Timestamp{std::chrono::microseconds(6s)});
  REQUIRE(ended.flows.size() == 1);
  CHECK(ended.flows[0].second == EndReason::kTcpClosed);
  table.expire_idle(Timestamp{std::chrono::microseconds(31s)});
  REQUIRE(ended.flows.size() == 2);
  CHECK(ended.flows[1].second == EndReason::kIdle);
  CHECK(table.size() == 1);
  table.flush();
  CHECK(ended.flows.back().second == EndReason::kShutdown);
  CHECK(table.size() == 0);
}

TEST_CASE("a full table evicts the longest-idle flow", "[flow]") {
  Ended ended;
  FlowTable::Config cfg;
  cfg.capacity = 3;
  auto table = make(ended, cfg);
  Fixture fx;
  for (uint16_t p = 1; p <= 3; ++p) {
    table.track(fx.pkt(t::ipv4_udp({.sport = p, .dport = 53}, "q"), Timestamp{p}));
  }
  // Touch flow 1 again so flow 2 becomes the longest idle.
  table.track(fx.pkt(t::ipv4_udp({.sport = 1, .dport = 53}, "q"), Timestamp{10}));
  table.track(fx.pkt(t::ipv4_udp({.sport = 4, .dport = 53}, "q"), Timestamp{11}));
  REQUIRE(ended.flows.size() == 1);
  CHECK(ended.flows[0].first == 1);  // ids are 0-based: flow with sport 2
  CHECK(ended.flows[0].second == EndReason::kEvicted);
  CHECK(table.size() == 3);
  CHECK(table.stats().evicted == 1);
}

TEST_CASE("a new SYN on a closed connection starts a new flow", "[flow]") {
  Ended ended;
  auto table = make(ended);
  Fixture fx;
  const t::Endpoints c{.sport = 7, .dport = 8};
  auto first = table.track(fx.pkt(t::ipv4_tcp(c, "", 0x02), Timestamp{1}));
  const uint64_t first_id = first.flow->id;
  table.track(fx.pkt(t::ipv4_tcp(c, "", 0x04), Timestamp{2}));  // RST
  auto second = table.track(fx.pkt(t::ipv4_tcp(c, "", 0x02), Timestamp{3}));
  REQUIRE(ended.flows.size() == 1);
  CHECK(ended.flows[0].first == first_id);
  CHECK(ended.flows[0].second == EndReason::kPortReused);
  CHECK(second.flow->id != first_id);
}

TEST_CASE("a packet tagged as its conntrack entry's first starts a new flow", "[flow]") {
  // Live, the SYN stays in the kernel and the old connection's end comes later from
  // conntrack: the ruleset's tag is what tells a reused 5-tuple from the same connection.
  Ended ended;
  auto table = make(ended);
  Fixture fx;
  const t::Endpoints c{.sport = 40000, .dport = 80};
  PacketMeta first_packet;
  first_packet.conn_direction = Direction::kClientToServer;
  first_packet.start_seen = true;
  first_packet.new_conntrack = true;
  PacketMeta later = first_packet;
  later.new_conntrack = false;
  auto a = table.track(fx.pkt(t::ipv4_tcp(c, "GET", 0x18), Timestamp{1}), first_packet);
  REQUIRE(a.flow != nullptr);
  const uint64_t a_id = a.flow->id;
  CHECK(ended.flows.empty());  // nothing to replace yet
  auto same = table.track(fx.pkt(t::ipv4_tcp(c, "more", 0x18), Timestamp{2}), later);
  CHECK(same.flow->id == a_id);  // untagged: the same connection
  auto b = table.track(fx.pkt(t::ipv4_tcp(c, "BitTorrent", 0x18), Timestamp{3}), first_packet);
  REQUIRE(b.flow != nullptr);
  CHECK(b.flow->id != a_id);
  REQUIRE(ended.flows.size() == 1);
  CHECK(ended.flows[0] == std::pair<uint64_t, EndReason>{a_id, EndReason::kPortReused});
  CHECK(table.stats().port_reused == 1);
  CHECK(table.size() == 1);
}

TEST_CASE("stray packets of a closed TCP flow that left the table start no flow", "[flow]") {
  Ended ended;
  FlowTable::Config cfg;
  cfg.closed_linger = 10s;
  cfg.tcp_idle = 300s;
  auto table = make(ended, cfg);
  Fixture fx;
  const t::Endpoints c{.sport = 7, .dport = 8};
  const t::Endpoints s{.src = "10.0.0.2", .dst = "10.0.0.1", .sport = 8, .dport = 7};
  table.track(fx.pkt(t::ipv4_tcp(c, "", 0x02), Timestamp{1}));
  table.track(fx.pkt(t::ipv4_tcp(c, "x", 0x11), Timestamp{2}));  // FIN/ACK
  table.track(fx.pkt(t::ipv4_tcp(s, "", 0x11), Timestamp{3}));   // FIN/ACK
  table.expire_idle(Timestamp{std::chrono::microseconds(20s)});
  REQUIRE(ended.flows.size() == 1);
  CHECK(ended.flows[0].second == EndReason::kTcpClosed);
  // A late FIN/ACK from the server and a retransmission from the client, 30 s on.
  const auto late = Timestamp{std::chrono::microseconds(30s)};
  const auto fin = table.track(fx.pkt(t::ipv4_tcp(s, "", 0x11), late));
  const auto data = table.track(fx.pkt(t::ipv4_tcp(c, "x", 0x18), late));
  CHECK(fin.flow == nullptr);
  CHECK(fin.after_close);
  CHECK(data.flow == nullptr);
  CHECK(table.size() == 0);
  CHECK(table.stats().after_close == 2);
  // The same 5-tuple opened again by a SYN is a new connection.
  const auto again = table.track(fx.pkt(t::ipv4_tcp(c, "", 0x02), late + 1s));
  REQUIRE(again.flow != nullptr);
  CHECK_FALSE(again.after_close);
  CHECK(again.flow->client_port == 7);
  // Past tcp_idle the 5-tuple is forgotten: a packet without SYN is a mid-stream flow.
  table.flush();
  const auto much_later = Timestamp{std::chrono::microseconds(1000s)};
  CHECK(table.track(fx.pkt(t::ipv4_tcp(c, "y", 0x18), much_later)).flow != nullptr);
}

TEST_CASE("a flow seen from its middle is tracked; reset forgets closed 5-tuples", "[flow]") {
  Ended ended;
  FlowTable::Config cfg;
  cfg.closed_linger = 1s;
  auto table = make(ended, cfg);
  Fixture fx;
  const t::Endpoints mid{.sport = 9, .dport = 10};
  CHECK(table.track(fx.pkt(t::ipv4_tcp(mid, "hello", 0x18), Timestamp{1})).flow != nullptr);
  const t::Endpoints c{.sport = 11, .dport = 12};
  table.track(fx.pkt(t::ipv4_tcp(c, "", 0x04), Timestamp{1}));  // RST
  table.expire_idle(Timestamp{std::chrono::microseconds(5s)});
  CHECK(table.track(fx.pkt(t::ipv4_tcp(c, "z", 0x18), Timestamp{std::chrono::microseconds(6s)}))
            .after_close);
  table.reset();
  CHECK(table.stats().after_close == 0);
  const auto fresh =
      table.track(fx.pkt(t::ipv4_tcp(c, "z", 0x18), Timestamp{std::chrono::microseconds(7s)}));
  REQUIRE(fresh.flow != nullptr);
  CHECK(fresh.flow->id == 0);  // ids start over after reset()
}

TEST_CASE("live, a closed port pair's next connection starts its flow without a SYN", "[flow]") {
  Ended ended;
  FlowTable::Config cfg;
  cfg.closed_linger = 1s;
  auto table = make(ended, cfg);
  Fixture fx;
  const t::Endpoints c{.sport = 13, .dport = 14};
  imguard::engine::PacketMeta live;
  live.conn_direction = Direction::kClientToServer;
  live.start_seen = true;
  table.track(fx.pkt(t::ipv4_tcp(c, "a", 0x18), Timestamp{1}), live);
  table.track(fx.pkt(t::ipv4_tcp(c, "", 0x04), Timestamp{2}), live);  // RST
  table.expire_idle(Timestamp{std::chrono::microseconds(5s)});
  REQUIRE(table.size() == 0);
  // The queue never sees the new connection's SYN; its first data must be classified.
  const auto next = table.track(
      fx.pkt(t::ipv4_tcp(c, "b", 0x18), Timestamp{std::chrono::microseconds(6s)}), live);
  REQUIRE(next.flow != nullptr);
  CHECK_FALSE(next.after_close);
  CHECK(table.stats().after_close == 0);
}

TEST_CASE("memory per flow is known", "[flow]") {
  CHECK(FlowTable::bytes_per_flow() >= sizeof(Flow));
  CHECK(FlowTable::bytes_per_flow() < 1024);
}

TEST_CASE("the flow hash is keyed: the same key hashes differently under two keys", "[flow]") {
  FlowKey k;
  k.a = imguard::packet::Address::parse("10.0.0.1");
  k.b = imguard::packet::Address::parse("10.0.0.2");
  k.port_a = 40000;
  k.port_b = 443;
  k.l4 = imguard::packet::L4::kUdp;
  const FlowKeyHash h1(imguard::packet::SipKey{1, 2});
  const FlowKeyHash h2(imguard::packet::SipKey{3, 4});
  CHECK(h1(k) == h1(k));
  CHECK(h1(k) != h2(k));
  // Every compared field feeds the hash.
  FlowKey other = k;
  other.l4 = imguard::packet::L4::kTcp;
  CHECK(h1(other) != h1(k));
  other = k;
  other.port_b = 444;
  CHECK(h1(other) != h1(k));
}

TEST_CASE("engine.flows settings reach the table and the limits", "[flow]") {
  const auto cfg = imguard::testing::load_config(
      "version: 1\nengine:\n  flows:\n    capacity: 4096\n    reassembly_bytes: 1048576\n"
      "    quic_derivations_per_sec: 500\n    udp_idle_seconds: 7\n    tcp_idle_seconds: 9\n",
      "t.yaml");
  Analyzer::Config ac;
  Analyzer::apply_flow_settings(*cfg, ac);
  CHECK(ac.flows.capacity == 4096);
  CHECK(ac.limits.reassembly_bytes == 1048576);
  CHECK(ac.limits.quic_derivations_per_sec == 500);
  CHECK(ac.flows.udp_idle == std::chrono::seconds(7));
  CHECK(ac.flows.tcp_idle == std::chrono::seconds(9));
  CHECK(Analyzer::Config{}.flows.udp_idle == imguard::policy::default_config().udp_idle);
  CHECK(Analyzer::Config{}.flows.tcp_idle == imguard::policy::default_config().tcp_idle);
  const auto defaults = imguard::policy::default_config();
  CHECK(defaults.flow_capacity == 262144);
  CHECK(defaults.reassembly_bytes == 64u << 20);
  auto bad = imguard::policy::load_config_string(
      "version: 1\nengine:\n  flows:\n    capacity: 10\n", "t.yaml");
  REQUIRE(std::holds_alternative<imguard::policy::LoadError>(bad));
  CHECK(std::get<imguard::policy::LoadError>(bad).messages[0].find("engine.flows.capacity") !=
        std::string::npos);
  bad = imguard::policy::load_config_string(
      "version: 1\nengine:\n  flows:\n    udp_idle_seconds: 0\n", "t.yaml");
  REQUIRE(std::holds_alternative<imguard::policy::LoadError>(bad));
  CHECK(std::get<imguard::policy::LoadError>(bad).messages[0].find(
            "engine.flows.udp_idle_seconds") != std::string::npos);
}

TEST_CASE("live: the conntrack direction names the client when the server speaks first", "[flow]") {
  Ended ended;
  auto table = make(ended);
  Fixture fx;
  // The SYN stayed in the kernel; the first queued packet is the server's greeting, and
  // it came on the reply queue.
  const t::Endpoints s2c{.src = "10.2.2.2", .dst = "10.1.1.1", .sport = 25, .dport = 40000};
  PacketMeta reply;
  reply.conn_direction = Direction::kServerToClient;
  reply.start_seen = true;
  auto h = table.track(fx.pkt(t::ipv4_tcp(s2c, "220 mail ESMTP\r\n"), Timestamp{1}), reply);
  CHECK(h.flow->client.to_string() == "10.1.1.1");
  CHECK(h.flow->server_port == 25);
  CHECK(h.direction == Direction::kServerToClient);
  CHECK(h.flow->start_seen);
  // Without it (offline, no SYN captured) the first sender is taken for the client.
  Ended ended2;
  auto offline = make(ended2);
  auto o = offline.track(fx.pkt(t::ipv4_tcp(s2c, "220 mail ESMTP\r\n"), Timestamp{1}));
  CHECK(o.flow->client.to_string() == "10.2.2.2");
  CHECK_FALSE(o.flow->start_seen);
}

TEST_CASE("end_connection ends the flow of either tuple order, once", "[flow]") {
  Ended ended;
  auto table = make(ended);
  Fixture fx;
  const t::Endpoints c2s{.src = "10.1.1.1", .dst = "10.2.2.2", .sport = 40000, .dport = 80};
  table.track(fx.pkt(t::ipv4_tcp(c2s, "GET / HTTP/1.1\r\n\r\n"), Timestamp{1}));
  const auto a = imguard::packet::Address::parse("10.1.1.1");
  const auto b = imguard::packet::Address::parse("10.2.2.2");
  CHECK_FALSE(
      table.end_connection(a, 40000, b, 81, imguard::packet::L4::kTcp, EndReason::kTcpClosed));
  CHECK_FALSE(table.end_connection(a, 40000, b, 80, imguard::packet::L4::kUdp, EndReason::kIdle));
  CHECK(table.end_connection(b, 80, a, 40000, imguard::packet::L4::kTcp, EndReason::kTcpClosed));
  REQUIRE(ended.flows.size() == 1);
  CHECK(ended.flows[0].second == EndReason::kTcpClosed);
  CHECK(table.size() == 0);
  CHECK(table.stats().ended_by_conntrack == 1);
  CHECK_FALSE(
      table.end_connection(a, 40000, b, 80, imguard::packet::L4::kTcp, EndReason::kTcpClosed));
}
