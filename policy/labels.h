// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "classifiers/apps.h"
#include "classifiers/classifier.h"

namespace imguard::policy {

/// The one place that defines what imguard records about a connection in its conntrack
/// label, so a reload, a schedule boundary or a restart can decide it again long after it
/// left the queue (the ct mark holds only the decision).
///
/// imguard owns label bits 64..127 (bytes 8..15 of the kernel's CTA_LABELS bitmap on a
/// little-endian host); bits 0..63 stay free for connlabel.conf names of other software.
/// Inside its half, a little-endian 64-bit record:
///
///   bits 0..3    record version (kLabelVersion); 0 = no imguard record
///   bit  4       the user's host is the connection's responder
///   bit  5       the user was identified by MAC or UID (not re-derivable from addresses)
///   bits 8..17   classifiers::AppId
///   bits 18..20  classifiers::Evidence
///   bits 21..28  classifier features (classifiers::Feature bits)
///   bits 32..63  User::stable_id of the user (0: unknown)
struct ConnRecord {
  classifiers::AppId app = classifiers::AppId::kUnknown;
  classifiers::Evidence evidence = classifiers::Evidence::kNone;
  uint8_t features = 0;
  bool user_is_responder = false;
  bool identity_sticky = false;
  uint32_t user_stable_id = 0;

  friend bool operator==(const ConnRecord&, const ConnRecord&) = default;
};

using LabelBytes = std::array<uint8_t, 16>;
inline constexpr uint8_t kLabelVersion = 1;

/// The label bits imguard writes (bytes 8..15 all ones).
LabelBytes label_mask() noexcept;
/// `r` encoded into imguard's half of a label; the other half is zero.
LabelBytes encode_label(const ConnRecord& r) noexcept;
/// The record in `label`, nullopt when imguard's half holds none (or an unknown version,
/// or an app id this build does not know).
std::optional<ConnRecord> decode_label(const LabelBytes& label) noexcept;

}  // namespace imguard::policy
