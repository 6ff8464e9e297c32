// SPDX-License-Identifier: GPL-3.0-or-later
// Soulseek. Signatures: server Login (uint32 length, uint32 code 1, name, password,
// version, 32-hex hash) and PeerInit (uint32 length, uint8 code 1, name, "P"/"F"/"D",
// token), with every length consistent with the segment.
// Evidence: pcaps/soulseek/login-peerinit.pcap (synthetic; no Soulseek client in Debian).
// False positives: none known; the nested lengths and the hash/type checks are specific.
#include "classifiers/soulseek.h"

#include <optional>

#include "classifiers/p2p_text.h"

namespace imguard::classifiers {
namespace {

using p2p::Bytes;

constexpr uint32_t kMaxName = 256;
constexpr size_t kHashHex = 32;

constexpr Match kServer{
    .app = AppId::kSoulseek, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};
constexpr Match kPeer{.app = AppId::kSoulseek,
                      .evidence = Evidence::kDpi,
                      .features = kFeatureFileTransfer | kFeaturePeer};

/// A Soulseek string at `at` (uint32 length + bytes, at most kMaxName): the end offset.
std::optional<size_t> string_end(Bytes p, size_t at, bool must_be_printable) noexcept {
  if (at + 4 > p.size()) {
    return std::nullopt;
  }
  const uint32_t len = p2p::le32(p, at);
  if (len == 0 || len > kMaxName || len > p.size() - at - 4) {
    return std::nullopt;
  }
  if (must_be_printable && !p2p::printable(p.subspan(at + 4, len))) {
    return std::nullopt;
  }
  return at + 4 + len;
}

bool is_login(Bytes p) noexcept {
  // length(4) code(4)=1 name password version(4) hash minor(4)
  if (p.size() < 8 + 4 + 4 + 4 + 4 + kHashHex + 4 || p2p::le32(p, 0) != p.size() - 4 ||
      p2p::le32(p, 4) != 1) {
    return false;
  }
  const auto name = string_end(p, 8, true);
  const auto pass = name ? string_end(p, *name, false) : std::nullopt;
  if (!pass || *pass + 4 + 4 + kHashHex + 4 != p.size() || p2p::le32(p, *pass + 4) != kHashHex) {
    return false;
  }
  const Bytes hash = p.subspan(*pass + 8, kHashHex);
  return std::all_of(hash.begin(), hash.end(),
                     [](uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_peer_init(Bytes p) noexcept {
  // length(4) code(1)=1 name type token(4); further messages may follow in the segment.
  if (p.size() < 4 + 1 + 4 + 1 + 4 + 1 + 4 || p[4] != 1) {
    return false;
  }
  const uint32_t len = p2p::le32(p, 0);
  if (len > p.size() - 4) {
    return false;
  }
  const Bytes msg = p.first(4 + len);
  const auto name = string_end(msg, 5, true);
  if (!name || *name + 4 + 1 + 4 != msg.size() || p2p::le32(msg, *name) != 1) {
    return false;
  }
  const uint8_t type = msg[*name + 4];
  return type == 'P' || type == 'F' || type == 'D';
}

}  // namespace

Interest Soulseek::interest() const noexcept {
  return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = 0};
}

Result Soulseek::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                         FlowSlot /*slot*/) noexcept {
  if (ctx.direction != Direction::kClientToServer || ctx.payload_packets[0] != 1) {
    return NotMine{};
  }
  if (is_login(pkt.payload)) {
    return kServer;
  }
  return is_peer_init(pkt.payload) ? Result{kPeer} : Result{NotMine{}};
}

}  // namespace imguard::classifiers
