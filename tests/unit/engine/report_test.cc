// SPDX-License-Identifier: GPL-3.0-or-later
// engine/report.h: the JSON-lines contract (field order, escaping, ill-formed UTF-8,
// policy decisions) and terminal-safe text output.
#include "engine/report.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <string>
#include <variant>

#include "config_util.h"
#include "engine/json.h"
#include "policy/loader.h"

using namespace imguard::engine;
using imguard::classifiers::AppId;
using imguard::classifiers::Evidence;
using imguard::classifiers::kFeatureFileTransfer;
using imguard::classifiers::kFeaturePeer;
using imguard::packet::Address;
namespace policy = imguard::policy;

namespace {

std::shared_ptr<const policy::Config> load(const std::string& text) {
  return imguard::testing::load_config(text, "r.yaml");
}

constexpr const char* kPolicy = R"(version: 1
users:
  alice: {addresses: [10.0.0.2]}
groups:
  kids: {members: [alice]}
rules:
  - name: p2p-slow
    category: p2p
    action: monitor throttle 2Mbit/s
  - name: no-irc
    app: irc
    action: drop
)";

/// Captures what a writer prints to a FILE*.
template <typename Fn>
std::string capture(Fn fn) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  REQUIRE(f != nullptr);
  fn(f);
  std::fclose(f);
  std::string s(buf, len);
  std::free(buf);
  return s;
}

FlowRecord bittorrent_flow() {
  FlowRecord r;
  r.id = 7;
  r.l4 = imguard::packet::L4::kTcp;
  r.src = Address::parse("10.0.0.2");
  r.dst = Address::parse("192.0.2.9");
  r.sport = 51413;
  r.dport = 6881;
  r.result.app = AppId::kBittorrent;
  r.result.evidence = Evidence::kDpi;
  r.result.features = kFeatureFileTransfer | kFeaturePeer;
  r.classifier = "bittorrent";
  r.packets[0] = 3;
  r.packets[1] = 2;
  r.bytes[0] = 300;
  r.bytes[1] = 120;
  r.end = EndReason::kTcpClosed;
  return r;
}

/// Decides `r` as the p2p-slow rule would for alice: monitored throttle.
void decide_monitored_throttle(FlowRecord& r) {
  r.decision.when = CachedDecision::When::kFinal;
  r.decision.features = kFeatureFileTransfer | kFeaturePeer;
  r.decision.decision.action = policy::Action::kThrottle;
  r.decision.decision.enforced = policy::Action::kAllow;
  r.decision.decision.rate_bytes_per_sec = 250000;
  r.decision.decision.rule = 0;
  r.decision.decision.user = 0;
  r.decision.identity.user = 0;
}

}  // namespace

TEST_CASE("write_jsonl: flow fields in the contract's order") {
  FileReport rep;
  rep.path = "pcaps/x.pcap";
  rep.flows.push_back(bittorrent_flow());
  rep.stats.packets = 5;
  rep.stats.flow_packets = 5;
  const std::string out = capture([&](std::FILE* f) { write_jsonl(f, rep, nullptr); });
  const std::string flow =
      R"({"record":"flow","l4":"tcp","src":"10.0.0.2","sport":51413,"dst":"192.0.2.9",)"
      R"("dport":6881,"app":"bittorrent","category":"p2p","classifier":"bittorrent",)"
      R"("evidence":"dpi","features":["file_transfer","peer"],"packets":5,"bytes":420,)"
      R"("c2s_packets":3,"s2c_packets":2,"c2s_bytes":300,"s2c_bytes":120,"end":"tcp_closed"})"
      "\n";
  const std::string summary =
      R"({"record":"summary","file":"pcaps/x.pcap","packets":5,"flow_packets":5,"flows":1,)"
      R"("evicted":0,"bytes_per_flow":)" +
      std::to_string(Analyzer::bytes_per_flow()) + R"(,"anomalies":{}})" + "\n";
  CHECK(out == flow + summary);
}

TEST_CASE("write_jsonl: a policy decision adds user, rule, action, monitor and rate") {
  const auto config = load(kPolicy);
  FileReport rep;
  rep.path = "p.pcap";
  rep.flows.push_back(bittorrent_flow());
  decide_monitored_throttle(rep.flows.back());
  FlowRecord undecided = bittorrent_flow();
  rep.flows.push_back(undecided);
  const std::string out = capture([&](std::FILE* f) { write_jsonl(f, rep, config.get()); });
  const std::string first = out.substr(0, out.find('\n'));
  CHECK(first.ends_with(
      R"("end":"tcp_closed","user":"alice","groups":["kids"],"user_side":"initiator",)"
      R"("rule":"p2p-slow","action":"allow","monitor":"throttle",)"
      R"("rate_bytes_per_sec":250000,"decided":"classified"})"));
  // An undecided flow carries no decision fields even with a policy.
  const size_t second_end = out.find('\n', first.size() + 1);
  const std::string second = out.substr(first.size() + 1, second_end - first.size() - 1);
  CHECK(second.find("\"user\"") == std::string::npos);

  SECTION("enforced drop: no monitor, no rate") {
    FlowRecord& r = rep.flows.front();
    r.decision.decision.action = policy::Action::kDrop;
    r.decision.decision.enforced = policy::Action::kDrop;
    r.decision.decision.rate_bytes_per_sec = 0;
    r.decision.decision.rule = 1;
    r.decision.when = CachedDecision::When::kClaim;
    const std::string o = capture([&](std::FILE* f) { write_jsonl(f, rep, config.get()); });
    CHECK(o.find(R"("rule":"no-irc","action":"drop","decided":"claim"})") != std::string::npos);
    CHECK(o.find("monitor") == std::string::npos);
  }
}

TEST_CASE("write_jsonl: names are escaped and stay valid JSON") {
  FileReport rep;
  rep.path = "a\"b\\c\nd\te\x1b[31m.pcap";
  rep.error = "short read";
  const std::string out = capture([&](std::FILE* f) { write_jsonl(f, rep, nullptr); });
  CHECK(out.find(R"("file":"a\"b\\c\nd\te\u001b[31m.pcap")") != std::string::npos);
  CHECK(out.ends_with(R"("anomalies":{},"error":"short read"})"
                      "\n"));
  const Json parsed = Json::parse(out);
  CHECK(parsed["file"] == rep.path);
}

TEST_CASE("write_jsonl and write_user_records: ill-formed UTF-8 becomes U+FFFD") {
  auto config = std::make_shared<policy::Config>(*load(kPolicy));
  config->policy.users[0].name = "al\xffice";
  config->policy.rules[0].name = "r\xc3";  // truncated sequence
  FileReport rep;
  rep.path = "caf\xe9.pcap";  // Latin-1 file name
  rep.flows.push_back(bittorrent_flow());
  decide_monitored_throttle(rep.flows.back());
  const std::string out = capture([&](std::FILE* f) {
    write_jsonl(f, rep, config.get());
    write_user_records(f, rep, *config);
  });
  size_t lines = 0;
  for (size_t pos = 0; pos < out.size(); ++lines) {
    const size_t end = out.find('\n', pos);
    REQUIRE(end != std::string::npos);
    CHECK_NOTHROW(Json::parse(out.substr(pos, end - pos)));  // strict UTF-8 parser
    pos = end + 1;
  }
  CHECK(lines == 3);  // flow, summary, user
  CHECK(out.find("\"user\":\"al\xef\xbf\xbdice\"") != std::string::npos);
  CHECK(out.find("\"rule\":\"r\xef\xbf\xbd\"") != std::string::npos);
  CHECK(out.find("\"file\":\"caf\xef\xbf\xbd.pcap\"") != std::string::npos);
}

TEST_CASE("write_user_records: field order") {
  const auto config = load(kPolicy);
  FileReport rep;
  rep.path = "u.pcap";
  rep.flows.push_back(bittorrent_flow());
  decide_monitored_throttle(rep.flows.back());
  const std::string out = capture([&](std::FILE* f) { write_user_records(f, rep, *config); });
  CHECK(out == R"x({"record":"user","file":"u.pcap","user":"alice","app":"bittorrent",)x"
               R"x("flows":1,"bytes":420,"decisions":{"allow (monitor throttle)":1}})x"
               "\n");
}

TEST_CASE("write_text and write_user_summary never echo control bytes") {
  auto config = std::make_shared<policy::Config>(*load(kPolicy));
  config->policy.users[0].name = "evil\x1b]0;owned\x07";
  FileReport rep;
  rep.path = "x\x1b[2J.pcap";
  rep.error = "bad\rline";
  rep.flows.push_back(bittorrent_flow());
  decide_monitored_throttle(rep.flows.back());
  const std::string out = capture([&](std::FILE* f) {
    write_text(f, rep, config.get());
    write_user_summary(f, {rep}, *config);
  });
  CHECK(out.find('\x1b') == std::string::npos);
  CHECK(out.find('\x07') == std::string::npos);
  CHECK(out.find('\r') == std::string::npos);
  CHECK(out.find("== x\\x1b[2J.pcap:") != std::string::npos);
  CHECK(out.find("error: bad\\x0dline") != std::string::npos);
  CHECK(out.find("evil\\x1b]0;owned\\x07") != std::string::npos);
}

TEST_CASE("json_escape and the text helpers") {
  CHECK(json_escape("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(json_escape("\n\x01") == "\\n\\u0001");
  CHECK(json_escape("\xff") == "\xef\xbf\xbd");
  CHECK(json_escape("h\xc3\xa9") == "h\xc3\xa9");  // well-formed UTF-8 stays as is

  CHECK(utf8_sanitize("ok \xe2\x82\xac") == "ok \xe2\x82\xac");
  CHECK(utf8_sanitize("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");                  // overlong '/'
  CHECK(utf8_sanitize("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  CHECK(utf8_sanitize("\xf4\x90\x80\x80").size() == 4 * 3);                        // above U+10FFFF

  CHECK(terminal_safe("plain h\xc3\xa9") == "plain h\xc3\xa9");
  CHECK(terminal_safe("\x1b[0m") == "\\x1b[0m");
  CHECK(terminal_safe("\x7f") == "\\x7f");
  CHECK(terminal_safe("\xc2\x9b"
                      "2J") == "\\xc2\\x9b2J");  // C1 CSI
  CHECK(terminal_safe("\x9b") == "\\x9b");       // a lone 8-bit CSI byte
}

TEST_CASE("feature_names and decided_name") {
  CHECK(feature_names(0).empty());
  CHECK(feature_names(kFeatureFileTransfer | kFeaturePeer) ==
        std::vector<std::string_view>{"file_transfer", "peer"});
  CHECK(decided_name(CachedDecision::When::kEnd) == "flow_end");
  CHECK(decided_name(CachedDecision::When::kNone) == "none");
}
