// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string_view>

#include "classifiers/flow_limits.h"

namespace imguard::classifiers {

/// The first bytes of one direction of a TCP stream, kept in sequence-number order while a
/// classifier waits for a message that arrived split over segments (an XMPP opening, an
/// HTTP request head). Lives on the heap only while it is needed, charged to the worker's
/// reassembly budget (FlowLimits); the owning classifier frees it with release() when it
/// settles and in Classifier::release(). Never throws; allocation failure is a nullptr.
template <size_t N>
struct StreamPrefix {
  static_assert(N <= 0xffff, "`have` counts in 16 bits");

  FlowLimits* limits;  // the budget this is charged to, nullptr: unbounded
  uint32_t next_seq;   // sequence number of the byte after the last one kept
  uint16_t have;
  uint8_t data[N];

  /// A prefix holding `p`, the payload of the segment with sequence number `seq`; nullptr
  /// when `p` does not fit, the budget refuses or memory is short.
  static StreamPrefix* start(FlowLimits* limits, std::span<const uint8_t> p,
                             uint32_t seq) noexcept {
    if (p.size() > N || (limits != nullptr && !limits->reserve(sizeof(StreamPrefix)))) {
      return nullptr;
    }
    auto* s = new (std::nothrow) StreamPrefix;
    if (s == nullptr) {
      if (limits != nullptr) {
        limits->release(sizeof(StreamPrefix));
      }
      return nullptr;
    }
    s->limits = limits;
    s->next_seq = seq + static_cast<uint32_t>(p.size());
    s->have = static_cast<uint16_t>(p.size());
    std::memcpy(s->data, p.data(), p.size());
    return s;
  }

  /// Frees `s` (nullptr is fine) and returns its bytes to the budget.
  static void release(StreamPrefix* s) noexcept {
    if (s != nullptr) {
      if (s->limits != nullptr) {
        s->limits->release(sizeof(StreamPrefix));
      }
      delete s;
    }
  }

  enum class Append : uint8_t {
    kAdded,    // new bytes were kept
    kOld,      // a retransmission of bytes already kept: nothing new
    kRefused,  // a gap in the stream, or more than N bytes in all: the attempt is over
  };
  /// Adds the segment with sequence number `seq` and payload `p`.
  Append append(std::span<const uint8_t> p, uint32_t seq) noexcept {
    const uint32_t behind = next_seq - seq;  // bytes of `p` already kept
    if (behind > have) {
      return Append::kRefused;
    }
    if (p.size() <= behind) {
      return Append::kOld;
    }
    const auto fresh = p.subspan(behind);
    if (fresh.size() > N - have) {
      return Append::kRefused;
    }
    std::memcpy(data + have, fresh.data(), fresh.size());
    have = static_cast<uint16_t>(have + fresh.size());
    next_seq += static_cast<uint32_t>(fresh.size());
    return Append::kAdded;
  }

  std::span<const uint8_t> bytes() const noexcept { return {data, have}; }
  std::string_view text() const noexcept { return {reinterpret_cast<const char*>(data), have}; }
};

}  // namespace imguard::classifiers
