// SPDX-License-Identifier: GPL-3.0-or-later
// Test helper for tests/privileged/firewall.sh: drives firewall::Firewall against the
// kernel of the network namespace it runs in.
//   firewall_tool CONFIG PLAN install|remove|installed|reinstall|render|marks
// Exit codes: 0 ok (installed: present; reinstall: reinstalled), 1 error or absent,
// 3 reinstall found nothing missing. `render` prints the ruleset; `marks` prints one line
// per throttle bucket the engine can hand out, "RULE USER MARK" (USER "-" for buckets not
// per user), so the script can put real decision marks on packets.
#include <cstdio>
#include <string>

#include "policy/decision.h"
#include "policy/marks.h"

#include "firewall/firewall.h"
#include "policy/loader.h"

int main(int argc, char** argv) {
  using imguard::firewall::Firewall;
  using imguard::firewall::Plan;
  if (argc != 4) {
    std::fputs("usage: firewall_tool CONFIG PLAN install|remove|installed|reinstall|render|marks\n",
               stderr);
    return 2;
  }
  auto loaded = imguard::policy::load_config_file(argv[1]);
  if (auto* err = std::get_if<imguard::policy::LoadError>(&loaded)) {
    for (const auto& m : err->messages) {
      std::fprintf(stderr, "%s\n", m.c_str());
    }
    return 1;
  }
  const auto& config = *std::get<std::shared_ptr<const imguard::policy::Config>>(loaded);
  const std::string plan_arg = argv[2];
  std::unique_ptr<Firewall> fw;
  if (plan_arg == "auto") {
    auto created = Firewall::create(config, imguard::firewall::system_runner());
    if (auto* err = std::get_if<imguard::firewall::Error>(&created)) {
      std::fprintf(stderr, "create: %s\n", err->message.c_str());
      return 1;
    }
    fw = std::move(std::get<std::unique_ptr<Firewall>>(created));
  } else {
    Plan plan = Plan::kIptables;
    if (plan_arg == "nftables") {
      plan = Plan::kNftables;
    } else if (plan_arg == "nftables+iptables-queue") {
      plan = Plan::kNftablesIptablesQueue;
    } else if (plan_arg != "iptables") {
      std::fprintf(stderr, "unknown plan %s\n", argv[2]);
      return 2;
    }
    fw = Firewall::create_for_plan(config, plan, imguard::firewall::system_runner());
  }
  const std::string op = argv[3];
  if (op == "marks") {
    const auto& p = config.policy;
    for (size_t b = 0; b < p.buckets.size(); ++b) {
      if (p.buckets[b].rule == imguard::policy::kNoRule) {
        continue;
      }
      imguard::policy::Decision d;
      d.action = d.enforced = imguard::policy::Action::kThrottle;
      d.bucket = static_cast<uint16_t>(b);
      const uint16_t user = p.buckets[b].user;
      std::printf("%s %s 0x%08x\n", p.rules[p.buckets[b].rule].name.c_str(),
                  user < p.users.size() ? p.users[user].name.c_str() : "-",
                  imguard::policy::encode(d, config.mark_mask));
    }
    return 0;
  }
  std::printf("plan %s\n", std::string(imguard::firewall::plan_name(fw->plan())).c_str());
  if (op == "render") {
    std::fputs(fw->render().c_str(), stdout);
    return 0;
  }
  if (op == "install" || op == "remove") {
    auto r = op == "install" ? fw->install() : fw->remove();
    if (auto* err = std::get_if<imguard::firewall::Error>(&r)) {
      std::fprintf(stderr, "%s: %s\n", op.c_str(), err->message.c_str());
      return 1;
    }
    return 0;
  }
  if (op == "installed") {
    return fw->installed() ? 0 : 1;
  }
  if (op == "reinstall") {
    auto r = fw->reinstall_if_missing();
    if (auto* err = std::get_if<imguard::firewall::Error>(&r)) {
      std::fprintf(stderr, "reinstall: %s\n", err->message.c_str());
      return 1;
    }
    return std::get<bool>(r) ? 0 : 3;
  }
  std::fprintf(stderr, "unknown operation %s\n", op.c_str());
  return 2;
}
