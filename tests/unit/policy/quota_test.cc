// SPDX-License-Identifier: GPL-3.0-or-later
// Quotas: the period arithmetic against hand-computed instants (DST days in Berlin and New
// York, month ends, leap years), the `quota:` schema, pools and marks.
#include <catch2/catch.hpp>

#include <string>
#include <variant>

#include "config_util.h"
#include "policy/decision.h"
#include "policy/loader.h"
#include "policy/marks.h"
#include "policy/quota.h"

using namespace imguard::policy;
using namespace std::chrono;

namespace {

sys_seconds at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return sys_seconds{sys_days{year{y} / month{m} / day{d}}} + hours(hh) + minutes(mm) + seconds(ss);
}

std::shared_ptr<const TimeZone> zone(const std::string& name) {
  auto r = TimeZone::load(name);
  if (const auto* err = std::get_if<std::string>(&r)) {
    FAIL(*err);
  }
  return std::get<std::shared_ptr<const TimeZone>>(r);
}

QuotaSpec spec(QuotaPeriod per, const std::string& reset, const std::string& tz) {
  QuotaSpec s;
  s.bytes = 1'000'000;
  s.per = per;
  s.zone = zone(tz);
  REQUIRE_FALSE(parse_quota_reset(reset, s).has_value());
  return s;
}

std::vector<std::string> errors_of(const std::string& yaml) {
  auto r = load_config_string(yaml, "q.yaml");
  if (const auto* e = std::get_if<LoadError>(&r)) {
    return e->messages;
  }
  return {};
}

const char* kBase = R"(version: 1
users:
  alice: { addresses: [10.0.0.2] }
  bob: { addresses: [10.0.0.3] }
)";

}  // namespace

TEST_CASE("quota: sizes need a unit and fit 64 bits", "[policy][quota]") {
  CHECK(parse_quota_bytes("2GB") == 2'000'000'000u);
  CHECK(parse_quota_bytes("5MiB") == 5u << 20);
  CHECK(parse_quota_bytes("1000B") == 1000u);
  CHECK(parse_quota_bytes("500kB") == 500'000u);
  CHECK_FALSE(parse_quota_bytes("2G").has_value());
  CHECK_FALSE(parse_quota_bytes("2 GB").has_value());
  CHECK_FALSE(parse_quota_bytes("GB").has_value());
  CHECK_FALSE(parse_quota_bytes("-1MB").has_value());
  CHECK_FALSE(parse_quota_bytes("99999999999999999TB").has_value());
}

TEST_CASE("quota: reset strings per period", "[policy][quota]") {
  QuotaSpec s;
  s.per = QuotaPeriod::kDay;
  CHECK_FALSE(parse_quota_reset("06:30", s).has_value());
  CHECK(s.reset_minute == 390);
  CHECK(parse_quota_reset("mon 06:30", s).has_value());
  CHECK(parse_quota_reset("24:00", s).has_value());
  CHECK(parse_quota_reset("12:60", s).has_value());
  CHECK(parse_quota_reset("6:30", s).has_value());
  s.per = QuotaPeriod::kWeek;
  CHECK_FALSE(parse_quota_reset("sun 23:59", s).has_value());
  CHECK(s.reset_day == 6);
  CHECK(parse_quota_reset("sunday 23:59", s).has_value());
  CHECK(parse_quota_reset("23:59", s).has_value());
  s.per = QuotaPeriod::kMonth;
  CHECK_FALSE(parse_quota_reset("31 00:00", s).has_value());
  CHECK(s.reset_day == 31);
  CHECK(parse_quota_reset("0 00:00", s).has_value());
  CHECK(parse_quota_reset("32 00:00", s).has_value());
  CHECK(parse_quota_reset("1x 00:00", s).has_value());
  CHECK(quota_reset_text(s) == "31 00:00");
}

TEST_CASE("quota: daily periods are local days, 23 and 25 hours long across DST",
          "[policy][quota]") {
  const QuotaSpec s = spec(QuotaPeriod::kDay, "00:00", "Europe/Berlin");
  // 2024-03-31: CET → CEST at 02:00 local (01:00 UTC). Midnight local = 23:00 UTC before.
  auto w = quota_window(s, at(2024, 3, 31, 12));
  CHECK(w.start == at(2024, 3, 30, 23));
  CHECK(w.end == at(2024, 3, 31, 22));
  CHECK(w.end - w.start == hours(23));
  // 2024-10-27: CEST → CET, a 25-hour day.
  w = quota_window(s, at(2024, 10, 27, 12));
  CHECK(w.start == at(2024, 10, 26, 22));
  CHECK(w.end == at(2024, 10, 27, 23));
  CHECK(w.end - w.start == hours(25));
  // Just before and exactly at the boundary.
  CHECK(quota_window(s, at(2024, 10, 27, 22, 59, 59)).end == at(2024, 10, 27, 23));
  CHECK(quota_window(s, at(2024, 10, 27, 23)).start == at(2024, 10, 27, 23));
}

TEST_CASE("quota: a reset time skipped by DST happens at the jump; a repeated one once",
          "[policy][quota]") {
  // 02:30 does not exist in Berlin on 2024-03-31: the reset is at the jump, 01:00 UTC.
  const QuotaSpec gap = spec(QuotaPeriod::kDay, "02:30", "Europe/Berlin");
  auto w = quota_window(gap, at(2024, 3, 31, 12));
  CHECK(w.start == at(2024, 3, 31, 1));
  CHECK(w.end == at(2024, 4, 1, 0, 30));  // 02:30 CEST
  // 02:30 happens twice on 2024-10-27: the first (CEST, 00:30 UTC) counts.
  const QuotaSpec twice = spec(QuotaPeriod::kDay, "02:30", "Europe/Berlin");
  w = quota_window(twice, at(2024, 10, 27, 12));
  CHECK(w.start == at(2024, 10, 27, 0, 30));
  CHECK(w.end == at(2024, 10, 28, 1, 30));
  // New York: 2024-03-10 02:00 EST → 03:00 EDT.
  const QuotaSpec ny = spec(QuotaPeriod::kDay, "02:15", "America/New_York");
  w = quota_window(ny, at(2024, 3, 10, 12));
  CHECK(w.start == at(2024, 3, 10, 7));  // the jump, 02:00 EST = 07:00 UTC
}

TEST_CASE("quota: weekly periods start on the reset weekday", "[policy][quota]") {
  const QuotaSpec s = spec(QuotaPeriod::kWeek, "mon 00:00", "Europe/Berlin");
  // 2024-03-27 is a Wednesday; the week began Monday 2024-03-25 00:00 CET.
  auto w = quota_window(s, at(2024, 3, 27, 12));
  CHECK(w.start == at(2024, 3, 24, 23));
  CHECK(w.end == at(2024, 3, 31, 22));  // next Monday 00:00 CEST
  CHECK(w.end - w.start == hours(24 * 7 - 1));
  // On Monday before the reset time the previous week is still running.
  const QuotaSpec late = spec(QuotaPeriod::kWeek, "mon 06:00", "UTC");
  w = quota_window(late, at(2024, 3, 25, 5, 59));
  CHECK(w.start == at(2024, 3, 18, 6));
  CHECK(w.end == at(2024, 3, 25, 6));
}

TEST_CASE("quota: monthly periods, with days past a month's end clamped to it", "[policy][quota]") {
  const QuotaSpec first = spec(QuotaPeriod::kMonth, "1 00:00", "UTC");
  auto w = quota_window(first, at(2024, 2, 15));
  CHECK(w.start == at(2024, 2, 1));
  CHECK(w.end == at(2024, 3, 1));
  const QuotaSpec last = spec(QuotaPeriod::kMonth, "31 00:00", "UTC");
  w = quota_window(last, at(2024, 2, 15));
  CHECK(w.start == at(2024, 1, 31));
  CHECK(w.end == at(2024, 2, 29));  // leap year
  w = quota_window(last, at(2023, 3, 1));
  CHECK(w.start == at(2023, 2, 28));
  CHECK(w.end == at(2023, 3, 31));
  w = quota_window(last, at(2024, 4, 30, 12));
  CHECK(w.start == at(2024, 4, 30));
  CHECK(w.end == at(2024, 5, 31));
  // Across a year end, in a zone with DST.
  const QuotaSpec berlin = spec(QuotaPeriod::kMonth, "1 00:00", "Europe/Berlin");
  w = quota_window(berlin, at(2024, 12, 31, 23, 30));  // already January 1st in Berlin
  CHECK(w.start == at(2024, 12, 31, 23));
  CHECK(w.end == at(2025, 1, 31, 23));
  w = quota_window(berlin, at(2024, 3, 15));
  CHECK(w.end - w.start == hours(31 * 24 - 1));  // March loses an hour
}

TEST_CASE("quota: windows always contain the instant and follow one another", "[policy][quota]") {
  for (const auto& [per, reset] : {std::pair{QuotaPeriod::kDay, "02:30"},
                                   {QuotaPeriod::kWeek, "sun 02:30"},
                                   {QuotaPeriod::kMonth, "31 02:30"}}) {
    const QuotaSpec s = spec(per, reset, "Europe/Berlin");
    sys_seconds t = at(2024, 1, 1);
    QuotaWindow prev = quota_window(s, t);
    for (int i = 0; i < 24 * 400; ++i) {  // every 3 hours for 400 days
      t += hours(3);
      const QuotaWindow w = quota_window(s, t);
      REQUIRE(w.start <= t);
      REQUIRE(t < w.end);
      REQUIRE((w.start == prev.start || w.start == prev.end));
      prev = w;
    }
  }
}

TEST_CASE("quota: a rule's quota loads, with pools per user or shared", "[policy][quota]") {
  auto c = imguard::testing::load_config(std::string(kBase) + R"(rules:
  - name: p2p
    who: [alice, bob]
    category: p2p
    action: allow
    quota: { bytes: 2GB, per: week, reset: "mon 00:00", timezone: Europe/Berlin, then: throttle 256kbit/s }
  - name: video
    app: zoom
    action: throttle 2Mbit/s
    quota: { bytes: 500MB, per: day, timezone: UTC, then: drop, pool: shared }
)",
                                         "q.yaml");
  const Policy& p = c->policy;
  REQUIRE(p.rules[0].quota.has_value());
  CHECK(p.rules[0].quota->bytes == 2'000'000'000u);
  CHECK(p.rules[0].quota->then == QuotaThen::kThrottle);
  CHECK(p.rules[0].quota->then_rate_bytes_per_sec == 32'000u);
  CHECK(p.rules[1].quota->scope == QuotaScope::kShared);
  // alice, bob (per user) + one shared pool for `video`.
  REQUIRE(p.quota_pools.size() == 3);
  int shared = 0;
  for (const QuotaPool& q : p.quota_pools) {
    shared += q.key == "video" ? 1 : 0;
  }
  CHECK(shared == 1);
  // alice's p2p flows carry a bucket whose Bucket entry names her pool.
  FlowFacts f;
  f.app = imguard::classifiers::AppId::kBittorrent;
  f.user = 0;
  const Decision d = decide(p, f);
  CHECK(d.rule == 0);
  CHECK(d.enforced == Action::kAllow);
  REQUIRE(d.bucket < p.buckets.size());
  const uint16_t pool = p.buckets[d.bucket].pool;
  REQUIRE(pool < p.quota_pools.size());
  CHECK(p.quota_pools[pool].key == "p2p/alice");
  // The mark is not the bare allow value, so the kernel's fast path does not take it.
  CHECK(encode(d, c->mark_mask) != encode(Decision{}, c->mark_mask));
  f.user = 1;
  CHECK(p.quota_pools[p.buckets[decide(p, f).bucket].pool].key == "p2p/bob");
}

TEST_CASE("quota: broken quotas are reported together, with positions", "[policy][quota]") {
  const auto errs = errors_of(std::string(kBase) + R"(rules:
  - name: a
    action: allow
    quota: { bytes: 2GX, per: fortnight, then: allow }
  - name: b
    action: drop
    quota: { bytes: 1GB, per: month, reset: "32 00:00", then: drop }
  - name: c
    action: allow
    quota: { bytes: 10B, per: day, reset: "mon 00:00", then: throttle 1Mbit/s per host, colour: red }
  - name: d
    action: allow
    quota: { per: day }
)");
  std::string all;
  for (const auto& e : errs) {
    all += e + "\n";
  }
  INFO(all);
  CHECK(all.find("q.yaml:8:21: rules.a.quota.bytes: bad size \"2GX\"") != std::string::npos);
  CHECK(all.find("rules.a.quota.per") != std::string::npos);
  CHECK(all.find("rules.a.quota.then: allow after a quota is no limit") != std::string::npos);
  CHECK(all.find("rules.b.quota.reset: bad reset \"32 00:00\" for per: month") !=
        std::string::npos);
  CHECK(all.find("rules.c.quota.bytes: size 10B is out of range") != std::string::npos);
  CHECK(all.find("rules.c.quota.reset: bad reset \"mon 00:00\" for per: day") != std::string::npos);
  CHECK(all.find("rules.c.quota.then: a quota's throttle takes no bucket") != std::string::npos);
  CHECK(all.find("rules.c.quota.colour: unknown key") != std::string::npos);
  CHECK(all.find("rules.d.quota.bytes: missing") != std::string::npos);
  CHECK(all.find("rules.d.quota.then: missing") != std::string::npos);
}

TEST_CASE("quota: rules a quota cannot apply to are refused", "[policy][quota]") {
  auto one = [](const std::string& rule_tail, const std::string& engine = "") {
    std::string all;
    for (const auto& e :
         errors_of(std::string(kBase) + engine + "rules:\n  - name: r\n" + rule_tail)) {
      all += e + "\n";
    }
    return all;
  };
  const std::string q = "    quota: { bytes: 1GB, per: day, timezone: UTC, then: drop }\n";
  CHECK(one("    action: drop\n" + q).find("a drop rule moves no bytes") != std::string::npos);
  CHECK(one("    action: monitor throttle 1Mbit/s\n" + q).find("a monitor rule is not enforced") !=
        std::string::npos);
  CHECK(one("    action: throttle 1Mbit/s shared\n" + q).find("shared throttle") !=
        std::string::npos);
  CHECK(one("    action: allow\n" + q, "engine: { backend: iptables }\n")
            .find("quotas need the nftables backend") != std::string::npos);
  CHECK(one("    action: throttle 1Mbit/s shared\n" +
            std::string(
                "    quota: { bytes: 1GB, per: day, timezone: UTC, then: drop, pool: shared }\n"))
            .empty());
}

TEST_CASE("quota: pools that do not fit the mark window are refused", "[policy][quota]") {
  std::string yaml = "version: 1\nengine: { mark_mask: 0x000f0000 }\nusers:\n";
  for (int i = 0; i < 5; ++i) {
    yaml += "  u" + std::to_string(i) + ": { addresses: [10.0.0." + std::to_string(i + 2) + "] }\n";
  }
  yaml +=
      "rules:\n  - name: r\n    action: allow\n"
      "    quota: { bytes: 1GB, per: day, timezone: UTC, then: drop }\n";
  std::string all;
  for (const auto& e : errors_of(yaml)) {
    all += e + "\n";
  }
  // 4 bits: 2 buckets; 5 users + unknown need 6.
  CHECK(all.find("throttle and quota rules need 6 kernel buckets") != std::string::npos);
}
