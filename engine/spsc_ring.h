// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <optional>

namespace imguard::engine {

/// A bounded single-producer single-consumer queue: one thread calls push(), one other
/// thread calls pop(). Lock-free and allocation-free; push() fails when full (the caller
/// counts the loss) instead of blocking the packet path.
template <typename T, size_t N>
class SpscRing {
  static_assert((N & (N - 1)) == 0, "capacity must be a power of two");

 public:
  bool push(const T& v) noexcept {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) == N) {
      return false;
    }
    slots_[head & (N - 1)] = v;
    head_.store(head + 1, std::memory_order_release);
    return true;
  }
  std::optional<T> pop() noexcept {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_.load(std::memory_order_acquire)) {
      return std::nullopt;
    }
    T v = slots_[tail & (N - 1)];
    tail_.store(tail + 1, std::memory_order_release);
    return v;
  }

 private:
  std::array<T, N> slots_{};
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
};

}  // namespace imguard::engine
