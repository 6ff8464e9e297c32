// SPDX-License-Identifier: GPL-3.0-or-later
// engine/events.h: Community ID v1 against the spec's published vectors, the EVE-like
// event shape, the append-only event file and the journald fields.
#include "engine/events.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <variant>

#include "config_util.h"
#include "engine/json.h"
#include "policy/loader.h"

using namespace imguard::engine;
using imguard::classifiers::AppId;
using imguard::classifiers::Evidence;
using imguard::classifiers::kFeatureFileTransfer;
using imguard::packet::Address;
using imguard::packet::L4;
using imguard::packet::Timestamp;
namespace policy = imguard::policy;

namespace {

std::shared_ptr<const policy::Config> load(const std::string& text) {
  return imguard::testing::load_config(text, "ev.yaml");
}

constexpr const char* kPolicy = R"(version: 1
users:
  alice: {addresses: [10.0.0.2]}
rules:
  - name: irc-files
    app: irc
    feature: file_transfer
    action: monitor drop
  - name: p2p-slow
    category: p2p
    action: throttle 1Mbit/s
)";

EventFlow irc_flow() {
  EventFlow f;
  f.ts = Timestamp{1'714'564'800'000'123};  // 2024-05-01T12:00:00.000123Z
  f.flow_id = 42;
  f.l4 = L4::kTcp;
  f.src = Address::parse("10.0.0.2");
  f.dst = Address::parse("198.51.100.7");
  f.sport = 40000;
  f.dport = 6667;
  f.result.app = AppId::kIrc;
  f.result.evidence = Evidence::kCrossFlow;
  f.result.features = kFeatureFileTransfer;
  f.classifier = "irc";
  f.decision.when = CachedDecision::When::kFinal;
  f.decision.features = kFeatureFileTransfer;
  f.decision.decision.action = policy::Action::kDrop;
  f.decision.decision.enforced = policy::Action::kAllow;
  f.decision.decision.rule = 0;
  f.decision.decision.user = 0;
  f.packets[0] = 10;
  f.packets[1] = 8;
  f.bytes[0] = 1000;
  f.bytes[1] = 64000;
  return f;
}

struct Vector {
  const char* saddr;
  const char* daddr;
  uint16_t sport;
  uint16_t dport;
  L4 l4;
  const char* seed0;
  const char* seed1;
};

}  // namespace

// From github.com/corelight/community-id-spec, baseline/baseline_deflt.json (seed 0) and
// baseline/baseline_seed1.json (seed 1), the TCP and UDP entries (pcaps/tcp.pcap,
// pcaps/udp.pcap and pcaps/ipv6.pcap of that repository).
TEST_CASE("community_id: the spec's baseline vectors, both directions") {
  const Vector vectors[] = {
      {"128.232.110.120", "66.35.250.204", 34855, 80, L4::kTcp,
       "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
      {"192.168.1.52", "8.8.8.8", 54585, 53, L4::kUdp,
       "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
      {"2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, L4::kTcp,
       "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
  };
  for (const Vector& v : vectors) {
    const Address s = Address::parse(v.saddr);
    const Address d = Address::parse(v.daddr);
    INFO(v.saddr << ":" << v.sport << " -> " << v.daddr << ":" << v.dport);
    CHECK(community_id(s, v.sport, d, v.dport, v.l4) == v.seed0);
    CHECK(community_id(d, v.dport, s, v.sport, v.l4) == v.seed0);
    CHECK(community_id(s, v.sport, d, v.dport, v.l4, 1) == v.seed1);
    CHECK(community_id(d, v.dport, s, v.sport, v.l4, 1) == v.seed1);
  }
}

TEST_CASE("community_id: equal addresses are ordered by port") {
  const Address a = Address::parse("10.0.0.1");
  CHECK(community_id(a, 1234, a, 80, L4::kUdp) == community_id(a, 80, a, 1234, L4::kUdp));
  CHECK(community_id(a, 1234, a, 80, L4::kUdp) != community_id(a, 1234, a, 80, L4::kTcp));
}

TEST_CASE("flow_event: a monitored decision") {
  const auto config = load(kPolicy);
  const std::string line = flow_event(EventType::kDecision, irc_flow(), *config, 3);
  const std::string cid = community_id(Address::parse("10.0.0.2"), 40000,
                                       Address::parse("198.51.100.7"), 6667, L4::kTcp);
  CHECK(line ==
        R"({"timestamp":"2024-05-01T12:00:00.000123Z","flow_id":42,"community_id":")" + cid +
            R"(","event_type":"imguard_decision","src_ip":"10.0.0.2","src_port":40000,)"
            R"("dest_ip":"198.51.100.7","dest_port":6667,"proto":"TCP","app":"irc",)"
            R"("category":"im","features":["file_transfer"],"user":"alice","rule":"irc-files",)"
            R"("action":"allow","monitor":"drop","decided":"classified","classifier":"irc",)"
            R"("evidence":"cross_flow","flow":{"pkts_toserver":10,"pkts_toclient":8,)"
            R"("bytes_toserver":1000,"bytes_toclient":64000},"policy_generation":3})");
  CHECK(line.find('\n') == std::string::npos);
}

TEST_CASE("flow_event: flow end of a throttled UDP flow, and of an undecided one") {
  const auto config = load(kPolicy);
  EventFlow f = irc_flow();
  f.l4 = L4::kUdp;
  f.result.app = AppId::kBittorrent;
  f.decision.decision.action = policy::Action::kThrottle;
  f.decision.decision.enforced = policy::Action::kThrottle;
  f.decision.decision.rate_bytes_per_sec = 125000;
  f.decision.decision.rule = 1;
  f.decision.decision.user = policy::kNoUser;
  f.decision.when = CachedDecision::When::kEnd;
  f.end = EndReason::kIdle;
  const Json j = Json::parse(flow_event(EventType::kFlowEnd, f, *config, 9));
  CHECK(j["event_type"] == "imguard_flow_end");
  CHECK(j["proto"] == "UDP");
  CHECK(j["category"] == "p2p");
  CHECK(j["user"] == "unknown");
  CHECK(j["rule"] == "p2p-slow");
  CHECK(j["action"] == "throttle");
  CHECK(j["rate_bytes_per_sec"] == 125000);
  CHECK(!j.contains("monitor"));
  CHECK(j["decided"] == "flow_end");
  CHECK(j["flow"]["reason"] == "idle");
  CHECK(j["policy_generation"] == 9);

  // Field order is part of the shape.
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) {
    keys.push_back(k);
  }
  CHECK(keys == std::vector<std::string>{
                    "timestamp",          "flow_id",  "community_id", "event_type", "src_ip",
                    "src_port",           "dest_ip",  "dest_port",    "proto",      "app",
                    "category",           "features", "user",         "rule",       "action",
                    "rate_bytes_per_sec", "decided",  "classifier",   "evidence",   "flow",
                    "policy_generation"});

  f.decision = CachedDecision{};
  const Json u = Json::parse(flow_event(EventType::kFlowEnd, f, *config, 9));
  CHECK(!u.contains("user"));
  CHECK(!u.contains("action"));
  CHECK(u["features"] == Json::array({"file_transfer"}));  // the classifier's own
}

TEST_CASE("flow_event: IPv6, timestamps and ill-formed names") {
  auto config = std::make_shared<policy::Config>(*load(kPolicy));
  config->policy.users[0].name = "\xfe\xff";
  EventFlow f = irc_flow();
  f.src = Address::parse("2001:db8::1");
  f.dst = Address::parse("2001:db8::2");
  f.ts = Timestamp{0};
  const Json j = Json::parse(flow_event(EventType::kDecision, f, *config, 1));
  CHECK(j["src_ip"] == "2001:db8::1");
  CHECK(j["timestamp"] == "1970-01-01T00:00:00.000000Z");
  CHECK(j["user"] == "\xef\xbf\xbd\xef\xbf\xbd");
  f.ts = Timestamp{1'700'000'000'999'999};
  CHECK(Json::parse(flow_event(EventType::kDecision, f, *config, 1))["timestamp"] ==
        "2023-11-14T22:13:20.999999Z");
}

TEST_CASE("EventFlow::from_record") {
  FlowRecord r;
  r.id = 5;
  r.src = Address::parse("10.0.0.2");
  r.dst = Address::parse("10.0.0.3");
  r.sport = 1;
  r.dport = 2;
  r.packets[1] = 4;
  r.bytes[0] = 99;
  r.last_seen = Timestamp{77};
  r.end = EndReason::kEvicted;
  const EventFlow f = EventFlow::from_record(r);
  CHECK(f.flow_id == 5);
  CHECK(f.ts == Timestamp{77});
  CHECK(f.packets[1] == 4);
  CHECK(f.bytes[0] == 99);
  REQUIRE(f.end.has_value());
  CHECK(*f.end == EndReason::kEvicted);
}

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/imguard-events-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

}  // namespace

TEST_CASE("EventLog: appends whole lines and reopens after rotation") {
  TempDir dir;
  const std::string file = dir.path + "/events.json";
  EventLog log(file);
  REQUIRE(log.ok());
  CHECK(log.last_error().empty());
  CHECK(log.write(R"({"a":1})"));
  CHECK(log.write("{\"b\":2}\n"));  // a trailing newline is not doubled
  CHECK(read_all(file) == "{\"a\":1}\n{\"b\":2}\n");

  // A second writer appends rather than overwrites.
  {
    EventLog other(file);
    CHECK(other.write("{\"c\":3}"));
  }
  CHECK(read_all(file) == "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");

  // logrotate: rename, then SIGUSR1 → reopen() creates a fresh file.
  REQUIRE(std::rename(file.c_str(), (file + ".1").c_str()) == 0);
  CHECK(log.write("{\"d\":4}"));  // still the old (renamed) file
  CHECK(log.reopen());
  CHECK(log.write("{\"e\":5}"));
  CHECK(read_all(file + ".1") == "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n{\"d\":4}\n");
  CHECK(read_all(file) == "{\"e\":5}\n");
  CHECK(log.lines_written() == 4);
  CHECK(log.errors() == 0);

  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0137U) == 0);  // at most 0640 (umask may clear more)
}

TEST_CASE("EventLog: failures are counted, never thrown") {
  TempDir dir;
  EventLog log(dir.path + "/missing/events.json");
  CHECK(!log.ok());
  CHECK(log.errors() == 1);
  CHECK(log.last_error() == dir.path + "/missing/events.json: open: No such file or directory");
  CHECK(!log.write("x"));
  CHECK(log.errors() == 2);
  CHECK(!log.reopen());
  CHECK(log.errors() == 3);

  // The directory appears (e.g. created by the unit's LogsDirectory=): reopen() recovers.
  REQUIRE(::mkdir((dir.path + "/missing").c_str(), 0750) == 0);
  CHECK(log.reopen());
  CHECK(log.write("x"));
  CHECK(read_all(dir.path + "/missing/events.json") == "x\n");
}

TEST_CASE("journal_fields: structured fields of a decision") {
  const auto config = load(kPolicy);
  const std::vector<std::string> fields =
      journal_fields(EventType::kDecision, irc_flow(), *config, 3);
  const auto has = [&](const std::string& f) {
    return std::find(fields.begin(), fields.end(), f) != fields.end();
  };
  REQUIRE(!fields.empty());
  CHECK(fields[0] ==
        "MESSAGE=decision allow (monitor drop): user alice, app irc, rule irc-files, "
        "10.0.0.2:40000 -> 198.51.100.7:6667 TCP");
  CHECK(has("MESSAGE_ID=d8c1ed211f4c4ad9be23cfab835f0dc4"));
  CHECK(has("PRIORITY=6"));  // monitored: nothing was blocked
  CHECK(has("SYSLOG_IDENTIFIER=imguard"));
  CHECK(has("IMGUARD_EVENT=imguard_decision"));
  CHECK(has("IMGUARD_APP=irc"));
  CHECK(has("IMGUARD_CATEGORY=im"));
  CHECK(has("IMGUARD_USER=alice"));
  CHECK(has("IMGUARD_RULE=irc-files"));
  CHECK(has("IMGUARD_ACTION=allow"));
  CHECK(has("IMGUARD_MONITOR=drop"));
  CHECK(has("IMGUARD_FEATURES=file_transfer"));
  CHECK(has("IMGUARD_SRC_IP=10.0.0.2"));
  CHECK(has("IMGUARD_DEST_PORT=6667"));
  CHECK(has("IMGUARD_POLICY_GENERATION=3"));
  CHECK(
      has("IMGUARD_COMMUNITY_ID=" + community_id(Address::parse("10.0.0.2"), 40000,
                                                 Address::parse("198.51.100.7"), 6667, L4::kTcp)));
  CHECK(!has("IMGUARD_END=idle"));

  EventFlow f = irc_flow();
  f.decision.decision.enforced = policy::Action::kDrop;
  f.end = EndReason::kIdle;
  const std::vector<std::string> end = journal_fields(EventType::kFlowEnd, f, *config, 3);
  CHECK(std::find(end.begin(), end.end(), "MESSAGE_ID=c8683ce1e1014455a0dcf43888ded0f9") !=
        end.end());
  CHECK(std::find(end.begin(), end.end(), "IMGUARD_END=idle") != end.end());
  const std::vector<std::string> blocked = journal_fields(EventType::kDecision, f, *config, 3);
  CHECK(std::find(blocked.begin(), blocked.end(), "PRIORITY=5") != blocked.end());
}
