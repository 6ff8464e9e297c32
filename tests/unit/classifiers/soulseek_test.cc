// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/soulseek.h"
#include "p2p_probe.h"

using namespace imguard::classifiers;
namespace t = imguard::test;
using Flow = t::P2pFlow<Soulseek>;

namespace {
std::string le32(uint32_t v) {
  return t::bytes({static_cast<int>(v & 0xff), static_cast<int>((v >> 8) & 0xff),
                   static_cast<int>((v >> 16) & 0xff), static_cast<int>(v >> 24)});
}
std::string str(const std::string& s) {
  return le32(static_cast<uint32_t>(s.size())) + s;
}
std::string with_length(const std::string& body) {
  return le32(static_cast<uint32_t>(body.size())) + body;
}
std::string login(const std::string& hash) {
  return with_length(le32(1) + str("alice") + str("secret") + le32(160) + str(hash) + le32(1));
}
std::string peer_init(char type) {
  return with_length(t::bytes({1}) + str("alice") + str(std::string(1, type)) + le32(77));
}
}  // namespace

TEST_CASE("Soulseek server login and peer init match", "[soulseek]") {
  const auto l = Flow{}.c2s(login("0123456789abcdef0123456789abcdef"));
  REQUIRE(std::holds_alternative<Match>(l));
  CHECK(std::get<Match>(l).app == AppId::kSoulseek);
  CHECK_FALSE(t::serving(l));
  const auto p = Flow{}.c2s(peer_init('P'));
  REQUIRE(std::holds_alternative<Match>(p));
  CHECK(t::serving(p));
  // A peer init followed by the next message in the same segment.
  CHECK(std::holds_alternative<Match>(Flow{}.c2s(peer_init('F') + le32(4) + le32(9))));
}

TEST_CASE("Soulseek look-alikes are refused", "[soulseek]") {
  // Hash not 32 lowercase hex digits; outer length off by one; unknown connection type.
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(login("0123456789ABCDEF0123456789ABCDEF"))));
  std::string bad = login("0123456789abcdef0123456789abcdef");
  bad[0] = static_cast<char>(bad[0] + 1);
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(bad)));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(peer_init('X'))));
  // A name length running past the segment.
  CHECK(std::holds_alternative<NotMine>(
      Flow{}.c2s(with_length(t::bytes({1}) + le32(1000) + "alice" + str("P") + le32(7)))));
  // Only the initiator's first message counts.
  Flow late;
  late.payloads[0] = 1;
  CHECK(std::holds_alternative<NotMine>(late.c2s(peer_init('P'))));
}
