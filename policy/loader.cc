// SPDX-License-Identifier: GPL-3.0-or-later
// YAML → validated Config. The only file that includes yaml-cpp; every yaml-cpp exception
// is caught here and becomes a LoadError message.
#include "policy/loader.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <initializer_list>
#include <limits>
#include <variant>

#include "policy/marks.h"
#include "policy/validate.h"

namespace imguard::policy {

namespace {

using classifiers::AppId;
using classifiers::Category;

constexpr uint64_t kMinRate = 1000;             // bytes/s; below this a bucket is noise
constexpr uint64_t kMaxRate = 1'250'000'000;    // bytes/s = 10 Gbit/s
constexpr uint32_t kMaxQueueCount = 64;         // one worker thread per queue
constexpr uint32_t kMaxQueueLen = 1u << 20;     // packets
constexpr uint32_t kMaxBudget = 64;             // = classifiers::Budget::max_packets
constexpr uint64_t kMaxConfigBytes = 4u << 20;  // bytes

// engine.flows, per worker.
constexpr uint64_t kMinFlowCapacity = 1024;                   // flows per worker
constexpr uint64_t kMaxFlowCapacity = 16u << 20;              // flows per worker
constexpr uint64_t kMaxReassemblyBytes = uint64_t{16} << 30;  // bytes per worker
constexpr uint64_t kMaxQuicDerivationsPerSec = 1'000'000;     // per worker
constexpr uint64_t kMaxIdleSeconds = 86'400;                  // seconds

struct Pos {
  int line = 0;  // 1-based
  int column = 0;
};

/// Collects errors while walking the tree. Holds no YAML state beyond the walk.
class Validator {
 public:
  explicit Validator(std::string name) : name_(std::move(name)) {}

  void error(Pos at, const std::string& path, const std::string& problem,
             const std::string& expected = "") {
    std::string m = name_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " +
                    (path.empty() ? "(root)" : path) + ": " + problem;
    if (!expected.empty()) {
      m += " (expected: " + expected + ")";
    }
    diag_.error(std::move(m));
  }

  void warning(Pos at, const std::string& path, const std::string& problem) {
    diag_.warning(name_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                  ": warning: " + path + ": " + problem);
  }

  static Pos pos(const YAML::Node& n, Pos fallback) {
    const YAML::Mark m = n.Mark();
    if (m.line < 0 || m.column < 0) {
      return fallback;
    }
    return Pos{m.line + 1, m.column + 1};  // yaml-cpp marks are 0-based
  }

  struct Entry {
    std::string key;
    Pos key_pos;
    YAML::Node value;
    Pos value_pos;
  };

  /// The entries of a mapping in file order; reports a non-mapping, non-scalar keys,
  /// duplicate keys and (when `allowed` is non-empty) unknown keys. Null → no entries.
  std::vector<Entry> entries(const YAML::Node& map, Pos at, const std::string& path,
                             std::initializer_list<std::string_view> allowed) {
    std::vector<Entry> out;
    if (!map.IsDefined() || map.IsNull()) {
      return out;
    }
    if (!map.IsMap()) {
      error(pos(map, at), path, "not a mapping", "key: value pairs");
      return out;
    }
    std::string allowed_list;
    for (std::string_view a : allowed) {
      allowed_list += (allowed_list.empty() ? "" : ", ") + std::string(a);
    }
    for (const auto& kv : map) {
      const Pos kp = pos(kv.first, at);
      if (!kv.first.IsScalar()) {
        error(kp, path, "key is not a plain name");
        continue;
      }
      std::string key = kv.first.Scalar();
      const std::string child = path.empty() ? key : path + "." + key;
      bool known = allowed.size() == 0;
      for (std::string_view a : allowed) {
        known = known || a == key;
      }
      if (!known) {
        error(kp, child, "unknown key", allowed_list);
        continue;
      }
      bool dup = false;
      for (const Entry& e : out) {
        dup = dup || e.key == key;
      }
      if (dup) {
        error(kp, child, "duplicate key");
        continue;
      }
      out.push_back(Entry{std::move(key), kp, kv.second, pos(kv.second, kp)});
    }
    return out;
  }

  std::optional<std::string> scalar(const Entry& e, const std::string& path,
                                    const std::string& expected) {
    if (!e.value.IsScalar()) {
      error(e.value_pos, path, "not a single value", expected);
      return std::nullopt;
    }
    return e.value.Scalar();
  }

  /// Decimal or 0x-hex unsigned integer within [min, max].
  std::optional<uint64_t> integer(const Entry& e, const std::string& path, uint64_t min,
                                  uint64_t max) {
    const std::string expected =
        "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    auto s = scalar(e, path, expected);
    if (!s) {
      return std::nullopt;
    }
    uint64_t v = 0;
    const char* begin = s->data();
    const char* end = s->data() + s->size();
    int base = 10;
    if (s->size() > 2 && (*s)[0] == '0' && ((*s)[1] == 'x' || (*s)[1] == 'X')) {
      begin += 2;
      base = 16;
    }
    auto [ptr, ec] = std::from_chars(begin, end, v, base);
    if (ec != std::errc() || ptr != end || begin == end) {
      error(e.value_pos, path, "\"" + *s + "\" is not an integer", expected);
      return std::nullopt;
    }
    if (v < min || v > max) {
      error(e.value_pos, path, *s + " is out of range", expected);
      return std::nullopt;
    }
    return v;
  }

  std::optional<bool> boolean(const Entry& e, const std::string& path) {
    auto s = scalar(e, path, "true, false");
    if (!s) {
      return std::nullopt;
    }
    if (*s == "true") {
      return true;
    }
    if (*s == "false") {
      return false;
    }
    error(e.value_pos, path, "\"" + *s + "\" is not a boolean", "true, false");
    return std::nullopt;
  }

  /// One of `names`; returns its index.
  std::optional<size_t> choice(const Entry& e, const std::string& path,
                               std::initializer_list<std::string_view> names) {
    std::string list;
    for (std::string_view n : names) {
      list += (list.empty() ? "" : ", ") + std::string(n);
    }
    auto s = scalar(e, path, list);
    if (!s) {
      return std::nullopt;
    }
    size_t i = 0;
    for (std::string_view n : names) {
      if (n == *s) {
        return i;
      }
      ++i;
    }
    error(e.value_pos, path, "unknown value \"" + *s + "\"", list);
    return std::nullopt;
  }

  std::vector<std::string> take_errors() { return std::move(diag_.errors); }
  std::vector<std::string> take_warnings() { return std::move(diag_.warnings); }
  bool ok() const { return diag_.errors.empty(); }
  size_t error_count() const { return diag_.errors.size(); }
  Diagnostics& sink() { return diag_; }

 private:
  std::string name_;
  Diagnostics diag_;
};

constexpr const char* kActionExpected =
    "allow, drop, reject, throttle <rate> [per user|per host|shared|per flow], each optionally "
    "after monitor; rates like 256kbit/s, 1Mbit/s, 64kB/s";

/// "256kbit/s", "2Mbit/s", "64kB/s", "1000B/s" → bytes per second. Decimal prefixes.
std::optional<uint64_t> parse_rate(std::string_view s) {
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || ptr == s.data()) {
    return std::nullopt;
  }
  const std::string_view unit = s.substr(static_cast<size_t>(ptr - s.data()));
  struct Unit {
    std::string_view name;
    uint64_t mult;
    uint64_t div;
  };
  static constexpr Unit kUnits[] = {
      {"B/s", 1, 1},   {"kB/s", 1000, 1},   {"MB/s", 1'000'000, 1},   {"GB/s", 1'000'000'000, 1},
      {"bit/s", 1, 8}, {"kbit/s", 1000, 8}, {"Mbit/s", 1'000'000, 8}, {"Gbit/s", 1'000'000'000, 8},
  };
  for (const Unit& u : kUnits) {
    if (u.name == unit) {
      if (n > std::numeric_limits<uint64_t>::max() / u.mult) {
        return std::nullopt;
      }
      return n * u.mult / u.div;
    }
  }
  return std::nullopt;
}

std::string all_app_names() {
  std::string s;
  for (const auto& a : classifiers::all_apps()) {
    s += (s.empty() ? "" : ", ") + std::string(a.name);
  }
  return s;
}

/// Items of a scalar-or-sequence value (`who: it` and `who: [it, sales]` alike).
struct Item {
  std::string text;
  Pos pos;
};

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64) {
    return false;
  }
  for (char c : n) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '@';
    if (!ok) {
      return false;
    }
  }
  return true;
}

constexpr const char* kNameExpected = "1-64 characters from A-Z a-z 0-9 _ - . @";
constexpr const char* kReservedExpected =
    "a name other than anyone and unknown, which `who:` uses for everybody and for hosts of no "
    "user";

/// An address or network, or why it is not one (the text after the quoted input).
std::variant<Cidr, std::string> parse_cidr(const std::string& text) {
  const size_t slash = text.find('/');
  const std::string host = text.substr(0, slash);
  const packet::Address a = packet::Address::parse(host);
  if (a.family == packet::Address::Family::kNone) {
    return std::string("is not an IPv4 or IPv6 address or network");
  }
  const unsigned max = a.is_v4() ? 32 : 128;
  unsigned len = max;
  if (slash != std::string::npos) {
    const std::string p = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), len);
    if (ec != std::errc() || ptr != p.data() + p.size() || p.empty() || len > max) {
      return "has a bad prefix length (0 to " + std::to_string(max) + ")";
    }
  }
  Cidr c;
  c.addr = a;
  c.prefix_len = static_cast<uint8_t>(len);
  // Host bits must be zero: "10.0.1.5/24" is almost always a typo for a host or a network.
  Cidr masked = c;
  for (unsigned bit = len; bit < max; ++bit) {
    masked.addr.bytes[bit / 8] =
        static_cast<uint8_t>(masked.addr.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  if (!(masked.addr == c.addr)) {
    return "has host bits set (did you mean " + masked.to_string() + " or " + host + "?)";
  }
  return c;
}

std::optional<MacAddress> parse_mac(const std::string& text) {
  MacAddress m{};
  if (text.size() != 17) {
    return std::nullopt;
  }
  for (size_t i = 0; i < 6; ++i) {
    const size_t at = i * 3;
    if (i > 0 && text[at - 1] != ':' && text[at - 1] != '-') {
      return std::nullopt;
    }
    unsigned v = 0;
    auto [ptr, ec] = std::from_chars(text.data() + at, text.data() + at + 2, v, 16);
    if (ec != std::errc() || ptr != text.data() + at + 2) {
      return std::nullopt;
    }
    m[i] = static_cast<uint8_t>(v);
  }
  return m;
}

/// "08:00" → minutes; "24:00" allowed as an end.
std::optional<uint16_t> parse_clock(std::string_view s) {
  if (s.size() != 5 || s[2] != ':') {
    return std::nullopt;
  }
  unsigned h = 0;
  unsigned m = 0;
  auto [p1, e1] = std::from_chars(s.data(), s.data() + 2, h);
  auto [p2, e2] = std::from_chars(s.data() + 3, s.data() + 5, m);
  if (e1 != std::errc() || e2 != std::errc() || p1 != s.data() + 2 || p2 != s.data() + 5 ||
      m > 59 || h > 24 || (h == 24 && m != 0)) {
    return std::nullopt;
  }
  return static_cast<uint16_t>(h * 60 + m);
}

class ConfigBuilder {
 public:
  explicit ConfigBuilder(const std::string& name, const LoadOptions& options)
      : v_(name), options_(options) {
    cfg_ = default_config();
    cfg_.source = name;
    cfg_.policy.rules.clear();
  }

  LoadResult build(const YAML::Node& root) {
    const Pos top{1, 1};
    if (!root.IsDefined() || root.IsNull() || !root.IsMap()) {
      v_.error(Validator::pos(root, top), "", "the configuration must be a mapping",
               "version: 1, engine: ..., rules: ..., actions: ...");
      return LoadError{v_.take_errors()};
    }
    bool have_version = false;
    std::map<std::string, Validator::Entry> sections;
    for (auto& e : v_.entries(root, top, "",
                              {"version", "engine", "networks", "users", "groups", "schedules",
                               "rules", "actions"})) {
      if (e.key == "version") {
        have_version = true;
        if (auto n = v_.integer(e, "version", kConfigVersion, kConfigVersion)) {
          cfg_.version = static_cast<int>(*n);
        }
      } else {
        sections.emplace(e.key, e);
      }
    }
    if (!have_version) {
      v_.error(top, "version", "missing", std::to_string(kConfigVersion));
    }
    // Sections are read in dependency order, whatever their order in the file.
    auto section = [&](const char* key, auto&& fn) {
      if (auto it = sections.find(key); it != sections.end()) {
        fn(it->second);
      }
    };
    section("engine", [&](const Validator::Entry& e) { engine(e); });
    section("networks", [&](const Validator::Entry& e) { networks(e); });
    section("users", [&](const Validator::Entry& e) { users(e); });
    section("groups", [&](const Validator::Entry& e) { groups(e); });
    section("schedules", [&](const Validator::Entry& e) { schedules(e); });
    section("rules", [&](const Validator::Entry& e) { rules(e); });
    cfg_.policy.ordered_rules = static_cast<uint16_t>(cfg_.policy.rules.size());
    table_defaults();
    section("actions", [&](const Validator::Entry& e) { actions(e); });
    if (!local_given_) {
      cfg_.policy.local_networks = default_local_networks();
    }
    if (v_.ok()) {
      finish_policy(cfg_, v_.sink());
    }
    if (!v_.ok()) {
      return LoadError{v_.take_errors(), v_.take_warnings()};
    }
    cfg_.warnings = v_.take_warnings();
    return std::make_shared<const Config>(std::move(cfg_));
  }

 private:
  // ---- helpers for list-valued keys -------------------------------------------------

  /// A scalar or a sequence of scalars.
  std::vector<Item> items(const Validator::Entry& e, const std::string& path,
                          const std::string& expected) {
    std::vector<Item> out;
    if (e.value.IsScalar()) {
      out.push_back(Item{e.value.Scalar(), e.value_pos});
      return out;
    }
    if (e.value.IsNull()) {
      return out;
    }
    if (!e.value.IsSequence()) {
      v_.error(e.value_pos, path, "not a value or a list", expected);
      return out;
    }
    for (const auto& n : e.value) {
      const Pos p = Validator::pos(n, e.value_pos);
      if (!n.IsScalar()) {
        v_.error(p, path, "list item is not a single value", expected);
        continue;
      }
      out.push_back(Item{n.Scalar(), p});
    }
    return out;
  }

  std::vector<Cidr> cidrs(const Validator::Entry& e, const std::string& path) {
    std::vector<Cidr> out;
    constexpr const char* kExpected = "addresses or networks like 10.0.1.10, 10.0.9.0/24, fd00::/8";
    for (const Item& it : items(e, path, kExpected)) {
      auto c = parse_cidr(it.text);
      if (auto* cidr = std::get_if<Cidr>(&c)) {
        out.push_back(*cidr);
      } else {
        v_.error(it.pos, path, "\"" + it.text + "\" " + std::get<std::string>(c), kExpected);
      }
    }
    return out;
  }

  std::string origin(Pos at) const {
    return cfg_.source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
  }

  // ---- engine ---------------------------------------------------------------------

  void engine(const Validator::Entry& parent) {
    for (const auto& e :
         v_.entries(parent.value, parent.value_pos, "engine",
                    {"backend", "mode", "queue", "mark_mask", "budget", "reject_with", "enforce",
                     "events", "metrics", "on_anomaly", "flows"})) {
      const std::string path = "engine." + e.key;
      if (e.key == "backend") {
        if (auto i = v_.choice(e, path, {"auto", "nftables", "iptables"})) {
          cfg_.backend = static_cast<Backend>(*i);
        }
      } else if (e.key == "mode") {
        if (auto i = v_.choice(e, path, {"gateway", "host"})) {
          cfg_.mode = static_cast<HookMode>(*i);
        }
      } else if (e.key == "reject_with") {
        if (auto i = v_.choice(e, path, {"tcp-reset", "icmp"})) {
          cfg_.reject_with = static_cast<RejectWith>(*i);
        }
      } else if (e.key == "on_anomaly") {
        if (auto i = v_.choice(e, path, {"accept", "drop"})) {
          cfg_.anomaly_accept = *i == 0;
        }
      } else if (e.key == "events") {
        events(e);
      } else if (e.key == "metrics") {
        metrics(e);
      } else if (e.key == "enforce") {
        if (auto b = v_.boolean(e, path)) {
          cfg_.policy.enforce = *b;
        }
      } else if (e.key == "mark_mask") {
        if (auto n = v_.integer(e, path, 0, 0xffffffff)) {
          if (!valid_mark_mask(static_cast<uint32_t>(*n))) {
            v_.error(e.value_pos, path, "\"" + e.value.Scalar() + "\" is not a usable window",
                     "one contiguous run of at least 3 set bits, e.g. 0x00ff0000");
          } else {
            cfg_.mark_mask = static_cast<uint32_t>(*n);
          }
        }
      } else if (e.key == "queue") {
        queue(e);
      } else if (e.key == "flows") {
        flows(e);
      } else {
        budget(e);
      }
    }
  }

  /// An absolute path, or "" (off).
  std::optional<std::string> path_value(const Validator::Entry& e, const std::string& path) {
    auto v = v_.scalar(e, path, "an absolute path");
    if (v && !v->empty() && (*v)[0] != '/') {
      v_.error(e.value_pos, path, "\"" + *v + "\" is not an absolute path",
               "e.g. /var/log/imguard/events.json");
      return std::nullopt;
    }
    return v;
  }

  void events(const Validator::Entry& parent) {
    for (const auto& e :
         v_.entries(parent.value, parent.value_pos, "engine.events", {"file", "journal"})) {
      const std::string path = "engine.events." + e.key;
      if (e.key == "file") {
        if (auto p = path_value(e, path)) {
          cfg_.events_file = *p;
        }
      } else if (auto b = v_.boolean(e, path)) {
        cfg_.events_journal = *b;
      }
    }
  }

  void metrics(const Validator::Entry& parent) {
    for (const auto& e :
         v_.entries(parent.value, parent.value_pos, "engine.metrics", {"listen", "textfile"})) {
      const std::string path = "engine.metrics." + e.key;
      if (e.key == "textfile") {
        if (auto p = path_value(e, path)) {
          cfg_.metrics_textfile = *p;
        }
        continue;
      }
      constexpr const char* kListen =
          "ADDRESS:PORT on this host, e.g. 127.0.0.1:9737 or [::1]:9737";
      auto v = v_.scalar(e, path, kListen);
      if (!v) {
        continue;
      }
      const size_t colon = v->rfind(':');
      std::string host = colon == std::string::npos ? "" : v->substr(0, colon);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
      }
      unsigned port = 0;
      const std::string p = colon == std::string::npos ? "" : v->substr(colon + 1);
      auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
      if (packet::Address::parse(host).family == packet::Address::Family::kNone ||
          ec != std::errc() || ptr != p.data() + p.size() || port == 0 || port > 65535) {
        v_.error(e.value_pos, path, "\"" + *v + "\" is not an address and port", kListen);
        continue;
      }
      cfg_.metrics_listen = *v;
    }
  }

  void queue(const Validator::Entry& parent) {
    Pos count_pos = parent.value_pos;
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "engine.queue",
                                    {"first", "count", "maxlen", "fail_open", "bypass"})) {
      const std::string path = "engine.queue." + e.key;
      if (e.key == "first") {
        if (auto n = v_.integer(e, path, 0, 65535)) {
          cfg_.queue_first = static_cast<uint16_t>(*n);
        }
      } else if (e.key == "count") {
        count_pos = e.value_pos;
        if (auto n = v_.integer(e, path, 1, kMaxQueueCount)) {
          cfg_.queue_count = static_cast<uint16_t>(*n);
        }
      } else if (e.key == "maxlen") {
        if (auto n = v_.integer(e, path, 1, kMaxQueueLen)) {
          cfg_.queue_maxlen = static_cast<uint32_t>(*n);
        }
      } else if (e.key == "fail_open") {
        if (auto b = v_.boolean(e, path)) {
          cfg_.fail_open = *b;
        }
      } else if (auto b = v_.boolean(e, path)) {
        cfg_.queue_bypass = *b;
      }
    }
    if (uint32_t{cfg_.queue_first} + cfg_.queue_count > 65536) {
      v_.error(count_pos, "engine.queue.count",
               "queues " + std::to_string(cfg_.queue_first) + ".." +
                   std::to_string(cfg_.queue_first + cfg_.queue_count - 1) +
                   " pass the last queue number",
               "first + count <= 65536");
    }
  }

  void flows(const Validator::Entry& parent) {
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "engine.flows",
                                    {"capacity", "reassembly_bytes", "quic_derivations_per_sec",
                                     "udp_idle_seconds", "tcp_idle_seconds"})) {
      const std::string path = "engine.flows." + e.key;
      if (e.key == "udp_idle_seconds" || e.key == "tcp_idle_seconds") {
        if (auto n = v_.integer(e, path, 1, kMaxIdleSeconds)) {
          (e.key == "udp_idle_seconds" ? cfg_.udp_idle : cfg_.tcp_idle) = std::chrono::seconds(*n);
        }
      } else if (e.key == "capacity") {
        if (auto n = v_.integer(e, path, kMinFlowCapacity, kMaxFlowCapacity)) {
          cfg_.flow_capacity = static_cast<uint32_t>(*n);
        }
      } else if (e.key == "quic_derivations_per_sec") {
        if (auto n = v_.integer(e, path, 0, kMaxQuicDerivationsPerSec)) {
          cfg_.quic_derivations_per_sec = static_cast<uint32_t>(*n);
        }
      } else if (auto n = v_.integer(e, path, 0, kMaxReassemblyBytes)) {
        cfg_.reassembly_bytes = static_cast<uint64_t>(*n);
      }
    }
  }

  void budget(const Validator::Entry& parent) {
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "engine.budget",
                                    {"tcp_packets", "udp_packets"})) {
      const std::string path = "engine.budget." + e.key;
      if (auto n = v_.integer(e, path, 1, kMaxBudget)) {
        (e.key == "tcp_packets" ? cfg_.tcp_budget : cfg_.udp_budget) = static_cast<uint16_t>(*n);
      }
    }
  }

  // ---- identities -----------------------------------------------------------------

  void networks(const Validator::Entry& parent) {
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "networks", {"local"})) {
      cfg_.policy.local_networks = cidrs(e, "networks.local");
      local_given_ = true;
    }
  }

  bool reserved(const std::string& name) const { return name == "anyone" || name == "unknown"; }

  void users(const Validator::Entry& parent) {
    for (const auto& u : v_.entries(parent.value, parent.value_pos, "users", {})) {
      const std::string path = "users." + u.key;
      if (!valid_name(u.key) || reserved(u.key)) {
        v_.error(u.key_pos, path,
                 reserved(u.key) ? "\"" + u.key + "\" is a reserved word" : "bad user name",
                 reserved(u.key) ? kReservedExpected : kNameExpected);
        continue;
      }
      if (cfg_.policy.users.size() >= kMaxUsers) {
        v_.error(u.key_pos, path, "too many users", "at most " + std::to_string(kMaxUsers));
        return;
      }
      User user;
      user.name = u.key;
      user.origin = origin(u.key_pos);
      const size_t errors_before = v_.error_count();
      for (const auto& e :
           v_.entries(u.value, u.value_pos, path, {"addresses", "macs", "uids", "unix_users"})) {
        const std::string p = path + "." + e.key;
        if (e.key == "addresses") {
          user.addresses = cidrs(e, p);
        } else if (e.key == "macs") {
          for (const Item& it : items(e, p, "MAC addresses like 02:00:00:00:01:10")) {
            if (auto m = parse_mac(it.text)) {
              user.macs.push_back(*m);
            } else {
              v_.error(it.pos, p, "\"" + it.text + "\" is not a MAC address",
                       "six hex bytes like 02:00:00:00:01:10");
            }
          }
        } else if (e.key == "uids") {
          for (const Item& it : items(e, p, "numeric user ids")) {
            uint32_t uid = 0;
            auto [ptr, ec] = std::from_chars(it.text.data(), it.text.data() + it.text.size(), uid);
            if (ec != std::errc() || ptr != it.text.data() + it.text.size() || it.text.empty()) {
              v_.error(it.pos, p, "\"" + it.text + "\" is not a numeric uid", "0 to 4294967295");
            } else {
              user.uids.push_back(uid);
            }
          }
        } else {
          for (const Item& it : items(e, p, "local account names")) {
            if (auto uid = options_.resolve_unix_user(it.text)) {
              user.uids.push_back(*uid);
            } else {
              v_.error(it.pos, p, "no local account \"" + it.text + "\" on this machine",
                       "a name from /etc/passwd, or its number under uids:");
            }
          }
        }
      }
      // Not when every identity given was refused: that was reported item by item.
      if (user.addresses.empty() && user.macs.empty() && user.uids.empty() &&
          v_.error_count() == errors_before) {
        v_.error(u.value_pos, path, "identifies nobody",
                 "at least one of addresses, macs, uids, unix_users");
      }
      cfg_.policy.users.push_back(std::move(user));
    }
  }

  std::optional<uint16_t> user_index(const std::string& name) const {
    for (size_t i = 0; i < cfg_.policy.users.size(); ++i) {
      if (cfg_.policy.users[i].name == name) {
        return static_cast<uint16_t>(i);
      }
    }
    return std::nullopt;
  }
  std::optional<uint16_t> group_index(const std::string& name) const {
    for (size_t i = 0; i < cfg_.policy.groups.size(); ++i) {
      if (cfg_.policy.groups[i].name == name) {
        return static_cast<uint16_t>(i);
      }
    }
    return std::nullopt;
  }
  std::optional<uint16_t> schedule_index(const std::string& name) const {
    for (size_t i = 0; i < cfg_.policy.schedules.size(); ++i) {
      if (cfg_.policy.schedules[i].name == name) {
        return static_cast<uint16_t>(i);
      }
    }
    return std::nullopt;
  }

  void groups(const Validator::Entry& parent) {
    for (const auto& g : v_.entries(parent.value, parent.value_pos, "groups", {})) {
      const std::string path = "groups." + g.key;
      if (!valid_name(g.key) || reserved(g.key)) {
        v_.error(g.key_pos, path,
                 reserved(g.key) ? "\"" + g.key + "\" is a reserved word" : "bad group name",
                 reserved(g.key) ? kReservedExpected : kNameExpected);
        continue;
      }
      if (user_index(g.key)) {
        v_.error(g.key_pos, path, "a user has the same name",
                 "distinct names for users and groups");
        continue;
      }
      if (cfg_.policy.groups.size() >= kMaxGroups) {
        v_.error(g.key_pos, path, "too many groups", "at most " + std::to_string(kMaxGroups));
        return;
      }
      Group group;
      group.name = g.key;
      group.origin = origin(g.key_pos);
      const auto gi = cfg_.policy.groups.size();
      const size_t errors_before = v_.error_count();
      for (const auto& e : v_.entries(g.value, g.value_pos, path, {"members", "addresses"})) {
        const std::string p = path + "." + e.key;
        if (e.key == "addresses") {
          group.addresses = cidrs(e, p);
          continue;
        }
        for (const Item& it : items(e, p, "user names")) {
          if (auto u = user_index(it.text)) {
            group.members.push_back(*u);
            cfg_.policy.users[*u].groups.set(gi);
          } else {
            v_.error(it.pos, p, "unknown user \"" + it.text + "\"", user_list());
          }
        }
      }
      if (group.members.empty() && group.addresses.empty() && v_.error_count() == errors_before) {
        v_.error(g.value_pos, path, "has no members and no addresses",
                 "members: [...], addresses: [...]");
      }
      cfg_.policy.groups.push_back(std::move(group));
    }
  }

  std::string user_list() const {
    std::string s;
    for (const User& u : cfg_.policy.users) {
      s += (s.empty() ? "" : ", ") + u.name;
    }
    return s.empty() ? "a name defined under users:" : s;
  }
  std::string who_list() const {
    std::string s = "anyone, unknown";
    for (const User& u : cfg_.policy.users) {
      s += ", " + u.name;
    }
    for (const Group& g : cfg_.policy.groups) {
      s += ", " + g.name;
    }
    return s;
  }
  std::string schedule_list() const {
    std::string s;
    for (const Schedule& sc : cfg_.policy.schedules) {
      s += (s.empty() ? "" : ", ") + sc.name;
    }
    return s.empty() ? "a name defined under schedules:" : s;
  }

  // ---- schedules --------------------------------------------------------------------

  void schedules(const Validator::Entry& parent) {
    static constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    for (const auto& sc : v_.entries(parent.value, parent.value_pos, "schedules", {})) {
      const std::string path = "schedules." + sc.key;
      if (!valid_name(sc.key)) {
        v_.error(sc.key_pos, path, "bad schedule name", kNameExpected);
        continue;
      }
      if (cfg_.policy.schedules.size() >= kMaxSchedules) {
        v_.error(sc.key_pos, path, "too many schedules",
                 "at most " + std::to_string(kMaxSchedules));
        return;
      }
      Schedule s;
      s.name = sc.key;
      s.origin = origin(sc.key_pos);
      bool have_time = false;
      bool have_zone = false;
      for (const auto& e : v_.entries(sc.value, sc.value_pos, path, {"days", "time", "timezone"})) {
        const std::string p = path + "." + e.key;
        if (e.key == "days") {
          s.days = 0;
          bool bad_day = false;
          for (const Item& it : items(e, p, "mon, tue, wed, thu, fri, sat, sun")) {
            bool found = false;
            for (size_t d = 0; d < 7; ++d) {
              if (kDays[d] == it.text) {
                s.days = static_cast<uint8_t>(s.days | (1u << d));
                found = true;
              }
            }
            if (!found) {
              bad_day = true;
              v_.error(it.pos, p, "unknown day \"" + it.text + "\"",
                       "mon, tue, wed, thu, fri, sat, sun");
            }
          }
          if (s.days == 0 && !bad_day) {
            v_.error(e.value_pos, p, "no days", "a list like [mon, tue, wed, thu, fri]");
          }
        } else if (e.key == "time") {
          have_time = true;
          for (const Item& it : items(e, p, "HH:MM-HH:MM, e.g. 08:00-18:00 or 22:00-06:00")) {
            const size_t dash = it.text.find('-');
            std::optional<uint16_t> from;
            std::optional<uint16_t> to;
            if (dash != std::string::npos) {
              from = parse_clock(std::string_view(it.text).substr(0, dash));
              to = parse_clock(std::string_view(it.text).substr(dash + 1));
            }
            if (!from || !to || *from == 1440) {
              v_.error(it.pos, p, "\"" + it.text + "\" is not a time range",
                       "HH:MM-HH:MM, e.g. 08:00-18:00 or 22:00-06:00 (crosses midnight)");
            } else if (*from == *to) {
              v_.error(it.pos, p, "\"" + it.text + "\" is empty (start equals end)",
                       "00:00-24:00 for the whole day");
            } else {
              s.windows.push_back(TimeWindow{*from, *to});
            }
          }
        } else {
          have_zone = true;
          auto name = v_.scalar(e, p, "an IANA zone name like Europe/Berlin or UTC");
          if (!name) {
            continue;
          }
          auto tz = TimeZone::load(*name, options_.zoneinfo_dir);
          if (auto* err = std::get_if<std::string>(&tz)) {
            v_.error(e.value_pos, p, *err, "an IANA zone name like Europe/Berlin or UTC");
          } else {
            s.zone = std::get<std::shared_ptr<const TimeZone>>(tz);
          }
        }
      }
      if (!have_time) {
        v_.error(sc.value_pos, path + ".time", "missing", "HH:MM-HH:MM, e.g. 08:00-18:00");
      }
      if (!have_zone) {
        s.zone = TimeZone::utc();
        v_.warning(sc.value_pos, path, "no timezone given; times are UTC");
      }
      if (!s.zone) {
        s.zone = TimeZone::utc();  // an error was reported; keeps later code simple
      }
      cfg_.policy.schedules.push_back(std::move(s));
    }
  }

  // ---- rules ------------------------------------------------------------------------

  void rules(const Validator::Entry& parent) {
    if (parent.value.IsNull()) {
      return;
    }
    if (!parent.value.IsSequence()) {
      v_.error(parent.value_pos, "rules", "not a list",
               "a list of rules like - {name: ..., action: ...}");
      return;
    }
    size_t index = 0;
    for (const auto& node : parent.value) {
      const std::string path = "rules[" + std::to_string(index++) + "]";
      const Pos at = Validator::pos(node, parent.value_pos);
      if (cfg_.policy.rules.size() >= kMaxRules) {
        v_.error(at, "rules", "too many rules", "at most " + std::to_string(kMaxRules));
        return;
      }
      rule(node, at, path);
    }
  }

  void rule(const YAML::Node& node, Pos at, const std::string& path) {
    Rule r;
    r.origin = origin(at);
    bool have_action = false;
    bool have_name = false;
    const auto entries = v_.entries(node, at, path,
                                    {"name", "who", "app", "category", "feature", "direction",
                                     "evidence", "when", "not_when", "action"});
    if (!node.IsMap()) {
      return;  // reported by entries()
    }
    // The name first, so every later message can say which rule it is about.
    std::string label = path;
    for (const auto& e : entries) {
      if (e.key == "name") {
        auto n = v_.scalar(e, path + ".name", kNameExpected);
        have_name = have_name || n.has_value();  // a bad name is reported once, not as missing
        if (n && !valid_name(*n)) {
          v_.error(e.value_pos, path + ".name", "bad rule name \"" + *n + "\"", kNameExpected);
        } else if (n && (*n == "default" || n->starts_with("actions."))) {
          // Those are the names of the legacy table's entries in logs and outputs.
          v_.error(e.value_pos, path + ".name", "\"" + *n + "\" is reserved for the actions: table",
                   "a name other than default and actions.*");
        } else if (n) {
          r.name = *n;
          bool duplicate = false;
          for (const Rule& other : cfg_.policy.rules) {
            if (other.name == *n) {
              duplicate = true;
              v_.error(e.value_pos, path + ".name",
                       "duplicate rule name \"" + *n + "\" (first at " + other.origin + ")",
                       "unique names: logs, metrics and throttle buckets use them");
            }
          }
          // A duplicate keeps its index in later messages: "rules.a" would name both.
          label = duplicate ? path : "rules." + *n;
        }
      }
    }
    if (!have_name) {
      v_.error(at, path + ".name", "missing", "a unique name for the rule");
    }
    for (const auto& e : entries) {
      const std::string p = label + "." + e.key;
      if (e.key == "who") {
        who(e, p, r);
      } else if (e.key == "app") {
        for (const Item& it : items(e, p, "app names")) {
          if (auto a = classifiers::app_from_name(it.text)) {
            r.apps.push_back(*a);
          } else {
            v_.error(it.pos, p, "unknown app \"" + it.text + "\"", all_app_names());
          }
        }
      } else if (e.key == "category") {
        constexpr const char* kCats = "unknown, im, p2p, voip, tunnel, other";
        for (const Item& it : items(e, p, kCats)) {
          if (auto c = classifiers::category_from_name(it.text)) {
            r.categories.push_back(*c);
          } else {
            v_.error(it.pos, p, "unknown category \"" + it.text + "\"", kCats);
          }
        }
      } else if (e.key == "feature") {
        constexpr const char* kFeatures = "file_transfer, serving, cleartext";
        for (const Item& it : items(e, p, kFeatures)) {
          bool found = false;
          for (uint8_t f : kRuleFeatures) {
            if (feature_name(f) == it.text) {
              r.features = static_cast<uint8_t>(r.features | f);
              found = true;
            }
          }
          if (!found) {
            v_.error(it.pos, p, "unknown feature \"" + it.text + "\"", kFeatures);
          }
        }
      } else if (e.key == "direction") {
        if (auto i = v_.choice(e, p, {"serving", "initiating"})) {
          r.direction = *i == 0 ? FlowDirection::kServing : FlowDirection::kInitiating;
        }
      } else if (e.key == "evidence") {
        constexpr const char* kEv = "dpi, cross_flow, behaviour, address_list, port_guess, none";
        for (const Item& it : items(e, p, kEv)) {
          bool found = false;
          for (uint8_t ev = 0; ev <= static_cast<uint8_t>(classifiers::Evidence::kDpi); ++ev) {
            if (classifiers::evidence_name(static_cast<classifiers::Evidence>(ev)) == it.text) {
              r.evidence = static_cast<uint8_t>(r.evidence | (1u << ev));
              found = true;
            }
          }
          if (!found) {
            v_.error(it.pos, p, "unknown evidence \"" + it.text + "\"", kEv);
          }
        }
      } else if (e.key == "when" || e.key == "not_when") {
        auto n = v_.scalar(e, p, schedule_list());
        if (!n) {
          continue;
        }
        if (auto s = schedule_index(*n)) {
          (e.key == "when" ? r.when : r.not_when) = *s;
        } else {
          v_.error(e.value_pos, p, "unknown schedule \"" + *n + "\"", schedule_list());
        }
      } else if (e.key == "action") {
        have_action = true;
        if (auto spec = action(e, p, ThrottleScope::kPerUser, AllowScope::kYes)) {
          r.spec = *spec;
        }
      }
    }
    if (!have_action) {
      v_.error(at, label + ".action", "missing", kActionExpected);
    }
    if (r.when != kNoSchedule && r.when == r.not_when) {
      v_.error(at, label, "when and not_when name the same schedule; the rule can never match");
    }
    cfg_.policy.rules.push_back(std::move(r));
  }

  void who(const Validator::Entry& e, const std::string& p, Rule& r) {
    r.who_anyone = false;
    const auto list = items(e, p, who_list());
    if (list.empty()) {
      v_.error(e.value_pos, p, "empty", who_list());
    }
    for (const Item& it : list) {
      if (it.text == "anyone") {
        r.who_anyone = true;
      } else if (it.text == "unknown") {
        r.who_unknown = true;
      } else if (auto u = user_index(it.text)) {
        r.who_users.push_back(*u);
      } else if (auto g = group_index(it.text)) {
        r.who_groups.set(*g);
      } else {
        v_.error(it.pos, p, "unknown user or group \"" + it.text + "\"", who_list());
      }
    }
    std::sort(r.who_users.begin(), r.who_users.end());
    r.who_users.erase(std::unique(r.who_users.begin(), r.who_users.end()), r.who_users.end());
  }

  // ---- the legacy action table -------------------------------------------------------

  Rule table_rule(std::string name, Pos at) {
    Rule r;
    r.name = std::move(name);
    r.origin = origin(at);
    r.from_action_table = true;
    return r;
  }

  void table_defaults() {
    ActionTable& t = cfg_.policy.table;
    t.by_app.fill(kNoRule);
    t.by_category.fill(kNoRule);
    t.by_feature.fill(kNoRule);
    default_index_ = cfg_.policy.rules.size();
    Rule d;
    d.name = "default";
    d.from_action_table = true;
    cfg_.policy.rules.push_back(std::move(d));
    t.default_rule = static_cast<uint16_t>(default_index_);
  }

  uint16_t add_table_rule(Rule r) {
    const auto i = static_cast<uint16_t>(cfg_.policy.rules.size());
    cfg_.policy.rules.push_back(std::move(r));
    return i;
  }

  void actions(const Validator::Entry& parent) {
    ActionTable& t = cfg_.policy.table;
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "actions",
                                    {"default", "categories", "features", "apps"})) {
      if (e.key == "default") {
        if (auto spec = action(e, "actions.default", ThrottleScope::kShared, AllowScope::kYes)) {
          Rule& d = cfg_.policy.rules[default_index_];
          d.spec = *spec;
          d.origin = origin(e.value_pos);
        }
        continue;
      }
      for (const auto& x :
           v_.entries(e.value, e.value_pos, "actions." + e.key,
                      e.key == "categories"
                          ? std::initializer_list<std::string_view>{"unknown", "im", "p2p", "voip",
                                                                    "tunnel", "other"}
                      : e.key == "features"
                          ? std::initializer_list<std::string_view>{"file_transfer", "serving",
                                                                    "cleartext"}
                          : std::initializer_list<std::string_view>{})) {
        const std::string path = "actions." + e.key + "." + x.key;
        std::optional<classifiers::AppId> app;
        if (e.key == "apps") {
          app = classifiers::app_from_name(x.key);
          if (!app) {
            v_.error(x.key_pos, path, "unknown app \"" + x.key + "\"", all_app_names());
            continue;
          }
        }
        auto spec = action(x, path, ThrottleScope::kShared, AllowScope::kYes);
        if (!spec) {
          continue;
        }
        Rule r = table_rule(path, x.value_pos);
        r.spec = *spec;
        if (e.key == "categories") {
          const auto cat = *classifiers::category_from_name(x.key);
          r.categories.push_back(cat);
          t.by_category[static_cast<size_t>(cat)] = add_table_rule(std::move(r));
        } else if (e.key == "features") {
          for (size_t i = 0; i < kRuleFeatures.size(); ++i) {
            if (feature_name(kRuleFeatures[i]) == x.key) {
              r.features = kRuleFeatures[i];
              t.by_feature[i] = add_table_rule(std::move(r));
              break;
            }
          }
        } else {
          r.apps.push_back(*app);
          t.by_app[static_cast<size_t>(*app)] = add_table_rule(std::move(r));
        }
      }
    }
  }

  // ---- actions ----------------------------------------------------------------------

  enum class AllowScope : uint8_t { kNo, kYes };

  /// `allow`, `drop`, `reject`, `throttle <rate> [per user|per host|shared|per flow]`,
  /// each optionally after `monitor`.
  std::optional<ActionSpec> action(const Validator::Entry& e, const std::string& path,
                                   ThrottleScope default_scope, AllowScope) {
    auto s = v_.scalar(e, path, kActionExpected);
    if (!s) {
      return std::nullopt;
    }
    std::vector<std::string_view> words;
    std::string_view rest = *s;
    while (!rest.empty()) {
      const size_t b = rest.find_first_not_of(' ');
      if (b == std::string_view::npos) {
        break;
      }
      rest.remove_prefix(b);
      const size_t end = rest.find(' ');
      words.push_back(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    }
    ActionSpec spec;
    spec.scope = default_scope;
    size_t w = 0;
    if (w < words.size() && words[w] == "monitor") {
      spec.monitor = true;
      ++w;
    }
    auto a = w < words.size() ? action_from_name(words[w]) : std::nullopt;
    if (!a && spec.monitor && w == words.size()) {
      v_.error(e.value_pos, path, "\"monitor\" needs the action to monitor after it",
               kActionExpected);
      return std::nullopt;
    }
    if (!a) {
      v_.error(e.value_pos, path, "unknown action \"" + *s + "\"", kActionExpected);
      return std::nullopt;
    }
    spec.action = *a;
    ++w;
    if (*a != Action::kThrottle) {
      if (w != words.size()) {
        v_.error(e.value_pos, path, "\"" + std::string(words[w - 1]) + "\" takes no argument",
                 kActionExpected);
        return std::nullopt;
      }
      return spec;
    }
    if (w == words.size()) {
      v_.error(e.value_pos, path, "throttle needs a rate",
               "a rate like 256kbit/s, 2Mbit/s, 64kB/s, 1000B/s");
      return std::nullopt;
    }
    auto rate = parse_rate(words[w]);
    if (!rate) {
      v_.error(e.value_pos, path, "bad throttle rate \"" + std::string(words[w]) + "\"",
               "a rate like 256kbit/s, 2Mbit/s, 64kB/s, 1000B/s");
      return std::nullopt;
    }
    if (*rate < kMinRate || *rate > kMaxRate) {
      v_.error(e.value_pos, path, "throttle rate " + std::string(words[w]) + " is out of range",
               "1kB/s to 10Gbit/s");
      return std::nullopt;
    }
    spec.rate_bytes_per_sec = *rate;
    ++w;
    if (w < words.size()) {
      std::string scope(words[w]);
      if (w + 1 < words.size()) {
        scope += " " + std::string(words[w + 1]);
      }
      bool found = false;
      for (ThrottleScope sc : {ThrottleScope::kPerUser, ThrottleScope::kPerHost,
                               ThrottleScope::kShared, ThrottleScope::kPerFlow}) {
        if (throttle_scope_name(sc) == scope) {
          spec.scope = sc;
          found = true;
          w += scope.find(' ') == std::string::npos ? size_t{1} : size_t{2};
        }
      }
      if (!found || w != words.size()) {
        // Name what was not understood: the whole scope when it is unknown ("per planet"),
        // else the first word after a valid scope ("per user extra" → "extra").
        std::string bad = found ? std::string(words[w]) : scope;
        v_.error(e.value_pos, path, "unknown throttle bucket \"" + bad + "\"",
                 "per user, per host, shared, per flow");
        return std::nullopt;
      }
    }
    return spec;
  }

  Validator v_;
  LoadOptions options_;
  Config cfg_;
  size_t default_index_ = 0;
  bool local_given_ = false;
};

}  // namespace

LoadResult load_config_string(const std::string& text, const std::string& name,
                              const LoadOptions& options) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& ex) {
    return LoadError{{name + ":" + std::to_string(ex.mark.line + 1) + ":" +
                      std::to_string(ex.mark.column + 1) + ": (syntax): " + ex.msg}};
  } catch (const std::exception& ex) {
    return LoadError{{name + ": cannot parse: " + ex.what()}};
  }
  try {
    return ConfigBuilder(name, options).build(root);
  } catch (const YAML::Exception& ex) {
    return LoadError{{name + ":" + std::to_string(ex.mark.line + 1) + ":" +
                      std::to_string(ex.mark.column + 1) + ": (structure): " + ex.msg}};
  } catch (const std::exception& ex) {  // e.g. bad_alloc: still an answer, not a crash
    return LoadError{{name + ": cannot load: " + ex.what()}};
  }
}

std::optional<uint32_t> LoadOptions::system_uid(const std::string& name) {
  passwd pw{};
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(found->pw_uid);
}

LoadResult load_config_file(const std::string& path, const LoadOptions& options) {
  // A configuration is a small text file: refuse directories, devices and anything large
  // before reading, so `check-config /dev/zero` is an answer, not an out-of-memory abort.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return LoadError{{path + ": cannot open: " + std::strerror(errno)}};
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return LoadError{{path + ": not a regular file"}};
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigBytes) {
    ::close(fd);
    return LoadError{{path + ": " + std::to_string(st.st_size) +
                      " bytes is too large for a configuration (at most " +
                      std::to_string(kMaxConfigBytes) + ")"}};
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return LoadError{{path + ": cannot read: " + std::strerror(err)}};
    }
    if (n == 0) {
      break;
    }
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigBytes) {
      ::close(fd);
      return LoadError{
          {path + ": grew past " + std::to_string(kMaxConfigBytes) + " bytes while being read"}};
    }
  }
  ::close(fd);
  return load_config_string(text, path, options);
}

}  // namespace imguard::policy
