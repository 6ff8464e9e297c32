// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/bittorrent_bencode.h"
#include "classifiers/bittorrent_udp.h"
#include "classifiers/peer_cache.h"
#include "p2p_probe.h"
#include "packet_builder.h"

using namespace imguard::classifiers;
using imguard::packet::PacketView;
namespace t = imguard::test;

namespace {

struct Flow : t::P2pFlow<BittorrentUdp> {
  Flow() {
    udp = true;
    client_port = 51000;
    port = 6881;
  }
};

std::string be16(uint16_t v) {
  return t::bytes({v >> 8, v & 0xff});
}
std::string be32(uint32_t v) {
  return be16(static_cast<uint16_t>(v >> 16)) + be16(static_cast<uint16_t>(v));
}

/// A BEP 29 header: type, extension, connection id, timestamps, window, seq, ack.
std::string utp(int type, uint16_t conn, uint16_t seq, uint16_t ack, int ext = 0) {
  return t::bytes({(type << 4) | 1, ext}) + be16(conn) + be32(0x11223344) + be32(0) +
         be32(0x100000) + be16(seq) + be16(ack);
}

std::string bstr(const std::string& s) {
  return std::to_string(s.size()) + ":" + s;
}
const std::string kId(20, 'N');

imguard::packet::Address addr(const char* s) {
  return imguard::packet::Address::parse(s);
}

}  // namespace

TEST_CASE("uTP: SYN answered by a STATE with the tied id and ack matches", "[bittorrent_udp]") {
  Flow f;
  const auto syn = f.c2s(utp(4, 0x4567, 0x23c6, 0));
  REQUIRE(std::holds_alternative<NeedMore>(syn));
  CHECK(std::get<NeedMore>(syn).hold == Hold::kClaim);
  // Extension 2 (8 bytes of extension bits) on the answer, as clients send it.
  const auto state =
      f.s2c(utp(2, 0x4567, 0x0100, 0x23c6, 2) + t::bytes({0, 8}) + std::string(8, '\0'));
  REQUIRE(std::holds_alternative<Match>(state));
  CHECK((std::get<Match>(state).features & kFeaturePeer) != 0);
  CHECK(f.cache.lookup(addr("198.51.100.2"), addr("10.0.0.1"), 51000, {}) == AppId::kBittorrent);
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("198.51.100.2"), 6881, {}) == AppId::kBittorrent);
}

TEST_CASE("uTP mid-flow: DATA both ways with neighbouring ids matches", "[bittorrent_udp]") {
  Flow f;
  CHECK(std::holds_alternative<NeedMore>(f.c2s(utp(0, 0x1001, 500, 70) + "payload")));
  CHECK(std::holds_alternative<Match>(f.s2c(utp(0, 0x1000, 71, 498) + "more")));
}

TEST_CASE("uTP look-alikes are refused", "[bittorrent_udp]") {
  // Wrong version nibble, unknown type, data on a SYN, broken extension chain.
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(t::bytes({0x42, 0}) + std::string(18, 'x'))));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(t::bytes({0x51, 0}) + std::string(18, 'x'))));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(utp(4, 1, 1, 0) + "data")));
  CHECK(
      std::holds_alternative<NotMine>(Flow{}.c2s(utp(2, 1, 1, 0, 1) + t::bytes({0, 3, 1, 2, 3}))));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(utp(2, 1, 1, 0, 1) + t::bytes({0, 8, 1}))));
  // A reply whose connection id is unrelated is not the same uTP connection.
  Flow f;
  CHECK(std::holds_alternative<NeedMore>(f.c2s(utp(4, 0x4567, 10, 0))));
  CHECK(std::holds_alternative<NotMine>(f.s2c(utp(2, 0x9999, 1, 10))));
  // A lone unanswered SYN is still uTP when the flow ends; one lone DATA packet is not.
  Flow lone;
  CHECK(std::holds_alternative<NeedMore>(lone.c2s(utp(4, 7, 1, 0))));
  CHECK(lone.end().has_value());
  Flow data;
  CHECK(std::holds_alternative<NeedMore>(data.c2s(utp(0, 7, 1, 0) + "x")));
  CHECK_FALSE(data.end().has_value());
}

TEST_CASE("Game datagrams shaped like uTP headers are not BitTorrent",
          "[bittorrent_udp][negative]") {
  const std::string magic = t::bytes({0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe, 0xfd, 0xfd,
                                      0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78});
  SECTION("RakNet unconnected pings (0x01, time, offline magic), unanswered") {
    Flow f;
    for (int i = 0; i < 5; ++i) {
      const std::string ping = t::bytes({0x01, 0, 0, 0, 0, 0, 0, 0x13, static_cast<uint8_t>(i)}) +
                               magic + std::string(8, '\x42');
      CHECK(std::holds_alternative<NotMine>(f.c2s(ping)));
    }
    CHECK_FALSE(f.end().has_value());
  }
  SECTION("an echoed session token in the connection-id bytes, no SYN") {
    Flow f;
    CHECK(std::holds_alternative<NeedMore>(f.c2s(utp(0, 0x2222, 0, 0) + "move")));
    CHECK(std::holds_alternative<NotMine>(f.s2c(utp(0, 0x2222, 0, 0) + "state")));
  }
  SECTION("a run of uTP-shaped DATA whose seq_nr does not advance") {
    Flow f;
    CHECK(std::holds_alternative<NeedMore>(f.c2s(utp(0, 9, 0xfefd, 0) + "tick")));
    CHECK(std::holds_alternative<NotMine>(f.c2s(utp(0, 9, 0xfefd, 0) + "tick")));
    CHECK_FALSE(f.end().has_value());
    Flow random_seq;
    CHECK(std::holds_alternative<NeedMore>(random_seq.c2s(utp(0, 9, 100, 0) + "a")));
    CHECK(std::holds_alternative<NotMine>(random_seq.c2s(utp(0, 9, 40000, 0) + "b")));
  }
  SECTION("real uTP DATA advancing by one still counts when unanswered") {
    Flow f;
    for (uint16_t seq = 500; seq < 503; ++seq) {
      CHECK(std::holds_alternative<NeedMore>(f.c2s(utp(0, 9, seq, 0) + "piece")));
    }
    CHECK(f.end().has_value());
  }
}

TEST_CASE("DHT query is held until the reply, whose nodes and values feed the cache",
          "[bittorrent_udp]") {
  Flow f;
  const std::string q = "d1:ad2:id" + bstr(kId) + "9:info_hash" + bstr(std::string(20, 'I')) +
                        "e1:q9:get_peers1:t2:aa1:y1:qe";
  const auto r1 = f.c2s(q);
  REQUIRE(std::holds_alternative<NeedMore>(r1));
  CHECK(std::get<NeedMore>(r1).hold == Hold::kClaim);
  const std::string node =
      kId + t::bytes({203, 0, 113, 5, 0x1a, 0xe1}) + kId + t::bytes({203, 0, 113, 6, 0x00, 0x35});
  const std::string value = t::bytes({198, 51, 100, 77, 0xc8, 0xd5});
  const std::string r = "d1:rd2:id" + bstr(kId) + "5:nodes" + bstr(node) + "6:valuesl" +
                        bstr(value) + "ee1:t2:aa1:y1:re";
  const auto r2 = f.s2c(r);
  REQUIRE(std::holds_alternative<Match>(r2));
  CHECK((std::get<Match>(r2).features & kFeaturePeer) == 0);
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("203.0.113.5"), 6881, {}) == AppId::kBittorrent);
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("198.51.100.77"), 51413, {}) == AppId::kBittorrent);
  // A node listed on port 53 is not learned: DNS to it stays DNS.
  CHECK_FALSE(f.cache.lookup(addr("10.0.0.1"), addr("203.0.113.6"), 53, {}));
}

TEST_CASE("DHT look-alikes: bencode that is not KRPC, or is cut short", "[bittorrent_udp]") {
  const std::string ping = "d1:ad2:id" + bstr(kId) + "e1:q4:ping1:t2:aa1:y1:qe";
  CHECK(std::holds_alternative<NeedMore>(Flow{}.c2s(ping)));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(ping.substr(0, ping.size() - 1))));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(ping + "e")));
  // Short node id, "y" not q/r/e, no transaction id.
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("d1:ad2:id5:shorte1:q4:ping1:t2:aa1:y1:qe")));
  CHECK(std::holds_alternative<NotMine>(
      Flow{}.c2s("d1:ad2:id" + bstr(kId) + "e1:q4:ping1:t2:aa1:y1:xe")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("d1:ad2:id" + bstr(kId) + "e1:q4:ping1:y1:qe")));
  // A string length running past the datagram.
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("d1:ad2:id99:" + kId + "e1:t2:aa1:y1:qe")));
  // Deep nesting is refused, not recursed into without bound.
  CHECK(std::holds_alternative<NotMine>(
      Flow{}.c2s("d1:a" + std::string(500, 'l') + std::string(500, 'e') + "1:t2:aa1:y1:qe")));
}

TEST_CASE("bencode reader stays inside its input", "[bittorrent_udp]") {
  const auto b = [](const std::string& s) {
    return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  const std::string d = "d3:fooi-42e3:bar4:spame";
  CHECK(bencode::skip(b(d), 0) == d.size());
  REQUIRE(bencode::find_string(b(d), 0, "bar"));
  CHECK(bencode::find_string(b(d), 0, "bar")->size() == 4);
  CHECK_FALSE(bencode::find_string(b(d), 0, "foo"));  // an integer, not a string
  CHECK_FALSE(bencode::skip(b("i12"), 0));
  CHECK_FALSE(bencode::skip(b("ie"), 0));
  CHECK_FALSE(bencode::skip(b("4:abc"), 0));
  CHECK_FALSE(bencode::skip(b("999999999999:x"), 0));
  const std::string cut = "d5:peers12:abcdef";
  REQUIRE(bencode::find_string_prefix(b(cut), 0, "peers"));
  CHECK(bencode::find_string_prefix(b(cut), 0, "peers")->size() == 6);
}

TEST_CASE("UDP tracker connect and announce; peers from the reply", "[bittorrent_udp]") {
  Flow f;
  const std::string magic = t::bytes({0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80});
  const auto r1 = f.c2s(magic + be32(0) + be32(0xabcd));
  REQUIRE(std::holds_alternative<NeedMore>(r1));
  CHECK(std::get<NeedMore>(r1).hold == Hold::kClaim);
  CHECK(std::holds_alternative<NeedMore>(f.s2c(be32(0) + be32(0xabcd) + std::string(8, 'C'))));
  const std::string announce = std::string(8, 'C') + be32(1) + be32(0x1234) + std::string(40, 'h') +
                               std::string(24, '\0') + be32(2) + be32(0) + be32(7) + be32(50) +
                               be16(51413);
  REQUIRE(announce.size() == 98);
  CHECK(std::holds_alternative<NeedMore>(f.c2s(announce)));
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("10.0.0.1"), 51413, {}) == AppId::kBittorrent);
  const auto r4 = f.s2c(be32(1) + be32(0x1234) + be32(1800) + be32(1) + be32(2) +
                        t::bytes({198, 51, 100, 30, 0x1a, 0xe1}));
  REQUIRE(std::holds_alternative<Match>(r4));
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("198.51.100.30"), 6881, {}) == AppId::kBittorrent);
}

TEST_CASE("UDP tracker look-alikes", "[bittorrent_udp]") {
  // Wrong magic, or right magic with a non-connect action.
  CHECK(std::holds_alternative<NotMine>(
      Flow{}.c2s(t::bytes({0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x81}) + be32(0) + be32(1))));
  CHECK(std::holds_alternative<NotMine>(
      Flow{}.c2s(t::bytes({0, 0, 0x04, 0x17, 0x27, 0x10, 0x19, 0x80}) + be32(1) + be32(1))));
  // An announce-shaped request answered with another transaction id is not a tracker.
  Flow f;
  const std::string announce = std::string(8, 'C') + be32(1) + be32(0x1234) + std::string(40, 'h') +
                               std::string(24, '\0') + be32(2) + std::string(14, '\0');
  CHECK(std::holds_alternative<NeedMore>(f.c2s(announce)));
  CHECK(std::holds_alternative<NotMine>(f.s2c(be32(1) + be32(0x9999) + std::string(12, '\0'))));
}

TEST_CASE("Local peer discovery gives the announcer's port", "[bittorrent_udp]") {
  Flow f;
  const auto r = f.c2s(
      "BT-SEARCH * HTTP/1.1\r\nHost: 239.192.152.143:6771\r\nPort: 51413\r\nInfohash: "
      "0123456789abcdef0123456789abcdef01234567\r\n\r\n\r\n");
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("10.0.0.1"), 51413, {}) == AppId::kBittorrent);
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("M-SEARCH * HTTP/1.1\r\nHost: x\r\n\r\n")));
}

TEST_CASE("a contradicted uTP SYN is not claimed when the flow ends", "[bittorrent_udp]") {
  Flow f;
  CHECK(std::holds_alternative<NeedMore>(f.c2s(utp(4, 0x1234, 10, 0))));
  CHECK(std::holds_alternative<NotMine>(f.s2c(utp(2, 0x9999, 1, 10))));
  CHECK_FALSE(f.end().has_value());
  Flow g;
  CHECK(std::holds_alternative<NeedMore>(g.c2s(utp(4, 0x1234, 10, 0))));
  CHECK(std::holds_alternative<NotMine>(g.c2s("not utp at all, just text")));
  CHECK_FALSE(g.end().has_value());
}

TEST_CASE("DHT over IPv6: nodes6 entries feed the cache", "[bittorrent_udp]") {
  Flow f;
  f.v6 = true;
  const std::string q = "d1:ad2:id" + bstr(kId) + "6:target" + bstr(std::string(20, 'T')) +
                        "e1:q9:find_node1:t2:bb1:y1:qe";
  CHECK(std::holds_alternative<NeedMore>(f.c2s(q)));
  const std::string node6 =
      kId + t::bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42, 0x1a, 0xe9});
  const auto r = f.s2c("d1:rd2:id" + bstr(kId) + "6:nodes6" + bstr(node6) + "e1:t2:bb1:y1:re");
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(f.cache.lookup(addr("2001:db8::1"), addr("2001:db8::42"), 6889, {}) == AppId::kBittorrent);
  CHECK(f.cache.lookup(addr("2001:db8::2"), addr("2001:db8::1"), 51000, {}) == AppId::kBittorrent);
}

TEST_CASE("DHT replies teach only the querying host, and only for its own query",
          "[bittorrent_udp][regression]") {
  const std::string node = kId + t::bytes({203, 0, 113, 10, 0x15, 0x38});  // :5432
  const std::string reply_aa = "d1:rd2:id" + bstr(kId) + "5:nodes" + bstr(node) + "e1:t2:aa1:y1:re";
  // Attack: one unsolicited reply-shaped datagram. KRPC framing (the flow is DHT), but it
  // answers no query of this flow: nothing is learned, for anyone.
  Flow forged;
  CHECK(std::holds_alternative<Match>(forged.s2c(reply_aa)));
  CHECK_FALSE(forged.cache.lookup(addr("10.0.0.1"), addr("203.0.113.10"), 5432, {}));
  CHECK(forged.cache.size() == 0);
  // A reply with another transaction id than the query's teaches nothing either.
  Flow wrong;
  const std::string q = "d1:ad2:id" + bstr(kId) + "6:target" + bstr(std::string(20, 'T')) +
                        "e1:q9:find_node1:t2:zz1:y1:qe";
  CHECK(std::holds_alternative<NeedMore>(wrong.c2s(q)));
  CHECK(std::holds_alternative<Match>(wrong.s2c(reply_aa)));
  CHECK(wrong.cache.size() == 0);
  // The answer to the query: learned for the querier (10.0.0.1) only, not for other hosts.
  Flow ok;
  const std::string qa = "d1:ad2:id" + bstr(kId) + "6:target" + bstr(std::string(20, 'T')) +
                         "e1:q9:find_node1:t2:aa1:y1:qe";
  CHECK(std::holds_alternative<NeedMore>(ok.c2s(qa)));
  CHECK(std::holds_alternative<Match>(ok.s2c(reply_aa)));
  CHECK(ok.cache.lookup(addr("10.0.0.1"), addr("203.0.113.10"), 5432, {}) == AppId::kBittorrent);
  CHECK_FALSE(ok.cache.lookup(addr("10.0.0.9"), addr("203.0.113.10"), 5432, {}));
}
