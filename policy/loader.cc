// SPDX-License-Identifier: GPL-3.0-or-later
// YAML → validated Config. The only file that includes yaml-cpp; every yaml-cpp exception
// is caught here and becomes a LoadError message.
#include "policy/loader.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <sstream>

#include "policy/marks.h"

namespace imguard::policy {

namespace {

using classifiers::AppId;
using classifiers::Category;

constexpr uint64_t kMinRate = 1000;           // bytes/s; below this a bucket is noise
constexpr uint64_t kMaxRate = 1'250'000'000;  // bytes/s = 10 Gbit/s
constexpr uint32_t kMaxQueueCount = 64;       // one worker thread per queue
constexpr uint32_t kMaxQueueLen = 1u << 20;   // packets
constexpr uint32_t kMaxBudget = 64;           // = classifiers::Budget::max_packets

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
    errors_.push_back(std::move(m));
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

  std::vector<std::string> take_errors() { return std::move(errors_); }
  bool ok() const { return errors_.empty(); }

 private:
  std::string name_;
  std::vector<std::string> errors_;
};

constexpr const char* kActionExpected =
    "allow, drop, reject, throttle <rate> with rate like 256kbit/s, 64kB/s";

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

class ConfigBuilder {
 public:
  explicit ConfigBuilder(const std::string& name) : v_(name) {
    cfg_ = default_config();
    cfg_.source = name;
  }

  LoadResult build(const YAML::Node& root) {
    const Pos top{1, 1};
    if (!root.IsDefined() || root.IsNull() || !root.IsMap()) {
      v_.error(Validator::pos(root, top), "", "the configuration must be a mapping",
               "version: 1, engine: ..., actions: ...");
      return LoadError{v_.take_errors()};
    }
    bool have_version = false;
    for (const auto& e : v_.entries(root, top, "", {"version", "engine", "actions"})) {
      if (e.key == "version") {
        have_version = true;
        if (auto n = v_.integer(e, "version", kConfigVersion, kConfigVersion)) {
          cfg_.version = static_cast<int>(*n);
        }
      } else if (e.key == "engine") {
        engine(e);
      } else {
        actions(e);
      }
    }
    if (!have_version) {
      v_.error(top, "version", "missing", std::to_string(kConfigVersion));
    }
    if (v_.ok()) {
      check_buckets();
    }
    if (!v_.ok()) {
      return LoadError{v_.take_errors()};
    }
    return std::make_shared<const Config>(std::move(cfg_));
  }

 private:
  void engine(const Validator::Entry& parent) {
    for (const auto& e :
         v_.entries(parent.value, parent.value_pos, "engine",
                    {"backend", "mode", "queue", "mark_mask", "budget", "reject_with"})) {
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
      } else {
        budget(e);
      }
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

  void budget(const Validator::Entry& parent) {
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "engine.budget",
                                    {"tcp_packets", "udp_packets"})) {
      const std::string path = "engine.budget." + e.key;
      if (auto n = v_.integer(e, path, 1, kMaxBudget)) {
        (e.key == "tcp_packets" ? cfg_.tcp_budget : cfg_.udp_budget) = static_cast<uint16_t>(*n);
      }
    }
  }

  void actions(const Validator::Entry& parent) {
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "actions",
                                    {"default", "categories", "features", "apps"})) {
      if (e.key == "default") {
        if (auto spec = action(e, "actions.default")) {
          cfg_.actions.rules[0].spec = *spec;
          cfg_.actions.rules[0].origin = origin(e.value_pos);
          throttle_pos_.push_back({0, e.value_pos});
        }
      } else if (e.key == "categories") {
        categories(e);
      } else if (e.key == "features") {
        features(e);
      } else {
        apps(e);
      }
    }
  }

  void categories(const Validator::Entry& parent) {
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "actions.categories",
                                    {"unknown", "im", "p2p", "voip", "tunnel", "other"})) {
      const std::string path = "actions.categories." + e.key;
      auto cat = classifiers::category_from_name(e.key);
      auto spec = action(e, path);
      if (!cat || !spec) {
        continue;
      }
      Rule r;
      r.scope = RuleScope::kCategory;
      r.category = *cat;
      r.spec = *spec;
      cfg_.actions.by_category[static_cast<size_t>(*cat)] = add_rule(std::move(r), e.value_pos);
    }
  }

  void features(const Validator::Entry& parent) {
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "actions.features",
                                    {"file_transfer", "serving", "cleartext"})) {
      const std::string path = "actions.features." + e.key;
      auto spec = action(e, path);
      if (!spec) {
        continue;
      }
      for (size_t i = 0; i < kRuleFeatures.size(); ++i) {
        if (feature_name(kRuleFeatures[i]) == e.key) {
          Rule r;
          r.scope = RuleScope::kFeature;
          r.feature = kRuleFeatures[i];
          r.spec = *spec;
          cfg_.actions.by_feature[i] = add_rule(std::move(r), e.value_pos);
        }
      }
    }
  }

  void apps(const Validator::Entry& parent) {
    for (const auto& e : v_.entries(parent.value, parent.value_pos, "actions.apps", {})) {
      const std::string path = "actions.apps." + e.key;
      auto app = classifiers::app_from_name(e.key);
      if (!app) {
        v_.error(e.key_pos, path, "unknown app \"" + e.key + "\"", all_app_names());
        continue;
      }
      auto spec = action(e, path);
      if (!spec) {
        continue;
      }
      Rule r;
      r.scope = RuleScope::kApp;
      r.app = *app;
      r.spec = *spec;
      cfg_.actions.by_app[static_cast<size_t>(*app)] = add_rule(std::move(r), e.value_pos);
    }
  }

  /// `allow`, `drop`, `reject` or `throttle <rate>`.
  std::optional<ActionSpec> action(const Validator::Entry& e, const std::string& path) {
    auto s = v_.scalar(e, path, kActionExpected);
    if (!s) {
      return std::nullopt;
    }
    std::string_view word = *s;
    std::string_view arg;
    if (const size_t sp = word.find(' '); sp != std::string_view::npos) {
      arg = word.substr(sp + 1);
      word = word.substr(0, sp);
      while (!arg.empty() && arg.front() == ' ') {
        arg.remove_prefix(1);
      }
    }
    auto a = action_from_name(word);
    if (!a) {
      v_.error(e.value_pos, path, "unknown action \"" + *s + "\"", kActionExpected);
      return std::nullopt;
    }
    ActionSpec spec{*a, 0};
    if (*a != Action::kThrottle) {
      if (!arg.empty()) {
        v_.error(e.value_pos, path, "\"" + std::string(word) + "\" takes no argument",
                 kActionExpected);
        return std::nullopt;
      }
      return spec;
    }
    auto rate = parse_rate(arg);
    if (arg.empty() || !rate) {
      v_.error(e.value_pos, path, "bad throttle rate \"" + std::string(arg) + "\"",
               "a rate like 256kbit/s, 2Mbit/s, 64kB/s, 1000B/s");
      return std::nullopt;
    }
    if (*rate < kMinRate || *rate > kMaxRate) {
      v_.error(e.value_pos, path, "throttle rate " + std::string(arg) + " is out of range",
               "1kB/s to 10Gbit/s");
      return std::nullopt;
    }
    spec.rate_bytes_per_sec = *rate;
    return spec;
  }

  uint16_t add_rule(Rule r, Pos at) {
    r.origin = origin(at);
    const auto index = static_cast<uint16_t>(cfg_.actions.rules.size());
    cfg_.actions.rules.push_back(std::move(r));
    throttle_pos_.push_back({index, at});
    return index;
  }

  std::string origin(Pos at) const {
    return cfg_.source + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
  }

  /// Assigns dense bucket numbers to throttle rules and checks they fit the mark window.
  void check_buckets() {
    const uint32_t capacity = mark_bucket_capacity(cfg_.mark_mask);
    uint16_t next = 0;
    for (const auto& [index, at] : throttle_pos_) {
      Rule& r = cfg_.actions.rules[index];
      if (r.spec.action != Action::kThrottle) {
        continue;
      }
      if (next >= capacity) {
        v_.error(at, "actions", "too many throttle rules for the mark window",
                 "at most " + std::to_string(capacity) + " with engine.mark_mask");
        return;
      }
      r.bucket = next++;
    }
    cfg_.actions.bucket_count = next;
  }

  Validator v_;
  Config cfg_;
  std::vector<std::pair<uint16_t, Pos>> throttle_pos_;  // rule index, where it was written
};

}  // namespace

LoadResult load_config_string(const std::string& text, const std::string& name) {
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
    return ConfigBuilder(name).build(root);
  } catch (const YAML::Exception& ex) {
    return LoadError{{name + ":" + std::to_string(ex.mark.line + 1) + ":" +
                      std::to_string(ex.mark.column + 1) + ": (structure): " + ex.msg}};
  } catch (const std::exception& ex) {  // e.g. bad_alloc: still an answer, not a crash
    return LoadError{{name + ": cannot load: " + ex.what()}};
  }
}

LoadResult load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return LoadError{{path + ": cannot open: " + std::strerror(errno)}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return LoadError{{path + ": cannot read: " + std::strerror(errno)}};
  }
  return load_config_string(text.str(), path);
}

}  // namespace imguard::policy
