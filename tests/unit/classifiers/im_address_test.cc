// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/im_address.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

TEST_CASE("Flows to an IM service's own prefix match by address", "[im_address]") {
  ImAddress c(Signatures::builtin());
  t::Probe st;
  const auto syn = t::ipv4_tcp({.dst = "149.154.167.50", .sport = 40000, .dport = 443}, "", 0x02);
  const auto r = t::probe_packet(c, st, syn, Direction::kClientToServer);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kTelegram);
  CHECK(std::get<Match>(r).evidence == Evidence::kAddressList);
  t::Probe mid;  // a capture starting with the server's packet
  const auto back =
      t::ipv4_udp({.src = "91.108.8.7", .dst = "10.0.0.1", .sport = 521, .dport = 40000}, "x");
  CHECK(std::holds_alternative<Match>(t::probe_packet(c, mid, back, Direction::kClientToServer)));
}

TEST_CASE("Neighbouring addresses are not IM", "[im_address]") {
  ImAddress c(Signatures::builtin());
  t::Probe st;
  const auto syn = t::ipv4_tcp({.dst = "149.154.159.1", .sport = 40000, .dport = 443}, "", 0x02);
  CHECK(std::holds_alternative<NotMine>(t::probe_packet(c, st, syn, Direction::kClientToServer)));
}
