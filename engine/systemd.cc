// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/systemd.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cinttypes>
#include <cstdio>

namespace imguard::engine {

ServiceManager::ServiceManager() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) {
    watchdog_ = std::chrono::microseconds(usec);
  }
}

void ServiceManager::ready(const std::string& status) const {
  sd_notifyf(0, "READY=1\nSTATUS=%s", status.c_str());
}

void ServiceManager::reloading() const {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1'000'000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading", usec);
}

void ServiceManager::status(const std::string& line) const {
  sd_notifyf(0, "STATUS=%s", line.c_str());
}

void ServiceManager::stopping() const {
  sd_notify(0, "STOPPING=1\nSTATUS=stopping: removing rules");
}

void ServiceManager::keep_alive() const {
  sd_notify(0, "WATCHDOG=1");
}

}  // namespace imguard::engine
