// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>

#include "classifiers/apps.h"
#include "classifiers/classifier.h"
#include "policy/config.h"

namespace imguard::policy {

/// Everything the policy may look at for one connection. Built by the engine (live and
/// offline alike) from the classification, the identity resolution (policy/identity.h)
/// and the published schedule state.
struct FlowFacts {
  classifiers::AppId app = classifiers::AppId::kUnknown;
  /// Classifier features plus kFeatureServing when the user's host is the responder of a
  /// P2P peer connection (see identity.h).
  uint8_t features = classifiers::kFeatureNone;
  classifiers::Evidence evidence = classifiers::Evidence::kNone;
  uint16_t user = kNoUser;  // index into Policy::users
  GroupSet groups;          // every group the user or its address belongs to
  /// The user's host accepted the connection (it is the flow's responder).
  bool user_is_responder = false;
  /// Bit i: Policy::schedules[i] is active now.
  uint64_t active_schedules = 0;
};

/// The outcome for one connection.
struct Decision {
  /// What the policy decided (monitor rules and `enforce: false` included).
  Action action = Action::kAllow;
  /// What the kernel applies: `action`, or kAllow for monitor rules and when
  /// Policy::enforce is false. The mark carries this one.
  Action enforced = Action::kAllow;
  /// Bytes per second of the kernel bucket; > 0 only when action is kThrottle.
  uint64_t rate_bytes_per_sec = 0;
  /// Index into Policy::rules of the rule that decided.
  uint16_t rule = 0;
  /// The user it was decided for (FlowFacts::user).
  uint16_t user = kNoUser;
  /// The mark bucket when `enforced` is kThrottle or the rule has an enforced quota, else 0.
  uint16_t bucket = 0;

  bool monitored() const noexcept { return action != enforced; }
  friend bool operator==(const Decision&, const Decision&) = default;
};

/// Whether `rule` matches `facts`. noexcept, no allocation.
bool rule_matches(const Rule& rule, const FlowFacts& facts) noexcept;

/// The decision for one connection: the first of `rules:` that matches, else the legacy
/// table (app > feature > category), else the default. O(rules), noexcept, no
/// allocation: hot-path safe. Thread-safe for concurrent readers of the same Policy.
Decision decide(const Policy& policy, const FlowFacts& facts) noexcept;

/// The quota pool (index into Policy::quota_pools) that counts a connection decided `d`,
/// kNoPool when its rule has no (enforced) quota.
uint16_t quota_pool(const Policy& policy, const Decision& d) noexcept;

/// Legacy entry point kept for callers that only know the app and features (no user, no
/// schedule): same as decide() with everything else empty.
Decision decide(const Config& config, classifiers::AppId app, uint8_t features) noexcept;

}  // namespace imguard::policy
