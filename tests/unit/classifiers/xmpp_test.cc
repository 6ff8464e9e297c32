// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/xmpp.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {
const std::string kClientHeader =
    "<?xml version='1.0'?><stream:stream to='example.net' version='1.0' "
    "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
constexpr auto kS2C = Direction::kServerToClient;

bool claimed(const Result& r) {
  return std::holds_alternative<NeedMore>(r) && std::get<NeedMore>(r).hold == Hold::kClaim;
}
}  // namespace

TEST_CASE("XMPP with STARTTLS is xmpp without cleartext", "[xmpp]") {
  Xmpp c;
  t::Probe st;
  CHECK(claimed(t::probe_tcp(c, st, kClientHeader, Direction::kClientToServer, 15222)));
  CHECK(claimed(t::probe_tcp(c, st,
                             "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>"
                             "<required/></starttls></stream:features>",
                             kS2C, 15222)));
  const auto r = t::probe_tcp(c, st, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
                              Direction::kClientToServer, 15222);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kXmpp);
  CHECK(std::get<Match>(r).features == kFeatureNone);
}

TEST_CASE("XMPP stanzas without TLS are cleartext; file offers are file_transfer", "[xmpp]") {
  Xmpp c;
  t::Probe st;
  CHECK(claimed(t::probe_tcp(c, st, kClientHeader)));
  CHECK(claimed(t::probe_tcp(c, st, "<auth mechanism='PLAIN'>AGFsaWNlAHNlY3JldA==</auth>")));
  const auto r = t::probe_tcp(
      c, st,
      "<iq type='set' id='1'><query xmlns='http://jabber.org/protocol/bytestreams' sid='s'/></iq>");
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).features == (kFeatureCleartext | kFeatureFileTransfer));

  Xmpp quiet;
  t::Probe q;
  t::probe_tcp(quiet, q, kClientHeader);
  for (int i = 0; i < 3; ++i) {
    CHECK(claimed(t::probe_tcp(quiet, q, "<presence/>")));
  }
  const auto m = t::probe_tcp(quiet, q, "<message to='b@example.net'><body>hi</body></message>");
  REQUIRE(std::holds_alternative<Match>(m));
  CHECK(std::get<Match>(m).features == kFeatureCleartext);
}

TEST_CASE("XEP-0065 bytestream connect is xmpp file transfer", "[xmpp]") {
  Xmpp c;
  t::Probe st;
  CHECK(claimed(t::probe_tcp(c, st, t::bytes({5, 1, 0}), Direction::kClientToServer, 7777)));
  CHECK(claimed(t::probe_tcp(c, st, t::bytes({5, 0}), kS2C, 7777)));
  const std::string req =
      t::bytes({5, 1, 0, 3, 40}) + "3c1f6a0c9a0e4d5bbf4c0b59e8c4ec1fbd6a2d11" + t::bytes({0, 0});
  const auto r = t::probe_tcp(c, st, req, Direction::kClientToServer, 7777);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).features == kFeatureFileTransfer);
}

TEST_CASE("XMPP look-alikes are not matched", "[xmpp]") {
  Xmpp c;
  t::Probe a;  // XML that is not an XMPP stream
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, a, "POST /rpc HTTP/1.1\r\n\r\n<?xml version='1.0'?><stream:stream>")));
  t::Probe b;
  CHECK(std::holds_alternative<NeedMore>(t::probe_tcp(c, b, "<?xml version='1.0'?><feed>")));
  CHECK(std::holds_alternative<NeedMore>(t::probe_tcp(c, b, "<entry/>")));
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(c, b, "<entry/>")));
  t::Probe e;  // a stream header split after "<stream:stream" still matches
  CHECK(
      std::holds_alternative<NeedMore>(t::probe_tcp(c, e, "<?xml version='1.0'?><stream:stream ")));
  CHECK(std::holds_alternative<NeedMore>(t::probe_tcp(c, e, "xmlns='jabber:client' to='a'>")));
  t::Probe d;  // an ordinary SOCKS5 CONNECT to a host name and port 443
  t::probe_tcp(c, d, t::bytes({5, 1, 0}));
  t::probe_tcp(c, d, t::bytes({5, 0}), kS2C);
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, d, t::bytes({5, 1, 0, 3, 11}) + "example.com" + t::bytes({1, 187}))));
}
