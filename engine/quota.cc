// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/quota.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <variant>

#include "engine/events.h"
#include "engine/json.h"
#include "engine/log.h"
#include "engine/views.h"
#include "firewall/firewall.h"

namespace imguard::engine {

namespace {

using std::chrono::sys_seconds;

constexpr int kSnapshotVersion = 1;

int64_t unix_of(sys_seconds t) {
  return t.time_since_epoch().count();
}

std::string user_of(const policy::Config& c, const policy::QuotaPool& p) {
  if (p.unknown) {
    return "(unknown)";
  }
  return p.user == policy::kNoUser ? "" : c.policy.users[p.user].name;
}

std::optional<std::string> read_text(const std::string& path, int& err) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    err = errno;
    return std::nullopt;
  }
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      err = n < 0 ? errno : 0;
      break;
    }
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (size_t{64} << 20)) {
      err = EFBIG;
      break;
    }
  }
  ::close(fd);
  if (err != 0) {
    return std::nullopt;
  }
  return text;
}

bool write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

std::optional<std::string> write_file_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    return tmp + ": open: " + std::strerror(errno);
  }
  if (!write_all(fd, text) || ::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return tmp + ": write: " + std::strerror(err);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return path + ": rename: " + std::strerror(err);
  }
  // The rename itself must reach the disk, or a crash can bring back the old file.
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return std::nullopt;
}

std::optional<std::vector<SnapshotPool>> parse_quota_snapshot(const std::string& text,
                                                              std::string& error) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    error = "not JSON";
    return std::nullopt;
  }
  if (!j.is_object() || !j.contains("version") || !j["version"].is_number_integer() ||
      !j.contains("pools") || !j["pools"].is_array()) {
    error = "not a quota snapshot (expected an object with version and pools)";
    return std::nullopt;
  }
  if (j["version"].get<int64_t>() != kSnapshotVersion) {
    error = "snapshot version " + std::to_string(j["version"].get<int64_t>()) +
            " is not the supported " + std::to_string(kSnapshotVersion);
    return std::nullopt;
  }
  std::vector<SnapshotPool> out;
  for (const Json& p : j["pools"]) {
    if (!p.is_object() || !p.contains("key") || !p["key"].is_string()) {
      error = "a pool without a key";
      return std::nullopt;
    }
    SnapshotPool s;
    s.key = p["key"].get<std::string>();
    for (auto [name, field] :
         {std::pair<const char*, uint64_t*>{"used", &s.used}, {"limit", &s.limit}}) {
      if (!p.contains(name) || !p[name].is_number_unsigned()) {
        error = "pool \"" + s.key + "\": " + name + " is not a byte count";
        return std::nullopt;
      }
      *field = p[name].get<uint64_t>();
    }
    for (auto [name, field] : {std::pair<const char*, int64_t*>{"period_start", &s.period_start},
                               {"period_end", &s.period_end}}) {
      if (!p.contains(name) || !p[name].is_number_integer()) {
        error = "pool \"" + s.key + "\": " + name + " is not a time";
        return std::nullopt;
      }
      *field = p[name].get<int64_t>();
    }
    if (s.period_end <= s.period_start) {
      error = "pool \"" + s.key + "\": the period ends before it starts";
      return std::nullopt;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string render_quota_snapshot(const std::vector<SnapshotPool>& pools, int64_t saved_at) {
  Json j = Json::object();
  j["version"] = kSnapshotVersion;
  j["saved_at"] = saved_at;
  Json arr = Json::array();
  for (const SnapshotPool& p : pools) {
    Json o = Json::object();
    o["key"] = p.key;
    o["used"] = p.used;
    o["limit"] = p.limit;
    o["period_start"] = p.period_start;
    o["period_end"] = p.period_end;
    arr.push_back(std::move(o));
  }
  j["pools"] = std::move(arr);
  return json_dump(j) + "\n";
}

Quotas::Quotas(std::string state_dir)
    : state_dir_(std::move(state_dir)), path_(state_dir_ + "/quota.json") {}

const policy::QuotaSpec& Quotas::spec(size_t pool) const {
  const policy::Policy& p = config_->policy;
  return *p.rules[p.quota_pools[pool].rule].quota;
}

void Quotas::bind(std::shared_ptr<const policy::Config> config, sys_seconds now) {
  config_ = std::move(config);
  pools_.clear();
  for (size_t i = 0; i < config_->policy.quota_pools.size(); ++i) {
    Pool p;
    p.key = config_->policy.quota_pools[i].key;
    p.window = policy::quota_window(spec(i), now);
    pools_.push_back(std::move(p));
  }
}

void Quotas::announce(size_t i, const std::string& what, const Emit& emit) const {
  const policy::QuotaPool& qp = config_->policy.quota_pools[i];
  const Pool& p = pools_[i];
  const uint64_t limit = spec(i).bytes;
  Json q = Json::object();
  q["event"] = what;
  q["rule"] = config_->policy.rules[qp.rule].name;
  q["user"] = user_of(*config_, qp);
  q["used_bytes"] = p.used;
  q["limit_bytes"] = limit;
  q["remaining_bytes"] = p.used >= limit ? 0 : limit - p.used;
  q["period_start"] = rfc3339(Timestamp(unix_of(p.window.start) * 1'000'000));
  q["period_end"] = rfc3339(Timestamp(unix_of(p.window.end) * 1'000'000));
  q["then"] = policy::quota_then_text(spec(i));
  Json j = Json::object();
  j["timestamp"] = rfc3339(
      std::chrono::duration_cast<Timestamp>(std::chrono::system_clock::now().time_since_epoch()));
  j["event_type"] = "imguard_quota";
  j["quota"] = std::move(q);
  log_info("quota {} {}: {} of {} bytes used", p.key, what, p.used, limit);
  if (emit) {
    emit(json_dump(j));
  }
}

void Quotas::problem(const std::string& what, const std::string& message, const Emit& emit) {
  ++snapshot_problems_;
  log_warning("{}", message);
  Json q = Json::object();
  q["event"] = what;
  q["snapshot"] = path_;
  q["message"] = message;
  Json j = Json::object();
  j["timestamp"] = rfc3339(
      std::chrono::duration_cast<Timestamp>(std::chrono::system_clock::now().time_since_epoch()));
  j["event_type"] = "imguard_quota";
  j["quota"] = std::move(q);
  if (emit) {
    emit(json_dump(j));
  }
}

void Quotas::start(std::shared_ptr<const policy::Config> config, firewall::Firewall& fw,
                   sys_seconds now, const Emit& emit) {
  bind(std::move(config), now);
  if (pools_.empty()) {
    return;
  }
  ::mkdir(state_dir_.c_str(), 0750);  // systemd's StateDirectory= usually made it already
  int err = 0;
  const auto text = read_text(path_, err);
  std::vector<SnapshotPool> saved;
  if (!text && err == ENOENT) {
    problem("snapshot_missing",
            "no quota snapshot at " + path_ +
                ": every quota starts at 0 (expected on the first start with quotas; otherwise "
                "the counts of the last run are lost)",
            emit);
  } else if (!text) {
    problem("snapshot_unreadable",
            "quota snapshot " + path_ + ": " + std::strerror(err) + ": every quota starts at 0",
            emit);
  } else {
    std::string why;
    if (auto parsed = parse_quota_snapshot(*text, why)) {
      saved = std::move(*parsed);
    } else {
      const std::string aside = path_ + ".corrupt";
      std::rename(path_.c_str(), aside.c_str());
      problem("snapshot_corrupt",
              "quota snapshot " + path_ + " is corrupt (" + why + "); kept as " + aside +
                  "; every quota starts at 0",
              emit);
    }
  }
  size_t restored = 0;
  for (Pool& p : pools_) {
    for (const SnapshotPool& s : saved) {
      // Counts of a period that is still running come back; a period that ended while
      // imguard was stopped starts fresh.
      if (s.key == p.key && unix_of(now) < s.period_end) {
        p.used = s.used;
        ++restored;
      }
    }
  }
  if (!saved.empty()) {
    log_info("quota counts restored from {}: {} of {} pool(s) ({} saved)", path_, restored,
             pools_.size(), saved.size());
  }
  std::vector<uint64_t> used;
  for (const Pool& p : pools_) {
    used.push_back(p.used);
  }
  fw.set_quota_used(std::move(used));
  for (size_t i = 0; i < pools_.size(); ++i) {
    const uint64_t limit = spec(i).bytes;
    pools_[i].announced = pools_[i].used >= limit ? 100 : pools_[i].used * 5 >= limit * 4 ? 80 : 0;
  }
  dirty_ = true;
}

bool Quotas::read(firewall::Firewall& fw) {
  auto r = fw.read_quotas();
  if (const auto* e = std::get_if<firewall::Error>(&r)) {
    if (!read_failed_) {
      log_warning("{}; quota counts shown are the last read", e->message);
    }
    read_failed_ = true;
    return false;
  }
  read_failed_ = false;
  observe(std::get<std::vector<uint64_t>>(r), nullptr);
  return true;
}

void Quotas::observe(const std::vector<uint64_t>& used, const Emit&) {
  for (size_t i = 0; i < pools_.size() && i < used.size(); ++i) {
    if (pools_[i].used != used[i]) {
      pools_[i].used = used[i];
      dirty_ = true;
    }
  }
}

Quotas Quotas::rebound(std::shared_ptr<const policy::Config> next, firewall::Firewall& running,
                       firewall::Firewall& fresh, sys_seconds now, const Emit&) {
  read(running);
  Quotas q(state_dir_);
  q.snapshot_problems_ = snapshot_problems_;
  q.bind(std::move(next), now);
  std::vector<uint64_t> used;
  for (Pool& p : q.pools_) {
    for (const Pool& old : pools_) {
      if (old.key == p.key) {
        p.used = old.used;
        p.announced = old.announced;
      }
    }
    used.push_back(p.used);
  }
  fresh.set_quota_used(std::move(used));
  q.dirty_ = true;
  return q;
}

void Quotas::tick(firewall::Firewall& fw, sys_seconds now,
                  std::chrono::steady_clock::time_point mono, const Emit& emit) {
  if (pools_.empty() || mono < next_read_) {
    return;
  }
  next_read_ = mono + kQuotaReadInterval;
  const bool fresh = read(fw);
  for (size_t i = 0; i < pools_.size(); ++i) {
    Pool& p = pools_[i];
    if (now >= p.window.end) {
      if (auto r = fw.reset_quota(i); const auto* e = std::get_if<firewall::Error>(&r)) {
        log_error("quota {}: the period ended but {}", p.key, e->message);
        continue;
      }
      announce(i, "period_end", emit);
      p.used = 0;
      p.announced = 0;
      p.window = policy::quota_window(spec(i), now);
      dirty_ = true;
      next_save_ = {};  // the new period goes to disk at once
      continue;
    }
    const uint64_t limit = spec(i).bytes;
    // Both notices when one reading passed both thresholds: each was crossed.
    if (fresh && p.announced < 80 && p.used * 5 >= limit * 4) {
      p.announced = 80;
      announce(i, "crossed_80", emit);
    }
    if (fresh && p.announced < 100 && p.used >= limit) {
      p.announced = 100;
      announce(i, "crossed_100", emit);
    }
  }
  std::vector<uint64_t> used;
  for (const Pool& p : pools_) {
    used.push_back(p.used);
  }
  fw.set_quota_used(std::move(used));  // a reinstall after a flush resumes from here
  if (dirty_ && mono >= next_save_) {
    next_save_ = mono + kSnapshotInterval;
    save_logged(now);
  }
}

void Quotas::stop(firewall::Firewall& fw, sys_seconds now, const Emit&) {
  if (pools_.empty()) {
    return;
  }
  read(fw);
  save_logged(now);
}

std::string Quotas::reset(const std::string& rule, const std::string& user, firewall::Firewall& fw,
                          sys_seconds now, const Emit& emit) {
  size_t n = 0;
  std::string done;
  for (size_t i = 0; i < pools_.size(); ++i) {
    const policy::QuotaPool& qp = config_->policy.quota_pools[i];
    if (config_->policy.rules[qp.rule].name != rule ||
        (!user.empty() && user_of(*config_, qp) != user)) {
      continue;
    }
    if (auto r = fw.reset_quota(i); const auto* e = std::get_if<firewall::Error>(&r)) {
      return "error\n" + e->message + "\n";
    }
    pools_[i].used = 0;
    pools_[i].announced = 0;
    announce(i, "reset", emit);
    done += pools_[i].key + "\n";
    ++n;
  }
  if (n == 0) {
    return "error\nno quota pool for rule \"" + rule + "\"" +
           (user.empty() ? "" : " and user \"" + user + "\"") +
           " (expected: a rule with a quota; `imguard status` lists the pools)\n";
  }
  dirty_ = true;
  save_logged(now);
  return "ok\nreset " + std::to_string(n) + " quota pool(s):\n" + done;
}

std::optional<std::string> Quotas::save(sys_seconds now) {
  std::vector<SnapshotPool> out;
  for (size_t i = 0; i < pools_.size(); ++i) {
    const Pool& p = pools_[i];
    out.push_back({p.key, p.used, spec(i).bytes, unix_of(p.window.start), unix_of(p.window.end)});
  }
  return write_file_atomically(path_, render_quota_snapshot(out, unix_of(now)));
}

void Quotas::save_logged(sys_seconds now) {
  if (pools_.empty()) {
    return;
  }
  if (auto err = save(now)) {
    ++snapshot_problems_;
    log_error("writing the quota snapshot failed: {} (counts are kept in memory and retried)",
              *err);
    return;
  }
  dirty_ = false;
}

std::vector<uint64_t> Quotas::used() const {
  std::vector<uint64_t> out;
  for (const Pool& p : pools_) {
    out.push_back(p.used);
  }
  return out;
}

std::vector<QuotaView> Quotas::views() const {
  std::vector<QuotaView> out;
  for (size_t i = 0; i < pools_.size(); ++i) {
    const policy::QuotaPool& qp = config_->policy.quota_pools[i];
    QuotaView v;
    v.rule = config_->policy.rules[qp.rule].name;
    v.user = user_of(*config_, qp);
    v.limit = spec(i).bytes;
    v.used = pools_[i].used;
    v.period_start = pools_[i].window.start;
    v.period_end = pools_[i].window.end;
    v.then = policy::quota_then_text(spec(i));
    out.push_back(std::move(v));
  }
  return out;
}

std::string Quotas::text() const {
  std::string s;
  for (const QuotaView& v : views()) {
    char pct[16];
    std::snprintf(
        pct, sizeof pct, "%.1f%%",
        v.limit == 0 ? 0.0 : 100.0 * static_cast<double>(v.used) / static_cast<double>(v.limit));
    s += "quota rule=" + v.rule + " user=" + (v.user.empty() ? "(shared)" : v.user) +
         " used=" + std::to_string(v.used) + " limit=" + std::to_string(v.limit) +
         " remaining=" + std::to_string(v.remaining()) + " (" + human_bytes(v.used) + " of " +
         human_bytes(v.limit) + ", " + pct +
         ") period_end=" + rfc3339(Timestamp(unix_of(v.period_end) * 1'000'000)) +
         " then=" + (v.used >= v.limit ? "active:" : "") + v.then + "\n";
  }
  return s;
}

std::string Quotas::json() const {
  Json arr = Json::array();
  for (const QuotaView& v : views()) {
    Json o = Json::object();
    o["rule"] = v.rule;
    o["user"] = v.user;
    o["used_bytes"] = v.used;
    o["limit_bytes"] = v.limit;
    o["remaining_bytes"] = v.remaining();
    o["exhausted"] = v.used >= v.limit;
    o["period_start"] = rfc3339(Timestamp(unix_of(v.period_start) * 1'000'000));
    o["period_end"] = rfc3339(Timestamp(unix_of(v.period_end) * 1'000'000));
    o["then"] = v.then;
    arr.push_back(std::move(o));
  }
  return json_dump(arr);
}

}  // namespace imguard::engine
