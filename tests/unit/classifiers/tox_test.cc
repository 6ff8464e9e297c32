// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include <random>

#include "classifiers/tox.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {
constexpr auto kC2S = Direction::kClientToServer;
constexpr auto kS2C = Direction::kServerToClient;

std::string noise(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) {
    c = static_cast<char>(rng() & 0xff);
  }
  return s;
}

// kind, sender DHT key, nonce, then `sealed` bytes of crypto_box output (MAC + plaintext).
std::string dht(int kind, const std::string& key, size_t sealed, uint32_t seed) {
  return std::string(1, static_cast<char>(kind)) + key + noise(24 + sealed, seed);
}

const std::string kKeyA = noise(32, 1);
const std::string kKeyB = noise(32, 2);

std::string ping(int kind, const std::string& key, uint32_t seed) {
  return dht(kind, key, 16 + 9, seed);  // 82 bytes
}
std::string nodes_request(const std::string& key, uint32_t seed) {
  return dht(0x02, key, 16 + 40, seed);  // 113 bytes
}
std::string nodes_response(const std::string& key, size_t v4_nodes, uint32_t seed) {
  return dht(0x04, key, 16 + 9 + 39 * v4_nodes, seed);
}
}  // namespace

TEST_CASE("Tox DHT exchange is tox on the third packet", "[tox]") {
  Tox c;
  t::Probe st;
  CHECK(
      std::holds_alternative<NeedMore>(t::probe_udp(c, st, nodes_request(kKeyB, 10), kC2S, 33445)));
  CHECK(std::holds_alternative<NeedMore>(
      t::probe_udp(c, st, nodes_response(kKeyA, 0, 11), kS2C, 33445)));
  const auto r = t::probe_udp(c, st, ping(0x00, kKeyA, 12), kS2C, 33445);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kTox);
  CHECK(std::get<Match>(r).evidence == Evidence::kDpi);
}

TEST_CASE("Tox onion and announce packets between DHT packets do not break the match", "[tox]") {
  Tox c;
  t::Probe st;
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, ping(0x00, kKeyA, 20), kC2S)));
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, "\x80" + noise(402, 21), kC2S)));
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, ping(0x01, kKeyB, 22), kS2C)));
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, "\x94" + noise(147, 23), kS2C)));
  const auto r = t::probe_udp(c, st, nodes_response(kKeyB, 4, 24), kS2C);
  REQUIRE(std::holds_alternative<Match>(r));
}

TEST_CASE("Tox nodes responses only fit whole node records", "[tox]") {
  Tox c;
  t::Probe st;
  // 82 + 40: no mix of 39- and 51-byte nodes adds up to 40.
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, st, dht(0x04, kKeyA, 16 + 9 + 40, 30))));
  t::Probe five;
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, five, nodes_response(kKeyA, 5, 31))));
}

TEST_CASE("Random 82-byte datagrams with a 0x00/0x01 first byte are not tox", "[tox]") {
  Tox c;
  t::Probe st;
  CHECK(std::holds_alternative<NeedMore>(
      t::probe_udp(c, st, std::string(1, '\0') + noise(81, 40), kC2S)));
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, "\x01" + noise(81, 41), kS2C)));
  // A third packet would match only if it repeated one side's 32 key bytes.
  CHECK(std::holds_alternative<NotMine>(
      t::probe_udp(c, st, std::string(1, '\0') + noise(81, 42), kC2S)));
}

TEST_CASE("Both sides with the same key are not two Tox nodes", "[tox]") {
  Tox c;
  t::Probe st;
  CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, ping(0x00, kKeyA, 50), kC2S)));
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, st, ping(0x01, kKeyA, 51), kS2C)));
}

TEST_CASE("Zero-padded look-alikes are not tox", "[tox]") {
  Tox c;
  t::Probe st;
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, st, std::string(82, '\0'))));
}

TEST_CASE("RTP is not tox", "[tox]") {
  Tox c;
  t::Probe st;
  // RTP version 2, payload type 0 (PCMU), 160 samples: the first byte falls in the onion
  // range, so the classifier waits, but no DHT packet ever comes.
  uint16_t seq = 1000;
  for (int i = 0; i < 3; ++i, ++seq) {
    std::string rtp = t::bytes({0x80, 0x00});
    t::put16(rtp, seq);
    rtp += t::bytes({0, 0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef}) + noise(160, 60 + seq);
    CHECK(std::holds_alternative<NeedMore>(t::probe_udp(c, st, rtp, i % 2 ? kS2C : kC2S, 5004)));
  }
  std::string rtp = t::bytes({0x80, 0x00});
  t::put16(rtp, seq);
  rtp += t::bytes({0, 0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef}) + noise(160, 99);
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, st, rtp, kS2C, 5004)));
  t::Probe marked;  // RTP with a header extension (0x90): outside every Tox kind
  std::string dyn = t::bytes({0x90, 0xe0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4}) + noise(100, 70);
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, marked, dyn, kC2S, 5004)));
}

TEST_CASE("DNS is not tox", "[tox]") {
  Tox c;
  t::Probe st;
  const std::string query = t::bytes({0x00, 0x01, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}) +
                            "\x07"
                            "example"
                            "\x03"
                            "com" +
                            t::bytes({0, 0, 1, 0, 1});
  CHECK(std::holds_alternative<NotMine>(t::probe_udp(c, st, query, kC2S, 53)));
}
