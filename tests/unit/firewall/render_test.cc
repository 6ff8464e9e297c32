// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>
#include <cstdio>
#include <map>
#include <string>

#include "firewall/firewall.h"
#include "firewall/render.h"
#include "policy/loader.h"
#include "policy/marks.h"

using namespace imguard::firewall;
using imguard::policy::Config;

namespace {

std::shared_ptr<const Config> load(const std::string& text) {
  auto r = imguard::policy::load_config_string(text, "f.yaml");
  REQUIRE(std::holds_alternative<std::shared_ptr<const Config>>(r));
  return std::get<std::shared_ptr<const Config>>(r);
}

const char* kPolicy = R"(version: 1
engine:
  queue: {first: 2, count: 3}
actions:
  default: allow
  categories: {p2p: drop, im: reject}
  apps: {irc: throttle 8kB/s}
)";

bool has(const std::string& text, const std::string& needle) {
  if (text.find(needle) == std::string::npos) {
    UNSCOPED_INFO("missing: " << needle);
    return false;
  }
  return true;
}

/// Records every call and answers from a table keyed by the program name (first match
/// on argv[0] + argv[1]).
class FakeRunner final : public Runner {
 public:
  std::map<std::string, Output> answers;
  std::vector<std::pair<std::string, std::string>> calls;  // command line, stdin

  Output run(const std::vector<std::string>& argv, const std::string& input) override {
    std::string cmd;
    for (const auto& a : argv) {
      cmd += (cmd.empty() ? "" : " ") + a;
    }
    calls.emplace_back(cmd, input);
    for (const auto& [prefix, out] : answers) {
      if (cmd.starts_with(prefix)) {
        return out;
      }
    }
    return Output{0, ""};
  }
};

/// Bucket mark of `rule` (for `user`, or imguard::policy::kNoUser) in a loaded config.
uint32_t bucket_mark(const Config& c, const std::string& rule, uint16_t user) {
  for (size_t b = 0; b < c.policy.buckets.size(); ++b) {
    const auto& bk = c.policy.buckets[b];
    if (bk.rule != imguard::policy::kNoRule && c.policy.rules[bk.rule].name == rule &&
        bk.user == user) {
      imguard::policy::Decision d;
      d.action = d.enforced = imguard::policy::Action::kThrottle;
      d.bucket = static_cast<uint16_t>(b);
      return imguard::policy::encode(d, c.mark_mask);
    }
  }
  FAIL("no bucket for " << rule);
  return 0;
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

size_t lines_with(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

const char* kUsersPolicy = R"(version: 1
networks:
  local: [10.1.0.0/16, fd00:1::/64]
users:
  alice: {addresses: [10.1.0.10]}
  bob: {addresses: [10.1.0.11, 10.2.0.5, 10.2.0.0/24]}
rules:
  - {name: bt-slow, who: [alice, bob], app: bittorrent, action: "throttle 1Mbit/s per user"}
  - {name: p2p-hosts, category: p2p, action: "throttle 256kbit/s per host"}
  - {name: ft-flow, feature: file_transfer, action: "throttle 64kB/s per flow"}
  - {name: chat-slow, category: im, action: "throttle 1Mbit/s shared"}
  - {name: watch-irc, app: irc, action: "monitor drop"}
  - {name: watch-xmpp, app: xmpp, action: "monitor throttle 8kB/s"}
actions:
  default: allow
  categories: {tunnel: reject}
)";

}  // namespace

TEST_CASE("nftables plan: queue, save and enforce in table inet imguard", "[firewall]") {
  const auto c = load(kPolicy);
  const auto parts = render_parts(*c, Plan::kNftables);
  REQUIRE(parts.size() == 1);
  const std::string& s = parts[0].script;
  CHECK(s.starts_with("table inet imguard {\n}\ndelete table inet imguard\n"));
  // The queue number tells the direction: original 2-4, reply 5-7.
  CHECK(has(s,
            "ct mark & 0x00ff0000 == 0x00000000 meta l4proto { tcp, udp } ct direction "
            "original queue flags bypass num 2-4 comment \"imguard\""));
  CHECK(has(s,
            "ct mark & 0x00ff0000 == 0x00000000 meta l4proto { tcp, udp } ct direction "
            "reply queue flags bypass num 5-7 comment \"imguard\""));
  CHECK_FALSE(has(s, "steer"));  // the nft queue statement balances by address hash
  CHECK(has(s, "type filter hook forward priority mangle; policy accept;"));
  CHECK(has(s, "type filter hook forward priority filter; policy accept;"));
  // Saving: one rule when the ct mark is all zero, else one OR per window bit.
  CHECK(has(s, "ct mark & 0x00ff0000 == 0x00000000 jump save"));
  // Only a verdict is saved (the decided bit), never the new-connection tag.
  CHECK(has(s,
            "chain save {\n\t\tmeta mark & 0x00010000 != 0x00010000 return comment \"imguard\"\n"
            "\t\tct mark == 0x00000000 ct mark set meta mark & 0x00ff0000 return "
            "comment \"imguard\"\n"));
  // The queue chain tags each connection's first packet.
  CHECK(has(s,
            "chain classify {\n\t\tct mark & 0x00ff0000 == 0x00000000 ct status & confirmed == 0 "
            "meta mark & 0x00ff0000 == 0x00000000 meta mark set meta mark | 0x00020000 comment "
            "\"imguard\"\n"));
  CHECK(has(s, "meta mark & 0x00010000 == 0x00010000 ct mark set ct mark | 0x00010000"));
  CHECK(has(s, "meta mark & 0x00800000 == 0x00800000 ct mark set ct mark | 0x00800000"));
  CHECK(lines_with(s, "ct mark set ct mark | ") == 8);
  // Enforcement: decided-allow connections leave after the first rule, then one lookup.
  CHECK(has(s,
            "chain enforce {\n"
            "\t\tct mark & 0x00ff0000 == 0x00010000 accept comment \"imguard\"\n"
            "\t\tct state related return comment \"imguard\"\n"
            "\t\tct mark & 0x00ff0000 == 0x00000000 jump save comment \"imguard\"\n"
            "\t\tct mark & 0x00ff0000 vmap @decisions comment \"imguard\"\n"));
  const std::string irc = hex(bucket_mark(*c, "actions.apps.irc", imguard::policy::kNoUser));
  CHECK(has(s,
            "\tmap decisions {\n\t\ttype mark : verdict\n\t\telements = {\n"
            "\t\t\t0x00030000 : drop,\n"
            "\t\t\t0x00050000 : jump answer_reject,\n"
            "\t\t\t" +
                irc + " : jump throttle_mark_8000\n\t\t}\n"));
  CHECK(has(s, "meta l4proto tcp reject with tcp reset"));
  CHECK(has(s, "reject with icmpx type port-unreachable"));
  CHECK(has(s,
            "\tchain throttle_mark_8000 {\n\t\tupdate @b_mark_8000 { ct direction . ct mark & "
            "0x00ff0000 limit rate over 8000 bytes/second burst 3028 bytes } drop comment "
            "\"imguard\"\n"));
  CHECK(has(s,
            "\tset b_mark_8000 {\n\t\ttype ct_dir . mark\n\t\tsize 65535\n\t\tflags "
            "dynamic,timeout\n\t\ttimeout 10m\n\t}\n"));
  CHECK(has(s, "chain labels {\n\t\tct label set 127 comment \"imguard\"\n"));
  CHECK_FALSE(has(s, "local4"));  // no per-host class
  CHECK_FALSE(has(s, "hook input"));
  CHECK(count_nft_owned(s) == parts[0].owned_rules);
  // save 10, reject 2, throttle 1, enforce 4, labels 1, classify 3, two hook chains.
  CHECK(parts[0].owned_rules == 23);
}

TEST_CASE("nftables: one throttle chain per (key, rate) class, per-host sets", "[firewall]") {
  const auto c = load(kUsersPolicy);
  const auto parts = render_parts(*c, Plan::kNftablesIptablesQueue);
  const std::string& s = parts[0].script;
  using imguard::policy::kNoUser;
  // Per user and shared buckets of one rate share a chain: the mark tells them apart.
  for (uint32_t m : {bucket_mark(*c, "bt-slow", 0), bucket_mark(*c, "bt-slow", 1),
                     bucket_mark(*c, "chat-slow", kNoUser)}) {
    CHECK(has(s, "\t\t\t" + hex(m) + " : jump throttle_mark_125000"));
  }
  CHECK(has(s, hex(bucket_mark(*c, "p2p-hosts", kNoUser)) + " : jump throttle_host_32000"));
  CHECK(has(s, hex(bucket_mark(*c, "ft-flow", kNoUser)) + " : jump throttle_flow_64000"));
  CHECK(lines_with(s, "\tchain throttle_") == 3);
  CHECK(has(s,
            "update @b_flow_64000 { ct direction . ct id limit rate over 64000 bytes/second "
            "burst 16000 bytes } drop"));
  CHECK(has(s, "typeof ct direction . ct id"));
  // Per host: the user-side address, v4 and v6, in both directions.
  CHECK(has(s,
            "meta nfproto ipv4 ct original ip saddr @local4 update @b_host_32000_4 { ct "
            "direction . ct mark & 0x00ff0000 . ct original ip saddr limit rate over 32000 "
            "bytes/second burst 8000 bytes } drop"));
  CHECK(has(s,
            "meta nfproto ipv4 ct original ip saddr != @local4 update @b_host_32000_4 { ct "
            "direction . ct mark & 0x00ff0000 . ct original ip daddr limit"));
  CHECK(has(s, "meta nfproto ipv6 ct original ip6 saddr @local6 update @b_host_32000_6 {"));
  CHECK(has(s, "ct original ip6 daddr limit rate over 32000"));
  CHECK(has(s, "type ct_dir . mark . ipv6_addr"));
  // networks.local plus users' addresses, blocks inside others merged away.
  CHECK(has(s,
            "\tset local4 {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = {\n"
            "\t\t\t10.1.0.0/16,\n\t\t\t10.2.0.0/24\n\t\t}\n\t}\n"));
  CHECK(has(s,
            "\tset local6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t\telements = {\n"
            "\t\t\tfd00:1::/64\n"));
  // Monitor rules never reach the kernel: no drop, no 8 kB/s class.
  CHECK_FALSE(has(s, " : drop"));
  CHECK_FALSE(has(s, "8000 bytes/second"));
  CHECK(has(s, "0x00050000 : jump answer_reject"));
  CHECK(count_nft_owned(s) == parts[0].owned_rules);
}

TEST_CASE("enforce: false renders no enforcing element", "[firewall]") {
  const std::string text = std::string(kUsersPolicy) + "engine: {enforce: false}\n";
  const auto c = load(text);
  const auto nft = render_parts(*c, Plan::kNftablesIptablesQueue)[0].script;
  CHECK(has(nft, "\tmap decisions {\n\t\ttype mark : verdict\n\t}\n"));
  CHECK_FALSE(has(nft, "chain throttle_"));
  CHECK_FALSE(has(nft, "set b_"));
  CHECK(has(nft, "ct mark & 0x00ff0000 == 0x00000000 jump save"));  // allow is still saved
  const auto ipt = render_parts(*c, Plan::kIptables)[0].script;
  CHECK_FALSE(has(ipt, "-j DROP"));
  CHECK_FALSE(has(ipt, "-j REJECT"));
  CHECK(has(ipt, "--save-mark"));
}

TEST_CASE("rule count does not grow with users: 100 throttle rules x 1000 users", "[firewall]") {
  // 8 per-user rules reach all 1000 users (8 x 1001 buckets, unknown included), 92 more
  // are per host, shared or per flow; 10 distinct rates. 0xffff0000 has 8192 buckets.
  auto yaml = [](int users) {
    std::string y = "version: 1\nengine: {mark_mask: 0xffff0000}\nusers:\n";
    for (int u = 0; u < users; ++u) {
      y += "  u" + std::to_string(u) + ": {addresses: [10." + std::to_string(u / 250) + "." +
           std::to_string(u % 250) + ".1, 198.51." + std::to_string(u / 250) + "." +
           std::to_string(u % 250) + "]}\n";
    }
    y += "rules:\n";
    const char* scopes[] = {"per host", "shared", "per flow"};
    for (int r = 0; r < 100; ++r) {
      const std::string scope = r < 8 ? "per user" : scopes[r % 3];
      y += "  - {name: r" + std::to_string(r) +
           ", app: bittorrent, evidence: dpi, action: \"throttle " +
           std::to_string(64 * (1 + r % 10)) + "kB/s " + scope + "\"}\n";
    }
    return y;
  };
  const auto big = load(yaml(1000));
  REQUIRE(big->policy.users.size() == 1000);
  size_t buckets = 0;
  for (const auto& b : big->policy.buckets) {
    buckets += b.rule != imguard::policy::kNoRule ? 1 : 0;
  }
  CHECK(buckets == 8 * 1001 + 92);
  const auto nft = render_parts(*big, Plan::kNftablesIptablesQueue);
  const std::string& s = nft[0].script;
  // save 18, reject 2, enforce 4, labels 1, one hook; throttle chains: 10 rates x 3 keys
  // (mark 1 rule, host 4, flow 1), only the (key, rate) pairs in use.
  CHECK(nft[0].owned_rules == 26 + lines_with(s, "\tchain throttle_mark_") +
                                  4 * lines_with(s, "\tchain throttle_host_") +
                                  lines_with(s, "\tchain throttle_flow_"));
  CHECK(nft[0].owned_rules <= 26 + 10 * 6);
  CHECK(lines_with(s, " : jump throttle_") == buckets);
  // 1000 users' 10.x addresses sit inside networks.local's 10.0.0.0/8; the 198.51.x ones
  // are listed once each.
  CHECK(lines_with(s, "\t\t\t198.51.") == 1000);
  CHECK_FALSE(has(s, "\t\t\t10.1."));
  // The same policy for 10 users: the same rules, fewer elements.
  const auto small = load(yaml(10));
  CHECK(render_parts(*small, Plan::kNftablesIptablesQueue)[0].owned_rules == nft[0].owned_rules);
  UNSCOPED_INFO("nft owned rules for 100 rules x 1000 users: " << nft[0].owned_rules);
  // iptables has no verdict map: two hashlimit rules (one per direction) per bucket.
  const auto ipt = render_parts(*big, Plan::kIptables);
  CHECK(lines_with(ipt[0].script, "--hashlimit-name imguard-b") == 2 * buckets);
  CHECK(count_ipt_owned(ipt[0].script) + ipt[0].jumps.size() == ipt[0].owned_rules);
}

TEST_CASE("without nft queue, the queue rule moves to ip(6)tables", "[firewall]") {
  const auto c = load(kPolicy);
  const auto parts = render_parts(*c, Plan::kNftablesIptablesQueue);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].tool == Tool::kNft);
  CHECK_FALSE(has(parts[0].script, "queue"));
  CHECK(has(parts[0].script, "jump enforce"));
  // Three workers: nft numbers each new connection into the steering label bits.
  const std::string& nft = parts[0].script;
  CHECK(has(nft,
            "ct state new ct status & confirmed == 0 meta l4proto { tcp, udp } numgen inc mod 3 "
            "vmap { 1 : jump steer_1, 2 : jump steer_2 } comment \"imguard\""));
  CHECK(has(nft, "chain steer_1 {\n\t\tct label set 93 comment"));
  CHECK(has(nft, "chain steer_2 {\n\t\tct label set 94 comment"));
  CHECK(has(nft, "type filter hook forward priority mangle - 1; policy accept;\n\t\tjump steer"));
  for (int i : {1, 2}) {
    const std::string& s = parts[static_cast<size_t>(i)].script;
    INFO(s);
    CHECK(has(
        s, "*mangle\n:IMGUARD-QUEUE - [0:0]\n:IMGUARD-QDATA - [0:0]\n:IMGUARD-QSELECT - [0:0]\n"));
    const std::string bpf(tcp_payload_bpf(i == 1 ? Tool::kIptables : Tool::kIp6tables));
    // Decided connections leave at the first rule; the payload program runs once.
    CHECK(has(s,
              "-A IMGUARD-QUEUE -m connmark ! --mark 0x0/0xff0000 -j RETURN\n"
              "-A IMGUARD-QUEUE -p tcp -m bpf --bytecode \"" +
                  bpf + "\" -j IMGUARD-QDATA\n"));
    CHECK(has(s,
              "-A IMGUARD-QUEUE -p tcp -m connlabel --label 70 -m tcp ! --tcp-flags FIN,RST "
              "NONE -j IMGUARD-QSELECT\n"));
    // The first queued packet of each connection carries the new-connection tag.
    CHECK(has(s,
              "-A IMGUARD-QUEUE -p udp -m conntrack ! --ctstatus CONFIRMED -m mark --mark "
              "0x0/0xff0000 -j MARK --or-mark 0x20000\n-A IMGUARD-QUEUE -p udp -j "
              "IMGUARD-QSELECT\n"));
    CHECK(has(s,
              "-A IMGUARD-QDATA -m connlabel ! --label 70 -m mark --mark 0x0/0xff0000 -j MARK "
              "--or-mark 0x20000\n"
              "-A IMGUARD-QDATA -m connlabel --label 70 --set -j IMGUARD-QSELECT\n"));
    CHECK(lines_with(s, "-m bpf") == 1);
    // Worker 0: both steering bits clear; worker 1: bit 93; worker 2 takes the rest.
    CHECK(has(s,
              "-A IMGUARD-QSELECT -m connlabel ! --label 93 -m connlabel ! --label 94 "
              "-m conntrack --ctdir REPLY -j NFQUEUE --queue-num 5 --queue-bypass\n"
              "-A IMGUARD-QSELECT -m connlabel ! --label 93 -m connlabel ! --label 94 "
              "-j NFQUEUE --queue-num 2 --queue-bypass\n"));
    CHECK(has(s,
              "-A IMGUARD-QSELECT -m connlabel --label 93 -m connlabel ! --label 94 "
              "-m conntrack --ctdir REPLY -j NFQUEUE --queue-num 6 --queue-bypass\n"));
    CHECK(has(s,
              "-A IMGUARD-QSELECT -m conntrack --ctdir REPLY -j NFQUEUE --queue-num 7 "
              "--queue-bypass\n-A IMGUARD-QSELECT -j NFQUEUE --queue-num 4 --queue-bypass\n"));
    CHECK_FALSE(has(s, "--queue-balance"));
    CHECK(has(s, "-I FORWARD -m comment --comment imguard -j IMGUARD-QUEUE\n"));
    CHECK_FALSE(has(s, "*filter"));
  }
  CHECK(steers_by_label(*c, Plan::kNftablesIptablesQueue));
  CHECK_FALSE(steers_by_label(*c, Plan::kIptables));
  CHECK_FALSE(steers_by_label(*c, Plan::kNftables));
  CHECK(parts[1].tool == Tool::kIptables);
  CHECK(parts[2].tool == Tool::kIp6tables);
}

TEST_CASE("iptables plan: save-mark with masks, reject per family, hashlimit", "[firewall]") {
  const auto c = load(kPolicy);
  const auto parts = render_parts(*c, Plan::kIptables);
  REQUIRE(parts.size() == 2);
  const std::string& v4 = parts[0].script;
  const std::string& v6 = parts[1].script;
  CHECK(has(v4,
            "*filter\n:IMGUARD-ENFORCE - [0:0]\n:IMGUARD-LABELS - [0:0]\n"
            "-A IMGUARD-ENFORCE -m connmark --mark 0x10000/0xff0000 -j RETURN\n"
            "-A IMGUARD-ENFORCE -m conntrack --ctstate RELATED -j RETURN\n"
            "-A IMGUARD-ENFORCE -m connmark --mark 0x0/0xff0000 -m mark --mark 0x10000/0x10000 "
            "-j CONNMARK --save-mark --nfmask 0xff0000 --ctmask 0xff0000\n"
            "-A IMGUARD-ENFORCE -m connmark --mark 0x30000/0xff0000 -j DROP\n"
            "-A IMGUARD-ENFORCE -p tcp -m connmark --mark 0x50000/0xff0000 -j REJECT "
            "--reject-with tcp-reset\n"));
  CHECK(has(v4, "--reject-with icmp-port-unreachable"));
  CHECK(has(v6, "--reject-with icmp6-port-unreachable"));
  CHECK(has(v4, "-A IMGUARD-ENFORCE -m connmark ! --mark 0x70000/0x70000 -j RETURN\n"));
  const uint32_t irc = bucket_mark(*c, "actions.apps.irc", imguard::policy::kNoUser);
  const std::string n = std::to_string(irc >> 19);
  char m[16];
  std::snprintf(m, sizeof m, "0x%x", irc);
  CHECK(has(v4, std::string("-A IMGUARD-ENFORCE -m connmark --mark ") + m +
                    "/0xff0000 -m conntrack --ctdir ORIGINAL -m hashlimit --hashlimit-above "
                    "8000b/s --hashlimit-name imguard-b" +
                    n + "o -j DROP\n"));
  CHECK(has(v4, std::string("-m conntrack --ctdir REPLY -m hashlimit --hashlimit-above ") +
                    "8000b/s --hashlimit-name imguard-b" + n + "r -j DROP\n"));
  CHECK(has(v4, "-A IMGUARD-LABELS -m connlabel --label 127 --set\n"));
  CHECK(has(v4, "-I FORWARD -m comment --comment imguard -j IMGUARD-ENFORCE"));
  // Without nft no steering: the address hash, one range per direction.
  CHECK(has(v4,
            "-A IMGUARD-QSELECT -m conntrack --ctdir REPLY -j NFQUEUE --queue-balance 5:7 "
            "--queue-bypass\n-A IMGUARD-QSELECT -j NFQUEUE --queue-balance 2:4 --queue-bypass\n"));
  CHECK(parts[0].owned_rules == 21);
  // The script inserts its jumps (-I); iptables-save lists them as -A.
  CHECK(count_ipt_owned(v4) + parts[0].jumps.size() == parts[0].owned_rules);
}

TEST_CASE("iptables hashlimit modes per scope", "[firewall]") {
  const auto c = load(kUsersPolicy);
  const std::string v4 = render_parts(*c, Plan::kIptables)[0].script;
  // Per host: the initiator's address in both directions.
  CHECK(
      has(v4, "--ctdir ORIGINAL -m hashlimit --hashlimit-above 32000b/s --hashlimit-mode srcip "));
  CHECK(has(v4, "--ctdir REPLY -m hashlimit --hashlimit-above 32000b/s --hashlimit-mode dstip "));
  CHECK(lines_with(v4, "--hashlimit-mode srcip,srcport,dstip,dstport") == 2);
  // Per user and shared: one table per bucket and direction, no mode.
  CHECK(lines_with(v4, "--hashlimit-above 125000b/s --hashlimit-name") == 6);
  CHECK_FALSE(has(v4, "8000b/s"));  // monitor throttle
  CHECK_FALSE(has(v4, "-j DROP\n-A IMGUARD-ENFORCE -p tcp"));
}

TEST_CASE("host mode hooks input and output and skips loopback", "[firewall]") {
  const auto c = load("version: 1\nengine: {mode: host, queue: {bypass: false}}\n");
  const auto nft = render_parts(*c, Plan::kNftables)[0].script;
  CHECK(has(nft, "type filter hook input priority mangle;"));
  CHECK(has(nft, "type filter hook output priority filter;"));
  CHECK(has(nft, "iifname != \"lo\" jump classify"));
  CHECK(has(nft, "oifname != \"lo\" jump classify"));
  CHECK(has(nft, "meta l4proto { tcp, udp } ct direction original queue num 0 comment"));
  CHECK(has(nft, "meta l4proto { tcp, udp } ct direction reply queue num 1 comment"));  // no bypass
  CHECK_FALSE(has(nft, "hook forward"));
  const auto ipt = render_parts(*c, Plan::kIptables)[0].script;
  CHECK(has(ipt, "-I INPUT ! -i lo -m comment --comment imguard -j IMGUARD-QUEUE"));
  CHECK(has(ipt, "-I OUTPUT ! -o lo -m comment --comment imguard -j IMGUARD-ENFORCE"));
  CHECK(has(ipt, "-j NFQUEUE --queue-num 0\n"));
}

TEST_CASE("reject_with icmp answers TCP with ICMP too", "[firewall]") {
  const auto c = load("version: 1\nengine: {reject_with: icmp}\n");
  const auto nft = render_parts(*c, Plan::kNftables)[0].script;
  CHECK_FALSE(has(nft, "tcp reset"));
  CHECK(has(nft, "reject with icmpx type port-unreachable"));
  CHECK_FALSE(has(render_parts(*c, Plan::kIptables)[0].script, "tcp-reset"));
}

TEST_CASE("render() names each tool and part", "[firewall]") {
  const auto c = load(kPolicy);
  auto fw =
      Firewall::create_for_plan(*c, Plan::kNftablesIptablesQueue, std::make_unique<FakeRunner>());
  const std::string out = fw->render();
  CHECK(has(out, "plan nftables+iptables-queue, mode gateway, mark window 0x00ff0000"));
  CHECK(has(out,
            "# ---- nft (`nft -f -`): mark saving and enforcement (queueing is in the "
            "iptables part) ----"));
  CHECK(has(out,
            "# ---- iptables (`iptables-restore --noflush`): queueing of undecided "
            "connections only ----"));
  CHECK(has(out, "# ---- ip6tables (`ip6tables-restore --noflush`)"));
}

TEST_CASE("auto probes nft, its queue statement and iptables", "[firewall]") {
  const auto c = load("version: 1\n");
  SECTION("nft with queue") {
    auto runner = std::make_unique<FakeRunner>();
    auto created = Firewall::create(*c, std::move(runner));
    REQUIRE(std::holds_alternative<std::unique_ptr<Firewall>>(created));
    CHECK(std::get<std::unique_ptr<Firewall>>(created)->plan() == Plan::kNftables);
  }
  SECTION("nft without queue falls back to iptables for queueing") {
    auto runner = std::make_unique<FakeRunner>();
    FakeRunner* raw = runner.get();
    // The queue probe is the second nft -c call; fail every nft -c whose input queues.
    struct QueueFails final : Runner {
      FakeRunner* inner;
      explicit QueueFails(FakeRunner* r) : inner(r) {}
      Output run(const std::vector<std::string>& argv, const std::string& in) override {
        if (argv[0] == "nft" && in.find("queue") != std::string::npos) {
          return Output{1, "Error: Could not process rule: No such file or directory"};
        }
        return inner->run(argv, in);
      }
    };
    auto created = Firewall::create(*c, std::make_unique<QueueFails>(raw));
    REQUIRE(std::holds_alternative<std::unique_ptr<Firewall>>(created));
    CHECK(std::get<std::unique_ptr<Firewall>>(created)->plan() == Plan::kNftablesIptablesQueue);
  }
  SECTION("no nft at all, iptables works") {
    auto runner = std::make_unique<FakeRunner>();
    runner->answers["nft"] = Runner::Output{-1, "nft: cannot run: No such file or directory"};
    auto created = Firewall::create(*c, std::move(runner));
    REQUIRE(std::holds_alternative<std::unique_ptr<Firewall>>(created));
    CHECK(std::get<std::unique_ptr<Firewall>>(created)->plan() == Plan::kIptables);
  }
  SECTION("backend iptables is probed too") {
    const auto ipt = load("version: 1\nengine: {backend: iptables}\n");
    auto runner = std::make_unique<FakeRunner>();
    runner->answers["iptables-save"] = Runner::Output{4, "Permission denied (you must be root)"};
    auto created = Firewall::create(*ipt, std::move(runner));
    REQUIRE(std::holds_alternative<Error>(created));
    CHECK(std::get<Error>(created).message ==
          "backend iptables unusable: `iptables-save -t mangle` failed (exit 4): Permission "
          "denied (you must be root)");
  }
  SECTION("nothing works: an error naming both") {
    auto runner = std::make_unique<FakeRunner>();
    runner->answers["nft"] = Runner::Output{1, "Operation not permitted"};
    runner->answers["iptables"] = Runner::Output{4, "Permission denied (you must be root)"};
    auto created = Firewall::create(*c, std::move(runner));
    REQUIRE(std::holds_alternative<Error>(created));
    CHECK(has(std::get<Error>(created).message, "neither nftables"));
    CHECK(has(std::get<Error>(created).message, "Permission denied"));
  }
}

TEST_CASE("install replaces old jumps in the same transaction; remove cleans up", "[firewall]") {
  const auto c = load("version: 1\n");
  auto runner = std::make_unique<FakeRunner>();
  FakeRunner* fake = runner.get();
  const std::string save =
      "*mangle\n:FORWARD ACCEPT [0:0]\n:IMGUARD-QUEUE - [0:0]\n"
      "-A FORWARD -m comment --comment imguard -j IMGUARD-QUEUE\n"
      "-A FORWARD -j ACCEPT\n"
      "-A IMGUARD-QUEUE -p tcp -j NFQUEUE --queue-num 0\nCOMMIT\n";
  fake->answers["iptables-save"] = Runner::Output{0, save};
  fake->answers["ip6tables-save"] = Runner::Output{0, ""};
  auto fw = Firewall::create_for_plan(*c, Plan::kNftablesIptablesQueue, std::move(runner));
  REQUIRE(std::holds_alternative<std::monostate>(fw->install()));
  // nft first (enforcement), then the queue parts.
  REQUIRE(fake->calls.size() == 5);
  CHECK(fake->calls[0].first == "nft -f -");
  CHECK(fake->calls[1].first == "iptables-save");
  CHECK(fake->calls[2].first == "iptables-restore --noflush");
  CHECK(fake->calls[2].second.starts_with(
      "*mangle\n-D FORWARD -m comment --comment imguard -j IMGUARD-QUEUE\nCOMMIT\n*mangle\n"));
  CHECK(fake->calls[4].first == "ip6tables-restore --noflush");
  CHECK(fake->calls[4].second.starts_with("*mangle\n:IMGUARD-QUEUE"));

  fake->calls.clear();
  REQUIRE(std::holds_alternative<std::monostate>(fw->remove()));
  REQUIRE(fake->calls.size() == 4);  // iptables save+restore, ip6tables save (nothing), nft
  CHECK(fake->calls[1].second ==
        "*mangle\n-D FORWARD -m comment --comment imguard -j IMGUARD-QUEUE\n"
        "-F IMGUARD-QUEUE\n-X IMGUARD-QUEUE\nCOMMIT\n");
  CHECK(fake->calls[3].second == "table inet imguard {\n}\ndelete table inet imguard\n");
}

TEST_CASE("installed() compares owned rule counts; a failing tool is an error value",
          "[firewall]") {
  const auto c = load("version: 1\n");
  auto runner = std::make_unique<FakeRunner>();
  FakeRunner* fake = runner.get();
  auto fw = Firewall::create_for_plan(*c, Plan::kNftables, std::move(runner));
  const std::string full = render_parts(*c, Plan::kNftables)[0].script;
  fake->answers["nft list"] = Runner::Output{0, full};
  CHECK(fw->installed());
  fake->answers["nft list"] =
      Runner::Output{0, "table inet imguard {\n\tchain save {\n\t}\n\tchain enforce {\n\t}\n}\n"};
  CHECK_FALSE(fw->installed());
  fake->answers["nft -f"] = Runner::Output{1, "Error: Could not process rule"};
  auto r = fw->reinstall_if_missing();
  REQUIRE(std::holds_alternative<Error>(r));
  CHECK(has(std::get<Error>(r).message,
            "installing table inet imguard: `nft -f -` failed (exit 1): Error: Could not "
            "process rule"));
}

namespace {
/// A FakeRunner whose kernel reports a ruleset generation.
class GenerationRunner final : public Runner {
 public:
  FakeRunner tools;
  std::optional<uint32_t> generation = 7;
  Output run(const std::vector<std::string>& argv, const std::string& input) override {
    return tools.run(argv, input);
  }
  std::optional<uint32_t> ruleset_generation() override { return generation; }
};
}  // namespace

TEST_CASE("installed() reads the rules again only when the ruleset generation moved",
          "[firewall]") {
  const auto c = load("version: 1\n");
  auto runner = std::make_unique<GenerationRunner>();
  GenerationRunner* fake = runner.get();
  SECTION("nftables only") {
    auto fw = Firewall::create_for_plan(*c, Plan::kNftables, std::move(runner));
    fake->tools.answers["nft list"] =
        Runner::Output{0, render_parts(*c, Plan::kNftables)[0].script};
    CHECK(fw->installed());
    const size_t after_first = fake->tools.calls.size();
    CHECK(after_first == 1);
    CHECK(fw->installed());  // same generation: nothing run
    CHECK(fake->tools.calls.size() == after_first);
    // Someone flushed the table: the generation moves, and the check sees it.
    fake->generation = 8;
    fake->tools.answers["nft list"] = Runner::Output{1, "Error: No such file or directory"};
    CHECK_FALSE(fw->installed());
    CHECK_FALSE(fw->installed());  // a failed check is never remembered as good
    CHECK(fake->tools.calls.size() == after_first + 2);
    // Our own install moves the generation too; the next check reads the rules.
    fake->tools.answers["nft list"] =
        Runner::Output{0, render_parts(*c, Plan::kNftables)[0].script};
    REQUIRE(std::holds_alternative<std::monostate>(fw->install()));
    const size_t after_install = fake->tools.calls.size();
    CHECK(fw->installed());
    CHECK(fake->tools.calls.size() == after_install + 1);
  }
  SECTION("no generation (not readable): every check reads the rules") {
    fake->generation.reset();
    auto fw = Firewall::create_for_plan(*c, Plan::kNftables, std::move(runner));
    fake->tools.answers["nft list"] =
        Runner::Output{0, render_parts(*c, Plan::kNftables)[0].script};
    CHECK(fw->installed());
    CHECK(fw->installed());
    CHECK(fake->tools.calls.size() == 2);
  }
  SECTION("iptables rules count only when iptables is the nf_tables variant") {
    const auto parts = render_parts(*c, Plan::kNftablesIptablesQueue);
    for (const auto& part : parts) {  // every part present, as its own tool lists it
      const char* lister = part.tool == Tool::kNft        ? "nft list"
                           : part.tool == Tool::kIptables ? "iptables-save"
                                                          : "ip6tables-save";
      std::string listing = part.script;  // as a listing shows it: inserted jumps appended
      for (size_t at = listing.find("\n-I "); at != std::string::npos;
           at = listing.find("\n-I ", at + 1)) {
        listing[at + 2] = 'A';
      }
      fake->tools.answers[lister] = Runner::Output{0, listing};
    }
    const bool legacy = GENERATE(false, true);
    const std::string variant = legacy ? "legacy" : "nf_tables";
    fake->tools.answers["iptables -V"] = Runner::Output{0, "iptables v1.8.9 (" + variant + ")\n"};
    fake->tools.answers["ip6tables -V"] = Runner::Output{0, "ip6tables v1.8.9 (" + variant + ")\n"};
    auto fw = Firewall::create_for_plan(*c, Plan::kNftablesIptablesQueue, std::move(runner));
    REQUIRE(fw->installed());
    const size_t first = fake->tools.calls.size();
    REQUIRE(fw->installed());
    if (legacy) {
      CHECK(fake->tools.calls.size() > first);  // the generation does not cover them
    } else {
      CHECK(fake->tools.calls.size() == first);
    }
  }
}

TEST_CASE("ownership parsing ignores foreign rules", "[firewall]") {
  const std::string save =
      "*filter\n:IMGUARD-ENFORCE - [0:0]\n:OTHER - [0:0]\n"
      "-A FORWARD -m comment --comment imguard -j IMGUARD-ENFORCE\n"
      "-A FORWARD -m comment --comment other -j OTHER\n"
      "-A IMGUARD-ENFORCE -j DROP\n-A OTHER -j ACCEPT\nCOMMIT\n";
  CHECK(count_ipt_owned(save) == 2);
  REQUIRE(ipt_jumps(save).size() == 1);
  CHECK(ipt_jumps(save)[0].first == "filter");
  REQUIRE(ipt_chains(save).size() == 1);
  CHECK(ipt_chains(save)[0].second == "IMGUARD-ENFORCE");
  CHECK(count_nft_owned("table inet imguard {\n\tcomment \"imguard\"\n\t\tdrop comment "
                        "\"imguard\"\n\t\tdrop comment \"other\"\n}\n") == 1);
}

namespace {

const char* kQuotaPolicy = R"(version: 1
users:
  alice: { addresses: [10.0.0.2] }
  bob: { addresses: [10.0.0.3] }
rules:
  - name: p2p
    who: [alice, bob]
    category: p2p
    action: allow
    quota: { bytes: 5MB, per: day, timezone: UTC, then: throttle 1Mbit/s }
  - name: video
    app: zoom
    action: throttle 2Mbit/s per host
    quota: { bytes: 1GB, per: month, timezone: UTC, then: reject, pool: shared }
)";

}  // namespace

TEST_CASE("nftables quotas: one quota object per pool, restored counts, then-verdicts",
          "[firewall][quota]") {
  const auto c = load(kQuotaPolicy);
  const auto& p = c->policy;
  REQUIRE(p.quota_pools.size() == 3);
  std::vector<uint64_t> used(p.quota_pools.size(), 0);
  used[1] = 4'321'000;
  const std::string s = render_parts(*c, Plan::kNftables, used).front().script;
  CHECK(has(s, "\tquota q0 {\n\t\tover "));
  CHECK(has(s, "\tquota q1 {\n\t\tover "));
  CHECK(has(s, " bytes used 4321000 bytes\n"));
  CHECK(has(s, "\tquota q2 {\n\t\tover "));
  // The then-throttle is a mark-keyed class of its own; the rule's own per-host class too.
  CHECK(has(s, "chain throttle_mark_125000 {"));
  CHECK(has(s, "chain throttle_host_250000 {"));
  for (size_t b = 0; b < p.buckets.size(); ++b) {
    const auto& bk = p.buckets[b];
    if (bk.rule == imguard::policy::kNoRule) {
      continue;
    }
    const std::string chain = "chain quota_b" + std::to_string(b) + " {";
    REQUIRE(has(s, chain));
    const std::string body =
        s.substr(s.find(chain), s.find("\t}\n", s.find(chain)) - s.find(chain));
    const std::string q = "quota name \"q" + std::to_string(bk.pool) + "\" ";
    if (p.rules[bk.rule].name == "p2p") {
      CHECK(has(body, q + "goto throttle_mark_125000"));
      CHECK(body.find("goto throttle_host") == std::string::npos);
    } else {
      CHECK(has(body, q + "goto answer_reject"));
      CHECK(has(body, "goto throttle_host_250000"));
    }
    // The allow+quota mark is in the decision map (not the fast path).
    imguard::policy::Decision d;
    d.action = d.enforced = p.rules[bk.rule].spec.action;
    d.bucket = static_cast<uint16_t>(b);
    char mark[16];
    std::snprintf(mark, sizeof mark, "0x%08x", imguard::policy::encode(d, c->mark_mask));
    CHECK(has(s, std::string(mark) + " : jump quota_b" + std::to_string(b)));
  }
  // Without counts every object starts at 0.
  CHECK(render_parts(*c, Plan::kNftables).front().script.find("used 4321000") == std::string::npos);
}

TEST_CASE("nft quota listings are parsed with nft's units", "[firewall][quota]") {
  const auto q = parse_nft_quotas(
      "table inet imguard {\n\tquota q0 {\n\t\tover 5000000 bytes used 1234 bytes\n\t}\n"
      "\tquota q1 {\n\t\tover 5 mbytes used 3 kbytes\n\t}\n"
      "\tquota q12 {\n\t\tover 2 gbytes\n\t}\n}\n");
  REQUIRE(q.has_value());
  REQUIRE(q->size() == 3);
  CHECK((*q)[0] == std::pair<std::string, uint64_t>{"q0", 1234});
  CHECK((*q)[1] == std::pair<std::string, uint64_t>{"q1", 3072});
  CHECK((*q)[2] == std::pair<std::string, uint64_t>{"q12", 0});  // nft omits `used 0`
  CHECK_FALSE(parse_nft_quotas("\tquota q0 {\n\t\tover 5 bytes used 12 tbytes\n").has_value());
}

TEST_CASE("quotas: read, reset and a preset count go through nft", "[firewall][quota]") {
  const auto c = load(kQuotaPolicy);
  auto runner = std::make_unique<FakeRunner>();
  FakeRunner* raw = runner.get();
  runner->answers["nft list quotas"] = Runner::Output{
      0,
      "table inet imguard {\n\tquota q0 {\n\t\tover 5000000 bytes used 77 bytes\n\t}\n"
      "\tquota q1 {\n\t\tover 5000000 bytes used 5 kbytes\n\t}\n"
      "\tquota q2 {\n\t\tover 1000000000 bytes\n\t}\n}\n"};
  auto fw = Firewall::create_for_plan(*c, Plan::kNftables, std::move(runner));
  auto r = fw->read_quotas();
  REQUIRE(std::holds_alternative<std::vector<uint64_t>>(r));
  CHECK(std::get<std::vector<uint64_t>>(r) == std::vector<uint64_t>{77, 5120, 0});
  REQUIRE(std::holds_alternative<std::monostate>(fw->reset_quota(1)));
  CHECK(raw->calls.back().first == "nft reset quota inet imguard q1");
  CHECK(std::holds_alternative<Error>(fw->reset_quota(3)));
  fw->set_quota_used({1, 2, 3});
  REQUIRE(std::holds_alternative<std::monostate>(fw->install()));
  CHECK(has(raw->calls.back().second, "used 3 bytes"));
  raw->answers["nft list quotas"] = Runner::Output{1, "Error: No such file or directory"};
  CHECK(std::holds_alternative<Error>(fw->read_quotas()));
}

TEST_CASE("quotas refuse an auto backend that can only use iptables", "[firewall][quota]") {
  const auto c = load(kQuotaPolicy);
  auto runner = std::make_unique<FakeRunner>();
  runner->answers["nft"] = Runner::Output{-1, "nft: cannot run: No such file or directory"};
  auto created = Firewall::create(*c, std::move(runner));
  REQUIRE(std::holds_alternative<Error>(created));
  CHECK(has(std::get<Error>(created).message, "quotas, which need nftables"));
}
