// SPDX-License-Identifier: GPL-3.0-or-later
// TimeZone is checked against glibc's own TZif reader (localtime_r with TZ set, allowed in
// tests only); schedules against hand-computed instants and a second-by-second scan.
#include <catch2/catch.hpp>

#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "policy/schedule.h"

using namespace imguard::policy;
using namespace std::chrono;

namespace {

constexpr const char* kZoneDir = "/usr/share/zoneinfo";

sys_seconds at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return sys_seconds{sys_days{year{y} / month{m} / day{d}}} + hours(hh) + minutes(mm) + seconds(ss);
}

std::shared_ptr<const TimeZone> zone(const std::string& name) {
  auto r = TimeZone::load(name, kZoneDir);
  if (const auto* err = std::get_if<std::string>(&r)) {
    FAIL(*err);
  }
  return std::get<std::shared_ptr<const TimeZone>>(r);
}

/// Sets TZ for glibc for the scope, restoring it afterwards.
class ScopedTz {
 public:
  explicit ScopedTz(const std::string& tz) {
    if (const char* old = getenv("TZ")) {
      old_ = old;
    }
    setenv("TZ", tz.c_str(), 1);
    tzset();
  }
  ~ScopedTz() {
    if (old_) {
      setenv("TZ", old_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  ScopedTz(const ScopedTz&) = delete;
  ScopedTz& operator=(const ScopedTz&) = delete;

 private:
  std::optional<std::string> old_;
};

long glibc_offset(sys_seconds t) {
  const time_t tt = static_cast<time_t>(t.time_since_epoch().count());
  struct tm out {};
  REQUIRE(localtime_r(&tt, &out) != nullptr);
  return out.tm_gmtoff;
}

/// A temporary directory, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "imguard-tz-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  void write(const std::string& name, const std::string& bytes) const {
    std::filesystem::create_directories(
        std::filesystem::path(path_ / std::filesystem::path(name)).parent_path());
    std::ofstream f(path_ + "/" + name, std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(f.good());
  }

 private:
  std::string path_;
};

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void put32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    s.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}
void put64(std::string& s, int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) {
    s.push_back(static_cast<char>((u >> shift) & 0xff));
  }
}

struct TzifType {
  int32_t utoff;
  uint8_t isdst;
};

/// A v2 TZif file with a minimal v1 block, the given 64-bit data and footer.
std::string make_tzif(const std::vector<int64_t>& times, const std::vector<uint8_t>& idx,
                      const std::vector<TzifType>& types, const std::string& footer,
                      uint32_t leapcnt = 0) {
  const auto header = [](std::string& s, uint32_t timecnt, uint32_t typecnt, uint32_t charcnt,
                         uint32_t leaps) {
    s += "TZif2";
    s.append(15, '\0');
    put32(s, 0);  // isutcnt
    put32(s, 0);  // isstdcnt
    put32(s, leaps);
    put32(s, timecnt);
    put32(s, typecnt);
    put32(s, charcnt);
  };
  std::string s;
  header(s, 0, 1, 4, 0);
  put32(s, 0);
  s += '\0';
  s += '\0';
  s.append("ZZZ", 4);
  header(s, static_cast<uint32_t>(times.size()), static_cast<uint32_t>(types.size()), 4, leapcnt);
  for (const int64_t t : times) {
    put64(s, t);
  }
  for (const uint8_t i : idx) {
    s.push_back(static_cast<char>(i));
  }
  for (const TzifType& t : types) {
    put32(s, static_cast<uint32_t>(t.utoff));
    s.push_back(static_cast<char>(t.isdst));
    s.push_back('\0');
  }
  s.append("ZZZ", 4);
  for (uint32_t i = 0; i < leapcnt; ++i) {
    put64(s, 0);
    put32(s, 0);
  }
  s += "\n" + footer + "\n";
  return s;
}

std::shared_ptr<const TimeZone> footer_zone(const TempDir& dir, const std::string& footer) {
  dir.write("Test/Footer", make_tzif({}, {}, {{0, 0}}, footer));
  auto r = TimeZone::load("Test/Footer", dir.path());
  if (const auto* err = std::get_if<std::string>(&r)) {
    FAIL(*err);
  }
  return std::get<std::shared_ptr<const TimeZone>>(r);
}

std::string load_error(std::string_view name, const std::string& dir = kZoneDir) {
  auto r = TimeZone::load(name, dir);
  const auto* err = std::get_if<std::string>(&r);
  return err ? *err : std::string();
}

/// Checks utc_offset against glibc with TZ=`glibc_tz` at irregularly spaced instants.
void compare_with_glibc(const TimeZone& z, const std::string& glibc_tz, sys_seconds from,
                        sys_seconds to, seconds step) {
  ScopedTz tz(glibc_tz);
  size_t mismatches = 0;
  for (sys_seconds t = from; t < to; t += step) {
    if (z.utc_offset(t) != glibc_offset(t)) {
      if (++mismatches <= 5) {
        UNSCOPED_INFO(glibc_tz << " at " << t.time_since_epoch().count() << ": ours "
                               << z.utc_offset(t) << ", glibc " << glibc_offset(t));
      }
    }
  }
  CHECK(mismatches == 0);
}

Schedule make_schedule(const std::shared_ptr<const TimeZone>& z, uint8_t days,
                       std::vector<TimeWindow> windows) {
  Schedule s;
  s.name = "test";
  s.days = days;
  s.windows = std::move(windows);
  s.zone = z;
  s.origin = "test:1:1";
  return s;
}

constexpr uint8_t kMon = 1 << 0;
constexpr uint8_t kFri = 1 << 4;
constexpr uint8_t kSun = 1 << 6;
constexpr uint8_t kWeekdays = 0x1f;

/// The first change after `t`, found by testing every second up to `limit`.
sys_seconds scan_next_change(const Schedule& s, sys_seconds t, sys_seconds limit) {
  const bool initial = schedule_active(s, t);
  for (sys_seconds c = t + seconds(1); c <= limit; c += seconds(1)) {
    if (schedule_active(s, c) != initial) {
      return c;
    }
  }
  return limit;
}

const std::vector<std::string> zone_names = {"Europe/Berlin",
                                             "America/New_York",
                                             "Australia/Lord_Howe",
                                             "Asia/Kolkata",
                                             "Pacific/Chatham",
                                             "America/Sao_Paulo",
                                             "UTC"};

}  // namespace

TEST_CASE("policy/schedule: utc_offset matches glibc over 1970..2100", "[policy][schedule]") {
  for (const std::string& name : zone_names) {
    INFO(name);
    const auto z = zone(name);
    CHECK(z->name() == name);
    // Odd step (3 days, 1 h, 7 min, 11 s) so instants drift through every time of day.
    compare_with_glibc(*z, ":" + name, at(1970, 1, 1), at(2100, 1, 1),
                       seconds(3 * 86400 + 3600 + 7 * 60 + 11));
  }
}

TEST_CASE("policy/schedule: transitions are exactly glibc's offset changes", "[policy][schedule]") {
  for (const std::string& name : zone_names) {
    INFO(name);
    const auto z = zone(name);
    const sys_seconds from = at(1970, 1, 1);
    const sys_seconds to = at(2100, 1, 1);
    const auto trs = z->transitions(from, to - from);
    ScopedTz tz(":" + name);
    // Each listed instant is a change, and the offset holds between neighbours.
    size_t bad = 0;
    for (size_t i = 0; i < trs.size(); ++i) {
      const sys_seconds t = trs[i];
      if (i > 0 && trs[i] <= trs[i - 1]) {
        ++bad;
      }
      if (glibc_offset(t - seconds(1)) == glibc_offset(t) || z->utc_offset(t) != glibc_offset(t) ||
          z->utc_offset(t - seconds(1)) != glibc_offset(t - seconds(1))) {
        UNSCOPED_INFO("transition at " << t.time_since_epoch().count());
        ++bad;
      }
    }
    CHECK(bad == 0);
    // Every change glibc shows between 3-hour samples has a listed transition.
    size_t missed = 0;
    auto next = trs.begin();
    for (sys_seconds t = from; t + hours(3) <= to; t += hours(3)) {
      while (next != trs.end() && *next <= t) {
        ++next;
      }
      if (glibc_offset(t) != glibc_offset(t + hours(3)) &&
          (next == trs.end() || *next > t + hours(3))) {
        ++missed;
      }
    }
    CHECK(missed == 0);
    if (name == "UTC" || name == "Asia/Kolkata") {
      CHECK(z->transitions(at(2000, 1, 1), hours(24 * 365 * 50)).empty());
    }
  }
}

TEST_CASE("policy/schedule: Europe/Berlin 2026 transitions and offsets", "[policy][schedule]") {
  const auto berlin = zone("Europe/Berlin");
  const auto trs = berlin->transitions(at(2026, 1, 1), hours(24 * 365));
  REQUIRE(trs.size() == 2);
  CHECK(trs[0] == at(2026, 3, 29, 1));
  CHECK(trs[1] == at(2026, 10, 25, 1));
  CHECK(berlin->utc_offset(at(2026, 3, 29, 0, 59, 59)) == 3600);
  CHECK(berlin->utc_offset(at(2026, 3, 29, 1)) == 7200);
  CHECK(berlin->utc_offset(at(2026, 10, 25, 0, 59, 59)) == 7200);
  CHECK(berlin->utc_offset(at(2026, 10, 25, 1)) == 3600);
  // The interval is half-open at `after`, closed at `after + horizon`.
  CHECK(berlin->transitions(at(2026, 3, 29, 1), hours(1)).empty());
  CHECK(berlin->transitions(at(2026, 3, 29, 0), hours(1)).size() == 1);
  CHECK(berlin->transitions(at(2026, 3, 29, 0), seconds(0)).empty());
  // Far beyond the table: the footer rule (2300 is still EU rules in tzdata).
  CHECK(berlin->utc_offset(at(2300, 7, 1)) == 7200);
  CHECK(berlin->utc_offset(at(2300, 1, 1)) == 3600);
  // Absurd instants and horizons neither crash nor overflow.
  CHECK(berlin->utc_offset(sys_seconds::max()) >= 3600);
  CHECK(berlin->utc_offset(sys_seconds::min()) != 0);
  CHECK(berlin->transitions(sys_seconds::max() - seconds(10), seconds::max()).empty());
  CHECK(berlin->transitions(at(2026, 1, 1), seconds::max()).size() < 1000);
}

TEST_CASE("policy/schedule: UTC without the file system", "[policy][schedule]") {
  const auto u = TimeZone::utc();
  CHECK(u->name() == "UTC");
  CHECK(u->utc_offset(at(2026, 6, 1)) == 0);
  CHECK(u->utc_offset(sys_seconds::min()) == 0);
  CHECK(u->transitions(at(1970, 1, 1), hours(24 * 365 * 100)).empty());
  CHECK(TimeZone::utc() == u);
}

TEST_CASE("policy/schedule: POSIX TZ footers match glibc", "[policy][schedule]") {
  TempDir dir;
  // glibc parses the same strings from TZ directly.
  for (const std::string rule :
       {"EST5EDT,M3.2.0,M11.1.0", "CET-1CEST,M3.5.0,M10.5.0/3", "<+0330>-3:30", "UTC0",
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", "<+1245>-12:45<+1345>,M9.5.0/2:45,M4.1.0/3:45",
        "AAA-2BBB,J60/2,J300/2", "AAA-2BBB,59/2,299/2", "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
        "IST-5:30", "AAA+4:15:30BBB+3,M4.1.6/1:30,M9.3.2"}) {
    INFO(rule);
    const auto z = footer_zone(dir, rule);
    compare_with_glibc(*z, rule, at(1999, 1, 1), at(2040, 1, 1), seconds(86400 + 3607));
    // Around each change, to the second.
    ScopedTz tz(rule);
    for (const sys_seconds t : z->transitions(at(2024, 1, 1), hours(24 * 366 * 3))) {
      CHECK(z->utc_offset(t) == glibc_offset(t));
      CHECK(z->utc_offset(t - seconds(1)) == glibc_offset(t - seconds(1)));
    }
  }
}

TEST_CASE("policy/schedule: RFC 8536 rule extensions (hours beyond 24 and negative)",
          "[policy][schedule]") {
  TempDir dir;
  SECTION("DST all year (RFC 8536 section 3.3.1 example)") {
    const auto z = footer_zone(dir, "EST5EDT,0/0,J365/25");
    for (sys_seconds t = at(2020, 1, 1); t < at(2030, 1, 1); t += seconds(86400 * 5 + 7777)) {
      CHECK(z->utc_offset(t) == -4 * 3600);
    }
    CHECK(z->utc_offset(at(2025, 12, 31, 23, 59, 59)) == -4 * 3600);
    CHECK(z->utc_offset(at(2026, 1, 1, 4)) == -4 * 3600);
    CHECK(z->transitions(at(2020, 1, 1), hours(24 * 365 * 5)).empty());
  }
  SECTION("start 49 h after a Sunday, end 3 h before one") {
    // 2026: last Sunday of March is the 29th, +49 h = Mar 31 01:00 local std (UTC+0);
    // last Sunday of October is the 25th, -3 h = Oct 24 21:00 local DST (UTC+1) = 20:00Z.
    const auto z = footer_zone(dir, "<+00>0<+01>-1,M3.5.0/49,M10.5.0/-3");
    CHECK(z->utc_offset(at(2026, 3, 31, 0, 59, 59)) == 0);
    CHECK(z->utc_offset(at(2026, 3, 31, 1)) == 3600);
    CHECK(z->utc_offset(at(2026, 10, 24, 19, 59, 59)) == 3600);
    CHECK(z->utc_offset(at(2026, 10, 24, 20)) == 0);
    const auto trs = z->transitions(at(2026, 1, 1), hours(24 * 365));
    REQUIRE(trs.size() == 2);
    CHECK(trs[0] == at(2026, 3, 31, 1));
    CHECK(trs[1] == at(2026, 10, 24, 20));
  }
  SECTION("America/Nuuk's negative rule time from tzdata") {
    const auto nuuk = zone("America/Nuuk");
    // <-02>2<-01>,M3.5.0/-1,M10.5.0/0: both changes at 01:00Z like the EU.
    CHECK(nuuk->utc_offset(at(2030, 3, 31, 0, 59, 59)) == -7200);
    CHECK(nuuk->utc_offset(at(2030, 3, 31, 1)) == -3600);
    CHECK(nuuk->utc_offset(at(2030, 10, 27, 0, 59, 59)) == -3600);
    CHECK(nuuk->utc_offset(at(2030, 10, 27, 1)) == -7200);
  }
  SECTION("a DST period that runs into the next year") {
    // DST starts Jan 1 00:00 std (03:00Z) and ends Dec 31 23:00 DST (Jan 1 01:30Z of the
    // next year), so 00:00Z..01:30Z on Jan 1 is still the previous year's DST. (glibc's
    // tzset looks only at the rule dates of t's own year and gets this wrong.)
    const auto z = footer_zone(dir, "AAA3BBB2:30,J1/0,J365/23");
    CHECK(z->utc_offset(at(2027, 1, 1, 0)) == -9000);
    CHECK(z->utc_offset(at(2027, 1, 1, 1, 29, 59)) == -9000);
    CHECK(z->utc_offset(at(2027, 1, 1, 1, 30)) == -10800);
    CHECK(z->utc_offset(at(2027, 1, 1, 2, 59, 59)) == -10800);
    CHECK(z->utc_offset(at(2027, 1, 1, 3)) == -9000);
    CHECK(z->utc_offset(at(2027, 7, 1)) == -9000);
    const auto trs = z->transitions(at(2026, 12, 31), hours(48));
    REQUIRE(trs.size() == 2);
    CHECK(trs[0] == at(2027, 1, 1, 1, 30));
    CHECK(trs[1] == at(2027, 1, 1, 3));
  }
  SECTION("Jn never counts Feb 29, n does") {
    const auto j = footer_zone(dir, "AAA0BBB,J60/0,J300/0");  // J60 = Mar 1 every year
    CHECK(j->utc_offset(at(2028, 2, 29, 23, 59, 59)) == 0);
    CHECK(j->utc_offset(at(2028, 3, 1)) == 3600);
    const auto n = footer_zone(dir, "AAA0BBB,59/0,300/0");  // 59 = Feb 29 in leap years
    CHECK(n->utc_offset(at(2028, 2, 28, 23, 59, 59)) == 0);
    CHECK(n->utc_offset(at(2028, 2, 29)) == 3600);
    CHECK(n->utc_offset(at(2027, 2, 28, 23, 59, 59)) == 0);
    CHECK(n->utc_offset(at(2027, 3, 1)) == 3600);
  }
}

TEST_CASE("policy/schedule: bad zone names are refused", "[policy][schedule]") {
  for (const std::string bad :
       {"../etc/passwd", "Europe/../../etc/passwd", "/etc/localtime", "", "Europe/Berlin\n",
        "Europe Berlin", "Europe/Berlin;rm", "Europe\\Berlin"}) {
    INFO(bad);
    CHECK_THAT(load_error(bad), Catch::Contains("unknown time zone"));
  }
  CHECK_THAT(load_error(std::string(300, 'A')), Catch::Contains("unknown time zone"));
  CHECK_THAT(load_error("Nowhere/City"), Catch::Contains("unknown time zone \"Nowhere/City\""));
  CHECK_THAT(load_error("Europe/Berlin/x"), Catch::Contains("unknown time zone"));
  CHECK_THAT(load_error("Europe"), Catch::Contains("not a regular file"));
  CHECK(load_error("Europe/Berlin", "/nonexistent-dir").find("unknown time zone") !=
        std::string::npos);
  // A name with a NUL inside must not open the part before it.
  CHECK_FALSE(load_error(std::string_view("UTC\0x", 5)).empty());
}

TEST_CASE("policy/schedule: truncated and garbage TZif files are errors and never crashes",
          "[policy][schedule]") {
  TempDir dir;
  const std::string berlin = read_bytes(std::string(kZoneDir) + "/Europe/Berlin");
  REQUIRE(berlin.size() > 100);
  // Every proper prefix of a real file.
  size_t accepted = 0;
  for (size_t n = 0; n < berlin.size(); ++n) {
    dir.write("Cut/Zone", berlin.substr(0, n));
    if (load_error("Cut/Zone", dir.path()).empty()) {
      ++accepted;
    }
  }
  CHECK(accepted == 0);
  dir.write("Cut/Zone", berlin);
  CHECK(load_error("Cut/Zone", dir.path()).empty());

  const auto err_for = [&](const std::string& bytes) {
    dir.write("Bad/Zone", bytes);
    return load_error("Bad/Zone", dir.path());
  };
  CHECK_THAT(err_for(""), Catch::Contains("truncated"));
  CHECK_THAT(err_for("TZif"), Catch::Contains("truncated"));
  CHECK_THAT(err_for(std::string(64, 'x')), Catch::Contains("bad magic"));
  CHECK_THAT(err_for("TZif7" + std::string(200, '\xff')), Catch::Contains("TZif"));
  CHECK_THAT(err_for("TZifX" + std::string(100, '\0')), Catch::Contains("version"));
  // Pseudo-random garbage after a valid magic, many seeds.
  uint32_t seed = 12345;
  for (int i = 0; i < 200; ++i) {
    std::string g = "TZif2";
    for (int k = 0; k < 300; ++k) {
      seed = seed * 1103515245 + 12345;
      g.push_back(static_cast<char>(seed >> 24));
    }
    CHECK_FALSE(err_for(g).empty());
  }
  // Counts far larger than the file.
  std::string huge = "TZif2";
  huge.append(15, '\0');
  for (int k = 0; k < 6; ++k) {
    put32(huge, 0xffffffffu);
  }
  CHECK_THAT(err_for(huge), Catch::Contains("truncated"));
  // Structurally well-formed, semantically bad.
  CHECK_THAT(err_for(make_tzif({10, 5}, {0, 0}, {{0, 0}}, "")), Catch::Contains("ascending"));
  CHECK_THAT(err_for(make_tzif({10}, {3}, {{0, 0}}, "")), Catch::Contains("index"));
  CHECK_THAT(err_for(make_tzif({}, {}, {{100000, 0}}, "")), Catch::Contains("offset"));
  CHECK_THAT(err_for(make_tzif({}, {}, {{0, 2}}, "")), Catch::Contains("type record"));
  CHECK_THAT(err_for(make_tzif({}, {}, {}, "")), Catch::Contains("type count"));
  CHECK_THAT(err_for(make_tzif({}, {}, {{0, 0}}, "", 1)), Catch::Contains("leap"));
  for (const std::string footer :
       {"FOO", "CET", "CET-1CEST", "CET-1CEST,M3.5.0", "CET-1CEST,M13.5.0,M10.5.0",
        "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,M3.5.7,M10.5.0", "CET-1CEST,J0,J100",
        "CET-1CEST,366,100", "CET-1CEST,M3.5.0/168,M10.5.0", "CET-25", "CET-1 ", "<AB>1", "<+01",
        "CET-1CEST,M3.5.0,M10.5.0x", "CET-1:60", "CET-0001"}) {
    INFO(footer);
    CHECK_THAT(err_for(make_tzif({}, {}, {{0, 0}}, footer)), Catch::Contains("footer"));
  }
  std::string no_footer = make_tzif({}, {}, {{0, 0}}, "");
  no_footer.resize(no_footer.size() - 2);
  CHECK_THAT(err_for(no_footer), Catch::Contains("footer"));
  // Bigger than the 1 MiB cap.
  CHECK_THAT(err_for(berlin + std::string(size_t{1} << 20, '\0')),
             Catch::Contains("not a regular file of at most"));
  // An empty footer is valid: the last type holds.
  dir.write("Ok/Zone", make_tzif({0, 1000}, {0, 1}, {{0, 0}, {19800, 0}}, ""));
  const auto ok = TimeZone::load("Ok/Zone", dir.path());
  REQUIRE(std::holds_alternative<std::shared_ptr<const TimeZone>>(ok));
  const auto& z = std::get<std::shared_ptr<const TimeZone>>(ok);
  CHECK(z->utc_offset(sys_seconds{seconds(999)}) == 0);
  CHECK(z->utc_offset(sys_seconds{seconds(1000)}) == 19800);
  CHECK(z->utc_offset(at(2500, 1, 1)) == 19800);
}

TEST_CASE("policy/schedule: office hours across the 2026 Berlin DST days", "[policy][schedule]") {
  const Schedule office = make_schedule(zone("Europe/Berlin"), kWeekdays, {{8 * 60, 18 * 60}});
  // Friday 2026-03-27 is CET (UTC+1), Monday 2026-03-30 is CEST (UTC+2).
  CHECK_FALSE(schedule_active(office, at(2026, 3, 27, 6, 59, 59)));
  CHECK(schedule_active(office, at(2026, 3, 27, 7)));
  CHECK(schedule_active(office, at(2026, 3, 27, 16, 59, 59)));
  CHECK_FALSE(schedule_active(office, at(2026, 3, 27, 17)));
  CHECK(next_change(office, at(2026, 3, 27, 12)) == at(2026, 3, 27, 17));
  CHECK(next_change(office, at(2026, 3, 27, 17)) == at(2026, 3, 30, 6));
  CHECK_FALSE(schedule_active(office, at(2026, 3, 29, 12)));  // Sunday
  CHECK(next_change(office, at(2026, 3, 30, 6)) == at(2026, 3, 30, 16));
  // Friday 2026-10-23 is CEST, Monday 2026-10-26 CET.
  CHECK(next_change(office, at(2026, 10, 23, 10)) == at(2026, 10, 23, 16));
  CHECK(next_change(office, at(2026, 10, 23, 16)) == at(2026, 10, 26, 7));
  CHECK(next_change(office, at(2026, 10, 26, 7)) == at(2026, 10, 26, 17));
  // Nothing within a short horizon: t + horizon.
  CHECK(next_change(office, at(2026, 10, 24, 0), hours(2)) == at(2026, 10, 24, 2));
  CHECK(next_change(office, at(2026, 10, 24, 0), seconds(0)) == at(2026, 10, 24, 0));
}

TEST_CASE("policy/schedule: an edge inside the spring-forward gap moves to the jump",
          "[policy][schedule]") {
  // 2026-03-29 Berlin: 02:00 CET becomes 03:00 CEST at 01:00Z; 02:30 never happens.
  const Schedule s = make_schedule(zone("Europe/Berlin"), kAllDays, {{2 * 60 + 30, 4 * 60}});
  CHECK_FALSE(schedule_active(s, at(2026, 3, 29, 0, 59, 59)));
  CHECK(schedule_active(s, at(2026, 3, 29, 1)));
  CHECK(next_change(s, at(2026, 3, 29, 0)) == at(2026, 3, 29, 1));
  CHECK(next_change(s, at(2026, 3, 29, 1)) == at(2026, 3, 29, 2));  // 04:00 CEST
  // A window wholly inside the gap does not happen that day.
  const Schedule gap = make_schedule(zone("Europe/Berlin"), kSun, {{2 * 60 + 10, 2 * 60 + 50}});
  CHECK(next_change(gap, at(2026, 3, 28, 12)) == at(2026, 4, 5, 0, 10));
}

TEST_CASE("policy/schedule: the repeated fall-back hour follows local = t + offset(t)",
          "[policy][schedule]") {
  // 2026-10-25 Berlin: 03:00 CEST becomes 02:00 CET at 01:00Z; 02:xx happens twice.
  const auto berlin = zone("Europe/Berlin");
  const Schedule s = make_schedule(berlin, kAllDays, {{2 * 60 + 30, 2 * 60 + 45}});
  sys_seconds t = at(2026, 10, 25, 0);  // 02:00 CEST
  const std::vector<sys_seconds> expected = {at(2026, 10, 25, 0, 30), at(2026, 10, 25, 0, 45),
                                             at(2026, 10, 25, 1, 30), at(2026, 10, 25, 1, 45)};
  for (const sys_seconds e : expected) {
    t = next_change(s, t);
    CHECK(t == e);
  }
  // 01:00-02:30 is left at 02:30 CEST and entered again when the clock reads 02:00 CET.
  const Schedule early = make_schedule(berlin, kAllDays, {{60, 2 * 60 + 30}});
  CHECK(schedule_active(early, at(2026, 10, 24, 23, 30)));
  CHECK(next_change(early, at(2026, 10, 24, 23, 30)) == at(2026, 10, 25, 0, 30));
  CHECK(next_change(early, at(2026, 10, 25, 0, 30)) == at(2026, 10, 25, 1));
  CHECK(next_change(early, at(2026, 10, 25, 1)) == at(2026, 10, 25, 1, 30));
}

TEST_CASE("policy/schedule: a midnight-crossing window counts for the day it starts",
          "[policy][schedule]") {
  // Friday 2026-06-05, Berlin CEST (UTC+2); 22:00-06:00 on Fridays only.
  const Schedule night = make_schedule(zone("Europe/Berlin"), kFri, {{22 * 60, 6 * 60}});
  CHECK_FALSE(schedule_active(night, at(2026, 6, 5, 3)));           // Fri 05:00, Thursday's night
  CHECK_FALSE(schedule_active(night, at(2026, 6, 5, 19, 59, 59)));  // Fri 21:59:59
  CHECK(schedule_active(night, at(2026, 6, 5, 20)));                // Fri 22:00
  CHECK(schedule_active(night, at(2026, 6, 5, 22)));                // Sat 00:00
  CHECK(schedule_active(night, at(2026, 6, 6, 3, 59)));             // Sat 05:59
  CHECK_FALSE(schedule_active(night, at(2026, 6, 6, 4)));           // Sat 06:00
  CHECK_FALSE(schedule_active(night, at(2026, 6, 6, 20)));          // Sat 22:00
  CHECK(next_change(night, at(2026, 6, 5, 12)) == at(2026, 6, 5, 20));
  CHECK(next_change(night, at(2026, 6, 5, 20)) == at(2026, 6, 6, 4));
  CHECK(next_change(night, at(2026, 6, 6, 4)) == at(2026, 6, 12, 20));
}

TEST_CASE("policy/schedule: whole days", "[policy][schedule]") {
  const Schedule monday = make_schedule(TimeZone::utc(), kMon, {{0, 1440}});
  CHECK(schedule_active(monday, at(2026, 6, 1)));  // a Monday
  CHECK(schedule_active(monday, at(2026, 6, 1, 23, 59, 59)));
  CHECK_FALSE(schedule_active(monday, at(2026, 6, 2)));
  CHECK_FALSE(schedule_active(monday, at(2026, 5, 31, 23, 59, 59)));
  CHECK(next_change(monday, at(2026, 6, 1, 12)) == at(2026, 6, 2));
  CHECK(next_change(monday, at(2026, 6, 2)) == at(2026, 6, 8));
  const Schedule always = make_schedule(TimeZone::utc(), kAllDays, {{0, 1440}});
  CHECK(next_change(always, at(2026, 6, 1)) == at(2026, 6, 1) + hours(24 * 8));
  CHECK(next_change(always, at(2026, 6, 1), hours(24 * 365 * 1000)) ==
        at(2026, 6, 1) + kMaxHorizon);
  const Schedule never = make_schedule(TimeZone::utc(), 0, {{0, 1440}});
  CHECK_FALSE(schedule_active(never, at(2026, 6, 1)));
  CHECK(next_change(never, at(2026, 6, 1), hours(5)) == at(2026, 6, 1, 5));
  // The 23-hour Sunday in Berlin: 2026-03-28 23:00Z .. 2026-03-29 22:00Z.
  const Schedule sunday = make_schedule(zone("Europe/Berlin"), kSun, {{0, 1440}});
  CHECK(next_change(sunday, at(2026, 3, 28, 12)) == at(2026, 3, 28, 23));
  CHECK(next_change(sunday, at(2026, 3, 28, 23)) == at(2026, 3, 29, 22));
  // Extreme instants do not overflow.
  CHECK(schedule_active(always, sys_seconds::max()));
  CHECK(next_change(always, sys_seconds::max() - seconds(5)) == sys_seconds::max());
}

TEST_CASE("policy/schedule: next_change equals a second-by-second scan", "[policy][schedule]") {
  struct Case {
    const char* zone;
    uint8_t days;
    std::vector<TimeWindow> windows;
    sys_seconds from;
  };
  const std::vector<Case> cases = {
      {"Europe/Berlin", kAllDays, {{150, 165}, {170, 180}}, at(2026, 10, 24, 22)},
      {"Europe/Berlin", kSun | kMon, {{1380, 150}}, at(2026, 3, 28, 12)},
      {"Australia/Lord_Howe", kAllDays, {{105, 135}}, at(2026, 4, 4, 12)},
      {"Australia/Lord_Howe", kAllDays, {{120, 125}}, at(2026, 10, 3, 12)},
      {"Pacific/Chatham", kAllDays, {{165, 240}}, at(2026, 4, 4, 0)},
      {"America/New_York", kWeekdays, {{0, 1440}}, at(2026, 11, 1, 0)},
      {"America/Sao_Paulo", kAllDays, {{1430, 10}}, at(2026, 1, 1, 0)},
      {"Asia/Kolkata", kFri, {{540, 1020}, {1200, 60}}, at(2026, 6, 1, 0)},
  };
  for (const Case& c : cases) {
    INFO(c.zone << " from " << c.from.time_since_epoch().count());
    const Schedule s = make_schedule(zone(c.zone), c.days, c.windows);
    const sys_seconds limit = c.from + hours(72);
    sys_seconds t = c.from;
    for (int step = 0; step < 6 && t < limit; ++step) {
      const sys_seconds expected = scan_next_change(s, t, limit);
      const sys_seconds got = next_change(s, t, limit - t);
      REQUIRE(got == expected);
      t = got;
    }
  }
}
