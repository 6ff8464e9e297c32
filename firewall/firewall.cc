// SPDX-License-Identifier: GPL-3.0-or-later
#include "firewall/firewall.h"

#include <cstdio>

#include "firewall/render.h"

namespace imguard::firewall {

namespace {

using Ok = std::monostate;

std::string restore_cmd(Tool t) {
  return t == Tool::kIp6tables ? "ip6tables-restore" : "iptables-restore";
}
std::string save_cmd(Tool t) {
  return t == Tool::kIp6tables ? "ip6tables-save" : "iptables-save";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

Error tool_error(std::string_view what, const std::vector<std::string>& argv,
                 const Runner::Output& out) {
  std::string cmd;
  for (const std::string& a : argv) {
    cmd += (cmd.empty() ? "" : " ") + a;
  }
  if (out.exit_code < 0) {
    return Error{std::string(what) + ": cannot run `" + cmd + "`: " + trim(out.text) +
                 " (is the package installed and in PATH?)"};
  }
  return Error{std::string(what) + ": `" + cmd + "` failed (exit " + std::to_string(out.exit_code) +
               "): " + trim(out.text)};
}

/// An empty probe table accepted by the kernel in check mode (nothing is committed).
constexpr const char* kNftProbe =
    "table inet imguard_probe {\n"
    "\tchain c {\n"
    "\t\ttype filter hook forward priority filter; policy accept;\n"
    "\t\tct mark & 0x00ff0000 == 0x00000000 counter\n"
    "\t}\n"
    "}\n";
/// The same with nft's native queue statement, which needs CONFIG_NFT_QUEUE.
constexpr const char* kNftQueueProbe =
    "table inet imguard_probe {\n"
    "\tchain c {\n"
    "\t\ttype filter hook forward priority filter; policy accept;\n"
    "\t\tqueue flags bypass num 0\n"
    "\t}\n"
    "}\n";

}  // namespace

std::string_view plan_name(Plan p) noexcept {
  switch (p) {
    case Plan::kNftables:
      return "nftables";
    case Plan::kNftablesIptablesQueue:
      return "nftables+iptables-queue";
    case Plan::kIptables:
      return "iptables";
  }
  return "?";
}

struct Firewall::Impl {
  policy::Config config;
  Plan plan = Plan::kNftables;
  std::unique_ptr<Runner> runner;
  std::vector<Part> parts;
  std::vector<uint64_t> quota_used;
  /// quota_used changed since `parts` were rendered (the counts change every second; the
  /// script is rendered again only when it is needed).
  bool stale = false;
  /// The ruleset generation at the start of the last check that found every part present
  /// (nullopt: none since the last install or removal, or not readable).
  std::optional<uint32_t> verified_generation;
  /// Whether `iptables`/`ip6tables` are the nf_tables variant (`-V` says "nf_tables"), so
  /// that their rules advance the generation too; asked once, when first needed.
  std::optional<bool> iptables_nft;

  /// Whether the generation covers every part of this ruleset.
  bool generation_covers_parts() {
    for (const Part& p : parts) {
      if (p.tool == Tool::kNft) {
        continue;
      }
      if (!iptables_nft) {
        const auto v = run({p.tool == Tool::kIp6tables ? "ip6tables" : "iptables", "-V"}, "");
        iptables_nft = v.exit_code == 0 && v.text.find("nf_tables") != std::string::npos;
      }
      if (!*iptables_nft) {
        return false;
      }
    }
    return true;
  }

  void refresh() {
    if (stale) {
      parts = render_parts(config, plan, quota_used);
      stale = false;
    }
  }

  Runner::Output run(const std::vector<std::string>& argv, const std::string& input) const {
    return runner->run(argv, input);
  }

  enum class Chains : uint8_t { kKeep, kDelete };
  /// Restore script lines that delete every tagged jump present now and, with
  /// Chains::kDelete, every IMGUARD-* chain.
  std::string ipt_cleanup(const std::string& save, Chains chains_action) const {
    std::string table;
    std::string s;
    auto jumps = ipt_jumps(save);
    auto chains = ipt_chains(save);
    for (const std::string t : {"mangle", "filter"}) {
      std::string body;
      for (const auto& [jt, line] : jumps) {
        if (jt == t) {
          body += "-D" + line.substr(2) + "\n";
        }
      }
      if (chains_action == Chains::kDelete) {
        // Every chain flushed before any is deleted: IMGUARD-QUEUE jumps to IMGUARD-QSELECT,
        // and a chain still referenced cannot go.
        for (const auto& [ct, chain] : chains) {
          if (ct == t) {
            body += "-F " + chain + "\n";
          }
        }
        for (const auto& [ct, chain] : chains) {
          if (ct == t) {
            body += "-X " + chain + "\n";
          }
        }
      }
      if (!body.empty()) {
        s += "*" + t + "\n" + body + "COMMIT\n";
      }
    }
    return s;
  }

  std::variant<Ok, Error> install_part(const Part& p) const {
    if (p.tool == Tool::kNft) {
      const std::vector<std::string> argv = {"nft", "-f", "-"};
      auto out = run(argv, p.script);
      if (out.exit_code != 0) {
        return tool_error("installing table inet imguard", argv, out);
      }
      return Ok{};
    }
    const std::vector<std::string> save_argv = {save_cmd(p.tool)};
    auto saved = run(save_argv, "");
    if (saved.exit_code != 0) {
      return tool_error("reading the current ruleset", save_argv, saved);
    }
    // Old jumps are deleted in the same transaction that re-adds them, so the queue rule
    // is never missing and never doubled. Re-declaring an IMGUARD-* chain flushes it.
    const std::string script = ipt_cleanup(saved.text, Chains::kKeep) + p.script;
    const std::vector<std::string> argv = {restore_cmd(p.tool), "--noflush"};
    auto out = run(argv, script);
    if (out.exit_code != 0) {
      return tool_error("installing IMGUARD-* chains", argv, out);
    }
    return Ok{};
  }

  std::variant<Ok, Error> remove_tool(Tool tool) const {
    if (tool == Tool::kNft) {
      const std::vector<std::string> argv = {"nft", "-f", "-"};
      auto out = run(argv, "table inet imguard {\n}\ndelete table inet imguard\n");
      if (out.exit_code != 0) {
        return tool_error("removing table inet imguard", argv, out);
      }
      return Ok{};
    }
    const std::vector<std::string> save_argv = {save_cmd(tool)};
    auto saved = run(save_argv, "");
    if (saved.exit_code != 0) {
      return tool_error("reading the current ruleset", save_argv, saved);
    }
    const std::string script = ipt_cleanup(saved.text, Chains::kDelete);
    if (script.empty()) {
      return Ok{};
    }
    const std::vector<std::string> argv = {restore_cmd(tool), "--noflush"};
    auto out = run(argv, script);
    if (out.exit_code != 0) {
      return tool_error("removing IMGUARD-* chains", argv, out);
    }
    return Ok{};
  }

  bool part_present(const Part& p) const {
    if (p.tool == Tool::kNft) {
      auto out = run({"nft", "list", "table", "inet", std::string(kNftTable)}, "");
      return out.exit_code == 0 && count_nft_owned(out.text) == p.owned_rules;
    }
    auto out = run({save_cmd(p.tool)}, "");
    return out.exit_code == 0 && count_ipt_owned(out.text) == p.owned_rules;
  }
};

Firewall::Firewall(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Firewall::~Firewall() = default;

std::unique_ptr<Firewall> Firewall::create_for_plan(const policy::Config& config, Plan plan,
                                                    std::unique_ptr<Runner> runner) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->plan = plan;
  impl->runner = std::move(runner);
  impl->parts = render_parts(config, plan, impl->quota_used);
  return std::unique_ptr<Firewall>(new Firewall(std::move(impl)));
}

std::variant<std::unique_ptr<Firewall>, Error> Firewall::create(const policy::Config& config,
                                                                std::unique_ptr<Runner> runner) {
  auto created = create_probed(config, std::move(runner));
  if (const auto* fw = std::get_if<std::unique_ptr<Firewall>>(&created);
      fw != nullptr && (*fw)->plan() == Plan::kIptables && !config.policy.quota_pools.empty()) {
    return Error{
        "the configuration has quotas, which need nftables (quota objects), but only the "
        "iptables backend is usable here: iptables' quota match can be neither read back nor "
        "preset, so counts could not survive a reload or restart"};
  }
  return created;
}

std::variant<std::unique_ptr<Firewall>, Error> Firewall::create_probed(
    const policy::Config& config, std::unique_ptr<Runner> runner) {
  if (!runner) {
    runner = system_runner();
  }
  const std::vector<std::string> ipt_probe = {"iptables-save", "-t", "mangle"};
  if (config.backend == policy::Backend::kIptables) {
    const auto ipt = runner->run(ipt_probe, "");
    if (ipt.exit_code != 0) {
      return tool_error("backend iptables unusable", ipt_probe, ipt);
    }
    return create_for_plan(config, Plan::kIptables, std::move(runner));
  }
  const std::vector<std::string> check = {"nft", "-c", "-f", "-"};
  const auto nft = runner->run(check, kNftProbe);
  const bool nft_ok = nft.exit_code == 0;
  const bool nft_queue_ok = nft_ok && runner->run(check, kNftQueueProbe).exit_code == 0;
  if (nft_ok && nft_queue_ok) {
    return create_for_plan(config, Plan::kNftables, std::move(runner));
  }
  // Without nft's queue statement the queue rule goes through iptables (xt NFQUEUE).
  const auto ipt = runner->run(ipt_probe, "");
  const bool ipt_ok = ipt.exit_code == 0;
  if (nft_ok && ipt_ok) {
    return create_for_plan(config, Plan::kNftablesIptablesQueue, std::move(runner));
  }
  if (config.backend == policy::Backend::kNftables) {
    if (!nft_ok) {
      return tool_error("backend nftables unusable", check, nft);
    }
    return tool_error("nftables lacks the queue statement and iptables is unusable for it",
                      ipt_probe, ipt);
  }
  if (ipt_ok) {
    return create_for_plan(config, Plan::kIptables, std::move(runner));
  }
  return Error{"backend auto: neither nftables (" + trim(nft.text) + ") nor iptables (" +
               trim(ipt.text) + ") is usable"};
}

Plan Firewall::plan() const noexcept {
  return impl_->plan;
}

std::string Firewall::render() const {
  const std::vector<Part> parts =
      impl_->stale ? render_parts(impl_->config, impl_->plan, impl_->quota_used) : impl_->parts;
  std::string out;
  out += "# imguard ruleset: plan " + std::string(plan_name(impl_->plan)) + ", mode " +
         std::string(policy::hook_mode_name(impl_->config.mode)) + ", mark window " +
         [&] {
           char buf[16];
           std::snprintf(buf, sizeof buf, "0x%08x", impl_->config.mark_mask);
           return std::string(buf);
         }() +
         "\n";
  for (const Part& p : parts) {
    std::string cmd = p.tool == Tool::kNft ? "nft -f -" : restore_cmd(p.tool) + " --noflush";
    out +=
        "\n# ---- " + std::string(tool_name(p.tool)) + " (`" + cmd + "`): " + p.purpose + " ----\n";
    if (p.tool != Tool::kNft) {
      out +=
          "# (install first deletes older copies of the tagged jump rules in the same "
          "transaction)\n";
    }
    out += p.script;
  }
  return out;
}

std::variant<std::monostate, Error> Firewall::install() {
  impl_->verified_generation.reset();
  impl_->refresh();
  // Queueing parts go last: enforcement must be in place before connections are marked.
  for (const Part& p : impl_->parts) {
    if (p.tool == Tool::kNft) {
      if (auto r = impl_->install_part(p); std::holds_alternative<Error>(r)) {
        return r;
      }
    }
  }
  for (const Part& p : impl_->parts) {
    if (p.tool != Tool::kNft) {
      if (auto r = impl_->install_part(p); std::holds_alternative<Error>(r)) {
        return r;
      }
    }
  }
  return Ok{};
}

std::variant<std::monostate, Error> Firewall::remove() {
  impl_->verified_generation.reset();
  // Queueing first, so no connection is queued while its enforcement disappears.
  std::vector<std::string> errors;
  for (Tool t : {Tool::kIptables, Tool::kIp6tables, Tool::kNft}) {
    bool used = false;
    for (const Part& p : impl_->parts) {
      used = used || p.tool == t;
    }
    if (!used) {
      continue;
    }
    if (auto r = impl_->remove_tool(t); std::holds_alternative<Error>(r)) {
      errors.push_back(std::get<Error>(r).message);
    }
  }
  if (!errors.empty()) {
    std::string msg;
    for (const std::string& e : errors) {
      msg += (msg.empty() ? "" : "; ") + e;
    }
    return Error{msg};
  }
  return Ok{};
}

bool Firewall::installed() const {
  Impl& m = *impl_;
  const std::optional<uint32_t> generation =
      m.generation_covers_parts() ? m.runner->ruleset_generation() : std::nullopt;
  if (generation && generation == m.verified_generation) {
    return true;  // no nf_tables change since every part was last seen in place
  }
  m.verified_generation.reset();
  for (const Part& p : m.parts) {
    if (!m.part_present(p)) {
      return false;
    }
  }
  // Read before the check: a change during it advances the generation, so the next call
  // checks again.
  m.verified_generation = generation;
  return true;
}

void Firewall::set_quota_used(std::vector<uint64_t> used) {
  if (used != impl_->quota_used) {
    impl_->quota_used = std::move(used);
    impl_->stale = true;
  }
}

std::variant<std::vector<uint64_t>, Error> Firewall::read_quotas() const {
  const auto& pools = impl_->config.policy.quota_pools;
  std::vector<uint64_t> used(pools.size(), 0);
  if (pools.empty() || impl_->plan == Plan::kIptables) {
    return used;
  }
  const std::vector<std::string> argv = {"nft",   "list", "quotas",
                                         "table", "inet", std::string(kNftTable)};
  auto out = impl_->run(argv, "");
  if (out.exit_code != 0) {
    return tool_error("reading the quota counters", argv, out);
  }
  auto parsed = parse_nft_quotas(out.text);
  if (!parsed) {
    return Error{"reading the quota counters: cannot parse `nft list quotas` output"};
  }
  size_t found = 0;
  for (const auto& [name, bytes] : *parsed) {
    for (size_t i = 0; i < pools.size(); ++i) {
      if (name == quota_object_name(i)) {
        used[i] = bytes;
        ++found;
      }
    }
  }
  if (found != pools.size()) {
    return Error{"reading the quota counters: " + std::to_string(pools.size() - found) +
                 " quota object(s) missing from table inet " + std::string(kNftTable)};
  }
  return used;
}

std::variant<std::monostate, Error> Firewall::reset_quota(size_t pool) {
  if (pool >= impl_->config.policy.quota_pools.size() || impl_->plan == Plan::kIptables) {
    return Error{"no quota pool " + std::to_string(pool)};
  }
  const std::vector<std::string> argv = {
      "nft", "reset", "quota", "inet", std::string(kNftTable), quota_object_name(pool)};
  auto out = impl_->run(argv, "");
  if (out.exit_code != 0) {
    return tool_error("resetting a quota", argv, out);
  }
  if (pool < impl_->quota_used.size()) {
    impl_->quota_used[pool] = 0;
    impl_->stale = true;
  }
  return Ok{};
}

std::variant<bool, Error> Firewall::reinstall_if_missing() {
  if (installed()) {
    return false;
  }
  if (auto r = install(); std::holds_alternative<Error>(r)) {
    return std::get<Error>(r);
  }
  return true;
}

}  // namespace imguard::firewall
