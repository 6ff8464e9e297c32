// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace imguard::packet {

/// Why a packet could not be turned into a flow packet. Untrusted input never throws:
/// the parser returns one of these and the caller counts it (cf. Zeek's "weirds").
enum class Anomaly : uint8_t {
  kEmpty,
  kUnknownIpVersion,
  kTruncatedIpv4,
  kBadIpv4HeaderLength,
  kBadIpv4TotalLength,
  kIpv4Fragment,
  kTruncatedIpv6,
  kIpv6Fragment,
  kTruncatedIpv6ExtensionHeader,
  kTooManyIpv6ExtensionHeaders,
  kTruncatedTcp,
  kBadTcpDataOffset,
  kTruncatedUdp,
  kBadUdpLength,
  kNotTcpUdp,  // ICMP, ESP, GRE, ...: not an error, but no flow for it
  kUnsupportedLinkType,
  kTruncatedLinkHeader,
  kNonIpFrame,
  kCount_,
};

std::string_view anomaly_name(Anomaly a) noexcept;

/// Per-worker counters, one per named anomaly. Not thread-safe: one per worker.
class AnomalyCounters {
 public:
  void count(Anomaly a) noexcept { ++counts_[static_cast<size_t>(a)]; }
  uint64_t get(Anomaly a) const noexcept { return counts_[static_cast<size_t>(a)]; }
  void merge(const AnomalyCounters& other) noexcept {
    for (size_t i = 0; i < counts_.size(); ++i) {
      counts_[i] += other.counts_[i];
    }
  }
  uint64_t total() const noexcept {
    uint64_t t = 0;
    for (auto c : counts_) {
      t += c;
    }
    return t;
  }

 private:
  std::array<uint64_t, static_cast<size_t>(Anomaly::kCount_)> counts_{};
};

}  // namespace imguard::packet
