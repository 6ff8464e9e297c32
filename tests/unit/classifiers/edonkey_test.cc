// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/edonkey.h"
#include "classifiers/peer_cache.h"
#include "p2p_probe.h"
#include "packet_builder.h"

using namespace imguard::classifiers;
using imguard::packet::PacketView;
namespace t = imguard::test;

namespace {

struct Flow : t::P2pFlow<Edonkey> {
  Flow() {
    client = "198.51.100.10";
    server = "198.51.100.20";
    port = 4662;
  }
};

std::string le32(uint32_t v) {
  return t::bytes({static_cast<int>(v & 0xff), static_cast<int>((v >> 8) & 0xff),
                   static_cast<int>((v >> 16) & 0xff), static_cast<int>(v >> 24)});
}
std::string le16(uint16_t v) {
  return t::bytes({v & 0xff, v >> 8});
}
std::string frame(int proto, int opcode, const std::string& body) {
  return t::bytes({proto}) + le32(static_cast<uint32_t>(body.size() + 1)) + t::bytes({opcode}) +
         body;
}
/// Client hello: hash length, hash, client id, port, tag count 0, server address/port.
std::string hello(uint16_t port) {
  return frame(0xe3, 0x01,
               t::bytes({16}) + std::string(16, 'H') + le32(0x0a000001) + le16(port) + le32(0) +
                   le32(0) + le16(0));
}
std::string kad_contact(uint8_t last_octet, uint16_t udp, uint16_t tcp) {
  // 16-byte id, IPv4 as a little-endian integer (198.51.100.x), UDP port, TCP port, version.
  return std::string(16, 'K') + t::bytes({last_octet, 100, 51, 198}) + le16(udp) + le16(tcp) +
         t::bytes({8});
}

imguard::packet::Address addr(const char* s) {
  return imguard::packet::Address::parse(s);
}

}  // namespace

TEST_CASE("eD2k client hello decides alone and marks the peer listener", "[edonkey]") {
  Flow f;
  const auto r = f.c2s(hello(4663));
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kEdonkey);
  CHECK((std::get<Match>(r).features & kFeaturePeer) != 0);
  CHECK(f.cache.lookup(addr("198.51.100.10"), addr("198.51.100.20"), 4662, {}) == AppId::kEdonkey);
  CHECK(f.cache.lookup(addr("198.51.100.10"), addr("198.51.100.10"), 4663, {}) == AppId::kEdonkey);
}

TEST_CASE("eD2k framing in both directions matches; several messages per segment", "[edonkey]") {
  Flow f;
  const std::string login =
      frame(0xe3, 0x01, std::string(16, 'H') + le32(0) + le16(4662) + le32(0));
  CHECK(std::holds_alternative<NeedMore>(f.c2s(login)));
  const auto r = f.s2c(frame(0xe3, 0x38, le16(3) + "hi!") + frame(0xe3, 0x40, le32(7)));
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK((std::get<Match>(r).features & kFeaturePeer) == 0);
}

TEST_CASE("eD2k look-alikes are refused", "[edonkey]") {
  // Length that does not match the segment, zero length, unknown protocol byte.
  std::string bad = hello(4663);
  bad[1] = static_cast<char>(bad[1] + 1);
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(bad)));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(t::bytes({0xe3, 0, 0, 0, 0}))));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(frame(0xe2, 0x01, std::string(40, 'x')))));
  // Well framed one way, garbage the other: not eD2k.
  Flow half;
  CHECK(std::holds_alternative<NeedMore>(half.c2s(frame(0xc5, 0x01, std::string(30, 'x')))));
  CHECK(std::holds_alternative<NotMine>(half.s2c("HTTP/1.1 400 Bad Request\r\n\r\n")));
  CHECK_FALSE(half.end().has_value());
}

TEST_CASE("Kad request answered by a response matches; contacts feed the cache", "[edonkey]") {
  Flow f;
  f.udp = true;
  const std::string req = t::bytes({0xe4, 0x21, 0x0b}) + std::string(32, 'T');
  CHECK(std::holds_alternative<NeedMore>(f.c2s(req)));
  const std::string res = t::bytes({0xe4, 0x29}) + std::string(16, 'T') + t::bytes({2}) +
                          kad_contact(30, 4672, 4662) + kad_contact(31, 5000, 5001);
  const auto r = f.s2c(res);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(f.cache.lookup(addr("198.51.100.10"), addr("198.51.100.30"), 4662, {}) == AppId::kEdonkey);
  CHECK(f.cache.lookup(addr("198.51.100.10"), addr("198.51.100.31"), 5000, {}) == AppId::kEdonkey);
  // Other hosts did not ask: the contacts are not theirs.
  CHECK_FALSE(f.cache.lookup(addr("198.51.100.20"), addr("198.51.100.31"), 5000, {}));
}

TEST_CASE("Kad contacts in an unsolicited response are not learned", "[edonkey][regression]") {
  Flow f;
  f.udp = true;
  const std::string res = t::bytes({0xe4, 0x29}) + std::string(16, 'T') + t::bytes({2}) +
                          kad_contact(30, 4672, 4662) + kad_contact(31, 5000, 5001);
  CHECK(std::holds_alternative<NeedMore>(f.s2c(res)));
  CHECK(f.cache.size() == 0);
}

TEST_CASE("Kad look-alikes: wrong sizes, unknown opcodes, lone packets", "[edonkey]") {
  Flow f;
  f.udp = true;
  // KADEMLIA2_REQ must be exactly 35 bytes; RES must hold whole contacts.
  CHECK(
      std::holds_alternative<NotMine>(f.c2s(t::bytes({0xe4, 0x21, 0x0b}) + std::string(31, 'T'))));
  Flow g;
  g.udp = true;
  CHECK(std::holds_alternative<NotMine>(
      g.c2s(t::bytes({0xe4, 0x29}) + std::string(16, 'T') + t::bytes({2}) + std::string(30, 'c'))));
  Flow h;
  h.udp = true;
  CHECK(std::holds_alternative<NotMine>(h.c2s(t::bytes({0xe4, 0x77, 1, 2, 3}))));
  Flow lone;
  lone.udp = true;
  CHECK(std::holds_alternative<NeedMore>(lone.c2s(t::bytes({0xe4, 0x60}))));
  CHECK_FALSE(lone.end().has_value());
  CHECK(std::holds_alternative<NeedMore>(lone.c2s(t::bytes({0xe4, 0x60}))));
  CHECK(lone.end().has_value());  // a repeated request is Kad even unanswered
}

TEST_CASE("eD2k: one exactly framed side decides at the end unless contradicted", "[edonkey]") {
  Flow one;
  CHECK(std::holds_alternative<NeedMore>(one.c2s(frame(0xe3, 0x38, le16(3) + "hi!"))));
  CHECK(one.end().has_value());
  Flow contradicted;
  CHECK(std::holds_alternative<NeedMore>(contradicted.c2s(frame(0xe3, 0x38, le16(3) + "hi!"))));
  CHECK(std::holds_alternative<NotMine>(contradicted.s2c("SSH-2.0-OpenSSH_9.2\r\n")));
  CHECK_FALSE(contradicted.end().has_value());
  // A first message that runs past a large segment is not enough on its own.
  Flow long_msg;
  CHECK(std::holds_alternative<NeedMore>(
      long_msg.c2s(t::bytes({0xe3}) + le32(5000) + t::bytes({0x46}) + std::string(1400, 'd'))));
  CHECK_FALSE(long_msg.end().has_value());
}

TEST_CASE("eD2k server UDP and eMule reasks, answered, match", "[edonkey]") {
  Flow status;
  status.udp = true;
  CHECK(std::holds_alternative<NeedMore>(status.c2s(t::bytes({0xe3, 0x96}) + le32(0x55aa0001))));
  CHECK(std::holds_alternative<Match>(
      status.s2c(t::bytes({0xe3, 0x97}) + le32(0x55aa0001) + le32(1200) + le32(90000))));
  Flow reask;
  reask.udp = true;
  CHECK(std::holds_alternative<NeedMore>(reask.c2s(t::bytes({0xc5, 0x90}) + std::string(16, 'h'))));
  CHECK(std::holds_alternative<Match>(reask.s2c(t::bytes({0xc5, 0x93}))));
  // Wrong sizes for the opcode: not eD2k.
  Flow bad;
  bad.udp = true;
  CHECK(std::holds_alternative<NotMine>(bad.c2s(t::bytes({0xe3, 0x96}) + le32(1) + "x")));
  Flow hashes;
  hashes.udp = true;
  CHECK(std::holds_alternative<NotMine>(hashes.c2s(t::bytes({0xe3, 0x9a}) + std::string(20, 'h'))));
}
