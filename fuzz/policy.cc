// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the YAML configuration path end to end: load + validate, decide() for a spread of
// flows, and the firewall ruleset for every plan (what `imguard check-config`, a reload and
// start-up do with an admin's file).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "firewall/render.h"
#include "policy/decision.h"
#include "policy/loader.h"

using namespace imguard;

namespace {

const policy::LoadOptions& options() {
  static const policy::LoadOptions o = [] {
    policy::LoadOptions opt;
    // Deterministic and without NSS: "root" is 0, a name starting with 'u' is 1000+len.
    opt.resolve_unix_user = [](const std::string& name) -> std::optional<uint32_t> {
      if (name == "root") {
        return 0;
      }
      if (!name.empty() && name[0] == 'u') {
        return 1000 + static_cast<uint32_t>(name.size());
      }
      return std::nullopt;
    };
    return opt;
  }();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto loaded = policy::load_config_string(text, "fuzz.yaml", options());
  if (const auto* err = std::get_if<policy::LoadError>(&loaded)) {
    if (err->messages.empty()) {
      __builtin_trap();  // a refusal always says why
    }
    return 0;
  }
  const auto& cfg = *std::get<std::shared_ptr<const policy::Config>>(loaded);
  const auto& pol = cfg.policy;
  const auto apps = static_cast<uint16_t>(classifiers::AppId::kCount_);
  for (uint16_t a = 0; a < apps; a = static_cast<uint16_t>(a + 7)) {
    for (uint16_t u = 0; u <= pol.users.size() && u < 4; ++u) {
      policy::FlowFacts f;
      f.app = static_cast<classifiers::AppId>(a);
      f.features = static_cast<uint8_t>(a & 0x0f);
      f.evidence = static_cast<classifiers::Evidence>(a % 6);
      f.user = u < pol.users.size() ? u : policy::kNoUser;
      if (u < pol.users.size()) {
        f.groups = pol.users[u].groups;
      }
      f.user_is_responder = (a & 1) != 0;
      f.active_schedules = (a & 2) != 0 ? ~uint64_t{0} : 0;
      const policy::Decision d = policy::decide(pol, f);
      if (d.rule >= pol.rules.size() && !pol.rules.empty()) {
        __builtin_trap();
      }
      if ((d.rate_bytes_per_sec > 0) != (d.action == policy::Action::kThrottle)) {
        __builtin_trap();  // the documented Decision invariant
      }
      (void)policy::decide(cfg, f.app, f.features);
    }
  }
  for (const auto plan : {firewall::Plan::kNftables, firewall::Plan::kNftablesIptablesQueue,
                          firewall::Plan::kIptables}) {
    const auto parts = firewall::render_parts(cfg, plan);
    for (const auto& p : parts) {
      if (p.tool == firewall::Tool::kNft) {
        (void)firewall::count_nft_owned(p.script);
      } else {
        (void)firewall::count_ipt_owned(p.script);
        (void)firewall::ipt_chains(p.script);
        (void)firewall::ipt_jumps(p.script);
      }
    }
  }
  return 0;
}
