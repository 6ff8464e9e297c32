// SPDX-License-Identifier: GPL-3.0-or-later
// Gnutella. Signatures: "GNUTELLA CONNECT/" and "GNUTELLA/0.6 " handshakes (Gnutella 0.6
// RFC draft), also split over segments; "GIV " pushes, "/uri-res/N2R?urn:" requests (HUGE),
// X-Gnutella-*/X-Alt HTTP headers; UDP messages and Mojito DHT messages whose every length
// field chains to the datagram's end, GND fragments and acks; mid-stream TCP: chained
// binary messages in both directions.
// Evidence: pcaps/gnutella/*.pcap (synthetic; no Gnutella client in Debian).
// False positives: none known (look-alikes in pcaps/gnutella/lookalikes.txt).
#include "classifiers/gnutella.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "classifiers/gnutella_wire.h"
#include "classifiers/p2p_text.h"

namespace imguard::classifiers {
namespace {

using p2p::Bytes;
namespace wire = gnutella;

constexpr size_t kServentIdHex = 32;
// A query or hit split over more fragments than this does not fit a UDP message budget.
constexpr uint8_t kMaxGndParts = 32;
// Mid-stream: the messages one direction must chain, over at least this many segments,
// while the other direction chains at least one of its own.
constexpr uint8_t kChainMessages = 3;
constexpr uint8_t kChainSegments = 2;
// Mid-stream payload packets (both directions) after which a flow where no segment began
// a message is given up: servents write messages back to back, so segment starts meet
// message starts within a few segments; this keeps other mid-stream flows from being
// held in the queue for the whole budget.
constexpr uint32_t kSyncPackets = 8;

constexpr Match kPeer{.app = AppId::kGnutella,
                      .evidence = Evidence::kDpi,
                      .features = kFeatureFileTransfer | kFeaturePeer};
constexpr Match kSignalling{
    .app = AppId::kGnutella, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};

/// Openings recognised even when the sender's stack splits them over several segments,
/// per direction (client to server, then server to client).
constexpr std::array<std::array<std::string_view, 2>, 2> kMarkers{{
    {"GNUTELLA CONNECT/", "GET /uri-res/N2R?urn:"},
    {"GNUTELLA/0.6 ", "GNUTELLA OK"},
}};

/// Where one direction's byte stream stands in the message chain (mid-stream flows).
struct ChainState {
  uint16_t remaining;  // payload bytes of the current message still to come
  uint8_t have;        // header bytes of the next message seen so far (0..22)
  uint8_t ttl;         // its TTL, while its header is split over segments
  uint8_t messages;    // complete messages chained (saturating)
  uint8_t segments;    // segments the chain ran through (saturating); 0: no chain
};

/// 14 bytes: the chain's per-flow state is shared by every classifier (chain.h).
struct State {
  ChainState chain[2];
  /// Per direction: which of its kMarkers still match the stream's first bytes (bits 6-7)
  /// and how many bytes matched so far (bits 0-5).
  uint8_t opening[2];
};

constexpr uint8_t kOpeningCandidates = 0xc0;
constexpr uint8_t kOpeningMatched = 0x3f;

size_t dir_index(Direction d) noexcept {
  return static_cast<size_t>(d);
}

uint8_t saturating_inc(uint8_t v) noexcept {
  return v == 0xff ? v : static_cast<uint8_t>(v + 1);
}

bool is_udp_message(Bytes p) noexcept {
  if (p.size() < wire::kHeader ||
      !wire::header_fits(p[wire::kTypeAt], p[17], p[18], wire::Transport::kUdp) ||
      p2p::le32(p, wire::kLengthAt) != p.size() - wire::kHeader) {
    return false;
  }
  return wire::payload_fits(p[wire::kTypeAt], p.subspan(wire::kHeader));
}

bool is_gnd(Bytes p) noexcept {
  // "GND", flags, sequence (2), part number, part count; then the fragment.
  if (p.size() < 8 || !p2p::starts_with(p, "GND")) {
    return false;
  }
  // Flags: deflated, acknowledgement wanted, extended header; the high bits are reserved.
  if ((p[3] & 0xf0) != 0) {
    return false;
  }
  const uint8_t part = p[6];
  const uint8_t count = p[7];
  if (count > kMaxGndParts) {
    return false;
  }
  // count 0 marks an acknowledgement (no data).
  return count == 0 ? p.size() == 8 : part >= 1 && part <= count && p.size() > 8;
}

bool is_push_answer(Bytes p) noexcept {
  // "GIV <decimal index>:<32 hex>/<file name>\n\n"
  if (!p2p::starts_with(p, "GIV ")) {
    return false;
  }
  size_t i = 4;
  const size_t digits = i;
  while (i < p.size() && p[i] >= '0' && p[i] <= '9') {
    ++i;
  }
  if (i == digits || i >= p.size() || p[i] != ':' || p.size() < i + 1 + kServentIdHex + 1) {
    return false;
  }
  for (size_t k = i + 1; k < i + 1 + kServentIdHex; ++k) {
    if (std::isxdigit(p[k]) == 0) {
      return false;
    }
  }
  return p[i + 1 + kServentIdHex] == '/';
}

/// A Gnutella download header in the HTTP header block, names compared case-insensitively
/// (RFC 9110): X-Gnutella-* (e.g. X-Gnutella-Content-URN), the alternate-location lists
/// X-Alt / X-NAlt, or X-Queue (download queueing), which only Gnutella servents exchange.
bool has_gnutella_header(Bytes p) noexcept {
  constexpr std::string_view kEnd = "\r\n\r\n";
  const auto end = std::search(p.begin(), p.end(), kEnd.begin(), kEnd.end(),
                               [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
  // One pass over the line starts (every HTTP request and answer reaches here), names
  // compared case-insensitively in ASCII.
  constexpr std::array<std::string_view, 4> kNames = {"x-gnutella-",
                                                      "x-alt:", "x-nalt:", "x-queue:"};
  const auto lower = [](uint8_t c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  };
  for (auto it = p.begin(); end - it >= 2; ++it) {
    if (it[0] != '\r' || it[1] != '\n') {
      continue;
    }
    const auto line = it + 2;
    for (const std::string_view name : kNames) {
      if (end - line >= static_cast<std::ptrdiff_t>(name.size()) &&
          std::equal(name.begin(), name.end(), line,
                     [&](char n, uint8_t c) { return lower(c) == n; })) {
        return true;
      }
    }
  }
  return false;
}

enum class Opening : uint8_t { kMatch, kPartial, kNone };

/// The stream's first bytes in this direction against its kMarkers, continuing a prefix
/// that earlier segments left open. Called only while candidates remain.
Opening match_marker(Bytes p, Direction dir, uint8_t& opening) noexcept {
  const auto& markers = kMarkers[dir_index(dir)];
  const size_t matched = opening & kOpeningMatched;
  uint8_t still = 0;
  for (size_t m = 0; m < markers.size(); ++m) {
    const std::string_view text = markers[m];
    if ((opening & (0x40u << m)) == 0 || matched >= text.size()) {
      continue;
    }
    const size_t n = std::min(p.size(), text.size() - matched);
    const std::string_view want = text.substr(matched, n);
    if (!std::equal(want.begin(), want.end(), p.begin(),
                    [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; })) {
      continue;
    }
    if (matched + n == text.size()) {
      return Opening::kMatch;
    }
    still = static_cast<uint8_t>(still | (0x40u << m));
  }
  // p is shorter than every marker still open, so the count stays below 0x3f.
  opening = static_cast<uint8_t>(still | (matched + p.size()));
  return still != 0 ? Opening::kPartial : Opening::kNone;
}

/// Text openings other than the markers; they must sit in the direction's first segment.
std::optional<Result> first_segment_text(Bytes p, Direction dir) noexcept {
  if (dir == Direction::kClientToServer) {
    if (is_push_answer(p)) {
      return Result{kPeer};
    }
    if (p2p::starts_with(p, "GET /") || p2p::starts_with(p, "HEAD /")) {
      // A servent's HTTP file request carries X-Gnutella-* headers, or its answer does.
      return has_gnutella_header(p) ? Result{kPeer} : Result{NeedMore{}};
    }
    return std::nullopt;
  }
  if (p2p::starts_with(p, "HTTP/1.") && has_gnutella_header(p)) {
    return Result{kPeer};
  }
  return std::nullopt;
}

bool header_ok(Bytes h) noexcept {
  return wire::header_fits(h[wire::kTypeAt], h[17], h[18], wire::Transport::kTcp) &&
         p2p::le32(h, wire::kLengthAt) <= wire::kMaxPayload;
}

/// Advances one direction's message chain over one segment. False when the segment does
/// not continue the chain (the chain is then dropped, to be looked for again).
bool step_chain(ChainState& c, Bytes p) noexcept {
  if (c.segments == 0) {
    // A chain starts only where a segment starts with a whole, well-formed header.
    if (p.size() < wire::kHeader || !header_ok(p)) {
      return false;
    }
    c = ChainState{};
  }
  c.segments = saturating_inc(c.segments);
  size_t at = 0;
  while (at < p.size()) {
    if (c.have == 0 && c.remaining > 0) {  // (while have > 0 it collects the length)
      const size_t n = std::min<size_t>(c.remaining, p.size() - at);
      at += n;
      c.remaining = static_cast<uint16_t>(c.remaining - n);
      c.messages = c.remaining == 0 ? saturating_inc(c.messages) : c.messages;
      continue;
    }
    if (c.have == 0 && p.size() - at >= wire::kHeader) {
      // The common case: a whole header here, and maybe its whole payload.
      const Bytes h = p.subspan(at, wire::kHeader);
      if (!header_ok(h)) {
        c = ChainState{};
        return false;
      }
      const uint32_t len = p2p::le32(h, wire::kLengthAt);
      at += wire::kHeader;
      if (len <= p.size() - at) {
        if (!wire::payload_fits(h[wire::kTypeAt], p.subspan(at, len))) {
          c = ChainState{};
          return false;
        }
        at += len;
        c.messages = saturating_inc(c.messages);
      } else {
        c.remaining = static_cast<uint16_t>(len);  // only its framing can be checked
      }
      continue;
    }
    // A header split over segments: take it byte by byte (TCP carries no Mojito, so the
    // type alone says whether bytes 17-18 are TTL and hops).
    const uint8_t b = p[at++];
    const uint8_t pos = c.have++;
    bool ok = true;
    if (pos == wire::kTypeAt) {
      ok = wire::header_fits(b, 1, 0, wire::Transport::kTcp);
    } else if (pos == wire::kTypeAt + 1) {
      c.ttl = b;
    } else if (pos == wire::kTypeAt + 2) {
      ok = wire::header_fits(0x00, c.ttl, b, wire::Transport::kTcp);
    } else if (pos == wire::kLengthAt || pos == wire::kLengthAt + 1) {
      c.remaining = static_cast<uint16_t>(c.remaining | (b << (8 * (pos - wire::kLengthAt))));
    } else if (pos > wire::kLengthAt + 1) {
      ok = b == 0;  // a payload length over kMaxPayload
      if (ok && pos + 1 == wire::kHeader) {
        c.have = 0;
        c.messages = c.remaining == 0 ? saturating_inc(c.messages) : c.messages;
      }
    }
    if (!ok) {
      c = ChainState{};
      return false;
    }
  }
  return true;
}

}  // namespace

static_assert(sizeof(State) <= 16, "gnutella's slot must stay within 16 bytes");

Interest Gnutella::interest() const noexcept {
  return Interest{.tcp = true, .udp = true, .needs_payload = true, .state_bytes = sizeof(State)};
}

Result Gnutella::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                         FlowSlot slot) noexcept {
  const Bytes p = pkt.payload;
  if (pkt.l4 == packet::L4::kUdp) {
    return is_udp_message(p) || is_gnd(p) ? Result{kSignalling} : Result{NotMine{}};
  }
  State& s = slot.as<State>();
  const size_t d = dir_index(ctx.direction);
  const bool first = ctx.payload_packets[d] == 1;
  if (first) {
    s.opening[d] = kOpeningCandidates;
  }
  if ((s.opening[d] & kOpeningCandidates) != 0) {
    switch (match_marker(p, ctx.direction, s.opening[d])) {
      case Opening::kMatch:
        return kPeer;
      case Opening::kPartial:
        return NeedMore{};
      case Opening::kNone:
        break;
    }
  }
  if (first) {
    if (auto r = first_segment_text(p, ctx.direction)) {
      return *r;
    }
  }
  // A connection seen from its start opens with the handshake (or a push or HTTP request):
  // binary messages without it are not Gnutella, whatever their framing.
  if (ctx.start_seen) {
    return NotMine{};
  }
  // Mid-stream: several messages must chain exactly, over more than one segment, and the
  // other direction must frame as well, so one forged segment (or one side's content,
  // such as an uploaded file) cannot make a flow Gnutella.
  step_chain(s.chain[d], p);
  const ChainState& mine = s.chain[d];
  const ChainState& other = s.chain[1 - d];
  const auto long_chain = [](const ChainState& c) {
    return c.messages >= kChainMessages && c.segments >= kChainSegments;
  };
  const auto framed = [](const ChainState& c) { return c.segments != 0 && c.messages >= 1; };
  if ((long_chain(mine) && framed(other)) || (long_chain(other) && framed(mine))) {
    return kPeer;
  }
  const uint32_t seen = ctx.payload_packets[0] + ctx.payload_packets[1];
  if (mine.segments == 0 && other.segments == 0 && seen >= kSyncPackets) {
    return NotMine{};
  }
  return NeedMore{};
}

}  // namespace imguard::classifiers
