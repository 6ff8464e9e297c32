// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/discord_voice.h"
#include "classifiers/stun.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {
std::string stun(const std::string& attrs) {
  std::string m = t::bytes({0, 1});
  t::put16(m, attrs.size());
  m += t::bytes({0x21, 0x12, 0xa4, 0x42}) + std::string(12, 'x');
  return m + attrs;
}
std::string attr(uint16_t type, const std::string& value) {
  std::string a;
  t::put16(a, type);
  t::put16(a, value.size());
  a += value;
  a += std::string((4 - value.size() % 4) % 4, '\0');
  return a;
}
std::string discovery(int type, const std::string& address, uint16_t port) {
  std::string p = t::bytes({0, type, 0, 70, 0, 0, 0x1f, 0x40});
  p += address + std::string(64 - address.size(), '\0');
  t::put16(p, port);
  return p;
}
}  // namespace

TEST_CASE("STUN with Microsoft attributes is Teams/Skype", "[stun]") {
  Stun c(Signatures::builtin());
  t::Probe st;
  const auto r = t::probe_udp(c, st, stun(attr(0x8008, t::bytes({0, 0, 0, 6}))));
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kSkypeTeams);
}

TEST_CASE("STUN SOFTWARE from the signature data names the app", "[stun]") {
  std::string error;
  auto sigs = Signatures::parse("stun-software ExampleCall telegram\n", "t.conf", error);
  REQUIRE(sigs);
  Stun c(std::make_shared<const Signatures>(*sigs));
  t::Probe st;
  const auto r = t::probe_udp(c, st, stun(attr(0x8022, "ExampleCall 2.0")));
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kTelegram);
}

TEST_CASE("Plain STUN and look-alikes are not IM", "[stun]") {
  Stun c(Signatures::builtin());
  t::Probe st;
  const std::string plain = stun(attr(0x0006, "user:pass") + attr(0x8022, "libwebrtc"));
  for (int i = 0; i < 3; ++i) {
    CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, plain)));
  }
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, st, plain)));
  t::Probe bad;  // wrong length field
  std::string m = stun(attr(0x8008, "abcd"));
  m.push_back('x');
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, bad, m)));
}

TEST_CASE("Discord voice IP discovery matches request and response", "[discord_voice]") {
  DiscordVoice c;
  t::Probe st;
  CHECK(std::holds_alternative<NeedMore>(
      t::probe_udp(c, st, discovery(1, "", 0), Direction::kClientToServer, 50003)));
  CHECK(std::holds_alternative<Match>(
      t::probe_udp(c, st, discovery(2, "203.0.113.7", 40000), Direction::kServerToClient, 50003)));
  // A capture that starts with the response.
  t::Probe r;
  CHECK(std::holds_alternative<Match>(
      t::probe_udp(c, r, discovery(2, "2001:db8::7", 40000), Direction::kServerToClient, 50003)));
}

TEST_CASE("Random 74-byte datagrams are not Discord", "[discord_voice]") {
  DiscordVoice c;
  t::Probe st;
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, discovery(1, "hello", 0))));
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, std::string(74, '\x01'))));
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, st, std::string(74, '\x01'))));
  t::Probe r;
  CHECK(std::holds_alternative<NotMine>(
      t::probe_udp(c, r, discovery(2, "not an ip!", 1), Direction::kServerToClient)));
  t::Probe dots;
  CHECK(std::holds_alternative<NotMine>(
      t::probe_udp(c, dots, discovery(2, "999.1.1.1", 1), Direction::kServerToClient)));
}

TEST_CASE("Game keepalives shaped like a discovery request are not Discord",
          "[discord_voice][negative]") {
  DiscordVoice c;
  SECTION("a request answered by another shape") {
    t::Probe st;
    CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, discovery(1, "", 0))));
    CHECK(std::holds_alternative<NotMine>(
        t::probe_udp(c, st, std::string(16, '\x03'), Direction::kServerToClient)));
  }
  SECTION("requests that are never answered") {
    t::Probe st;
    Result r = NeedMore{};
    for (int i = 0; i < 4; ++i) {
      r = t::probe_udp(c, st, discovery(1, "", 0));
    }
    CHECK(std::holds_alternative<NotMine>(r));
  }
  SECTION("a response with binary bytes for the address") {
    t::Probe st;
    CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, discovery(1, "", 0))));
    CHECK(std::holds_alternative<NotMine>(t::probe_udp(
        c, st, discovery(2, std::string("\x7f\x01\x02\x03"), 5000), Direction::kServerToClient)));
  }
}
