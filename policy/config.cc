// SPDX-License-Identifier: GPL-3.0-or-later
#include "policy/config.h"

#include "policy/validate.h"

namespace imguard::policy {

std::string_view backend_name(Backend b) noexcept {
  switch (b) {
    case Backend::kAuto:
      return "auto";
    case Backend::kNftables:
      return "nftables";
    case Backend::kIptables:
      return "iptables";
  }
  return "?";
}

std::string_view hook_mode_name(HookMode m) noexcept {
  return m == HookMode::kGateway ? "gateway" : "host";
}

std::string_view reject_with_name(RejectWith r) noexcept {
  return r == RejectWith::kTcpReset ? "tcp-reset" : "icmp";
}

std::string_view action_name(Action a) noexcept {
  switch (a) {
    case Action::kAllow:
      return "allow";
    case Action::kDrop:
      return "drop";
    case Action::kReject:
      return "reject";
    case Action::kThrottle:
      return "throttle";
  }
  return "?";
}

std::optional<Action> action_from_name(std::string_view name) noexcept {
  for (Action a : {Action::kAllow, Action::kDrop, Action::kReject, Action::kThrottle}) {
    if (action_name(a) == name) {
      return a;
    }
  }
  return std::nullopt;
}

std::string_view feature_name(uint8_t feature) noexcept {
  switch (feature) {
    case classifiers::kFeatureFileTransfer:
      return "file_transfer";
    case classifiers::kFeatureServing:
      return "serving";
    case classifiers::kFeatureCleartext:
      return "cleartext";
    default:
      return "";
  }
}

std::string_view throttle_scope_name(ThrottleScope s) noexcept {
  switch (s) {
    case ThrottleScope::kPerUser:
      return "per user";
    case ThrottleScope::kPerHost:
      return "per host";
    case ThrottleScope::kShared:
      return "shared";
    case ThrottleScope::kPerFlow:
      return "per flow";
  }
  return "?";
}

std::string_view direction_name(FlowDirection d) noexcept {
  switch (d) {
    case FlowDirection::kAny:
      return "any";
    case FlowDirection::kServing:
      return "serving";
    case FlowDirection::kInitiating:
      return "initiating";
  }
  return "?";
}

bool Cidr::contains(const packet::Address& a) const noexcept {
  if (a.family != addr.family) {
    return false;
  }
  const unsigned full = prefix_len / 8u;
  for (unsigned i = 0; i < full; ++i) {
    if (a.bytes[i] != addr.bytes[i]) {
      return false;
    }
  }
  const unsigned rest = prefix_len % 8u;
  if (rest == 0) {
    return true;
  }
  const auto m = static_cast<uint8_t>(0xff00u >> rest);
  return (a.bytes[full] & m) == (addr.bytes[full] & m);
}

std::string Cidr::to_string() const {
  return addr.to_string() + "/" + std::to_string(prefix_len);
}

size_t AddressHash::operator()(const packet::Address& a) const noexcept {
  uint64_t h = 14695981039346656037ull ^ static_cast<uint8_t>(a.family);
  for (uint8_t b : a.bytes) {
    h = (h ^ b) * 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

Config default_config() {
  Config c;
  c.source = "<built-in>";
  Rule d;
  d.name = "default";
  d.from_action_table = true;
  c.policy.rules.push_back(std::move(d));
  c.policy.table.by_app.fill(kNoRule);
  c.policy.table.by_category.fill(kNoRule);
  c.policy.table.by_feature.fill(kNoRule);
  c.policy.table.default_rule = 0;
  c.policy.local_networks = default_local_networks();
  return c;
}

}  // namespace imguard::policy
