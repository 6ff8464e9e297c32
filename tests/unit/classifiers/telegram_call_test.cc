// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/telegram_call.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {
const std::string kTag = t::bytes({0x3c, 0x91, 0x07, 0xe2, 0x5a, 0x18, 0xc4, 0x6f, 0x02, 0xbb, 0x7d,
                                   0x40, 0x9e, 0x13, 0xa8, 0x55});
const std::string kRun(12, '\xff');

std::string le32(uint32_t v) {
  return t::bytes({static_cast<int>(v & 0xff), static_cast<int>((v >> 8) & 0xff),
                   static_cast<int>((v >> 16) & 0xff), static_cast<int>(v >> 24)});
}
std::string hello(const std::string& tag = kTag) {
  return tag + kRun + t::bytes({0xfe, 0xff, 0xff, 0xff, 123, 0, 0, 0, 0, 0, 0, 0});
}
std::string request(const std::string& tag = kTag) {
  return tag + std::string(16, '\xff');
}
std::string answer(uint32_t code) {
  return kTag + kRun + le32(code) + std::string(32, '\x01');
}
}  // namespace

TEST_CASE("A tgcalls reflector hello is Telegram", "[telegram_call]") {
  TelegramCall c;
  t::Probe st;
  const auto r = t::probe_udp(c, st, hello(), Direction::kClientToServer, 596);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kTelegram);
  CHECK(std::get<Match>(r).evidence == Evidence::kDpi);
}

TEST_CASE("Reflector answers are Telegram, also when the capture starts with them",
          "[telegram_call]") {
  for (uint32_t code : {0x27d9371cU, 0x83fc73b1U, 0xc01572c7U, 0x0e107305U}) {
    TelegramCall c;
    t::Probe st;
    const auto r = t::probe_udp(c, st, answer(code), Direction::kServerToClient);
    REQUIRE(std::holds_alternative<Match>(r));
    CHECK(std::get<Match>(r).app == AppId::kTelegram);
  }
}

TEST_CASE("A libtgvoip endpoints request decides once the reflector answers", "[telegram_call]") {
  TelegramCall c;
  t::Probe st;
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, request())));
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, request())));  // resent
  const auto r = t::probe_udp(c, st, answer(0x27d9371c), Direction::kServerToClient);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kTelegram);
}

TEST_CASE("0xFF-padded look-alikes are not Telegram", "[telegram_call][negative]") {
  TelegramCall c;
  SECTION("Wake-on-LAN magic packet") {
    t::Probe st;
    const std::string mac = t::bytes({0x02, 0x00, 0x5e, 0x10, 0x20, 0x30});
    std::string wol(6, '\xff');
    for (int i = 0; i < 16; ++i) {
      wol += mac;
    }
    CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, st, wol, Direction::kClientToServer, 9)));
  }
  SECTION("all 0xFF, all zero tag") {
    t::Probe a;
    CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, a, std::string(40, '\xff'))));
    t::Probe z;
    CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, z, hello(std::string(16, '\0')))));
  }
  SECTION("an unknown code or a wrong size after the run") {
    t::Probe u;
    CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, u, answer(0x12345678))));
    t::Probe h;
    CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, h, hello() + "pad!")));
    t::Probe q;
    CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, q, request() + "pad!")));
  }
  SECTION("an endpoints-request shape that is never answered") {
    t::Probe st;
    Result r = t::probe_udp(c, st, request());
    for (int i = 0; i < 8 && std::holds_alternative<NeedMore>(r); ++i) {
      r = t::probe_udp(c, st, kTag + std::string(48, static_cast<char>(i + 1)),
                       Direction::kServerToClient);
    }
    CHECK(std::holds_alternative<NotMine>(r));
  }
}
