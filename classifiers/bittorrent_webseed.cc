// SPDX-License-Identifier: GPL-3.0-or-later
// BitTorrent web seeds (BEP 17 HTTP seeds, BEP 19 web seeds) over HTTP. Signatures: a GET
// whose query carries info_hash (20 bytes) and piece (BEP 17); a GET with one closed byte
// range whose User-Agent names a BitTorrent client (BEP 19). Evidence:
// pcaps/bittorrent/webseed-{transmission,libtorrent,aria2,aria2-tracker,hoffman-bep17}.pcap.
// Look-alikes: pcaps/bittorrent/webseed-range-download-lookalikes.pcap (curl -r, curl -C -,
// wget -c, apt, aria2 as a plain downloader, a browser's range request). False positives:
// a forged User-Agent.
#include "classifiers/bittorrent_webseed.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <new>
#include <string_view>

#include "classifiers/flow_limits.h"
#include "classifiers/peer_cache.h"
#include "classifiers/stream_prefix.h"

namespace imguard::classifiers {
namespace webseed {
namespace {

std::string_view as_text(std::span<const uint8_t> p) noexcept {
  return {reinterpret_cast<const char*>(p.data()), p.size()};
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == y; });
}

std::string_view trim(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
    v.remove_prefix(1);
  }
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
    v.remove_suffix(1);
  }
  return v;
}

/// Bytes a percent-encoded query value decodes to, or 0 on a malformed escape.
size_t decoded_length(std::string_view v) noexcept {
  size_t n = 0;
  for (size_t i = 0; i < v.size(); ++n) {
    if (v[i] == '%') {
      if (i + 2 >= v.size() || !is_hex(v[i + 1]) || !is_hex(v[i + 2])) {
        return 0;
      }
      i += 3;
    } else {
      ++i;
    }
  }
  return n;
}

/// Query parameter `name` ("name=value" at the start of the query or after '&').
struct Param {
  bool found = false;
  std::string_view value;
};
Param query_param(std::string_view query, std::string_view name) noexcept {
  size_t at = 0;
  while (at <= query.size()) {
    const size_t end = std::min(query.find('&', at), query.size());
    const std::string_view item = query.substr(at, end - at);
    if (item.size() > name.size() && item.substr(0, name.size()) == name &&
        item[name.size()] == '=') {
      return Param{true, item.substr(name.size() + 1)};
    }
    at = end + 1;
  }
  return {};
}

/// BEP 17: `info_hash` decodes to the 20-byte SHA-1, `piece` is a decimal index, and there
/// is no `peer_id` (a tracker announce names the client's peer id).
bool is_http_seed_query(std::string_view query) noexcept {
  const Param hash = query_param(query, "info_hash");
  const Param piece = query_param(query, "piece");
  if (!hash.found || !piece.found || query_param(query, "peer_id").found) {
    return false;
  }
  const bool digits = !piece.value.empty() && piece.value.size() <= 10 &&
                      std::all_of(piece.value.begin(), piece.value.end(), is_digit);
  return digits && decoded_length(hash.value) == 20;
}

/// `bytes=<first>-<last>`: one range with both ends given, first <= last.
bool is_closed_range(std::string_view v) noexcept {
  v = trim(v);
  constexpr std::string_view kUnit = "bytes=";
  if (v.size() <= kUnit.size() || !iequals(v.substr(0, kUnit.size()), kUnit)) {
    return false;
  }
  v.remove_prefix(kUnit.size());
  const size_t dash = v.find('-');
  if (dash == std::string_view::npos) {
    return false;
  }
  const std::string_view first = v.substr(0, dash);
  const std::string_view last = v.substr(dash + 1);
  const auto number = [](std::string_view n) {
    return !n.empty() && n.size() <= 19 && std::all_of(n.begin(), n.end(), is_digit);
  };
  if (!number(first) || !number(last)) {
    return false;  // open ("N-"), suffix ("-N"), several ranges or garbage
  }
  // Equal lengths compare as numbers lexicographically; a shorter number is smaller.
  const auto a = first.find_first_not_of('0');
  const auto b = last.find_first_not_of('0');
  const std::string_view fa = a == std::string_view::npos ? "0" : first.substr(a);
  const std::string_view lb = b == std::string_view::npos ? "0" : last.substr(b);
  return fa.size() < lb.size() || (fa.size() == lb.size() && fa <= lb);
}

// Product tokens of BitTorrent clients' User-Agent strings (their own documentation and
// source: Transmission "Transmission/3.00", libtorrent "libtorrent/2.0.8.0", qBittorrent
// "qBittorrent/4.5.2", Deluge "Deluge/2.1.1 libtorrent/2.0.8.0", rTorrent
// "rtorrent/0.9.8/0.13.8"). Matched at the start of the User-Agent or of a word in it.
constexpr std::array kBittorrentClients{
    std::string_view{"Transmission/"}, std::string_view{"libtorrent/"},
    std::string_view{"qBittorrent/"},  std::string_view{"Deluge/"},
    std::string_view{"uTorrent/"},     std::string_view{"\xC2\xB5Torrent/"},
    std::string_view{"BitTorrent/"},   std::string_view{"Azureus "},
    std::string_view{"Vuze/"},         std::string_view{"BiglyBT/"},
    std::string_view{"BitComet/"},     std::string_view{"KTorrent/"},
    std::string_view{"rtorrent/"},     std::string_view{"Tixati/"},
    std::string_view{"Tribler/"},
};
constexpr std::string_view kDualUseClient = "aria2/";

bool names_token(std::string_view ua, std::string_view token) noexcept {
  for (size_t at = ua.find(token); at != std::string_view::npos; at = ua.find(token, at + 1)) {
    if (at == 0 || ua[at - 1] == ' ' || ua[at - 1] == '(' || ua[at - 1] == ';') {
      return true;
    }
  }
  return false;
}

Client client_of(std::string_view ua) noexcept {
  ua = trim(ua);
  for (const std::string_view token : kBittorrentClients) {
    if (names_token(ua, token)) {
      return Client::kBittorrent;
    }
  }
  return names_token(ua, kDualUseClient) ? Client::kDualUse : Client::kOther;
}

constexpr std::string_view kGet = "GET ";

}  // namespace

Request parse_request(std::span<const uint8_t> head) noexcept {
  const std::string_view t = as_text(head.first(std::min(head.size(), kMaxHead)));
  const bool cut = head.size() < kMaxHead;  // more of the head may still come
  if (t.size() < kGet.size()) {
    return {kGet.substr(0, t.size()) == t && cut ? Kind::kIncomplete : Kind::kNone};
  }
  if (t.substr(0, kGet.size()) != kGet) {
    return {};
  }
  const size_t line_end = t.find("\r\n");
  if (line_end == std::string_view::npos) {
    return {cut ? Kind::kIncomplete : Kind::kNone};
  }
  // "GET <target> HTTP/1.x": origin-form or absolute-form (through a proxy) target.
  const std::string_view line = t.substr(0, line_end);
  const size_t version = line.rfind(' ');
  if (version <= kGet.size() || line.substr(version + 1, 7) != "HTTP/1." ||
      line.size() != version + 9) {
    return {};
  }
  const std::string_view target = line.substr(kGet.size(), version - kGet.size());
  if (const size_t q = target.find('?');
      q != std::string_view::npos && is_http_seed_query(target.substr(q + 1))) {
    return {Kind::kHttpSeed};
  }
  const size_t head_end = t.find("\r\n\r\n", line_end);
  if (head_end == std::string_view::npos) {
    return {cut ? Kind::kIncomplete : Kind::kNone};
  }
  bool closed_range = false;
  int ranges = 0;
  Client client = Client::kOther;
  for (size_t at = line_end + 2; at < head_end + 2;) {
    const size_t end = t.find("\r\n", at);
    const std::string_view field = t.substr(at, end - at);
    at = end + 2;
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos) {
      return {};  // not an HTTP header: not a request a web server would serve
    }
    const std::string_view name = field.substr(0, colon);
    const std::string_view value = field.substr(colon + 1);
    if (iequals(name, "range")) {
      ++ranges;
      closed_range = is_closed_range(value);
    } else if (iequals(name, "user-agent")) {
      client = client_of(value);
    }
  }
  if (ranges != 1 || !closed_range || client == Client::kOther) {
    return {};
  }
  return {Kind::kRangeFetch, client};
}

}  // namespace webseed

namespace {

using webseed::Kind;

// A request head cut across segments, on the heap only until it is complete.
using Head = StreamPrefix<webseed::kMaxHead>;

enum class Phase : uint8_t { kStart, kHead, kSwarm, kDone };

// Payload packets of the flow, the request included, during which a dual-use client's
// range request waits for its host to show up in a swarm (an announce sent at the same
// moment as the request). In practice nDPI settles the flow as HTTP on the response first.
constexpr uint32_t kSwarmWaitPackets = 4;

// One word, so that flows do not grow: the Head while the request is reassembled (heap
// blocks are aligned, so bit 0 is clear), otherwise bit 0 set and the phase above it; 0 on
// a new flow.
struct Slot {
  uintptr_t word;

  Head* head() const noexcept { return (word & 1) == 0 ? reinterpret_cast<Head*>(word) : nullptr; }
  Phase phase() const noexcept {
    if (word == 0) {
      return Phase::kStart;
    }
    return (word & 1) == 0 ? Phase::kHead : static_cast<Phase>(word >> 1);
  }
  void set(Phase p) noexcept { word = 1 | (uintptr_t{static_cast<uint8_t>(p)} << 1); }
  void hold(Head* h) noexcept { word = reinterpret_cast<uintptr_t>(h); }
};
static_assert(alignof(std::max_align_t) >= 2, "bit 0 of a heap pointer must be free");

bool swarm_host(const packet::Address& host, const FlowContext& ctx,
                packet::Timestamp now) noexcept {
  return ctx.peers != nullptr && ctx.peers->lookup_host(host, now) == AppId::kBittorrent;
}

// A dual-use downloader's range request from a host seen in a swarm: what the other flows
// say, not this request (the same request fetches any file).
constexpr Match kSwarmWebseed{
    .app = AppId::kBittorrent, .evidence = Evidence::kCrossFlow, .features = kFeatureFileTransfer};

constexpr Match kWebseed{
    .app = AppId::kBittorrent, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};

void drop_head(Slot& s) noexcept {
  Head::release(s.head());
  s.set(Phase::kDone);
}

bool keep_head(Slot& s, FlowLimits* limits, std::span<const uint8_t> p, uint32_t seq) noexcept {
  Head* h = Head::start(limits, p, seq);
  if (h == nullptr) {
    return false;
  }
  s.hold(h);
  return true;
}

Result settle(webseed::Request r, const packet::PacketView& pkt, const FlowContext& ctx,
              Slot& s) noexcept {
  if (r.kind == Kind::kIncomplete) {
    return NeedMore{};
  }
  drop_head(s);
  if (r.kind == Kind::kHttpSeed ||
      (r.kind == Kind::kRangeFetch && r.client == webseed::Client::kBittorrent)) {
    if (ctx.peers != nullptr) {
      ctx.peers->remember_host(pkt.src, AppId::kBittorrent, pkt.ts);
    }
    return kWebseed;
  }
  if (r.kind == Kind::kRangeFetch) {
    if (swarm_host(pkt.src, ctx, pkt.ts)) {
      return kSwarmWebseed;
    }
    s.set(Phase::kSwarm);
    return NeedMore{};
  }
  return NotMine{};
}

}  // namespace

Interest BittorrentWebseed::interest() const noexcept {
  return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = sizeof(Slot)};
}

Result BittorrentWebseed::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                                  FlowSlot slot) noexcept {
  auto& s = slot.as<Slot>();
  const auto p = pkt.payload;
  const bool client = ctx.direction == Direction::kClientToServer;
  switch (s.phase()) {
    case Phase::kStart: {
      // The request is the connection's first payload: a server that speaks first is not
      // an HTTP server.
      if (!client || ctx.payload_packets[0] != 1 || ctx.payload_packets[1] != 0) {
        return NotMine{};
      }
      const webseed::Request r = webseed::parse_request(p);
      if (r.kind == Kind::kIncomplete && !keep_head(s, ctx.limits, p, pkt.tcp_seq)) {
        drop_head(s);
        return NotMine{};
      }
      return settle(r, pkt, ctx, s);
    }
    case Phase::kHead: {
      if (!client) {
        drop_head(s);  // answered before the request ended: not a web server's exchange
        return NotMine{};
      }
      Head& h = *s.head();
      // Bytes already kept (a retransmission) are skipped; a gap, or a head longer than
      // kMaxHead, ends the attempt.
      switch (h.append(p, pkt.tcp_seq)) {
        case Head::Append::kOld:
          return NeedMore{};
        case Head::Append::kRefused:
          drop_head(s);
          return NotMine{};
        case Head::Append::kAdded:
          break;
      }
      return settle(webseed::parse_request(h.bytes()), pkt, ctx, s);
    }
    case Phase::kSwarm: {
      const packet::Address& requester = client ? pkt.src : pkt.dst;
      if (swarm_host(requester, ctx, pkt.ts)) {
        s.set(Phase::kDone);
        return kSwarmWebseed;
      }
      if (ctx.payload_packets[0] + ctx.payload_packets[1] >= kSwarmWaitPackets) {
        s.set(Phase::kDone);
        return NotMine{};
      }
      return NeedMore{};
    }
    case Phase::kDone:
      break;
  }
  return NotMine{};
}

void BittorrentWebseed::release(FlowSlot slot) noexcept {
  auto& s = slot.as<Slot>();
  drop_head(s);
  s = Slot{};
}

}  // namespace imguard::classifiers
