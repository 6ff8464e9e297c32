// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/gnutella.h"
#include "p2p_probe.h"

using namespace imguard::classifiers;
namespace t = imguard::test;
using Flow = t::P2pFlow<Gnutella>;

namespace {
std::string le32(uint32_t v) {
  return t::bytes({static_cast<int>(v & 0xff), static_cast<int>((v >> 8) & 0xff),
                   static_cast<int>((v >> 16) & 0xff), static_cast<int>(v >> 24)});
}
std::string message(int type, int ttl, int hops, const std::string& payload) {
  return std::string(16, 'G') + t::bytes({type, ttl, hops}) +
         le32(static_cast<uint32_t>(payload.size())) + payload;
}
Flow udp_flow() {
  Flow f;
  f.udp = true;
  return f;
}
}  // namespace

TEST_CASE("Gnutella handshakes, pushes and URN requests match on any port", "[gnutella]") {
  const auto r = Flow{}.c2s("GNUTELLA CONNECT/0.6\r\nUser-Agent: x\r\n\r\n");
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kGnutella);
  CHECK(t::serving(r));
  Flow srv;
  srv.payloads[0] = 1;
  CHECK(std::holds_alternative<Match>(srv.s2c("GNUTELLA/0.6 200 OK\r\n\r\n")));
  CHECK(std::holds_alternative<Match>(
      Flow{}.c2s("GIV 12:0123456789abcdef0123456789ABCDEF/song.ogg\n\n")));
  CHECK(std::holds_alternative<Match>(
      Flow{}.c2s("GET /uri-res/N2R?urn:sha1:PLSTHIPQGSSZTS5FJUPAKUZWUGYQYPFB HTTP/1.1\r\n\r\n")));
}

TEST_CASE("Gnutella UDP messages and GND fragments", "[gnutella]") {
  Flow f;
  f.udp = true;
  CHECK(std::holds_alternative<Match>(f.c2s(message(0x00, 1, 0, ""))));
  Flow g;
  g.udp = true;
  CHECK(std::holds_alternative<Match>(g.c2s(message(0x80, 3, 1, "\x00\x00query\x00"))));
  Flow h;
  h.udp = true;
  CHECK(std::holds_alternative<Match>(h.c2s("GND" + t::bytes({0, 0, 7, 1, 2}) + "fragment")));
}

TEST_CASE("Gnutella look-alikes are refused", "[gnutella]") {
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("GNUTELLA is a protocol\r\n")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("GIV 12:nothex/a\n\n")));
  Flow other_uri;
  CHECK(std::holds_alternative<NeedMore>(other_uri.c2s("GET /uri-res/other HTTP/1.1\r\n\r\n")));
  CHECK(std::holds_alternative<NotMine>(other_uri.s2c("HTTP/1.1 404 Not Found\r\n\r\n")));
  // The server reply string sent by a client, or later in the flow, is not a handshake.
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("GNUTELLA/0.6 200 OK\r\n\r\n")));
  Flow late;
  late.payloads[0] = 1;
  CHECK(std::holds_alternative<NotMine>(late.c2s("GNUTELLA CONNECT/0.6\r\n\r\n")));
  Flow u;
  u.udp = true;
  // Length one off, TTL+hops 0, unknown type, GND part beyond count.
  std::string off = message(0x00, 1, 0, "abc");
  off[19] = 4;
  CHECK(std::holds_alternative<NotMine>(u.c2s(off)));
  CHECK(std::holds_alternative<NotMine>(udp_flow().c2s(message(0x00, 0, 0, ""))));
  CHECK(std::holds_alternative<NotMine>(udp_flow().c2s(message(0x55, 1, 0, ""))));
  CHECK(std::holds_alternative<NotMine>(
      udp_flow().c2s("GND" + t::bytes({0, 0, 7, 3, 2}) + "fragment")));
  CHECK(std::holds_alternative<NotMine>(
      udp_flow().c2s("GND" + t::bytes({0x40, 0, 7, 1, 2}) + "fragment")));
  CHECK(std::holds_alternative<NotMine>(
      udp_flow().c2s("GND" + t::bytes({0, 0, 7, 1, 200}) + "fragment")));
}

TEST_CASE("Gnutella HTTP transfers are known by their X-Gnutella headers", "[gnutella]") {
  CHECK(t::serving(Flow{}.c2s(
      "GET /get/4/song.ogg HTTP/1.1\r\nHost: b\r\nX-Gnutella-Content-URN: urn:sha1:X\r\n\r\n")));
  Flow answer;
  CHECK(std::holds_alternative<NeedMore>(answer.c2s("GET /get/4/song.ogg HTTP/1.1\r\n\r\n")));
  CHECK(t::serving(answer.s2c("HTTP/1.1 200 OK\r\nX-Gnutella-Content-URN: urn:sha1:X\r\n\r\n")));
  // Ordinary web traffic, or the header name only in the body, is not Gnutella.
  Flow web;
  CHECK(std::holds_alternative<NeedMore>(web.c2s("GET / HTTP/1.1\r\nHost: example.org\r\n\r\n")));
  CHECK(std::holds_alternative<NotMine>(
      web.s2c("HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n\r\nX-Gnutella-Content-URN: x")));
}
