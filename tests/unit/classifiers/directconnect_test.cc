// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/directconnect.h"
#include "im_test_util.h"
#include "p2p_probe.h"

using namespace imguard::classifiers;
using imguard::packet::Address;
namespace t = imguard::test;
using Flow = t::P2pFlow<DirectConnect>;
using namespace std::chrono_literals;

namespace {

bool claimed(const Result& r) {
  const auto* n = std::get_if<NeedMore>(&r);
  return n != nullptr && n->hold == Hold::kClaim;
}

/// An ADC hub session of client 10.0.0.1 up to the hub's ISID (logged in).
void adc_login(Flow& hub) {
  REQUIRE(claimed(hub.c2s("HSUP ADBASE ADTIGR\n")));
  REQUIRE(claimed(hub.s2c("ISUP ADBASE ADTIGR ADPING\nISID AAAB\nIINF CT32 NIlab\\shub\n")));
  REQUIRE(claimed(hub.c2s("BINF AAAB IDXXXX NIalice I410.0.0.1 SUTCP4,ADC0,ADCS U452013\n")));
}

/// An NMDC hub session of client 10.0.0.1 up to the hub's $Hello.
void nmdc_login(Flow& hub) {
  REQUIRE(claimed(hub.s2c("$Lock EXTENDEDPROTOCOL_labhub Pk=labhub|")));
  REQUIRE(claimed(hub.c2s("$Supports NoGetINFO NoHello UserIP2 TLS|$Key abc|$ValidateNick bob|")));
  REQUIRE(claimed(hub.s2c("$HubName lab hub|$Hello bob|")));
}

/// The first payload of a new TCP connection from `client` to `server`:`port`, with the
/// hub session's cache and `after` past the hub session's packets.
Result transfer(const Flow& hub, const std::string& client, const std::string& server,
                uint16_t port, const std::string& payload, std::chrono::microseconds after = 1s) {
  Flow x;
  x.cache = hub.cache;
  x.client = client;
  x.server = server;
  x.port = port;
  x.ts = hub.ts + after;
  return x.c2s(payload);
}

const std::string kHello = t::client_hello_record("", {});

bool hinted(const Result& r) {
  const auto* m = std::get_if<Match>(&r);
  return m != nullptr && m->app == AppId::kDirectConnect && m->evidence == Evidence::kCrossFlow &&
         m->features == (kFeatureFileTransfer | kFeaturePeer);
}

}  // namespace

TEST_CASE("NMDC hub lock and client-to-client nick match", "[directconnect]") {
  Flow hub;
  const auto lock = hub.s2c("$Lock EXTENDEDPROTOCOL_hub Pk=version1|$HubName Test|");
  // A hub session is claimed (its ConnectToMe requests are read) and named at once.
  REQUIRE(claimed(lock));
  const auto m = hub.end();
  REQUIRE(m);
  CHECK(m->app == AppId::kDirectConnect);
  CHECK(m->evidence == Evidence::kDpi);
  CHECK(m->features == kFeatureFileTransfer);
  const auto peer = Flow{}.c2s("$MyNick alice|$Lock EXTENDEDPROTOCOLabc Pk=client|");
  REQUIRE(std::holds_alternative<Match>(peer));
  CHECK(t::serving(peer));
}

TEST_CASE("ADC SUP lines match; C is client to client", "[directconnect]") {
  Flow h;
  CHECK(claimed(h.c2s("HSUP ADBASE ADTIGR\n")));
  REQUIRE(h.end());
  CHECK_FALSE((h.end()->features & kFeaturePeer) != 0);
  CHECK(t::serving(Flow{}.c2s("CSUP ADBASE ADTIGR ADBZIP\n")));
  CHECK(claimed(Flow{}.s2c("ISUP ADBASE ADTIGR\nISID AAAB\n")));
  CHECK_FALSE(Flow{}.end());  // nothing seen, nothing to say
}

TEST_CASE("Direct Connect look-alikes are refused", "[directconnect]") {
  // No terminator, no Pk=, a nick with spaces, shell-like dollars, ADC without AD tokens.
  CHECK(std::holds_alternative<NotMine>(Flow{}.s2c("$Lock abc Pk=x")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.s2c("$Lock abc|")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("$MyNick two words|")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("$HOME/bin/run|tee")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("HSUP nothing here\n")));
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("HSUP ADBASE")));  // no newline yet
  // An ISUP from the initiator is not a hub greeting.
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s("ISUP ADBASE ADTIGR\n")));
  // A TLS ClientHello nobody announced is not Direct Connect.
  CHECK(std::holds_alternative<NotMine>(Flow{}.c2s(kHello)));
}

TEST_CASE("NMDC UDP search results match; look-alikes do not", "[directconnect]") {
  Flow f;
  f.udp = true;
  const auto r = f.c2s(
      "$SR bob music\\song.ogg\x05"
      "4096 2/3\x05"
      "TestHub (198.51.100.42:411)|");
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK_FALSE(t::serving(r));
  Flow g;
  g.udp = true;
  CHECK(std::holds_alternative<NotMine>(g.c2s("$SR bob music 4096 2/3 TestHub|")));
  Flow h;
  h.udp = true;
  CHECK(
      std::holds_alternative<NotMine>(h.c2s("$SR bob music\x05"
                                            "4096 2/3\x05"
                                            "Hub")));
}

TEST_CASE("ADC UDP search results match; look-alikes do not", "[directconnect]") {
  const std::string cid = "7SJQWMT3GXTTZ6YLX7SEY2CWUS2QTVM7UEPMN6Y";
  const auto udp = [](const std::string& p) {
    Flow f;
    f.udp = true;
    return f.c2s(p);
  };
  const auto r = udp("URES " + cid + " TOQKJB27GQ5B6BC SL10 SI300000 FN/files/a.bin\n");
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK_FALSE(t::serving(r));
  CHECK(std::holds_alternative<NotMine>(udp("URES " + cid + " SL10")));             // no newline
  CHECK(std::holds_alternative<NotMine>(udp("URES " + cid.substr(1) + "1 SL\n")));  // not base32
  CHECK(std::holds_alternative<NotMine>(udp("URES short SL10\n")));
  CHECK(std::holds_alternative<NotMine>(udp("URES " + cid + " SL\x01\n")));
}

TEST_CASE("ADC: the listener's DCTM over ADCS names its TLS transfer", "[directconnect]") {
  Flow hub;
  adc_login(hub);
  CHECK(claimed(hub.c2s("DCTM AAAB AAAC ADCS/0.10 52013 Q2EYOBRCRCKFE\n")));
  // The peer connects to the listener and opens with a ClientHello without SNI.
  CHECK(hinted(transfer(hub, "198.51.100.7", "10.0.0.1", 52013, kHello)));
  // Another port, a named server, a cleartext opening, too late: not this hint.
  CHECK(std::holds_alternative<NotMine>(transfer(hub, "198.51.100.7", "10.0.0.1", 52014, kHello)));
  CHECK(std::holds_alternative<NotMine>(
      transfer(hub, "198.51.100.7", "10.0.0.1", 52013, t::client_hello_record("example.org", {}))));
  CHECK(std::holds_alternative<NotMine>(
      transfer(hub, "198.51.100.7", "10.0.0.1", 52013, "GET / HTTP/1.1\r\n\r\n")));
  CHECK(std::holds_alternative<NotMine>(
      transfer(hub, "198.51.100.7", "10.0.0.1", 52013, kHello, DirectConnect::kHintTtl + 1s)));
  // The hub session itself stays a hub session.
  const auto m = hub.end();
  REQUIRE(m);
  CHECK(m->features == kFeatureFileTransfer);
}

TEST_CASE("ADC: the DCTM hint holds over IPv6", "[directconnect]") {
  Flow hub;
  hub.v6 = true;
  adc_login(hub);
  hub.c2s("DCTM AAAB AAAC ADCS/0.10 52013 Q2EYOBRCRCKFE\n");
  Flow x;
  x.cache = hub.cache;
  x.v6 = true;
  x.client6 = "2001:db8::7";
  x.server6 = "2001:db8::1";  // the hub session's client, listening
  x.port = 52013;
  CHECK(hinted(x.c2s(kHello)));
  Flow y;
  y.cache = hub.cache;
  y.v6 = true;
  y.client6 = "2001:db8::7";
  y.server6 = "2001:db8::3";  // another host on that port
  y.port = 52013;
  CHECK(std::holds_alternative<NotMine>(y.c2s(kHello)));
}

TEST_CASE("ADC: forged or weak requests teach nothing", "[directconnect][regression]") {
  SECTION("one segment of ADC text, no hub answer") {
    Flow f;
    f.c2s("HSUP ADBASE ADTIGR\nDCTM AAAB AAAC ADCS/0.10 52013 TOKEN\n");
    f.c2s("DCTM AAAB AAAC ADCS/0.10 52013 TOKEN\n");
    CHECK(f.cache.size() == 0);
  }
  SECTION("the hub answered but assigned no SID") {
    Flow f;
    f.c2s("HSUP ADBASE ADTIGR\n");
    f.s2c("ISUP ADBASE ADTIGR\n");
    f.c2s("DCTM AAAB AAAC ADCS/0.10 52013 TOKEN\n");
    CHECK(f.cache.size() == 0);
  }
  SECTION("an established session") {
    Flow f;
    adc_login(f);
    f.c2s("DCTM AAAB AAAC ADC/1.0 52013 TOKEN\n");    // cleartext: the payload tells
    f.c2s("DCTM AAAB AAAC ADCS/0.10 443 TOKEN\n");    // a system port
    f.c2s("DCTM AAAB AAAC ADCS/0.10 52013\n");        // no token
    f.c2s("DCTM AAAB AAAC ADCS/0.10 5201x TOKEN\n");  // not a port
    f.s2c("DCTM AAAC AAAB ADCS/0.10 41000 TOKEN\n");  // relayed: the peer's SID only
    f.c2s("BMSG AAAB look\\nDCTM\\sAAAB\\sAAAC\\sADCS/0.10\\s52013\\sT\n");  // chat text
    CHECK(f.cache.size() == 0);
  }
}

TEST_CASE("NMDC: $ConnectToMe with S names the TLS transfer, both ways", "[directconnect]") {
  Flow hub;
  nmdc_login(hub);
  // This client listens: its own address.
  hub.c2s("$ConnectToMe alice 10.0.0.1:52013S|");
  CHECK(hinted(transfer(hub, "198.51.100.7", "10.0.0.1", 52013, kHello)));
  // Another client asks this one to connect: the hint speaks for this client only.
  hub.s2c("$ConnectToMe bob 203.0.113.9:41000S|");
  CHECK(hinted(transfer(hub, "10.0.0.1", "203.0.113.9", 41000, kHello)));
  CHECK(std::holds_alternative<NotMine>(transfer(hub, "10.0.0.8", "203.0.113.9", 41000, kHello)));
  // NAT traversal, secure: "NS".
  hub.s2c("$ConnectToMe bob 203.0.113.9:41001NSalice|");
  CHECK(hinted(transfer(hub, "10.0.0.1", "203.0.113.9", 41001, kHello)));
}

TEST_CASE("NMDC: forged or weak requests teach nothing", "[directconnect][regression]") {
  SECTION("no login") {
    Flow f;
    f.s2c("$Lock EXTENDEDPROTOCOL_x Pk=x|$ConnectToMe bob 203.0.113.9:41000S|");
    f.c2s("$Key k|$ValidateNick bob|$ConnectToMe alice 10.0.0.1:52013S|");
    CHECK(f.cache.size() == 0);
  }
  SECTION("an established session") {
    Flow f;
    nmdc_login(f);
    f.c2s("$ConnectToMe alice 10.0.0.5:52013S|");   // another local host
    f.c2s("$ConnectToMe alice 10.0.0.1:52013|");    // cleartext: the payload tells
    f.s2c("$ConnectToMe bob 203.0.113.9:443S|");    // a system port
    f.s2c("$ConnectToMe bob 203.0.113.9:41000X|");  // no TLS flag
    f.s2c("$ConnectToMe bob 203.0.113.9.1:41000S|");
    f.s2c("$ConnectToMe bob 203.0.113.999:41000S|");
    f.s2c("$ConnectToMe bob [2001:db8::9]:41000S|");  // IPv6: not read
    CHECK(f.cache.size() == 0);
  }
  SECTION("a command split over two segments is skipped, never half-read") {
    Flow f;
    nmdc_login(f);
    f.s2c("<alice> see: ");
    f.s2c("$ConnectToMe bob 203.0.113.9:41000S|");  // the tail of alice's chat line
    f.s2c("$ConnectToMe bob 203.0.113.9:41");
    f.s2c("002S|");
    CHECK(f.cache.size() == 0);
    f.s2c("$ConnectToMe bob 203.0.113.9:41003S|");  // whole again
    CHECK(f.cache.size() == 1);
  }
}
