// SPDX-License-Identifier: GPL-3.0-or-later
// Ruleset text for each plan. The layout is explained in firewall/README.md; the mark
// values come from policy/marks.h only.
#include "firewall/render.h"

#include <cstdio>
#include <set>

#include "policy/decision.h"
#include "policy/marks.h"

namespace imguard::firewall {

namespace {

using policy::Action;
using policy::Config;

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string hex_short(uint32_t v) {  // iptables-save style
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

/// The window bits that hold "decided" and the action class (no bucket).
uint32_t action_mask(uint32_t mask) {
  policy::Decision all;
  all.action = Action::kThrottle;  // action bits 11
  return policy::encode(all, mask);
}

uint32_t mark_of(Action a, uint16_t bucket, uint32_t mask) {
  policy::Decision d;
  d.action = a;
  d.bucket = bucket;
  return policy::encode(d, mask);
}

/// Every window value the engine can hand back under this config, ascending.
std::set<uint32_t> decided_values(const Config& c) {
  std::set<uint32_t> out;
  for (const policy::Rule& r : c.policy.rules) {
    const Action enforced = (r.spec.monitor || !c.policy.enforce) ? Action::kAllow : r.spec.action;
    if (enforced != Action::kThrottle) {
      out.insert(mark_of(enforced, 0, c.mark_mask));
    }
  }
  for (uint16_t b = 0; b < c.policy.buckets.size(); ++b) {
    if (c.policy.buckets[b].rule != policy::kNoRule) {
      out.insert(mark_of(Action::kThrottle, b, c.mark_mask));
    }
  }
  return out;
}

struct Hook {
  std::string_view nft;       // nft hook name
  std::string_view ipt;       // iptables built-in chain
  std::string_view nft_skip;  // nft match excluding loopback, "" for forward
  std::string_view ipt_skip;
};

std::vector<Hook> hooks(const Config& c) {
  if (c.mode == policy::HookMode::kGateway) {
    return {{"forward", "FORWARD", "", ""}};
  }
  return {{"input", "INPUT", "iifname != \"lo\" ", "! -i lo "},
          {"output", "OUTPUT", "oifname != \"lo\" ", "! -o lo "}};
}

std::string queue_range_nft(const Config& c) {
  std::string s = std::to_string(c.queue_first);
  if (c.queue_count > 1) {
    s += "-" + std::to_string(c.queue_first + c.queue_count - 1);
  }
  return s;
}

std::string queue_target_ipt(const Config& c) {
  std::string s = c.queue_count > 1 ? "--queue-balance " + std::to_string(c.queue_first) + ":" +
                                          std::to_string(c.queue_first + c.queue_count - 1)
                                    : "--queue-num " + std::to_string(c.queue_first);
  if (c.queue_bypass) {
    s += " --queue-bypass";
  }
  return s;
}

/// Whether the nft part carries the queue rule, and whether an iptables part carries
/// the enforcement chain (instead of nftables).
enum class NftQueue : uint8_t { kIncluded, kElsewhere };
enum class IptEnforce : uint8_t { kIncluded, kElsewhere };

std::string tagged(const std::string& rule, size_t& count) {
  ++count;
  return "\t\t" + rule + " comment \"" + std::string(kTag) + "\"\n";
}

Part nft_part(const Config& c, NftQueue queueing) {
  const bool with_queue = queueing == NftQueue::kIncluded;
  Part p;
  p.tool = Tool::kNft;
  p.purpose = with_queue ? "queueing of undecided connections, mark saving and enforcement"
                         : "mark saving and enforcement (queueing is in the iptables part)";
  const std::string w = hex(c.mark_mask);
  const uint32_t a = action_mask(c.mark_mask);
  std::string s;
  // Declaring then deleting the table makes the replacement one transaction that works
  // whether or not an older copy exists.
  s += "table inet imguard {\n}\ndelete table inet imguard\n";
  s += "table inet imguard {\n";
  s += "\tcomment \"owned by imguard: installed at start, removed at stop\"\n";
  s += "\tchain save {\n";
  for (uint32_t v : decided_values(c)) {
    s += tagged("meta mark & " + w + " == " + hex(v) + " ct mark set ct mark | " + hex(v),
                p.owned_rules);
  }
  s += "\t}\n";
  s += "\tchain enforce {\n";
  // Fast path: most decided traffic is allowed, so it leaves after one comparison (accept
  // ends only this base chain; other tables still see the packet).
  s += tagged("ct mark & " + w + " == " + hex(mark_of(Action::kAllow, 0, c.mark_mask)) + " accept",
              p.owned_rules);
  // Reject answers (TCP RST, ICMP errors) carry the rejected connection's ct as RELATED:
  // let them out instead of enforcing the connection's own decision on them.
  s += tagged("ct state related return", p.owned_rules);
  s += tagged("ct mark & " + w + " == 0x00000000 jump save", p.owned_rules);
  s +=
      tagged("ct mark & " + hex(a) + " == " + hex(mark_of(Action::kDrop, 0, c.mark_mask)) + " drop",
             p.owned_rules);
  const std::string rej =
      "ct mark & " + hex(a) + " == " + hex(mark_of(Action::kReject, 0, c.mark_mask));
  if (c.reject_with == policy::RejectWith::kTcpReset) {
    s += tagged("meta l4proto tcp " + rej + " reject with tcp reset", p.owned_rules);
  }
  s += tagged(rej + " reject with icmpx type port-unreachable", p.owned_rules);
  for (uint16_t b = 0; b < c.policy.buckets.size(); ++b) {
    if (c.policy.buckets[b].rule == policy::kNoRule) {
      continue;
    }
    const policy::Rule& r = c.policy.rules[c.policy.buckets[b].rule];
    const std::string rate = std::to_string(r.spec.rate_bytes_per_sec);
    s += tagged("ct mark & " + w + " == " + hex(mark_of(Action::kThrottle, b, c.mark_mask)) +
                    " limit rate over " + rate + " bytes/second burst " + rate + " bytes drop",
                p.owned_rules);
  }
  s += "\t}\n";
  if (with_queue) {
    s += "\tchain classify {\n";  // "queue" is an nft keyword, not a chain name
    std::string q = "ct mark & " + w + " == 0x00000000 meta l4proto { tcp, udp } queue ";
    if (c.queue_bypass) {
      q += "flags bypass ";
    }
    q += "num " + queue_range_nft(c);
    s += tagged(q, p.owned_rules);
    s += "\t}\n";
  }
  for (const Hook& h : hooks(c)) {
    if (with_queue) {
      s += "\tchain " + std::string(h.nft) + "_queue {\n";
      s += "\t\ttype filter hook " + std::string(h.nft) + " priority mangle; policy accept;\n";
      s += tagged(std::string(h.nft_skip) + "jump classify", p.owned_rules);
      s += "\t}\n";
    }
    s += "\tchain " + std::string(h.nft) + "_enforce {\n";
    s += "\t\ttype filter hook " + std::string(h.nft) + " priority filter; policy accept;\n";
    s += tagged("jump enforce", p.owned_rules);
    s += "\t}\n";
  }
  s += "}\n";
  p.script = std::move(s);
  return p;
}

std::string jump_line(const Hook& h, std::string_view chain) {
  return "-A " + std::string(h.ipt) + " " + std::string(h.ipt_skip) + "-m comment --comment " +
         std::string(kTag) + " -j " + std::string(chain);
}

void ipt_queue_table(const Config& c, Part& p) {
  const std::string w = hex_short(c.mark_mask);
  std::string& s = p.script;
  s += "*mangle\n:" + std::string(kQueueChain) + " - [0:0]\n";
  for (const char* proto : {"tcp", "udp"}) {
    s += "-A " + std::string(kQueueChain) + " -p " + proto + " -m connmark --mark 0x0/" + w +
         " -j NFQUEUE " + queue_target_ipt(c) + "\n";
    ++p.owned_rules;
  }
  for (const Hook& h : hooks(c)) {
    const std::string line = jump_line(h, kQueueChain);
    s += "-I" + line.substr(2) + "\n";
    p.jumps.emplace_back("mangle", line);
    ++p.owned_rules;
  }
  s += "COMMIT\n";
}

void ipt_enforce_table(const Config& c, Tool tool, Part& p) {
  const std::string w = hex_short(c.mark_mask);
  const std::string a = hex_short(action_mask(c.mark_mask));
  const std::string chain = "-A " + std::string(kEnforceChain) + " ";
  std::string& s = p.script;
  s += "*filter\n:" + std::string(kEnforceChain) + " - [0:0]\n";
  s += chain + "-m conntrack --ctstate RELATED -j RETURN\n";  // reject answers, see nft_part
  ++p.owned_rules;
  s += chain + "-m connmark --mark 0x0/" + w + " -j CONNMARK --save-mark --nfmask " + w +
       " --ctmask " + w + "\n";
  s += chain + "-m connmark --mark " + hex_short(mark_of(Action::kDrop, 0, c.mark_mask)) + "/" + a +
       " -j DROP\n";
  const std::string rej =
      "-m connmark --mark " + hex_short(mark_of(Action::kReject, 0, c.mark_mask)) + "/" + a;
  p.owned_rules += 2;
  if (c.reject_with == policy::RejectWith::kTcpReset) {
    s += chain + "-p tcp " + rej + " -j REJECT --reject-with tcp-reset\n";
    ++p.owned_rules;
  }
  s += chain + rej + " -j REJECT --reject-with " +
       (tool == Tool::kIptables ? "icmp-port-unreachable" : "icmp6-port-unreachable") + "\n";
  ++p.owned_rules;
  for (uint16_t b = 0; b < c.policy.buckets.size(); ++b) {
    if (c.policy.buckets[b].rule == policy::kNoRule) {
      continue;
    }
    const policy::Rule& r = c.policy.rules[c.policy.buckets[b].rule];
    s += chain + "-m connmark --mark " +
         hex_short(mark_of(Action::kThrottle, b, c.mark_mask)) + "/" + w +
         " -m hashlimit --hashlimit-above " + std::to_string(r.spec.rate_bytes_per_sec) +
         "b/s --hashlimit-name imguard-b" + std::to_string(b) + " -j DROP\n";
    ++p.owned_rules;
  }
  for (const Hook& h : hooks(c)) {
    const std::string line = jump_line(h, kEnforceChain);
    s += "-I" + line.substr(2) + "\n";
    p.jumps.emplace_back("filter", line);
    ++p.owned_rules;
  }
  s += "COMMIT\n";
}

Part ipt_part(const Config& c, Tool tool, IptEnforce enforcing) {
  const bool with_enforce = enforcing == IptEnforce::kIncluded;
  Part p;
  p.tool = tool;
  p.purpose = with_enforce ? "queueing of undecided connections, mark saving and enforcement"
                           : "queueing of undecided connections only";
  ipt_queue_table(c, p);
  if (with_enforce) {
    ipt_enforce_table(c, tool, p);
  }
  return p;
}

}  // namespace

std::string_view tool_name(Tool t) noexcept {
  switch (t) {
    case Tool::kNft:
      return "nft";
    case Tool::kIptables:
      return "iptables";
    case Tool::kIp6tables:
      return "ip6tables";
  }
  return "?";
}

std::vector<Part> render_parts(const Config& config, Plan plan) {
  std::vector<Part> parts;
  switch (plan) {
    case Plan::kNftables:
      parts.push_back(nft_part(config, NftQueue::kIncluded));
      break;
    case Plan::kNftablesIptablesQueue:
      parts.push_back(nft_part(config, NftQueue::kElsewhere));
      parts.push_back(ipt_part(config, Tool::kIptables, IptEnforce::kElsewhere));
      parts.push_back(ipt_part(config, Tool::kIp6tables, IptEnforce::kElsewhere));
      break;
    case Plan::kIptables:
      parts.push_back(ipt_part(config, Tool::kIptables, IptEnforce::kIncluded));
      parts.push_back(ipt_part(config, Tool::kIp6tables, IptEnforce::kIncluded));
      break;
  }
  return parts;
}

namespace {

template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    fn(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
  }
}

bool is_jump(std::string_view line) {
  const std::string tag = " -m comment --comment " + std::string(kTag) + " -j IMGUARD-";
  return line.starts_with("-A ") && line.find(tag) != std::string_view::npos;
}

}  // namespace

size_t count_nft_owned(std::string_view listing) {
  size_t n = 0;
  const std::string tag = "comment \"" + std::string(kTag) + "\"";
  for_each_line(listing, [&](std::string_view line) {
    // The table's own comment line starts with "comment"; rules end with the tag.
    if (line.ends_with(tag) && line.find_first_not_of(" \t") != line.find("comment")) {
      ++n;
    }
  });
  return n;
}

size_t count_ipt_owned(std::string_view save) {
  size_t n = 0;
  for_each_line(save, [&](std::string_view line) {
    if (line.starts_with("-A IMGUARD-") || is_jump(line)) {
      ++n;
    }
  });
  return n;
}

std::vector<std::pair<std::string, std::string>> ipt_jumps(std::string_view save) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string table;
  for_each_line(save, [&](std::string_view line) {
    if (line.starts_with("*")) {
      table = std::string(line.substr(1));
    } else if (is_jump(line)) {
      out.emplace_back(table, std::string(line));
    }
  });
  return out;
}

std::vector<std::pair<std::string, std::string>> ipt_chains(std::string_view save) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string table;
  for_each_line(save, [&](std::string_view line) {
    if (line.starts_with("*")) {
      table = std::string(line.substr(1));
    } else if (line.starts_with(":IMGUARD-")) {
      const size_t sp = line.find(' ');
      out.emplace_back(table,
                       std::string(line.substr(
                           1, sp == std::string_view::npos ? std::string_view::npos : sp - 1)));
    }
  });
  return out;
}

}  // namespace imguard::firewall
