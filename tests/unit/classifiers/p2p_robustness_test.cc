// SPDX-License-Identifier: GPL-3.0-or-later
// Random and truncated payloads through every P2P classifier: nothing may read out of
// bounds (run under IMGUARD_SANITIZERS=address,undefined), and random bytes must never be
// taken for a protocol's framing (a DPI match).
#include <catch2/catch.hpp>

#include <memory>
#include <random>

#include "classifiers/bittorrent.h"
#include "classifiers/bittorrent_udp.h"
#include "classifiers/directconnect.h"
#include "classifiers/edonkey.h"
#include "classifiers/gnutella.h"
#include "classifiers/peer_cache.h"
#include "classifiers/soulseek.h"
#include "packet_builder.h"

using namespace imguard::classifiers;
using imguard::packet::PacketView;
namespace t = imguard::test;

namespace {

std::vector<std::unique_ptr<Classifier>> p2p_classifiers() {
  std::vector<std::unique_ptr<Classifier>> v;
  v.push_back(std::make_unique<Bittorrent>());
  v.push_back(std::make_unique<BittorrentUdp>());
  v.push_back(std::make_unique<Edonkey>());
  v.push_back(std::make_unique<Gnutella>());
  v.push_back(std::make_unique<DirectConnect>());
  v.push_back(std::make_unique<Soulseek>());
  v.push_back(std::make_unique<KnownPeers>());
  return v;
}

/// Random bytes, sometimes opened with the first bytes of a protocol so the parsers go
/// deep. `signature` tells whether the bytes kept from the prefix hold a complete
/// signature (a match is then expected, not a false positive).
struct Payload {
  std::string bytes;
  bool signature = false;
};
Payload payload(std::mt19937& rng) {
  struct Prefix {
    std::string_view text;
    size_t signature_len;  // leading bytes that alone are a signature; 0 if none
  };
  static constexpr Prefix kPrefixes[] = {{"d1:ad2:id20:", 0},
                                         {"d1:rd2:id20:", 0},
                                         {"\x13"
                                          "BitTorrent protocol",
                                          20},
                                         {"\xe3", 0},
                                         {"\xc5", 0},
                                         {"\xe4\x29", 0},
                                         {"\xe4\x09", 0},
                                         {"GNUTELLA CONNECT/0.6\r\n", 17},
                                         {"GIV 1:", 0},
                                         {"GND", 3},
                                         {"$Lock ", 0},
                                         {"$MyNick ", 0},
                                         {"CSUP AD", 0},
                                         {"\x41\x00", 0},
                                         {"\x01\x02", 0},
                                         {"GET /announce?info_hash=", 0},
                                         {"BT-SEARCH * HTTP/1.1\r\n", 22}};
  Payload out;
  out.bytes.resize(rng() % 700);
  for (auto& c : out.bytes) {
    c = static_cast<char>(rng() & 0xff);
  }
  if (rng() % 2 == 0) {
    const Prefix& pre = kPrefixes[rng() % std::size(kPrefixes)];
    const size_t n = std::min(pre.text.size(), out.bytes.size());
    out.bytes.replace(0, n, pre.text.substr(0, n));
    out.signature = pre.signature_len != 0 && n >= pre.signature_len;
  }
  return out;
}

}  // namespace

TEST_CASE("P2P classifiers stay in bounds and reject random payloads", "[p2p_robustness]") {
  std::mt19937 rng(20261127);
  PeerCache cache;
  auto classifiers = p2p_classifiers();
  size_t dpi_matches = 0;
  for (int flow = 0; flow < 3000; ++flow) {
    const bool udp = flow % 2 == 0;
    std::array<std::byte, 16> slot{};
    uint32_t payloads[2] = {0, 0};
    auto& c = *classifiers[static_cast<size_t>(flow) % classifiers.size()];
    if (udp ? !c.interest().udp : !c.interest().tcp) {
      continue;
    }
    for (int i = 0; i < 6; ++i) {
      const auto dir = rng() % 2 == 0 ? Direction::kClientToServer : Direction::kServerToClient;
      const bool c2s = dir == Direction::kClientToServer;
      const t::Endpoints e = c2s ? t::Endpoints{"10.0.0.1", "10.0.0.2", 40000, 40001}
                                 : t::Endpoints{"10.0.0.2", "10.0.0.1", 40001, 40000};
      const Payload p = payload(rng);
      const auto v = udp ? t::ipv4_udp(e, p.bytes) : t::ipv4_tcp(e, p.bytes);
      const auto pkt = std::get<PacketView>(imguard::packet::parse_ip(v, {}));
      FlowContext ctx;
      ctx.direction = dir;
      ++payloads[c2s ? 0 : 1];
      ctx.payload_packets[0] = payloads[0];
      ctx.payload_packets[1] = payloads[1];
      ctx.peers = &cache;
      const auto r = c.inspect(pkt, ctx, FlowSlot(std::span(slot).first(c.interest().state_bytes)));
      if (const auto* m = std::get_if<Match>(&r); m != nullptr) {
        if (m->evidence == Evidence::kDpi && !p.signature) {
          ++dpi_matches;
          UNSCOPED_INFO(c.name() << " matched random bytes");
        }
        break;
      }
      if (std::holds_alternative<NotMine>(r)) {
        break;
      }
    }
    c.give_up({}, FlowSlot(std::span(slot).first(c.interest().state_bytes)));
  }
  CHECK(dpi_matches == 0);
}
