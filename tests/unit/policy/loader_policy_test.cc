// SPDX-License-Identifier: GPL-3.0-or-later
// The per-user policy sections of the YAML (networks, users, groups, schedules, rules):
// every key parses into the structs, every mistake is one located message naming the key
// path and the values expected.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "policy/loader.h"

using namespace imguard::policy;
using imguard::classifiers::AppId;
using imguard::classifiers::Category;
using imguard::classifiers::Evidence;
using imguard::packet::Address;

namespace {

LoadOptions test_options() {
  LoadOptions o;
  o.resolve_unix_user = [](const std::string& name) -> std::optional<uint32_t> {
    if (name == "alice") {
      return 1000;
    }
    if (name == "daemon") {
      return 1;
    }
    return std::nullopt;
  };
  return o;
}

std::vector<std::string> errors_of(const std::string& text) {
  auto r = load_config_string(text, "t.yaml", test_options());
  if (auto* e = std::get_if<LoadError>(&r)) {
    return e->messages;
  }
  return {};
}

std::shared_ptr<const Config> ok(const std::string& text) {
  auto r = load_config_string(text, "t.yaml", test_options());
  if (auto* e = std::get_if<LoadError>(&r)) {
    for (const auto& m : e->messages) {
      UNSCOPED_INFO(m);
    }
    FAIL("config refused");
  }
  return std::get<std::shared_ptr<const Config>>(r);
}

Cidr cidr(const std::string& addr, uint8_t len) {
  return Cidr{Address::parse(addr), len};
}

const Rule& rule_named(const Config& c, const std::string& name) {
  for (const Rule& r : c.policy.rules) {
    if (r.name == name) {
      return r;
    }
  }
  FAIL("no rule " + name);
  return c.policy.rules.front();
}

}  // namespace

TEST_CASE("policy/loader: every per-user key parses", "[policy]") {
  const auto c = ok(R"(version: 1
engine:
  enforce: false
networks:
  local: [10.0.0.0/8, fd00::/8]
users:
  alice:
    addresses: [10.0.1.10, 10.0.2.0/24]
    macs: [02:00:00:00:01:10, 02-00-00-00-01-11]
    uids: [1001]
    unix_users: [alice]
  bob:
    addresses: fd00::b0b
groups:
  kids:
    members: [alice, bob]
    addresses: [10.0.9.0/24]
  lab:
    addresses: 10.0.8.0/24
schedules:
  school:
    days: [mon, tue, wed, thu, fri]
    time: "08:00-13:00"
    timezone: Europe/Berlin
  night:
    time: [22:00-06:00, 12:00-12:30]
    timezone: UTC
rules:
  - name: kids-p2p
    who: [kids, unknown]
    category: p2p
    feature: [file_transfer, serving]
    direction: serving
    evidence: [dpi, cross_flow]
    when: school
    not_when: night
    action: monitor throttle 1Mbit/s per host
  - name: alice-irc
    who: alice
    app: [irc, xmpp]
    direction: initiating
    action: reject
  - name: everyone
    who: anyone
    action: throttle 64kB/s shared
  - name: flows
    action: throttle 2Mbit/s per flow
  - name: users
    who: bob
    action: throttle 2Mbit/s per user
actions:
  default: drop
)");
  const Policy& p = c->policy;
  CHECK_FALSE(p.enforce);
  CHECK(p.local_networks == std::vector<Cidr>{cidr("10.0.0.0", 8), cidr("fd00::", 8)});
  REQUIRE(p.users.size() == 2);
  const User& alice = p.users[0];
  CHECK(alice.name == "alice");
  CHECK(alice.origin == "t.yaml:7:3");
  CHECK(alice.addresses == std::vector<Cidr>{cidr("10.0.1.10", 32), cidr("10.0.2.0", 24)});
  CHECK(alice.macs == std::vector<MacAddress>{{2, 0, 0, 0, 1, 0x10}, {2, 0, 0, 0, 1, 0x11}});
  CHECK(alice.uids == std::vector<uint32_t>{1001, 1000});
  CHECK(alice.stable_id != 0);
  CHECK(alice.stable_id != p.users[1].stable_id);
  CHECK(p.users[1].addresses == std::vector<Cidr>{cidr("fd00::b0b", 128)});
  REQUIRE(p.groups.size() == 2);
  CHECK(p.groups[0].members == std::vector<uint16_t>{0, 1});
  CHECK(p.groups[0].addresses == std::vector<Cidr>{cidr("10.0.9.0", 24)});
  CHECK(p.groups[1].members.empty());
  CHECK(alice.groups.test(0));
  CHECK_FALSE(alice.groups.test(1));
  REQUIRE(p.schedules.size() == 2);
  const Schedule& school = p.schedules[0];
  CHECK(school.days == 0x1f);
  REQUIRE(school.windows.size() == 1);
  CHECK(school.windows[0].start_minute == 8 * 60);
  CHECK(school.windows[0].end_minute == 13 * 60);
  REQUIRE(school.zone != nullptr);
  CHECK(school.zone->name() == "Europe/Berlin");
  const Schedule& night = p.schedules[1];
  CHECK(night.days == kAllDays);
  REQUIRE(night.windows.size() == 2);
  CHECK(night.windows[0].start_minute == 22 * 60);
  CHECK(night.windows[0].end_minute == 6 * 60);

  REQUIRE(p.ordered_rules == 5);
  CHECK(p.rules[p.table.default_rule].name == "default");
  CHECK(p.table.default_rule == 5);  // after the ordered rules
  CHECK(p.rules[p.table.default_rule].spec.action == Action::kDrop);
  const Rule& k = p.rules[0];
  CHECK(k.name == "kids-p2p");
  CHECK(k.origin == "t.yaml:29:5");
  CHECK_FALSE(k.who_anyone);
  CHECK(k.who_unknown);
  CHECK(k.who_users.empty());
  CHECK(k.who_groups.test(0));
  CHECK(k.categories == std::vector<Category>{Category::kP2p});
  CHECK(k.features ==
        (imguard::classifiers::kFeatureFileTransfer | imguard::classifiers::kFeatureServing));
  CHECK(k.direction == FlowDirection::kServing);
  CHECK(k.evidence == ((1u << static_cast<unsigned>(Evidence::kDpi)) |
                       (1u << static_cast<unsigned>(Evidence::kCrossFlow))));
  CHECK(k.when == 0);
  CHECK(k.not_when == 1);
  CHECK(k.spec == ActionSpec{Action::kThrottle, 125000, ThrottleScope::kPerHost, true});
  CHECK_FALSE(k.from_action_table);
  const Rule& a = p.rules[1];
  CHECK(a.who_users == std::vector<uint16_t>{0});
  CHECK(a.apps == std::vector<AppId>{AppId::kIrc, AppId::kXmpp});
  CHECK(a.direction == FlowDirection::kInitiating);
  CHECK(a.spec == ActionSpec{Action::kReject, 0, ThrottleScope::kPerUser, false});
  CHECK(p.rules[2].who_anyone);
  CHECK(p.rules[2].spec.scope == ThrottleScope::kShared);
  CHECK(p.rules[3].spec.scope == ThrottleScope::kPerFlow);
  CHECK(p.rules[3].who_anyone);  // no `who`: anyone
  CHECK(p.rules[4].spec.scope == ThrottleScope::kPerUser);
}

TEST_CASE("policy/loader: rules default to per-user buckets, the table to shared", "[policy]") {
  const auto c =
      ok("version: 1\nusers:\n  alice: {addresses: [10.0.1.10]}\nrules:\n"
         "  - {name: r, who: alice, action: throttle 1Mbit/s}\n"
         "actions:\n  categories: {p2p: throttle 1Mbit/s}\n");
  const Rule& r = rule_named(*c, "r");
  CHECK(r.spec.scope == ThrottleScope::kPerUser);
  // One slot per user plus the unknown one; only alice is reachable.
  REQUIRE(r.user_buckets.size() == 2);
  CHECK(r.user_buckets[0] != kNoBucket);
  CHECK(r.user_buckets[1] == kNoBucket);
  CHECK(r.bucket == kNoBucket);
  const Rule& t = rule_named(*c, "actions.categories.p2p");
  CHECK(t.spec.scope == ThrottleScope::kShared);
  CHECK(t.bucket != kNoBucket);
  CHECK(t.bucket != r.user_buckets[0]);
}

TEST_CASE("policy/loader: unix_users are resolved through LoadOptions", "[policy]") {
  const auto c =
      ok("version: 1\nengine: {mode: host}\nusers:\n  a: {unix_users: [alice, daemon]}\n");
  CHECK(c->policy.users[0].uids == std::vector<uint32_t>{1000, 1});
  const auto e = errors_of("version: 1\nusers:\n  a: {unix_users: [alice, mallory]}\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0] ==
        "t.yaml:3:27: users.a.unix_users: no local account \"mallory\" on this machine "
        "(expected: a name from /etc/passwd, or its number under uids:)");
}

TEST_CASE("policy/loader: every mistake is one located message with path and expectation",
          "[policy]") {
  struct Case {
    const char* what;
    const char* yaml;
    std::vector<std::string> errors;
  };
  // clang-format off
  const Case cases[] = {
    {"who names an unknown user or group",
     "version: 1\nusers:\n  alice: {addresses: [10.0.1.10]}\n  bob: {addresses: [10.0.1.11]}\nrules:\n  - name: r\n    who: [alice, carol]\n    action: drop\n",
     {"t.yaml:7:18: rules.r.who: unknown user or group \"carol\" (expected: anyone, unknown, alice, bob)"}},
    {"when and not_when name unknown schedules",
     "version: 1\nschedules:\n  school: {time: 08:00-12:00, timezone: UTC}\nrules:\n  - name: r\n    when: holidays\n    action: drop\n  - name: s\n    not_when: weekend\n    action: drop\n",
     {"t.yaml:6:11: rules.r.when: unknown schedule \"holidays\" (expected: school)",
      "t.yaml:9:15: rules.s.not_when: unknown schedule \"weekend\" (expected: school)"}},
    {"when and not_when name the same schedule",
     "version: 1\nschedules:\n  school: {time: 08:00-12:00, timezone: UTC}\nrules:\n  - name: r\n    when: school\n    not_when: school\n    action: drop\n",
     {"t.yaml:5:5: rules.r: when and not_when name the same schedule; the rule can never match"}},
    {"group members must be users",
     "version: 1\nusers:\n  alice: {addresses: [10.0.1.10]}\n  bob: {addresses: [10.0.1.11]}\ngroups:\n  kids: {members: [alice, carol, kids]}\n",
     {"t.yaml:6:27: groups.kids.members: unknown user \"carol\" (expected: alice, bob)",
      "t.yaml:6:34: groups.kids.members: unknown user \"kids\" (expected: alice, bob)"}},
    {"reserved names",
     "version: 1\nusers:\n  anyone: {addresses: [10.0.1.10]}\n  unknown: {addresses: [10.0.1.11]}\ngroups:\n  anyone: {addresses: [10.0.2.0/24]}\n",
     {"t.yaml:3:3: users.anyone: \"anyone\" is a reserved word (expected: a name other than anyone and unknown, which `who:` uses for everybody and for hosts of no user)",
      "t.yaml:4:3: users.unknown: \"unknown\" is a reserved word (expected: a name other than anyone and unknown, which `who:` uses for everybody and for hosts of no user)",
      "t.yaml:6:3: groups.anyone: \"anyone\" is a reserved word (expected: a name other than anyone and unknown, which `who:` uses for everybody and for hosts of no user)"}},
    {"bad user and group names",
     "version: 1\nusers:\n  al ice: {addresses: [10.0.1.10]}\ngroups:\n  alice: {addresses: [10.0.2.0/24]}\n",
     {"t.yaml:3:3: users.al ice: bad user name (expected: 1-64 characters from A-Z a-z 0-9 _ - . @)"}},
    {"a group may not share a user's name",
     "version: 1\nusers:\n  alice: {addresses: [10.0.1.10]}\n  bob: {addresses: [10.0.1.11]}\ngroups:\n  alice: {members: [bob]}\n",
     {"t.yaml:6:3: groups.alice: a user has the same name (expected: distinct names for users and groups)"}},
    {"host bits set, bad addresses and prefixes",
     "version: 1\nnetworks:\n  local: [10.0.0.0/8, 192.168.1.1/24]\nusers:\n  alice: {addresses: [10.0.1.10/24, 10.0.0.300, 10.0.2.0/33, fd00::1/64]}\ngroups:\n  lab: {addresses: [10.9.0.1/16]}\n",
     {"t.yaml:3:23: networks.local: \"192.168.1.1/24\" has host bits set (did you mean 192.168.1.0/24 or 192.168.1.1?) (expected: addresses or networks like 10.0.1.10, 10.0.9.0/24, fd00::/8)",
      "t.yaml:5:23: users.alice.addresses: \"10.0.1.10/24\" has host bits set (did you mean 10.0.1.0/24 or 10.0.1.10?) (expected: addresses or networks like 10.0.1.10, 10.0.9.0/24, fd00::/8)",
      "t.yaml:5:37: users.alice.addresses: \"10.0.0.300\" is not an IPv4 or IPv6 address or network (expected: addresses or networks like 10.0.1.10, 10.0.9.0/24, fd00::/8)",
      "t.yaml:5:49: users.alice.addresses: \"10.0.2.0/33\" has a bad prefix length (0 to 32) (expected: addresses or networks like 10.0.1.10, 10.0.9.0/24, fd00::/8)",
      "t.yaml:5:62: users.alice.addresses: \"fd00::1/64\" has host bits set (did you mean fd00::/64 or fd00::1?) (expected: addresses or networks like 10.0.1.10, 10.0.9.0/24, fd00::/8)",
      "t.yaml:7:21: groups.lab.addresses: \"10.9.0.1/16\" has host bits set (did you mean 10.9.0.0/16 or 10.9.0.1?) (expected: addresses or networks like 10.0.1.10, 10.0.9.0/24, fd00::/8)"}},
    {"bad MACs",
     "version: 1\nusers:\n  alice: {macs: [02:00:00:00:01, 02:00:00:00:01:zz, '02:00:00:00:01:10:11', 020000000110]}\n",
     {"t.yaml:3:18: users.alice.macs: \"02:00:00:00:01\" is not a MAC address (expected: six hex bytes like 02:00:00:00:01:10)",
      "t.yaml:3:34: users.alice.macs: \"02:00:00:00:01:zz\" is not a MAC address (expected: six hex bytes like 02:00:00:00:01:10)",
      "t.yaml:3:53: users.alice.macs: \"02:00:00:00:01:10:11\" is not a MAC address (expected: six hex bytes like 02:00:00:00:01:10)",
      "t.yaml:3:77: users.alice.macs: \"020000000110\" is not a MAC address (expected: six hex bytes like 02:00:00:00:01:10)"}},
    {"bad uids",
     "version: 1\nusers:\n  alice: {uids: [-1, 4294967296, x]}\n",
     {"t.yaml:3:18: users.alice.uids: \"-1\" is not a numeric uid (expected: 0 to 4294967295)",
      "t.yaml:3:22: users.alice.uids: \"4294967296\" is not a numeric uid (expected: 0 to 4294967295)",
      "t.yaml:3:34: users.alice.uids: \"x\" is not a numeric uid (expected: 0 to 4294967295)"}},
    {"duplicate rule names",
     "version: 1\nrules:\n  - name: r\n    action: drop\n  - name: r\n    action: allow\n",
     {"t.yaml:5:11: rules[1].name: duplicate rule name \"r\" (first at t.yaml:3:5) (expected: unique names: logs, metrics and throttle buckets use them)"}},
    {"missing name and action",
     "version: 1\nrules:\n  - who: anyone\n  - name: r\n",
     {"t.yaml:3:5: rules[0].name: missing (expected: a unique name for the rule)",
      "t.yaml:3:5: rules[0].action: missing (expected: allow, drop, reject, throttle <rate> [per user|per host|shared|per flow], each optionally after monitor; rates like 256kbit/s, 1Mbit/s, 64kB/s)",
      "t.yaml:4:5: rules.r.action: missing (expected: allow, drop, reject, throttle <rate> [per user|per host|shared|per flow], each optionally after monitor; rates like 256kbit/s, 1Mbit/s, 64kB/s)"}},
    {"bad rule name",
     "version: 1\nrules:\n  - name: 'no spaces'\n    action: drop\n",
     {"t.yaml:3:11: rules[0].name: bad rule name \"no spaces\" (expected: 1-64 characters from A-Z a-z 0-9 _ - . @)"}},
    {"unknown throttle buckets",
     "version: 1\nrules:\n  - name: r\n    action: throttle 1Mbit/s per planet\n  - name: s\n    action: throttle 1Mbit/s per user please\n  - name: t\n    action: throttle 1Mbit/s everybody\n",
     {"t.yaml:4:13: rules.r.action: unknown throttle bucket \"per planet\" (expected: per user, per host, shared, per flow)",
      "t.yaml:6:13: rules.s.action: unknown throttle bucket \"please\" (expected: per user, per host, shared, per flow)",
      "t.yaml:8:13: rules.t.action: unknown throttle bucket \"everybody\" (expected: per user, per host, shared, per flow)"}},
    {"monitor forms",
     "version: 1\nrules:\n  - name: r\n    action: monitor\n  - name: s\n    action: drop monitor\n  - name: t\n    action: monitor monitor drop\n  - name: u\n    action: monitor throttle\n",
     {"t.yaml:4:13: rules.r.action: \"monitor\" needs the action to monitor after it (expected: allow, drop, reject, throttle <rate> [per user|per host|shared|per flow], each optionally after monitor; rates like 256kbit/s, 1Mbit/s, 64kB/s)",
      "t.yaml:6:13: rules.s.action: \"drop\" takes no argument (expected: allow, drop, reject, throttle <rate> [per user|per host|shared|per flow], each optionally after monitor; rates like 256kbit/s, 1Mbit/s, 64kB/s)",
      "t.yaml:8:13: rules.t.action: unknown action \"monitor monitor drop\" (expected: allow, drop, reject, throttle <rate> [per user|per host|shared|per flow], each optionally after monitor; rates like 256kbit/s, 1Mbit/s, 64kB/s)",
      "t.yaml:10:13: rules.u.action: throttle needs a rate (expected: a rate like 256kbit/s, 2Mbit/s, 64kB/s, 1000B/s)"}},
    {"unknown time zone",
     "version: 1\nschedules:\n  s: {time: 08:00-12:00, timezone: Mars/Olympus_Mons}\n  t: {time: 08:00-12:00, timezone: ../etc/passwd}\n",
     {"t.yaml:3:36: schedules.s.timezone: unknown time zone \"Mars/Olympus_Mons\" (no /usr/share/zoneinfo/Mars/Olympus_Mons; is tzdata installed?) (expected: an IANA zone name like Europe/Berlin or UTC)",
      "t.yaml:4:36: schedules.t.timezone: unknown time zone \"../etc/passwd\" (names are IANA zones like \"Europe/Berlin\": [A-Za-z0-9/_+-], no \"..\", no leading '/') (expected: an IANA zone name like Europe/Berlin or UTC)"}},
    {"bad time ranges",
     "version: 1\nschedules:\n  s:\n    time: [25:00-26:00, 08:00-08:00, 24:00-01:00, 8-18, '08:00 - 12:00', 08:60-09:00]\n    timezone: UTC\n",
     {"t.yaml:4:12: schedules.s.time: \"25:00-26:00\" is not a time range (expected: HH:MM-HH:MM, e.g. 08:00-18:00 or 22:00-06:00 (crosses midnight))",
      "t.yaml:4:25: schedules.s.time: \"08:00-08:00\" is empty (start equals end) (expected: 00:00-24:00 for the whole day)",
      "t.yaml:4:38: schedules.s.time: \"24:00-01:00\" is not a time range (expected: HH:MM-HH:MM, e.g. 08:00-18:00 or 22:00-06:00 (crosses midnight))",
      "t.yaml:4:51: schedules.s.time: \"8-18\" is not a time range (expected: HH:MM-HH:MM, e.g. 08:00-18:00 or 22:00-06:00 (crosses midnight))",
      "t.yaml:4:57: schedules.s.time: \"08:00 - 12:00\" is not a time range (expected: HH:MM-HH:MM, e.g. 08:00-18:00 or 22:00-06:00 (crosses midnight))",
      "t.yaml:4:74: schedules.s.time: \"08:60-09:00\" is not a time range (expected: HH:MM-HH:MM, e.g. 08:00-18:00 or 22:00-06:00 (crosses midnight))"}},
    {"missing time",
     "version: 1\nschedules:\n  s: {days: [mon], timezone: UTC}\n",
     {"t.yaml:3:6: schedules.s.time: missing (expected: HH:MM-HH:MM, e.g. 08:00-18:00)"}},
    {"empty and unknown days",
     "version: 1\nschedules:\n  s: {days: [], time: 08:00-12:00, timezone: UTC}\n  t: {days: [monday], time: 08:00-12:00, timezone: UTC}\n  u: {days: , time: 08:00-12:00, timezone: UTC}\n",
     {"t.yaml:3:13: schedules.s.days: no days (expected: a list like [mon, tue, wed, thu, fri])",
      "t.yaml:4:14: schedules.t.days: unknown day \"monday\" (expected: mon, tue, wed, thu, fri, sat, sun)",
      "t.yaml:5:13: schedules.u.days: no days (expected: a list like [mon, tue, wed, thu, fri])"}},
    {"a user with no identity",
     "version: 1\nusers:\n  alice: {}\n  bob:\n  carol: {addresses: []}\n",
     {"t.yaml:3:10: users.alice: identifies nobody (expected: at least one of addresses, macs, uids, unix_users)",
      "t.yaml:5:3: users.bob: identifies nobody (expected: at least one of addresses, macs, uids, unix_users)",
      "t.yaml:5:10: users.carol: identifies nobody (expected: at least one of addresses, macs, uids, unix_users)"}},
    {"an address claimed by two users",
     "version: 1\nusers:\n  alice: {addresses: [10.0.1.10, 10.0.2.0/24]}\n  bob: {addresses: [10.0.1.10/32, 10.0.2.0/24]}\n",
     {"t.yaml:4:3: users.bob: 10.0.1.10/32 is also claimed by users.alice (t.yaml:3:3) (expected: each address, network, MAC and uid names one user)",
      "t.yaml:4:3: users.bob: 10.0.2.0/24 is also claimed by users.alice (t.yaml:3:3) (expected: each address, network, MAC and uid names one user)"}},
    {"a MAC and a uid claimed twice",
     "version: 1\nusers:\n  alice: {macs: [02:00:00:00:01:10], uids: [1000]}\n  bob: {macs: ['02-00-00-00-01-10'], uids: [1000]}\n",
     {"t.yaml:4:3: users.bob: MAC 02:00:00:00:01:10 is also claimed by users.alice (t.yaml:3:3) (expected: each address, network, MAC and uid names one user)",
      "t.yaml:4:3: users.bob: uid 1000 is also claimed by users.alice (t.yaml:3:3) (expected: each address, network, MAC and uid names one user)"}},
    {"too many per-user buckets for the mark window",
     "version: 1\nengine: {mark_mask: 0x00070000}\nusers:\n  alice: {addresses: [10.0.1.10]}\n  bob: {addresses: [10.0.1.11]}\nrules:\n  - name: slow\n    who: [alice, bob]\n    action: throttle 1Mbit/s\n",
     {"t.yaml:7:5: rules.slow.action: throttle rules need 2 kernel buckets (one per rule; a `per user` rule one per user it can meet, and one more if it can meet hosts of no user; this rule needs 2), but engine.mark_mask 0x00070000 has room for 1 (expected: a wider window such as 0xffff0000 for 8192, or `per host`/`shared` buckets, which need one each)"}},
    {"unknown keys everywhere",
     "version: 1\nengine: {queue: {depth: 1}, budget: {icmp_packets: 1}, colour: red}\nnetworks: {remote: [10.0.0.0/8]}\nusers:\n  alice: {addresses: [10.0.1.10], phone: 1}\ngroups:\n  kids: {members: [alice], owner: bob}\nschedules:\n  s: {time: 08:00-12:00, timezone: UTC, week: 1}\nrules:\n  - name: r\n    action: drop\n    apps: [irc]\nactions: {users: {}}\n",
     {"t.yaml:2:56: engine.colour: unknown key (expected: backend, mode, queue, mark_mask, budget, reject_with, enforce, events, metrics, on_anomaly, flows, state_dir)",
      "t.yaml:2:18: engine.queue.depth: unknown key (expected: first, count, maxlen, fail_open, bypass)",
      "t.yaml:2:38: engine.budget.icmp_packets: unknown key (expected: tcp_packets, udp_packets)",
      "t.yaml:3:12: networks.remote: unknown key (expected: local)",
      "t.yaml:5:35: users.alice.phone: unknown key (expected: addresses, macs, uids, unix_users)",
      "t.yaml:7:28: groups.kids.owner: unknown key (expected: members, addresses)",
      "t.yaml:9:41: schedules.s.week: unknown key (expected: days, time, timezone)",
      "t.yaml:13:5: rules[0].apps: unknown key (expected: name, who, app, category, feature, direction, evidence, when, not_when, action, quota)",
      "t.yaml:14:11: actions.users: unknown key (expected: default, categories, features, apps)"}},
    {"unknown match values",
     "version: 1\nrules:\n  - name: r\n    app: irk\n    category: chat\n    feature: files\n    evidence: guess\n    direction: both\n    action: drop\n",
     {"t.yaml:4:10: rules.r.app: unknown app \"irk\" (expected: unknown, bittorrent, edonkey, gnutella, directconnect, soulseek, applejuice, fasttrack, thunder, ares, openft, syncthing, other_p2p, xmpp, irc, oscar, msn, yahoo, whatsapp, telegram, signal, discord, skype_teams, slack, matrix, threema, viber, line, wechat, qq, snapchat, tox, messenger, kakaotalk, googlechat, imo, mattermost, other_im, sip, rtp, stun, mumble, teamspeak, zoom, other_voip, tor, openvpn, wireguard, ipsec, other_tunnel, http, tls, quic, dns, ssh, ftp, mail, ntp, dhcp, netbios, mdns, other)",
      "t.yaml:5:15: rules.r.category: unknown category \"chat\" (expected: unknown, im, p2p, voip, tunnel, other)",
      "t.yaml:6:14: rules.r.feature: unknown feature \"files\" (expected: file_transfer, serving, cleartext)",
      "t.yaml:7:15: rules.r.evidence: unknown evidence \"guess\" (expected: dpi, cross_flow, behaviour, address_list, port_guess, none)",
      "t.yaml:8:16: rules.r.direction: unknown value \"both\" (expected: serving, initiating)"}},
    {"who may not be empty",
     "version: 1\nrules:\n  - name: r\n    who: []\n    action: drop\n",
     {"t.yaml:4:10: rules.r.who: empty (expected: anyone, unknown)"}},
    {"engine.enforce is a boolean",
     "version: 1\nengine: {enforce: maybe}\n",
     {"t.yaml:2:19: engine.enforce: \"maybe\" is not a boolean (expected: true, false)"}},
    {"rules must be a list",
     "version: 1\nrules: {name: r}\n",
     {"t.yaml:2:8: rules: not a list (expected: a list of rules like - {name: ..., action: ...})"}},  };
  // clang-format on
  for (const Case& c : cases) {
    INFO(c.what << "\n" << c.yaml);
    CHECK(errors_of(c.yaml) == c.errors);
  }
}

TEST_CASE("policy/loader: identity overlaps that are allowed", "[policy]") {
  // A host inside another user's network is more specific, not a clash; the same address
  // twice for one user is harmless; a group's block may hold users' hosts.
  const auto c = ok(R"(version: 1
users:
  lab: {addresses: [10.0.1.0/24, 10.0.1.0/24]}
  alice: {addresses: [10.0.1.10]}
groups:
  net: {addresses: [10.0.0.0/16]}
)");
  CHECK(c->policy.users.size() == 2);
  CHECK(c->warnings.empty());
}

TEST_CASE("policy/loader: a schedule without timezone is UTC, with a warning", "[policy]") {
  const auto c = ok("version: 1\nschedules:\n  s: {time: 08:00-12:00}\n");
  REQUIRE(c->policy.schedules.size() == 1);
  CHECK(c->policy.schedules[0].zone->name() == "UTC");
  CHECK(c->warnings == std::vector<std::string>{
                           "t.yaml:3:6: warning: schedules.s: no timezone given; times are UTC"});
}

TEST_CASE("policy/loader: version-1 files without the new sections load unchanged", "[policy]") {
  for (const char* path : {IMGUARD_SOURCE_DIR "/systemd/imguard.yaml",
                           IMGUARD_SOURCE_DIR "/tests/golden/chat-yes-files-no/policy.yaml"}) {
    INFO(path);
    auto r = load_config_file(path);
    if (auto* e = std::get_if<LoadError>(&r)) {
      FAIL(e->messages.at(0));
    }
    const Config& c = *std::get<std::shared_ptr<const Config>>(r);
    CHECK(c.warnings.empty());
    CHECK(c.policy.users.empty());
    CHECK(c.policy.groups.empty());
    CHECK(c.policy.schedules.empty());
    CHECK(c.policy.ordered_rules == 0);
    CHECK(c.policy.enforce);
    CHECK(c.policy.rules[c.policy.table.default_rule].name == "default");
    for (const Rule& rule : c.policy.rules) {
      CHECK(rule.from_action_table);
      CHECK(rule.who_anyone);
    }
  }
  auto golden = load_config_file(IMGUARD_SOURCE_DIR "/tests/golden/chat-yes-files-no/policy.yaml");
  const Config& g = *std::get<std::shared_ptr<const Config>>(golden);
  const Policy& p = g.policy;
  const Rule& bt = p.rules[p.table.by_app[static_cast<size_t>(AppId::kBittorrent)]];
  CHECK(bt.spec == ActionSpec{Action::kThrottle, 32000, ThrottleScope::kShared, false});
  CHECK(p.rules[p.table.by_feature[0]].spec.action == Action::kDrop);
  CHECK(p.rules[p.table.by_category[static_cast<size_t>(Category::kP2p)]].spec.action ==
        Action::kDrop);
  CHECK(p.rules[p.table.by_category[static_cast<size_t>(Category::kIm)]].spec.action ==
        Action::kAllow);
}
