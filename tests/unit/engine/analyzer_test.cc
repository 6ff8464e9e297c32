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

// A BitTorrent peer connection on a random port and its plaintext handshake.
const t::Endpoints kPeerFlow{.src = "10.9.0.1", .dst = "10.9.0.2", .sport = 41000, .dport = 31337};
std::string handshake() {
  return std::string("\x13") + "BitTorrent protocol" + std::string(8, '\0') + std::string(40, 'x');
}
}  // namespace

TEST_CASE("analyzer classifies a BitTorrent handshake on a random port", "[analyzer]") {
  Sink sink;
  std::string error;
  auto an = Analyzer::create(Analyzer::Config{}, sink, error);
  REQUIRE(an);
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
  std::string error;
  auto an = Analyzer::create(Analyzer::Config{}, sink, error);
  REQUIRE(an);
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
  std::string error;
  auto an = Analyzer::create(Analyzer::Config{}, sink, error);
  REQUIRE(an);
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
