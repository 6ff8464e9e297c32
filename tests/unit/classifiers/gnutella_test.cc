// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include <random>

#include "classifiers/gnutella.h"
#include "classifiers/gnutella_wire.h"
#include "p2p_probe.h"

using namespace imguard::classifiers;
namespace t = imguard::test;
using Flow = t::P2pFlow<Gnutella>;

namespace {
std::string le32(uint32_t v) {
  return t::bytes({static_cast<int>(v & 0xff), static_cast<int>((v >> 8) & 0xff),
                   static_cast<int>((v >> 16) & 0xff), static_cast<int>(v >> 24)});
}
std::string be16(int v) {
  return t::bytes({(v >> 8) & 0xff, v & 0xff});
}
std::string z(const char* s) {
  return std::string(s) + std::string(1, '\0');
}

std::string message(int type, int ttl, int hops, const std::string& payload) {
  return std::string(16, 'G') + t::bytes({type, ttl, hops}) +
         le32(static_cast<uint32_t>(payload.size())) + payload;
}
std::string query(const char* text) {
  return t::bytes({0, 0}) + z(text);
}
std::string pong() {
  return t::bytes({0xca, 0x18, 192, 0, 2, 1}) + le32(10) + le32(2048);
}

/// Contact: vendor, version, 20-byte node id, IPv4 socket address.
std::string contact(const std::string& vendor = "LIME") {
  return vendor + be16(0) + std::string(20, 'K') + t::bytes({4, 192, 0, 2, 7}) + be16(6346);
}
/// A Mojito datagram: Gnutella header (type 0x44, version 0.0), op code, contact,
/// instance id, flags, extended header (`ext` bytes), body.
std::string mojito(int opcode, const std::string& body, const std::string& ext = "",
                   const std::string& vendor = "LIME") {
  const std::string payload = t::bytes({opcode}) + contact(vendor) + t::bytes({1, 1}) +
                              be16(static_cast<int>(ext.size())) + ext + body;
  return std::string(16, 'M') + t::bytes({0x44, 0, 0}) +
         le32(static_cast<uint32_t>(payload.size())) + payload;
}

Flow udp_flow() {
  Flow f;
  f.udp = true;
  return f;
}
/// A TCP flow whose first packets were seen.
Flow seen() {
  Flow f;
  f.start_seen = true;
  return f;
}
bool matches(const Result& r) {
  return std::holds_alternative<Match>(r);
}
bool not_mine(const Result& r) {
  return std::holds_alternative<NotMine>(r);
}
bool need_more(const Result& r) {
  return std::holds_alternative<NeedMore>(r);
}
}  // namespace

TEST_CASE("Gnutella handshakes, pushes and URN requests match on any port", "[gnutella]") {
  const auto r = seen().c2s("GNUTELLA CONNECT/0.6\r\nUser-Agent: x\r\n\r\n");
  REQUIRE(matches(r));
  CHECK(std::get<Match>(r).app == AppId::kGnutella);
  CHECK(t::serving(r));
  Flow srv = seen();
  srv.payloads[0] = 1;
  CHECK(matches(srv.s2c("GNUTELLA/0.6 200 OK\r\n\r\n")));
  CHECK(matches(seen().c2s("GIV 12:0123456789abcdef0123456789ABCDEF/song.ogg\n\n")));
  CHECK(matches(
      seen().c2s("GET /uri-res/N2R?urn:sha1:PLSTHIPQGSSZTS5FJUPAKUZWUGYQYPFB HTTP/1.1\r\n\r\n")));
}

TEST_CASE("Gnutella handshakes split over segments", "[gnutella]") {
  Flow c = seen();
  CHECK(need_more(c.c2s("GNUT")));
  CHECK(need_more(c.c2s("ELLA CON")));
  CHECK(matches(c.c2s("NECT/0.6\r\nUser-Agent: x\r\n\r\n")));
  Flow one_byte = seen();
  CHECK(need_more(one_byte.c2s("G")));
  CHECK(need_more(one_byte.c2s("ET /uri-res/")));
  CHECK(matches(one_byte.c2s("N2R?urn:sha1:X HTTP/1.1\r\n\r\n")));
  Flow s = seen();
  CHECK(need_more(s.c2s("GNUTELLA CONNECT")));  // the client's leg, split, still open
  CHECK(need_more(s.s2c("GNUTELLA/0")));
  CHECK(matches(s.s2c(".6 200 OK\r\n\r\n")));
  // A prefix that diverges later is not a handshake.
  Flow d = seen();
  CHECK(need_more(d.c2s("GNUTELLA ")));
  CHECK(not_mine(d.c2s("is a protocol\r\n")));
}

TEST_CASE("Gnutella UDP messages and GND fragments", "[gnutella]") {
  CHECK(matches(udp_flow().c2s(message(0x00, 1, 0, ""))));
  CHECK(matches(udp_flow().c2s(message(0x80, 3, 1, query("query")))));
  CHECK(matches(udp_flow().c2s(message(0x01, 1, 0, pong()))));
  // A Pong with a GGEP block (DU uptime, VC vendor code), a Ping with GGEP SCP.
  CHECK(matches(udp_flow().c2s(
      message(0x01, 1, 0,
              pong() + t::bytes({0xc3, 0x02, 'D', 'U', 0x42, 0x10, 0x0e, 0x82, 'V', 'C', 0x45}) +
                  "LIMEH"))));
  CHECK(
      matches(udp_flow().c2s(message(0x00, 1, 0, t::bytes({0xc3, 0x83, 'S', 'C', 'P', 0x41, 1})))));
  // Out-of-band results: LIME/12 reply number, LIME/11 claim, the Query Hit itself.
  CHECK(matches(udp_flow().c2s(message(0x31, 1, 0, "LIME" + t::bytes({12, 0, 3, 0, 2, 1})))));
  const std::string hit = t::bytes({1, 0xca, 0x18, 192, 0, 2, 1}) + le32(1000) + le32(3) +
                          le32(4096) + z("song.ogg") + std::string(1, '\0') + "LIME" +
                          std::string(16, 'S');
  CHECK(matches(udp_flow().c2s(message(0x81, 1, 0, hit))));
  CHECK(matches(udp_flow().c2s("GND" + t::bytes({0, 0, 7, 1, 2}) + "fragment")));
  CHECK(matches(udp_flow().c2s("GND" + t::bytes({0, 0, 7, 1, 0}))));  // acknowledgement
}

TEST_CASE("Gnutella UDP look-alikes with a header-shaped prefix are refused", "[gnutella]") {
  std::string off = message(0x00, 1, 0, "abc");
  off[19] = 4;
  CHECK(not_mine(udp_flow().c2s(off)));                                   // length one off
  CHECK(not_mine(udp_flow().c2s(message(0x00, 0, 0, ""))));               // TTL + hops 0
  CHECK(not_mine(udp_flow().c2s(message(0x55, 1, 0, ""))));               // unknown type
  CHECK(not_mine(udp_flow().c2s(message(0x01, 1, 0, "0123456789"))));     // Pong too short
  CHECK(not_mine(udp_flow().c2s(message(0x01, 1, 0, pong() + "junk"))));  // not GGEP after it
  CHECK(not_mine(udp_flow().c2s(message(0x80, 3, 0, t::bytes({0, 0}) + "no terminator"))));
  CHECK(not_mine(udp_flow().c2s(message(0x40, 3, 0, std::string(20, 'p')))));  // Push short
  CHECK(not_mine(udp_flow().c2s(message(0x31, 1, 0, t::bytes({1, 2, 3, 4, 12, 0, 3, 0})))));
  CHECK(not_mine(udp_flow().c2s(message(0x00, 1, 0, t::bytes({0xc3, 0x83, 'S', 'C', 'P', 0x81})))));
  CHECK(not_mine(udp_flow().c2s(message(0x02, 1, 0, t::bytes({200, 0}) + z("bye")))));  // TCP only
  CHECK(not_mine(udp_flow().c2s(message(0x30, 1, 0, t::bytes({0}) + le32(65536) + "\x07"))));
  CHECK(not_mine(udp_flow().c2s("GND" + t::bytes({0, 0, 7, 3, 2}) + "fragment")));
  CHECK(not_mine(udp_flow().c2s("GND" + t::bytes({0x40, 0, 7, 1, 2}) + "fragment")));
  CHECK(not_mine(udp_flow().c2s("GND" + t::bytes({0, 0, 7, 1, 200}) + "fragment")));
  CHECK(not_mine(udp_flow().c2s("GND" + t::bytes({0, 0, 7, 1, 0}) + "x")));  // ack with data
}

TEST_CASE("Mojito DHT messages are Gnutella", "[gnutella]") {
  const std::string kuid(20, 'T');
  const std::string token = t::bytes({4}) + "tokn";
  const std::string value = contact() + kuid + "ALT " + be16(0) + be16(3) + "loc";
  CHECK(matches(udp_flow().c2s(mojito(0x01, ""))));
  CHECK(matches(udp_flow().c2s(
      mojito(0x02, t::bytes({4, 198, 51, 100, 2}) + be16(40000) + t::bytes({2, 0x01, 0x86})))));
  CHECK(matches(udp_flow().c2s(mojito(0x03, token + t::bytes({1}) + value))));
  CHECK(matches(
      udp_flow().c2s(mojito(0x04, t::bytes({1}) + kuid + kuid + be16(1) + be16(2) + "OK"))));
  CHECK(matches(udp_flow().c2s(mojito(0x05, kuid))));
  CHECK(matches(udp_flow().c2s(mojito(0x06, token + t::bytes({2}) + contact() + contact()))));
  CHECK(matches(udp_flow().c2s(mojito(0x07, kuid + t::bytes({1}) + kuid + "ALT "))));
  CHECK(matches(udp_flow().c2s(
      mojito(0x08, "\x3e\x80" + std::string(2, '\0') + t::bytes({1}) + value + t::bytes({0})))));
  CHECK(matches(udp_flow().c2s(mojito(0x01, "", "ext"))));  // an extended header is skipped
}

TEST_CASE("Mojito look-alikes are refused", "[gnutella]") {
  const std::string kuid(20, 'T');
  CHECK(not_mine(udp_flow().c2s(mojito(0x09, t::bytes({0})))));   // STATS: deprecated
  CHECK(not_mine(udp_flow().c2s(mojito(0x0b, ""))));              // no such op code
  CHECK(not_mine(udp_flow().c2s(mojito(0x05, kuid.substr(1)))));  // short id
  CHECK(not_mine(udp_flow().c2s(mojito(0x05, kuid + "x"))));      // trailing bytes
  CHECK(not_mine(udp_flow().c2s(mojito(0x01, "", "", std::string("\x01\x02\x03\x04", 4)))));
  std::string bad_addr = mojito(0x01, "");
  bad_addr[23 + 1 + 4 + 2 + 20] = 7;  // address length
  CHECK(not_mine(udp_flow().c2s(bad_addr)));
  std::string long_ext = mojito(0x01, "");
  long_ext[long_ext.size() - 1] = 9;  // extended header runs past the end
  CHECK(not_mine(udp_flow().c2s(long_ext)));
  // Every truncation of a valid message is refused (and none reads past the end).
  const std::string full = mojito(0x06, t::bytes({0, 2}) + contact() + contact());
  for (size_t n = gnutella::kHeader; n < full.size(); ++n) {
    std::string cut = full.substr(0, n);
    cut[19] = static_cast<char>(n - gnutella::kHeader);
    CHECK(not_mine(udp_flow().c2s(cut)));
  }
  // Mojito is UDP only: over TCP the 0x44 header does not frame a chain.
  CHECK_FALSE(gnutella::header_fits(0x44, 0, 0, gnutella::Transport::kTcp));
}

TEST_CASE("Gnutella text look-alikes are refused", "[gnutella]") {
  CHECK(not_mine(seen().c2s("GNUTELLA is a protocol\r\n")));
  CHECK(not_mine(seen().c2s("GIV 12:nothex/a\n\n")));
  Flow other_uri = seen();
  CHECK(need_more(other_uri.c2s("GET /uri-res/other HTTP/1.1\r\n\r\n")));
  CHECK(not_mine(other_uri.s2c("HTTP/1.1 404 Not Found\r\n\r\n")));
  // The server reply string sent by a client, or later in the flow, is not a handshake.
  CHECK(not_mine(seen().c2s("GNUTELLA/0.6 200 OK\r\n\r\n")));
  Flow late = seen();
  late.payloads[0] = 1;
  CHECK(not_mine(late.c2s("GNUTELLA CONNECT/0.6\r\n\r\n")));
}

TEST_CASE("Gnutella HTTP transfers are known by their X-Gnutella and X-Alt headers", "[gnutella]") {
  CHECK(t::serving(seen().c2s(
      "GET /get/4/song.ogg HTTP/1.1\r\nHost: b\r\nX-Gnutella-Content-URN: urn:sha1:X\r\n\r\n")));
  CHECK(t::serving(seen().c2s("GET /get/4/song.ogg HTTP/1.1\r\nx-alt: 10.1.1.1:6346\r\n\r\n")));
  CHECK(t::serving(seen().c2s("GET /get/4/song.ogg HTTP/1.1\r\nX-Queue: 0.1\r\n\r\n")));
  Flow answer = seen();
  CHECK(need_more(answer.c2s("GET /get/4/song.ogg HTTP/1.1\r\n\r\n")));
  CHECK(t::serving(answer.s2c("HTTP/1.1 200 OK\r\nX-NAlt: 10.1.1.2:6346\r\n\r\n")));
  // Ordinary web traffic, or the header name only in the body, is not Gnutella.
  Flow web = seen();
  CHECK(need_more(web.c2s("GET / HTTP/1.1\r\nHost: example.org\r\nX-Alternative: 1\r\n\r\n")));
  CHECK(not_mine(
      web.s2c("HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n\r\nX-Gnutella-Content-URN: x")));
}

TEST_CASE("Mid-stream Gnutella sessions need chained messages in both directions", "[gnutella]") {
  const std::string ping = message(0x00, 1, 0, "");
  const std::string q = message(0x80, 3, 0, query("jazz"));
  const std::string p = message(0x01, 1, 0, pong());
  SECTION("three messages over two segments, answered by one") {
    Flow f;
    CHECK(need_more(f.c2s(ping + q.substr(0, 26))));
    CHECK(need_more(f.s2c(p)));
    CHECK(matches(f.c2s(q.substr(26) + p)));
  }
  SECTION("a header split inside its length field") {
    const std::string joined = q + q + q;
    Flow f;
    CHECK(need_more(f.s2c(p)));
    CHECK(need_more(f.c2s(joined.substr(0, q.size() + 20))));
    const auto r = f.c2s(joined.substr(q.size() + 20));
    CHECK(matches(r));
    CHECK(t::serving(r));
  }
  SECTION("one forged segment of three messages is not enough") {
    Flow f;
    CHECK(need_more(f.c2s(ping + q + p)));
    CHECK(need_more(f.s2c(p)));
    CHECK(need_more(f.c2s("not a message, just the rest of some other stream.........")));
    CHECK(need_more(f.s2c(p)));
  }
  SECTION("one direction's content alone is not enough") {
    Flow f;
    CHECK(need_more(f.c2s(ping + q)));
    CHECK(need_more(f.s2c("ACK 1\r\n")));
    CHECK(need_more(f.c2s(q + p)));
    CHECK(need_more(f.c2s(q + p)));
    CHECK(need_more(f.s2c("ACK 2\r\n")));
  }
  SECTION("a chain whose lengths are off breaks") {
    std::string off = ping;
    off[19] = 1;
    Flow f;
    CHECK(need_more(f.s2c(p)));
    CHECK(need_more(f.c2s(off + ping)));
    CHECK(need_more(f.c2s(ping + ping)));
    CHECK(matches(f.c2s(ping)));  // the chain found again at the second segment
  }
  SECTION("a payload that does not fit its type breaks the chain") {
    Flow f;
    CHECK(need_more(f.s2c(p)));
    CHECK(need_more(f.c2s(ping + message(0x01, 1, 0, "short"))));
    CHECK(need_more(f.c2s("GNUTELLA-shaped? no")));
  }
  SECTION("a mid-stream flow where no segment starts a message is given up") {
    Flow f;
    for (int i = 0; i < 7; ++i) {
      CHECK(need_more(i % 2 == 0 ? f.c2s(std::string(100, 'x')) : f.s2c(std::string(80, 'y'))));
    }
    CHECK(not_mine(f.s2c(std::string(80, 'y'))));
  }
  SECTION("a connection seen from its start must open with the handshake") {
    Flow f = seen();
    CHECK(not_mine(f.c2s(ping + q)));
  }
}

TEST_CASE("Random payloads behind a Gnutella-shaped UDP header are refused", "[gnutella]") {
  // The header alone (a known type, TTL + hops 1..16, the exact length) is what a look-alike
  // can imitate; the payload must still fit its type. Measured here over random payloads.
  std::mt19937 rng(6346);
  const int types[] = {0x00, 0x01, 0x31, 0x32, 0x40, 0x44, 0x80, 0x81};
  int accepted = 0;
  constexpr int kTrials = 20000;
  for (int i = 0; i < kTrials; ++i) {
    std::string payload(rng() % 600, '\0');
    for (auto& c : payload) {
      c = static_cast<char>(rng() & 0xff);
    }
    const int type = types[rng() % std::size(types)];
    std::string d = message(type, 1, 0, payload);
    if (type == 0x44) {
      d[17] = d[18] = 0;  // Mojito: message version 0.0
    }
    accepted += matches(udp_flow().c2s(d)) ? 1 : 0;
  }
  INFO(accepted << " of " << kTrials << " accepted");
  CHECK(accepted * 200 < kTrials);  // under 0.5% (40 of 20,000 when written)
}
