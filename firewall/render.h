// SPDX-License-Identifier: GPL-3.0-or-later
// Internal to the firewall library (and its tests): the ruleset as text, per tool.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "firewall/firewall.h"
#include "policy/config.h"

namespace imguard::firewall {

enum class Tool : uint8_t { kNft, kIptables, kIp6tables };
std::string_view tool_name(Tool t) noexcept;

/// The tag on every nftables rule and iptables jump rule imguard installs.
inline constexpr std::string_view kTag = "imguard";
inline constexpr std::string_view kNftTable = "imguard";
inline constexpr std::string_view kQueueChain = "IMGUARD-QUEUE";
inline constexpr std::string_view kEnforceChain = "IMGUARD-ENFORCE";
/// IMGUARD-QUEUE's TCP segments with payload: tags a connection's first, sets the
/// data-queued label bit, queues.
inline constexpr std::string_view kQueueDataChain = "IMGUARD-QDATA";
/// Picks the queue (direction, worker) for a packet IMGUARD-QUEUE decided to queue.
inline constexpr std::string_view kQueueSelectChain = "IMGUARD-QSELECT";
/// Unreferenced; its one rule makes the kernel attach the ct labels extension.
inline constexpr std::string_view kLabelsChain = "IMGUARD-LABELS";

/// One script for one tool. `owned_rules` is how many rules of this part carry imguard's
/// ownership (nft: rules with `comment "imguard"`; iptables: rules in IMGUARD-* chains
/// plus the tagged jumps), which installed() compares against the kernel.
struct Part {
  Tool tool = Tool::kNft;
  std::string purpose;
  std::string script;
  /// iptables only: the tagged jump lines (`-A CHAIN ... -j IMGUARD-*`, as iptables-save
  /// prints them) grouped by table, so install/remove can delete old copies first.
  std::vector<std::pair<std::string, std::string>> jumps;  // table, line
  size_t owned_rules = 0;
};

/// The classic BPF program (xt_bpf `--bytecode` text) of the queue rule that is true for a
/// TCP segment that carries payload: IPv4 for kIptables, IPv6 for kIp6tables.
std::string_view tcp_payload_bpf(Tool tool) noexcept;

/// Renders the ruleset for `plan`. Pure: no kernel access. Deterministic for a Config.
/// `quota_used`: the count each quota pool (Policy::quota_pools) starts from; missing
/// entries start at 0.
std::vector<Part> render_parts(const policy::Config& config, Plan plan,
                               const std::vector<uint64_t>& quota_used = {});

/// The nft object counting quota pool `pool`: "q<pool>".
std::string quota_object_name(size_t pool);

/// (name, used bytes) of every quota object in `nft list quotas table inet imguard` output;
/// nullopt when a count cannot be read.
std::optional<std::vector<std::pair<std::string, uint64_t>>> parse_nft_quotas(
    std::string_view listing);

/// Counts imguard-owned rules in `nft list table inet imguard` output.
size_t count_nft_owned(std::string_view listing);
/// Counts imguard-owned rules in iptables-save output (rules in IMGUARD-* chains and
/// tagged jumps into them).
size_t count_ipt_owned(std::string_view save);
/// The tagged jump lines present in iptables-save output, with their table.
std::vector<std::pair<std::string, std::string>> ipt_jumps(std::string_view save);
/// The IMGUARD-* chains declared in iptables-save output, with their table.
std::vector<std::pair<std::string, std::string>> ipt_chains(std::string_view save);

}  // namespace imguard::firewall
