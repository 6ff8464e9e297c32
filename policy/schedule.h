// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace imguard::policy {

/// The farthest TimeZone::transitions() and next_change() look ahead: longer horizons are
/// shortened to this (400 Gregorian years), so a huge horizon cannot exhaust memory or time.
inline constexpr std::chrono::seconds kMaxHorizon =
    std::chrono::duration_cast<std::chrono::seconds>(std::chrono::years(400));

/// A time zone read from the system's TZif database (/usr/share/zoneinfo), with the
/// POSIX TZ rule of the file's footer for instants after its last transition. Immutable
/// after load(); safe to share between threads. Never consults the process's TZ or
/// localtime(): every conversion is explicit.
class TimeZone {
 public:
  /// Loads the IANA zone `name` ("Europe/Berlin", "UTC", "America/New_York") from
  /// `zoneinfo_dir`. Names with "..", a leading '/', or characters outside
  /// [A-Za-z0-9/_+-] are refused. The error reads "unknown time zone \"X\"" or says why
  /// the file is unusable. Startup code: does file I/O.
  static std::variant<std::shared_ptr<const TimeZone>, std::string> load(
      std::string_view name, const std::string& zoneinfo_dir = "/usr/share/zoneinfo");
  /// UTC, without touching the file system.
  static std::shared_ptr<const TimeZone> utc();

  /// Seconds east of UTC in effect at instant `t` (e.g. +3600 for CET, +7200 for CEST).
  /// Before the first transition: the file's type 0 (RFC 8536); after the last one: the
  /// footer's POSIX TZ rule. Hot-path safe: no allocation, no I/O.
  int32_t utc_offset(std::chrono::sys_seconds t) const noexcept;
  /// Instants in (after, after + horizon] where the offset changes, ascending; empty for a
  /// horizon <= 0; the horizon is capped at kMaxHorizon. Allocates.
  std::vector<std::chrono::sys_seconds> transitions(std::chrono::sys_seconds after,
                                                    std::chrono::seconds horizon) const;
  const std::string& name() const noexcept { return name_; }

  struct Impl;
  explicit TimeZone(std::string name, std::shared_ptr<const Impl> impl);

 private:
  std::string name_;
  std::shared_ptr<const Impl> impl_;
};

/// Weekday bits of Schedule::days: bit 0 Monday ... bit 6 Sunday.
inline constexpr uint8_t kAllDays = 0x7f;

/// A weekly window in a time zone: active on `days` from `start` to `end` (minutes since
/// local midnight, 0..1440). end < start crosses midnight: the window that starts on a
/// listed day ends on the next day. start == 0 and end == 1440 is the whole day. A window
/// never has start == end.
struct TimeWindow {
  uint16_t start_minute = 0;
  uint16_t end_minute = 1440;
};

/// A named schedule: active when the local wall time (in `zone`) falls in one of
/// `windows` on a day in `days`. Immutable once loaded.
struct Schedule {
  std::string name;
  uint8_t days = kAllDays;
  std::vector<TimeWindow> windows;
  std::shared_ptr<const TimeZone> zone;  // never null once loaded
  std::string origin;                    // "file:line:col" of its definition
};

/// Whether `s` is active at instant `t`: the local time is t + utc_offset(t); the day
/// that counts is the day the window started on. Pure, noexcept, no allocation.
bool schedule_active(const Schedule& s, std::chrono::sys_seconds t) noexcept;

/// The first instant > `t` at which schedule_active() changes value, looking at most
/// `horizon` ahead (DST transitions and window edges both count; a local time skipped by
/// a DST jump moves the edge to the jump). std::nullopt-like: returns t + horizon when
/// nothing changes within it (horizon capped at kMaxHorizon; a horizon <= 0 returns t).
/// Allocates; cost grows with the distance to the answer (about one day per step).
std::chrono::sys_seconds next_change(const Schedule& s, std::chrono::sys_seconds t,
                                     std::chrono::seconds horizon = std::chrono::hours(24 * 8));

}  // namespace imguard::policy
