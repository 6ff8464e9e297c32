// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "packet/packet.h"

namespace imguard::classifiers {

/// Per-worker bounds on what crafted flows can make the classifiers spend, shared by all
/// flows of one worker: heap for reassembly buffers (TLS ClientHellos split over TCP
/// segments, QUIC CRYPTO streams) and QUIC Initial key derivations per second. A
/// classifier that is refused gives up on the flow (NotMine): the flow is settled with
/// what the rest of the chain has, never dropped or crashed. One per Chain, reached through
/// FlowContext::limits; not thread-safe (one worker thread writes it).
class FlowLimits {
 public:
  struct Config {
    /// Reassembly heap of all flows together (`engine.flows.reassembly_bytes`).
    size_t reassembly_bytes = size_t{64} << 20;
    /// QUIC Initial key derivations (one HKDF chain each) per second of packet time
    /// (`engine.flows.quic_derivations_per_sec`).
    uint32_t quic_derivations_per_sec = 10'000;
  };
  struct Stats {
    uint64_t reassembly_refused = 0;  // buffers not granted: the worker's budget was spent
    uint64_t reassembly_peak_bytes = 0;
    uint64_t quic_derivations = 0;
    uint64_t quic_derivations_capped = 0;        // over the per-datagram or per-flow bound
    uint64_t quic_derivations_rate_limited = 0;  // over the worker's per-second bound
  };

  FlowLimits() noexcept : FlowLimits(Config{}) {}
  explicit FlowLimits(Config config) noexcept : config_(config) {}

  /// Grants `bytes` more reassembly heap, or counts a refusal and returns false.
  bool reserve(size_t bytes) noexcept {
    if (bytes > config_.reassembly_bytes - std::min(in_use_, config_.reassembly_bytes)) {
      ++stats_.reassembly_refused;
      return false;
    }
    in_use_ += bytes;
    stats_.reassembly_peak_bytes = std::max<uint64_t>(stats_.reassembly_peak_bytes, in_use_);
    return true;
  }
  /// Returns heap granted by reserve(). Must not exceed what is held.
  void release(size_t bytes) noexcept { in_use_ -= std::min(bytes, in_use_); }

  /// One QUIC key derivation at packet time `now`: true if the worker's per-second
  /// allowance has room (fixed one-second windows of packet time; a clock that steps back
  /// opens a new window).
  bool take_derivation(packet::Timestamp now) noexcept {
    if (now < window_start_ || now - window_start_ >= std::chrono::seconds(1)) {
      window_start_ = now;
      window_used_ = 0;
    }
    if (window_used_ >= config_.quic_derivations_per_sec) {
      ++stats_.quic_derivations_rate_limited;
      return false;
    }
    ++window_used_;
    ++stats_.quic_derivations;
    return true;
  }
  /// Back to the state of a new instance with the same configuration. Only with no flow
  /// holding reassembly heap (heap still granted would be forgotten).
  void reset() noexcept { *this = FlowLimits(config_); }
  /// A derivation a classifier declined for its own per-flow or per-datagram bound.
  void count_derivation_capped() noexcept { ++stats_.quic_derivations_capped; }

  size_t reassembly_in_use() const noexcept { return in_use_; }
  const Config& config() const noexcept { return config_; }
  const Stats& stats() const noexcept { return stats_; }

 private:
  Config config_;
  size_t in_use_ = 0;
  packet::Timestamp window_start_{};
  uint32_t window_used_ = 0;
  Stats stats_;
};

}  // namespace imguard::classifiers
