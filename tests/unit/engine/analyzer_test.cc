// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "config_util.h"
#include "engine/analyzer.h"
#include "packet_builder.h"

using namespace imguard::engine;
using imguard::classifiers::AppId;
using imguard::packet::Timestamp;
namespace t = imguard::test;

namespace {
struct Sink final : FlowSink {
  std::vector<FlowRecord> records;
  void on_flow_end(const FlowRecord& r) override { records.push_back(r); }
};

// An analyzer with the default configuration, writing its ended flows to `sink`.
std::unique_ptr<Analyzer> analyzer_for(Sink& sink) {
  std::string error;
  auto an = Analyzer::create(Analyzer::Config{}, sink, error);
  INFO(error);
  REQUIRE(an);
  return an;
}

// A BitTorrent peer connection on a random port and its plaintext handshake.
const t::Endpoints kPeerFlow{.src = "10.9.0.1", .dst = "10.9.0.2", .sport = 41000, .dport = 31337};
std::string handshake() {
  return std::string("\x13") + "BitTorrent protocol" + std::string(8, '\0') + std::string(40, 'x');
}
}  // namespace

TEST_CASE("analyzer classifies a BitTorrent handshake on a random port", "[analyzer]") {
  Sink sink;
  auto an = analyzer_for(sink);
  const t::Endpoints c = kPeerFlow;
  const std::string hs = handshake();
  auto syn = t::ipv4_tcp(c, "", 0x02);
  auto data = t::ipv4_tcp(c, hs, 0x18);
  an->on_packet(syn, Timestamp{1});
  const auto out = an->on_packet(data, Timestamp{2});
  REQUIRE(out.flow != nullptr);
  CHECK(out.decided_now);
  CHECK(out.flow->chain.result.app == AppId::kBittorrent);
  an->flush();
  REQUIRE(sink.records.size() == 1);
  CHECK(sink.records[0].classifier == "bittorrent");
  CHECK(sink.records[0].dport == 31337);
  CHECK(sink.records[0].packets[0] == 2);
}

TEST_CASE("garbage is counted, not crashed on", "[analyzer]") {
  Sink sink;
  auto an = analyzer_for(sink);
  std::vector<uint8_t> junk = {0x45, 0x00, 0x00};
  const auto out = an->on_packet(junk, Timestamp{1});
  CHECK(out.flow == nullptr);
  CHECK(an->stats().anomalies.get(imguard::packet::Anomaly::kTruncatedIpv4) == 1);
}

TEST_CASE("a decided flow keeps no classifier state and is re-decided from what it keeps",
          "[analyzer]") {
  const auto allow = imguard::testing::load_config("version: 1\n", "allow.yaml");
  const auto drop = imguard::testing::load_config(
      "version: 1\nactions:\n  default: allow\n  categories: {p2p: drop}\n", "drop.yaml");
  Sink sink;
  auto an = analyzer_for(sink);
  const t::Endpoints c = kPeerFlow;
  const std::string hs = handshake();
  const PolicyView first{allow.get(), 1, std::nullopt};
  const auto syn = an->on_packet(t::ipv4_tcp(c, "", 0x02), Timestamp{1}, {}, first);
  REQUIRE(syn.flow != nullptr);
  // Payload-less packets never reach the chain: nothing is held for a bare SYN.
  CHECK(syn.flow->chain.scratch == nullptr);
  const auto hit = an->on_packet(t::ipv4_tcp(c, hs, 0x18), Timestamp{2}, {}, first);
  REQUIRE(hit.step == Step::kDecidedNow);
  CHECK(hit.flow->chain.scratch == nullptr);  // decided: released (nDPI's state with it)
  CHECK(hit.flow->decision.decision.enforced == imguard::policy::Action::kAllow);
  // A reload to a policy that drops P2P: the in-flight packet is re-decided.
  const PolicyView second{drop.get(), 2, std::nullopt};
  const auto again = an->on_packet(t::ipv4_tcp(c, "more", 0x18), Timestamp{3}, {}, second);
  CHECK(again.step == Step::kRedecided);
  CHECK(again.flow->decision.decision.enforced == imguard::policy::Action::kDrop);
  CHECK(again.flow->chain.result.app == AppId::kBittorrent);
  an->flush();
  REQUIRE(sink.records.size() == 1);
  CHECK(sink.records[0].decision.decision.enforced == imguard::policy::Action::kDrop);
}

namespace {
// Client (10.9.0.1) to a web server on port 80: the handshake, then each request segment;
// returns whether the last one made the classification final.
bool http_final(Analyzer& an, const t::Endpoints& c, const std::vector<std::string>& segments) {
  an.on_packet(t::ipv4_tcp(c, "", 0x02), Timestamp{1});
  bool last = false;
  int64_t ts = 2;
  for (const auto& seg : segments) {
    last = an.on_packet(t::ipv4_tcp(c, seg, 0x18), Timestamp{ts++}).decided_now;
  }
  return last;
}
const t::Endpoints kWebFlow{.src = "10.9.0.1", .dst = "10.9.0.2", .sport = 41001, .dport = 80};
}  // namespace

TEST_CASE("a complete GET is decided on the request, not held for the response",
          "[analyzer][ndpi]") {
  Sink sink;
  auto an = analyzer_for(sink);
  const std::string get =
      "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88.1\r\n"
      "Accept: */*\r\n\r\n";
  CHECK(http_final(*an, kWebFlow, {get}));
  an->flush();
  REQUIRE(sink.records.size() == 1);
  CHECK(sink.records[0].result.app == AppId::kHttp);
  CHECK(sink.records[0].classifier == "ndpi");
}

TEST_CASE("HTTP requests that may still say more are held: bodies, split headers, upgrades",
          "[analyzer][ndpi]") {
  Sink sink;
  auto an = analyzer_for(sink);
  t::Endpoints c = kWebFlow;
  SECTION("a POST whose body follows in the next segment") {
    CHECK(!http_final(*an, c,
                      {"POST /bind HTTP/1.1\r\nHost: chat.example.com\r\nContent-Length: 40\r\n"
                       "\r\n"}));
  }
  SECTION("a GET whose header block is not complete in the segment") {
    CHECK(!http_final(*an, c, {"GET / HTTP/1.1\r\nHost: www.example.com\r\n"}));
  }
  SECTION("a GET that asks for an upgrade") {
    CHECK(!http_final(*an, c,
                      {"GET /ws HTTP/1.1\r\nHost: www.example.com\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\n\r\n"}));
  }
  SECTION("a GET with a body length") {
    CHECK(!http_final(*an, c,
                      {"GET / HTTP/1.1\r\nHost: www.example.com\r\ncontent-length: 3\r\n\r\n"}));
  }
}

namespace {
// A DNS query (id 0x1234, recursion desired, one question: IN A `name`).
std::string dns_query(std::string_view name) {
  std::string m("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12);
  size_t start = 0;
  while (start <= name.size()) {
    const size_t dot = std::min(name.find('.', start), name.size());
    m += static_cast<char>(dot - start);
    m += name.substr(start, dot - start);
    start = dot + 1;
  }
  m += std::string("\x00\x00\x01\x00\x01", 5);  // the root label, type A, class IN
  return m;
}
}  // namespace

TEST_CASE("a DNS query over UDP is decided on the query, not held for the response",
          "[analyzer][ndpi]") {
  Sink sink;
  auto an = analyzer_for(sink);
  const t::Endpoints c{.src = "10.9.0.1", .dst = "10.9.0.2", .sport = 41002, .dport = 53};
  const auto out = an->on_packet(t::ipv4_udp(c, dns_query("www.example.org")), Timestamp{1});
  REQUIRE(out.flow != nullptr);
  CHECK(out.decided_now);
  CHECK(out.flow->chain.result.app == AppId::kDns);
}
