// SPDX-License-Identifier: GPL-3.0-or-later
// Shared BitTorrent helpers: compact peer info (BEP 23 "peers", BEP 5 "nodes"/"values",
// BEP 32 "nodes6"/"peers6") and the MSE/PE key-exchange shape.
#include "classifiers/bittorrent_common.h"

#include <array>

namespace imguard::classifiers::bt {

void learn_compact(PeerCache* cache, const packet::Address& learner, Bytes list, size_t skip,
                   size_t addr_len, packet::Timestamp now) noexcept {
  if (cache == nullptr || (addr_len != 4 && addr_len != 16)) {
    return;
  }
  const size_t entry = skip + addr_len + 2;
  for (size_t at = 0; at + entry <= list.size(); at += entry) {
    const uint8_t* a = list.data() + at + skip;
    const uint16_t port = be16(list, at + skip + addr_len);
    // Port 0 is meaningless; privileged ports are not learned from third parties, so a
    // poisoned list cannot turn DNS, NTP or web servers into "peers".
    if (port < kMinLearnedPort) {
      continue;
    }
    const auto addr = addr_len == 4 ? packet::Address::v4(a) : packet::Address::v6(a);
    cache->remember(learner, addr, port, AppId::kBittorrent, now);
  }
}

void learn_flow(const packet::PacketView& pkt, const FlowContext& ctx,
                bool client_port_too) noexcept {
  if (ctx.peers == nullptr) {
    return;
  }
  const bool c2s = ctx.direction == Direction::kClientToServer;
  const auto& client = c2s ? pkt.src : pkt.dst;
  const auto& server = c2s ? pkt.dst : pkt.src;
  ctx.peers->remember(client, server, c2s ? pkt.dport : pkt.sport, AppId::kBittorrent, pkt.ts);
  ctx.peers->remember_host(server, AppId::kBittorrent, pkt.ts);
  ctx.peers->remember_host(client, AppId::kBittorrent, pkt.ts);
  if (client_port_too) {
    ctx.peers->remember(server, client, c2s ? pkt.sport : pkt.dport, AppId::kBittorrent, pkt.ts);
  }
}

namespace {

/// n uniformly random bytes show about 256 * (1 - e^(-n/256)) distinct values (80 of 96,
/// sd ~3.5; 50 of 56); text, counters and structured binary show far fewer.
bool looks_random(Bytes p) noexcept {
  std::array<uint8_t, 256> seen{};
  size_t distinct = 0;
  for (const uint8_t b : p) {
    distinct += seen[b] == 0 ? 1u : 0u;
    seen[b] = 1;
  }
  return distinct * 3 >= p.size() * 2;
}

}  // namespace

bool looks_like_mse_key(Bytes p) noexcept {
  if (p.size() < kMseMinBytes || p.size() > kMseMaxBytes || has_common_framing(p)) {
    return false;
  }
  // A length prefix that matches the segment is framing, not a DH key.
  const size_t n = p.size();
  const size_t prefix16 = be16(p, 0);
  const size_t prefix32 = be32(p, 0);
  if (prefix16 == n || prefix16 + 2 == n || prefix32 == n || prefix32 + 4 == n) {
    return false;
  }
  const uint32_t le32 =
      uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
  if (size_t{le32} == n || size_t{le32} + 4 == n) {
    return false;
  }
  return looks_random(p.first(kMseMinBytes));
}

bool looks_like_mse_request(Bytes p) noexcept {
  return p.size() >= kMseRequestMinBytes && !has_common_framing(p) &&
         looks_random(p.first(std::min(p.size(), kMseMinBytes)));
}

bool is_service_port(uint16_t port) noexcept {
  constexpr std::array<uint16_t, 16> kServices = {1080, 1194, 1723, 3128, 3389, 5222, 5223, 5228,
                                                  8080, 8443, 8888, 9001, 9030, 9050, 9150, 3478};
  return port < 1024 || std::find(kServices.begin(), kServices.end(), port) != kServices.end();
}

}  // namespace imguard::classifiers::bt
