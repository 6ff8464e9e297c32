// SPDX-License-Identifier: GPL-3.0-or-later
// Quota periods: reset instants are local wall times, found by converting a local time to
// UTC with the zone's offsets on both sides of it (so DST days are 23 or 25 hours long and
// a month is a calendar month, never 30 x 86400 s).
#include "policy/quota.h"

#include "policy/units.h"

#include <array>
#include <charconv>

namespace imguard::policy {

namespace {

using std::chrono::sys_days;
using std::chrono::sys_seconds;

constexpr int64_t kSecondsPerDay = 86400;

constexpr std::array<std::string_view, 7> kWeekdays = {"mon", "tue", "wed", "thu",
                                                       "fri", "sat", "sun"};

int64_t floor_div(int64_t a, int64_t b) noexcept {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/// The local day number (days since 1970-01-01 local) of instant t.
int64_t local_day(const TimeZone& zone, sys_seconds t) {
  const int64_t local = t.time_since_epoch().count() + zone.utc_offset(t);
  return floor_div(local, kSecondsPerDay);
}

/// The reset instant on local day `day`.
sys_seconds reset_on(const QuotaSpec& s, int64_t day) {
  return local_to_utc(*s.zone, day * kSecondsPerDay + int64_t{s.reset_minute} * 60);
}

/// The local day of the period's reset in the month containing local day `day`, shifted by
/// `months` (0: this month). The reset day is clamped to the month's length.
int64_t month_reset_day(const QuotaSpec& s, int64_t day, int months) {
  const std::chrono::year_month_day ymd{sys_days{std::chrono::days(day)}};
  auto ym = std::chrono::year_month(ymd.year(), ymd.month()) + std::chrono::months(months);
  const auto last =
      std::chrono::year_month_day_last(ym.year(), std::chrono::month_day_last(ym.month()));
  const unsigned d = std::min<unsigned>(s.reset_day, static_cast<unsigned>(last.day()));
  const std::chrono::year_month_day reset{ym.year(), ym.month(), std::chrono::day(d)};
  return sys_days(reset).time_since_epoch().count();
}

/// The local day of the `k`-th reset before (k < 0) or after the one on or before `day`.
int64_t reset_day_near(const QuotaSpec& s, int64_t day, int k) {
  switch (s.per) {
    case QuotaPeriod::kDay:
      return day + k;
    case QuotaPeriod::kWeek: {
      // 1970-01-01 was a Thursday (weekday 3 counting from Monday).
      const int64_t weekday = day + 3 - floor_div(day + 3, 7) * 7;
      const int64_t back = (weekday - s.reset_day + 7) % 7;
      return day - back + 7 * int64_t{k};
    }
    case QuotaPeriod::kMonth: {
      const int64_t here = month_reset_day(s, day, 0);
      return here <= day ? month_reset_day(s, day, k) : month_reset_day(s, day, k - 1);
    }
  }
  return day;
}

bool parse_hhmm(std::string_view t, uint16_t& minute) {
  if (t.size() != 5 || t[2] != ':') {
    return false;
  }
  auto digit = [&](size_t i) { return t[i] >= '0' && t[i] <= '9' ? t[i] - '0' : -1; };
  const int h1 = digit(0), h2 = digit(1), m1 = digit(3), m2 = digit(4);
  if (h1 < 0 || h2 < 0 || m1 < 0 || m2 < 0) {
    return false;
  }
  const int h = h1 * 10 + h2;
  const int m = m1 * 10 + m2;
  if (h > 23 || m > 59) {
    return false;
  }
  minute = static_cast<uint16_t>(h * 60 + m);
  return true;
}

std::string hhmm(uint16_t minute) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02u:%02u", minute / 60u, minute % 60u);
  return buf;
}

}  // namespace

bool QuotaSpec::same_as(const QuotaSpec& o) const noexcept {
  const std::string_view za = zone ? std::string_view(zone->name()) : "";
  const std::string_view zb = o.zone ? std::string_view(o.zone->name()) : "";
  return bytes == o.bytes && per == o.per && reset_day == o.reset_day &&
         reset_minute == o.reset_minute && za == zb && then == o.then &&
         then_rate_bytes_per_sec == o.then_rate_bytes_per_sec && scope == o.scope;
}

sys_seconds local_to_utc(const TimeZone& zone, int64_t local_seconds) {
  // The offsets a day either side bracket every offset in effect near `local` (zones
  // change offset at most a few hours at a time, and never twice within a day).
  const int32_t before =
      zone.utc_offset(sys_seconds{std::chrono::seconds(local_seconds - kSecondsPerDay)});
  const int32_t after =
      zone.utc_offset(sys_seconds{std::chrono::seconds(local_seconds + kSecondsPerDay)});
  std::optional<int64_t> best;
  for (const int32_t off : {before, after}) {
    const int64_t t = local_seconds - off;
    if (t + zone.utc_offset(sys_seconds{std::chrono::seconds(t)}) == local_seconds &&
        (!best || t < *best)) {
      best = t;
    }
  }
  if (best) {
    return sys_seconds{std::chrono::seconds(*best)};
  }
  // Skipped by a jump forward: the instant of the jump, between the two candidates.
  const int64_t lo = local_seconds - std::max(before, after);
  const int64_t hi = local_seconds - std::min(before, after);
  const auto jumps = zone.transitions(sys_seconds{std::chrono::seconds(lo - 1)},
                                      std::chrono::seconds(hi - lo + 2));
  return jumps.empty() ? sys_seconds{std::chrono::seconds(lo)} : jumps.front();
}

QuotaWindow quota_window(const QuotaSpec& s, sys_seconds t) {
  const TimeZone& zone = s.zone ? *s.zone : *TimeZone::utc();
  QuotaSpec spec = s;
  if (!spec.zone) {
    spec.zone = TimeZone::utc();
  }
  const int64_t today = local_day(zone, t);
  int64_t day = reset_day_near(spec, today, 0);
  sys_seconds start = reset_on(spec, day);
  if (start > t) {  // today's reset (or this week's / month's) is still ahead
    day = reset_day_near(spec, day, -1);
    start = reset_on(spec, day);
  }
  const sys_seconds end = reset_on(spec, reset_day_near(spec, day, 1));
  return {start, end};
}

std::optional<uint64_t> parse_quota_bytes(std::string_view s) {
  static constexpr UnitScale kUnits[] = {
      {"B", 1},
      {"kB", 1000},
      {"MB", 1'000'000},
      {"GB", 1'000'000'000},
      {"TB", 1'000'000'000'000},
      {"KiB", uint64_t{1} << 10},
      {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30},
      {"TiB", uint64_t{1} << 40},
  };
  return parse_scaled(s, kUnits);
}

std::optional<std::string> parse_quota_reset(std::string_view text, QuotaSpec& spec) {
  std::string_view day_part;
  std::string_view time_part = text;
  if (const size_t sp = text.find(' '); sp != std::string_view::npos) {
    day_part = text.substr(0, sp);
    time_part = text.substr(sp + 1);
  }
  uint16_t minute = 0;
  if (!parse_hhmm(time_part, minute)) {
    return "bad time \"" + std::string(time_part) + "\" (00:00 to 23:59)";
  }
  switch (spec.per) {
    case QuotaPeriod::kDay:
      if (!day_part.empty()) {
        return "a daily quota resets at a time of day only, like \"00:00\"";
      }
      spec.reset_day = 0;
      break;
    case QuotaPeriod::kWeek: {
      bool found = false;
      for (size_t i = 0; i < kWeekdays.size(); ++i) {
        if (kWeekdays[i] == day_part) {
          spec.reset_day = static_cast<uint8_t>(i);
          found = true;
        }
      }
      if (!found) {
        return "a weekly quota resets on a weekday, like \"mon 00:00\" (mon, tue, wed, thu, "
               "fri, sat, sun)";
      }
      break;
    }
    case QuotaPeriod::kMonth: {
      unsigned d = 0;
      auto [ptr, ec] = std::from_chars(day_part.data(), day_part.data() + day_part.size(), d);
      if (day_part.empty() || ec != std::errc() || ptr != day_part.data() + day_part.size() ||
          d < 1 || d > 31) {
        return "a monthly quota resets on a day of the month, like \"1 00:00\" (1 to 31; 29-31 "
               "mean the last day in shorter months)";
      }
      spec.reset_day = static_cast<uint8_t>(d);
      break;
    }
  }
  spec.reset_minute = minute;
  return std::nullopt;
}

std::string_view quota_period_name(QuotaPeriod p) noexcept {
  switch (p) {
    case QuotaPeriod::kDay:
      return "day";
    case QuotaPeriod::kWeek:
      return "week";
    case QuotaPeriod::kMonth:
      return "month";
  }
  return "?";
}

std::string_view quota_scope_name(QuotaScope s) noexcept {
  return s == QuotaScope::kShared ? "shared" : "per user";
}

std::string quota_then_text(const QuotaSpec& s) {
  switch (s.then) {
    case QuotaThen::kDrop:
      return "drop";
    case QuotaThen::kReject:
      return "reject";
    case QuotaThen::kThrottle:
      return "throttle " + std::to_string(s.then_rate_bytes_per_sec) + "B/s";
  }
  return "?";
}

std::string quota_reset_text(const QuotaSpec& s) {
  switch (s.per) {
    case QuotaPeriod::kDay:
      return hhmm(s.reset_minute);
    case QuotaPeriod::kWeek:
      return std::string(kWeekdays[s.reset_day % 7]) + " " + hhmm(s.reset_minute);
    case QuotaPeriod::kMonth:
      return std::to_string(s.reset_day) + " " + hhmm(s.reset_minute);
  }
  return "?";
}

}  // namespace imguard::policy
