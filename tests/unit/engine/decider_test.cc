// SPDX-License-Identifier: GPL-3.0-or-later
// engine/decider.h: the one decision component (identity → derived features → decide),
// the schedule state at an instant, and what each packet does to a flow's decision.
#include "engine/decider.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "config_util.h"
#include "policy/loader.h"

using namespace imguard::engine;
using imguard::classifiers::AppId;
using imguard::classifiers::kFeatureFileTransfer;
using imguard::classifiers::kFeaturePeer;
using imguard::classifiers::kFeatureServing;
using imguard::packet::Address;
using imguard::packet::Timestamp;
namespace policy = imguard::policy;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const policy::Config> load(const std::string& text) {
  return imguard::testing::load_config(text, "e.yaml");
}

constexpr const char* kPolicy = R"(version: 1
users:
  alice: {addresses: [10.0.1.10]}
  bob: {addresses: [10.0.1.11], macs: [02:00:00:00:00:0b]}
schedules:
  school: {days: [mon, tue, wed, thu, fri], time: 08:00-12:00, timezone: UTC}
  night-mon: {days: [mon], time: 22:00-06:00, timezone: UTC}
rules:
  - {name: no-serving, feature: serving, action: drop}
  - {name: school-p2p, when: school, category: p2p, action: reject}
  - {name: im-files, feature: file_transfer, category: im, action: drop}
actions:
  categories: {p2p: throttle 1Mbit/s}
)";

ConnFacts conn(const char* initiator, const char* responder, AppId app, uint8_t features) {
  ConnFacts f;
  f.ends.initiator = Address::parse(initiator);
  f.ends.responder = Address::parse(responder);
  f.app = app;
  f.features = features;
  return f;
}

Timestamp at(std::chrono::sys_days day, std::chrono::minutes time) {
  return std::chrono::duration_cast<Timestamp>((day + time).time_since_epoch());
}

// 2026-03-02 is a Monday.
constexpr std::chrono::sys_days kMonday{std::chrono::year{2026} / 3 / 2};

}  // namespace

TEST_CASE("engine/decider: serving only for a peer connection the user accepted", "[engine]") {
  const auto c = load(kPolicy);
  struct Case {
    const char* what;
    ConnFacts f;
    bool serving;
    const char* rule;
  };
  const Case cases[] = {
      {"peer connection, user is the responder",
       conn("203.0.113.1", "10.0.1.10", AppId::kBittorrent, kFeaturePeer | kFeatureFileTransfer),
       true, "no-serving"},
      {"peer connection, user is the initiator",
       conn("10.0.1.10", "203.0.113.1", AppId::kBittorrent, kFeaturePeer | kFeatureFileTransfer),
       false, "actions.categories.p2p"},
      {"user is the responder, but no peer connection (a tracker)",
       conn("203.0.113.1", "10.0.1.10", AppId::kBittorrent, kFeatureFileTransfer), false,
       "actions.categories.p2p"},
      {"a classifier's serving bit is not trusted",
       conn("10.0.1.10", "203.0.113.1", AppId::kEdonkey, kFeatureServing), false,
       "actions.categories.p2p"},
      {"the responder is a host of nobody, still local",
       conn("203.0.113.1", "10.0.7.7", AppId::kGnutella, kFeaturePeer), true, "no-serving"},
  };
  for (const Case& k : cases) {
    INFO(k.what);
    const Decided d = decide_connection(*c, k.f, 0);
    CHECK(((d.features & kFeatureServing) != 0) == k.serving);
    CHECK((d.features & kFeaturePeer) == (k.f.features & kFeaturePeer));  // kept
    CHECK(c->policy.rules[d.decision.rule].name == k.rule);
  }
  const Decided d =
      decide_connection(*c, conn("203.0.113.1", "10.0.1.10", AppId::kBittorrent, kFeaturePeer), 0);
  CHECK(d.identity.user == 0);
  CHECK(d.identity.user_is_responder);
  CHECK(d.decision.user == 0);
}

TEST_CASE("engine/decider: a sticky user is found again by its stable id", "[engine]") {
  const auto c = load(kPolicy);
  // Bob was found by MAC on an address that is nobody's; a re-decision has only the label.
  ConnFacts f = conn("10.0.5.5", "203.0.113.1", AppId::kXmpp, kFeatureFileTransfer);
  f.sticky_user = c->policy.users[1].stable_id;
  Decided d = decide_connection(*c, f, 0);
  CHECK(d.identity.user == 1);
  CHECK(d.identity.sticky);
  CHECK(c->policy.rules[d.decision.rule].name == "im-files");
  // An id the policy no longer knows: back to addresses.
  f.sticky_user = 12345;
  d = decide_connection(*c, f, 0);
  CHECK(d.identity.user == policy::kNoUser);
}

TEST_CASE("engine/decider: schedules_at at fixed instants (UTC)", "[engine]") {
  const auto c = load(kPolicy);
  const policy::Policy& p = c->policy;
  struct Case {
    const char* what;
    Timestamp t;
    uint64_t mask;
  };
  const Case cases[] = {
      {"Monday 07:59", at(kMonday, 7h + 59min), 0},
      {"Monday 08:00", at(kMonday, 8h), 1},
      {"Monday 11:59", at(kMonday, 11h + 59min), 1},
      {"Monday 12:00 (end is exclusive)", at(kMonday, 12h), 0},
      {"Monday 03:00: night-mon began on Sunday, which is not listed", at(kMonday, 3h), 0},
      {"Monday 23:00", at(kMonday, 23h), 2},
      {"Tuesday 05:59: Monday's night", at(kMonday + std::chrono::days{1}, 5h + 59min), 2},
      {"Tuesday 06:00", at(kMonday + std::chrono::days{1}, 6h), 0},
      {"Tuesday 09:00", at(kMonday + std::chrono::days{1}, 9h), 1},
      {"Saturday 09:00", at(kMonday + std::chrono::days{5}, 9h), 0},
  };
  for (const Case& k : cases) {
    INFO(k.what);
    CHECK(schedules_at(p, k.t) == k.mask);
  }
  // The schedule state feeds the decision.
  const ConnFacts f = conn("10.0.1.10", "203.0.113.1", AppId::kBittorrent, 0);
  CHECK(c->policy.rules[decide_connection(*c, f, schedules_at(p, at(kMonday, 9h))).decision.rule]
            .name == "school-p2p");
  CHECK(c->policy.rules[decide_connection(*c, f, schedules_at(p, at(kMonday, 13h))).decision.rule]
            .name == "actions.categories.p2p");
}

TEST_CASE("engine/decider: decide_step claim-blocks, decides, re-decides", "[engine]") {
  const auto c = load(R"(version: 1
users:
  alice: {addresses: [10.0.1.10]}
rules:
  - {name: no-irc, app: irc, action: drop}
  - {name: watch-sip, app: sip, action: monitor drop}
  - {name: xmpp-files, app: xmpp, feature: file_transfer, action: reject}
)");
  auto flow_of = [](AppId app, bool final) {
    Flow f;
    f.client = Address::parse("10.0.1.10");
    f.server = Address::parse("203.0.113.1");
    f.chain.result.app = app;
    f.chain.result.final = final;
    return f;
  };
  const Timestamp now = at(kMonday, 9h);
  const PolicyView view{c.get(), 7, 0};

  SECTION("no policy: nothing is decided") {
    Flow f = flow_of(AppId::kIrc, true);
    CHECK(decide_step(PolicyView{}, f, true, now) == Step::kUndecided);
    CHECK(f.decision.when == CachedDecision::When::kNone);
  }
  SECTION("still classifying, no app yet") {
    Flow f = flow_of(AppId::kUnknown, false);
    CHECK(decide_step(view, f, false, now) == Step::kUndecided);
  }
  SECTION("a claimed app the policy drops is blocked at once") {
    Flow f = flow_of(AppId::kIrc, false);
    CHECK(decide_step(view, f, false, now) == Step::kClaimBlock);
    CHECK(f.decision.when == CachedDecision::When::kClaim);
    CHECK(f.decision.decision.enforced == policy::Action::kDrop);
    CHECK(f.decision.generation == 7);
    CHECK(f.decision.at == now);
    CHECK(f.decision.identity.user == 0);
    // Later packets are answered from the cache, even once the classification is final.
    f.chain.result.final = true;
    CHECK(decide_step(view, f, true, now) == Step::kDecided);
    CHECK(f.decision.when == CachedDecision::When::kClaim);
  }
  SECTION("a claimed app that is allowed, or only monitored, is watched on") {
    Flow f = flow_of(AppId::kXmpp, false);
    f.chain.result.features = kFeatureFileTransfer;  // provisional: not used for the claim
    CHECK(decide_step(view, f, false, now) == Step::kUndecided);
    Flow sip = flow_of(AppId::kSip, false);
    CHECK(decide_step(view, sip, false, now) == Step::kUndecided);
    f.chain.result.final = true;
    CHECK(decide_step(view, f, true, now) == Step::kDecidedNow);
    CHECK(f.decision.when == CachedDecision::When::kFinal);
    CHECK(f.decision.decision.enforced == policy::Action::kReject);
    CHECK(c->policy.rules[f.decision.decision.rule].name == "xmpp-files");
  }
  SECTION("a final decision, then a re-decision under a new generation") {
    Flow f = flow_of(AppId::kHttp, true);
    CHECK(decide_step(view, f, true, now) == Step::kDecidedNow);
    CHECK(f.decision.decision.enforced == policy::Action::kAllow);
    CHECK(decide_step(view, f, false, now) == Step::kDecided);
    const auto c2 = load("version: 1\nactions: {default: reject}\n");
    const PolicyView next{c2.get(), 8, 0};
    CHECK(decide_step(next, f, false, now + 1s) == Step::kRedecided);
    CHECK(f.decision.generation == 8);
    CHECK(f.decision.when == CachedDecision::When::kFinal);
    CHECK(f.decision.decision.enforced == policy::Action::kReject);
    CHECK(f.decision.at == now + 1s);
    CHECK(decide_step(next, f, false, now + 2s) == Step::kDecided);
  }
  SECTION("a claim no longer blocked goes back to classification") {
    Flow f = flow_of(AppId::kIrc, false);
    REQUIRE(decide_step(view, f, false, now) == Step::kClaimBlock);
    f.chain.result.features = kFeatureFileTransfer;  // provisional: not used for the claim
    const auto c2 =
        load("version: 1\nrules:\n  - {name: files, feature: file_transfer, action: reject}\n");
    const PolicyView next{c2.get(), 8, 0};
    CHECK(decide_step(next, f, false, now) == Step::kUndecided);
    CHECK(f.decision.when == CachedDecision::When::kNone);
    // Once final, the full decision uses the features the claim could not.
    f.chain.result.final = true;
    CHECK(decide_step(next, f, true, now) == Step::kDecidedNow);
    CHECK(f.decision.decision.enforced == policy::Action::kReject);
  }
  SECTION("a claim still blocked under a new policy stays blocked") {
    Flow f = flow_of(AppId::kIrc, false);
    REQUIRE(decide_step(view, f, false, now) == Step::kClaimBlock);
    const auto c2 = load("version: 1\nactions: {apps: {irc: reject}}\n");
    CHECK(decide_step(PolicyView{c2.get(), 8, 0}, f, false, now) == Step::kRedecided);
    CHECK(f.decision.when == CachedDecision::When::kClaim);
    CHECK(f.decision.decision.enforced == policy::Action::kReject);
  }
  SECTION("schedules: the published state, else the packet's own time") {
    const auto s = load(R"(version: 1
schedules:
  school: {days: [mon], time: 08:00-12:00, timezone: UTC}
rules:
  - {name: school-http, when: school, app: http, action: drop}
)");
    Flow f = flow_of(AppId::kHttp, true);
    CHECK(decide_step(PolicyView{s.get(), 1, std::nullopt}, f, true, now) == Step::kDecidedNow);
    CHECK(f.decision.decision.enforced == policy::Action::kDrop);
    Flow g = flow_of(AppId::kHttp, true);
    CHECK(decide_step(PolicyView{s.get(), 1, uint64_t{0}}, g, true, now) == Step::kDecidedNow);
    CHECK(g.decision.decision.enforced == policy::Action::kAllow);
  }
}
