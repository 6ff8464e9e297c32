// SPDX-License-Identifier: GPL-3.0-or-later
// TZif reader (RFC 8536) and the POSIX TZ rule of its footer (RFC 8536 section 3.3, POSIX
// XBD 8.3). Every count and offset in the file is checked before use: a zone file is
// trusted no more than a packet, so a bad one is an error string, never a crash.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "policy/schedule.h"

namespace imguard::policy {
namespace {

constexpr size_t kMaxFileBytes = size_t{1} << 20;
constexpr size_t kMaxNameBytes = 255;
constexpr size_t kHeaderBytes = 44;
constexpr int64_t kSecondsPerDay = 86400;
constexpr int64_t kSecondsPerHour = 3600;
// RFC 8536 section 3.2: utoff SHOULD be in -89999..93599 (-25h+1s .. +26h-1s).
constexpr int32_t kMinUtcOffset = -89999;
constexpr int32_t kMaxUtcOffset = 93599;
// POSIX allows 0..24 hours in an offset; RFC 8536 section 3.3.1 extends rule times to
// -167..167 hours.
constexpr int kMaxOffsetHours = 24;
constexpr int kMaxRuleTimeHours = 167;
// Rule evaluation clamps instants to +-2^52 s (~1.4e8 years) so the civil-calendar
// arithmetic below cannot overflow int64 for any sys_seconds a caller passes.
constexpr int64_t kRuleClampSeconds = int64_t{1} << 52;

constexpr int64_t floor_div(int64_t a, int64_t b) noexcept {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Howard Hinnant's days_from_civil / civil_from_days, proleptic Gregorian, int64 days.
constexpr int64_t days_from_civil(int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = floor_div(y, 400);
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

constexpr int64_t year_from_days(int64_t z) noexcept {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  return mp >= 10 ? y + 1 : y;  // months Jan, Feb belong to the next civil year
}

constexpr bool is_leap(int64_t y) noexcept {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(int64_t y, unsigned m) noexcept {
  constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// 0 = Sunday, as in POSIX Mm.w.d; 1970-01-01 was a Thursday.
constexpr unsigned weekday_from_days(int64_t z) noexcept {
  return static_cast<unsigned>(z + 4 - floor_div(z + 4, 7) * 7);
}

/// One date of a POSIX TZ rule: Jn (1..365, Feb 29 never counted), n (0..365) or Mm.w.d,
/// with the local time of day of the change.
struct RuleDate {
  enum class Kind : uint8_t { kJulianNoLeap, kZeroBased, kMonthWeekDay };
  Kind kind = Kind::kMonthWeekDay;
  unsigned day = 0;  // Jn: n; n: n; Mm.w.d: d (0 = Sunday)
  unsigned month = 1;
  unsigned week = 1;  // 5 = last
  int32_t time_seconds = 2 * 3600;

  /// Local day number (days since 1970-01-01) of this date in year `y`.
  int64_t day_in(int64_t y) const noexcept {
    const int64_t jan1 = days_from_civil(y, 1, 1);
    switch (kind) {
      case Kind::kJulianNoLeap:
        return jan1 + day - 1 + (is_leap(y) && day >= 60 ? 1 : 0);
      case Kind::kZeroBased:
        return jan1 + day;
      case Kind::kMonthWeekDay:
        break;
    }
    const int64_t first = days_from_civil(y, month, 1);
    const unsigned delta = (day + 7 - weekday_from_days(first)) % 7;
    int64_t result = first + delta + int64_t{7} * (week - 1);
    if (result >= first + days_in_month(y, month)) {
      result -= 7;  // week 5 means the last such weekday
    }
    return result;
  }
};

/// A parsed POSIX TZ string: standard offset and, optionally, DST with its two dates.
struct PosixRule {
  int32_t std_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  int32_t dst_offset = 0;
  RuleDate start;
  RuleDate end;

  struct Edge {
    int64_t at;
    bool to_dst;
  };
  /// The two changes of year `y`, as UTC instants. The start date is given in standard
  /// time and the end date in DST, as POSIX says.
  std::array<Edge, 2> edges_in(int64_t y) const noexcept {
    return {Edge{end.day_in(y) * kSecondsPerDay + end.time_seconds - dst_offset, false},
            Edge{start.day_in(y) * kSecondsPerDay + start.time_seconds - std_offset, true}};
  }

  int32_t offset_at(int64_t t) const noexcept {
    if (!has_dst) {
      return std_offset;
    }
    t = std::clamp(t, -kRuleClampSeconds, kRuleClampSeconds);
    const int64_t y = year_from_days(floor_div(t + std_offset, kSecondsPerDay));
    // The latest change at or before t among three years (rule times reach +-167 h, so a
    // change of year y-1 or y+1 may fall inside year y). On a tie the DST start wins: a
    // rule like "EST5EDT,0/0,J365/25" (RFC 8536 section 3.3.1) ends DST and restarts it
    // at the same instant, i.e. DST all year.
    bool dst = false;
    int64_t best = std::numeric_limits<int64_t>::min();
    for (int64_t yy = y - 1; yy <= y + 1; ++yy) {
      for (const Edge& e : edges_in(yy)) {
        if (e.at <= t && (e.at > best || (e.at == best && e.to_dst))) {
          best = e.at;
          dst = e.to_dst;
        }
      }
    }
    return dst ? dst_offset : std_offset;
  }
};

/// Parser of the TZ string grammar: std offset [dst [offset] [,start[/time],end[/time]]].
class PosixParser {
 public:
  explicit PosixParser(std::string_view s) : s_(s) {}

  std::optional<std::string> parse(PosixRule& rule) {
    if (!name()) {
      return "bad standard-time name";
    }
    int32_t west = 0;
    if (!hms(kMaxOffsetHours, west)) {
      return "bad or missing standard-time offset";
    }
    rule.std_offset = -west;
    if (at_end()) {
      return check_offsets(rule);
    }
    if (!name()) {
      return "bad daylight-time name";
    }
    rule.has_dst = true;
    rule.dst_offset = rule.std_offset + static_cast<int32_t>(kSecondsPerHour);
    if (!at_end() && peek() != ',') {
      if (!hms(kMaxOffsetHours, west)) {
        return "bad daylight-time offset";
      }
      rule.dst_offset = -west;
    }
    // POSIX leaves the dates implementation-defined when absent; refuse rather than guess.
    if (at_end() || peek() != ',') {
      return "daylight time without a ,start,end rule";
    }
    ++pos_;
    if (!date(rule.start)) {
      return "bad DST start date";
    }
    if (at_end() || peek() != ',') {
      return "missing DST end date";
    }
    ++pos_;
    if (!date(rule.end)) {
      return "bad DST end date";
    }
    if (!at_end()) {
      return "trailing characters";
    }
    return check_offsets(rule);
  }

 private:
  static std::optional<std::string> check_offsets(const PosixRule& rule) {
    const auto in_range = [](int32_t o) { return o >= kMinUtcOffset && o <= kMaxUtcOffset; };
    if (!in_range(rule.std_offset) || (rule.has_dst && !in_range(rule.dst_offset))) {
      return "offset out of range";
    }
    return std::nullopt;
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return s_[pos_]; }
  static bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  // <quoted> names may hold letters, digits, '+' and '-'; bare names only letters. Both
  // need at least three characters.
  bool name() {
    size_t n = 0;
    if (!at_end() && peek() == '<') {
      ++pos_;
      while (!at_end() && peek() != '>') {
        const char c = peek();
        if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-') {
          return false;
        }
        ++pos_;
        ++n;
      }
      if (at_end()) {
        return false;
      }
      ++pos_;  // '>'
    } else {
      while (!at_end() && is_alpha(peek())) {
        ++pos_;
        ++n;
      }
    }
    return n >= 3;
  }

  bool number(int max, int& out) {
    int value = 0;
    size_t digits = 0;
    while (!at_end() && is_digit(peek())) {
      value = value * 10 + (peek() - '0');
      ++pos_;
      if (++digits > 3 || value > max) {
        return false;
      }
    }
    out = value;
    return digits > 0;
  }

  // [+-]hh[:mm[:ss]], in seconds.
  bool hms(int max_hours, int32_t& out) {
    int sign = 1;
    if (!at_end() && (peek() == '+' || peek() == '-')) {
      sign = peek() == '-' ? -1 : 1;
      ++pos_;
    }
    int h = 0;
    int m = 0;
    int sec = 0;
    if (!number(max_hours, h)) {
      return false;
    }
    if (!at_end() && peek() == ':') {
      ++pos_;
      if (!number(59, m)) {
        return false;
      }
      if (!at_end() && peek() == ':') {
        ++pos_;
        if (!number(59, sec)) {
          return false;
        }
      }
    }
    out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

  bool date(RuleDate& d) {
    if (at_end()) {
      return false;
    }
    int a = 0;
    if (peek() == 'J') {
      ++pos_;
      if (!number(365, a) || a < 1) {
        return false;
      }
      d.kind = RuleDate::Kind::kJulianNoLeap;
      d.day = static_cast<unsigned>(a);
    } else if (peek() == 'M') {
      ++pos_;
      int w = 0;
      int wd = 0;
      if (!number(12, a) || a < 1 || at_end() || peek() != '.') {
        return false;
      }
      ++pos_;
      if (!number(5, w) || w < 1 || at_end() || peek() != '.') {
        return false;
      }
      ++pos_;
      if (!number(6, wd)) {
        return false;
      }
      d.kind = RuleDate::Kind::kMonthWeekDay;
      d.month = static_cast<unsigned>(a);
      d.week = static_cast<unsigned>(w);
      d.day = static_cast<unsigned>(wd);
    } else {
      if (!number(365, a)) {
        return false;
      }
      d.kind = RuleDate::Kind::kZeroBased;
      d.day = static_cast<unsigned>(a);
    }
    d.time_seconds = 2 * 3600;
    if (!at_end() && peek() == '/') {
      ++pos_;
      return hms(kMaxRuleTimeHours, d.time_seconds);
    }
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

/// Bounds-checked big-endian reader over the file's bytes.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  size_t remaining() const { return bytes_.size() - pos_; }
  size_t pos() const { return pos_; }
  bool skip(uint64_t n) {
    if (n > remaining()) {
      return false;
    }
    pos_ += static_cast<size_t>(n);
    return true;
  }
  // Callers check remaining() first.
  uint8_t u8() { return static_cast<uint8_t>(bytes_[pos_++]); }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      v = (v << 8) | u8();
    }
    return v;
  }
  int64_t i64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) {
      v = (v << 8) | u8();
    }
    return static_cast<int64_t>(v);
  }
  std::string_view rest() const { return bytes_.substr(pos_); }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

struct Header {
  char version = 0;
  uint32_t isutcnt = 0;
  uint32_t isstdcnt = 0;
  uint32_t leapcnt = 0;
  uint32_t timecnt = 0;
  uint32_t typecnt = 0;
  uint32_t charcnt = 0;

  uint64_t data_bytes(uint64_t time_bytes) const {
    return uint64_t{timecnt} * time_bytes + timecnt + uint64_t{typecnt} * 6 + charcnt +
           uint64_t{leapcnt} * (time_bytes + 4) + isstdcnt + isutcnt;
  }
};

std::optional<std::string> read_header(Reader& r, Header& h) {
  if (r.remaining() < kHeaderBytes) {
    return "truncated TZif header";
  }
  const std::string_view magic = r.rest().substr(0, 4);
  if (magic != "TZif") {
    return "not a TZif file (bad magic)";
  }
  r.skip(4);
  h.version = static_cast<char>(r.u8());
  if (h.version != 0 && (h.version < '2' || h.version > '9')) {
    return "unknown TZif version";
  }
  r.skip(15);
  h.isutcnt = r.u32();
  h.isstdcnt = r.u32();
  h.leapcnt = r.u32();
  h.timecnt = r.u32();
  h.typecnt = r.u32();
  h.charcnt = r.u32();
  return std::nullopt;
}

}  // namespace

struct TimeZone::Impl {
  std::vector<int64_t> transition_times;    // strictly ascending
  std::vector<int32_t> transition_offsets;  // offset from transition_times[i] on
  int32_t initial_offset = 0;               // before the first transition: type 0
  std::optional<PosixRule> rule;            // footer: after the last transition
};

namespace {

// Parses one data block (v1 with 4-byte times, or v2+ with 8-byte times).
std::optional<std::string> read_data(Reader& r, const Header& h, uint64_t time_bytes,
                                     TimeZone::Impl& out) {
  if (h.data_bytes(time_bytes) > r.remaining()) {
    return "truncated TZif data";
  }
  if (h.typecnt == 0 || h.typecnt > 256) {
    return "bad local time type count";
  }
  if (h.charcnt == 0) {
    return "empty time zone designations";
  }
  if ((h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
    return "bad standard/UT indicator count";
  }
  if (h.leapcnt != 0) {
    return "leap-second (\"right/\") zones are not supported";
  }
  std::vector<int64_t> times(h.timecnt);
  for (auto& t : times) {
    t = time_bytes == 8 ? r.i64() : static_cast<int64_t>(static_cast<int32_t>(r.u32()));
  }
  for (size_t i = 1; i < times.size(); ++i) {
    if (times[i] <= times[i - 1]) {
      return "transition times not strictly ascending";
    }
  }
  std::vector<uint8_t> indices(h.timecnt);
  for (auto& idx : indices) {
    idx = r.u8();
    if (idx >= h.typecnt) {
      return "transition type index out of range";
    }
  }
  std::vector<int32_t> type_offsets(h.typecnt);
  for (auto& off : type_offsets) {
    off = static_cast<int32_t>(r.u32());
    const uint8_t isdst = r.u8();
    const uint8_t desigidx = r.u8();
    if (off < kMinUtcOffset || off > kMaxUtcOffset) {
      return "UT offset out of range";
    }
    if (isdst > 1 || desigidx >= h.charcnt) {
      return "bad local time type record";
    }
  }
  r.skip(uint64_t{h.charcnt} + h.isstdcnt + h.isutcnt);
  out.transition_times = std::move(times);
  out.transition_offsets.resize(indices.size());
  std::transform(indices.begin(), indices.end(), out.transition_offsets.begin(),
                 [&](uint8_t idx) { return type_offsets[idx]; });
  out.initial_offset = type_offsets[0];
  return std::nullopt;
}

std::optional<std::string> parse_tzif(std::string_view bytes, TimeZone::Impl& out) {
  Reader r(bytes);
  Header h;
  if (auto err = read_header(r, h)) {
    return err;
  }
  if (h.version == 0) {
    return read_data(r, h, 4, out);
  }
  // v2+: skip the v1 block (only its size matters) and use the 64-bit one.
  if (!r.skip(h.data_bytes(4))) {
    return "truncated TZif v1 data";
  }
  if (auto err = read_header(r, h)) {
    return "second header: " + *err;
  }
  if (auto err = read_data(r, h, 8, out)) {
    return err;
  }
  const std::string_view rest = r.rest();
  if (rest.empty() || rest[0] != '\n') {
    return "missing TZ string footer";
  }
  const size_t close = rest.find('\n', 1);
  if (close == std::string_view::npos) {
    return "unterminated TZ string footer";
  }
  const std::string_view tz = rest.substr(1, close - 1);
  if (tz.empty()) {
    return std::nullopt;  // no rule: the last type stays in effect
  }
  PosixRule rule;
  if (auto err = PosixParser(tz).parse(rule)) {
    return "footer TZ string \"" + std::string(tz) + "\": " + *err;
  }
  out.rule = rule;
  return std::nullopt;
}

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes || name.front() == '/' ||
      name.find("..") != std::string_view::npos) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '/' ||
           c == '_' || c == '+' || c == '-';
  });
}

// Reads a regular file of at most kMaxFileBytes. Empty optional + errno_out on failure.
std::optional<std::string> read_file(const std::string& path, int& errno_out,
                                     bool& too_big_or_not_regular) {
  too_big_or_not_regular = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    errno_out = errno;
    return std::nullopt;
  }
  struct stat st {};
  std::optional<std::string> result;
  if (::fstat(fd, &st) != 0) {
    errno_out = errno;
  } else if (!S_ISREG(st.st_mode) || st.st_size < 0 ||
             static_cast<uint64_t>(st.st_size) > kMaxFileBytes) {
    too_big_or_not_regular = true;
  } else {
    std::string data(kMaxFileBytes + 1, '\0');
    size_t got = 0;
    while (got < data.size()) {
      const ssize_t n = ::read(fd, data.data() + got, data.size() - got);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        errno_out = errno;
        break;
      }
      if (n == 0) {
        data.resize(got);
        result = std::move(data);
        break;
      }
      got += static_cast<size_t>(n);
    }
    if (!result && got > kMaxFileBytes) {
      too_big_or_not_regular = true;  // grew while we read it
    }
  }
  ::close(fd);
  return result;
}

int64_t saturating_add(int64_t a, int64_t b) noexcept {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) {
    return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
  }
  return r;
}

}  // namespace

TimeZone::TimeZone(std::string name, std::shared_ptr<const Impl> impl)
    : name_(std::move(name)), impl_(std::move(impl)) {}

std::variant<std::shared_ptr<const TimeZone>, std::string> TimeZone::load(
    std::string_view name, const std::string& zoneinfo_dir) {
  try {
    const std::string quoted = "\"" + std::string(name) + "\"";
    if (!valid_name(name)) {
      return "unknown time zone " + quoted +
             " (names are IANA zones like \"Europe/Berlin\": [A-Za-z0-9/_+-], no \"..\", no "
             "leading '/')";
    }
    const std::string path = zoneinfo_dir + "/" + std::string(name);
    int err = 0;
    bool unusable = false;
    const auto bytes = read_file(path, err, unusable);
    if (!bytes) {
      if (unusable) {
        return "time zone " + quoted + ": " + path + " is not a regular file of at most " +
               std::to_string(kMaxFileBytes) + " bytes";
      }
      if (err == ENOENT || err == ENOTDIR) {
        return "unknown time zone " + quoted + " (no " + path + "; is tzdata installed?)";
      }
      return "time zone " + quoted + ": cannot read " + path + ": " + std::strerror(err);
    }
    auto impl = std::make_shared<Impl>();
    if (auto perr = parse_tzif(*bytes, *impl)) {
      return "time zone " + quoted + ": " + path + ": " + *perr;
    }
    return std::make_shared<const TimeZone>(std::string(name), std::move(impl));
  } catch (const std::exception& e) {
    return std::string("time zone: ") + e.what();
  }
}

std::shared_ptr<const TimeZone> TimeZone::utc() {
  static const std::shared_ptr<const TimeZone> utc_zone =
      std::make_shared<const TimeZone>("UTC", std::make_shared<const Impl>());
  return utc_zone;
}

int32_t TimeZone::utc_offset(std::chrono::sys_seconds t) const noexcept {
  const Impl& z = *impl_;
  const int64_t s = t.time_since_epoch().count();
  const auto& times = z.transition_times;
  // RFC 8536 section 3.2: with no transitions the footer (if any) covers all time.
  if (times.empty()) {
    return z.rule ? z.rule->offset_at(s) : z.initial_offset;
  }
  if (s < times.front()) {
    return z.initial_offset;
  }
  if (s > times.back() && z.rule) {
    return z.rule->offset_at(s);
  }
  const auto it = std::upper_bound(times.begin(), times.end(), s);
  return z.transition_offsets[static_cast<size_t>(it - times.begin()) - 1];
}

std::vector<std::chrono::sys_seconds> TimeZone::transitions(std::chrono::sys_seconds after,
                                                            std::chrono::seconds horizon) const {
  std::vector<std::chrono::sys_seconds> result;
  if (horizon.count() <= 0) {
    return result;
  }
  const int64_t from = after.time_since_epoch().count();
  const int64_t to = saturating_add(from, std::min(horizon, kMaxHorizon).count());
  const Impl& z = *impl_;
  std::vector<int64_t> candidates;
  const auto& times = z.transition_times;
  for (auto it = std::upper_bound(times.begin(), times.end(), from); it != times.end() && *it <= to;
       ++it) {
    candidates.push_back(*it);
  }
  if (z.rule && z.rule->has_dst) {
    const int64_t rule_from = times.empty() ? from : std::max(from, times.back());
    if (rule_from < to) {
      const auto clamp = [](int64_t v) {
        return std::clamp(v, -kRuleClampSeconds, kRuleClampSeconds);
      };
      const int64_t y0 = year_from_days(floor_div(clamp(rule_from), kSecondsPerDay)) - 1;
      const int64_t y1 = year_from_days(floor_div(clamp(to), kSecondsPerDay)) + 1;
      for (int64_t y = y0; y <= y1; ++y) {
        for (const auto& e : z.rule->edges_in(y)) {
          if (e.at > rule_from && e.at <= to) {
            candidates.push_back(e.at);
          }
        }
      }
    }
  }
  std::sort(candidates.begin(), candidates.end());
  candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  // Keep only real offset changes: a table entry may change only the abbreviation or the
  // isdst flag, and a rule edge may coincide with the table's last entry.
  for (const int64_t c : candidates) {
    const std::chrono::sys_seconds at{std::chrono::seconds(c)};
    if (utc_offset(at) != utc_offset(at - std::chrono::seconds(1))) {
      result.push_back(at);
    }
  }
  return result;
}

}  // namespace imguard::policy
