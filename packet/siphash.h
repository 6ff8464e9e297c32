// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <span>

namespace imguard::packet {

/// A 128-bit SipHash key (k0 = first 8 key bytes little-endian, k1 = the next 8).
struct SipKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

/// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) with a
/// 64-bit output. A keyed hash for tables indexed by bytes an attacker chooses (addresses,
/// ports, connection IDs): without the key, colliding inputs cannot be found offline.
/// Pure function; thread-safe.
uint64_t siphash24(const SipKey& key, std::span<const uint8_t> data) noexcept;

/// The process's hash key: 16 bytes from getrandom(2) drawn on first use, then constant
/// for the life of the process (so every worker and every table share it, and hash values
/// are never comparable across runs). Thread-safe. Aborts if the kernel has no random
/// source at all, since an unkeyed table is exactly what this exists to avoid.
const SipKey& process_hash_key() noexcept;

/// siphash24() under process_hash_key(): what tables keyed by packet bytes should use.
inline uint64_t keyed_hash(std::span<const uint8_t> data) noexcept {
  return siphash24(process_hash_key(), data);
}

}  // namespace imguard::packet
