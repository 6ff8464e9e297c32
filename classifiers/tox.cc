// SPDX-License-Identifier: GPL-3.0-or-later
// Tox DHT over UDP (toktok "Tox protocol specification": DHT packet, Ping and Nodes
// services): kind, sender DHT key (32), nonce (24), crypto_box (16-byte MAC + plaintext);
// pings 0x00/0x01 are 82 bytes, nodes request 0x02 113, nodes response 0x04 82 + 39 or 51
// per node (at most 4). Onion/cookie/handshake/crypto-data/announce kinds are not evidence.
// Evidence: pcaps/tox/toxcore-dht-friend.pcap (libtoxcore 0.2.18). False positives: none
// known; pcaps/tox/random-udp-lookalike.pcap fails the repeated-key check.
#include "classifiers/tox.h"

#include <algorithm>
#include <cstring>

namespace imguard::classifiers {
namespace {

using Bytes = std::span<const uint8_t>;

constexpr size_t kKeyAt = 1;
constexpr size_t kKeySize = 32;
constexpr size_t kPingSize = 1 + 32 + 24 + 16 + 1 + 8;           // kind, key, nonce, MAC, type, id
constexpr size_t kNodesRequestSize = 1 + 32 + 24 + 16 + 32 + 8;  // ..., requested key, id
constexpr size_t kNodesResponseBase = 1 + 32 + 24 + 16 + 1 + 8;  // ..., node count, id
constexpr size_t kIpv4NodeSize = 1 + 4 + 2 + 32;                 // family, address, port, key
constexpr size_t kIpv6NodeSize = 1 + 16 + 2 + 32;
constexpr size_t kMaxNodes = 4;
// Other kinds that share a DHT flow (cookie, handshake, crypto data, NAT ping, onion,
// announce). The shortest is crypto data: kind, 2 nonce bytes, MAC, at least one byte.
constexpr size_t kMinOtherSize = 1 + 2 + 16 + 1;

// Decide once this many DHT packets agree; give up without one in the first few datagrams.
constexpr uint8_t kDhtPacketsToMatch = 3;
constexpr uint32_t kMaxPacketsWithoutDht = 4;
// A 32-byte key drawn at random has many distinct byte values; zero or text padding has few.
constexpr size_t kMinDistinctKeyBytes = 12;

enum class Kind : uint8_t { kDht, kOther, kForeign };

struct ToxSlot {
  uint64_t key_prefix[2];  // first 8 key bytes of each direction's first DHT packet
  uint8_t dht[2];          // DHT packets per direction
};

bool nodes_response_size(size_t n) noexcept {
  if (n < kNodesResponseBase) {
    return false;
  }
  const size_t nodes = n - kNodesResponseBase;
  for (size_t v6 = 0; v6 <= kMaxNodes; ++v6) {
    for (size_t v4 = 0; v4 + v6 <= kMaxNodes; ++v4) {
      if (v4 * kIpv4NodeSize + v6 * kIpv6NodeSize == nodes) {
        return true;
      }
    }
  }
  return false;
}

bool random_looking_key(Bytes key) noexcept {
  bool seen[256] = {};
  size_t distinct = 0;
  for (const uint8_t b : key) {
    if (!seen[b]) {
      seen[b] = true;
      ++distinct;
    }
  }
  return distinct >= kMinDistinctKeyBytes;
}

Kind kind_of(Bytes p) noexcept {
  if (p.empty()) {
    return Kind::kForeign;
  }
  switch (p[0]) {
    case 0x00:
    case 0x01:
      return p.size() == kPingSize ? Kind::kDht : Kind::kForeign;
    case 0x02:
      return p.size() == kNodesRequestSize ? Kind::kDht : Kind::kForeign;
    case 0x04:
      return nodes_response_size(p.size()) ? Kind::kDht : Kind::kForeign;
    case 0x18:  // cookie request
    case 0x19:  // cookie response
    case 0x1a:  // crypto handshake
    case 0x1b:  // crypto data
    case 0x20:  // DHT request (NAT ping)
    case 0x93:  // announce request (seen in the capture)
    case 0x94:  // announce response (seen in the capture)
      return p.size() >= kMinOtherSize ? Kind::kOther : Kind::kForeign;
    default:
      // Onion requests and responses.
      return p[0] >= 0x80 && p[0] <= 0x8e && p.size() >= kMinOtherSize ? Kind::kOther
                                                                       : Kind::kForeign;
  }
}

uint64_t key_prefix(Bytes p) noexcept {
  uint64_t v = 0;
  std::memcpy(&v, p.data() + kKeyAt, sizeof v);
  return v;
}

}  // namespace

Interest Tox::interest() const noexcept {
  return Interest{.tcp = false, .udp = true, .needs_payload = true, .state_bytes = sizeof(ToxSlot)};
}

Result Tox::inspect(const packet::PacketView& pkt, const FlowContext& ctx, FlowSlot slot) noexcept {
  ToxSlot& s = slot.as<ToxSlot>();
  const Bytes p = pkt.payload;
  const Kind kind = kind_of(p);
  if (kind == Kind::kForeign) {
    return NotMine{};
  }
  const size_t dir = static_cast<size_t>(ctx.direction);
  if (kind == Kind::kDht) {
    if (!random_looking_key(p.subspan(kKeyAt, kKeySize))) {
      return NotMine{};
    }
    const uint64_t key = key_prefix(p);
    if (s.dht[dir] == 0) {
      // One node speaks from one socket with one DHT key: the peer's key must differ.
      if (s.dht[1 - dir] != 0 && s.key_prefix[1 - dir] == key) {
        return NotMine{};
      }
      s.key_prefix[dir] = key;
    } else if (s.key_prefix[dir] != key) {
      return NotMine{};
    }
    if (s.dht[dir] < UINT8_MAX) {
      ++s.dht[dir];
    }
  }
  if (s.dht[0] > 0 && s.dht[1] > 0 && s.dht[0] + s.dht[1] >= kDhtPacketsToMatch) {
    return Match{.app = AppId::kTox, .evidence = Evidence::kDpi};
  }
  if (s.dht[0] + s.dht[1] == 0 &&
      ctx.payload_packets[0] + ctx.payload_packets[1] >= kMaxPacketsWithoutDht) {
    return NotMine{};
  }
  return NeedMore{};
}

}  // namespace imguard::classifiers
