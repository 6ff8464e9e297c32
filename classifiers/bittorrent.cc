// SPDX-License-Identifier: GPL-3.0-or-later
// BitTorrent over TCP. Signatures: peer wire (BEP 3) opens with the byte 19 and the
// 19-character protocol string; HTTP tracker GET with info_hash= and peer_id= (BEP 3);
// MSE/PE opens with a 96-byte DH public key plus up to 512 random bytes on each side,
// then the initiator's 40 hash bytes and RC4-encrypted verification constant.
// Peer learning: tracker response peers for the announcing host only; the announce's own
// port (>= 1024) for the announcer; confirmed peer sessions for their two ends.
// Evidence: pcaps/bittorrent/ (transmission, libtorrent plain and RC4, aria2 MSE).
// Look-alikes (pcaps/negative/random-payload.pcap, openvpn-tcp.pcap; bittorrent/
// lookalike-negative.pcap): any encrypted protocol without framing is random bytes, and
// its first three messages can be sized like a DH exchange. What separates MSE between
// hosts not known from other flows: the exact sequence Ya (96-608 bytes, one segment),
// Yb (96-608), the initiator's >= 56-byte request, and then the initiator's 68-byte
// encrypted peer-wire handshake, either as IA inside a 124-byte request or as its next
// segment (RC4 keeps sizes). Random sizes almost never produce that 68. Known hosts
// (peer cache) need only Ya and Yb. Common framings and service ports are excluded.
// Not covered without a known host: a client that pads its request (PadC) and sends the
// handshake as IA in the same message.
#include "classifiers/bittorrent.h"

#include <algorithm>
#include <string_view>

#include "classifiers/bittorrent_bencode.h"
#include "classifiers/bittorrent_common.h"
#include "classifiers/peer_cache.h"

namespace imguard::classifiers {
namespace {

using bt::Bytes;

constexpr std::string_view kProtocolString = "BitTorrent protocol";
constexpr size_t kHandshakePrefix = 1 + kProtocolString.size();
// Response segments examined for a tracker's peer list before settling for the request.
constexpr uint8_t kTrackerResponseSegments = 3;

enum class Stage : uint8_t {
  kStart,
  kTracker,
  kTrackerBody,
  kMseOffer,
  kMseAnswered,
  kMseRequested
};
// MSE's initiator handshake when it travels as IA in the request (no PadC): 40 hash bytes,
// VC 8, crypto_provide 4, len(PadC) 2, len(IA) 2, and the 68-byte peer-wire handshake.
constexpr size_t kPeerHandshake = 68;
constexpr size_t kMseRequestWithHandshake = 20 + 20 + 8 + 4 + 2 + 2 + kPeerHandshake;

struct State {
  Stage stage;
  uint8_t response_segments;
  uint8_t offer_segments;  // initiator payloads before the responder's first one
};

constexpr Match kMseMatch{.app = AppId::kBittorrent,
                          .evidence = Evidence::kBehaviour,
                          .features = kFeatureFileTransfer | kFeaturePeer};

constexpr Match kPeerMatch{.app = AppId::kBittorrent,
                           .evidence = Evidence::kDpi,
                           .features = kFeatureFileTransfer | kFeaturePeer};
constexpr Match kTrackerMatch{
    .app = AppId::kBittorrent, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};

bool starts_with_handshake(Bytes p) noexcept {
  return p.size() >= kHandshakePrefix && p[0] == kProtocolString.size() &&
         bt::starts_with(p.subspan(1), kProtocolString);
}

/// The request line of a tracker announce or scrape: "GET <path>?<query> HTTP/1.x" whose
/// query names info_hash and either peer_id (announce) or a path ending in "scrape".
bool is_tracker_request(Bytes p) noexcept {
  if (!bt::starts_with(p, "GET /")) {
    return false;
  }
  const Bytes line = p.first(std::min(p.size(), bt::find(p, "\r\n")));
  const size_t q = bt::find(line, "?");
  if (q == line.size()) {
    return false;
  }
  const Bytes query = line.subspan(q);
  if (bt::find(query, "info_hash=") == query.size()) {
    return false;
  }
  const Bytes path = line.first(q);
  const bool scrape = path.size() >= 6 && bt::starts_with(path.last(6), "scrape");
  return scrape || bt::find(query, "peer_id=") != query.size();
}

/// The "port=" value of an announce query (the client's peer listening port), or 0.
uint16_t announced_port(Bytes p) noexcept {
  const Bytes line = p.first(std::min(p.size(), bt::find(p, " HTTP/")));
  size_t at = bt::find(line, "&port=");
  if (at == line.size()) {
    at = bt::find(line, "?port=");
  }
  if (at == line.size()) {
    return 0;
  }
  uint32_t port = 0;
  for (size_t i = at + 6; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
    port = port * 10 + (line[i] - '0');
    if (port > 65535) {
      return 0;
    }
  }
  return static_cast<uint16_t>(port);
}

/// Feeds the compact peer lists of a tracker response body (a bencoded dictionary,
/// possibly cut at the segment end) into the cache.
/// The peers speak only for the host that sent the announce on this flow (the receiver).
void learn_tracker_body(Bytes body, const FlowContext& ctx, const packet::Address& learner,
                        packet::Timestamp now) noexcept {
  if (ctx.peers == nullptr || body.empty() || body[0] != 'd') {
    return;
  }
  if (const auto peers = bencode::find_string_prefix(body, 0, "peers")) {
    bt::learn_compact(ctx.peers, learner, *peers, 0, 4, now);
  }
  if (const auto peers6 = bencode::find_string_prefix(body, 0, "peers6")) {
    bt::learn_compact(ctx.peers, learner, *peers6, 0, 16, now);
  }
}

bool host_known(const packet::PacketView& pkt, const FlowContext& ctx) noexcept {
  if (ctx.peers == nullptr) {
    return false;
  }
  return ctx.peers->lookup_host(pkt.src, pkt.ts) == AppId::kBittorrent ||
         ctx.peers->lookup_host(pkt.dst, pkt.ts) == AppId::kBittorrent;
}

Result on_tracker_response(const packet::PacketView& pkt, const FlowContext& ctx,
                           State& s) noexcept {
  const Bytes p = pkt.payload;
  ++s.response_segments;
  if (s.stage == Stage::kTracker) {
    const size_t end = bt::find(p, "\r\n\r\n");
    if (end == p.size()) {
      // Headers continue in the next segment.
      return s.response_segments >= kTrackerResponseSegments ? Result{kTrackerMatch}
                                                             : Result{NeedMore{Hold::kClaim}};
    }
    s.stage = Stage::kTrackerBody;
    if (end + 4 == p.size()) {
      return s.response_segments >= kTrackerResponseSegments ? Result{kTrackerMatch}
                                                             : Result{NeedMore{Hold::kClaim}};
    }
    learn_tracker_body(p.subspan(end + 4), ctx, pkt.dst, pkt.ts);
    return kTrackerMatch;
  }
  learn_tracker_body(p, ctx, pkt.dst, pkt.ts);
  return kTrackerMatch;
}

}  // namespace

Interest Bittorrent::interest() const noexcept {
  return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = sizeof(State)};
}

Result Bittorrent::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                           FlowSlot slot) noexcept {
  auto& s = slot.as<State>();
  const Bytes p = pkt.payload;
  const bool c2s = ctx.direction == Direction::kClientToServer;
  const bool first_of_direction = ctx.payload_packets[static_cast<size_t>(ctx.direction)] == 1;

  switch (s.stage) {
    case Stage::kTracker:
    case Stage::kTrackerBody:
      return c2s ? Result{NeedMore{Hold::kClaim}} : on_tracker_response(pkt, ctx, s);
    case Stage::kMseOffer:
      if (c2s) {
        ++s.offer_segments;
        return NeedMore{};
      }
      if (!bt::looks_like_mse_key(p)) {
        return NotMine{};
      }
      if (host_known(pkt, ctx)) {
        bt::learn_flow(pkt, ctx, false);
        return kMseMatch;
      }
      // Unknown hosts: the whole DH exchange must show, initiator's request included.
      s.stage = Stage::kMseAnswered;
      return s.offer_segments == 1 && !bt::is_service_port(pkt.sport) ? Result{NeedMore{}}
                                                                      : Result{NotMine{}};
    case Stage::kMseAnswered:
      if (!c2s) {
        return NeedMore{};  // Yb and PadB may take more than one segment
      }
      if (!bt::looks_like_mse_request(p)) {
        return NotMine{};
      }
      if (p.size() == kMseRequestWithHandshake) {
        bt::learn_flow(pkt, ctx, false);
        return kMseMatch;
      }
      s.stage = Stage::kMseRequested;
      return NeedMore{};
    case Stage::kMseRequested:
      // RC4 keeps sizes: the initiator's encrypted peer-wire handshake, when it did not
      // travel in the request, is its next segment, exactly 68 bytes.
      if (!c2s) {
        return NeedMore{};
      }
      if (p.size() == kPeerHandshake) {
        bt::learn_flow(pkt, ctx, false);
        return kMseMatch;
      }
      return NotMine{};
    case Stage::kStart:
      break;
  }

  if (!first_of_direction) {
    return NotMine{};
  }
  if (starts_with_handshake(p)) {
    bt::learn_flow(pkt, ctx, false);
    return kPeerMatch;
  }
  // A short first segment may still be the start of the handshake.
  if (!p.empty() && p.size() < kHandshakePrefix && p[0] == kProtocolString.size()) {
    return NeedMore{};
  }
  if (c2s && is_tracker_request(p)) {
    if (ctx.peers != nullptr) {
      ctx.peers->remember_host(pkt.src, AppId::kBittorrent, pkt.ts);
      // The announcing host names its own listener: it is its own learner.
      if (const uint16_t port = announced_port(p); port >= bt::kMinLearnedPort) {
        ctx.peers->remember(pkt.src, pkt.src, port, AppId::kBittorrent, pkt.ts);
      }
    }
    s.stage = Stage::kTracker;
    return NeedMore{Hold::kClaim};
  }
  if (c2s && bt::looks_like_mse_key(p)) {
    s.stage = Stage::kMseOffer;
    s.offer_segments = 1;
    return NeedMore{};
  }
  return NotMine{};
}

std::optional<Match> Bittorrent::give_up(const FlowContext& /*ctx*/, FlowSlot slot) noexcept {
  const auto& s = slot.as<State>();
  if (s.stage == Stage::kTracker || s.stage == Stage::kTrackerBody) {
    return kTrackerMatch;
  }
  return std::nullopt;
}

}  // namespace imguard::classifiers
