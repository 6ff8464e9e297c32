// SPDX-License-Identifier: GPL-3.0-or-later
// decide() over `rules:`: first match wins, every match field, monitor and enforce, and
// the per-user throttle buckets.
#include <catch2/catch.hpp>
#include <string>

#include "policy/decision.h"
#include "policy/loader.h"

using namespace imguard::policy;
using imguard::classifiers::AppId;
using imguard::classifiers::Evidence;
using imguard::classifiers::kFeatureCleartext;
using imguard::classifiers::kFeatureFileTransfer;
using imguard::classifiers::kFeatureNone;
using imguard::classifiers::kFeatureServing;

namespace {

std::shared_ptr<const Config> load(const std::string& text) {
  auto r = load_config_string(text, "d.yaml");
  if (auto* e = std::get_if<LoadError>(&r)) {
    for (const auto& m : e->messages) {
      UNSCOPED_INFO(m);
    }
    FAIL("config refused");
  }
  return std::get<std::shared_ptr<const Config>>(r);
}

constexpr const char* kUsers = R"(version: 1
users:
  alice: {addresses: [10.0.1.10]}
  bob: {addresses: [10.0.1.11]}
  carol: {addresses: [10.0.1.12]}
groups:
  kids: {members: [alice, bob]}
  lab: {addresses: [10.0.8.0/24]}
schedules:
  school: {time: 08:00-12:00, timezone: UTC}
  night: {time: 22:00-06:00, timezone: UTC}
)";
constexpr uint16_t kAlice = 0;
constexpr uint16_t kBob = 1;
constexpr uint16_t kCarol = 2;

FlowFacts facts(uint16_t user, AppId app, uint8_t features = kFeatureNone) {
  FlowFacts f;
  f.user = user;
  f.app = app;
  f.features = features;
  f.evidence = Evidence::kDpi;
  if (user == kAlice || user == kBob) {
    f.groups.set(0);  // kids
  }
  return f;
}

const std::string& rule_of(const Config& c, const FlowFacts& f) {
  return c.policy.rules[decide(c.policy, f).rule].name;
}

uint16_t index_of(const Config& c, const std::string& name) {
  for (size_t i = 0; i < c.policy.rules.size(); ++i) {
    if (c.policy.rules[i].name == name) {
      return static_cast<uint16_t>(i);
    }
  }
  FAIL("no rule " + name);
  return kNoRule;
}

}  // namespace

TEST_CASE("policy/decide: the first matching rule wins; who forms", "[policy]") {
  const auto c = load(std::string(kUsers) + R"(rules:
  - {name: carol-irc, who: carol, app: irc, action: reject}
  - {name: kids-im, who: kids, category: im, action: drop}
  - {name: strangers, who: unknown, action: drop}
  - {name: lab, who: lab, action: throttle 1Mbit/s}
  - {name: im, who: anyone, category: im, action: allow}
actions:
  default: reject
)");
  struct Case {
    const char* what;
    FlowFacts f;
    const char* rule;
    Action action;
  };
  FlowFacts lab_host = facts(kNoUser, AppId::kHttp);
  lab_host.groups.set(1);
  const Case cases[] = {
      {"a user rule", facts(kCarol, AppId::kIrc), "carol-irc", Action::kReject},
      {"the user's other apps fall through", facts(kCarol, AppId::kXmpp), "im", Action::kAllow},
      {"a group by members", facts(kAlice, AppId::kIrc), "kids-im", Action::kDrop},
      {"first match: carol-irc is not for bob", facts(kBob, AppId::kIrc), "kids-im", Action::kDrop},
      {"unknown matches hosts of nobody", facts(kNoUser, AppId::kXmpp), "strangers", Action::kDrop},
      {"a host of nobody in a group's block is still unknown, and unknown comes first", lab_host,
       "strangers", Action::kDrop},
      {"nothing matches: the table's default", facts(kCarol, AppId::kHttp), "default",
       Action::kReject},
  };
  for (const Case& k : cases) {
    INFO(k.what);
    const Decision d = decide(c->policy, k.f);
    CHECK(c->policy.rules[d.rule].name == k.rule);
    CHECK(d.action == k.action);
    CHECK(d.enforced == k.action);
    CHECK(d.user == k.f.user);
  }
  // Once `strangers` is out of the way, a lab host is matched by its group's block.
  const auto c2 = load(std::string(kUsers) +
                       "rules:\n  - {name: lab, who: lab, action: drop}\n"
                       "  - {name: strangers, who: unknown, action: reject}\n");
  CHECK(rule_of(*c2, lab_host) == "lab");
  CHECK(rule_of(*c2, facts(kNoUser, AppId::kHttp)) == "strangers");
}

TEST_CASE("policy/decide: every match field", "[policy]") {
  const auto c = load(std::string(kUsers) + R"(rules:
  - {name: bt, app: bittorrent, action: drop}
  - {name: ft, feature: file_transfer, action: reject}
  - {name: guessed, evidence: [port_guess, address_list], action: throttle 1Mbit/s}
  - {name: serving, direction: serving, category: p2p, action: drop}
  - {name: p2p-out, direction: initiating, category: p2p, action: allow}
  - {name: school, when: school, category: voip, action: drop}
  - {name: not-night, not_when: night, category: tunnel, action: drop}
actions:
  default: allow
)");
  auto with = [](FlowFacts f, auto&& change) {
    change(f);
    return f;
  };
  struct Case {
    const char* what;
    FlowFacts f;
    const char* rule;
  };
  const FlowFacts ed = facts(kCarol, AppId::kEdonkey);
  const Case cases[] = {
      {"app", facts(kCarol, AppId::kBittorrent), "bt"},
      {"feature", facts(kCarol, AppId::kXmpp, kFeatureFileTransfer), "ft"},
      {"feature: another bit does not match", facts(kCarol, AppId::kXmpp, kFeatureCleartext),
       "default"},
      {"evidence",
       with(facts(kCarol, AppId::kXmpp), [](FlowFacts& f) { f.evidence = Evidence::kPortGuess; }),
       "guessed"},
      {"direction serving", with(ed, [](FlowFacts& f) { f.user_is_responder = true; }), "serving"},
      {"direction initiating", ed, "p2p-out"},
      {"when: active",
       with(facts(kCarol, AppId::kSip), [](FlowFacts& f) { f.active_schedules = 1u << 0; }),
       "school"},
      {"when: inactive", facts(kCarol, AppId::kSip), "default"},
      {"not_when: inactive", facts(kCarol, AppId::kTor), "not-night"},
      {"not_when: active",
       with(facts(kCarol, AppId::kTor), [](FlowFacts& f) { f.active_schedules = 1u << 1; }),
       "default"},
  };
  for (const Case& k : cases) {
    INFO(k.what);
    CHECK(rule_of(*c, k.f) == k.rule);
  }
}

TEST_CASE("policy/decide: monitor and engine.enforce decide without enforcing", "[policy]") {
  const auto c = load(std::string(kUsers) + R"(rules:
  - {name: watch, app: irc, action: monitor drop}
  - {name: slow, app: xmpp, action: monitor throttle 1Mbit/s}
  - {name: block, app: sip, action: drop}
)");
  Decision d = decide(c->policy, facts(kCarol, AppId::kIrc));
  CHECK(d.action == Action::kDrop);
  CHECK(d.enforced == Action::kAllow);
  CHECK(d.monitored());
  d = decide(c->policy, facts(kCarol, AppId::kXmpp));
  CHECK(d.action == Action::kThrottle);
  CHECK(d.rate_bytes_per_sec == 125000);
  CHECK(d.enforced == Action::kAllow);
  CHECK(d.bucket == 0);  // nothing to meter
  d = decide(c->policy, facts(kCarol, AppId::kSip));
  CHECK(d.enforced == Action::kDrop);
  CHECK_FALSE(d.monitored());

  const auto off = load(std::string(kUsers) +
                        "engine: {enforce: false}\nrules:\n  - {name: block, app: sip, action: "
                        "drop}\n");
  d = decide(off->policy, facts(kCarol, AppId::kSip));
  CHECK(d.action == Action::kDrop);
  CHECK(d.enforced == Action::kAllow);
  CHECK(d.monitored());
}

TEST_CASE("policy/decide: per-user throttle buckets", "[policy]") {
  const std::string rules = R"(rules:
  - {name: kids-p2p, who: [kids, unknown], category: p2p, action: throttle 1Mbit/s}
  - {name: everyone-im, category: im, action: throttle 2Mbit/s shared}
)";
  const auto c = load(std::string(kUsers) + rules);
  const Policy& p = c->policy;
  const Decision a = decide(p, facts(kAlice, AppId::kEdonkey));
  const Decision b = decide(p, facts(kBob, AppId::kEdonkey));
  const Decision n = decide(p, facts(kNoUser, AppId::kEdonkey));
  CHECK(a.rule == b.rule);
  CHECK(a.enforced == Action::kThrottle);
  CHECK(a.bucket != b.bucket);  // two users under one per-user rule
  CHECK(n.bucket != a.bucket);
  CHECK(n.bucket != b.bucket);
  for (const Decision& d : {a, b, n}) {
    REQUIRE(d.bucket < p.buckets.size());
    CHECK(p.buckets[d.bucket].rule == d.rule);
    CHECK(p.buckets[d.bucket].user == d.user);
  }
  // Carol is not in the rule's `who`: she has no bucket of it.
  CHECK(p.rules[a.rule].user_buckets[kCarol] == kNoBucket);
  // A shared rule: one bucket for everybody.
  const Decision s1 = decide(p, facts(kAlice, AppId::kIrc));
  const Decision s2 = decide(p, facts(kCarol, AppId::kXmpp));
  const Decision s3 = decide(p, facts(kNoUser, AppId::kIrc));
  CHECK(s1.bucket == s2.bucket);
  CHECK(s1.bucket == s3.bucket);
  CHECK(p.buckets[s1.bucket].user == kNoUser);
  CHECK(s1.bucket != a.bucket);
  CHECK(s1.bucket != b.bucket);

  // Inserting an unrelated rule (and user) before them moves no bucket.
  std::string users = kUsers;
  const std::string carol = "  carol: {addresses: [10.0.1.12]}\n";
  users.replace(users.find(carol), carol.size(), carol + "  dave: {addresses: [10.0.1.13]}\n");
  const auto c2 = load(users + R"(rules:
  - {name: dave-slow, who: dave, action: throttle 64kB/s}
  - {name: carol-im, who: carol, app: irc, action: drop}
)" + rules.substr(rules.find('\n') + 1));
  const Policy& p2 = c2->policy;
  REQUIRE(p2.users.size() == 4);
  const uint16_t dave = 3;
  const Decision a2 = decide(p2, facts(kAlice, AppId::kEdonkey));
  CHECK(p2.rules[a2.rule].name == "kids-p2p");
  CHECK(a2.rule != a.rule);      // the rule moved...
  CHECK(a2.bucket == a.bucket);  // ...its buckets did not
  CHECK(decide(p2, facts(kBob, AppId::kEdonkey)).bucket == b.bucket);
  CHECK(decide(p2, facts(kNoUser, AppId::kEdonkey)).bucket == n.bucket);
  CHECK(decide(p2, facts(kAlice, AppId::kIrc)).bucket == s1.bucket);
  const Decision d = decide(p2, facts(dave, AppId::kHttp));
  CHECK(p2.rules[d.rule].name == "dave-slow");
  CHECK(d.bucket != a.bucket);
  CHECK(d.bucket != b.bucket);
  CHECK(d.bucket != n.bucket);
  CHECK(d.bucket != s1.bucket);
  CHECK(index_of(*c2, "default") == p2.ordered_rules);
}

TEST_CASE("policy/decide: the legacy table still applies after rules", "[policy]") {
  const auto c = load(std::string(kUsers) + R"(rules:
  - {name: alice-bt, who: alice, app: bittorrent, action: allow}
actions:
  default: reject
  categories: {p2p: drop}
  features: {file_transfer: throttle 64kB/s}
  apps: {irc: allow}
)");
  const Policy& p = c->policy;
  CHECK(rule_of(*c, facts(kAlice, AppId::kBittorrent)) == "alice-bt");
  CHECK(rule_of(*c, facts(kBob, AppId::kBittorrent)) == "actions.categories.p2p");
  CHECK(rule_of(*c, facts(kBob, AppId::kBittorrent, kFeatureFileTransfer)) ==
        "actions.features.file_transfer");
  CHECK(rule_of(*c, facts(kBob, AppId::kIrc, kFeatureFileTransfer)) == "actions.apps.irc");
  CHECK(rule_of(*c, facts(kNoUser, AppId::kHttp)) == "default");
  const Decision d = decide(p, facts(kBob, AppId::kXmpp, kFeatureFileTransfer | kFeatureServing));
  CHECK(d.action == Action::kThrottle);
  CHECK(d.rate_bytes_per_sec == 64000);
  // The old entry point sees the same table.
  CHECK(decide(*c, AppId::kEdonkey, kFeatureNone).action == Action::kDrop);
  CHECK(decide(*c, AppId::kHttp, kFeatureNone).rule == p.table.default_rule);
}

TEST_CASE("policy/decide: evidence [dpi, cross_flow] drops only proven P2P", "[policy][evidence]") {
  const auto c = load(std::string(kUsers) + R"(rules:
  - {name: p2p-proven, category: p2p, evidence: [dpi, cross_flow], action: drop}
  - {name: p2p-guessed, category: p2p, action: throttle 1Mbit/s}
actions:
  default: allow
)");
  const auto with_evidence = [](Evidence e) {
    FlowFacts f = facts(kCarol, AppId::kBittorrent);
    f.evidence = e;
    return f;
  };
  CHECK(rule_of(*c, with_evidence(Evidence::kDpi)) == "p2p-proven");
  CHECK(rule_of(*c, with_evidence(Evidence::kCrossFlow)) == "p2p-proven");
  for (const Evidence weak : {Evidence::kBehaviour, Evidence::kAddressList, Evidence::kPortGuess}) {
    CHECK(rule_of(*c, with_evidence(weak)) == "p2p-guessed");
  }
}
