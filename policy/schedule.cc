// SPDX-License-Identifier: GPL-3.0-or-later
// Weekly schedules in a time zone. Local time is t + utc_offset(t), a plain number of
// seconds, so a DST jump is simply a discontinuity: skipped wall times never occur and the
// repeated hour of a fall-back day occurs twice.
#include <algorithm>
#include <limits>

#include "policy/schedule.h"

namespace imguard::policy {
namespace {

constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kMinutesPerDay = 1440;

constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t saturating_add(int64_t a, int64_t b) noexcept {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

// Schedule::days bit of local day number `day` (days since 1970-01-01, a Thursday).
bool day_listed(uint8_t days, int64_t day) noexcept {
  const int64_t monday_based = day + 3 - floor_div(day + 3, 7) * 7;
  return ((days >> monday_based) & 1) != 0;
}

int64_t saturating_mul(int64_t a, int64_t b) noexcept {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) {
    return (a < 0) != (b < 0) ? std::numeric_limits<int64_t>::min()
                              : std::numeric_limits<int64_t>::max();
  }
  return r;
}

int64_t edge_seconds(uint16_t minute) noexcept {
  return std::min<int64_t>(minute, kMinutesPerDay) * 60;
}

int32_t offset_at(const Schedule& s, int64_t t) noexcept {
  return s.zone ? s.zone->utc_offset(std::chrono::sys_seconds{std::chrono::seconds(t)}) : 0;
}

}  // namespace

bool schedule_active(const Schedule& s, std::chrono::sys_seconds t) noexcept {
  const int64_t utc = t.time_since_epoch().count();
  const int64_t local = saturating_add(utc, offset_at(s, utc));
  const int64_t day = floor_div(local, kSecondsPerDay);
  const int64_t second_of_day = local - day * kSecondsPerDay;
  for (const TimeWindow& w : s.windows) {
    const int64_t start = edge_seconds(w.start_minute);
    const int64_t end = edge_seconds(w.end_minute);
    if (start < end) {
      if (day_listed(s.days, day) && second_of_day >= start && second_of_day < end) {
        return true;
      }
    } else if (start > end) {
      // Crosses midnight: the part after midnight belongs to the previous day's window.
      if ((day_listed(s.days, day) && second_of_day >= start) ||
          (day_listed(s.days, day - 1) && second_of_day < end)) {
        return true;
      }
    }
  }
  return false;
}

std::chrono::sys_seconds next_change(const Schedule& s, std::chrono::sys_seconds t,
                                     std::chrono::seconds horizon) {
  using std::chrono::seconds;
  using std::chrono::sys_seconds;
  if (horizon.count() <= 0) {
    return t;
  }
  const int64_t from = t.time_since_epoch().count();
  const int64_t limit = saturating_add(from, std::min(horizon, kMaxHorizon).count());
  const bool initial = schedule_active(s, t);
  const std::shared_ptr<const TimeZone> zone = s.zone ? s.zone : TimeZone::utc();

  // The value can change only where local time crosses a window edge (at L - offset for
  // the offset then in effect) or jumps (a zone transition). Collect those candidates one
  // UTC day at a time and verify each with schedule_active(), so the answer is exact by
  // construction, including skipped and repeated local hours.
  std::vector<int64_t> candidates;
  std::vector<int32_t> offsets;
  for (int64_t chunk = from; chunk < limit;) {
    const int64_t chunk_end = std::min(saturating_add(chunk, kSecondsPerDay), limit);
    candidates.clear();
    offsets.assign(1, zone->utc_offset(sys_seconds{seconds(chunk)}));
    for (const sys_seconds tr :
         zone->transitions(sys_seconds{seconds(chunk)}, seconds(chunk_end - chunk))) {
      candidates.push_back(tr.time_since_epoch().count());
      offsets.push_back(zone->utc_offset(tr));
    }
    std::sort(offsets.begin(), offsets.end());
    offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
    for (const int32_t off : offsets) {
      const int64_t first_day = floor_div(saturating_add(chunk, off), kSecondsPerDay) - 1;
      const int64_t last_day = floor_div(saturating_add(chunk_end, off), kSecondsPerDay) + 1;
      for (int64_t day = first_day; day <= last_day; ++day) {
        for (const TimeWindow& w : s.windows) {
          for (const uint16_t minute : {w.start_minute, w.end_minute}) {
            const int64_t c =
                saturating_add(saturating_mul(day, kSecondsPerDay), edge_seconds(minute) - off);
            if (c > chunk && c <= chunk_end) {
              candidates.push_back(c);
            }
          }
        }
      }
    }
    std::sort(candidates.begin(), candidates.end());
    for (const int64_t c : candidates) {
      if (schedule_active(s, sys_seconds{seconds(c)}) != initial) {
        return sys_seconds{seconds(c)};
      }
    }
    chunk = chunk_end;
  }
  return sys_seconds{seconds(limit)};
}

}  // namespace imguard::policy
