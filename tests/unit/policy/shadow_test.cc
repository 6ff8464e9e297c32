// SPDX-License-Identifier: GPL-3.0-or-later
// Config::warnings for rules an earlier rule (or the legacy table's order) makes useless.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "policy/loader.h"

using namespace imguard::policy;

namespace {

constexpr const char* kHead = R"(version: 1
users:
  alice: {addresses: [10.0.1.10]}
  bob: {addresses: [10.0.1.11]}
groups:
  kids: {members: [alice]}
schedules:
  school: {time: 08:00-12:00, timezone: UTC}
rules:
)";
// Rules start on line 10; rule i (0-based, two lines each) is at line 10 + 2 * i, col 5.

std::vector<std::string> warnings_of(const std::string& rules) {
  auto r = load_config_string(kHead + rules, "s.yaml");
  if (auto* e = std::get_if<LoadError>(&r)) {
    for (const auto& m : e->messages) {
      UNSCOPED_INFO(m);
    }
    FAIL("config refused");
  }
  return std::get<std::shared_ptr<const Config>>(r)->warnings;
}

std::string never(const std::string& b, int b_line, const std::string& a, int a_line) {
  return "s.yaml:" + std::to_string(b_line) + ":5: warning: rule '" + b +
         "' can never match: rule '" + a + "' (s.yaml:" + std::to_string(a_line) +
         ":5) matches every flow it would";
}

}  // namespace

TEST_CASE("policy/shadow: a rule covered by an earlier one is named with both origins",
          "[policy]") {
  struct Case {
    const char* what;
    std::string a;  // the earlier rule's match fields (flow style, no braces)
    std::string b;
    bool warned;
  };
  const Case cases[] = {
      {"anyone covers a group", "who: anyone", "who: kids", true},
      {"anyone covers unknown", "who: anyone", "who: unknown", true},
      {"a group covers its member", "who: kids", "who: alice", true},
      {"a user covers itself", "who: [alice, bob]", "who: bob", true},
      {"a member does not cover its group", "who: alice", "who: kids", false},
      {"a group does not cover a non-member", "who: kids", "who: bob", false},
      {"a user does not cover anyone", "who: alice", "who: anyone", false},
      {"users do not cover unknown", "who: [alice, bob]", "who: unknown", false},
      {"a category covers its app", "category: p2p", "app: bittorrent", true},
      {"an app does not cover its category", "app: bittorrent", "category: p2p", false},
      {"another category does not cover", "category: im", "app: bittorrent", false},
      {"no when covers a when", "category: p2p", "{category: p2p, when: school}", true},
      {"a when does not cover no when", "{category: p2p, when: school}", "category: p2p", false},
      {"not_when narrows", "{category: p2p, not_when: school}", "category: p2p", false},
      {"features: a superset covers", "feature: [file_transfer, cleartext]", "feature: cleartext",
       true},
      {"features: a subset does not", "feature: cleartext", "feature: [file_transfer, cleartext]",
       false},
      {"direction narrows", "direction: serving", "category: p2p", false},
      {"direction any covers one", "category: p2p", "{category: p2p, direction: initiating}", true},
      {"evidence narrows", "evidence: dpi", "app: irc", false},
      {"evidence: a superset covers", "evidence: [dpi, port_guess]", "evidence: dpi", true},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const auto field = [](const std::string& f) {
      return f.front() == '{' ? f.substr(1, f.size() - 2) : f;
    };
    const std::string rules = "  - {name: a, " + field(c.a) + ", action: drop}\n  - {name: b, " +
                              field(c.b) + ", action: allow}\n";
    const auto w = warnings_of(rules);
    if (c.warned) {
      CHECK(w == std::vector<std::string>{never("b", 11, "a", 10)});
    } else {
      CHECK(w.empty());
    }
  }
}

TEST_CASE("policy/shadow: only the first covering rule is named", "[policy]") {
  const auto w = warnings_of(
      "  - {name: a, category: p2p, action: drop}\n"
      "  - {name: b, who: kids, action: drop}\n"
      "  - {name: c, who: alice, app: edonkey, action: allow}\n");
  CHECK(w == std::vector<std::string>{never("c", 12, "a", 10)});
}

TEST_CASE("policy/shadow: file_transfer before a P2P rule takes the peer connections", "[policy]") {
  const auto w = warnings_of(
      "  - {name: files, feature: file_transfer, action: drop}\n"
      "  - {name: p2p, category: p2p, action: throttle 1Mbit/s}\n"
      "  - {name: all, action: allow}\n");
  CHECK(w == std::vector<std::string>{
                 "s.yaml:11:5: warning: rule 'p2p' decides only P2P flows without file transfer "
                 "(trackers, DHT): P2P peer connections all carry file_transfer and are decided "
                 "by rule 'files' (s.yaml:10:5) first"});
  // Same action: nothing is lost, no warning; a narrower file_transfer rule: no warning.
  CHECK(warnings_of("  - {name: files, feature: file_transfer, action: drop}\n"
                    "  - {name: p2p, category: p2p, action: drop}\n")
            .empty());
  CHECK(warnings_of("  - {name: files, who: alice, feature: file_transfer, action: drop}\n"
                    "  - {name: p2p, category: p2p, action: throttle 1Mbit/s}\n")
            .empty());
  CHECK(warnings_of("  - {name: files, feature: file_transfer, when: school, action: drop}\n"
                    "  - {name: p2p, category: p2p, action: throttle 1Mbit/s}\n")
            .empty());
}

TEST_CASE("policy/shadow: a catch-all rule hides the legacy table", "[policy]") {
  auto r = load_config_string(std::string(kHead) +
                                  "  - {name: all, action: allow}\n"
                                  "actions:\n  categories: {p2p: drop}\n",
                              "s.yaml");
  REQUIRE(std::holds_alternative<std::shared_ptr<const Config>>(r));
  CHECK(std::get<std::shared_ptr<const Config>>(r)->warnings ==
        std::vector<std::string>{
            "s.yaml:10:5: warning: rule 'all' matches every flow; nothing under actions: is "
            "ever used"});
}

TEST_CASE("policy/shadow: the legacy table's feature entry beats its p2p entry", "[policy]") {
  auto r = load_config_string(
      "version: 1\nactions: {categories: {p2p: throttle 1Mbit/s}, features: {file_transfer: "
      "drop}}\n",
      "s.yaml");
  REQUIRE(std::holds_alternative<std::shared_ptr<const Config>>(r));
  CHECK(std::get<std::shared_ptr<const Config>>(r)->warnings ==
        std::vector<std::string>{
            "s.yaml:2:29: warning: actions.categories.p2p applies only to P2P flows without "
            "file transfer (trackers, DHT): P2P peer connections all carry file_transfer, so "
            "actions.features.file_transfer (s.yaml:2:74) decides them (expected: an apps: "
            "entry, or a rule under rules:, to treat P2P differently)"});
  auto same = load_config_string(
      "version: 1\nactions: {categories: {p2p: drop}, features: {file_transfer: drop}}\n",
      "s.yaml");
  REQUIRE(std::holds_alternative<std::shared_ptr<const Config>>(same));
  CHECK(std::get<std::shared_ptr<const Config>>(same)->warnings.empty());
}
