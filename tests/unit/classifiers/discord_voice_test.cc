// SPDX-License-Identifier: GPL-3.0-or-later
// Discord voice captured mid-call: RTP with the transport encryption's nonce suffix.
// (The IP-discovery cases are in stun_test.cc.)
#include <catch2/catch.hpp>

#include "classifiers/discord_voice.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {

constexpr auto kC2s = Direction::kClientToServer;
constexpr auto kS2c = Direction::kServerToClient;

void put32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    s.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

// RTP v2 with a one-byte header extension, `body` bytes of encrypted payload and tag, and
// the 32-bit suffix `tail` (the sender's nonce in Discord's modes).
std::string media(uint8_t type, uint16_t seq, uint32_t ssrc, uint32_t tail, size_t body = 60) {
  std::string p;
  p.push_back('\x90');
  p.push_back(static_cast<char>(type));
  p.push_back(static_cast<char>(seq >> 8));
  p.push_back(static_cast<char>(seq & 0xff));
  put32(p, 960u * uint32_t{seq});
  put32(p, ssrc);
  p += t::bytes({0xbe, 0xde, 0x00, 0x01, 0x10, 0xff, 0x00, 0x00});
  for (size_t i = 0; i < body; ++i) {
    p.push_back(static_cast<char>((i * 37 + size_t{seq} * 11) & 0xff));
  }
  put32(p, tail);
  return p;
}

Result send(DiscordVoice& c, t::Probe& st, Direction d, const std::string& p) {
  return t::probe_udp(c, st, p, d, 50007);
}

}  // namespace

TEST_CASE("Discord voice mid-call: RTP ending in a nonce counter", "[discord_voice]") {
  DiscordVoice c;
  SECTION("one direction, Opus") {
    t::Probe st;
    for (uint16_t i = 0; i < 3; ++i) {
      CHECK(std::holds_alternative<NeedMore>(send(c, st, kC2s, media(120, 500 + i, 7, 9000 + i))));
    }
    const auto r = send(c, st, kC2s, media(120, 503, 7, 9003));
    REQUIRE(std::holds_alternative<Match>(r));
    CHECK(std::get<Match>(r).app == AppId::kDiscord);
    CHECK(std::get<Match>(r).evidence == Evidence::kBehaviour);
  }
  SECTION("the server speaks first, both directions, a lost packet, video sharing the counter") {
    t::Probe st;
    CHECK(std::holds_alternative<NeedMore>(send(c, st, kS2c, media(120, 10, 1, 400))));
    CHECK(std::holds_alternative<NeedMore>(send(c, st, kC2s, media(120, 70, 2, 88))));
    CHECK(std::holds_alternative<NeedMore>(send(c, st, kC2s, media(101, 5, 3, 89, 600))));
    CHECK(std::holds_alternative<NeedMore>(send(c, st, kS2c, media(120, 12, 1, 402))));  // lost 11
    CHECK(std::holds_alternative<Match>(send(c, st, kC2s, media(120, 71, 2, 90))));
  }
}

TEST_CASE("RTP and SRTP whose last bytes are no nonce counter are not Discord",
          "[discord_voice][negative]") {
  DiscordVoice c;
  const auto run = [&](auto tail) {
    t::Probe st;
    Result r = NeedMore{};
    for (uint16_t i = 0; i < 12 && std::holds_alternative<NeedMore>(r); ++i) {
      r = send(c, st, i % 2 == 0 ? kC2s : kS2c,
               media(111, static_cast<uint16_t>(100 + i / 2), static_cast<uint32_t>(0x40 + i % 2),
                     tail(i)));
    }
    return r;
  };
  SECTION("a constant (an SRTP MKI, padding)") {
    CHECK(std::holds_alternative<NotMine>(run([](uint16_t) { return 0xdeadbeefu; })));
  }
  SECTION("a falling counter") {
    CHECK(std::holds_alternative<NotMine>(run([](uint16_t i) { return 500000u - i; })));
  }
  SECTION("a media timestamp stepping by 960") {
    CHECK(std::holds_alternative<NotMine>(run([](uint16_t i) { return 960u * i; })));
  }
  SECTION("codec data or an authentication tag (pseudo-random)") {
    CHECK(std::holds_alternative<NotMine>(
        run([](uint16_t i) { return (uint32_t{i} + 1) * 2654435761u; })));
  }
  SECTION("a static payload type (G.711) is not looked at") {
    t::Probe st;
    CHECK(std::holds_alternative<NeedMore>(send(c, st, kC2s, media(0, 1, 5, 1))));
    CHECK(std::holds_alternative<NeedMore>(send(c, st, kC2s, media(0, 2, 5, 2))));
    CHECK(std::holds_alternative<NotMine>(send(c, st, kC2s, media(0, 3, 5, 3))));
  }
  SECTION("the RTP sequence number must step with the nonce within an SSRC") {
    t::Probe st;
    Result r = NeedMore{};
    for (uint16_t i = 0; i < 8 && std::holds_alternative<NeedMore>(r); ++i) {
      r = send(c, st, kC2s, media(120, static_cast<uint16_t>(100 + 50 * i), 9, 1000u + i));
    }
    CHECK(std::holds_alternative<NotMine>(r));
  }
}
