// SPDX-License-Identifier: GPL-3.0-or-later
// Ruleset text for each plan. The layout, and why each construct was chosen on nft 1.0.6
// and iptables 1.8.9, is in firewall/README.md; mark values come from policy/marks.h only.
#include "firewall/render.h"

#include "policy/labels.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <set>
#include <tuple>

#include "policy/decision.h"
#include "policy/marks.h"

namespace imguard::firewall {

namespace {

using policy::Action;
using policy::Config;
using policy::ThrottleScope;

/// Entries per dynamic throttle set. A full set cannot add a key, `update` then fails and
/// the packet passes unthrottled (nft): sized for every (direction, bucket, host) or
/// (direction, flow) a busy gateway has at once.
constexpr size_t kThrottleSetSize = 65535;
/// Idle keys leave the dynamic sets after this (nft time syntax); a returning key starts
/// with a full bucket, as it would have refilled by then anyway.
constexpr std::string_view kThrottleSetTimeout = "10m";
/// The ct label bit named by the never-executed rule that makes the kernel attach the
/// labels extension to new connections (imguard's record lives in bits 64..127).
constexpr int kLabelBit = 127;

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

/// The window value the engine hands back for an enforced action (and bucket).
uint32_t mark_of(Action enforced, uint16_t bucket, uint32_t mask) {
  policy::Decision d;
  d.action = enforced;
  d.enforced = enforced;
  d.bucket = bucket;
  return policy::encode(d, mask);
}

/// The window bits of the action class (decided bit and action, no bucket).
uint32_t action_mask(uint32_t mask) {
  return mark_of(Action::kThrottle, 0, mask);
}

/// What a throttle bucket is keyed on in the kernel, besides the direction. Per-user and
/// shared buckets both key on the mark: the bucket number already tells (rule, user)
/// pairs or rules apart, so they share chains and sets.
enum class ThrottleKey : uint8_t { kMark, kHost, kFlow };

ThrottleKey throttle_key(ThrottleScope s) {
  switch (s) {
    case ThrottleScope::kPerHost:
      return ThrottleKey::kHost;
    case ThrottleScope::kPerFlow:
      return ThrottleKey::kFlow;
    case ThrottleScope::kPerUser:
    case ThrottleScope::kShared:
      break;
  }
  return ThrottleKey::kMark;
}

/// One throttle chain (nft) per distinct (key, rate): never per rule or per user.
struct ThrottleClass {
  ThrottleKey key = ThrottleKey::kMark;
  uint64_t rate_bytes_per_sec = 0;
  friend auto operator<=>(const ThrottleClass&, const ThrottleClass&) = default;

  std::string suffix() const {
    static constexpr std::array<std::string_view, 3> kNames = {"mark", "host", "flow"};
    return std::string(kNames[static_cast<size_t>(key)]) + "_" + std::to_string(rate_bytes_per_sec);
  }
  std::string chain() const { return "throttle_" + suffix(); }
};

/// A bucket number the engine can hand out under this config, with its mark.
struct EnforcedBucket {
  uint16_t bucket = 0;
  uint32_t mark = 0;
  Action action = Action::kThrottle;  // kThrottle, or kAllow for an allowing quota rule
  ThrottleClass cls;                  // when action is kThrottle
  ThrottleScope scope = ThrottleScope::kShared;
  uint16_t pool = policy::kNoPool;  // the quota pool, when the rule has a quota
  std::string quota_chain() const { return "quota_b" + std::to_string(bucket); }
};

/// Everything the kernel must enforce for a config: only what Decision::enforced can
/// carry, so monitor rules and `enforce: false` contribute nothing here.
struct Enforcement {
  bool drop = false;
  bool reject = false;
  std::vector<EnforcedBucket> buckets;  // ascending bucket number
  std::set<ThrottleClass> classes;      // including the throttles after quotas
};

bool enforcing(const policy::Policy& p, const policy::Rule& r) {
  return p.enforce && !r.spec.monitor;
}

Enforcement enforcement(const Config& c) {
  Enforcement e;
  const policy::Policy& p = c.policy;
  for (const policy::Rule& r : p.rules) {
    if (enforcing(p, r)) {
      e.drop = e.drop || r.spec.action == Action::kDrop;
      e.reject = e.reject || r.spec.action == Action::kReject;
    }
  }
  for (size_t b = 0; b < p.buckets.size(); ++b) {
    const policy::Bucket& bk = p.buckets[b];
    if (bk.rule == policy::kNoRule || bk.rule >= p.rules.size()) {
      continue;
    }
    const policy::Rule& r = p.rules[bk.rule];
    const bool throttles = r.spec.action == Action::kThrottle;
    if (!enforcing(p, r) || (!throttles && bk.pool == policy::kNoPool)) {
      continue;
    }
    const auto n = static_cast<uint16_t>(b);
    EnforcedBucket eb{
        n, mark_of(r.spec.action, n, c.mark_mask), r.spec.action, {}, r.spec.scope, bk.pool};
    if (throttles) {
      eb.cls = ThrottleClass{throttle_key(r.spec.scope), r.spec.rate_bytes_per_sec};
      e.classes.insert(eb.cls);
    }
    if (bk.pool != policy::kNoPool && r.quota->then == policy::QuotaThen::kThrottle) {
      // Keyed on the mark: the bucket after the quota is the quota's pool's own.
      e.classes.insert(ThrottleClass{ThrottleKey::kMark, r.quota->then_rate_bytes_per_sec});
    }
    e.reject =
        e.reject || (bk.pool != policy::kNoPool && r.quota->then == policy::QuotaThen::kReject);
    e.buckets.push_back(std::move(eb));
  }
  return e;
}

/// The user-side networks of one family: networks.local, every user's and every group's
/// addresses, with blocks inside other blocks dropped (prefix blocks either nest or are
/// disjoint, so after sorting a block is covered exactly when the last kept one covers
/// it). Interval sets refuse overlapping elements, so this must be done before rendering.
std::vector<policy::Cidr> user_side(const policy::Policy& p, packet::Address::Family family) {
  std::vector<policy::Cidr> all;
  auto add = [&](const std::vector<policy::Cidr>& v) {
    for (const policy::Cidr& c : v) {
      if (c.addr.family == family) {
        all.push_back(c);
      }
    }
  };
  add(p.local_networks);
  for (const policy::User& u : p.users) {
    add(u.addresses);
  }
  for (const policy::Group& g : p.groups) {
    add(g.addresses);
  }
  std::sort(all.begin(), all.end(), [](const policy::Cidr& a, const policy::Cidr& b) {
    return a.addr != b.addr ? a.addr < b.addr : a.prefix_len < b.prefix_len;
  });
  std::vector<policy::Cidr> out;
  for (const policy::Cidr& c : all) {
    if (!out.empty() && out.back().prefix_len <= c.prefix_len && out.back().contains(c.addr)) {
      continue;
    }
    out.push_back(c);
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

enum class ConnDir : uint8_t { kOriginal, kReply };

std::string queue_range_nft(const Config& c, ConnDir dir) {
  const uint32_t first = dir == ConnDir::kReply ? policy::reply_queue(c, 0) : c.queue_first;
  std::string s = std::to_string(first);
  if (c.queue_count > 1) {
    s += "-" + std::to_string(first + c.queue_count - 1);
  }
  return s;
}

/// The NFQUEUE target for one direction: original-direction packets go to
/// queue_first .. queue_first + count - 1, reply-direction packets to the next `count`
/// queues (policy::reply_queue), so the queue number tells the daemon the conntrack
/// direction. Both ranges hash the same way, so index i of each lands on worker i.
std::string queue_target_ipt(const Config& c, ConnDir dir) {
  const uint32_t first = dir == ConnDir::kReply ? policy::reply_queue(c, 0) : c.queue_first;
  std::string s = c.queue_count > 1 ? "--queue-balance " + std::to_string(first) + ":" +
                                          std::to_string(first + c.queue_count - 1)
                                    : "--queue-num " + std::to_string(first);
  if (c.queue_bypass) {
    s += " --queue-bypass";
  }
  return s;
}

std::string queue_num_ipt(const Config& c, ConnDir dir, uint32_t worker) {
  const uint32_t q =
      dir == ConnDir::kReply ? policy::reply_queue(c, worker) : c.queue_first + worker;
  return "--queue-num " + std::to_string(q) + (c.queue_bypass ? " --queue-bypass" : "");
}

/// Bits of the steering field a worker index needs (0 for one worker).
uint32_t steer_bits(const Config& c) {
  uint32_t bits = 0;
  while ((1u << bits) < c.queue_count) {
    ++bits;
  }
  return bits;
}

/// Classic BPF (xt_bpf, run from the network header): true when a TCP segment carries
/// payload, i.e. the packet is longer than its IP and TCP headers. The length is the
/// skb's (`ld len`), not the header's total length, so a GRO packet larger than 64 KiB
/// (IPv4 BIG TCP writes tot_len 0) still counts as carrying data. The same check in
/// pcap syntax: `ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2) != 0`.
///   ldxb 4*([0]&0xf); ldb [x+12]; and #0xf0; rsh #2; add x; tax; ld len;
///   jgt x, 0, 1; ret #1; ret #0
constexpr std::string_view kTcpPayloadBpf4 =
    "10,177 0 0 0,80 0 0 12,84 0 0 240,116 0 0 2,12 0 0 0,7 0 0 0,128 0 0 0,45 0 1 0,"
    "6 0 0 1,6 0 0 0";
/// IPv6: a TCP header right after the fixed header (next header 6) with payload; any
/// other next header (extension headers) is treated as carrying data and queued.
///   ldb [6]; jeq #6, 0, 7; ldb [52]; and #0xf0; rsh #2; add #40; tax; ld len;
///   jgt x, 0, 1; ret #1; ret #0
constexpr std::string_view kTcpPayloadBpf6 =
    "11,48 0 0 6,21 0 7 6,48 0 0 52,84 0 0 240,116 0 0 2,4 0 0 40,7 0 0 0,128 0 0 0,"
    "45 0 1 0,6 0 0 1,6 0 0 0";

/// Whether the nft part carries the queue rule, and whether an iptables part carries
/// the enforcement chain (instead of nftables).
enum class NftQueue : uint8_t { kIncluded, kElsewhere };
/// Whether new connections are spread over the workers by the steering label
/// (steers_by_label()) or by the kernel's address hash (`--queue-balance`).
enum class Steer : uint8_t { kLabel, kAddressHash };
enum class IptEnforce : uint8_t { kIncluded, kElsewhere };

// ---- nftables ---------------------------------------------------------------------------

/// Appends one tagged rule (one line of a chain body) and counts it.
struct NftChain {
  std::string& out;
  size_t& count;
  void rule(const std::string& text) {
    ++count;
    out += "\t\t" + text + " comment \"" + std::string(kTag) + "\"\n";
  }
};

void nft_elements(std::string& s, const std::vector<std::string>& elements) {
  if (elements.empty()) {
    return;
  }
  s += "\t\telements = {";
  for (size_t i = 0; i < elements.size(); ++i) {
    s += (i == 0 ? "\n\t\t\t" : ",\n\t\t\t") + elements[i];
  }
  s += "\n\t\t}\n";
}

void nft_address_set(std::string& s, std::string_view name, std::string_view type,
                     const std::vector<policy::Cidr>& cidrs) {
  s +=
      "\tset " + std::string(name) + " {\n\t\ttype " + std::string(type) + "\n\t\tflags interval\n";
  std::vector<std::string> elements;
  for (const policy::Cidr& c : cidrs) {
    elements.push_back(c.to_string());
  }
  nft_elements(s, elements);
  s += "\t}\n";
}

void nft_dynamic_set(std::string& s, const std::string& name, std::string_view key) {
  s += "\tset " + name + " {\n\t\t" + std::string(key) + "\n\t\tsize " +
       std::to_string(kThrottleSetSize) + "\n\t\tflags dynamic,timeout\n\t\ttimeout " +
       std::string(kThrottleSetTimeout) + "\n\t}\n";
}

/// Sets of the throttle classes: keys are (ct direction, bucket mark[, user-side host])
/// or (ct direction, ct id), so each direction of each key has its own byte bucket.
void nft_throttle_sets(const Enforcement& e, const Config& c, std::string& s) {
  bool hosts = false;
  for (const ThrottleClass& cls : e.classes) {
    hosts = hosts || cls.key == ThrottleKey::kHost;
  }
  if (hosts) {
    nft_address_set(s, "local4", "ipv4_addr", user_side(c.policy, packet::Address::Family::kV4));
    nft_address_set(s, "local6", "ipv6_addr", user_side(c.policy, packet::Address::Family::kV6));
  }
  for (const ThrottleClass& cls : e.classes) {
    switch (cls.key) {
      case ThrottleKey::kMark:
        nft_dynamic_set(s, "b_" + cls.suffix(), "type ct_dir . mark");
        break;
      case ThrottleKey::kHost:
        nft_dynamic_set(s, "b_" + cls.suffix() + "_4", "type ct_dir . mark . ipv4_addr");
        nft_dynamic_set(s, "b_" + cls.suffix() + "_6", "type ct_dir . mark . ipv6_addr");
        break;
      case ThrottleKey::kFlow:
        // ct id has no named type in nft 1.0.6 (`nft describe ct id`: integer).
        nft_dynamic_set(s, "b_" + cls.suffix(), "typeof ct direction . ct id");
        break;
    }
  }
}

/// The verdict map of the enforce chain: window value → what happens. Allow is absent
/// (the fast path took it), and so is everything Decision::enforced never carries.
void nft_decision_map(const Enforcement& e, const Config& c, std::string& s) {
  s += "\tmap decisions {\n\t\ttype mark : verdict\n";
  std::vector<std::string> elements;
  if (e.drop) {
    elements.push_back(hex(mark_of(Action::kDrop, 0, c.mark_mask)) + " : drop");
  }
  if (e.reject) {
    elements.push_back(hex(mark_of(Action::kReject, 0, c.mark_mask)) + " : jump answer_reject");
  }
  for (const EnforcedBucket& b : e.buckets) {
    elements.push_back(hex(b.mark) + " : jump " +
                       (b.pool != policy::kNoPool ? b.quota_chain() : b.cls.chain()));
  }
  nft_elements(s, elements);
  s += "\t}\n";
}

/// nft's byte limit holds rate + burst bytes and starts full, so a burst of one second's
/// worth lets a short transfer run ~20 % over the rate; a quarter second (bench/README.md:
/// 1.09-1.12 over 8 s, 0.94-0.98 steady) is the measured compromise. Never below two
/// full-size frames, or slow buckets could not pass a single packet.
constexpr uint64_t kMinBurstBytes = 2 * 1514;

std::string nft_limit(uint64_t rate) {
  const uint64_t burst = std::max(rate / 4, kMinBurstBytes);
  return "limit rate over " + std::to_string(rate) + " bytes/second burst " +
         std::to_string(burst) + " bytes";
}

void nft_throttle_chain(const ThrottleClass& cls, const std::string& w, NftChain& ch) {
  const std::string limit = nft_limit(cls.rate_bytes_per_sec);
  const std::string set = "b_" + cls.suffix();
  switch (cls.key) {
    case ThrottleKey::kMark:
      ch.rule("update @" + set + " { ct direction . ct mark & " + w + " " + limit + " } drop");
      return;
    case ThrottleKey::kFlow:
      ch.rule("update @" + set + " { ct direction . ct id " + limit + " } drop");
      return;
    case ThrottleKey::kHost:
      break;
  }
  // The user-side end: the original source when it is a local/user address, else the
  // original destination (a local host serving a remote peer). The same key in both
  // directions, so one host's uploads and downloads each meet the rate.
  for (const auto& [ip, fam, local] : {std::tuple{"ip", "4", "@local4"}, {"ip6", "6", "@local6"}}) {
    const std::string nfproto = std::string("meta nfproto ipv") + fam + " ";
    const std::string key = "ct direction . ct mark & " + w + " . ct original " + ip + " ";
    const std::string upd = "update @" + set + "_" + fam + " { " + key;
    ch.rule(nfproto + "ct original " + ip + " saddr " + local + " " + upd + "saddr " + limit +
            " } drop");
    ch.rule(nfproto + "ct original " + ip + " saddr != " + local + " " + upd + "daddr " + limit +
            " } drop");
  }
}

/// One named quota object per pool: `over` the limit the rule matches (and the `then`
/// verdict applies); `used` restores the count the daemon kept (a restart, a reload).
void nft_quotas(const Config& c, const std::vector<uint64_t>& used, std::string& s) {
  const policy::Policy& p = c.policy;
  for (size_t i = 0; i < p.quota_pools.size(); ++i) {
    const policy::Rule& r = p.rules[p.quota_pools[i].rule];
    s += "\tquota " + quota_object_name(i) + " {\n\t\tover " + std::to_string(r.quota->bytes) +
         " bytes used " + std::to_string(i < used.size() ? used[i] : 0) + " bytes\n\t}\n";
  }
}

/// A quota bucket's chain: past the quota the `then` action, else the rule's own (allow:
/// nothing more; throttle: its throttle chain). `goto`, so a packet the `then` throttle
/// lets pass does not meet the rule's own throttle too.
void nft_quota_chain(const Config& c, const EnforcedBucket& b, NftChain& ch) {
  const policy::Rule& r = c.policy.rules[c.policy.quota_pools[b.pool].rule];
  const std::string q = "quota name \"" + quota_object_name(b.pool) + "\" ";
  switch (r.quota->then) {
    case policy::QuotaThen::kDrop:
      ch.rule(q + "drop");
      break;
    case policy::QuotaThen::kReject:
      ch.rule(q + "goto answer_reject");
      break;
    case policy::QuotaThen::kThrottle:
      ch.rule(q + "goto " +
              ThrottleClass{ThrottleKey::kMark, r.quota->then_rate_bytes_per_sec}.chain());
      break;
  }
  if (b.action == Action::kThrottle) {
    ch.rule("goto " + b.cls.chain());
  }
}

Part nft_part(const Config& c, NftQueue queueing, const std::vector<uint64_t>& quota_used) {
  const bool with_queue = queueing == NftQueue::kIncluded;
  Part p;
  p.tool = Tool::kNft;
  p.purpose = with_queue ? "queueing of undecided connections, mark saving and enforcement"
                         : "mark saving and enforcement (queueing is in the iptables part)";
  const std::string w = hex(c.mark_mask);
  const Enforcement e = enforcement(c);
  std::string s;
  // Declaring then deleting the table makes the replacement one transaction that works
  // whether or not an older copy exists.
  s += "table inet imguard {\n}\ndelete table inet imguard\n";
  s += "table inet imguard {\n";
  s += "\tcomment \"owned by imguard: installed at start, removed at stop\"\n";
  nft_throttle_sets(e, c, s);
  nft_quotas(c, quota_used, s);
  nft_decision_map(e, c, s);
  auto chain = [&](const std::string& name, auto&& body) {
    s += "\tchain " + name + " {\n";
    NftChain ch{s, p.owned_rules};
    body(ch);
    s += "\t}\n";
  };
  // Saving the verdict's window into a zero ct window. nft 1.0.x cannot OR two
  // non-constant values (`ct mark set ct mark | meta mark & W`: "Right hand side of binary
  // operation (|) must be constant"), so: one rule when the whole ct mark is still 0 (no
  // foreign bits to keep, the usual case), else one constant OR per window bit (width
  // rules, independent of users and buckets).
  chain("save", [&](NftChain& ch) {
    // Only a verdict (the decided bit) is saved; a new-connection tag left on a packet
    // nobody answered (queue bypass) is not.
    const std::string decided = hex(policy::decided_bit(c.mark_mask));
    ch.rule("meta mark & " + decided + " != " + decided + " return");
    ch.rule("ct mark == 0x00000000 ct mark set meta mark & " + w + " return");
    for (uint32_t bit = 1; bit != 0; bit <<= 1) {
      if ((c.mark_mask & bit) != 0) {
        ch.rule("meta mark & " + hex(bit) + " == " + hex(bit) + " ct mark set ct mark | " +
                hex(bit));
      }
    }
  });
  chain("answer_reject", [&](NftChain& ch) {
    if (c.reject_with == policy::RejectWith::kTcpReset) {
      ch.rule("meta l4proto tcp reject with tcp reset");
    }
    ch.rule("reject with icmpx type port-unreachable");
  });
  for (const ThrottleClass& cls : e.classes) {
    chain(cls.chain(), [&](NftChain& ch) { nft_throttle_chain(cls, w, ch); });
  }
  for (const EnforcedBucket& b : e.buckets) {
    if (b.pool != policy::kNoPool) {
      chain(b.quota_chain(), [&](NftChain& ch) { nft_quota_chain(c, b, ch); });
    }
  }
  chain("enforce", [&](NftChain& ch) {
    // Fast path: most decided traffic is allowed, so it leaves after one comparison
    // (accept ends only this base chain; other tables still see the packet).
    ch.rule("ct mark & " + w + " == " + hex(mark_of(Action::kAllow, 0, c.mark_mask)) + " accept");
    // Reject answers (TCP RST, ICMP errors) carry the rejected connection's ct as
    // RELATED: let them out instead of enforcing the connection's own decision on them.
    ch.rule("ct state related return");
    ch.rule("ct mark & " + w + " == 0x00000000 jump save");
    ch.rule("ct mark & " + w + " vmap @decisions");
  });
  // Never executed: its presence makes the kernel attach the conntrack labels extension
  // to every new connection (nf_connlabels_get), which imguard's label record written
  // through ctnetlink needs; without it the write fails with ENOSPC.
  chain("labels", [&](NftChain& ch) { ch.rule("ct label set " + std::to_string(kLabelBit)); });
  if (with_queue) {
    chain("classify", [&](NftChain& ch) {  // "queue" is an nft keyword, not a chain name
      // Every packet of an undecided connection is queued here, the SYN first: the
      // connection's first packet carries the new-connection tag (policy/marks.h).
      ch.rule("ct mark & " + w + " == 0x00000000 ct status & confirmed == 0 meta mark & " + w +
              " == 0x00000000 meta mark set meta mark | " + hex(policy::new_conn_tag(c.mark_mask)));
      for (const ConnDir dir : {ConnDir::kOriginal, ConnDir::kReply}) {
        std::string q = "ct mark & " + w +
                        " == 0x00000000 meta l4proto { tcp, udp } ct direction " +
                        (dir == ConnDir::kReply ? "reply" : "original") + " queue ";
        if (c.queue_bypass) {
          q += "flags bypass ";
        }
        ch.rule(q + "num " + queue_range_nft(c, dir));
      }
    });
  }
  const bool steering = !with_queue && steers_by_label(c, Plan::kNftablesIptablesQueue);
  if (steering) {
    // Each new connection gets the index of the worker that owns it in the steering
    // label bits (policy/labels.h), round-robin; the iptables queue rules pick the queue
    // from those bits, so both directions of a connection reach the same worker. Only the
    // first packet of a connection (not yet confirmed) takes a number.
    const uint32_t bits = steer_bits(c);
    for (uint32_t i = 1; i < c.queue_count; ++i) {
      chain("steer_" + std::to_string(i), [&](NftChain& ch) {
        for (uint32_t b = 0; b < bits; ++b) {
          if ((i >> b) & 1u) {
            ch.rule("ct label set " + std::to_string(policy::kSteerLabelBits[b]));
          }
        }
      });
    }
    chain("steer", [&](NftChain& ch) {
      std::string map;
      for (uint32_t i = 1; i < c.queue_count; ++i) {
        map += (map.empty() ? "" : ", ") + std::to_string(i) + " : jump steer_" + std::to_string(i);
      }
      ch.rule("ct state new ct status & confirmed == 0 meta l4proto { tcp, udp } numgen inc mod " +
              std::to_string(c.queue_count) + " vmap { " + map + " }");
    });
  }
  for (const Hook& h : hooks(c)) {
    if (steering) {
      // Before the iptables mangle chains (priority -150) that queue.
      s += "\tchain " + std::string(h.nft) + "_steer {\n";
      s += "\t\ttype filter hook " + std::string(h.nft) + " priority mangle - 1; policy accept;\n";
      NftChain{s, p.owned_rules}.rule(std::string(h.nft_skip) + "jump steer");
      s += "\t}\n";
    }
    if (with_queue) {
      s += "\tchain " + std::string(h.nft) + "_queue {\n";
      s += "\t\ttype filter hook " + std::string(h.nft) + " priority mangle; policy accept;\n";
      NftChain{s, p.owned_rules}.rule(std::string(h.nft_skip) + "jump classify");
      s += "\t}\n";
    }
    s += "\tchain " + std::string(h.nft) + "_enforce {\n";
    s += "\t\ttype filter hook " + std::string(h.nft) + " priority filter; policy accept;\n";
    NftChain{s, p.owned_rules}.rule("jump enforce");
    s += "\t}\n";
  }
  s += "}\n";
  p.script = std::move(s);
  return p;
}

// ---- iptables ---------------------------------------------------------------------------

std::string jump_line(const Hook& h, std::string_view chain) {
  return "-A " + std::string(h.ipt) + " " + std::string(h.ipt_skip) + "-m comment --comment " +
         std::string(kTag) + " -j " + std::string(chain);
}

void ipt_queue_table(const Config& c, Tool tool, Steer steer, Part& p) {
  const std::string w = hex_short(c.mark_mask);
  std::string& s = p.script;
  const std::string q = std::string(kQueueChain);
  const std::string sel = std::string(kQueueSelectChain);
  s += "*mangle\n:" + q + " - [0:0]\n:" + std::string(kQueueDataChain) + " - [0:0]\n:" + sel +
       " - [0:0]\n";
  // Only packets that can change a decision: TCP segments with payload (a SYN carrying
  // data included) and every UDP datagram, of connections whose ct window is still zero;
  // handshakes and pure ACKs stay in the kernel. A FIN or RST without data is queued only
  // once the connection had data queued (the data-queued label bit, set here on the way
  // in): it must not overtake a data segment that waits in the queue (measured: a
  // server's FIN passed its queued reply, the client SACKed the FIN and the server sent
  // the reply again; an RST passing queued data destroys it), while a connection that
  // never carries payload is never queued at all.
  const std::string_view bpf = tcp_payload_bpf(tool);
  auto rule = [&](const std::string& chain, const std::string& text) {
    s += "-A " + chain + " " + text + "\n";
    ++p.owned_rules;
  };
  // Decided connections (most packets) leave after the first rule; undecided ones run the
  // payload program once. The first packet of each conntrack entry that is queued (TCP:
  // its first payload, before the data-queued bit is set; UDP: its unconfirmed first
  // datagram) carries the new-connection tag in the window (policy/marks.h), so a flow the
  // engine still holds under a reused 5-tuple is never mistaken for this connection.
  const std::string data = std::string(kQueueDataChain);
  const std::string label = std::to_string(policy::kDataQueuedLabelBit);
  // Only a packet whose window is still empty is tagged.
  const std::string tag = "-m mark --mark 0x0/" + w + " -j MARK --or-mark " +
                          hex_short(policy::new_conn_tag(c.mark_mask));
  rule(q, "-m connmark ! --mark 0x0/" + w + " -j RETURN");
  rule(q, "-p tcp -m bpf --bytecode \"" + std::string(bpf) + "\" -j " + data);
  rule(q, "-p tcp -m connlabel --label " + label + " -m tcp ! --tcp-flags FIN,RST NONE -j " + sel);
  rule(q, "-p udp -m conntrack ! --ctstatus CONFIRMED " + tag);
  rule(q, "-p udp -j " + sel);
  rule(data, "-m connlabel ! --label " + label + " " + tag);
  rule(data, "-m connlabel --label " + label + " --set -j " + sel);
  // The queue number tells the direction (the kernel here cannot attach conntrack info to
  // a queued packet); reply first, so the original direction is the catch-all.
  const std::string reply = "-m conntrack --ctdir REPLY ";
  if (steer == Steer::kAddressHash) {
    rule(sel, reply + "-j NFQUEUE " + queue_target_ipt(c, ConnDir::kReply));
    rule(sel, "-j NFQUEUE " + queue_target_ipt(c, ConnDir::kOriginal));
  } else {
    // Worker i's connections carry i in the steering label bits (set by nft at creation);
    // the last worker also takes whatever matches no pattern, so nothing slips past.
    const uint32_t bits = steer_bits(c);
    for (uint32_t i = 0; i < c.queue_count; ++i) {
      std::string pattern;
      if (i + 1 < c.queue_count) {
        for (uint32_t b = 0; b < bits; ++b) {
          pattern += std::string("-m connlabel ") + (((i >> b) & 1u) != 0 ? "" : "! ") +
                     "--label " + std::to_string(policy::kSteerLabelBits[b]) + " ";
        }
      }
      rule(sel, pattern + reply + "-j NFQUEUE " + queue_num_ipt(c, ConnDir::kReply, i));
      rule(sel, pattern + "-j NFQUEUE " + queue_num_ipt(c, ConnDir::kOriginal, i));
    }
  }
  for (const Hook& h : hooks(c)) {
    const std::string line = jump_line(h, kQueueChain);
    s += "-I" + line.substr(2) + "\n";
    p.jumps.emplace_back("mangle", line);
    ++p.owned_rules;
  }
  s += "COMMIT\n";
}

/// hashlimit keys per direction of one bucket: xt_hashlimit keys on packet header fields
/// only (not on the ct mark or the ct direction), so every bucket value needs its own
/// rules and table names, one per direction (`--ctdir`).
struct HashlimitDir {
  std::string_view ctdir;   // ORIGINAL / REPLY
  std::string_view suffix;  // table name suffix
  std::string_view mode;    // --hashlimit-mode, "" for one entry per table
};

std::array<HashlimitDir, 2> hashlimit_dirs(ThrottleScope scope) {
  switch (scope) {
    case ThrottleScope::kPerHost:
      // The initiator's address in both directions: packets of the original direction
      // come from it, replies go to it. A connection a local host *serves* is therefore
      // keyed on the remote initiator here (nftables keys on the user side).
      return {{{"ORIGINAL", "o", "srcip"}, {"REPLY", "r", "dstip"}}};
    case ThrottleScope::kPerFlow:
      return {{{"ORIGINAL", "o", "srcip,srcport,dstip,dstport"},
               {"REPLY", "r", "srcip,srcport,dstip,dstport"}}};
    case ThrottleScope::kPerUser:
    case ThrottleScope::kShared:
      break;
  }
  return {{{"ORIGINAL", "o", ""}, {"REPLY", "r", ""}}};
}

void ipt_enforce_table(const Config& c, Tool tool, Part& p) {
  const std::string w = hex_short(c.mark_mask);
  const Enforcement e = enforcement(c);
  std::string& s = p.script;
  auto rule = [&](const std::string& text) {
    s += "-A " + std::string(kEnforceChain) + " " + text + "\n";
    ++p.owned_rules;
  };
  auto mark_is = [&](uint32_t v) { return "-m connmark --mark " + hex_short(v) + "/" + w; };
  s += "*filter\n:" + std::string(kEnforceChain) + " - [0:0]\n:" + std::string(kLabelsChain) +
       " - [0:0]\n";
  // RETURN, not ACCEPT: ACCEPT would also skip the rest of the built-in chain, i.e. the
  // administrator's own rules after our jump.
  rule(mark_is(mark_of(Action::kAllow, 0, c.mark_mask)) + " -j RETURN");
  rule("-m conntrack --ctstate RELATED -j RETURN");  // reject answers, see nft_part
  // Only a verdict (the decided bit) is saved, never a new-connection tag (see nft_part).
  const std::string decided = hex_short(policy::decided_bit(c.mark_mask));
  rule("-m connmark --mark 0x0/" + w + " -m mark --mark " + decided + "/" + decided +
       " -j CONNMARK --save-mark --nfmask " + w + " --ctmask " + w);
  if (e.drop) {
    rule(mark_is(mark_of(Action::kDrop, 0, c.mark_mask)) + " -j DROP");
  }
  if (e.reject) {
    const std::string rej = mark_is(mark_of(Action::kReject, 0, c.mark_mask));
    if (c.reject_with == policy::RejectWith::kTcpReset) {
      rule("-p tcp " + rej + " -j REJECT --reject-with tcp-reset");
    }
    rule(rej + " -j REJECT --reject-with " +
         (tool == Tool::kIptables ? "icmp-port-unreachable" : "icmp6-port-unreachable"));
  }
  if (!e.buckets.empty()) {
    // Only throttled connections walk the per-bucket rules (iptables has no verdict map).
    rule("-m connmark ! --mark " + hex_short(mark_of(Action::kThrottle, 0, c.mark_mask)) + "/" +
         hex_short(action_mask(c.mark_mask)) + " -j RETURN");
  }
  // hashlimit's own byte-mode burst: an explicit --hashlimit-burst in bytes is rescaled by
  // iptables 1.8.9 (125000 reads back as "244kb"), so it is left at the default.
  for (const EnforcedBucket& b : e.buckets) {
    if (b.action != Action::kThrottle) {
      continue;  // quota buckets: the loader and Firewall::create keep quotas off iptables
    }
    const std::string rate = std::to_string(b.cls.rate_bytes_per_sec);
    for (const HashlimitDir& d : hashlimit_dirs(b.scope)) {
      std::string r = mark_is(b.mark) + " -m conntrack --ctdir " + std::string(d.ctdir) +
                      " -m hashlimit --hashlimit-above " + rate + "b/s";
      if (!d.mode.empty()) {
        r += " --hashlimit-mode " + std::string(d.mode);
      }
      // At most 15 characters: "imguard-b65535o".
      rule(r + " --hashlimit-name imguard-b" + std::to_string(b.bucket) + std::string(d.suffix) +
           " -j DROP");
    }
  }
  // Never executed (nothing jumps here): as in nft_part, its presence makes the kernel
  // attach the labels extension to new connections. A number needs no connlabel.conf.
  s += "-A " + std::string(kLabelsChain) + " -m connlabel --label " + std::to_string(kLabelBit) +
       " --set\n";
  ++p.owned_rules;
  for (const Hook& h : hooks(c)) {
    const std::string line = jump_line(h, kEnforceChain);
    s += "-I" + line.substr(2) + "\n";
    p.jumps.emplace_back("filter", line);
    ++p.owned_rules;
  }
  s += "COMMIT\n";
}

Part ipt_part(const Config& c, Tool tool, IptEnforce enforcing, Steer steer) {
  const bool with_enforce = enforcing == IptEnforce::kIncluded;
  Part p;
  p.tool = tool;
  p.purpose = with_enforce ? "queueing of undecided connections, mark saving and enforcement"
                           : "queueing of undecided connections only";
  ipt_queue_table(c, tool, steer, p);
  if (with_enforce) {
    ipt_enforce_table(c, tool, p);
  }
  return p;
}

}  // namespace

std::string_view tcp_payload_bpf(Tool tool) noexcept {
  return tool == Tool::kIp6tables ? kTcpPayloadBpf6 : kTcpPayloadBpf4;
}

bool steers_by_label(const policy::Config& c, Plan plan) noexcept {
  return plan == Plan::kNftablesIptablesQueue && c.queue_count > 1 &&
         c.queue_count <= policy::kMaxSteeredWorkers;
}

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

std::string quota_object_name(size_t pool) {
  return "q" + std::to_string(pool);
}

std::vector<Part> render_parts(const Config& config, Plan plan,
                               const std::vector<uint64_t>& quota_used) {
  std::vector<Part> parts;
  switch (plan) {
    case Plan::kNftables:
      parts.push_back(nft_part(config, NftQueue::kIncluded, quota_used));
      break;
    case Plan::kNftablesIptablesQueue: {
      const Steer steer = steers_by_label(config, plan) ? Steer::kLabel : Steer::kAddressHash;
      parts.push_back(nft_part(config, NftQueue::kElsewhere, quota_used));
      parts.push_back(ipt_part(config, Tool::kIptables, IptEnforce::kElsewhere, steer));
      parts.push_back(ipt_part(config, Tool::kIp6tables, IptEnforce::kElsewhere, steer));
      break;
    }
    case Plan::kIptables:
      parts.push_back(
          ipt_part(config, Tool::kIptables, IptEnforce::kIncluded, Steer::kAddressHash));
      parts.push_back(
          ipt_part(config, Tool::kIp6tables, IptEnforce::kIncluded, Steer::kAddressHash));
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

std::optional<std::vector<std::pair<std::string, uint64_t>>> parse_nft_quotas(
    std::string_view listing) {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::string name;
  bool ok = true;
  for_each_line(listing, [&](std::string_view line) {
    const size_t b = line.find_first_not_of(" \t");
    line = b == std::string_view::npos ? std::string_view{} : line.substr(b);
    if (line.starts_with("quota ") && line.ends_with(" {")) {
      name = std::string(line.substr(6, line.size() - 8));
      return;
    }
    const size_t at = line.find("used ");
    if (name.empty() || !line.starts_with("over ")) {
      return;
    }
    if (at == std::string_view::npos) {  // nft omits `used 0 bytes`
      out.emplace_back(name, 0);
      name.clear();
      return;
    }
    // "used 1234 bytes"; nft prints whole multiples of 1024 as kbytes, mbytes, gbytes.
    std::string_view rest = line.substr(at + 5);
    uint64_t n = 0;
    auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    const std::string_view unit = rest.substr(static_cast<size_t>(ptr - rest.data()));
    uint64_t mult = 0;
    for (const auto& [u, m] : {std::pair<std::string_view, uint64_t>{" bytes", 1},
                               {" kbytes", uint64_t{1} << 10},
                               {" mbytes", uint64_t{1} << 20},
                               {" gbytes", uint64_t{1} << 30}}) {
      if (unit == u) {
        mult = m;
      }
    }
    if (ec != std::errc() || mult == 0) {
      ok = false;
      return;
    }
    out.emplace_back(name, n * mult);
    name.clear();
  });
  if (!ok) {
    return std::nullopt;
  }
  return out;
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
