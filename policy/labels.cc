// SPDX-License-Identifier: GPL-3.0-or-later
#include "policy/labels.h"

namespace imguard::policy {

namespace {

constexpr size_t kFirstByte = 8;
constexpr uint64_t kResponderBit = 1u << 4;
constexpr uint64_t kStickyBit = 1u << 5;
constexpr int kAppShift = 8;
constexpr uint64_t kAppBits = 0x3ff;
constexpr int kEvidenceShift = 18;
constexpr uint64_t kEvidenceBits = 0x7;
constexpr int kFeatureShift = 21;
constexpr int kUserShift = 32;

}  // namespace

LabelBytes label_mask() noexcept {
  LabelBytes m{};
  for (size_t i = kFirstByte; i < m.size(); ++i) {
    m[i] = 0xff;
  }
  auto clear = [&m](int bit) {
    const auto byte = static_cast<size_t>(bit / 8);
    m[byte] = static_cast<uint8_t>(m[byte] & ~(1u << (bit % 8)));
  };
  for (const int bit : kSteerLabelBits) {
    clear(bit);
  }
  clear(kDataQueuedLabelBit);
  return m;
}

uint32_t steer_index(const LabelBytes& label) noexcept {
  uint32_t index = 0;
  for (size_t i = 0; i < kSteerLabelBits.size(); ++i) {
    const int bit = kSteerLabelBits[i];
    if ((label[static_cast<size_t>(bit / 8)] >> (bit % 8)) & 1u) {
      index |= 1u << i;
    }
  }
  return index;
}

LabelBytes encode_label(const ConnRecord& r) noexcept {
  uint64_t v = kLabelVersion;
  v |= r.user_is_responder ? kResponderBit : 0;
  v |= r.identity_sticky ? kStickyBit : 0;
  v |= (static_cast<uint64_t>(r.app) & kAppBits) << kAppShift;
  v |= (static_cast<uint64_t>(r.evidence) & kEvidenceBits) << kEvidenceShift;
  v |= static_cast<uint64_t>(r.features) << kFeatureShift;
  v |= static_cast<uint64_t>(r.user_stable_id) << kUserShift;
  LabelBytes out{};
  for (size_t i = 0; i < 8; ++i) {
    out[kFirstByte + i] = static_cast<uint8_t>(v >> (8 * i));
  }
  return out;
}

std::optional<ConnRecord> decode_label(const LabelBytes& label) noexcept {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    v |= static_cast<uint64_t>(label[kFirstByte + i]) << (8 * i);
  }
  if ((v & 0xf) != kLabelVersion) {
    return std::nullopt;
  }
  const uint64_t app = (v >> kAppShift) & kAppBits;
  const uint64_t evidence = (v >> kEvidenceShift) & kEvidenceBits;
  if (app >= static_cast<uint64_t>(classifiers::AppId::kCount_) ||
      evidence > static_cast<uint64_t>(classifiers::Evidence::kDpi)) {
    return std::nullopt;
  }
  ConnRecord r;
  r.app = static_cast<classifiers::AppId>(app);
  r.evidence = static_cast<classifiers::Evidence>(evidence);
  r.features = static_cast<uint8_t>(v >> kFeatureShift);
  r.user_is_responder = (v & kResponderBit) != 0;
  r.identity_sticky = (v & kStickyBit) != 0;
  r.user_stable_id = static_cast<uint32_t>(v >> kUserShift);
  return r;
}

}  // namespace imguard::policy
