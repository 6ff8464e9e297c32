// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/bittorrent.h"
#include "packet_builder.h"

using namespace imguard::classifiers;
using imguard::packet::PacketView;
namespace t = imguard::test;

namespace {
Result probe(Bittorrent& bt, const std::string& payload, uint32_t nth = 1) {
  const auto v = t::ipv4_tcp({.sport = 51000, .dport = 23456}, payload);
  const auto pkt = std::get<PacketView>(imguard::packet::parse_ip(v, {}));
  FlowContext ctx;
  ctx.payload_packets[0] = nth;
  std::array<std::byte, 8> slot{};
  return bt.inspect(pkt, ctx, FlowSlot(slot));
}
const std::string kHandshake = std::string(
                                   "\x13"
                                   "BitTorrent protocol") +
                               std::string(8, '\0') + std::string(20, 'h');
}  // namespace

TEST_CASE("BitTorrent handshake matches on any port", "[bittorrent]") {
  Bittorrent bt;
  const auto r = probe(bt, kHandshake);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kBittorrent);
  CHECK((std::get<Match>(r).features & kFeatureFileTransfer) != 0);
}

TEST_CASE("BitTorrent look-alikes are not matched", "[bittorrent]") {
  Bittorrent bt;
  CHECK(std::holds_alternative<NotMine>(probe(bt, "GET /announce?info_hash=x HTTP/1.1\r\n")));
  CHECK(std::holds_alternative<NotMine>(probe(bt,
                                              "\x13"
                                              "BitTorrent protocoX" +
                                                  kHandshake)));
  CHECK(std::holds_alternative<NotMine>(probe(bt,
                                              "\x12"
                                              "BitTorrent protocol")));
  // A split first segment waits for more; the same prefix later in the flow does not.
  CHECK(std::holds_alternative<NeedMore>(probe(bt,
                                               "\x13"
                                               "BitTor",
                                               1)));
  CHECK(std::holds_alternative<NotMine>(probe(bt,
                                              "\x13"
                                              "BitTor",
                                              2)));
}
