// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/control.h"

#include <catch2/catch.hpp>

using namespace imguard::engine;
using Kind = ControlRequest::Kind;

namespace {
std::optional<ControlRequest> parse(const std::string& line, std::string& error) {
  error.clear();
  return parse_control_request(line, error);
}
}  // namespace

TEST_CASE("control: every request the CLI sends parses to what it means", "[control]") {
  std::string error;
  auto r = parse("status --json", error);
  REQUIRE(r);
  CHECK(r->kind == Kind::kStatus);
  CHECK(r->json);

  r = parse("flows --json --user alice --app bittorrent", error);
  REQUIRE(r);
  CHECK(r->kind == Kind::kFlows);
  CHECK(r->user == "alice");
  CHECK(r->app == "bittorrent");

  r = parse("top --by category --limit 5 --since 15m", error);
  REQUIRE(r);
  CHECK(r->kind == Kind::kTop);
  CHECK(r->by == "category");
  CHECK(r->limit == 5);
  CHECK(r->since == std::chrono::minutes(15));
  CHECK_FALSE(r->json);

  r = parse("quota-reset p2p-weekly alice", error);
  REQUIRE(r);
  CHECK(r->kind == Kind::kQuotaReset);
  CHECK(r->rule == "p2p-weekly");
  CHECK(r->user == "alice");
  r = parse("quota-reset p2p-weekly", error);
  REQUIRE(r);
  CHECK(r->user.empty());

  CHECK(parse("ping", error)->kind == Kind::kPing);
  CHECK(parse("  reload ", error)->kind == Kind::kReload);
}

TEST_CASE("control: malformed requests are errors with a printable one-line text", "[control]") {
  std::string error;
  for (const char* bad :
       {"", "   ", "stat", "top --by host", "top --limit", "top --limit -1", "top --limit 1e3",
        "top --limit 99999999999", "top --since 0s", "top --since 5w", "top --since",
        "flows --by app", "status --frobnicate", "quota-reset", "quota-reset a b c"}) {
    INFO(bad);
    CHECK_FALSE(parse(bad, error));
    CHECK_FALSE(error.empty());
  }
  CHECK_FALSE(parse(std::string("st\x1b[2Jatus"), error));
  CHECK(error.find('\x1b') == std::string::npos);
  CHECK(error.find("\\x1b") != std::string::npos);
}

TEST_CASE("control: durations", "[control]") {
  CHECK(parse_duration("90s") == std::chrono::seconds(90));
  CHECK(parse_duration("1h") == std::chrono::hours(1));
  CHECK(parse_duration("2d") == std::chrono::hours(48));
  CHECK_FALSE(parse_duration("h"));
  CHECK_FALSE(parse_duration("10"));
  CHECK_FALSE(parse_duration("10ms"));
  CHECK_FALSE(parse_duration("999999999999d"));
}
