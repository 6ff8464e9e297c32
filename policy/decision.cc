// SPDX-License-Identifier: GPL-3.0-or-later
#include "policy/decision.h"

namespace imguard::policy {

namespace {

uint16_t rule_index(const ActionTable& t, classifiers::AppId app, uint8_t features) noexcept {
  const auto a = static_cast<size_t>(app);
  if (a < t.by_app.size() && t.by_app[a] != kNoRule) {
    return t.by_app[a];
  }
  for (size_t i = 0; i < kRuleFeatures.size(); ++i) {
    if ((features & kRuleFeatures[i]) != 0 && t.by_feature[i] != kNoRule) {
      return t.by_feature[i];
    }
  }
  const auto c = static_cast<size_t>(classifiers::app_category(app));
  if (c < t.by_category.size() && t.by_category[c] != kNoRule) {
    return t.by_category[c];
  }
  return 0;
}

}  // namespace

Decision decide(const Config& config, classifiers::AppId app, uint8_t features) noexcept {
  const ActionTable& t = config.actions;
  if (t.rules.empty()) {
    return Decision{};  // only a hand-built Config can lack the default rule
  }
  const uint16_t index = rule_index(t, app, features);
  const Rule& r = t.rules[index < t.rules.size() ? index : 0];
  Decision d;
  d.action = r.spec.action;
  d.rule = index < t.rules.size() ? index : 0;
  if (r.spec.action == Action::kThrottle) {
    d.rate_bytes_per_sec = r.spec.rate_bytes_per_sec;
    d.bucket = r.bucket;
  }
  return d;
}

}  // namespace imguard::policy
