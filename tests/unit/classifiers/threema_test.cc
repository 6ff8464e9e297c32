// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include <random>

#include "classifiers/threema.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {

constexpr auto kC2s = Direction::kClientToServer;
constexpr auto kS2c = Direction::kServerToClient;

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& ch : s) {
    ch = static_cast<char>(rng() & 0xff);
  }
  return s;
}

// A frame as the chat server and client write it: 16-bit little-endian length, then a box.
std::string frame(std::mt19937& rng, size_t box) {
  std::string f;
  f.push_back(static_cast<char>(box & 0xff));
  f.push_back(static_cast<char>(box >> 8));
  return f + random_bytes(rng, box);
}

// The client's hello: a temporary public key (top bit of its last byte clear) and a cookie.
std::string client_hello(std::mt19937& rng) {
  std::string h = random_bytes(rng, 48);
  h[31] = static_cast<char>(h[31] & 0x7f);
  h[0] = 0x5a;  // never its own length
  return h;
}

// One TCP connection whose start was seen; each direction's sequence numbers advance with
// the bytes sent, and `resend` repeats earlier bytes.
class Session {
 public:
  explicit Session(uint16_t port = 5222) : port_(port) { st_.ctx.start_seen = true; }

  Result send(Direction d, const std::string& payload) {
    const size_t i = static_cast<size_t>(d);
    auto r = send_at(d, payload, offset_[i]);
    offset_[i] += static_cast<uint32_t>(payload.size());
    return r;
  }
  Result send_at(Direction d, const std::string& payload, uint32_t offset) {
    t::Endpoints e{.sport = 40000, .dport = port_};
    if (d == kS2c) {
      e = t::Endpoints{.src = "10.0.0.2", .dst = "10.0.0.1", .sport = port_, .dport = 40000};
    }
    return t::probe_packet(c_, st_, t::seq_plus(t::ipv4_tcp(e, payload), offset), d);
  }
  t::Probe& probe() { return st_; }

 private:
  Threema c_;
  t::Probe st_;
  uint16_t port_;
  uint32_t offset_[2] = {0, 0};
};

bool is_match(const Result& r) {
  return std::holds_alternative<Match>(r);
}
bool is_need_more(const Result& r) {
  return std::holds_alternative<NeedMore>(r);
}

// Handshake up to and including the login; returns the last answer.
Result handshake(Session& s, std::mt19937& rng, size_t login) {
  REQUIRE(is_need_more(s.send(kC2s, client_hello(rng))));
  std::string server_hello = random_bytes(rng, 80);
  server_hello[0] = 0x11;
  REQUIRE(is_need_more(s.send(kS2c, server_hello)));
  std::string login_box = random_bytes(rng, login);
  return s.send(kC2s, login_box);
}

std::string login_ack(std::mt19937& rng) {
  std::string a = random_bytes(rng, 32);
  a[0] = 0x33;
  return a;
}

}  // namespace

TEST_CASE("Threema handshake and two whole frames match as behaviour", "[classifiers][threema]") {
  for (const size_t login : {size_t{144}, size_t{164}, size_t{231}}) {
    std::mt19937 rng(static_cast<uint32_t>(login));
    Session s;
    REQUIRE(is_need_more(handshake(s, rng, login)));
    // The acknowledgement and the first queued message in one segment.
    REQUIRE(is_need_more(s.send(kS2c, login_ack(rng) + frame(rng, 100))));
    const auto r = s.send(kC2s, frame(rng, 36));
    REQUIRE(is_match(r));
    CHECK(std::get<Match>(r).app == AppId::kThreema);
    CHECK(std::get<Match>(r).evidence == Evidence::kBehaviour);
  }
}

TEST_CASE("Threema messages split anywhere across segments still match", "[classifiers][threema]") {
  std::mt19937 rng(7);
  Session s(443);
  const std::string hello = client_hello(rng);
  REQUIRE(is_need_more(s.send(kC2s, hello.substr(0, 20))));
  REQUIRE(is_need_more(s.send(kC2s, hello.substr(20))));
  std::string server_hello = random_bytes(rng, 80);
  server_hello[0] = 0x11;
  REQUIRE(is_need_more(s.send(kS2c, server_hello.substr(0, 50))));
  REQUIRE(is_need_more(s.send(kS2c, server_hello.substr(50))));
  const std::string login = random_bytes(rng, 200);
  REQUIRE(is_need_more(s.send(kC2s, login.substr(0, 144))));
  REQUIRE(is_need_more(s.send(kC2s, login.substr(144))));
  // The acknowledgement alone, then a frame whose length straddles two segments and a
  // long frame over three.
  REQUIRE(is_need_more(s.send(kS2c, login_ack(rng))));
  const std::string stream = frame(rng, 40) + frame(rng, 3000);
  REQUIRE(is_need_more(s.send(kS2c, stream.substr(0, 1))));
  REQUIRE(is_need_more(s.send(kS2c, stream.substr(1, 1400))));
  REQUIRE(is_need_more(s.send(kS2c, stream.substr(1401, 1400))));
  // A retransmission of bytes already seen changes nothing.
  REQUIRE(is_need_more(s.send_at(kS2c, stream.substr(1, 1400), 80 + 32 + 1)));
  REQUIRE(is_need_more(s.send(kS2c, stream.substr(2801))));  // the first aligned frame
  REQUIRE(is_match(s.send(kC2s, frame(rng, 52))));
}

TEST_CASE("Threema's client hello must be a curve point and unframed", "[classifiers][threema]") {
  std::mt19937 rng(3);
  {
    Session s;
    std::string hello = client_hello(rng);
    hello[31] = static_cast<char>(hello[31] | 0x80);  // above 2^255: no X25519 public key
    CHECK(std::holds_alternative<NotMine>(s.send(kC2s, hello)));
  }
  {
    Session s;
    std::string hello = client_hello(rng);
    hello[0] = 46;  // 16-bit little-endian length of the rest
    hello[1] = 0;
    CHECK(std::holds_alternative<NotMine>(s.send(kC2s, hello)));
  }
  {
    Session s;
    CHECK(std::holds_alternative<NotMine>(s.send(kC2s, client_hello(rng) + "x")));
  }
  {
    Session s;  // the server speaks first
    CHECK(std::holds_alternative<NotMine>(s.send(kS2c, client_hello(rng))));
  }
  {
    Session s;  // a capture that starts mid-connection
    s.probe().ctx.start_seen = false;
    CHECK(std::holds_alternative<NotMine>(s.send(kC2s, client_hello(rng))));
  }
}

TEST_CASE("Threema's speakers take turns with fixed sizes", "[classifiers][threema]") {
  std::mt19937 rng(11);
  SECTION("the client adds to its hello before the server's") {
    Session s;
    REQUIRE(is_need_more(s.send(kC2s, client_hello(rng))));
    CHECK(std::holds_alternative<NotMine>(s.send(kC2s, random_bytes(rng, 144))));
  }
  SECTION("a server hello of another size") {
    Session s;
    REQUIRE(is_need_more(s.send(kC2s, client_hello(rng))));
    CHECK(std::holds_alternative<NotMine>(s.send(kS2c, random_bytes(rng, 96))));
  }
  SECTION("a login between the legacy and the smallest extended size") {
    Session s;
    REQUIRE(is_need_more(handshake(s, rng, 150)));
    CHECK(std::holds_alternative<NotMine>(s.send(kS2c, login_ack(rng) + frame(rng, 40))));
  }
  SECTION("the client sends before the acknowledgement is complete") {
    Session s;
    REQUIRE(is_need_more(handshake(s, rng, 144)));
    REQUIRE(is_need_more(s.send(kS2c, login_ack(rng).substr(0, 10))));
    CHECK(std::holds_alternative<NotMine>(s.send(kC2s, frame(rng, 40))));
  }
  SECTION("a frame shorter than a box") {
    Session s;
    REQUIRE(is_need_more(handshake(s, rng, 144)));
    CHECK(std::holds_alternative<NotMine>(s.send(kS2c, login_ack(rng) + frame(rng, 10))));
  }
  SECTION("lost bytes (a sequence gap)") {
    Session s;
    REQUIRE(is_need_more(s.send(kC2s, client_hello(rng).substr(0, 20))));
    CHECK(std::holds_alternative<NotMine>(s.send_at(kC2s, std::string(28, 'a'), 30)));
  }
}

TEST_CASE("Random payload with Threema's first sizes is not Threema", "[classifiers][threema]") {
  // 48 / 80 / 144 / 32 bytes, then random segments in both directions: the frame lengths
  // never chain to two segment ends within the flow's segments.
  int matches = 0;
  for (uint32_t seed = 0; seed < 500; ++seed) {
    std::mt19937 rng(seed);
    Session s(static_cast<uint16_t>(seed % 2 == 0 ? 5222 : 443));
    std::string hello = random_bytes(rng, 48);
    hello[31] = static_cast<char>(hello[31] & 0x7f);
    Result r = s.send(kC2s, hello);
    for (int i = 0; i < 18 && is_need_more(r); ++i) {
      const auto d = i == 0 ? kS2c : (i == 1 ? kC2s : (i % 2 == 0 ? kS2c : kC2s));
      const size_t n = i == 0 ? 80 : (i == 1 ? 144 : (i == 2 ? 32 + 60 : 20 + rng() % 600));
      r = s.send(d, random_bytes(rng, n));
    }
    matches += is_match(r) ? 1 : 0;
  }
  CHECK(matches == 0);
}

TEST_CASE("XMPP on 5222 and TLS on 443 are not Threema", "[classifiers][threema]") {
  {
    Session s(5222);
    CHECK(std::holds_alternative<NotMine>(
        s.send(kC2s,
               "<?xml version='1.0'?><stream:stream to='example.test' xmlns='jabber:client' "
               "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")));
  }
  {
    Session s(5222);  // the XML declaration alone, then the stream header
    REQUIRE(is_need_more(s.send(kC2s, "<?xml version='1.0'?>")));
    CHECK(std::holds_alternative<NotMine>(
        s.send(kC2s, "<stream:stream to='example.test' xmlns='jabber:client' version='1.0'>")));
  }
  {
    Session s(443);
    CHECK(std::holds_alternative<NotMine>(
        s.send(kC2s, t::client_hello_record("www.example.test", {"h2"}))));
  }
}
