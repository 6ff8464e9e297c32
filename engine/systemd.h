// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <string>

namespace imguard::engine {

/// The service manager, through libsystemd (the only user of sd_notify and the watchdog
/// API). Every call is a no-op when the daemon was not started by systemd with
/// Type=notify (no $NOTIFY_SOCKET). Control thread only.
class ServiceManager {
 public:
  ServiceManager();

  /// READY=1 plus a STATUS line: queues bound, rules installed.
  void ready(const std::string& status) const;
  /// RELOADING=1 with MONOTONIC_USEC, as systemd 253+ expects for Type=notify-reload; older
  /// systemd ignores the fields it does not know.
  void reloading() const;
  void status(const std::string& line) const;
  void stopping() const;
  /// WATCHDOG=1: call only when every worker is making progress.
  void keep_alive() const;

  /// The watchdog interval systemd asked for (WatchdogSec=), zero when there is none.
  std::chrono::microseconds watchdog() const noexcept { return watchdog_; }

 private:
  std::chrono::microseconds watchdog_{0};
};

}  // namespace imguard::engine
