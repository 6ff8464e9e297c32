// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <atomic>
#include <cstdint>

namespace imguard {

/// A statistics counter with one writer thread and any number of readers: the writer adds
/// with a relaxed load and store (a plain add, no locked instruction), readers see a
/// value at most a little behind. Counting from two threads needs two counters.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter& other) noexcept : v_(other.get()) {}
  Counter& operator=(const Counter& other) noexcept {
    v_.store(other.get(), std::memory_order_relaxed);
    return *this;
  }
  Counter& operator++() noexcept { return *this += 1; }
  Counter& operator+=(uint64_t n) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    return *this;
  }
  Counter& operator=(uint64_t n) noexcept {
    v_.store(n, std::memory_order_relaxed);
    return *this;
  }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }
  operator uint64_t() const noexcept { return get(); }  // NOLINT: reads like the number it is

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace imguard
