// SPDX-License-Identifier: GPL-3.0-or-later
// eDonkey/eMule. Signatures: TCP frames 0xE3/0xC5/0xD4 + LE32 length matching the segment;
// client hello 0xE3 0x01 0x10 + 16-byte hash; Kad UDP 0xE4/0xE5 + Kademlia(2) opcode with
// a layout-consistent size, answered in kind.
// Evidence: pcaps/edonkey/amule-kad-download.pcap (two amuled nodes over Kad).
// Peer learning: Kad contacts only from a response on a flow whose receiver sent Kad first
// (it asked), for that receiver alone; a hello's listen port for its sender only.
// False positives: none known; lone single-direction frames are not enough (except hello).
#include "classifiers/edonkey.h"

#include "classifiers/peer_cache.h"
#include "packet/bytes.h"

namespace imguard::classifiers {
namespace {

using Bytes = std::span<const uint8_t>;

constexpr uint8_t kProtoEdonkey = 0xe3;
constexpr uint8_t kProtoEmule = 0xc5;
constexpr uint8_t kProtoPacked = 0xd4;
constexpr uint8_t kProtoKad = 0xe4;
constexpr uint8_t kProtoKadPacked = 0xe5;
constexpr uint8_t kOpHello = 0x01;
constexpr uint8_t kOpHelloAnswer = 0x4c;
constexpr uint8_t kHashLength = 16;
constexpr size_t kFrameHeader = 5;
// No eD2k message is anywhere near this long; a bigger length field is not eD2k.
constexpr uint32_t kMaxMessage = 4u << 20;
// A segment this big may end inside a long message (a data block seen mid-flow).
constexpr size_t kFullSegment = 1000;
// Unanswered Kad requests after which the flow is still taken for Kad at its end.
constexpr uint8_t kKadRepeats = 2;
// Kademlia 2 contact: 16-byte id, IPv4, UDP port, TCP port, version.
constexpr size_t kKadContact = 25;
constexpr uint16_t kMinLearnedPort = 1024;

constexpr uint8_t kFramedLong = 1;   // a first message running past the segment
constexpr uint8_t kFramedExact = 2;  // messages filling the first segment exactly

struct State {
  uint8_t framed[2];  // kFramed* of the first payload per direction, 0 if none
  uint8_t kad[2];     // valid Kad / eD2k UDP datagrams per direction
  uint8_t peer;       // a client hello/answer was seen
};

using packet::le16;
using packet::le32;

bool is_tcp_proto(uint8_t b) noexcept {
  return b == kProtoEdonkey || b == kProtoEmule || b == kProtoPacked;
}

enum class Framing : uint8_t { kNone, kExact, kContinues };

/// Walks the messages of one segment.
Framing frames(Bytes p) noexcept {
  size_t at = 0;
  while (at + kFrameHeader <= p.size()) {
    if (!is_tcp_proto(p[at])) {
      return Framing::kNone;
    }
    const uint32_t len = le32(p, at + 1);
    if (len == 0 || len > kMaxMessage) {
      return Framing::kNone;
    }
    if (len > p.size() - at - kFrameHeader) {
      return at == 0 && p.size() >= kFullSegment ? Framing::kContinues : Framing::kNone;
    }
    at += kFrameHeader + len;
  }
  return at == p.size() ? Framing::kExact : Framing::kNone;
}

/// Client hello: hash length 16, hash, client id, TCP port, tag count (+ tags, server).
/// The hello answer has the same body without the hash-length byte.
bool is_peer_hello(Bytes p) noexcept {
  if (p.size() < kFrameHeader + 1 || p[0] != kProtoEdonkey) {
    return false;
  }
  const uint32_t len = le32(p, 1);
  const uint8_t op = p[5];
  if (op == kOpHello) {
    return len >= 1 + 1 + kHashLength + 4 + 2 + 4 && p.size() > 6 && p[6] == kHashLength;
  }
  return op == kOpHelloAnswer && len >= 1 + kHashLength + 4 + 2 + 4;
}

/// The listening TCP port a hello announces (after hash and client id).
uint16_t hello_port(Bytes p) noexcept {
  const size_t at = p[5] == kOpHello ? 7 + kHashLength + 4 : 6 + kHashLength + 4;
  return at + 2 <= p.size() ? le16(p, at) : 0;
}

/// A Kad datagram: protocol byte, a Kademlia (1 or 2) opcode, and a size that fits the
/// opcode's layout (exact where fixed, a minimum where it carries tags or lists).
bool is_kad(Bytes p) noexcept {
  if (p.size() < 2 || (p[0] != kProtoKad && p[0] != kProtoKadPacked)) {
    return false;
  }
  const uint8_t op = p[1];
  const size_t body = p.size() - 2;
  if (p[0] == kProtoKadPacked) {
    return body >= 2 && p[2] == 0x78;  // zlib stream header (RFC 1950 CMF for deflate/32K)
  }
  switch (op) {
    case 0x01:  // KADEMLIA2_BOOTSTRAP_REQ
    case 0x60:  // KADEMLIA2_PING
      return body == 0;
    case 0x61:  // KADEMLIA2_PONG: UDP port
      return body == 2;
    case 0x20:  // KADEMLIA_REQ (v1): type, target, receiver
    case 0x21:  // KADEMLIA2_REQ: type, target, receiver
      return body == 1 + 16 + 16 && p[2] != 0;
    case 0x09:  // KADEMLIA2_BOOTSTRAP_RES: id, port, version, count, contacts
      return body >= 21 && body == 21 + size_t{le16(p, 21)} * kKadContact;
    case 0x29:  // KADEMLIA2_RES: target, count, contacts
      return body >= 17 && body == 17 + size_t{p[18]} * kKadContact;
    case 0x11:  // KADEMLIA2_HELLO_REQ: id, port, version, tag count, tags
    case 0x19:  // KADEMLIA2_HELLO_RES
      return body >= 16 + 2 + 1 + 1;
    case 0x22:  // KADEMLIA2_HELLO_RES_ACK: sender id, tag count
      return body >= 16 + 1;
    case 0x33:  // KADEMLIA2_SEARCH_KEY_REQ: target, start position, (search tree)
    case 0x34:  // KADEMLIA2_SEARCH_SOURCE_REQ: target, start position, file size
    case 0x35:  // KADEMLIA2_SEARCH_NOTES_REQ
      return body >= 16 + 2;
    case 0x3b:  // KADEMLIA2_SEARCH_RES: sender, target, count, results
      return body >= 16 + 16 + 2;
    case 0x43:  // KADEMLIA2_PUBLISH_KEY_REQ
    case 0x44:  // KADEMLIA2_PUBLISH_SOURCE_REQ
    case 0x45:  // KADEMLIA2_PUBLISH_NOTES_REQ
      return body >= 16 + 16;
    case 0x4b:  // KADEMLIA2_PUBLISH_RES: target, load
      return body == 16 + 1 || body == 16 + 1 + 1;
    case 0x4c:  // KADEMLIA2_PUBLISH_RES_ACK
      return body == 0;
    case 0x53:  // KADEMLIA_FIREWALLED2_REQ: TCP port, user hash, connect options
      return body == 2 + 16 + 1;
    case 0x58:  // KADEMLIA_FIREWALLED_RES: IPv4
      return body == 4;
    case 0x59:  // KADEMLIA_FIREWALLED_ACK_RES
      return body == 0;
    case 0x62:  // KADEMLIA2_FIREWALLUDP: error code, port
      return body == 1 + 2;
    default:
      return false;
  }
}

/// eD2k/eMule UDP outside Kad: server status and source queries (0xE3) and eMule's
/// client-to-client reask messages (0xC5), each with a size fitting its layout.
bool is_ed2k_udp(Bytes p) noexcept {
  if (p.size() < 2) {
    return false;
  }
  const size_t body = p.size() - 2;
  if (p[0] == kProtoEdonkey) {
    switch (p[1]) {
      case 0x96:  // OP_GLOBSERVSTATREQ: challenge
        return body == 4;
      case 0x97:  // OP_GLOBSERVSTATRES: challenge, users, files (+ limits, flags, ...)
        return body >= 12;
      case 0x9a:  // OP_GLOBGETSOURCES: file hashes
        return body >= 16 && body % 16 == 0;
      case 0x94:  // OP_GLOBGETSOURCES2: file hash + size pairs
        return body >= 20 && body % 20 == 0;
      case 0x9b:  // OP_GLOBFOUNDSOURCES: hash, count, IPv4+port per source
        return body >= 17 && body == 17 + size_t{p[18]} * 6;
      default:
        return false;
    }
  }
  if (p[0] == kProtoEmule) {
    switch (p[1]) {
      case 0x90:  // OP_REASKFILEPING: file hash (+ part status, complete sources)
        return body >= 16;
      case 0x91:  // OP_REASKACK: (part status), queue rank
        return body >= 2;
      case 0x92:  // OP_FILENOTFOUND
      case 0x93:  // OP_QUEUEFULL
        return body == 0;
      default:
        return false;
    }
  }
  return false;
}

/// Contacts in a bootstrap or routing response feed the peer cache: their UDP port (Kad)
/// and TCP port (peer connections), for `learner` (the host that asked) only. Kad writes
/// IPv4 addresses as little-endian integers.
void learn_contacts(Bytes p, PeerCache* cache, const packet::Address& learner,
                    packet::Timestamp now) noexcept {
  if (cache == nullptr || p.size() < 2 || p[0] != kProtoKad) {
    return;
  }
  size_t at = 0;
  if (p[1] == 0x09) {
    at = 2 + 21;
  } else if (p[1] == 0x29) {
    at = 2 + 17;
  } else {
    return;
  }
  for (; at + kKadContact <= p.size(); at += kKadContact) {
    const uint8_t ip[4] = {p[at + 19], p[at + 18], p[at + 17], p[at + 16]};
    const auto addr = packet::Address::v4(ip);
    const uint16_t udp = le16(p, at + 20);
    const uint16_t tcp = le16(p, at + 22);
    // Privileged ports are not learned from third parties (see bittorrent_common.h).
    if (udp >= kMinLearnedPort) {
      cache->remember(learner, addr, udp, AppId::kEdonkey, now);
    }
    if (tcp >= kMinLearnedPort) {
      cache->remember(learner, addr, tcp, AppId::kEdonkey, now);
    }
  }
}

constexpr Match kPeer{.app = AppId::kEdonkey,
                      .evidence = Evidence::kDpi,
                      .features = kFeatureFileTransfer | kFeaturePeer};
constexpr Match kSignalling{
    .app = AppId::kEdonkey, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};

void learn_peer(const packet::PacketView& pkt, const FlowContext& ctx) noexcept {
  if (ctx.peers == nullptr) {
    return;
  }
  const bool c2s = ctx.direction == Direction::kClientToServer;
  const auto& client = c2s ? pkt.src : pkt.dst;
  const auto& server = c2s ? pkt.dst : pkt.src;
  ctx.peers->remember(client, server, c2s ? pkt.dport : pkt.sport, AppId::kEdonkey, pkt.ts);
  // The hello names its sender's own listening port: the sender speaks for itself.
  if (const uint16_t port = hello_port(pkt.payload); port >= kMinLearnedPort) {
    ctx.peers->remember(pkt.src, pkt.src, port, AppId::kEdonkey, pkt.ts);
  }
}

Result inspect_tcp(const packet::PacketView& pkt, const FlowContext& ctx, State& s) noexcept {
  const Bytes p = pkt.payload;
  const auto dir = static_cast<size_t>(ctx.direction);
  if (ctx.payload_packets[dir] != 1) {
    return s.framed[dir] != 0 ? Result{NeedMore{}} : Result{NotMine{}};
  }
  const Framing f = frames(p);
  if (f == Framing::kNone) {
    s = State{};  // the other side's framing alone is no longer evidence
    return NotMine{};
  }
  if (f == Framing::kExact && is_peer_hello(p)) {
    learn_peer(pkt, ctx);
    s.peer = 1;
    return kPeer;
  }
  s.framed[dir] = f == Framing::kExact ? kFramedExact : kFramedLong;
  if (s.framed[0] != 0 && s.framed[1] != 0) {
    return kSignalling;
  }
  return NeedMore{};
}

Result inspect_udp(const packet::PacketView& pkt, const FlowContext& ctx, State& s) noexcept {
  const Bytes p = pkt.payload;
  const auto dir = static_cast<size_t>(ctx.direction);
  if (!is_kad(p) && !is_ed2k_udp(p)) {
    return s.kad[0] + s.kad[1] != 0 ? Result{NeedMore{}} : Result{NotMine{}};
  }
  if (s.kad[1 - dir] != 0) {
    learn_contacts(p, ctx.peers, pkt.dst, pkt.ts);  // a response to the receiver's request
  }
  if (s.kad[dir] < 0xff) {
    ++s.kad[dir];
  }
  if (s.kad[0] != 0 && s.kad[1] != 0) {
    if (ctx.peers != nullptr) {
      // Both ends are Kad nodes sending from their Kad port.
      ctx.peers->remember(pkt.dst, pkt.src, pkt.sport, AppId::kEdonkey, pkt.ts);
      ctx.peers->remember(pkt.src, pkt.dst, pkt.dport, AppId::kEdonkey, pkt.ts);
    }
    return kSignalling;
  }
  return NeedMore{};
}

}  // namespace

Interest Edonkey::interest() const noexcept {
  return Interest{.tcp = true, .udp = true, .needs_payload = true, .state_bytes = sizeof(State)};
}

Result Edonkey::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                        FlowSlot slot) noexcept {
  auto& s = slot.as<State>();
  return pkt.l4 == packet::L4::kTcp ? inspect_tcp(pkt, ctx, s) : inspect_udp(pkt, ctx, s);
}

std::optional<Match> Edonkey::give_up(const FlowContext& /*ctx*/, FlowSlot slot) noexcept {
  const auto& s = slot.as<State>();
  if (s.kad[0] >= kKadRepeats || s.kad[1] >= kKadRepeats) {
    return kSignalling;
  }
  // One side opened with messages filling the segment exactly and the other side never
  // contradicted it (it sent nothing, or the capture began mid-flow).
  if (s.framed[0] == kFramedExact || s.framed[1] == kFramedExact) {
    return kSignalling;
  }
  return std::nullopt;
}

}  // namespace imguard::classifiers
