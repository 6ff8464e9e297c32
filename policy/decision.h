// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>

#include "classifiers/apps.h"
#include "policy/config.h"

namespace imguard::policy {

/// The outcome for one classified connection.
struct Decision {
  Action action = Action::kAllow;
  /// Bytes per second of the kernel bucket; > 0 only for kThrottle.
  uint64_t rate_bytes_per_sec = 0;
  /// Index into Config::actions.rules of the rule that decided (0 = the default rule).
  uint16_t rule = 0;
  /// The rule's rate bucket (Rule::bucket) for kThrottle, else 0.
  uint16_t bucket = 0;

  friend bool operator==(const Decision&, const Decision&) = default;
};

/// Resolves a connection's action: the app's own rule beats a rule on one of its
/// `features` (consulted in kRuleFeatures order: file_transfer, serving, cleartext), which
/// beats its category's rule, which beats the default. A flow that stayed unclassified is
/// AppId::kUnknown (category `unknown`). O(1), noexcept, no allocation: hot-path safe.
/// Thread-safe for concurrent readers of the same const Config.
Decision decide(const Config& config, classifiers::AppId app, uint8_t features) noexcept;

}  // namespace imguard::policy
