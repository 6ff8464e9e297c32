// SPDX-License-Identifier: GPL-3.0-or-later
// BitTorrent over UDP. Signatures: uTP header (BEP 29) consistent across both directions;
// DHT KRPC bencoded dictionaries (BEP 5); UDP tracker protocol id and actions (BEP 15);
// "BT-SEARCH * HTTP/1.1" local peer discovery (BEP 14).
// Evidence: pcaps/bittorrent/ (transmission and libtorrent uTP and DHT, opentracker UDP).
// Peer learning (PeerCache): DHT "nodes"/"values" only from a well-formed KRPC reply whose
// transaction id answers a query this flow sent, for the querying host alone; UDP tracker
// peers only from an announce reply with the request's transaction id, for the announcer.
// Negative: pcaps/regression/dht-forged-nodes.pcap (an unsolicited reply learns nothing).
// Look-alikes (pcaps/negative/raknet-game.pcap, game-udp.pcap): uTP's header is 20 bytes
// of numbers, and game datagrams often fit it (RakNet's unconnected ping 0x01 00... is a
// valid uTP DATA header). What separates uTP: the RakNet offline magic is refused
// outright; the responder's connection id is the SYN's, or off by exactly one mid-flow
// (never an echo of the initiator's); an unanswered run needs the initiator's seq_nr to
// advance with every DATA packet. A lone uTP SYN is only accepted when the flow ends
// without contradicting it.
#include "classifiers/bittorrent_udp.h"

#include <algorithm>
#include <iterator>

#include "classifiers/bittorrent_bencode.h"
#include "classifiers/bittorrent_common.h"
#include "classifiers/peer_cache.h"

namespace imguard::classifiers {
namespace {

using bt::Bytes;

constexpr size_t kUtpHeader = 20;
constexpr uint8_t kUtpData = 0;
[[maybe_unused]] constexpr uint8_t kUtpState = 2;  // BEP 29 ST_STATE: accepted, not tested for
constexpr uint8_t kUtpSyn = 4;
// Unacknowledged packets in flight between the two first-seen packets (mid-flow capture).
constexpr uint16_t kUtpSeqWindow = 1024;
constexpr uint64_t kTrackerProtocolId = 0x41727101980ull;
constexpr size_t kTrackerAnnounceRequest = 98;
constexpr uint32_t kTrackerConnect = 0;
constexpr uint32_t kTrackerAnnounce = 1;
constexpr uint32_t kTrackerError = 3;
// DHT queries from one side without a reply after which the flow is decided anyway.
constexpr uint8_t kDhtUnansweredQueries = 3;
// Longest KRPC transaction id matched (clients use 2-4 bytes; BEP 5 suggests 2).
constexpr size_t kMaxTid = 16;
constexpr std::string_view kLpdLine = "BT-SEARCH * HTTP/1.1\r\n";

enum class Kind : uint8_t { kNone, kUtp, kDht, kUdpTracker, kUdpAnnounce };

struct State {
  Kind kind;
  uint8_t utp_syn;     // the initiator opened with a uTP SYN
  uint8_t utp_client;  // valid uTP packets from the initiator
  uint8_t dht_queries;
  uint16_t utp_conn;      // initiator's first connection id
  uint16_t utp_seq;       // initiator's first seq_nr
  uint16_t utp_last_seq;  // initiator's latest seq_nr
  // UDP tracker: the request's transaction id. DHT: FNV-1a of the last query's "t" (the
  // slot budget has no room for the bytes; an off-path forger must know "t" either way).
  uint32_t tracker_tid;
  uint8_t dht_tid_len;  // length of that "t", 0 if none or too long
};

constexpr Match kSignalling{
    .app = AppId::kBittorrent, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};
constexpr Match kSession{.app = AppId::kBittorrent,
                         .evidence = Evidence::kDpi,
                         .features = kFeatureFileTransfer | kFeaturePeer};

struct UtpHeader {
  uint8_t type;
  uint16_t conn;
  uint16_t seq;
  uint16_t ack;
};

/// A BEP 29 header whose extension chain ends inside the datagram and whose data length
/// fits its type.
std::optional<UtpHeader> parse_utp(Bytes p) noexcept {
  if (p.size() < kUtpHeader || (p[0] & 0x0f) != 1 || (p[0] >> 4) > kUtpSyn) {
    return std::nullopt;
  }
  size_t at = kUtpHeader;
  uint8_t ext = p[1];
  for (int n = 0; ext != 0; ++n) {
    // 1 = selective ack (a bit mask in multiples of 4 bytes), 2 = extension bits (8 bytes).
    if (n == 4 || ext > 4 || at + 2 > p.size()) {
      return std::nullopt;
    }
    const uint8_t len = p[at + 1];
    if (len == 0 || (ext == 1 && len % 4 != 0) || at + 2 + len > p.size()) {
      return std::nullopt;
    }
    ext = p[at];
    at += 2 + size_t{len};
  }
  const uint8_t type = p[0] >> 4;
  const bool has_data = at < p.size();
  if (type == kUtpData ? !has_data : (type != 1 && has_data)) {
    return std::nullopt;  // DATA carries bytes; STATE, RESET and SYN carry none
  }
  return UtpHeader{type, bt::be16(p, 2), bt::be16(p, 16), bt::be16(p, 18)};
}

/// RakNet's "offline message" magic (RakNet MessageIdentifiers / RakPeer.cpp): every
/// unconnected ping/pong and open-connection message of RakNet games carries it, after the
/// message id and, in pings and pongs, an 8-byte time (and a GUID in pongs).
constexpr uint8_t kRakNetMagic[16] = {0x00, 0xff, 0xff, 0x00, 0xfe, 0xfe, 0xfe, 0xfe,
                                      0xfd, 0xfd, 0xfd, 0xfd, 0x12, 0x34, 0x56, 0x78};

bool is_raknet_offline(Bytes p) noexcept {
  for (const size_t at : {size_t{1}, size_t{9}, size_t{17}}) {
    if (p.size() >= at + sizeof(kRakNetMagic) &&
        std::equal(std::begin(kRakNetMagic), std::end(kRakNetMagic), p.subspan(at).begin())) {
      return true;
    }
  }
  return false;
}

uint16_t diff16(uint16_t a, uint16_t b) noexcept {
  const auto d = static_cast<uint16_t>(a - b);
  return std::min(d, static_cast<uint16_t>(-d));
}

/// A complete KRPC message: the whole datagram is one dictionary with "t", "y" and, for
/// queries and responses, a 20-byte node id.
std::optional<uint8_t> krpc_type(Bytes p) noexcept {
  if (p.size() < 12 || p[0] != 'd' || p.back() != 'e') {
    return std::nullopt;
  }
  const auto end = bencode::skip(p, 0);
  if (!end || *end != p.size()) {
    return std::nullopt;
  }
  const auto y = bencode::find_string(p, 0, "y");
  const auto t = bencode::find_string(p, 0, "t");
  if (!y || y->size() != 1 || !t) {
    return std::nullopt;
  }
  const uint8_t type = (*y)[0];
  if (type == 'e') {
    const auto e = bencode::find(p, 0, "e");
    return e && !e->empty() && (*e)[0] == 'l' ? std::optional<uint8_t>(type) : std::nullopt;
  }
  if (type != 'q' && type != 'r') {
    return std::nullopt;
  }
  const auto body = bencode::find(p, 0, type == 'q' ? "a" : "r");
  if (!body) {
    return std::nullopt;
  }
  const auto id = bencode::find_string(*body, 0, "id");
  if (!id || id->size() != 20) {
    return std::nullopt;
  }
  if (type == 'q' && !bencode::find_string(p, 0, "q")) {
    return std::nullopt;
  }
  return type;
}

/// `learner`: the host that sent the query this reply answers.
void learn_dht_reply(Bytes p, const FlowContext& ctx, const packet::Address& learner,
                     packet::Timestamp now) noexcept {
  const auto r = bencode::find(p, 0, "r");
  if (!r || ctx.peers == nullptr) {
    return;
  }
  if (const auto nodes = bencode::find_string(*r, 0, "nodes")) {
    bt::learn_compact(ctx.peers, learner, *nodes, 20, 4, now);
  }
  if (const auto nodes6 = bencode::find_string(*r, 0, "nodes6")) {
    bt::learn_compact(ctx.peers, learner, *nodes6, 20, 16, now);
  }
  const auto values = bencode::find(*r, 0, "values");
  if (!values || values->empty() || (*values)[0] != 'l') {
    return;
  }
  size_t at = 1;
  while (at < values->size() && (*values)[at] != 'e') {
    const auto s = bencode::string_at(*values, at);
    if (!s) {
      return;
    }
    if (s->value.size() == 6 || s->value.size() == 18) {
      bt::learn_compact(ctx.peers, learner, s->value, 0, s->value.size() - 2, now);
    }
    at = s->end;
  }
}

uint32_t tid_hash(Bytes t) noexcept {
  uint32_t h = 2166136261u;
  for (const uint8_t b : t) {
    h = (h ^ b) * 16777619u;
  }
  return h;
}

void remember_tid(Bytes p, State& s) noexcept {
  const auto t = bencode::find_string(p, 0, "t");
  s.dht_tid_len = 0;
  if (t && !t->empty() && t->size() <= kMaxTid) {
    s.tracker_tid = tid_hash(*t);
    s.dht_tid_len = static_cast<uint8_t>(t->size());
  }
}

/// A reply whose transaction id is the one of the query this flow sent.
bool answers_query(Bytes p, const State& s) noexcept {
  const auto t = bencode::find_string(p, 0, "t");
  return s.dht_tid_len != 0 && t && t->size() == s.dht_tid_len && tid_hash(*t) == s.tracker_tid;
}

/// BEP 14: the announcer's listening port is the "Port:" header; the host speaks for itself.
void learn_lpd(const packet::PacketView& pkt, const FlowContext& ctx) noexcept {
  if (ctx.peers == nullptr) {
    return;
  }
  const Bytes p = pkt.payload;
  ctx.peers->remember_host(pkt.src, AppId::kBittorrent, pkt.ts);
  const size_t at = bt::find(p, "\r\nPort: ");
  uint32_t port = 0;
  for (size_t i = at + 8; i < p.size() && p[i] >= '0' && p[i] <= '9' && port <= 65535; ++i) {
    port = port * 10 + (p[i] - '0');
  }
  if (port >= bt::kMinLearnedPort && port <= 65535) {
    ctx.peers->remember(pkt.src, pkt.src, static_cast<uint16_t>(port), AppId::kBittorrent, pkt.ts);
  }
}

bool is_tracker_connect(Bytes p) noexcept {
  return p.size() == 16 &&
         (uint64_t{bt::be32(p, 0)} << 32 | bt::be32(p, 4)) == kTrackerProtocolId &&
         bt::be32(p, 8) == kTrackerConnect;
}

bool is_tracker_announce(Bytes p) noexcept {
  // Fixed part of 98 bytes, BEP 41 options may follow; event is 0..3.
  return p.size() >= kTrackerAnnounceRequest && bt::be32(p, 8) == kTrackerAnnounce &&
         bt::be32(p, 80) <= 3;
}

Result on_tracker(const packet::PacketView& pkt, const FlowContext& ctx, State& s) noexcept {
  const Bytes p = pkt.payload;
  const bool c2s = ctx.direction == Direction::kClientToServer;
  if (c2s) {
    if (is_tracker_announce(p)) {
      s.tracker_tid = bt::be32(p, 12);
      if (ctx.peers != nullptr) {
        ctx.peers->remember_host(pkt.src, AppId::kBittorrent, pkt.ts);
        const uint16_t port = bt::be16(p, 96);  // the announcer's own listener
        if (port >= bt::kMinLearnedPort) {
          ctx.peers->remember(pkt.src, pkt.src, port, AppId::kBittorrent, pkt.ts);
        }
      }
    }
    return s.kind == Kind::kUdpTracker ? Result{NeedMore{Hold::kClaim}} : Result{NeedMore{}};
  }
  if (p.size() < 8 || bt::be32(p, 4) != s.tracker_tid) {
    return s.kind == Kind::kUdpTracker ? Result{kSignalling} : Result{NotMine{}};
  }
  const uint32_t action = bt::be32(p, 0);
  if (action == kTrackerConnect && p.size() == 16 && s.kind == Kind::kUdpTracker) {
    return NeedMore{Hold::kClaim};  // the announce follows on the same socket pair
  }
  if (action == kTrackerAnnounce && p.size() >= 20) {
    const size_t addr_len = pkt.src.is_v4() ? 4 : 16;
    if ((p.size() - 20) % (addr_len + 2) == 0) {
      bt::learn_compact(ctx.peers, pkt.dst, p.subspan(20), 0, addr_len, pkt.ts);
      return kSignalling;
    }
  }
  if (action == kTrackerError || s.kind == Kind::kUdpTracker) {
    return kSignalling;
  }
  return NotMine{};
}

Result on_utp(const UtpHeader& h, const packet::PacketView& pkt, const FlowContext& ctx,
              State& s) noexcept {
  if (ctx.direction == Direction::kClientToServer) {
    if (s.utp_client != 0) {
      // BEP 29: seq_nr counts the sender's DATA (and SYN/FIN) packets; a STATE repeats the
      // next one. A DATA packet must move it forward: a game's constant or random bytes at
      // offset 16 do not.
      const uint16_t ahead = static_cast<uint16_t>(h.seq - s.utp_last_seq);
      const bool ok = h.type == kUtpData ? ahead != 0 && ahead <= kUtpSeqWindow
                                         : diff16(h.seq, s.utp_last_seq) <= kUtpSeqWindow;
      if (!ok) {
        return NotMine{};
      }
    }
    if (h.type == kUtpData || s.utp_client == 0) {
      s.utp_last_seq = h.seq;
    }
    ++s.utp_client;
    return s.utp_syn != 0 ? Result{NeedMore{Hold::kClaim}} : Result{NeedMore{}};
  }
  // BEP 29 "connection setup": the SYN carries the initiator's receive id R and the
  // initiator sends with R+1 afterwards; the responder sends with R. So after a SYN the
  // responder's id equals the SYN's; seen mid-flow, the two sides' ids differ by exactly
  // one. Equal ids without a SYN are an echoed session token (games), not uTP.
  const bool ids_tied = s.utp_syn != 0 ? h.conn == s.utp_conn
                                       : static_cast<uint16_t>(h.conn + 1) == s.utp_conn ||
                                             static_cast<uint16_t>(s.utp_conn + 1) == h.conn;
  const bool acks_tied =
      s.utp_syn != 0 ? h.ack == s.utp_seq : diff16(h.ack, s.utp_seq) <= kUtpSeqWindow;
  if (!ids_tied || !acks_tied) {
    return NotMine{};
  }
  bt::learn_flow(pkt, ctx, true);
  return kSession;
}

}  // namespace

Interest BittorrentUdp::interest() const noexcept {
  return Interest{.tcp = false, .udp = true, .needs_payload = true, .state_bytes = sizeof(State)};
}

Result BittorrentUdp::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                              FlowSlot slot) noexcept {
  auto& s = slot.as<State>();
  const Bytes p = pkt.payload;
  const bool c2s = ctx.direction == Direction::kClientToServer;

  switch (s.kind) {
    case Kind::kUtp: {
      const auto h = parse_utp(p);
      const bool same_conn =
          h && (!c2s || h->conn == s.utp_conn || h->conn == static_cast<uint16_t>(s.utp_conn + 1));
      const Result r = same_conn ? on_utp(*h, pkt, ctx, s) : Result{NotMine{}};
      if (std::holds_alternative<NotMine>(r)) {
        s = State{};  // contradicted: nothing is left for give_up() to claim
      }
      return r;
    }
    case Kind::kDht: {
      const auto type = krpc_type(p);
      if (!type) {
        return kSignalling;  // a KRPC query was already seen: the flow is DHT
      }
      if (c2s && *type == 'q') {
        remember_tid(p, s);
        if (++s.dht_queries < kDhtUnansweredQueries) {
          return NeedMore{Hold::kClaim};
        }
        return kSignalling;
      }
      // Only a reply to this flow's own query teaches anything, and only to the querier.
      if (!c2s && *type == 'r' && answers_query(p, s)) {
        bt::learn_flow(pkt, ctx, true);
        learn_dht_reply(p, ctx, pkt.dst, pkt.ts);
      }
      return kSignalling;
    }
    case Kind::kUdpTracker:
    case Kind::kUdpAnnounce:
      return on_tracker(pkt, ctx, s);
    case Kind::kNone:
      break;
  }

  if (p.empty()) {
    return NeedMore{};
  }
  if (is_raknet_offline(p)) {
    return NotMine{};  // a RakNet game's discovery or connection setup (0x01 pings parse as uTP)
  }
  if (p[0] == 'd') {
    const auto type = krpc_type(p);
    if (!type) {
      return NotMine{};
    }
    if (*type == 'q' && c2s) {
      s.kind = Kind::kDht;
      s.dht_queries = 1;
      remember_tid(p, s);
      return NeedMore{Hold::kClaim};
    }
    // A reply or error with no query seen: KRPC framing, so DHT, but it answers nothing
    // this flow asked; its node lists may be forged and are not learned.
    return kSignalling;
  }
  if (bt::starts_with(p, kLpdLine)) {
    learn_lpd(pkt, ctx);
    return kSignalling;
  }
  if (c2s && is_tracker_connect(p)) {
    s.kind = Kind::kUdpTracker;
    s.tracker_tid = bt::be32(p, 12);
    return NeedMore{Hold::kClaim};
  }
  if (c2s && is_tracker_announce(p)) {
    s.kind = Kind::kUdpAnnounce;
    return on_tracker(pkt, ctx, s);
  }
  if (const auto h = parse_utp(p); h && c2s) {
    s.kind = Kind::kUtp;
    s.utp_conn = h->conn;
    s.utp_seq = h->seq;
    s.utp_syn = h->type == kUtpSyn ? 1 : 0;
    return on_utp(*h, pkt, ctx, s);
  }
  return NotMine{};
}

std::optional<Match> BittorrentUdp::give_up(const FlowContext& /*ctx*/, FlowSlot slot) noexcept {
  const auto& s = slot.as<State>();
  switch (s.kind) {
    case Kind::kDht:
    case Kind::kUdpTracker:
      return kSignalling;
    case Kind::kUtp:
      // Unanswered: a SYN (claimed), or a run of headers with one connection id.
      if (s.utp_syn != 0 || s.utp_client >= 3) {
        return kSession;
      }
      return std::nullopt;
    case Kind::kUdpAnnounce:
    case Kind::kNone:
      break;
  }
  return std::nullopt;
}

}  // namespace imguard::classifiers
