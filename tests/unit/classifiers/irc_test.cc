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

namespace {
// The probe's IRC client is 10.0.0.1 (167772161), its server 10.0.0.2.
constexpr const char* kWelcome = ":irc.example.test 001 bob :Welcome to the network bob\r\n";

std::string offer(const char* ip_decimal, const char* port) {
  return std::string("PRIVMSG alice :\x01") + "DCC SEND \"my file.txt\" " + ip_decimal + " " +
         port + " 5000\x01\r\n";
}

/// Registers bob on `st` and has the server welcome him, with `peers` as the cache.
void welcomed(Irc& c, t::Probe& st, PeerCache& peers) {
  st.ctx.peers = &peers;
  t::probe_tcp(c, st, "NICK bob\r\nUSER bob 0 * :Bob\r\n");
  t::probe_tcp(c, st, kWelcome, Direction::kServerToClient, 5222);
}

/// The first payload of a DCC data connection, sent by the listener (the file sender).
imguard::classifiers::Result first_data(IrcDcc& dcc, PeerCache& peers, const char* listener,
                                        uint16_t port, const char* receiver) {
  t::Probe d;
  d.ctx.peers = &peers;
  const auto v = t::ipv4_tcp({.src = listener, .dst = receiver, .sport = port, .dport = 51000},
                             std::string(1024, 'F'));
  return t::probe_packet(dcc, d, v, Direction::kServerToClient);
}
}  // namespace

TEST_CASE("DCC SEND offers name the data connection as the file transfer", "[irc]") {
  PeerCache peers;
  Irc c;
  t::Probe st;
  welcomed(c, st, peers);
  // The client offers its own address (167772161 = 10.0.0.1).
  t::probe_tcp(c, st, offer("167772161", "20000"));
  const auto m = c.give_up(st.ctx, FlowSlot(std::span<std::byte>(st.slot).first(8)));
  REQUIRE(m);
  CHECK(m->features == kFeatureCleartext);  // the chat itself carries no file

  IrcDcc dcc;
  const auto r = first_data(dcc, peers, "10.0.0.1", 20000, "10.0.0.9");
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).evidence == Evidence::kCrossFlow);
  CHECK((std::get<Match>(r).features & kFeatureFileTransfer) != 0);
  CHECK(std::holds_alternative<NotMine>(first_data(dcc, peers, "10.0.0.1", 20001, "10.0.0.9")));
}

TEST_CASE("DCC offers before the server's welcome are not learned", "[irc][regression]") {
  // Attack: one segment "NICK a / PRIVMSG b :DCC SEND f <ip> <port> 1" sent anywhere.
  PeerCache peers;
  Irc c;
  t::Probe st;
  st.ctx.peers = &peers;
  t::probe_tcp(c, st, "NICK a\r\n" + offer("167772161", "51413"));
  CHECK(peers.size() == 0);
  IrcDcc dcc;
  CHECK(std::holds_alternative<NotMine>(first_data(dcc, peers, "10.0.0.1", 51413, "10.0.0.7")));
}

TEST_CASE("DCC offers speak only for the two parties, from port 1024 up", "[irc][regression]") {
  PeerCache peers;
  Irc c;
  t::Probe st;
  st.ctx.peers = &peers;
  t::probe_tcp(c, st, "NICK bob\r\nUSER bob 0 * :Bob\r\n");
  t::probe_tcp(c, st, kWelcome, Direction::kServerToClient, 5222);
  // The client names another local host (10.0.0.5 = 167772165): not its own, not NAT'd.
  t::probe_tcp(c, st, offer("167772165", "8443"));
  // Its own address, but a system port.
  t::probe_tcp(c, st, offer("167772161", "22"));
  CHECK(peers.size() == 0);
  // A private client naming a public address: its NAT'd one; recorded for itself.
  t::probe_tcp(c, st, offer("3405803786", "40123"));  // 203.0.113.10
  CHECK(peers.lookup(Address::parse("10.0.0.1"), Address::parse("10.0.0.1"), 40123, {}) ==
        AppId::kIrc);
  CHECK_FALSE(peers.lookup(Address::parse("10.0.0.1"), Address::parse("203.0.113.10"), 40123, {}));
  // An offer made to this client (from the server side) speaks for this client only.
  t::probe_tcp(c, st,
               ":alice!a@h PRIVMSG bob :\x01"
               "DCC SEND f 167772165 5000 10\x01\r\n",
               Direction::kServerToClient, 5222);
  IrcDcc dcc;
  CHECK(std::holds_alternative<Match>(first_data(dcc, peers, "10.0.0.5", 5000, "10.0.0.1")));
  CHECK(std::holds_alternative<NotMine>(first_data(dcc, peers, "10.0.0.5", 5000, "10.0.0.8")));
}

TEST_CASE("a DCC data connection opened by the client speaking first is not DCC",
          "[irc][regression]") {
  PeerCache peers;
  peers.remember(Address::parse("10.0.0.1"), Address::parse("10.0.0.1"), 51413, AppId::kIrc, {});
  IrcDcc dcc;
  t::Probe d;
  d.ctx.peers = &peers;
  const std::string handshake = std::string(
                                    "\x13"
                                    "BitTorrent protocol") +
                                std::string(48, 'h');
  const auto v = t::ipv4_tcp({.src = "10.0.0.7", .dst = "10.0.0.1", .sport = 51000, .dport = 51413},
                             handshake);
  CHECK(std::holds_alternative<NotMine>(t::probe_packet(dcc, d, v, Direction::kClientToServer)));
  // Never on the SYN: the classifier asks for payload.
  CHECK(dcc.interest().needs_payload);
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

TEST_CASE("DCC CHAT offers name the chat connection, cleartext without file_transfer", "[irc]") {
  PeerCache peers;
  Irc c;
  t::Probe st;
  welcomed(c, st, peers);
  t::probe_tcp(c, st,
               "PRIVMSG alice :\x01"
               "DCC CHAT chat 167772161 20002\x01\r\n");
  IrcDcc dcc;
  const auto chat = [&](const std::string& payload, Direction dir) {
    t::Probe d;
    d.ctx.peers = &peers;
    const bool c2s = dir == Direction::kClientToServer;
    const auto v =
        c2s ? t::ipv4_tcp({.src = "10.0.0.9", .dst = "10.0.0.1", .sport = 51000, .dport = 20002},
                          payload)
            : t::ipv4_tcp({.src = "10.0.0.1", .dst = "10.0.0.9", .sport = 20002, .dport = 51000},
                          payload);
    return t::probe_packet(dcc, d, v, dir);
  };
  for (const auto dir : {Direction::kClientToServer, Direction::kServerToClient}) {
    const auto r = chat("hi alice, chatting directly now\r\n", dir);
    REQUIRE(std::holds_alternative<Match>(r));
    CHECK(std::get<Match>(r).app == AppId::kIrc);
    CHECK(std::get<Match>(r).evidence == Evidence::kCrossFlow);
    CHECK(std::get<Match>(r).features == kFeatureCleartext);
  }
  // Something else on the offered port is not the chat.
  CHECK(std::holds_alternative<NotMine>(chat(
      std::string("\x16\x03\x01\x00\x80") + std::string(128, 'x'), Direction::kClientToServer)));
  CHECK(std::holds_alternative<NotMine>(chat("no newline yet", Direction::kServerToClient)));
  CHECK(std::holds_alternative<NotMine>(
      chat(std::string(1024, 'F') + "\n", Direction::kServerToClient)));
}

TEST_CASE("a forged DCC CHAT offer before the server's welcome teaches nothing", "[irc]") {
  PeerCache peers;
  Irc c;
  t::Probe st;
  st.ctx.peers = &peers;
  // One segment from a client that no IRC server ever answered: the offer must not make
  // the next connection to 10.0.0.1:20002 a cross-flow `irc` chat.
  t::probe_tcp(c, st,
               "NICK a\r\nPRIVMSG b :\x01"
               "DCC CHAT chat 167772161 20002\x01\r\n");
  CHECK(peers.size() == 0);
  IrcDcc dcc;
  t::Probe d;
  d.ctx.peers = &peers;
  const auto r = t::probe_packet(
      dcc, d,
      t::ipv4_tcp({.src = "10.0.0.9", .dst = "10.0.0.1", .sport = 51000, .dport = 20002},
                  "hi alice, chatting directly now\r\n"),
      Direction::kClientToServer);
  CHECK_FALSE(std::holds_alternative<Match>(r));
}

TEST_CASE("DCC CHAT parser", "[irc]") {
  Address a;
  uint16_t port = 0;
  CHECK(parse_dcc_chat("DCC CHAT chat 3232235777 5000", a, port));
  CHECK(a == Address::parse("192.168.1.1"));
  CHECK(port == 5000);
  CHECK(parse_dcc_chat("DCC CHAT chat 2001:db8::1 6000", a, port));
  CHECK_FALSE(parse_dcc_chat("DCC CHAT wboard 3232235777 5000", a, port));
  CHECK_FALSE(parse_dcc_chat("DCC CHAT chat 3232235777", a, port));
  CHECK_FALSE(parse_dcc_chat("DCC SEND f 3232235777 5000 1", a, port));
}
