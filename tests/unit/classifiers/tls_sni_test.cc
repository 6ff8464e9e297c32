// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/flow_limits.h"
#include "classifiers/peer_cache.h"
#include "classifiers/tls_sni.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {
AppId matched(const Result& r) {
  return std::holds_alternative<Match>(r) ? std::get<Match>(r).app : AppId::kUnknown;
}
}  // namespace

TEST_CASE("ClientHello parser extracts SNI and ALPN", "[tls_sni]") {
  const std::string msg = t::client_hello_message("web.whatsapp.com", {"h2", "http/1.1"});
  ClientHelloInfo info;
  const auto* b = reinterpret_cast<const uint8_t*>(msg.data());
  REQUIRE(parse_client_hello({b, msg.size()}, info) == HelloParse::kOk);
  CHECK(info.sni == "web.whatsapp.com");
  REQUIRE(info.alpn_count == 2);
  CHECK(info.alpn[1] == "http/1.1");
  // Every truncation is incomplete or invalid, never a read past the end.
  for (size_t n = 0; n < msg.size(); ++n) {
    CHECK(parse_client_hello({b, n}, info) != HelloParse::kOk);
  }
  std::string bad = msg;
  bad[0] = 2;  // ServerHello
  CHECK(parse_client_hello({reinterpret_cast<const uint8_t*>(bad.data()), bad.size()}, info) ==
        HelloParse::kInvalid);
}

TEST_CASE("TLS to IM server names and ALPN matches", "[tls_sni]") {
  TlsSni c(Signatures::builtin());
  t::Probe a;
  CHECK(matched(t::probe_tcp(c, a, t::client_hello_record("web.whatsapp.com", {"h2"}))) ==
        AppId::kWhatsapp);
  t::Probe b;
  CHECK(matched(t::probe_tcp(c, b, t::client_hello_record("jabber.example", {"xmpp-client"}))) ==
        AppId::kXmpp);
}

TEST_CASE("Syncthing's ALPN is a P2P peer connection; other ALPN on its port is not", "[tls_sni]") {
  TlsSni c(Signatures::builtin());
  t::Probe a;
  const auto r = t::probe_tcp(c, a, t::client_hello_record("syncthing", {"bep/1.0"}),
                              Direction::kClientToServer, 22000);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kSyncthing);
  CHECK(std::get<Match>(r).features == (kFeaturePeer | kFeatureFileTransfer));
  t::Probe b;
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, b, t::client_hello_record("syncthing", {"h2", "http/1.1"}),
                   Direction::kClientToServer, 22000)));
}

TEST_CASE("A ClientHello split over segments is reassembled", "[tls_sni]") {
  TlsSni c(Signatures::builtin());
  const std::string rec = t::client_hello_record("chat.signal.org", {"h2"}, 1500);
  // Put the SNI after the padding so it is only in the second segment.
  t::Probe st;
  const auto first = t::ipv4_tcp({.sport = 40000, .dport = 443}, rec.substr(0, 1000));
  const auto second =
      t::seq_plus(t::ipv4_tcp({.sport = 40000, .dport = 443}, rec.substr(1000)), 1000);
  CHECK(
      std::holds_alternative<NeedMore>(t::probe_packet(c, st, first, Direction::kClientToServer)));
  CHECK(matched(t::probe_packet(c, st, second, Direction::kClientToServer)) == AppId::kSignal);
  c.release(FlowSlot(std::span<std::byte>(st.slot).first(c.interest().state_bytes)));
}

TEST_CASE("TLS look-alikes are not IM", "[tls_sni]") {
  TlsSni c(Signatures::builtin());
  t::Probe a;
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, a, t::client_hello_record("www.example.com", {"h2"}))));
  t::Probe b;
  CHECK(
      std::holds_alternative<NotMine>(t::probe_tcp(c, b, "GET / HTTP/1.1\r\nHost: t.me\r\n\r\n")));
  t::Probe d;  // the server speaking first is not a TLS client
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, d, t::client_hello_record("t.me", {}), Direction::kServerToClient)));
  t::Probe e;  // a gap in the reassembly gives up and frees the buffer
  const std::string rec = t::client_hello_record("t.me", {}, 2000);
  CHECK(std::holds_alternative<NeedMore>(t::probe_tcp(c, e, rec.substr(0, 500))));
  const auto late = t::seq_plus(t::ipv4_tcp({.sport = 40000, .dport = 5222}, rec.substr(900)), 900);
  CHECK(std::holds_alternative<NotMine>(t::probe_packet(c, e, late, Direction::kClientToServer)));
}

TEST_CASE("Split ClientHellos share the worker's reassembly budget", "[tls_sni]") {
  TlsSni c(Signatures::builtin());
  FlowLimits limits(FlowLimits::Config{.reassembly_bytes = 3000});
  const std::string rec = t::client_hello_record("chat.signal.org", {"h2"}, 1500);
  const auto first = t::ipv4_tcp({.sport = 40000, .dport = 443}, rec.substr(0, 1000));
  t::Probe a;
  a.ctx.limits = &limits;
  CHECK(std::holds_alternative<NeedMore>(t::probe_packet(c, a, first, Direction::kClientToServer)));
  const size_t held = limits.reassembly_in_use();
  CHECK(held > 0);
  CHECK(held <= 3000);
  // A second flow does not fit: refused, counted, left to the rest of the chain.
  t::Probe b;
  b.ctx.limits = &limits;
  CHECK(std::holds_alternative<NotMine>(t::probe_packet(c, b, first, Direction::kClientToServer)));
  CHECK(limits.stats().reassembly_refused == 1);
  c.release(FlowSlot(std::span<std::byte>(a.slot).first(c.interest().state_bytes)));
  c.release(FlowSlot(std::span<std::byte>(b.slot).first(c.interest().state_bytes)));
  CHECK(limits.reassembly_in_use() == 0);
}

TEST_CASE("A claimed 16 KB record holds what arrived, not what it claims", "[tls_sni]") {
  TlsSni c(Signatures::builtin());
  FlowLimits limits;
  const std::string rec = t::client_hello_record("chat.signal.org", {"h2"}, 16000);
  t::Probe a;
  a.ctx.limits = &limits;
  const auto first = t::ipv4_tcp({.sport = 40000, .dport = 443}, rec.substr(0, 600));
  CHECK(std::holds_alternative<NeedMore>(t::probe_packet(c, a, first, Direction::kClientToServer)));
  CHECK(limits.reassembly_in_use() < 2200);
  c.release(FlowSlot(std::span<std::byte>(a.slot).first(c.interest().state_bytes)));
  CHECK(limits.reassembly_in_use() == 0);
}

TEST_CASE("Attachment hosts set file_transfer, chat hosts of the same app do not", "[tls_sni]") {
  TlsSni c(Signatures::builtin());
  const auto features = [&](const std::string& sni) -> int {
    t::Probe p;
    const Result r = t::probe_tcp(c, p, t::client_hello_record(sni, {"h2"}));
    REQUIRE(std::holds_alternative<Match>(r));
    return std::get<Match>(r).features;
  };
  CHECK(features("media-fra3-1.cdn.whatsapp.net") == kFeatureFileTransfer);
  CHECK(features("cdn.discordapp.com") == kFeatureFileTransfer);
  CHECK(features("web.whatsapp.com") == kFeatureNone);
  CHECK(features("gateway.discord.gg") == kFeatureNone);
  t::Probe lookalike;  // only contains the host: not Discord at all
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, lookalike, t::client_hello_record("cdn.discordapp.com.example.net", {}))));
}

TEST_CASE("TLS to a call relay host teaches the client's relay, other hosts do not", "[tls_sni]") {
  TlsSni c(Signatures::builtin());
  const auto client = imguard::packet::Address::parse("10.0.0.1");
  const auto server = imguard::packet::Address::parse("10.0.0.2");
  const imguard::packet::Timestamp now{};
  PeerCache relay_cache;
  t::Probe a;
  a.ctx.peers = &relay_cache;
  CHECK(matched(t::probe_tcp(c, a, t::client_hello_record("turn3.voip.signal.org", {}),
                             Direction::kClientToServer, 443)) == AppId::kSignal);
  CHECK(call_relay_app(relay_cache, client, server, now) == AppId::kSignal);
  CHECK_FALSE(call_relay_app(relay_cache, server, client, now));  // the client learned it
  for (const char* name : {"chat.signal.org", "turn3.voip.signal.org.example.net"}) {
    PeerCache cache;
    t::Probe b;
    b.ctx.peers = &cache;
    t::probe_tcp(c, b, t::client_hello_record(name, {}), Direction::kClientToServer, 443);
    CHECK_FALSE(call_relay_app(cache, client, server, now));
  }
}
