// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/chain.h"
#include "packet_builder.h"

using namespace imguard::classifiers;
using imguard::packet::PacketView;
namespace t = imguard::test;

namespace {

/// A scripted classifier: answers from a list, counts calls and releases.
struct Scripted final : Classifier {
  struct State {
    uint32_t calls;
  };
  std::string_view nm;
  std::vector<Result> answers;
  std::optional<Match> weak;
  bool payload_only = true;
  int* released = nullptr;
  int* release_calls = nullptr;
  bool tcp = true;
  bool udp = true;
  uint16_t extra_bytes = 0;  // state beyond State (untouched)

  std::string_view name() const noexcept override { return nm; }
  Interest interest() const noexcept override {
    return {.tcp = tcp,
            .udp = udp,
            .needs_payload = payload_only,
            .state_bytes = static_cast<uint16_t>(sizeof(State) + extra_bytes)};
  }
  Result inspect(const PacketView&, const FlowContext&, FlowSlot slot) noexcept override {
    auto& s = slot.as<State>();
    const uint32_t i = s.calls++;
    return i < answers.size() ? answers[i] : Result{NeedMore{}};
  }
  std::optional<Match> give_up(const FlowContext&, FlowSlot) noexcept override { return weak; }
  void release(FlowSlot slot) noexcept override {
    if (release_calls != nullptr) {
      ++*release_calls;
    }
    if (released != nullptr) {
      *released += static_cast<int>(slot.as<State>().calls);
    }
  }
};

PacketView view_of(const std::vector<uint8_t>& v) {
  return std::get<PacketView>(imguard::packet::parse_ip(v, imguard::packet::Timestamp{0}));
}

}  // namespace

TEST_CASE("first Match wins and later classifiers are not called", "[chain]") {
  int released_a = 0;
  int released_b = 0;
  auto a = std::make_unique<Scripted>();
  a->nm = "a";
  a->answers = {NeedMore{}, Match{AppId::kIrc, Evidence::kDpi, kFeatureCleartext}};
  a->released = &released_a;
  auto b = std::make_unique<Scripted>();
  b->nm = "b";
  b->released = &released_b;
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::move(a));
  list.push_back(std::move(b));
  Chain chain(std::move(list), Budget{});
  ChainFlowState st;
  const auto pkt = t::ipv4_tcp({}, "data");
  FlowContext ctx;
  CHECK_FALSE(chain.inspect(view_of(pkt), ctx, st));
  CHECK(chain.inspect(view_of(pkt), ctx, st));
  CHECK(st.result.final);
  CHECK(st.result.app == AppId::kIrc);
  CHECK(st.result.features == kFeatureCleartext);
  CHECK(chain.classifier_name(st.result.classifier) == "a");
  chain.release(st);
  CHECK(released_a == 2);
  CHECK(released_b == 1);  // b saw the first packet only
}

TEST_CASE("NotMine skips the classifier for the rest of the flow", "[chain]") {
  int released = 0;
  auto a = std::make_unique<Scripted>();
  a->nm = "a";
  a->answers = {NotMine{}};
  a->released = &released;
  auto b = std::make_unique<Scripted>();
  b->nm = "b";
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::move(a));
  list.push_back(std::move(b));
  Chain chain(std::move(list), Budget{});
  ChainFlowState st;
  const auto pkt = t::ipv4_udp({}, "x");
  for (int i = 0; i < 5; ++i) {
    chain.inspect(view_of(pkt), FlowContext{}, st);
  }
  chain.release(st);
  CHECK(released == 1);
}

TEST_CASE("budget exhaustion finalises with the strongest weak answer", "[chain]") {
  auto a = std::make_unique<Scripted>();
  a->nm = "a";
  a->weak = Match{AppId::kDns, Evidence::kPortGuess, kFeatureNone};
  auto b = std::make_unique<Scripted>();
  b->nm = "b";
  b->weak = Match{AppId::kBittorrent, Evidence::kCrossFlow, kFeatureFileTransfer};
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::move(a));
  list.push_back(std::move(b));
  Chain chain(std::move(list), Budget{.tcp_data_packets = 24, .udp_data_packets = 3});
  ChainFlowState st;
  const auto pkt = t::ipv4_udp({}, "x");
  CHECK_FALSE(chain.inspect(view_of(pkt), FlowContext{}, st));
  CHECK_FALSE(chain.inspect(view_of(pkt), FlowContext{}, st));
  CHECK(chain.inspect(view_of(pkt), FlowContext{}, st));
  CHECK(st.result.app == AppId::kBittorrent);
  CHECK(st.result.evidence == Evidence::kCrossFlow);
  CHECK(chain.classifier_name(st.result.classifier) == "b");
}

TEST_CASE("payload-only classifiers are not called on bare ACKs", "[chain]") {
  auto a = std::make_unique<Scripted>();
  a->nm = "a";
  a->answers = {Match{AppId::kXmpp, Evidence::kDpi, kFeatureNone}};
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::move(a));
  Chain chain(std::move(list), Budget{});
  ChainFlowState st;
  CHECK_FALSE(chain.inspect(view_of(t::ipv4_tcp({}, "", 0x02)), FlowContext{}, st));
  REQUIRE(st.scratch);
  CHECK(st.scratch->data_packets == 0);
  CHECK(chain.inspect(view_of(t::ipv4_tcp({}, "<stream", 0x18)), FlowContext{}, st));
}

TEST_CASE("an undecided flow with no weak answer ends unknown", "[chain]") {
  auto a = std::make_unique<Scripted>();
  a->nm = "a";
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::move(a));
  Chain chain(std::move(list), Budget{});
  ChainFlowState st;
  chain.inspect(view_of(t::ipv4_tcp({}, "zz")), FlowContext{}, st);
  chain.finish(FlowContext{}, st);
  CHECK(st.result.final);
  CHECK(st.result.app == AppId::kUnknown);
  CHECK(chain.classifier_name(st.result.classifier) == "none");
}

TEST_CASE("NeedMore with Hold::kClaim keeps later classifiers off that packet", "[chain]") {
  int released_b = 0;
  auto a = std::make_unique<Scripted>();
  a->nm = "a";
  a->answers = {NeedMore{Hold::kClaim}, NeedMore{},
                Match{AppId::kBittorrent, Evidence::kDpi, kFeatureFileTransfer}};
  auto b = std::make_unique<Scripted>();
  b->nm = "b";
  b->released = &released_b;
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::move(a));
  list.push_back(std::move(b));
  Chain chain(std::move(list), Budget{});
  ChainFlowState st;
  const auto pkt = t::ipv4_udp({}, "d1:y1:qe");
  CHECK_FALSE(chain.inspect(view_of(pkt), FlowContext{}, st));  // claimed: b skipped
  CHECK_FALSE(chain.inspect(view_of(pkt), FlowContext{}, st));  // plain NeedMore: b runs
  CHECK(chain.inspect(view_of(pkt), FlowContext{}, st));
  CHECK(chain.classifier_name(st.result.classifier) == "a");
  chain.release(st);
  CHECK(released_b == 1);
}

TEST_CASE("the chain hands its peer cache to classifiers", "[chain]") {
  struct Learner final : Classifier {
    std::string_view name() const noexcept override { return "learner"; }
    Interest interest() const noexcept override { return {}; }
    Result inspect(const PacketView& pkt, const FlowContext& ctx, FlowSlot) noexcept override {
      if (ctx.peers == nullptr) {
        return NotMine{};
      }
      ctx.peers->remember(pkt.src, pkt.dst, pkt.dport, AppId::kEdonkey, pkt.ts);
      return NeedMore{};
    }
  };
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::make_unique<Learner>());
  Chain chain(std::move(list), Budget{}, PeerCache::Config{.capacity = 8});
  ChainFlowState st;
  const auto v = t::ipv4_udp({.dst = "198.51.100.4", .dport = 4672}, "x");
  chain.inspect(view_of(v), FlowContext{}, st);
  CHECK(chain.peers().lookup(imguard::packet::Address::parse("10.0.0.1"),
                             imguard::packet::Address::parse("198.51.100.4"), 4672,
                             imguard::packet::Timestamp{0}) == AppId::kEdonkey);
  CHECK(chain.peers().capacity() == 8);
}

TEST_CASE("a claim publishes the app provisionally, without features, and blocks later ones",
          "[chain]") {
  int released_b = 0;
  auto a = std::make_unique<Scripted>();
  a->nm = "a";
  a->answers = {NeedMore{Hold::kClaim}, NeedMore{Hold::kClaim}};
  a->weak = Match{AppId::kIrc, Evidence::kDpi, kFeatureCleartext};
  auto b = std::make_unique<Scripted>();
  b->nm = "b";
  b->answers = {Match{AppId::kHttp, Evidence::kDpi, kFeatureNone}};
  b->released = &released_b;
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::move(a));
  list.push_back(std::move(b));
  Chain chain(std::move(list), Budget{});
  ChainFlowState st;
  CHECK_FALSE(chain.inspect(view_of(t::ipv4_tcp({}, "NICK x\r\n")), FlowContext{}, st));
  CHECK_FALSE(st.result.final);
  CHECK(st.result.app == AppId::kIrc);
  CHECK(st.result.features == kFeatureNone);
  CHECK(chain.classifier_name(st.result.classifier) == "a");
  chain.finish(FlowContext{}, st);
  CHECK(st.result.final);
  CHECK(st.result.app == AppId::kIrc);
  CHECK(st.result.features == kFeatureCleartext);
  chain.release(st);
  CHECK(released_b == 0);  // b never saw a packet of the claimed flow
}

TEST_CASE("a cross_flow hint never outranks the flow's own payload", "[chain][regression]") {
  // "hint" answers cross_flow on the first payload (as irc_dcc / known_peers do); "dpi"
  // recognises the payload on the same packet (a BitTorrent handshake) or a later one.
  const auto make = [](std::vector<Result> dpi_answers) {
    auto hint = std::make_unique<Scripted>();
    hint->nm = "hint";
    hint->answers = {Match{AppId::kIrc, Evidence::kCrossFlow, kFeatureFileTransfer}};
    auto dpi = std::make_unique<Scripted>();
    dpi->nm = "dpi";
    dpi->answers = std::move(dpi_answers);
    std::vector<std::unique_ptr<Classifier>> list;
    list.push_back(std::move(hint));
    list.push_back(std::move(dpi));
    return std::make_unique<Chain>(std::move(list), Budget{});
  };
  const auto data = t::ipv4_tcp({}, "payload");
  const Match bt{AppId::kBittorrent, Evidence::kDpi, kFeaturePeer};
  SECTION("same packet: the payload match wins") {
    auto chain = make({bt});
    ChainFlowState st;
    CHECK(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(st.result.app == AppId::kBittorrent);
    CHECK(st.result.evidence == Evidence::kDpi);
  }
  SECTION("a later packet within the hint window: the payload match wins") {
    auto chain = make({NeedMore{}, NeedMore{}, bt});
    ChainFlowState st;
    CHECK_FALSE(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(st.result.app == AppId::kUnknown);  // nothing provisional for policy to act on
    CHECK_FALSE(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(st.result.app == AppId::kBittorrent);
  }
  SECTION("nothing stronger within the window: the hint decides") {
    auto chain = make({});
    ChainFlowState st;
    for (int i = 0; i < 3; ++i) {
      CHECK_FALSE(chain->inspect(view_of(data), FlowContext{}, st));
    }
    CHECK(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(st.result.app == AppId::kIrc);
    CHECK(st.result.evidence == Evidence::kCrossFlow);
    CHECK(chain->classifier_name(st.result.classifier) == "hint");
  }
  SECTION("the flow ends early: the hint beats weaker give_up answers") {
    auto chain = make({});
    ChainFlowState st;
    CHECK_FALSE(chain->inspect(view_of(data), FlowContext{}, st));
    chain->finish(FlowContext{}, st);
    CHECK(st.result.app == AppId::kIrc);
  }
}

TEST_CASE("a weak guess made first never outranks dpi on a later packet", "[chain][evidence]") {
  // "guess" answers first (behaviour, or an address list on the first packet); "dpi"
  // recognises the payload two packets later.
  const auto make = [](Match guess, std::vector<Result> dpi_answers) {
    auto a = std::make_unique<Scripted>();
    a->nm = "guess";
    a->answers = {guess};
    auto b = std::make_unique<Scripted>();
    b->nm = "dpi";
    b->answers = std::move(dpi_answers);
    std::vector<std::unique_ptr<Classifier>> list;
    list.push_back(std::move(a));
    list.push_back(std::move(b));
    return std::make_unique<Chain>(std::move(list), Budget{});
  };
  const auto data = t::ipv4_tcp({}, "payload");
  const Match behaviour{AppId::kBittorrent, Evidence::kBehaviour, kFeaturePeer};
  SECTION("dpi on the third packet decides, as dpi") {
    auto chain = make(behaviour, {NeedMore{}, NeedMore{}, Match{AppId::kSsh, Evidence::kDpi}});
    ChainFlowState st;
    CHECK_FALSE(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK_FALSE(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(st.result.app == AppId::kSsh);
    CHECK(st.result.evidence == Evidence::kDpi);
    CHECK(chain->classifier_name(st.result.classifier) == "dpi");
  }
  SECTION("dpi naming the same app decides with dpi evidence and both features") {
    auto chain = make(
        behaviour, {NeedMore{}, Match{AppId::kBittorrent, Evidence::kDpi, kFeatureFileTransfer}});
    ChainFlowState st;
    CHECK_FALSE(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(st.result.evidence == Evidence::kDpi);
    CHECK(st.result.features == (kFeaturePeer | kFeatureFileTransfer));
  }
  SECTION("nothing stronger within the window: the guess decides as behaviour") {
    auto chain = make(behaviour, {});
    ChainFlowState st;
    for (int i = 0; i < 3; ++i) {
      CHECK_FALSE(chain->inspect(view_of(data), FlowContext{}, st));
    }
    CHECK(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(st.result.app == AppId::kBittorrent);
    CHECK(st.result.evidence == Evidence::kBehaviour);
  }
  SECTION("a generic carrier (TLS) does not displace a specific app from an address list") {
    auto chain = make(Match{AppId::kTelegram, Evidence::kAddressList},
                      {NeedMore{}, Match{AppId::kTls, Evidence::kDpi}});
    ChainFlowState st;
    CHECK_FALSE(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(chain->inspect(view_of(data), FlowContext{}, st));
    CHECK(st.result.app == AppId::kTelegram);
    CHECK(st.result.evidence == Evidence::kAddressList);
  }
  SECTION("a cross_flow hint outranks a behaviour guess of the flow itself") {
    auto a = std::make_unique<Scripted>();
    a->nm = "behaviour";
    a->answers = {behaviour};
    auto b = std::make_unique<Scripted>();
    b->nm = "hint";
    b->answers = {NeedMore{}, Match{AppId::kEdonkey, Evidence::kCrossFlow}};
    std::vector<std::unique_ptr<Classifier>> list;
    list.push_back(std::move(a));
    list.push_back(std::move(b));
    Chain chain(std::move(list), Budget{});
    ChainFlowState st;
    CHECK_FALSE(chain.inspect(view_of(data), FlowContext{}, st));
    CHECK(chain.inspect(view_of(data), FlowContext{}, st));  // every classifier has answered
    CHECK(st.result.app == AppId::kEdonkey);
    CHECK(st.result.evidence == Evidence::kCrossFlow);
  }
}

TEST_CASE("TCP-only and UDP-only classifiers share slot bytes, each sees only its flows",
          "[chain]") {
  int tcp_releases = 0;
  int udp_releases = 0;
  auto a = std::make_unique<Scripted>();
  a->nm = "tcp-only";
  a->udp = false;
  a->extra_bytes = kFlowStateBytes - 8 - sizeof(Scripted::State);
  a->release_calls = &tcp_releases;
  auto b = std::make_unique<Scripted>();
  b->nm = "udp-only";
  b->tcp = false;
  b->extra_bytes = a->extra_bytes;
  b->release_calls = &udp_releases;
  b->weak = Match{AppId::kBittorrent, Evidence::kPortGuess, kFeatureNone};
  auto c = std::make_unique<Scripted>();  // both: 8 bytes before the shared part
  c->nm = "both";
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::move(a));
  list.push_back(std::move(b));
  list.push_back(std::move(c));
  Chain chain(std::move(list), Budget{});  // 8 + 2 * 120 bytes would not fit one after another

  ChainFlowState st;
  FlowContext ctx;
  CHECK_FALSE(chain.inspect(view_of(t::ipv4_tcp({}, "data")), ctx, st));
  chain.finish(ctx, st);
  // The UDP-only classifier's give_up (a port guess) and release never saw the TCP flow.
  CHECK(st.result.app == AppId::kUnknown);
  CHECK(tcp_releases == 1);
  CHECK(udp_releases == 0);

  ChainFlowState udp;
  CHECK_FALSE(chain.inspect(view_of(t::ipv4_udp({}, "data")), ctx, udp));
  chain.finish(ctx, udp);
  CHECK(udp.result.app == AppId::kBittorrent);
  CHECK(chain.classifier_name(udp.result.classifier) == "udp-only");
  CHECK(tcp_releases == 1);
  CHECK(udp_releases == 1);
}

TEST_CASE("a generic carrier on the same packet does not displace a specific guess",
          "[chain][evidence]") {
  auto a = std::make_unique<Scripted>();
  a->nm = "hint";
  a->answers = {Match{AppId::kBittorrent, Evidence::kCrossFlow, kFeatureFileTransfer}};
  auto b = std::make_unique<Scripted>();
  b->nm = "carrier";
  b->answers = {Match{AppId::kHttp, Evidence::kDpi, kFeatureNone}};
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::move(a));
  list.push_back(std::move(b));
  Chain chain(std::move(list), Budget{});
  ChainFlowState st;
  FlowContext ctx;
  CHECK(chain.inspect(view_of(t::ipv4_tcp({}, "GET / HTTP/1.1\r\n\r\n")), ctx, st));
  CHECK(st.result.app == AppId::kBittorrent);
  CHECK(st.result.evidence == Evidence::kCrossFlow);
  CHECK(st.result.features == kFeatureFileTransfer);
  CHECK(chain.classifier_name(st.result.classifier) == "hint");
}
