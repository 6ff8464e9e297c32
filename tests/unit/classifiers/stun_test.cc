// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/discord_voice.h"
#include "classifiers/peer_cache.h"
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

namespace {
std::string stun_typed(uint16_t type, const std::string& attrs) {
  std::string m;
  t::put16(m, type);
  t::put16(m, attrs.size());
  m += t::bytes({0x21, 0x12, 0xa4, 0x42}) + std::string(12, 'y');
  return m + attrs;
}
}  // namespace

TEST_CASE("WhatsApp relay keepalives and Allocate tokens are WhatsApp", "[stun]") {
  Stun c(Signatures::builtin());
  for (int type : {0x0800, 0x0801, 0x0802, 0x0805}) {
    t::Probe st;
    const auto r = t::probe_udp(c, st, stun_typed(static_cast<uint16_t>(type), attr(0x0006, "id")));
    REQUIRE(std::holds_alternative<Match>(r));
    CHECK(std::get<Match>(r).app == AppId::kWhatsapp);
    CHECK(std::get<Match>(r).evidence == Evidence::kDpi);
  }
  for (int type : {0x0003, 0x0103, 0x0113}) {
    t::Probe st;
    const auto token = attr(0x0019, t::bytes({17, 0, 0, 0})) + attr(0x4024, "\x0a\x04relay");
    const auto r = t::probe_udp(c, st, stun_typed(static_cast<uint16_t>(type), token));
    REQUIRE(std::holds_alternative<Match>(r));
    CHECK(std::get<Match>(r).app == AppId::kWhatsapp);
  }
}

TEST_CASE("Generic TURN and STUN outside WhatsApp's block are not WhatsApp", "[stun][negative]") {
  Stun c(Signatures::builtin());
  // A generic Allocate (REQUESTED-TRANSPORT, LIFETIME, SOFTWARE), its 401 answer (NONCE,
  // REALM), a binding with an attribute in the 0x4000 block (not an Allocate), and the
  // methods just outside 0x200-0x205.
  const std::string allocate = stun_typed(0x0003, attr(0x0019, t::bytes({17, 0, 0, 0})) +
                                                      attr(0x000d, t::bytes({0, 0, 2, 0x58})) +
                                                      attr(0x8022, "Coturn-4.6.1 'Gorst'"));
  const std::string unauthorised =
      stun_typed(0x0113, attr(0x0009, t::bytes({0, 0, 4, 1})) + attr(0x0015, "nonce") +
                             attr(0x0014, "example.org"));
  const std::string binding_4000 = stun_typed(0x0001, attr(0x4000, "opaque"));
  for (const auto& m : {allocate, unauthorised, binding_4000, stun_typed(0x07ff, ""),
                        stun_typed(0x0806, ""), stun_typed(0x0901, "")}) {
    t::Probe st;
    const auto r = t::probe_udp(c, st, m);
    CHECK_FALSE(std::holds_alternative<Match>(r));
  }
}

namespace {
const imguard::packet::Address kClient = imguard::packet::Address::parse("10.0.0.1");
const imguard::packet::Address kRelay = imguard::packet::Address::parse("10.0.0.2");
}  // namespace

TEST_CASE("Plain TURN to a relay its client reached as Signal's is Signal by cross-flow",
          "[stun]") {
  Stun c(Signatures::builtin());
  PeerCache cache;
  remember_call_relay(cache, kClient, kRelay, AppId::kSignal, imguard::packet::Timestamp{});
  t::Probe st;
  st.ctx.peers = &cache;
  const std::string allocate = stun_typed(0x0003, attr(0x0019, t::bytes({17, 0, 0, 0})));
  const auto r = t::probe_udp(c, st, allocate);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kSignal);
  CHECK(std::get<Match>(r).evidence == Evidence::kCrossFlow);
  // The relay's answer first (a capture that starts mid-flow): the client is the receiver.
  t::Probe back;
  back.ctx.peers = &cache;
  const auto b = t::probe_udp(c, back, stun_typed(0x0113, ""), Direction::kServerToClient);
  REQUIRE(std::holds_alternative<Match>(b));
  CHECK(std::get<Match>(b).app == AppId::kSignal);
}

TEST_CASE("A relay learned by another client, or another address, is not a hint",
          "[stun][negative]") {
  Stun c(Signatures::builtin());
  const auto other = imguard::packet::Address::parse("10.0.0.9");
  const imguard::packet::Timestamp now{};
  const std::string binding = stun_typed(0x0001, attr(0x0006, "a:b"));
  PeerCache cache;
  SECTION("another client's relay") {
    remember_call_relay(cache, other, kRelay, AppId::kSignal, now);
  }
  SECTION("the client's relay at another address") {
    remember_call_relay(cache, kClient, other, AppId::kSignal, now);
  }
  SECTION("a P2P entry for the same address") {
    cache.remember(kClient, kRelay, 0, AppId::kBittorrent, now);
  }
  SECTION("after the cache's TTL") {
    remember_call_relay(cache, kClient, kRelay, AppId::kSignal, now - std::chrono::seconds(301));
  }
  t::Probe st;
  st.ctx.peers = &cache;
  CHECK_FALSE(std::holds_alternative<Match>(t::probe_udp(c, st, binding)));
}
