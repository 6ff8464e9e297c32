// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <optional>

#include "classifiers/chain.h"
#include "engine/flow_table.h"
#include "policy/config.h"
#include "policy/decision.h"
#include "policy/identity.h"

namespace imguard::engine {

/// The one decision component. The live daemon, `imguard classify` and the re-decision of
/// open connections (reload, schedule boundary, restart) all come here, so golden files
/// exercise exactly what the firewall does.

/// What is known about one connection, however it was learned (a flow in the table, a
/// finished flow record, or a conntrack entry with imguard's label record).
struct ConnFacts {
  policy::Endpoints ends;
  classifiers::AppId app = classifiers::AppId::kUnknown;
  uint8_t features = 0;  // classifier bits (kFeaturePeer, not kFeatureServing)
  classifiers::Evidence evidence = classifiers::Evidence::kNone;
  /// Set when the user was found by MAC or UID earlier and cannot be re-derived from
  /// addresses: User::stable_id, and which end the user was.
  std::optional<uint32_t> sticky_user;
  bool sticky_responder = false;
};

/// A decision with what it was based on.
struct Decided {
  policy::Decision decision;
  policy::Identity identity;
  uint8_t features = 0;  // as the policy saw them: kFeatureServing derived, kFeaturePeer kept
};

/// Identity, derived features, then policy::decide(). noexcept, allocation-free.
Decided decide_connection(const policy::Config& config, const ConnFacts& facts,
                          uint64_t active_schedules) noexcept;

/// Bit i set when config.policy.schedules[i] is active at `t`.
uint64_t schedules_at(const policy::Policy& policy, packet::Timestamp t) noexcept;

/// The policy a packet is decided under: the snapshot, its generation and the schedule
/// state. `schedules` empty means "evaluate at the packet's own time" (offline captures);
/// the live daemon passes the state its control thread published.
struct PolicyView {
  const policy::Config* config = nullptr;  // nullptr: classify only, decide nothing
  uint64_t generation = 0;
  std::optional<uint64_t> schedules;
};

/// What one packet did to its flow's decision.
enum class Step : uint8_t {
  kUndecided,   // still classifying, nothing to enforce yet
  kClaimBlock,  // a classifier claimed an app the policy blocks: decided now, early
  kDecidedNow,  // the classification became final with this packet: decided now
  kDecided,     // decided earlier (a packet in flight); the cached decision answers
  kRedecided,   // decided earlier under an older policy generation: decided again
};

/// Advances `flow`'s decision after classification of one of its packets, caching the
/// result on the flow. noexcept, allocation-free.
Step decide_step(const PolicyView& view, Flow& flow, bool decided_now,
                 packet::Timestamp now) noexcept;

/// The facts of a flow in the table.
ConnFacts facts_of(const Flow& flow) noexcept;

}  // namespace imguard::engine
