// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include <random>

#include "classifiers/bittorrent.h"
#include "classifiers/peer_cache.h"
#include "p2p_probe.h"
#include "packet_builder.h"

using namespace imguard::classifiers;
using imguard::packet::PacketView;
namespace t = imguard::test;

namespace {

/// Feeds packets of one TCP flow (client 10.0.0.1:51000 → 198.51.100.2:23456) through one
/// classifier instance with a shared peer cache, as the chain would.
struct Flow : t::P2pFlow<Bittorrent> {
  Flow() {
    client_port = 51000;
    port = 23456;
  }
};

const std::string kHandshake = std::string(
                                   "\x13"
                                   "BitTorrent protocol") +
                               std::string(8, '\0') + std::string(20, 'h');

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) {
    c = static_cast<char>(rng() & 0xff);
  }
  return s;
}

imguard::packet::Address addr(const char* s) {
  return imguard::packet::Address::parse(s);
}

}  // namespace

TEST_CASE("BitTorrent handshake matches on any port and marks the listener", "[bittorrent]") {
  Flow f;
  const auto r = f.c2s(kHandshake);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kBittorrent);
  CHECK(std::get<Match>(r).evidence == Evidence::kDpi);
  CHECK((std::get<Match>(r).features & kFeatureFileTransfer) != 0);
  CHECK((std::get<Match>(r).features & kFeaturePeer) != 0);
  // The responder is a peer listener; the initiator a BitTorrent host.
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("198.51.100.2"), 23456, {}) == AppId::kBittorrent);
  CHECK(f.cache.lookup_host(addr("10.0.0.1"), {}) == AppId::kBittorrent);
  CHECK_FALSE(f.cache.lookup(addr("198.51.100.2"), addr("10.0.0.1"), 51000, {}));
}

TEST_CASE("BitTorrent look-alikes are not matched", "[bittorrent]") {
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("GET /index.html?info_hash=x HTTP/1.1\r\n")));
  CHECK(
      std::holds_alternative<NotMine>(Flow{}.c2s("\x13"
                                                 "BitTorrent protocoX" +
                                                 kHandshake)));
  CHECK(
      std::holds_alternative<NotMine>(Flow{}.c2s("\x12"
                                                 "BitTorrent protocol")));
  // A split first segment waits for more; the same prefix later in the flow does not.
  Flow split;
  CHECK(
      std::holds_alternative<NeedMore>(split.c2s("\x13"
                                                 "BitTor")));
  CHECK(
      std::holds_alternative<NotMine>(split.c2s("\x13"
                                                "BitTor")));
}

TEST_CASE("HTTP tracker announce is held until the response feeds the cache", "[bittorrent]") {
  Flow f;
  const auto req = f.c2s(
      "GET /announce?info_hash=%12%34&peer_id=-TR3000-abcdefghijkl&port=51413&uploaded=0 "
      "HTTP/1.1\r\nHost: tracker\r\n\r\n");
  REQUIRE(std::holds_alternative<NeedMore>(req));
  CHECK(std::get<NeedMore>(req).hold == Hold::kClaim);
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("10.0.0.1"), 51413, {}) == AppId::kBittorrent);
  const std::string peers = t::bytes({198, 51, 100, 9, 0x1a, 0xe1, 203, 0, 113, 4, 0xc8, 0xd5});
  const auto resp = f.s2c(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nd8:intervali1800e5:peers12:" + peers +
      "e");
  REQUIRE(std::holds_alternative<Match>(resp));
  CHECK((std::get<Match>(resp).features & kFeaturePeer) == 0);
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("198.51.100.9"), 6881, {}) == AppId::kBittorrent);
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("203.0.113.4"), 51413, {}) == AppId::kBittorrent);
}

TEST_CASE("HTTP tracker scrape matches; ordinary GETs do not", "[bittorrent]") {
  Flow scrape;
  CHECK(std::holds_alternative<NeedMore>(
      scrape.c2s("GET /scrape?info_hash=%aa%bb HTTP/1.0\r\n\r\n")));
  CHECK(std::holds_alternative<Match>(scrape.s2c("HTTP/1.0 200 OK\r\n\r\nd5:filesdee")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("GET /search?q=peer_id HTTP/1.1\r\n\r\n")));
  CHECK(std::holds_alternative<NotMine>(
      Flow{}.c2s("GET /announce HTTP/1.1\r\nX: info_hash=1&peer_id=2\r\n\r\n")));
}

TEST_CASE("MSE key exchange from a known BitTorrent host matches by behaviour", "[bittorrent]") {
  Flow f;
  f.cache.remember_host(addr("10.0.0.1"), AppId::kBittorrent, {});
  CHECK(std::holds_alternative<NeedMore>(f.c2s(random_bytes(96 + 137, 1))));
  const auto r = f.s2c(random_bytes(96 + 20, 2));
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).evidence == Evidence::kBehaviour);
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("198.51.100.2"), 23456, {}) == AppId::kBittorrent);
}

TEST_CASE("MSE-sized blobs are not taken for BitTorrent without other signals", "[bittorrent]") {
  Flow known;
  known.cache.remember_host(addr("10.0.0.1"), AppId::kBittorrent, {});
  // Too short for a DH key, or not random, or framed: not MSE.
  CHECK(std::holds_alternative<NotMine>(Flow{known}.c2s(random_bytes(95, 4))));
  CHECK(std::holds_alternative<NotMine>(Flow{known}.c2s(std::string(200, 'A'))));
  std::string tls = random_bytes(200, 5);
  tls[0] = 0x16, tls[1] = 0x03, tls[2] = 0x01;
  CHECK(std::holds_alternative<NotMine>(Flow{known}.c2s(tls)));
  std::string prefixed = random_bytes(200, 6);
  prefixed[0] = 0, prefixed[1] = static_cast<char>(198);
  CHECK(std::holds_alternative<NotMine>(Flow{known}.c2s(prefixed)));
  // A random request answered by a short or structured reply is not a DH exchange.
  Flow answer = known;
  CHECK(std::holds_alternative<NeedMore>(answer.c2s(random_bytes(150, 7))));
  CHECK(std::holds_alternative<NotMine>(answer.s2c("HTTP/1.1 400 Bad Request\r\n\r\n")));
}

TEST_CASE("MSE between unknown hosts needs the whole DH exchange", "[bittorrent]") {
  Flow f;
  CHECK(std::holds_alternative<NeedMore>(f.c2s(random_bytes(96 + 460, 11))));
  CHECK(std::holds_alternative<NeedMore>(f.s2c(random_bytes(96 + 182, 12))));
  CHECK(std::holds_alternative<NeedMore>(f.c2s(random_bytes(534, 13))));
  CHECK(std::holds_alternative<NeedMore>(f.s2c(random_bytes(175, 24))));
  // The initiator's encrypted 68-byte peer-wire handshake (libtorrent, aria2).
  const auto r = f.c2s(random_bytes(68, 25));
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).evidence == Evidence::kBehaviour);
  CHECK(f.cache.lookup(addr("10.0.0.1"), addr("198.51.100.2"), 23456, {}) == AppId::kBittorrent);

  // The handshake as IA inside a request without PadC: 124 bytes (Transmission's layout).
  Flow ia;
  CHECK(std::holds_alternative<NeedMore>(ia.c2s(random_bytes(96 + 100, 26))));
  CHECK(std::holds_alternative<NeedMore>(ia.s2c(random_bytes(96 + 50, 27))));
  CHECK(std::holds_alternative<Match>(ia.c2s(random_bytes(124, 28))));

  // Key and answer alone are not enough; a short or structured third message refutes it.
  Flow short_req;
  CHECK(std::holds_alternative<NeedMore>(short_req.c2s(random_bytes(200, 14))));
  CHECK(std::holds_alternative<NeedMore>(short_req.s2c(random_bytes(200, 15))));
  CHECK(std::holds_alternative<NotMine>(short_req.c2s(random_bytes(40, 16))));
  Flow text_req;
  CHECK(std::holds_alternative<NeedMore>(text_req.c2s(random_bytes(200, 17))));
  CHECK(std::holds_alternative<NeedMore>(text_req.s2c(random_bytes(200, 18))));
  CHECK(std::holds_alternative<NotMine>(text_req.c2s(std::string(120, 'x'))));
  // The initiator may not talk twice before the answer (it needs Yb to go on).
  Flow chatty;
  CHECK(std::holds_alternative<NeedMore>(chatty.c2s(random_bytes(200, 19))));
  CHECK(std::holds_alternative<NeedMore>(chatty.c2s(random_bytes(200, 20))));
  CHECK(std::holds_alternative<NotMine>(chatty.s2c(random_bytes(200, 21))));
}

TEST_CASE("Random payload with random sizes is not MSE", "[bittorrent][negative]") {
  // An encrypted protocol without framing, request/response, sizes drawn at random: the
  // first three messages fit MSE's sizes, but no 68-byte handshake follows.
  std::mt19937 rng(7);
  int matched = 0;
  for (uint32_t seed = 0; seed < 200; ++seed) {
    Flow f;
    Result r = f.c2s(random_bytes(96 + rng() % 512, seed * 8 + 1));
    r = f.s2c(random_bytes(96 + rng() % 512, seed * 8 + 2));
    for (uint32_t round = 0; round < 6 && std::holds_alternative<NeedMore>(r); ++round) {
      r = f.c2s(random_bytes(69 + rng() % 1391, seed * 8 + 3 + round));
      if (std::holds_alternative<NeedMore>(r)) {
        r = f.s2c(random_bytes(1 + rng() % 1460, seed * 8 + 4 + round));
      }
    }
    matched += std::holds_alternative<Match>(r) ? 1 : 0;
  }
  CHECK(matched == 0);
  // The request is followed by another size than 68: not MSE.
  Flow f;
  CHECK(std::holds_alternative<NeedMore>(f.c2s(random_bytes(300, 31))));
  CHECK(std::holds_alternative<NeedMore>(f.s2c(random_bytes(300, 32))));
  CHECK(std::holds_alternative<NeedMore>(f.c2s(random_bytes(300, 33))));
  CHECK(std::holds_alternative<NeedMore>(f.s2c(random_bytes(300, 34))));
  CHECK(std::holds_alternative<NotMine>(f.c2s(random_bytes(69, 35))));
}

TEST_CASE("MSE-shaped exchanges to service ports are not BitTorrent", "[bittorrent]") {
  for (const uint16_t port : {uint16_t{443}, uint16_t{8443}, uint16_t{9001}}) {
    Flow f;
    f.port = port;
    CHECK(std::holds_alternative<NeedMore>(f.c2s(random_bytes(200, 22))));
    CHECK(std::holds_alternative<NotMine>(f.s2c(random_bytes(200, 23))));
  }
}
