// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "firewall/firewall.h"
#include "firewall/render.h"
#include "policy/loader.h"

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

}  // namespace

TEST_CASE("nftables plan: queue, save and enforce in table inet imguard", "[firewall]") {
  const auto c = load(kPolicy);
  const auto parts = render_parts(*c, Plan::kNftables);
  REQUIRE(parts.size() == 1);
  const std::string& s = parts[0].script;
  CHECK(s.starts_with("table inet imguard {\n}\ndelete table inet imguard\n"));
  CHECK(has(s,
            "ct mark & 0x00ff0000 == 0x00000000 meta l4proto { tcp, udp } queue flags "
            "bypass num 2-4 comment \"imguard\""));
  CHECK(has(s, "type filter hook forward priority mangle; policy accept;"));
  CHECK(has(s, "type filter hook forward priority filter; policy accept;"));
  // Saving: every value the engine can hand back, written into a zero window.
  CHECK(has(s, "ct mark & 0x00ff0000 == 0x00000000 jump save"));
  CHECK(has(s, "meta mark & 0x00ff0000 == 0x00010000 ct mark set ct mark | 0x00010000"));
  CHECK(has(s, "meta mark & 0x00ff0000 == 0x00030000 ct mark set ct mark | 0x00030000"));
  CHECK(has(s, "meta mark & 0x00ff0000 == 0x00050000 ct mark set ct mark | 0x00050000"));
  CHECK(has(s, "meta mark & 0x00ff0000 == 0x00070000 ct mark set ct mark | 0x00070000"));
  // Enforcement: decided-allow connections leave after the first rule.
  CHECK(has(s, "chain enforce {\n\t\tct mark & 0x00ff0000 == 0x00010000 accept"));
  CHECK(has(s, "ct mark & 0x00070000 == 0x00030000 drop"));
  CHECK(has(s, "meta l4proto tcp ct mark & 0x00070000 == 0x00050000 reject with tcp reset"));
  CHECK(has(s, "ct mark & 0x00070000 == 0x00050000 reject with icmpx type port-unreachable"));
  CHECK(has(s,
            "ct mark & 0x00ff0000 == 0x00070000 limit rate over 8000 bytes/second burst "
            "8000 bytes drop"));
  CHECK_FALSE(has(s, "hook input"));
  CHECK(count_nft_owned(s) == parts[0].owned_rules);
  CHECK(parts[0].owned_rules == 14);
  CHECK(has(s, "ct state related return"));
}

TEST_CASE("without nft queue, the queue rule moves to ip(6)tables", "[firewall]") {
  const auto c = load(kPolicy);
  const auto parts = render_parts(*c, Plan::kNftablesIptablesQueue);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].tool == Tool::kNft);
  CHECK_FALSE(has(parts[0].script, "queue"));
  CHECK(has(parts[0].script, "jump enforce"));
  for (int i : {1, 2}) {
    const std::string& s = parts[static_cast<size_t>(i)].script;
    CHECK(has(s, "*mangle\n:IMGUARD-QUEUE - [0:0]\n"));
    CHECK(has(s,
              "-A IMGUARD-QUEUE -p tcp -m connmark --mark 0x0/0xff0000 -j NFQUEUE "
              "--queue-balance 2:4 --queue-bypass"));
    CHECK(has(s, "-A IMGUARD-QUEUE -p udp -m connmark --mark 0x0/0xff0000 -j NFQUEUE "));
    CHECK(has(s, "-I FORWARD -m comment --comment imguard -j IMGUARD-QUEUE\n"));
    CHECK_FALSE(has(s, "*filter"));
  }
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
            "-A IMGUARD-ENFORCE -m connmark --mark 0x0/0xff0000 -j CONNMARK --save-mark "
            "--nfmask 0xff0000 --ctmask 0xff0000"));
  CHECK(has(v4, "-A IMGUARD-ENFORCE -m connmark --mark 0x30000/0x70000 -j DROP"));
  CHECK(has(v4,
            "-A IMGUARD-ENFORCE -p tcp -m connmark --mark 0x50000/0x70000 -j REJECT "
            "--reject-with tcp-reset"));
  CHECK(has(v4, "--reject-with icmp-port-unreachable"));
  CHECK(has(v6, "--reject-with icmp6-port-unreachable"));
  CHECK(has(v4,
            "-A IMGUARD-ENFORCE -m connmark --mark 0x70000/0xff0000 -m hashlimit "
            "--hashlimit-above 8000b/s --hashlimit-name imguard-b0 -j DROP"));
  CHECK(has(v4, "-I FORWARD -m comment --comment imguard -j IMGUARD-ENFORCE"));
  CHECK(parts[0].owned_rules == 10);
  CHECK(has(v4, "-A IMGUARD-ENFORCE -m conntrack --ctstate RELATED -j RETURN"));
}

TEST_CASE("host mode hooks input and output and skips loopback", "[firewall]") {
  const auto c = load("version: 1\nengine: {mode: host, queue: {bypass: false}}\n");
  const auto nft = render_parts(*c, Plan::kNftables)[0].script;
  CHECK(has(nft, "type filter hook input priority mangle;"));
  CHECK(has(nft, "type filter hook output priority filter;"));
  CHECK(has(nft, "iifname != \"lo\" jump classify"));
  CHECK(has(nft, "oifname != \"lo\" jump classify"));
  CHECK(has(nft, "meta l4proto { tcp, udp } queue num 0 comment"));  // no bypass
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
