// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/policy_store.h"
#include "packet/counter.h"
#include "policy/config.h"

namespace imguard::firewall {
class Firewall;
}

namespace imguard::engine {

/// Connections by how many of their packets were queued to userspace: index n counts
/// connections with n packets (the last slot collects everything at or above it).
struct QueuedHistogram {
  static constexpr size_t kSlots = 1025;
  std::array<uint64_t, kSlots> count{};

  void add(uint64_t packets) noexcept;
  void merge(const QueuedHistogram& other) noexcept;
  uint64_t connections() const noexcept;
  /// The smallest n such that at least `fraction` of the connections had <= n packets.
  uint64_t quantile(double fraction) const noexcept;
  uint64_t max() const noexcept;
};

/// Counters of the packet path, each written by one worker (relaxed atomics) and read by
/// the control thread for `status` and the stop line. One list, one name each.
#define IMGUARD_WORKER_COUNTERS(X)                                                        \
  X(after_decision)  /* packets of already-decided flows (in flight) */                   \
  X(early_blocked)   /* flows blocked on a claimed app before the classification ended */ \
  X(redecided)       /* in-flight decisions taken again under a newer policy */           \
  X(decided_at_end)  /* flows that ended before a decision; decided then */               \
  X(engine_errors)   /* packets that were not a trackable IP flow */                      \
  X(packet_errors)   /* packets whose handling failed (e.g. out of memory): on_anomaly */ \
  X(records_dropped) /* label records lost because the control thread fell behind */      \
  X(ended_idle)      /* flows that ended idle (timeout; UDP: also a conntrack end) */     \
  X(port_reused)     /* flows ended by a new connection on their 5-tuple (ruleset tag) */

struct WorkerCounters {
#define IMGUARD_DECLARE(name) Counter name;
  IMGUARD_WORKER_COUNTERS(IMGUARD_DECLARE)
#undef IMGUARD_DECLARE
  std::array<Counter, policy::kAppCount> decided_by_app{};
  std::array<Counter, 4> decided_by_action{};  // by policy::Action (decided)
  /// The same decisions by (action, app), for imguard_decisions_total.
  std::array<std::array<Counter, policy::kAppCount>, 4> decided_by_action_app{};
  Counter monitored;  // decisions a monitor rule or enforce:false let pass
};

/// Totals over all workers and the control thread.
struct DaemonStats {
#define IMGUARD_DECLARE(name) uint64_t name = 0;
  IMGUARD_WORKER_COUNTERS(IMGUARD_DECLARE)
#undef IMGUARD_DECLARE
  uint64_t packets = 0;               // packets queued to imguard and answered
  uint64_t marked_verdicts = 0;       // accepts carrying a decision mark
  uint64_t batched_packets = 0;       // unmarked accepts answered by batch verdicts
  uint64_t batch_verdicts = 0;        // NFQNL_MSG_VERDICT_BATCH messages
  uint64_t enobufs = 0;               // ENOBUFS seen by receive
  uint64_t kernel_user_dropped = 0;   // the kernel could not deliver to our socket
  uint64_t kernel_queue_dropped = 0;  // queue full while fail-closed
  // The kernel's conntrack table of the daemon's namespace (/proc/net/stat/nf_conntrack)
  uint64_t conntrack_insert_failed = 0;  // new connections that could not be inserted
  uint64_t conntrack_drop = 0;           // packets dropped: table full, nothing evictable
  uint64_t conntrack_early_drop = 0;     // unreplied connections evicted: table full
  uint64_t send_errors = 0;
  uint64_t kernel_errors = 0;
  uint64_t rules_reinstalled = 0;
  uint64_t reloads = 0;
  uint64_t policy_reload_failed = 0;
  uint64_t schedule_changes = 0;
  uint64_t remarked = 0;         // ct marks rewritten by re-decisions
  uint64_t records_written = 0;  // conntrack label records written
  uint64_t records_failed = 0;   // label writes the kernel refused
  uint64_t monitored = 0;
  std::array<uint64_t, policy::kAppCount> decided_by_app{};
  std::array<uint64_t, 4> decided_by_action{};  // indexed by policy::Action
  QueuedHistogram queued;                       // per connection that left the flow table

  void add(const WorkerCounters& w) noexcept;
  /// One line, `key=value` pairs, for logs, `imguard status` and tests.
  std::string line() const;
};

/// Log detail of the running daemon.
enum class LogDecisions : uint8_t { kNo, kYes };

struct DaemonOptions {
  /// How often the control thread checks that the ruleset is still installed.
  std::chrono::milliseconds rules_check_interval{1000};
  /// How often label records are written and schedule boundaries checked.
  std::chrono::milliseconds tick{100};
  LogDecisions log_decisions = LogDecisions::kNo;
  /// Called once start-up is done (queues bound, rules installed, sockets and files open)
  /// and before the worker threads start; false (and a message) stops the daemon, which
  /// then removes its rules. `imguard run --user` drops root here.
  std::function<bool(std::string& error)> after_start_up;
  /// The file `reload` reads again (SIGHUP, `imguard reload`).
  std::string config_path;
  /// The control socket; "" for none.
  std::string control_path;
  /// Where quota counters are kept (`--state-dir`); "" = engine.state_dir of the config.
  std::string state_dir;
};

/// The live engine: one worker thread per queue (queue_first .. queue_first+queue_count-1),
/// each owning its nfq::Queue and its engine::Analyzer (flow table, classifier chain, nDPI
/// module), and the control thread (the caller of run()) that owns the firewall, the
/// conntrack socket, the control socket and the policy store. Workers share nothing
/// mutable with each other; with the control thread they share only the PolicyStore,
/// their counters (relaxed atomics) and one record ring each.
class Daemon {
 public:
  /// Opens every queue and sets up the analyzers (startup code: may allocate, logs
  /// nothing). nullptr and `error` on failure; nothing is left bound then.
  static std::unique_ptr<Daemon> create(std::shared_ptr<const policy::Config> config,
                                        DaemonOptions options, std::string& error);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Installs the ruleset, re-checks decisions already in ct marks (a restart), starts the
  /// workers, and serves until SIGINT/SIGTERM arrive on `signal_fd` (a signalfd that also
  /// carries SIGHUP = reload; signals are told apart by their siginfo, so SIGHUP never
  /// stops the daemon). Re-installs the rules when they go missing, re-decides open
  /// connections at reloads and schedule boundaries. At stop it removes the rules first
  /// (nothing new is queued), lets every worker answer what it holds, and unbinds the
  /// queues. Returns the exit code (0 clean, 1 failure) and logs to stderr.
  int run(std::unique_ptr<firewall::Firewall> firewall, int signal_fd);

  /// Valid after run() returned.
  const DaemonStats& stats() const noexcept { return stats_; }

 private:
  struct Worker;
  struct Control;
  Daemon(std::shared_ptr<const policy::Config> config, DaemonOptions options);

  DaemonOptions options_;
  PolicyStore store_;
  std::vector<std::unique_ptr<Worker>> workers_;
  DaemonStats stats_;
};

}  // namespace imguard::engine
