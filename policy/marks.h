// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <optional>

#include "policy/decision.h"

namespace imguard::policy {

/// The one place that defines imguard's mark layout.
///
/// imguard owns only the bits of `mask` (Config::mark_mask: one contiguous run of at least
/// kMinMarkBits bits) in the packet mark and the conntrack mark. Counting from the lowest
/// bit of the window:
///
///   bit 0        decided: 1 once a connection has a verdict. A window of all zeros means
///                "undecided": only such connections are queued.
///   bits 1..2    action class: 0 allow, 1 drop, 2 reject, 3 throttle (policy::Action).
///   bits 3..     throttle bucket index (Decision::bucket); 0 for other actions.
///
/// A window with bit 0 clear and bit 1 set is never a decision: on a queued *packet* (never
/// a ct mark) it is the new-connection tag the ruleset puts on the first packet of each
/// conntrack entry that reaches the queue (new_conn_tag). A flow the engine still holds
/// under that packet's 5-tuple is then an older connection that reused the port pair.
///
/// With the default window 0x00ff0000 the value is (bucket << 19) | (action << 17) |
/// 1 << 16, and up to 32 throttle buckets fit. Functions here never return a bit outside
/// the window; writers combine with `(old & ~mask) | encode(...)` (see apply_mark).

inline constexpr int kMinMarkBits = 3;
inline constexpr uint32_t kDecidedBit = 1u;
inline constexpr int kActionShift = 1;
inline constexpr uint32_t kActionBits = 0x3u;
inline constexpr int kBucketShift = 3;

/// True when `mask` is a single contiguous run of at least kMinMarkBits set bits.
bool valid_mark_mask(uint32_t mask) noexcept;
/// Throttle buckets that fit in the window (2^(width-3)); 0 for an invalid mask.
uint32_t mark_bucket_capacity(uint32_t mask) noexcept;

/// The window bits for `d`: decided bit, action class, bucket. A bucket that does not fit
/// the window is truncated to its low bits (the loader rejects configs where that could
/// happen). Precondition: valid_mark_mask(mask).
uint32_t encode(const Decision& d, uint32_t mask) noexcept;

/// What a mark says about a connection: nullopt when the window is zero (undecided) or
/// the mask is invalid. `rule` and `rate_bytes_per_sec` are not carried by the mark and
/// come back as 0.
struct MarkInfo {
  Action action = Action::kAllow;
  uint16_t bucket = 0;
  friend bool operator==(const MarkInfo&, const MarkInfo&) = default;
};
std::optional<MarkInfo> decode(uint32_t mark, uint32_t mask) noexcept;

/// The new-connection tag's window bits (0x00020000 with the default window).
uint32_t new_conn_tag(uint32_t mask) noexcept;
/// True when the packet mark's window is exactly the new-connection tag.
bool has_new_conn_tag(uint32_t mark, uint32_t mask) noexcept;
/// The window bits that say "decided" (0x00010000 with the default window): the save
/// rules copy a packet's window into its connection only when this bit is set, so a tag
/// left on a packet nobody answered (queue bypass, fail-open) is never taken for a verdict.
uint32_t decided_bit(uint32_t mask) noexcept;

/// The full 32-bit mark to hand back for a packet whose current mark is `old_mark`: the
/// bits outside the window are kept, the window holds encode(d, mask).
uint32_t apply_mark(uint32_t old_mark, const Decision& d, uint32_t mask) noexcept;

}  // namespace imguard::policy
