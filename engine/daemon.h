// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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

/// Totals over all workers, reported when the daemon stops.
struct DaemonStats {
  uint64_t packets = 0;               // packets queued to imguard and answered
  uint64_t marked_verdicts = 0;       // accepts carrying a decision mark
  uint64_t batched_packets = 0;       // unmarked accepts answered by batch verdicts
  uint64_t batch_verdicts = 0;        // NFQNL_MSG_VERDICT_BATCH messages
  uint64_t after_decision = 0;        // packets of already-decided flows (in flight)
  uint64_t early_blocked = 0;         // packets blocked on a claimed app before final
  uint64_t engine_errors = 0;         // packets that were not a trackable IP flow
  uint64_t enobufs = 0;               // ENOBUFS seen by receive
  uint64_t kernel_user_dropped = 0;   // the kernel could not deliver to our socket
  uint64_t kernel_queue_dropped = 0;  // queue full while fail-closed
  uint64_t send_errors = 0;
  uint64_t kernel_errors = 0;
  uint64_t rules_reinstalled = 0;
  std::array<uint64_t, policy::kAppCount> decided_by_app{};
  std::array<uint64_t, 4> decided_by_action{};  // indexed by policy::Action
  QueuedHistogram queued;                       // per connection that left the flow table

  /// One line, `key=value` pairs, for logs and tests.
  std::string line() const;
};

/// Log detail of the running daemon.
enum class LogDecisions : uint8_t { kNo, kYes };

struct DaemonOptions {
  /// How often the control thread checks that the ruleset is still installed.
  std::chrono::milliseconds rules_check_interval{1000};
  LogDecisions log_decisions = LogDecisions::kNo;
};

/// The live engine: one worker thread per queue (queue_first .. queue_first+queue_count-1),
/// each owning its nfq::Queue and its engine::Analyzer (flow table, classifier chain, nDPI
/// module). run() is called once from the control thread; workers share nothing mutable
/// but the read-only config.
class Daemon {
 public:
  /// Opens every queue and sets up the analyzers (startup code: may allocate, logs
  /// nothing). nullptr and `error` on failure; nothing is left bound then.
  static std::unique_ptr<Daemon> create(std::shared_ptr<const policy::Config> config,
                                        DaemonOptions options, std::string& error);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  /// Installs the ruleset, starts the workers, re-installs the rules whenever they go
  /// missing, and returns when `stop_fd` (e.g. a signalfd) becomes readable: then it
  /// removes the rules first (so nothing new is queued), lets every worker answer what it
  /// already holds, and unbinds the queues. Returns the exit code (0 clean, 1 failure)
  /// and logs to stderr.
  int run(firewall::Firewall& firewall, int stop_fd);

  /// Valid after run() returned.
  const DaemonStats& stats() const noexcept { return stats_; }

 private:
  struct Worker;
  Daemon(std::shared_ptr<const policy::Config> config, DaemonOptions options);

  std::shared_ptr<const policy::Config> config_;
  DaemonOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  DaemonStats stats_;
};

}  // namespace imguard::engine
