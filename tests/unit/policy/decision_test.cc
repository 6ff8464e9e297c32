// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "policy/decision.h"
#include "policy/loader.h"

using namespace imguard::policy;
using imguard::classifiers::AppId;
using imguard::classifiers::kFeatureCleartext;
using imguard::classifiers::kFeatureFileTransfer;
using imguard::classifiers::kFeatureNone;
using imguard::classifiers::kFeatureServing;

namespace {

std::shared_ptr<const Config> load(const std::string& text) {
  auto r = load_config_string(text, "d.yaml");
  REQUIRE(std::holds_alternative<std::shared_ptr<const Config>>(r));
  return std::get<std::shared_ptr<const Config>>(r);
}

}  // namespace

TEST_CASE("policy/decision: app rule beats feature rule beats category rule beats default",
          "[policy]") {
  const auto c = load(R"(version: 1
actions:
  default: reject
  categories: {p2p: drop, im: allow}
  features: {file_transfer: throttle 64kB/s, serving: drop}
  apps: {bittorrent: throttle 32kB/s, irc: allow}
)");
  // App rule, even when the flow has a feature with a rule.
  Decision bt = decide(*c, AppId::kBittorrent, kFeatureServing);
  CHECK(bt.action == Action::kThrottle);
  CHECK(bt.rate_bytes_per_sec == 32000);
  CHECK(c->policy.rules[bt.rule].apps == std::vector<AppId>{AppId::kBittorrent});
  CHECK(c->policy.rules[bt.rule].name == "actions.apps.bittorrent");
  Decision irc = decide(*c, AppId::kIrc, kFeatureFileTransfer);
  CHECK(irc.action == Action::kAllow);
  // Feature rule beats the category rule.
  Decision xmpp_files = decide(*c, AppId::kXmpp, kFeatureFileTransfer);
  CHECK(xmpp_files.action == Action::kThrottle);
  CHECK(xmpp_files.rate_bytes_per_sec == 64000);
  CHECK(xmpp_files.bucket != bt.bucket);
  // Features are consulted in kRuleFeatures order: file_transfer before serving.
  CHECK(decide(*c, AppId::kEdonkey, kFeatureServing | kFeatureFileTransfer).action ==
        Action::kThrottle);
  CHECK(decide(*c, AppId::kEdonkey, kFeatureServing).action == Action::kDrop);
  // A feature without a rule changes nothing.
  CHECK(decide(*c, AppId::kXmpp, kFeatureCleartext).action == Action::kAllow);
  // Category rule, then default.
  CHECK(decide(*c, AppId::kEdonkey, kFeatureNone).action == Action::kDrop);
  CHECK(decide(*c, AppId::kXmpp, kFeatureNone).action == Action::kAllow);
  Decision web = decide(*c, AppId::kHttp, kFeatureNone);
  CHECK(web.action == Action::kReject);
  CHECK(web.rule == c->policy.table.default_rule);
  CHECK(c->policy.rules[web.rule].name == "default");
  CHECK(web.rate_bytes_per_sec == 0);
  CHECK(decide(*c, AppId::kUnknown, kFeatureNone).rule == c->policy.table.default_rule);
}

TEST_CASE("policy/decision: the unknown category catches unclassified flows", "[policy]") {
  const auto c = load("version: 1\nactions:\n  categories: {unknown: drop}\n");
  CHECK(decide(*c, AppId::kUnknown, kFeatureNone).action == Action::kDrop);
  CHECK(decide(*c, AppId::kHttp, kFeatureNone).action == Action::kAllow);
}

TEST_CASE("policy/decision: decide never reads outside its tables", "[policy]") {
  const Config c = default_config();
  CHECK(decide(c, AppId::kCount_, kFeatureNone).action == Action::kAllow);
  Config empty;
  CHECK(decide(empty, AppId::kIrc, 0xff) == Decision{});
}
