// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/decider.h"

namespace imguard::engine {

namespace {

using classifiers::kFeaturePeer;
using classifiers::kFeatureServing;

policy::Identity identity_of(const policy::Config& c, const ConnFacts& f) noexcept {
  if (f.sticky_user) {
    const uint16_t u = policy::user_by_stable_id(c.policy, *f.sticky_user);
    if (u != policy::kNoUser) {
      policy::Identity id =
          policy::identity_for_user(c.policy, u, f.sticky_responder,
                                    f.sticky_responder ? f.ends.responder : f.ends.initiator);
      id.sticky = true;
      return id;
    }
  }
  return policy::resolve_identity(c.policy, c.mode, f.ends);
}

}  // namespace

Decided decide_connection(const policy::Config& c, const ConnFacts& f,
                          uint64_t active_schedules) noexcept {
  Decided d;
  d.identity = identity_of(c, f);
  // `serving`: the user's own host accepted a P2P peer connection (it serves files).
  d.features = static_cast<uint8_t>(f.features & ~kFeatureServing);
  if ((f.features & kFeaturePeer) != 0 && d.identity.user_is_responder) {
    d.features = static_cast<uint8_t>(d.features | kFeatureServing);
  }
  policy::FlowFacts facts;
  facts.app = f.app;
  facts.features = d.features;
  facts.evidence = f.evidence;
  facts.user = d.identity.user;
  facts.groups = d.identity.groups;
  facts.user_is_responder = d.identity.user_is_responder;
  facts.active_schedules = active_schedules;
  d.decision = policy::decide(c.policy, facts);
  return d;
}

uint64_t schedules_at(const policy::Policy& p, packet::Timestamp t) noexcept {
  const auto s = std::chrono::sys_seconds(std::chrono::duration_cast<std::chrono::seconds>(t));
  uint64_t mask = 0;
  for (size_t i = 0; i < p.schedules.size() && i < 64; ++i) {
    if (policy::schedule_active(p.schedules[i], s)) {
      mask |= uint64_t{1} << i;
    }
  }
  return mask;
}

ConnFacts facts_of(const Flow& flow) noexcept {
  ConnFacts f;
  f.ends.initiator = flow.client;
  f.ends.responder = flow.server;
  if ((flow.mac_seen & 1u) != 0) {
    f.ends.initiator_mac = flow.mac[0];
  }
  if ((flow.mac_seen & 2u) != 0) {
    f.ends.responder_mac = flow.mac[1];
  }
  f.ends.uid = flow.uid;
  f.ends.host_is_responder = flow.host_is_responder;
  const classifiers::Classification& c = flow.chain.result;
  f.app = c.app;
  f.features = c.features;
  f.evidence = c.evidence;
  return f;
}

Step decide_step(const PolicyView& view, Flow& flow, bool decided_now,
                 packet::Timestamp now) noexcept {
  if (view.config == nullptr) {
    return Step::kUndecided;
  }
  CachedDecision& cache = flow.decision;
  const classifiers::Classification& c = flow.chain.result;
  auto decide = [&](CachedDecision::When when, ConnFacts facts) {
    const uint64_t sched =
        view.schedules ? *view.schedules : schedules_at(view.config->policy, now);
    const Decided d = decide_connection(*view.config, facts, sched);
    cache.when = when;
    cache.generation = view.generation;
    cache.decision = d.decision;
    cache.identity = d.identity;
    cache.features = d.features;
    cache.at = now;
  };
  if (cache.when != CachedDecision::When::kNone) {
    if (cache.generation == view.generation) {
      return Step::kDecided;
    }
    if (cache.when != CachedDecision::When::kClaim) {
      decide(cache.when, facts_of(flow));
      return Step::kRedecided;
    }
    // Blocked on its claim under an older policy: when the new one no longer blocks the
    // app, the flow goes back to being classified and gets its decision in full.
    cache.when = CachedDecision::When::kNone;
    const Step again = decide_step(view, flow, decided_now, now);
    return again == Step::kClaimBlock || again == Step::kDecidedNow ? Step::kRedecided : again;
  }
  if (!c.final) {
    // A classifier claimed the flow (the app is known) and waits for features. When the
    // app alone is already blocked, block now instead of letting the waiting packets
    // through; allowed apps keep being observed until the classification is final.
    if (c.app == classifiers::AppId::kUnknown) {
      return Step::kUndecided;
    }
    ConnFacts facts = facts_of(flow);
    facts.features = classifiers::kFeatureNone;
    const uint64_t sched =
        view.schedules ? *view.schedules : schedules_at(view.config->policy, now);
    const Decided early = decide_connection(*view.config, facts, sched);
    const policy::Action a = early.decision.enforced;
    if (a != policy::Action::kDrop && a != policy::Action::kReject) {
      return Step::kUndecided;
    }
    decide(CachedDecision::When::kClaim, facts);
    return Step::kClaimBlock;
  }
  (void)decided_now;
  decide(CachedDecision::When::kFinal, facts_of(flow));
  return Step::kDecidedNow;
}

}  // namespace imguard::engine
