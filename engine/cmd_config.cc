// SPDX-License-Identifier: GPL-3.0-or-later
// `imguard check-config FILE` and `imguard rules --config FILE [--plan NAME]`.
#include <cstdio>
#include <string>
#include <vector>

#include "engine/commands.h"
#include "engine/json.h"
#include "firewall/firewall.h"
#include "policy/loader.h"

namespace imguard::engine {

namespace {

/// Loads `path`; on failure prints one message per line to stderr and returns nullptr.
std::shared_ptr<const policy::Config> load_or_report(const std::string& path) {
  auto result = policy::load_config_file(path);
  if (auto* err = std::get_if<policy::LoadError>(&result)) {
    for (const std::string& m : err->messages) {
      std::fprintf(stderr, "%s\n", terminal_safe(m).c_str());
    }
    for (const std::string& w : err->warnings) {
      std::fprintf(stderr, "%s\n", terminal_safe(w).c_str());
    }
    return nullptr;
  }
  return std::get<std::shared_ptr<const policy::Config>>(result);
}

std::optional<firewall::Plan> plan_from_name(const std::string& name) {
  for (auto p : {firewall::Plan::kNftables, firewall::Plan::kNftablesIptablesQueue,
                 firewall::Plan::kIptables}) {
    if (firewall::plan_name(p) == name) {
      return p;
    }
  }
  return std::nullopt;
}

}  // namespace

int cmd_check_config(const std::string& file) {
  auto config = load_or_report(file);
  if (!config) {
    return 1;
  }
  for (const std::string& w : config->warnings) {
    std::fprintf(stderr, "%s\n", terminal_safe(w).c_str());
  }
  size_t buckets = 0;
  for (const policy::Bucket& b : config->policy.buckets) {
    buckets += b.rule != policy::kNoRule ? 1 : 0;
  }
  std::printf(
      "%s: ok (%zu users, %zu groups, %zu schedules, %u rules, %zu table entries, %zu "
      "throttle buckets%s%s)\n",
      file.c_str(), config->policy.users.size(), config->policy.groups.size(),
      config->policy.schedules.size(), config->policy.ordered_rules,
      config->policy.rules.size() - config->policy.ordered_rules, buckets,
      config->policy.quota_pools.empty()
          ? ""
          : (", " + std::to_string(config->policy.quota_pools.size()) + " quota pools").c_str(),
      config->warnings.empty()
          ? ""
          : (", " + std::to_string(config->warnings.size()) + " warnings").c_str());
  return 0;
}

int cmd_rules(const RulesOptions& options) {
  const std::string& path = options.config;
  const std::string& plan_arg = options.plan;
  auto config = load_or_report(path);
  if (!config) {
    return 1;
  }
  std::unique_ptr<firewall::Firewall> fw;
  if (!plan_arg.empty()) {
    auto plan = plan_from_name(plan_arg);
    if (!plan) {
      std::fprintf(stderr, "imguard rules: unknown plan '%s'\n", plan_arg.c_str());
      return 2;
    }
    fw = firewall::Firewall::create_for_plan(*config, *plan, firewall::system_runner());
  } else {
    auto created = firewall::Firewall::create(*config, firewall::system_runner());
    if (auto* err = std::get_if<firewall::Error>(&created)) {
      std::fprintf(stderr,
                   "imguard rules: %s\n(probing needs CAP_NET_ADMIN; --plan renders without "
                   "probing)\n",
                   err->message.c_str());
      return 1;
    }
    fw = std::move(std::get<std::unique_ptr<firewall::Firewall>>(created));
  }
  std::fputs(fw->render().c_str(), stdout);
  return 0;
}

}  // namespace imguard::engine
