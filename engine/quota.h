// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/config.h"

namespace imguard::firewall {
class Firewall;
}

namespace imguard::engine {

/// The daemon's side of rule quotas (`quota:` in policy/README.md). The kernel counts
/// (one nft quota object per pool, firewall/README.md) and switches a used-up pool's
/// connections to the `then` action on their next packet; this keeps what the kernel
/// cannot: the period each count belongs to, the reset at the period's end (in the
/// quota's time zone, policy/quota.h), the snapshot that carries counts across restarts,
/// the 80 % / 100 % notices, and the numbers `status`, `top` and the metrics show.
///
/// The snapshot (`<state_dir>/quota.json`) is JSON: {"version":1,"saved_at":UNIX,
/// "pools":[{"key":"rule/user","used":N,"limit":N,"period_start":UNIX,"period_end":UNIX}]}.
/// It is written atomically (temporary file, fsync, rename, fsync of the directory), at
/// most every kSnapshotInterval while counts change, after a reset or reload, and at stop.
/// A missing snapshot (when the config has quotas) and an unreadable one are reported
/// (log, an `imguard_quota` event, imguard_quota_snapshot_problems_total), never silently
/// replaced: an unreadable file is kept beside as quota.json.corrupt.
///
/// Control thread only; not thread-safe.

inline constexpr std::chrono::seconds kSnapshotInterval{10};
/// How often the kernel's counts are read (and periods checked).
inline constexpr std::chrono::milliseconds kQuotaReadInterval{1000};

/// One pool as `status` shows it.
struct QuotaView {
  std::string rule;
  std::string user;  // "" for a shared pool, "(unknown)" for flows of no known user
  uint64_t limit = 0;
  uint64_t used = 0;  // can exceed limit: the kernel goes on counting what it drops
  std::chrono::sys_seconds period_start;
  std::chrono::sys_seconds period_end;
  std::string then;  // quota_then_text
  uint64_t remaining() const noexcept { return used >= limit ? 0 : limit - used; }
};

class Quotas {
 public:
  /// One JSON line (an `imguard_quota` event) for the event log.
  using Emit = std::function<void(const std::string& line)>;

  explicit Quotas(std::string state_dir);

  /// Start: binds to `config`'s pools, restores counts from the snapshot (a count whose
  /// period has ended since starts at 0) and hands them to `fw` for its install().
  void start(std::shared_ptr<const policy::Config> config, firewall::Firewall& fw,
             std::chrono::sys_seconds now, const Emit& emit);
  /// A reload: the counts of the running pools (read from `running` first), carried to
  /// `next`'s pools with the same key (rule name and user name) and handed to `fresh`.
  /// Returns the new state; the caller keeps it only if the reload goes through.
  Quotas rebound(std::shared_ptr<const policy::Config> next, firewall::Firewall& running,
                 firewall::Firewall& fresh, std::chrono::sys_seconds now, const Emit& emit);
  /// Every control tick: reads the kernel's counts (each kQuotaReadInterval), announces
  /// 80 % and 100 %, resets pools whose period ended, writes the snapshot when due.
  void tick(firewall::Firewall& fw, std::chrono::sys_seconds now,
            std::chrono::steady_clock::time_point mono, const Emit& emit);
  /// Stop: a last reading and the snapshot (before the rules are removed).
  void stop(firewall::Firewall& fw, std::chrono::sys_seconds now, const Emit& emit);
  /// `quota-reset RULE [USER]`: sets the pool(s) back to 0 now (a new period starts at
  /// the next boundary as usual). The answer for the control socket ("ok\n..." or
  /// "error\n...").
  std::string reset(const std::string& rule, const std::string& user, firewall::Firewall& fw,
                    std::chrono::sys_seconds now, const Emit& emit);

  std::vector<QuotaView> views() const;
  /// The counts by pool index of the config bound last (Policy::quota_pools).
  std::vector<uint64_t> used() const;
  /// Text lines for `status` / `top` ("" without quotas), and a JSON array.
  std::string text() const;
  std::string json() const;  // compact JSON array text
  uint64_t snapshot_problems() const noexcept { return snapshot_problems_; }
  const std::string& snapshot_path() const noexcept { return path_; }

 private:
  struct Pool {
    std::string key;
    uint64_t used = 0;
    policy::QuotaWindow window;
    int announced = 0;  // highest threshold announced this period: 0, 80 or 100
  };
  void bind(std::shared_ptr<const policy::Config> config, std::chrono::sys_seconds now);
  const policy::QuotaSpec& spec(size_t pool) const;
  void observe(const std::vector<uint64_t>& used, const Emit& emit);
  bool read(firewall::Firewall& fw);
  void announce(size_t pool, const std::string& what, const Emit& emit) const;
  void problem(const std::string& what, const std::string& message, const Emit& emit);
  std::optional<std::string> save(std::chrono::sys_seconds now);
  void save_logged(std::chrono::sys_seconds now);

  std::string state_dir_;
  std::string path_;
  std::shared_ptr<const policy::Config> config_;
  std::vector<Pool> pools_;  // indexed like config_->policy.quota_pools
  std::chrono::steady_clock::time_point next_read_{};
  std::chrono::steady_clock::time_point next_save_{};
  bool dirty_ = false;
  bool read_failed_ = false;
  uint64_t snapshot_problems_ = 0;
};

/// A snapshot's pools by key: (used, period_start, period_end). Exposed for tests.
struct SnapshotPool {
  std::string key;
  uint64_t used = 0;
  uint64_t limit = 0;
  int64_t period_start = 0;
  int64_t period_end = 0;
};
/// Parses snapshot text; nullopt and `error` when it is not a valid snapshot.
std::optional<std::vector<SnapshotPool>> parse_quota_snapshot(const std::string& text,
                                                              std::string& error);
std::string render_quota_snapshot(const std::vector<SnapshotPool>& pools, int64_t saved_at);
/// Writes `text` to `path` atomically (PATH.tmp, fsync, rename, fsync of the directory).
std::optional<std::string> write_file_atomically(const std::string& path, const std::string& text);

}  // namespace imguard::engine
