// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "policy/schedule.h"

namespace imguard::policy {

/// A rule's byte quota (`quota:` under a rule): how many bytes the connections the rule
/// decides may move per period, both directions together, before `then` applies to them.
/// The kernel counts (one nft quota object per pool, firewall/README.md); this file holds
/// the model and the period arithmetic, which is pure and DST-correct.

enum class QuotaPeriod : uint8_t { kDay, kWeek, kMonth };
/// Who shares one pool: one per (rule, user) (`pool: per user`, the default; flows of no
/// known user share the rule's "(unknown)" pool), or one per rule (`pool: shared`).
enum class QuotaScope : uint8_t { kPerUser, kShared };
/// What happens to a pool's connections once it is used up.
enum class QuotaThen : uint8_t { kDrop, kReject, kThrottle };

struct QuotaSpec {
  uint64_t bytes = 0;  // the limit per period, >= kMinQuotaBytes
  QuotaPeriod per = QuotaPeriod::kDay;
  /// The reset instant in local time: for kWeek the weekday (0 Monday .. 6 Sunday), for
  /// kMonth the day of the month (1..31; past a short month's end: its last day), unused
  /// for kDay; and the minute of that day (0..1439).
  uint8_t reset_day = 0;
  uint16_t reset_minute = 0;
  std::shared_ptr<const TimeZone> zone;  // never null once loaded
  QuotaThen then = QuotaThen::kDrop;
  uint64_t then_rate_bytes_per_sec = 0;  // > 0 exactly when then is kThrottle
  QuotaScope scope = QuotaScope::kPerUser;
  std::string origin;  // "file:line:col" of `quota:`

  /// Same limit, period, reset, zone, then and scope (origin aside).
  bool same_as(const QuotaSpec& o) const noexcept;
};

inline constexpr uint64_t kMinQuotaBytes = 1000;
inline constexpr uint64_t kMaxQuotaBytes = uint64_t{1} << 50;  // 1 PiB

/// One period: [start, end).
struct QuotaWindow {
  std::chrono::sys_seconds start;
  std::chrono::sys_seconds end;
};

/// The period containing instant `t`. Reset instants are local wall times in `spec.zone`:
/// a reset time skipped by a DST jump happens at the jump (the first instant after the
/// gap), a repeated one at its first occurrence. Pure; noexcept; no allocation beyond the
/// zone's transition lookup.
QuotaWindow quota_window(const QuotaSpec& spec, std::chrono::sys_seconds t);

/// The instant at which the local wall time `local_seconds` (seconds since 1970-01-01
/// 00:00 local) first occurs in `zone`, or the end of the DST gap that skips it.
std::chrono::sys_seconds local_to_utc(const TimeZone& zone, int64_t local_seconds);

/// "2GB", "500MB", "5MiB", "1000B" (decimal k/M/G/T and binary Ki/Mi/Gi/Ti, B suffix
/// required): the byte count, nullopt when malformed or overflowing.
std::optional<uint64_t> parse_quota_bytes(std::string_view text);

/// `reset:` for a period: kDay "HH:MM", kWeek "DAY HH:MM" (mon..sun), kMonth "D HH:MM"
/// (1..31). Sets reset_day/reset_minute of `spec`; the error says what is wrong.
std::optional<std::string> parse_quota_reset(std::string_view text, QuotaSpec& spec);

std::string_view quota_period_name(QuotaPeriod p) noexcept;  // "day", "week", "month"
std::string_view quota_scope_name(QuotaScope s) noexcept;    // "per user", "shared"
/// "drop", "reject", "throttle 125000B/s".
std::string quota_then_text(const QuotaSpec& spec);
/// The reset as written in a config: "00:00", "mon 00:00", "1 00:00".
std::string quota_reset_text(const QuotaSpec& spec);

}  // namespace imguard::policy
