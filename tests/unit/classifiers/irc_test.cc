// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/irc.h"
#include "classifiers/peer_cache.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
using imguard::packet::Address;
namespace t = imguard::test;

TEST_CASE("IRC registration on any port is irc, cleartext", "[irc]") {
  Irc c;
  t::Probe st;
  const auto r = t::probe_tcp(c, st, "NICK alice\r\nUSER alice 0 * :Alice\r\n",
                              Direction::kClientToServer, 16667);
  REQUIRE(std::holds_alternative<NeedMore>(r));
  CHECK(std::get<NeedMore>(r).hold == Hold::kClaim);
  const auto m = c.give_up(st.ctx, FlowSlot(std::span<std::byte>(st.slot).first(8)));
  REQUIRE(m);
  CHECK(m->app == AppId::kIrc);
  CHECK(m->features == kFeatureCleartext);
}

TEST_CASE("IRC: server first, then CAP negotiation", "[irc]") {
  Irc c;
  t::Probe st;
  CHECK(std::holds_alternative<NeedMore>(
      t::probe_tcp(c, st, ":irc.example.net NOTICE * :*** Looking up your hostname\r\n",
                   Direction::kServerToClient, 6697)));
  const auto r = t::probe_tcp(c, st, "CAP LS 302\r\n", Direction::kClientToServer, 6697);
  REQUIRE(std::holds_alternative<NeedMore>(r));
  CHECK(std::get<NeedMore>(r).hold == Hold::kClaim);
}

TEST_CASE("DCC SEND offers name the data connection as the file transfer", "[irc]") {
  PeerCache peers;
  Irc c;
  t::Probe st;
  st.ctx.peers = &peers;
  t::probe_tcp(c, st, "NICK bob\r\nUSER bob 0 * :Bob\r\n");
  // 167772161 = 10.0.0.1
  t::probe_tcp(c, st,
               "PRIVMSG alice :\x01"
               "DCC SEND \"my file.txt\" 167772161 20000 5000\x01\r\n");
  const auto m = c.give_up(st.ctx, FlowSlot(std::span<std::byte>(st.slot).first(8)));
  REQUIRE(m);
  CHECK(m->features == kFeatureCleartext);  // the chat itself carries no file

  IrcDcc dcc;
  t::Probe d;
  d.ctx.peers = &peers;
  const auto syn =
      t::ipv4_tcp({.src = "10.0.0.2", .dst = "10.0.0.1", .sport = 51000, .dport = 20000}, "", 0x02);
  const auto r = t::probe_packet(dcc, d, syn, Direction::kClientToServer);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).evidence == Evidence::kCrossFlow);
  t::Probe other;
  other.ctx.peers = &peers;
  const auto syn2 =
      t::ipv4_tcp({.src = "10.0.0.2", .dst = "10.0.0.1", .sport = 51001, .dport = 20001}, "", 0x02);
  CHECK(std::holds_alternative<NotMine>(
      t::probe_packet(dcc, other, syn2, Direction::kClientToServer)));
}

TEST_CASE("DCC SEND parser", "[irc]") {
  Address a;
  uint16_t port = 0;
  CHECK(parse_dcc_send("DCC SEND file.bin 3232235777 5000 100", a, port));
  CHECK(a == Address::parse("192.168.1.1"));
  CHECK(port == 5000);
  CHECK(parse_dcc_send("DCC SEND f 2001:db8::1 6000", a, port));
  CHECK(a == Address::parse("2001:db8::1"));
  CHECK_FALSE(parse_dcc_send("DCC SEND f 3232235777 70000", a, port));
  CHECK_FALSE(parse_dcc_send("DCC SEND \"unterminated 1 2", a, port));
  CHECK_FALSE(parse_dcc_send("DCC CHAT chat 3232235777 5000", a, port));
  CHECK_FALSE(parse_dcc_send("DCC SEND f host.example 5000", a, port));
}

TEST_CASE("IRC look-alikes are not matched", "[irc]") {
  Irc c;
  t::Probe a;
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, a, "POST /x HTTP/1.1\r\nHost: a\r\n\r\nNICK alice\r\nUSER alice 0 * :A\r\n",
                   Direction::kClientToServer, 80)));
  t::Probe b;  // SMTP greeting then client lines: commands, but not IRC registration
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, b, "220 mail.example ESMTP\r\n", Direction::kServerToClient, 25)));
  t::Probe d;
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(c, d, t::bytes({0x16, 3, 1, 0, 5, 1}))));
}
