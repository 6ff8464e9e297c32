// SPDX-License-Identifier: GPL-3.0-or-later
// Prometheus text exposition (format 0.0.4) of the daemon's counters, for a scrape
// endpoint or the node-exporter textfile collector. Checked by `promtool check metrics`
// (ctest unit/metrics-promtool).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/daemon.h"
#include "policy/config.h"

namespace imguard::engine {

/// Bytes one user moved, by category. `user` is a configured user name or "other" (flows
/// with no user, or a user not in the config the counters were taken under), so the
/// label set stays bounded by the config.
struct UserBytes {
  std::string user;
  std::array<uint64_t, policy::kCategoryCount> bytes_by_category{};  // by Category value
};

/// A snapshot of everything render_metrics() shows. A plain value: the control thread
/// fills it (from DaemonStats and its own state) and renders it; nothing here is shared.
struct MetricsInput {
  std::string version;  // imguard_build_info{version}
  /// Counters summed over the workers and the control thread. Rendered from it:
  /// packets, reloads, policy_reload_failed, enobufs, kernel_user_dropped,
  /// kernel_queue_dropped, rules_reinstalled and every IMGUARD_WORKER_COUNTERS entry.
  /// (decided_by_app / decided_by_action are marginals and are not used: see decisions.)
  DaemonStats stats;
  /// Decisions by (decided action, app), indexed [policy::Action][AppId]; the category
  /// label follows from the app. DaemonStats only has the two marginals, so the daemon
  /// counts this joint table for imguard_decisions_total.
  std::array<std::array<uint64_t, policy::kAppCount>, 4> decisions{};
  uint64_t flows_active = 0;       // flows in the workers' tables now
  uint64_t policy_generation = 0;  // the published policy's generation
  /// imguard_bytes_total, one entry per label value; make_user_bytes() builds the table.
  std::vector<UserBytes> bytes;
};

/// One UserBytes per configured user (in config order), then "other". Allocates.
std::vector<UserBytes> make_user_bytes(const policy::Config& config);
/// Index into make_user_bytes(config) for user index `user`: the user's own entry, or the
/// last ("other") for policy::kNoUser and out-of-range users. noexcept.
size_t user_bytes_slot(const policy::Config& config, uint16_t user) noexcept;

/// The exposition text: for each metric a `# HELP` and a `# TYPE` line, then its samples;
/// label values escaped (`\\`, `\"`, `\n`) and made valid UTF-8. Metrics:
///   imguard_build_info{version} 1                       gauge
///   imguard_packets_total                               counter
///   imguard_decisions_total{action,category,app}        counter (non-zero series only)
///   imguard_flows_active                                gauge
///   imguard_bytes_total{category,user}                  counter (non-zero series only)
///   imguard_reloads_total, imguard_reload_failures_total, imguard_rules_reinstalled_total
///   imguard_queue_drops_total{reason="enobufs"|"user_dropped"|"queue_dropped"}  counter
///   imguard_conntrack_drops_total{reason="insert_failed"|"drop"|"early_drop"}  counter
///   imguard_policy_generation                           gauge
///   imguard_<counter>_total for each IMGUARD_WORKER_COUNTERS entry (engine/daemon.h)
/// Pure and thread-safe; allocates; throws only std::bad_alloc.
std::string render_metrics(const MetricsInput& input);

}  // namespace imguard::engine
