// SPDX-License-Identifier: GPL-3.0-or-later
// The daemon's quota keeper against a scripted nft: snapshots (atomic write, restore,
// periods that ended while stopped, missing and corrupt files), 80 % / 100 % notices,
// period resets, admin resets and reloads.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "config_util.h"
#include "engine/events.h"
#include "engine/metrics.h"
#include "engine/quota.h"
#include "firewall/firewall.h"
#include "policy/decision.h"

using namespace imguard;
using namespace imguard::engine;
using namespace std::chrono;

namespace {

/// nft as far as quotas go: `list quotas` answers from `used`, `reset quota` zeroes one.
class FakeNft final : public firewall::Runner {
 public:
  std::map<std::string, uint64_t> used;
  std::vector<std::string> calls;
  std::string installed;
  bool fail_list = false;

  Output run(const std::vector<std::string>& argv, const std::string& input) override {
    std::string cmd;
    for (const auto& a : argv) {
      cmd += (cmd.empty() ? "" : " ") + a;
    }
    calls.push_back(cmd);
    if (cmd.starts_with("nft list quotas")) {
      if (fail_list) {
        return Output{1, "Error: No such file or directory"};
      }
      std::string out = "table inet imguard {\n";
      for (const auto& [name, n] : used) {
        out += "\tquota " + name + " {\n\t\tover 5000000 bytes used " + std::to_string(n) +
               " bytes\n\t}\n";
      }
      return Output{0, out + "}\n"};
    }
    if (cmd.starts_with("nft reset quota")) {
      used[argv.back()] = 0;
      return Output{0, ""};
    }
    if (cmd == "nft -f -") {
      installed = input;
    }
    return Output{0, ""};
  }
};

const char* kPolicy = R"(version: 1
users:
  alice: { addresses: [10.0.0.2] }
  bob: { addresses: [10.0.0.3] }
rules:
  - name: p2p
    who: [alice, bob]
    action: allow
    quota: { bytes: 5MB, per: day, timezone: UTC, then: throttle 1Mbit/s }
)";

sys_seconds at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0) {
  return sys_seconds{sys_days{year{y} / month{m} / day{d}}} + hours(hh) + minutes(mm);
}

struct Tmp {
  std::string dir;
  Tmp() {
    char tmpl[] = "/tmp/imguard-quota-XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~Tmp() { std::filesystem::remove_all(dir); }
  std::string read(const std::string& name) const {
    std::ifstream f(dir + "/" + name);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir + "/" + name) << text;
  }
};

struct Rig {
  std::shared_ptr<const policy::Config> config = testing::load_config(kPolicy, "q.yaml");
  FakeNft* nft = nullptr;
  std::unique_ptr<firewall::Firewall> fw;
  std::vector<std::string> events;
  Quotas::Emit emit = [this](const std::string& l) { events.push_back(l); };
  Rig() {
    auto r = std::make_unique<FakeNft>();
    nft = r.get();
    fw = firewall::Firewall::create_for_plan(*config, firewall::Plan::kNftables, std::move(r));
    for (size_t i = 0; i < config->policy.quota_pools.size(); ++i) {
      nft->used["q" + std::to_string(i)] = 0;
    }
  }
  size_t pool(const std::string& key) const {
    for (size_t i = 0; i < config->policy.quota_pools.size(); ++i) {
      if (config->policy.quota_pools[i].key == key) {
        return i;
      }
    }
    FAIL("no pool " << key);
    return 0;
  }
  std::string obj(const std::string& key) const { return "q" + std::to_string(pool(key)); }
  bool has_event(const std::string& what) const {
    for (const auto& e : events) {
      if (e.find("\"event\":\"" + what + "\"") != std::string::npos) {
        return true;
      }
    }
    return false;
  }
};

}  // namespace

TEST_CASE("quota snapshot: render and parse round trip; corrupt text is refused",
          "[engine][quota]") {
  const std::vector<SnapshotPool> pools = {{"p2p/alice", 123, 5'000'000, 100, 200},
                                           {"video", 0, 9, 100, 200}};
  std::string err;
  auto back = parse_quota_snapshot(render_quota_snapshot(pools, 150), err);
  REQUIRE(back.has_value());
  REQUIRE(back->size() == 2);
  CHECK((*back)[0].key == "p2p/alice");
  CHECK((*back)[0].used == 123);
  CHECK((*back)[1].period_end == 200);
  for (
      const std::string bad :
      {"", "{", "[]", R"({"version":2,"pools":[]})", R"({"version":1})",
       R"({"version":1,"pools":[{"key":"a","used":-1,"limit":1,"period_start":1,"period_end":2}]})",
       R"({"version":1,"pools":[{"key":"a","used":1,"limit":1,"period_start":3,"period_end":2}]})",
       R"({"version":1,"pools":[{"used":1}]})"}) {
    INFO(bad);
    CHECK_FALSE(parse_quota_snapshot(bad, err).has_value());
    CHECK_FALSE(err.empty());
  }
}

TEST_CASE("quota snapshot: written atomically, no temporary left", "[engine][quota]") {
  Tmp tmp;
  REQUIRE_FALSE(write_file_atomically(tmp.dir + "/quota.json", "one\n").has_value());
  REQUIRE_FALSE(write_file_atomically(tmp.dir + "/quota.json", "two\n").has_value());
  CHECK(tmp.read("quota.json") == "two\n");
  CHECK_FALSE(std::filesystem::exists(tmp.dir + "/quota.json.tmp"));
  CHECK(write_file_atomically("/nonexistent-dir/quota.json", "x").has_value());
}

TEST_CASE("quotas: a missing snapshot is reported; counts survive stop and start",
          "[engine][quota]") {
  Tmp tmp;
  const sys_seconds now = at(2024, 5, 1, 12);
  {
    Rig rig;
    Quotas q(tmp.dir);
    q.start(rig.config, *rig.fw, now, rig.emit);
    CHECK(q.snapshot_problems() == 1);
    CHECK(rig.has_event("snapshot_missing"));
    rig.nft->used[rig.obj("p2p/alice")] = 4'200'000;
    rig.nft->used[rig.obj("p2p/bob")] = 10;
    q.tick(*rig.fw, now, steady_clock::now(), rig.emit);
    CHECK(rig.has_event("crossed_80"));
    CHECK_FALSE(rig.has_event("crossed_100"));
    q.stop(*rig.fw, now + minutes(1), rig.emit);
  }
  const std::string saved = tmp.read("quota.json");
  CHECK(saved.find("\"key\":\"p2p/alice\",\"used\":4200000") != std::string::npos);
  {
    Rig rig;
    Quotas q(tmp.dir);
    q.start(rig.config, *rig.fw, now + hours(1), rig.emit);
    CHECK(q.snapshot_problems() == 0);
    // The restored count goes into the quota object's `used` at install.
    REQUIRE(std::holds_alternative<std::monostate>(rig.fw->install()));
    CHECK(rig.nft->installed.find("quota " + rig.obj("p2p/alice") +
                                  " {\n\t\tover 5000000 bytes used 4200000 bytes") !=
          std::string::npos);
    const auto views = q.views();
    REQUIRE(views.size() == 2);
    CHECK(q.text().find("quota rule=p2p user=alice used=4200000 limit=5000000 remaining=800000") !=
          std::string::npos);
  }
  {
    // Started after the period (a day) ended: fresh counts, no problem.
    Rig rig;
    Quotas q(tmp.dir);
    q.start(rig.config, *rig.fw, now + hours(24), rig.emit);
    CHECK(q.snapshot_problems() == 0);
    for (const auto& v : q.views()) {
      CHECK(v.used == 0);
    }
  }
}

TEST_CASE("quotas: a corrupt snapshot is reported and kept aside, never silently reset",
          "[engine][quota]") {
  Tmp tmp;
  tmp.write("quota.json", "{\"version\":1,\"pools\":[{\"key\":");
  Rig rig;
  Quotas q(tmp.dir);
  q.start(rig.config, *rig.fw, at(2024, 5, 1), rig.emit);
  CHECK(q.snapshot_problems() == 1);
  CHECK(rig.has_event("snapshot_corrupt"));
  CHECK(std::filesystem::exists(tmp.dir + "/quota.json.corrupt"));
  // The problem shows in the metrics.
  MetricsInput in;
  in.quotas = q.views();
  in.quota_snapshot_problems = q.snapshot_problems();
  const std::string m = render_metrics(in);
  CHECK(m.find("imguard_quota_snapshot_problems_total 1") != std::string::npos);
  CHECK(m.find("imguard_quota_used_bytes{rule=\"p2p\",user=\"alice\"} 0") != std::string::npos);
  CHECK(m.find("imguard_quota_limit_bytes{rule=\"p2p\",user=\"bob\"} 5000000") !=
        std::string::npos);
}

TEST_CASE("quotas: 100 % once, the period end resets the kernel object", "[engine][quota]") {
  Tmp tmp;
  Rig rig;
  Quotas q(tmp.dir);
  const sys_seconds now = at(2024, 5, 1, 23, 59);
  q.start(rig.config, *rig.fw, now, rig.emit);
  rig.nft->used[rig.obj("p2p/alice")] = 6'000'000;
  auto mono = steady_clock::now();
  q.tick(*rig.fw, now, mono, rig.emit);
  CHECK(rig.has_event("crossed_100"));
  CHECK(rig.has_event("crossed_80"));  // straight past 80 %: both notices, once each
  rig.events.clear();
  q.tick(*rig.fw, now, mono + seconds(2), rig.emit);
  CHECK(rig.events.empty());
  CHECK(q.text().find("then=active:throttle 125000B/s") != std::string::npos);
  // Midnight UTC: the object is reset and a new period recorded.
  q.tick(*rig.fw, at(2024, 5, 2), mono + seconds(4), rig.emit);
  CHECK(rig.has_event("period_end"));
  CHECK(rig.nft->used[rig.obj("p2p/alice")] == 0);
  for (const auto& v : q.views()) {
    CHECK(v.period_start == at(2024, 5, 2));
  }
  CHECK(tmp.read("quota.json")
            .find("\"period_start\":" +
                  std::to_string(at(2024, 5, 2).time_since_epoch().count())) != std::string::npos);
}

TEST_CASE("quotas: admin reset of one user's pool", "[engine][quota]") {
  Tmp tmp;
  Rig rig;
  Quotas q(tmp.dir);
  q.start(rig.config, *rig.fw, at(2024, 5, 1), rig.emit);
  rig.nft->used[rig.obj("p2p/alice")] = 6'000'000;
  rig.nft->used[rig.obj("p2p/bob")] = 6'000'000;
  q.tick(*rig.fw, at(2024, 5, 1), steady_clock::now(), rig.emit);
  CHECK(q.reset("p2p", "alice", *rig.fw, at(2024, 5, 1), rig.emit).starts_with("ok\nreset 1 "));
  CHECK(rig.nft->used[rig.obj("p2p/alice")] == 0);
  CHECK(rig.nft->used[rig.obj("p2p/bob")] == 6'000'000);
  CHECK(rig.has_event("reset"));
  CHECK(q.reset("p2p", "carol", *rig.fw, at(2024, 5, 1), rig.emit).starts_with("error\n"));
  CHECK(q.reset("nope", "", *rig.fw, at(2024, 5, 1), rig.emit).starts_with("error\n"));
  CHECK(q.reset("p2p", "", *rig.fw, at(2024, 5, 1), rig.emit).starts_with("ok\nreset 2 "));
}

TEST_CASE("quotas: a reload carries counts by rule and user name", "[engine][quota]") {
  Tmp tmp;
  Rig rig;
  Quotas q(tmp.dir);
  q.start(rig.config, *rig.fw, at(2024, 5, 1), rig.emit);
  rig.nft->used[rig.obj("p2p/bob")] = 1'000'000;
  // The new policy adds a user (the pool numbering may shift) and raises the limit.
  auto next = testing::load_config(R"(version: 1
users:
  aaron: { addresses: [10.0.0.9] }
  alice: { addresses: [10.0.0.2] }
  bob: { addresses: [10.0.0.3] }
rules:
  - name: p2p
    who: [aaron, alice, bob]
    action: allow
    quota: { bytes: 6MB, per: day, timezone: UTC, then: drop }
)",
                                   "q2.yaml");
  auto fresh_runner = std::make_unique<FakeNft>();
  FakeNft* fresh_nft = fresh_runner.get();
  for (size_t i = 0; i < next->policy.quota_pools.size(); ++i) {
    fresh_nft->used["q" + std::to_string(i)] = 0;
  }
  auto fresh = firewall::Firewall::create_for_plan(*next, firewall::Plan::kNftables,
                                                   std::move(fresh_runner));
  Quotas n = q.rebound(next, *rig.fw, *fresh, at(2024, 5, 1), rig.emit);
  REQUIRE(std::holds_alternative<std::monostate>(fresh->install()));
  for (const auto& v : n.views()) {
    CHECK(v.used == (v.user == "bob" ? 1'000'000u : 0u));
    CHECK(v.limit == 6'000'000u);
  }
  CHECK(fresh_nft->installed.find("used 1000000 bytes") != std::string::npos);
}

TEST_CASE("quotas: a failed kernel read keeps the last counts", "[engine][quota]") {
  Tmp tmp;
  Rig rig;
  Quotas q(tmp.dir);
  q.start(rig.config, *rig.fw, at(2024, 5, 1), rig.emit);
  rig.nft->used[rig.obj("p2p/alice")] = 123;
  auto mono = steady_clock::now();
  q.tick(*rig.fw, at(2024, 5, 1), mono, rig.emit);
  rig.nft->fail_list = true;
  q.tick(*rig.fw, at(2024, 5, 1), mono + seconds(2), rig.emit);
  bool seen = false;
  for (const auto& v : q.views()) {
    seen = seen || (v.user == "alice" && v.used == 123);
  }
  CHECK(seen);
  CHECK(nlohmann::json::parse(q.json()).size() == 2);
}

TEST_CASE("quotas: flow events name the pool and carry its count", "[engine][quota]") {
  Rig rig;
  policy::FlowFacts facts;
  facts.app = classifiers::AppId::kHttp;
  facts.user = 1;  // bob
  EventFlow f;
  f.src = packet::Address::parse("10.0.0.3");
  f.dst = packet::Address::parse("192.0.2.1");
  f.sport = 40000;
  f.dport = 80;
  f.result.app = classifiers::AppId::kHttp;
  f.decision.when = CachedDecision::When::kFinal;
  f.decision.decision = policy::decide(rig.config->policy, facts);
  std::vector<uint64_t> used(rig.config->policy.quota_pools.size(), 0);
  used[rig.pool("p2p/bob")] = 5'000'000;
  const auto j = nlohmann::json::parse(flow_event(EventType::kDecision, f, *rig.config, 1, &used));
  REQUIRE(j.contains("quota"));
  CHECK(j["quota"]["pool"] == "p2p/bob");
  CHECK(j["quota"]["limit_bytes"] == 5'000'000);
  CHECK(j["quota"]["per"] == "day");
  CHECK(j["quota"]["then"] == "throttle 125000B/s");
  CHECK(j["quota"]["used_bytes"] == 5'000'000);
  CHECK(j["quota"]["exhausted"] == true);
  // Without counts (classify), the static part only.
  const auto k = nlohmann::json::parse(flow_event(EventType::kDecision, f, *rig.config, 1));
  CHECK_FALSE(k["quota"].contains("used_bytes"));
}
