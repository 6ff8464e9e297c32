// SPDX-License-Identifier: GPL-3.0-or-later
#include "policy/config.h"

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

Config default_config() {
  Config c;
  c.source = "<built-in>";
  c.actions.rules.push_back(Rule{});
  c.actions.by_app.fill(kNoRule);
  c.actions.by_category.fill(kNoRule);
  c.actions.by_feature.fill(kNoRule);
  return c;
}

}  // namespace imguard::policy
