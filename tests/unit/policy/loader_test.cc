// SPDX-License-Identifier: GPL-3.0-or-later
#include <unistd.h>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "policy/loader.h"

using namespace imguard::policy;
using imguard::classifiers::AppId;
using imguard::classifiers::Category;

namespace {

std::vector<std::string> errors_of(const std::string& text) {
  auto r = load_config_string(text, "t.yaml");
  if (auto* e = std::get_if<LoadError>(&r)) {
    return e->messages;
  }
  return {};
}

std::shared_ptr<const Config> ok(const std::string& text) {
  auto r = load_config_string(text, "t.yaml");
  if (auto* e = std::get_if<LoadError>(&r)) {
    for (const auto& m : e->messages) {
      UNSCOPED_INFO(m);
    }
    FAIL("config refused");
  }
  return std::get<std::shared_ptr<const Config>>(r);
}

}  // namespace

TEST_CASE("policy/loader: a minimal config gets every documented default", "[policy]") {
  auto c = ok("version: 1\n");
  CHECK(c->backend == Backend::kAuto);
  CHECK(c->mode == HookMode::kGateway);
  CHECK(c->queue_first == 0);
  CHECK(c->queue_count == 1);
  CHECK(c->queue_maxlen == 4096);
  CHECK(c->mark_mask == 0x00ff0000u);
  CHECK(c->tcp_budget == 24);
  CHECK(c->udp_budget == 8);
  CHECK(c->fail_open);
  CHECK(c->queue_bypass);
  CHECK(c->reject_with == RejectWith::kTcpReset);
  CHECK(c->policy.enforce);
  CHECK(c->policy.users.empty());
  CHECK(c->policy.ordered_rules == 0);
  REQUIRE(c->policy.rules.size() == 1);
  CHECK(c->policy.table.default_rule == 0);
  CHECK(c->policy.rules[0].name == "default");
  CHECK(c->policy.rules[0].spec.action == Action::kAllow);
  CHECK(c->policy.buckets.empty());
  CHECK(c->warnings.empty());
  CHECK(c->source == "t.yaml");
}

TEST_CASE("policy/loader: a full config is read into the structs", "[policy]") {
  auto c = ok(R"(version: 1
engine:
  backend: iptables
  mode: host
  queue: {first: 10, count: 4, maxlen: 100, fail_open: false, bypass: false}
  mark_mask: 0x0000ff00
  budget: {tcp_packets: 12, udp_packets: 4}
  reject_with: icmp
actions:
  default: reject
  categories: {p2p: drop, im: allow}
  features: {file_transfer: drop}
  apps:
    bittorrent: throttle 256kbit/s
    xmpp: allow
)");
  CHECK(c->backend == Backend::kIptables);
  CHECK(c->mode == HookMode::kHost);
  CHECK(c->queue_first == 10);
  CHECK(c->queue_count == 4);
  CHECK(c->queue_maxlen == 100);
  CHECK_FALSE(c->fail_open);
  CHECK_FALSE(c->queue_bypass);
  CHECK(c->mark_mask == 0x0000ff00u);
  CHECK(c->tcp_budget == 12);
  CHECK(c->udp_budget == 4);
  CHECK(c->reject_with == RejectWith::kIcmp);
  const ActionTable& t = c->policy.table;
  const auto& rules = c->policy.rules;
  CHECK(rules[t.default_rule].spec.action == Action::kReject);
  CHECK(rules[t.default_rule].name == "default");
  REQUIRE(t.by_app[static_cast<size_t>(AppId::kBittorrent)] != kNoRule);
  const Rule& bt = rules[t.by_app[static_cast<size_t>(AppId::kBittorrent)]];
  CHECK(bt.spec.action == Action::kThrottle);
  CHECK(bt.spec.rate_bytes_per_sec == 32000);
  CHECK(bt.spec.scope == ThrottleScope::kShared);  // the table's entries share one bucket
  CHECK(bt.from_action_table);
  CHECK(bt.name == "actions.apps.bittorrent");
  REQUIRE(bt.bucket != kNoBucket);
  REQUIRE(bt.bucket < c->policy.buckets.size());
  CHECK(c->policy.buckets[bt.bucket].rule == t.by_app[static_cast<size_t>(AppId::kBittorrent)]);
  CHECK(c->policy.buckets[bt.bucket].user == kNoUser);
  CHECK(bt.origin == "t.yaml:14:17");
  size_t used = 0;
  for (const Bucket& b : c->policy.buckets) {
    used += b.rule != kNoRule ? 1 : 0;
  }
  CHECK(used == 1);
  CHECK(t.by_category[static_cast<size_t>(Category::kP2p)] != kNoRule);
  CHECK(t.by_category[static_cast<size_t>(Category::kVoip)] == kNoRule);
  CHECK(t.by_feature[0] != kNoRule);
}

TEST_CASE("policy/loader: unknown keys are errors with file:line:col and the allowed keys",
          "[policy]") {
  const auto e = errors_of("version: 1\nengine:\n  backend: auto\n  queues: 3\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0] ==
        "t.yaml:4:3: engine.queues: unknown key (expected: backend, mode, queue, mark_mask, "
        "budget, reject_with, enforce, events, metrics, on_anomaly, flows, state_dir)");
  const auto top = errors_of("version: 1\npolicy: {}\n");
  REQUIRE(top.size() == 1);
  CHECK(top[0] ==
        "t.yaml:2:1: policy: unknown key (expected: version, engine, networks, users, groups, "
        "schedules, rules, actions)");
}

TEST_CASE("policy/loader: a bad action names the value and the choices", "[policy]") {
  const auto e = errors_of("version: 1\nactions:\n  categories:\n    p2p: throtle\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0] ==
        "t.yaml:4:10: actions.categories.p2p: unknown action \"throtle\" (expected: allow, "
        "drop, reject, throttle <rate> [per user|per host|shared|per flow], each optionally after "
        "monitor; rates like 256kbit/s, 1Mbit/s, 64kB/s)");
  const auto rate = errors_of("version: 1\nactions:\n  default: throttle fast\n");
  REQUIRE(rate.size() == 1);
  CHECK(rate[0].starts_with("t.yaml:3:12: actions.default: bad throttle rate \"fast\""));
  const auto arg = errors_of("version: 1\nactions:\n  default: drop 5\n");
  REQUIRE(arg.size() == 1);
  CHECK(arg[0].starts_with("t.yaml:3:12: actions.default: \"drop\" takes no argument"));
  const auto slow = errors_of("version: 1\nactions:\n  default: throttle 10B/s\n");
  REQUIRE(slow.size() == 1);
  CHECK(slow[0] ==
        "t.yaml:3:12: actions.default: throttle rate 10B/s is out of range "
        "(expected: 1kB/s to 10Gbit/s)");
}

TEST_CASE("policy/loader: a bad app name is reported at the key", "[policy]") {
  const auto e = errors_of("version: 1\nactions:\n  apps:\n    xmpp: allow\n    bitorrent: drop\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].starts_with(
      "t.yaml:5:5: actions.apps.bitorrent: unknown app \"bitorrent\" (expected: unknown, "
      "bittorrent, "));
  const auto cat = errors_of("version: 1\nactions:\n  categories: {chat: drop}\n");
  REQUIRE(cat.size() == 1);
  CHECK(
      cat[0].starts_with("t.yaml:3:16: actions.categories.chat: unknown key (expected: "
                         "unknown, im, p2p, voip, tunnel, other)"));
}

TEST_CASE("policy/loader: bad mark masks are refused", "[policy]") {
  for (const char* bad : {"0x00f0f000", "0", "0x3", "0x00ff00ff"}) {
    const auto e = errors_of(std::string("version: 1\nengine:\n  mark_mask: ") + bad + "\n");
    REQUIRE(e.size() == 1);
    CHECK(e[0] == std::string("t.yaml:3:14: engine.mark_mask: \"") + bad +
                      "\" is not a usable window (expected: one contiguous run of at least 3 "
                      "set bits, e.g. 0x00ff0000)");
  }
  const auto text = errors_of("version: 1\nengine:\n  mark_mask: lots\n");
  REQUIRE(text.size() == 1);
  CHECK(text[0] ==
        "t.yaml:3:14: engine.mark_mask: \"lots\" is not an integer (expected: an "
        "integer from 0 to 4294967295)");
  CHECK(ok("version: 1\nengine:\n  mark_mask: 0x7\n")->mark_mask == 7u);
}

TEST_CASE("policy/loader: version is required and must be 1", "[policy]") {
  const auto e = errors_of("engine:\n  mode: host\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0] == "t.yaml:1:1: version: missing (expected: 1)");
  const auto two = errors_of("version: 2\n");
  REQUIRE(two.size() == 1);
  CHECK(two[0] == "t.yaml:1:10: version: 2 is out of range (expected: an integer from 1 to 1)");
}

TEST_CASE("policy/loader: every problem is reported, not only the first", "[policy]") {
  const auto e = errors_of(
      "version: 1\nengine:\n  mode: router\n  queue: {count: 0, bypass: yes}\nactions:\n"
      "  default: allow\n  default: drop\n");
  REQUIRE(e.size() == 4);
  CHECK(e[0] == "t.yaml:3:9: engine.mode: unknown value \"router\" (expected: gateway, host)");
  CHECK(e[1] ==
        "t.yaml:4:18: engine.queue.count: 0 is out of range (expected: an integer "
        "from 1 to 64)");
  CHECK(e[2] ==
        "t.yaml:4:29: engine.queue.bypass: \"yes\" is not a boolean (expected: true, "
        "false)");
  CHECK(e[3] == "t.yaml:7:3: actions.default: duplicate key");
}

TEST_CASE("policy/loader: structure and syntax errors carry positions", "[policy]") {
  const auto list = errors_of("version: 1\nengine: [1, 2]\n");
  REQUIRE(list.size() == 1);
  CHECK(list[0] == "t.yaml:2:9: engine: not a mapping (expected: key: value pairs)");
  const auto syntax = errors_of("version: 1\nengine: {mode: host\n");
  REQUIRE(syntax.size() == 1);
  CHECK(syntax[0].starts_with("t.yaml:"));
  CHECK(syntax[0].find(": (syntax): ") != std::string::npos);
  const auto empty = errors_of("");
  REQUIRE(empty.size() == 1);
  CHECK(empty[0].starts_with("t.yaml:1:1: (root): the configuration must be a mapping"));
  const auto queues = errors_of("version: 1\nengine:\n  queue: {first: 65535, count: 2}\n");
  REQUIRE(queues.size() == 1);
  CHECK(queues[0] ==
        "t.yaml:3:32: engine.queue.count: queues 65535..65538 (one original- and one "
        "reply-direction queue per worker) pass the last queue number (expected: first + 2 * "
        "count <= 65536)");
  // The reply queues count: 65532 + 2 * 2 - 1 = 65535 fits, 65533 does not.
  CHECK(errors_of("version: 1\nengine:\n  queue: {first: 65532, count: 2}\n").empty());
  CHECK(errors_of("version: 1\nengine:\n  queue: {first: 65533, count: 2}\n").size() == 1);
}

TEST_CASE("policy/loader: throttle rules must fit the mark window", "[policy]") {
  // 0x7 has room for the decided bit and the action only: one bucket (index 0).
  const auto c = ok("version: 1\nengine: {mark_mask: 0x7}\nactions:\n  default: throttle 1MB/s\n");
  REQUIRE(c->policy.buckets.size() == 1);
  CHECK(c->policy.buckets[0].rule == c->policy.table.default_rule);
  CHECK(c->policy.rules[c->policy.table.default_rule].bucket == 0);
  const auto e = errors_of(
      "version: 1\nengine: {mark_mask: 0x7}\nactions:\n  default: throttle 1MB/s\n"
      "  apps: {irc: throttle 2MB/s}\n");
  REQUIRE(e.size() == 1);
  CHECK(e[0].starts_with("t.yaml:"));
  CHECK(e[0].find(": throttle rules need 2 kernel buckets") != std::string::npos);
  CHECK(e[0].find("engine.mark_mask 0x00000007 has room for 1 (expected: a wider window") !=
        std::string::npos);
}

TEST_CASE("policy/loader: files: missing file and the shipped default config", "[policy]") {
  auto missing = load_config_file("/nonexistent/imguard.yaml");
  REQUIRE(std::holds_alternative<LoadError>(missing));
  CHECK(std::get<LoadError>(missing).messages.at(0) ==
        "/nonexistent/imguard.yaml: cannot open: No such file or directory");
  auto shipped = load_config_file(IMGUARD_SOURCE_DIR "/systemd/imguard.yaml");
  if (auto* e = std::get_if<LoadError>(&shipped)) {
    FAIL(e->messages.at(0));
  }
  const auto& c = *std::get<std::shared_ptr<const Config>>(shipped);
  const Policy& p = c.policy;
  CHECK(p.rules[p.table.by_category[static_cast<size_t>(Category::kP2p)]].spec.action ==
        Action::kDrop);
  CHECK(p.rules[p.table.by_feature[1]].spec.action == Action::kDrop);  // serving
  CHECK(p.ordered_rules == 0);
  CHECK(c.warnings.empty());
}

TEST_CASE("policy/loader: every app name from the name table is accepted", "[policy]") {
  std::string text = "version: 1\nactions:\n  apps:\n";
  for (const auto& a : imguard::classifiers::all_apps()) {
    text += "    " + std::string(a.name) + ": drop\n";
  }
  const auto c = ok(text);
  for (const auto& a : imguard::classifiers::all_apps()) {
    const uint16_t index = c->policy.table.by_app[static_cast<size_t>(a.id)];
    REQUIRE(index != kNoRule);
    CHECK(c->policy.rules[index].apps == std::vector<AppId>{a.id});
    CHECK(c->policy.rules[index].name == "actions.apps." + std::string(a.name));
  }
}

TEST_CASE("policy/loader: any prefix of a valid config loads or fails with messages, never throws",
          "[policy]") {
  std::ifstream in(IMGUARD_SOURCE_DIR "/systemd/imguard.yaml");
  const std::string full((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(full.size() > 100);
  size_t refused = 0;
  for (size_t n = 0; n <= full.size(); ++n) {
    LoadResult r = load_config_string(full.substr(0, n), "p.yaml");
    if (auto* e = std::get_if<LoadError>(&r)) {
      REQUIRE_FALSE(e->messages.empty());
      CHECK(e->messages[0].starts_with("p.yaml:"));
      ++refused;
    }
  }
  CHECK(refused > 0);  // at least the prefixes without `version`
  CHECK(std::holds_alternative<std::shared_ptr<const Config>>(load_config_string(full, "p")));
}
