// SPDX-License-Identifier: GPL-3.0-or-later
#include "policy/marks.h"

#include <bit>

namespace imguard::policy {

namespace {

int window_shift(uint32_t mask) noexcept {
  return std::countr_zero(mask);
}
int window_width(uint32_t mask) noexcept {
  return std::popcount(mask);
}

}  // namespace

bool valid_mark_mask(uint32_t mask) noexcept {
  if (window_width(mask) < kMinMarkBits) {
    return false;
  }
  // Contiguous: shifting the run down to bit 0 leaves a value of the form 2^k - 1.
  const uint32_t low = mask >> window_shift(mask);
  return (low & (low + 1)) == 0;
}

uint32_t mark_bucket_capacity(uint32_t mask) noexcept {
  if (!valid_mark_mask(mask)) {
    return 0;
  }
  const int bits = window_width(mask) - kBucketShift;
  return bits >= 31 ? 0x80000000u : (1u << bits);
}

uint32_t encode(const Decision& d, uint32_t mask) noexcept {
  const uint32_t value = kDecidedBit |
                         ((static_cast<uint32_t>(d.enforced) & kActionBits) << kActionShift) |
                         (static_cast<uint32_t>(d.bucket) << kBucketShift);
  return (value << window_shift(mask)) & mask;
}

std::optional<MarkInfo> decode(uint32_t mark, uint32_t mask) noexcept {
  if (!valid_mark_mask(mask)) {
    return std::nullopt;
  }
  const uint32_t value = (mark & mask) >> window_shift(mask);
  if ((value & kDecidedBit) == 0) {
    return std::nullopt;
  }
  MarkInfo info;
  info.action = static_cast<Action>((value >> kActionShift) & kActionBits);
  info.bucket = static_cast<uint16_t>(value >> kBucketShift);
  return info;
}

uint32_t new_conn_tag(uint32_t mask) noexcept {
  // Bit 1 of the window (the low action bit) with the decided bit clear.
  return valid_mark_mask(mask) ? 1u << kActionShift << window_shift(mask) : 0;
}

bool has_new_conn_tag(uint32_t mark, uint32_t mask) noexcept {
  const uint32_t tag = new_conn_tag(mask);
  return tag != 0 && (mark & mask) == tag;
}

uint32_t decided_bit(uint32_t mask) noexcept {
  return valid_mark_mask(mask) ? kDecidedBit << window_shift(mask) : 0;
}

uint32_t apply_mark(uint32_t old_mark, const Decision& d, uint32_t mask) noexcept {
  return (old_mark & ~mask) | encode(d, mask);
}

}  // namespace imguard::policy
