// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config_util.h"
#include "engine/views.h"

using namespace imguard::engine;
namespace policy = imguard::policy;
using imguard::packet::Address;

namespace {

FlowView view(const std::string& user, const std::string& app, const std::string& category,
              uint64_t up, uint64_t down) {
  FlowView v;
  v.entry.original.src = Address::parse("10.0.0.2");
  v.entry.original.dst = Address::parse("192.0.2.1");
  v.entry.original.sport = 40000;
  v.entry.original.dport = 443;
  v.entry.original.l4proto = 6;
  v.entry.bytes[0] = up;
  v.entry.bytes[1] = down;
  v.user = user;
  v.app = app;
  v.category = category;
  v.rule = "default";
  v.action = "allow";
  v.evidence = "dpi";
  return v;
}

}  // namespace

TEST_CASE("engine/views: top sums open and ended connections, biggest first", "[engine]") {
  const std::vector<FlowView> open = {view("alice", "http", "other", 1000, 9000),
                                      view("bob", "xmpp", "im", 100, 200),
                                      view("alice", "bittorrent", "p2p", 50, 50)};
  UsageTotals ended;
  ended.by_user["bob"] = {20000, 2};
  ended.by_app["xmpp"] = {20000, 2};
  const std::string by_user = render_top(open, ended, "user", 10, true);
  CHECK(by_user ==
        "{\"user\":\"bob\",\"bytes\":20300,\"open_connections\":1,\"ended_connections\":2}\n"
        "{\"user\":\"alice\",\"bytes\":10100,\"open_connections\":2,\"ended_connections\":0}\n");
  const std::string limited = render_top(open, ended, "app", 1, true);
  CHECK(limited ==
        "{\"app\":\"xmpp\",\"bytes\":20300,\"open_connections\":1,\"ended_connections\":2}\n");
  const std::string text = render_top(open, ended, "category", 10, false);
  CHECK(text.find("other") != std::string::npos);
  CHECK(text.find("10.0 kB") != std::string::npos);
}

TEST_CASE("engine/views: top --since counts only connections that ended in the window",
          "[engine]") {
  UsageTotals ended;
  const auto now = std::chrono::system_clock::now();
  ended.recent.push_back({now - std::chrono::hours(3), "old", "http", "other", 5000});
  ended.recent.push_back({now - std::chrono::minutes(5), "new", "http", "other", 700});
  ended.by_user["old"] = {5000, 1};
  ended.by_user["new"] = {700, 1};
  const std::string hour = render_top({}, ended, "user", 10, true, std::chrono::hours(1));
  CHECK(hour ==
        "{\"user\":\"new\",\"bytes\":700,\"open_connections\":0,\"ended_connections\":1}\n");
  const std::string all = render_top({}, ended, "user", 10, true);
  CHECK(all.find("\"old\"") != std::string::npos);
}

TEST_CASE("engine/views: flows lists every field, text fits 100 columns", "[engine]") {
  const std::vector<FlowView> open = {view("alice", "http", "other", 1000, 9000)};
  const std::string json = render_flows(open, true);
  CHECK(json ==
        "{\"proto\":\"tcp\",\"src_ip\":\"10.0.0.2\",\"src_port\":40000,\"dest_ip\":\"192.0.2.1\","
        "\"dest_port\":443,\"user\":\"alice\",\"app\":\"http\",\"category\":\"other\","
        "\"features\":\"-\",\"evidence\":\"dpi\",\"action\":\"allow\",\"rule\":\"default\",\"bytes_"
        "toserver\":1000,"
        "\"bytes_toclient\":9000,\"pkts_toserver\":0,\"pkts_toclient\":0}\n");
  const std::string text = render_flows(open, false);
  CHECK(text.find("evidence") != std::string::npos);
  CHECK(text.find(" dpi ") != std::string::npos);
  size_t start = 0;
  while (start < text.size()) {
    const size_t nl = text.find('\n', start);
    CHECK(nl - start <= 100);
    start = nl + 1;
  }
  CHECK(human_bytes(999) == "999 B");
  CHECK(human_bytes(1500000) == "1.5 MB");
}

TEST_CASE("engine/views: an ended connection's bytes go to its recorded user and category",
          "[engine]") {
  const auto c = imguard::testing::load_config(
      "version: 1\nusers:\n  alice: {addresses: [10.0.0.2]}\n", "v.yaml");
  imguard::conntrack::Entry e;
  e.original.src = Address::parse("10.0.0.2");
  e.original.dst = Address::parse("192.0.2.1");
  e.reply.src = e.original.dst;
  e.reply.dst = e.original.src;
  e.bytes[0] = 300;
  e.bytes[1] = 700;
  policy::ConnRecord r;
  r.app = imguard::classifiers::AppId::kBittorrent;
  UsageTotals t;
  t.add_ended(e, r, *c);
  CHECK(t.by_user["alice"].bytes == 1000);
  CHECK(t.by_app["bittorrent"].connections == 1);
  CHECK(t.bytes_by_user_category["alice"][static_cast<size_t>(
            imguard::classifiers::Category::kP2p)] == 1000);
  REQUIRE(t.recent.size() == 1);
  CHECK(t.recent.back().user == "alice");
}
