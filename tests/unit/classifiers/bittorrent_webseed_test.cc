// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include <string>

#include "classifiers/bittorrent_webseed.h"
#include "classifiers/flow_limits.h"
#include "classifiers/peer_cache.h"
#include "im_test_util.h"
#include "p2p_probe.h"

using namespace imguard::classifiers;
namespace t = imguard::test;
namespace ws = imguard::classifiers::webseed;

namespace {

// Requests as the clients sent them in pcaps/bittorrent/webseed-*.pcap.
const std::string kTransmission =
    "GET /files/payload.bin HTTP/1.1\r\nHost: 10.10.0.1\r\nRange: bytes=32768-65535\r\n"
    "User-Agent: Transmission/3.00\r\nAccept: */*\r\nAccept-Encoding: identity\r\n\r\n";
const std::string kLibtorrent =
    "GET /files/payload.bin HTTP/1.1\r\nHost: 10.10.0.1\r\nUser-Agent: libtorrent/2.0.8.0\r\n"
    "Connection: keep-alive\r\nRange: bytes=0-98303\r\n\r\n";
const std::string kAria2 =
    "GET /files/payload.bin HTTP/1.1\r\nUser-Agent: aria2/1.36.0\r\nAccept: */*\r\n"
    "Host: 10.10.0.1:8000\r\nRange: bytes=0-98303\r\n"
    "Want-Digest: SHA-512;q=1, SHA-256;q=1, SHA;q=0.1\r\n\r\n";
const std::string kHoffman =
    "GET /seed?info_hash=%f0X%7f0%a2%d7L%7fB%24%84%aa3%e9%80%07%c3%f0%3a%40&piece=2"
    "&ranges=16384-32767 HTTP/1.1\r\nHost: 10.10.0.1\r\n\r\n";

std::string with_headers(const std::string& headers) {
  return "GET /files/big.iso HTTP/1.1\r\nHost: mirror.example\r\n" + headers + "\r\n";
}

ws::Request parse(const std::string& s) {
  return ws::parse_request(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
}

bool is(ws::Request r, ws::Kind kind, ws::Client client = ws::Client::kOther) {
  return r.kind == kind && r.client == client;
}

imguard::packet::Address addr(const char* s) {
  return imguard::packet::Address::parse(s);
}

struct Flow : t::P2pFlow<BittorrentWebseed> {
  Flow() { port = 80; }
  ~Flow() {
    classifier.release(FlowSlot(std::span(slot).first(classifier.interest().state_bytes)));
  }
};

// A client's request cut into segments with consecutive sequence numbers.
struct Segments {
  BittorrentWebseed c;
  t::Probe st;
  PeerCache cache;
  FlowLimits limits;
  uint32_t offset = 0;
  Segments() {
    st.ctx.peers = &cache;
    st.ctx.limits = &limits;
  }
  Result send(const std::string& bytes, uint32_t at) {
    auto pkt = t::seq_plus(t::ipv4_tcp({.sport = 40000, .dport = 80}, bytes), at);
    return t::probe_packet(c, st, pkt, Direction::kClientToServer);
  }
  Result send(const std::string& bytes) {
    const Result r = send(bytes, offset);
    offset += static_cast<uint32_t>(bytes.size());
    return r;
  }
  ~Segments() {
    c.release(FlowSlot(std::span<std::byte>(st.slot).first(c.interest().state_bytes)));
  }
};

bool waiting(const Result& r) {
  return std::holds_alternative<NeedMore>(r) && std::get<NeedMore>(r).hold == Hold::kNone;
}

bool webseed_dpi(const Result& r) {
  const auto* m = std::get_if<Match>(&r);
  return m != nullptr && m->app == AppId::kBittorrent && m->evidence == Evidence::kDpi &&
         m->features == kFeatureFileTransfer;
}

}  // namespace

TEST_CASE("web-seed requests of BitTorrent clients are recognised", "[bittorrent_webseed]") {
  CHECK(is(parse(kTransmission), ws::Kind::kRangeFetch, ws::Client::kBittorrent));
  CHECK(is(parse(kLibtorrent), ws::Kind::kRangeFetch, ws::Client::kBittorrent));
  for (const char* ua : {"qBittorrent/4.5.2", "Deluge/2.1.1 libtorrent/2.0.8.0",
                         "uTorrent/3.6.0(46896)", "\xC2\xB5Torrent/3.6", "rtorrent/0.9.8/0.13.8",
                         "BitTorrent/7.11", "Azureus 5.7.6.0;Linux;Java 11", "BiglyBT/3.4"}) {
    INFO(ua);
    CHECK(is(parse(with_headers(std::string("User-Agent: ") + ua + "\r\nRange: bytes=0-16383\r\n")),
             ws::Kind::kRangeFetch, ws::Client::kBittorrent));
  }
  // Header names are case-insensitive, values may be padded.
  CHECK(
      is(parse(with_headers("user-agent:Transmission/4.0.5\r\nRANGE:  bytes=1048576-2097151 \r\n")),
         ws::Kind::kRangeFetch, ws::Client::kBittorrent));
  // aria2 is recognised, but only as a downloader that is also a BitTorrent client.
  CHECK(is(parse(kAria2), ws::Kind::kRangeFetch, ws::Client::kDualUse));
}

TEST_CASE("BEP 17 HTTP seed requests are recognised by their query", "[bittorrent_webseed]") {
  CHECK(is(parse(kHoffman), ws::Kind::kHttpSeed));
  // The request line suffices; unescaped bytes count one each.
  CHECK(is(parse("GET /seed?piece=0&info_hash=" + std::string(20, 'a') + " HTTP/1.1\r\n"),
           ws::Kind::kHttpSeed));
  // Not a 20-byte hash, a broken escape, no piece number, or a tracker announce.
  CHECK(is(parse("GET /seed?info_hash=%f0%aa&piece=1 HTTP/1.1\r\n\r\n"), ws::Kind::kNone));
  CHECK(is(parse("GET /seed?info_hash=" + std::string(19, 'a') + "%f&piece=1 HTTP/1.1\r\n\r\n"),
           ws::Kind::kNone));
  CHECK(is(parse("GET /seed?info_hash=" + std::string(20, 'a') + "&piece=x HTTP/1.1\r\n\r\n"),
           ws::Kind::kNone));
  CHECK(is(parse("GET /announce?info_hash=" + std::string(20, 'a') +
                 "&peer_id=-TR3000-abcdefghijkl&piece=1 HTTP/1.1\r\n\r\n"),
           ws::Kind::kNone));
  CHECK(is(parse("GET /seed?xinfo_hash=" + std::string(20, 'a') + "&piece=1 HTTP/1.1\r\n\r\n"),
           ws::Kind::kNone));
}

TEST_CASE("ordinary range downloads are not web seeds", "[bittorrent_webseed]") {
  // pcaps/bittorrent/webseed-range-download-lookalikes.pcap
  CHECK(is(parse(with_headers("Range: bytes=32768-65535\r\nUser-Agent: curl/7.88.1\r\n")),
           ws::Kind::kNone));
  CHECK(is(parse(with_headers("Range: bytes=50000-\r\nUser-Agent: Wget/1.21.3\r\n")),
           ws::Kind::kNone));
  CHECK(is(parse(with_headers("Range: bytes=16384-\r\nIf-Range: Tue, 01 Dec 2026 14:28:55 GMT\r\n"
                              "User-Agent: Debian APT-HTTP/1.3 (2.6.1)\r\n")),
           ws::Kind::kNone));
  CHECK(is(parse(with_headers("Range: bytes=0-1023\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; "
                              "rv:115.0) Gecko/20100101 Firefox/115.0\r\n")),
           ws::Kind::kNone));
  // A BitTorrent client without a range (a blocklist update), with an open, suffix,
  // multiple or reversed range, or two Range headers.
  const std::string tr = "User-Agent: Transmission/3.00\r\n";
  CHECK(is(parse(with_headers(tr)), ws::Kind::kNone));
  CHECK(is(parse(with_headers(tr + "Range: bytes=100-\r\n")), ws::Kind::kNone));
  CHECK(is(parse(with_headers(tr + "Range: bytes=-100\r\n")), ws::Kind::kNone));
  CHECK(is(parse(with_headers(tr + "Range: bytes=0-1,5-9\r\n")), ws::Kind::kNone));
  CHECK(is(parse(with_headers(tr + "Range: bytes=900-10\r\n")), ws::Kind::kNone));
  CHECK(is(parse(with_headers(tr + "Range: bytes=0-1\r\nRange: bytes=0-1\r\n")), ws::Kind::kNone));
  CHECK(is(parse(with_headers(tr + "Range: items=0-1\r\n")), ws::Kind::kNone));
  // Numbers compare by value, not by their digits.
  CHECK(is(parse(with_headers(tr + "Range: bytes=0009-10\r\n")), ws::Kind::kRangeFetch,
           ws::Client::kBittorrent));
  // A client token inside another product name does not count.
  CHECK(is(parse(with_headers("User-Agent: lab-libtorrent/2.0.8.0\r\nRange: bytes=0-1\r\n")),
           ws::Kind::kNone));
  // Other methods, no HTTP version, a malformed header line.
  CHECK(is(parse("POST /files/x HTTP/1.1\r\n" + tr + "Range: bytes=0-1\r\n\r\n"), ws::Kind::kNone));
  CHECK(is(parse("GET /files/x\r\n" + tr + "Range: bytes=0-1\r\n\r\n"), ws::Kind::kNone));
  CHECK(is(parse("GET /files/x HTTP/1.1\r\n" + tr + "Range bytes=0-1\r\n\r\n"), ws::Kind::kNone));
}

TEST_CASE("a request head cut short asks for more, within bounds", "[bittorrent_webseed]") {
  CHECK(is(parse("GE"), ws::Kind::kIncomplete));
  CHECK(is(parse("GET /files/payload.bin HTT"), ws::Kind::kIncomplete));
  CHECK(is(parse(kTransmission.substr(0, 80)), ws::Kind::kIncomplete));
  CHECK(is(parse("PU"), ws::Kind::kNone));
  CHECK(is(parse(""), ws::Kind::kIncomplete));
  const std::string endless =
      "GET /x HTTP/1.1\r\nX-Pad: " + std::string(ws::kMaxHead, 'p') + "\r\n\r\n";
  CHECK(is(parse(endless), ws::Kind::kNone));
}

TEST_CASE("web-seed flows are bittorrent file transfers, never peers", "[bittorrent_webseed]") {
  for (const std::string* req : {&kTransmission, &kLibtorrent, &kHoffman}) {
    Flow f;
    CHECK(webseed_dpi(f.c2s(*req)));  // file_transfer only: no peer, so never serving
    // The requesting host is a BitTorrent host; the web server is not learned.
    CHECK(f.cache.lookup_host(addr("10.0.0.1"), {}) == AppId::kBittorrent);
    CHECK_FALSE(f.cache.lookup_host(addr("198.51.100.2"), {}));
  }
  Flow server_first;
  CHECK(std::holds_alternative<NotMine>(server_first.s2c("220 ready\r\n")));
  Flow later;
  CHECK(std::holds_alternative<NotMine>(later.c2s("hello")));
  CHECK(std::holds_alternative<NotMine>(later.c2s(kTransmission)));
}

TEST_CASE("aria2's range request counts only from a host seen in a swarm", "[bittorrent_webseed]") {
  Flow unknown;  // waits a few packets for the host to announce, then gives up
  CHECK(waiting(unknown.c2s(kAria2)));
  CHECK(waiting(unknown.s2c("HTTP/1.1 206 Partial Content\r\n")));
  CHECK(waiting(unknown.s2c(std::string(1448, 'x'))));
  CHECK(std::holds_alternative<NotMine>(unknown.s2c(std::string(1448, 'x'))));
  CHECK_FALSE(unknown.cache.lookup_host(addr("10.0.0.1"), {}));

  Flow announcing;  // the announce is sent while the request is on its way
  CHECK(waiting(announcing.c2s(kAria2)));
  announcing.cache.remember_host(addr("10.0.0.1"), AppId::kBittorrent, {});
  const Result later = announcing.s2c("HTTP/1.1 206 Partial Content\r\n");
  REQUIRE(std::holds_alternative<Match>(later));
  CHECK(std::get<Match>(later).evidence == Evidence::kCrossFlow);

  Flow known;
  known.cache.remember_host(addr("10.0.0.1"), AppId::kBittorrent, {});
  const Result r = known.c2s(kAria2);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kBittorrent);
  CHECK(std::get<Match>(r).evidence == Evidence::kCrossFlow);
  CHECK(std::get<Match>(r).features == kFeatureFileTransfer);

  // The server being known says nothing about who is downloading.
  Flow server_known;
  server_known.cache.remember_host(addr("198.51.100.2"), AppId::kBittorrent, {});
  CHECK(waiting(server_known.c2s(kAria2)));
  CHECK(waiting(server_known.s2c("HTTP/1.1 206 Partial Content\r\n")));
}

TEST_CASE("a request split over segments is reassembled", "[bittorrent_webseed]") {
  {
    Segments s;
    CHECK(waiting(s.send(kTransmission.substr(0, 10))));
    CHECK(waiting(s.send(kTransmission.substr(10, 50))));
    CHECK(waiting(s.send(kTransmission.substr(10, 50), 10)));  // a retransmission
    CHECK(s.limits.reassembly_in_use() > 0);
    CHECK(webseed_dpi(s.send(kTransmission.substr(60))));
    CHECK(s.limits.reassembly_in_use() == 0);
  }
  {
    Segments s;  // a gap in the stream ends the attempt
    CHECK(waiting(s.send(kTransmission.substr(0, 40))));
    CHECK(std::holds_alternative<NotMine>(s.send(kTransmission.substr(60), 60)));
    CHECK(s.limits.reassembly_in_use() == 0);
  }
  {
    Segments s;  // the server answering before the request ended
    CHECK(waiting(s.send(kTransmission.substr(0, 40))));
    CHECK(std::holds_alternative<NotMine>(
        t::probe_tcp(s.c, s.st, "HTTP/1.1 400 Bad\r\n\r\n", Direction::kServerToClient, 80)));
    CHECK(s.limits.reassembly_in_use() == 0);
  }
  {
    Segments s;  // released while waiting: the buffer goes back
    CHECK(waiting(s.send(kTransmission.substr(0, 40))));
    s.c.release(FlowSlot(std::span<std::byte>(s.st.slot).first(s.c.interest().state_bytes)));
    CHECK(s.limits.reassembly_in_use() == 0);
  }
  {
    Segments s;  // no reassembly heap left: settled without it
    s.limits = FlowLimits(FlowLimits::Config{.reassembly_bytes = 16});
    CHECK(std::holds_alternative<NotMine>(s.send(kTransmission.substr(0, 40))));
    CHECK(s.limits.stats().reassembly_refused == 1);
  }
}
