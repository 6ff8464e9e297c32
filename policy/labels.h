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
///
/// Steering (firewall/README.md, "Spreading connections over workers"): the nft ruleset
/// writes the index of the worker that owns a new connection into record bits 29, 30, 31
/// and 7 (label bits 93, 94, 95, 71; index bit 0 first) when the connection is created,
/// so both of its directions reach the same worker. (Destroy events carry no label, so
/// connection ends go to every worker.) Record writes never touch these bits
/// (label_mask()).
inline constexpr std::array<int, 4> kSteerLabelBits = {93, 94, 95, 71};
/// Set by the queue rule on a connection's first queued data segment (record bit 6,
/// label bit 70): from then on its FIN and RST without data are queued too, so they
/// cannot overtake queued data (firewall/README.md). Record writes never touch it.
inline constexpr int kDataQueuedLabelBit = 70;
/// Workers the steering field can name.
inline constexpr uint32_t kMaxSteeredWorkers = 1u << kSteerLabelBits.size();
/// The worker index in `label`'s steering bits (0 when none are set).
uint32_t steer_index(const std::array<uint8_t, 16>& label) noexcept;

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

/// The label bits a record write covers: bytes 8..15 less the steering bits.
LabelBytes label_mask() noexcept;
/// `r` encoded into imguard's half of a label; the other half is zero.
LabelBytes encode_label(const ConnRecord& r) noexcept;
/// The record in `label`, nullopt when imguard's half holds none (or an unknown version,
/// or an app id this build does not know).
std::optional<ConnRecord> decode_label(const LabelBytes& label) noexcept;

}  // namespace imguard::policy
