// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/flow_limits.h"
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

bool waiting(const Result& r) {
  return std::holds_alternative<NeedMore>(r) && std::get<NeedMore>(r).hold == Hold::kNone;
}

bool cleartext_xmpp(const Result& r) {
  return std::holds_alternative<Match>(r) && std::get<Match>(r).app == AppId::kXmpp &&
         std::get<Match>(r).features == kFeatureCleartext;
}

// A client's byte stream cut into segments with consecutive sequence numbers.
struct Segments {
  Xmpp c;
  t::Probe st;
  uint32_t offset = 0;
  Result send(const std::string& bytes) {
    auto pkt = t::seq_plus(t::ipv4_tcp({.sport = 40000, .dport = 5222}, bytes), offset);
    offset += static_cast<uint32_t>(bytes.size());
    return t::probe_packet(c, st, pkt, Direction::kClientToServer);
  }
  // Sends `bytes` in pieces of `size` until an answer other than "more": that answer.
  Result send_in(const std::string& bytes, size_t size) {
    for (size_t at = 0;; at += size) {
      const Result r = send(bytes.substr(at, size));
      if (at + size >= bytes.size() || !waiting(r)) {
        return r;
      }
    }
  }
  ~Segments() {
    c.release(FlowSlot(std::span<std::byte>(st.slot).first(c.interest().state_bytes)));
  }
};
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
  t::Probe b;  // another XML document: its root element says so at once
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(c, b, "<?xml version='1.0'?><feed>")));
  t::Probe e;  // the namespace only further on, not declared on the opening element
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(
      c, e, "<?xml version='1.0'?><doc><a href='http://etherx.jabber.org/streams'/></doc>")));
  t::Probe f;  // an element named stream in some other namespace
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, f, "<x:stream xmlns:x='urn:example:media' xmlns='jabber:client'>")));
  t::Probe d;  // an ordinary SOCKS5 CONNECT to a host name and port 443
  t::probe_tcp(c, d, t::bytes({5, 1, 0}));
  t::probe_tcp(c, d, t::bytes({5, 0}), kS2C);
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, d, t::bytes({5, 1, 0, 3, 11}) + "example.com" + t::bytes({1, 187}))));
}

TEST_CASE("A stream header in several segments is reassembled", "[xmpp]") {
  Segments split;  // the XML declaration on its own, then the header
  CHECK(waiting(split.send("<?xml version='1.0'?>")));
  CHECK(claimed(split.send(kClientHeader.substr(21))));
  for (const size_t size : {size_t{1}, size_t{7}, size_t{16}}) {
    Segments chunks;
    CHECK(claimed(chunks.send_in(kClientHeader, size)));
  }
  Segments retransmit;  // a repeated segment changes nothing, an overlapping one adds its tail
  CHECK(waiting(retransmit.send(kClientHeader.substr(0, 30))));
  retransmit.offset = 0;
  CHECK(waiting(retransmit.send(kClientHeader.substr(0, 30))));
  retransmit.offset = 20;
  CHECK(claimed(retransmit.send(kClientHeader.substr(20))));
  Segments gap;  // a missing segment ends the attempt
  CHECK(waiting(gap.send(kClientHeader.substr(0, 30))));
  gap.offset += 10;
  CHECK(std::holds_alternative<NotMine>(gap.send(kClientHeader.substr(40))));
}

TEST_CASE("Stream header spelling variants are xmpp", "[xmpp]") {
  const char* variants[] = {
      "<stream:stream xmlns=\"jabber:client\" xmlns:stream=\"http://etherx.jabber.org/streams\" "
      "version=\"1.0\" to=\"example.net\">",
      "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<stream:stream\n\tto = 'a'\n\t"
      "xmlns:stream = 'http://etherx.jabber.org/streams' xmlns='jabber:server'>",
      "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client' to='a'>",
      "<stream xmlns='http://etherx.jabber.org/streams' to='a'>",
      "<stream:stream to='a' xmlns='jabber:client'>",
  };
  for (const char* v : variants) {
    Segments s;
    CHECK(claimed(s.send_in(v, 5)));
  }
}

TEST_CASE("BOSH and XMPP over WebSocket are cleartext xmpp", "[xmpp]") {
  const std::string bosh_body =
      "<body content='text/xml; charset=utf-8' hold='1' rid='1' to='example.test' wait='60' "
      "ver='1.6' xmpp:version='1.0' xmlns='http://jabber.org/protocol/httpbind' "
      "xmlns:xmpp='urn:xmpp:xbosh'/>";
  const std::string bosh_head =
      "POST /http-bind HTTP/1.1\r\nHost: example.test\r\n"
      "Content-Type: text/xml; charset=utf-8\r\nContent-Length: " +
      std::to_string(bosh_body.size()) + "\r\n\r\n";
  Segments one;
  CHECK(cleartext_xmpp(one.send(bosh_head + bosh_body)));
  Segments two;  // headers, then the body, as browsers send them
  CHECK(waiting(two.send(bosh_head)));
  CHECK(cleartext_xmpp(two.send(bosh_body)));
  Segments bytes;
  CHECK(cleartext_xmpp(bytes.send_in(bosh_head + bosh_body, 64)));

  const std::string ws =
      "GET /xmpp-websocket HTTP/1.1\r\nHost: example.test\r\nUpgrade: WebSocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n";
  Segments w;
  CHECK(cleartext_xmpp(w.send_in(ws, 40)));
}

TEST_CASE("XML over HTTP and other WebSockets are not xmpp", "[xmpp]") {
  const auto post = [](const std::string& body) {
    return "POST /RPC2 HTTP/1.1\r\nHost: example.test\r\nContent-Type: text/xml\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  const std::string lookalikes[] = {
      post("<?xml version='1.0'?><methodCall><methodName>x</methodName></methodCall>"),
      post("<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'>"
           "<soap:Body xmlns='http://jabber.org/protocol/httpbind'/></soap:Envelope>"),
      post("<body xmlns='http://www.w3.org/1999/xhtml'>"),
      post(""),
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
      "GET /xmpp-websocket HTTP/1.1\r\nHost: a\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
      "GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
  };
  for (const auto& l : lookalikes) {
    Segments s;
    CHECK(std::holds_alternative<NotMine>(s.send_in(l, 100)));
  }
}

TEST_CASE("Reassembly is charged to the worker's budget", "[xmpp]") {
  FlowLimits limits(FlowLimits::Config{.reassembly_bytes = 64});
  Segments s;
  s.st.ctx.limits = &limits;
  CHECK(std::holds_alternative<NotMine>(s.send("<?xml version='1.0'?>")));
  CHECK(limits.stats().reassembly_refused == 1);
  FlowLimits roomy;
  Segments r;
  r.st.ctx.limits = &roomy;
  CHECK(waiting(r.send("<?xml version='1.0'?>")));
  CHECK(roomy.reassembly_in_use() > 0);
  CHECK(claimed(r.send(kClientHeader.substr(21))));
  CHECK(roomy.reassembly_in_use() == 0);
}
