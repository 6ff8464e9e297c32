// SPDX-License-Identifier: GPL-3.0-or-later
#include "policy/decision.h"

#include <algorithm>
#include <cassert>

namespace imguard::policy {

namespace {

template <typename T>
bool contains(const std::vector<T>& v, T x) noexcept {
  return std::find(v.begin(), v.end(), x) != v.end();
}

bool who_matches(const Rule& r, const FlowFacts& f) noexcept {
  if (r.who_anyone) {
    return true;
  }
  if (f.user == kNoUser ? r.who_unknown
                        : std::binary_search(r.who_users.begin(), r.who_users.end(), f.user)) {
    return true;
  }
  return (r.who_groups & f.groups).any();
}

bool schedule_on(const FlowFacts& f, uint16_t s) noexcept {
  return s < 64 && ((f.active_schedules >> s) & 1u) != 0;
}

Decision make(const Policy& p, uint16_t index, const FlowFacts& f) noexcept {
  const Rule& r = p.rules[index];
  Decision d;
  d.action = r.spec.action;
  d.enforced = (r.spec.monitor || !p.enforce) ? Action::kAllow : r.spec.action;
  d.rule = index;
  d.user = f.user;
  if (r.spec.action == Action::kThrottle) {
    d.rate_bytes_per_sec = r.spec.rate_bytes_per_sec;
  }
  // A quota rule's connections carry its bucket whatever the action: the kernel finds
  // the quota pool by it (its mark is then no longer the bare allow value).
  if (d.enforced == Action::kThrottle || (r.quota && p.enforce && !r.spec.monitor)) {
    uint16_t bucket = r.bucket;
    if (!r.user_buckets.empty()) {
      const size_t slot = f.user == kNoUser ? p.users.size() : f.user;
      bucket = slot < r.user_buckets.size() ? r.user_buckets[slot] : kNoBucket;
    }
    // The loader numbers a bucket for every user a throttle or quota rule can match.
    assert(bucket != kNoBucket);
    d.bucket = bucket == kNoBucket ? 0 : bucket;
  }
  return d;
}

uint16_t table_rule(const Policy& p, const FlowFacts& f) noexcept {
  const ActionTable& t = p.table;
  const auto a = static_cast<size_t>(f.app);
  if (a < t.by_app.size() && t.by_app[a] != kNoRule) {
    return t.by_app[a];
  }
  for (size_t i = 0; i < kRuleFeatures.size(); ++i) {
    if ((f.features & kRuleFeatures[i]) != 0 && t.by_feature[i] != kNoRule) {
      return t.by_feature[i];
    }
  }
  const auto c = static_cast<size_t>(classifiers::app_category(f.app));
  if (c < t.by_category.size() && t.by_category[c] != kNoRule) {
    return t.by_category[c];
  }
  return t.default_rule;
}

}  // namespace

bool rule_matches(const Rule& r, const FlowFacts& f) noexcept {
  if (!who_matches(r, f)) {
    return false;
  }
  if (!r.apps.empty() && !contains(r.apps, f.app)) {
    return false;
  }
  if (!r.categories.empty() && !contains(r.categories, classifiers::app_category(f.app))) {
    return false;
  }
  if (r.features != 0 && (r.features & f.features) == 0) {
    return false;
  }
  if (r.evidence != 0 && ((r.evidence >> static_cast<unsigned>(f.evidence)) & 1u) == 0) {
    return false;
  }
  if (r.direction == FlowDirection::kServing && !f.user_is_responder) {
    return false;
  }
  if (r.direction == FlowDirection::kInitiating && f.user_is_responder) {
    return false;
  }
  if (r.when != kNoSchedule && !schedule_on(f, r.when)) {
    return false;
  }
  return r.not_when == kNoSchedule || !schedule_on(f, r.not_when);
}

Decision decide(const Policy& p, const FlowFacts& f) noexcept {
  if (p.rules.empty()) {
    return Decision{};  // only a hand-built Policy can lack the default rule
  }
  for (uint16_t i = 0; i < p.ordered_rules && i < p.rules.size(); ++i) {
    if (rule_matches(p.rules[i], f)) {
      return make(p, i, f);
    }
  }
  const uint16_t index = table_rule(p, f);
  return make(p, index < p.rules.size() ? index : p.table.default_rule, f);
}

uint16_t quota_pool(const Policy& p, const Decision& d) noexcept {
  if (d.rule >= p.rules.size() || !p.rules[d.rule].quota || d.bucket >= p.buckets.size() ||
      p.buckets[d.bucket].rule != d.rule) {
    return kNoPool;
  }
  return p.buckets[d.bucket].pool;
}

Decision decide(const Config& config, classifiers::AppId app, uint8_t features) noexcept {
  FlowFacts f;
  f.app = app;
  f.features = features;
  return decide(config.policy, f);
}

}  // namespace imguard::policy
