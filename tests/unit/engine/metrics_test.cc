// SPDX-License-Identifier: GPL-3.0-or-later
// engine/metrics.h: the Prometheus text exposition. The hidden test case "[.promtool]"
// writes the same sample to $IMGUARD_METRICS_SAMPLE for `promtool check metrics`
// (ctest unit/metrics-promtool, tests/unit/engine/metrics_promtool.sh).
#include "engine/metrics.h"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <variant>

#include "policy/loader.h"

using namespace imguard::engine;
using imguard::classifiers::AppId;
using imguard::classifiers::Category;
namespace policy = imguard::policy;

namespace {

std::shared_ptr<const policy::Config> load(const std::string& text) {
  auto r = policy::load_config_string(text, "m.yaml");
  if (auto* e = std::get_if<policy::LoadError>(&r)) {
    for (const auto& m : e->messages) {
      UNSCOPED_INFO(m);
    }
    FAIL("config refused");
  }
  return std::get<std::shared_ptr<const policy::Config>>(r);
}

MetricsInput sample() {
  auto config = std::make_shared<policy::Config>(*load(R"(version: 1
users:
  alice: {addresses: [10.0.0.2]}
  bob: {addresses: [10.0.0.3]}
)"));
  // A name that needs every escape of a label value.
  config->policy.users[1].name = "bob \"the\\builder\"\njr";
  MetricsInput in;
  in.version = "0.1.0";
  in.stats.packets = 1234;
  in.stats.reloads = 2;
  in.stats.policy_reload_failed = 1;
  in.stats.enobufs = 3;
  in.stats.kernel_user_dropped = 4;
  in.stats.kernel_queue_dropped = 5;
  in.stats.rules_reinstalled = 6;
  in.stats.engine_errors = 7;
  in.stats.packet_errors = 3;
  const auto drop = static_cast<size_t>(policy::Action::kDrop);
  const auto allow = static_cast<size_t>(policy::Action::kAllow);
  in.decisions[drop][static_cast<size_t>(AppId::kBittorrent)] = 10;
  in.decisions[allow][static_cast<size_t>(AppId::kTelegram)] = 20;
  in.flows_active = 17;
  in.policy_generation = 4;
  in.bytes = make_user_bytes(*config);
  in.bytes[user_bytes_slot(*config, 0)].bytes_by_category[static_cast<size_t>(Category::kIm)] =
      5000;
  in.bytes[user_bytes_slot(*config, 1)].bytes_by_category[static_cast<size_t>(Category::kP2p)] =
      6000;
  in.bytes[user_bytes_slot(*config, policy::kNoUser)]
      .bytes_by_category[static_cast<size_t>(Category::kOther)] = 7000;
  return in;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("render_metrics: families, samples and label escaping") {
  const std::string text = render_metrics(sample());
  INFO(text);
  CHECK(text.starts_with("# HELP imguard_build_info "));
  CHECK(has_line(text, "# TYPE imguard_build_info gauge"));
  CHECK(has_line(text, R"(imguard_build_info{version="0.1.0"} 1)"));
  CHECK(has_line(text, "# TYPE imguard_packets_total counter"));
  CHECK(has_line(text, "imguard_packets_total 1234"));
  CHECK(has_line(text, "# TYPE imguard_decisions_total counter"));
  CHECK(has_line(text,
                 R"(imguard_decisions_total{action="drop",category="p2p",app="bittorrent"} 10)"));
  CHECK(
      has_line(text, R"(imguard_decisions_total{action="allow",category="im",app="telegram"} 20)"));
  CHECK(text.find("app=\"whatsapp\"") == std::string::npos);  // zero series are left out
  CHECK(has_line(text, "# TYPE imguard_flows_active gauge"));
  CHECK(has_line(text, "imguard_flows_active 17"));
  CHECK(has_line(text, R"(imguard_bytes_total{category="im",user="alice"} 5000)"));
  CHECK(has_line(text,
                 R"(imguard_bytes_total{category="p2p",user="bob \"the\\builder\"\njr"} 6000)"));
  CHECK(has_line(text, R"(imguard_bytes_total{category="other",user="other"} 7000)"));
  CHECK(has_line(text, "imguard_reloads_total 2"));
  CHECK(has_line(text, "imguard_reload_failures_total 1"));
  CHECK(has_line(text, R"(imguard_queue_drops_total{reason="enobufs"} 3)"));
  CHECK(has_line(text, R"(imguard_queue_drops_total{reason="user_dropped"} 4)"));
  CHECK(has_line(text, R"(imguard_queue_drops_total{reason="queue_dropped"} 5)"));
  CHECK(has_line(text, "imguard_rules_reinstalled_total 6"));
  CHECK(has_line(text, "# TYPE imguard_policy_generation gauge"));
  CHECK(has_line(text, "imguard_policy_generation 4"));
  CHECK(has_line(text, "imguard_engine_errors_total 7"));
  CHECK(has_line(text, "imguard_packet_errors_total 3"));
  CHECK(has_line(text, "imguard_records_dropped_total 0"));
  CHECK(text.ends_with("\n"));

  // Every sample line follows its own family's TYPE line.
  std::string family;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with("# TYPE ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
    } else if (!line.starts_with("#")) {
      INFO(line);
      CHECK(line.substr(0, family.size()) == family);
    }
  }
}

TEST_CASE("make_user_bytes and user_bytes_slot") {
  const auto config = load("version: 1\nusers:\n  alice: {addresses: [10.0.0.2]}\n");
  const auto table = make_user_bytes(*config);
  REQUIRE(table.size() == 2);
  CHECK(table[0].user == "alice");
  CHECK(table[1].user == "other");
  CHECK(user_bytes_slot(*config, 0) == 0);
  CHECK(user_bytes_slot(*config, 5) == 1);
  CHECK(user_bytes_slot(*config, policy::kNoUser) == 1);
}

TEST_CASE("render_metrics sample for promtool", "[.promtool]") {
  const char* path = std::getenv("IMGUARD_METRICS_SAMPLE");
  REQUIRE(path != nullptr);
  std::ofstream out(path);
  out << render_metrics(sample());
  REQUIRE(out.good());
}
