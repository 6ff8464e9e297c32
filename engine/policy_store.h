// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "policy/config.h"

namespace imguard::engine {

/// The running policy, published by the control thread and read by every worker.
///
/// Workers call generation() for each packet (one acquire load) and current() only when
/// it changed, so a reload costs them one atomic shared_ptr load. publish() and
/// publish_schedules() are for the control thread only; every publication bumps the
/// generation, which makes cached flow decisions stale (engine/decider.h).
class PolicyStore {
 public:
  explicit PolicyStore(std::shared_ptr<const policy::Config> initial, uint64_t schedules)
      : config_(std::move(initial)), schedules_(schedules) {}

  std::shared_ptr<const policy::Config> current() const noexcept {
    return config_.load(std::memory_order_acquire);
  }
  uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  /// Bit i: schedule i of the current policy is active.
  uint64_t schedules() const noexcept { return schedules_.load(std::memory_order_acquire); }

  void publish(std::shared_ptr<const policy::Config> config, uint64_t schedules) noexcept {
    config_.store(std::move(config), std::memory_order_release);
    schedules_.store(schedules, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  void publish_schedules(uint64_t schedules) noexcept {
    schedules_.store(schedules, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }

 private:
  std::atomic<std::shared_ptr<const policy::Config>> config_;
  std::atomic<uint64_t> schedules_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace imguard::engine
