// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/directconnect.h"
#include "p2p_probe.h"

using namespace imguard::classifiers;
namespace t = imguard::test;
using Flow = t::P2pFlow<DirectConnect>;

TEST_CASE("NMDC hub lock and client-to-client nick match", "[directconnect]") {
  Flow hub;
  hub.payloads[0] = 0;
  const auto lock = hub.s2c("$Lock EXTENDEDPROTOCOL_hub Pk=version1|$HubName Test|");
  REQUIRE(std::holds_alternative<Match>(lock));
  CHECK(std::get<Match>(lock).app == AppId::kDirectConnect);
  CHECK_FALSE(t::serving(lock));
  const auto peer = Flow{}.c2s("$MyNick alice|$Lock EXTENDEDPROTOCOLabc Pk=client|");
  REQUIRE(std::holds_alternative<Match>(peer));
  CHECK(t::serving(peer));
}

TEST_CASE("ADC SUP lines match; C is client to client", "[directconnect]") {
  CHECK_FALSE(t::serving(Flow{}.c2s("HSUP ADBASE ADTIGR\n")));
  CHECK(std::holds_alternative<Match>(Flow{}.c2s("HSUP ADBASE ADTIGR\n")));
  CHECK(t::serving(Flow{}.c2s("CSUP ADBASE ADTIGR ADBZIP\n")));
  CHECK(std::holds_alternative<Match>(Flow{}.s2c("ISUP ADBASE ADTIGR\nISID AAAB\n")));
}

TEST_CASE("Direct Connect look-alikes are refused", "[directconnect]") {
  // No terminator, no Pk=, a nick with spaces, shell-like dollars, ADC without AD tokens.
  CHECK(std::holds_alternative<NotMine>(Flow{}.s2c("$Lock abc Pk=x")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.s2c("$Lock abc|")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("$MyNick two words|")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("$HOME/bin/run|tee")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("HSUP nothing here\n")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("HSUP ADBASE")));  // no newline yet
  // An ISUP from the initiator is not a hub greeting.
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("ISUP ADBASE ADTIGR\n")));
}

TEST_CASE("NMDC UDP search results match; look-alikes do not", "[directconnect]") {
  Flow f;
  f.udp = true;
  const auto r = f.c2s(
      "$SR bob music\\song.ogg\x05"
      "4096 2/3\x05"
      "TestHub (198.51.100.42:411)|");
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK_FALSE(t::serving(r));
  Flow g;
  g.udp = true;
  CHECK(std::holds_alternative<NotMine>(g.c2s("$SR bob music 4096 2/3 TestHub|")));
  Flow h;
  h.udp = true;
  CHECK(
      std::holds_alternative<NotMine>(h.c2s("$SR bob music\x05"
                                            "4096 2/3\x05"
                                            "Hub")));
}
