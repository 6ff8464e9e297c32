// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/tls_records.h"
#include "packet_builder.h"

using namespace imguard::classifiers;
using imguard::packet::PacketView;
namespace t = imguard::test;

namespace {

struct Flow {
  TlsRecords c;
  std::array<std::byte, 8> slot{};
  uint32_t index = 0;
  bool start_seen = false;

  Result send(Direction dir, const std::string& payload, uint8_t flags = 0x18) {
    const bool c2s = dir == Direction::kClientToServer;
    const t::Endpoints e = c2s ? t::Endpoints{"10.0.0.1", "10.0.0.2", 50000, 443}
                               : t::Endpoints{"10.0.0.2", "10.0.0.1", 443, 50000};
    const auto v = t::ipv4_tcp(e, payload, flags);
    const auto pkt = std::get<PacketView>(imguard::packet::parse_ip(v, {}));
    FlowContext ctx;
    ctx.direction = dir;
    ctx.packet_index = index++;
    ctx.start_seen = start_seen;
    return c.inspect(pkt, ctx, FlowSlot(slot));
  }
};

std::string record(int type, size_t len) {
  return t::bytes({type, 3, 3, static_cast<int>(len >> 8), static_cast<int>(len & 0xff)}) +
         std::string(len, 'x');
}

}  // namespace

TEST_CASE("mid-stream TLS records in both directions are tls", "[tls_records]") {
  Flow f;
  CHECK(std::holds_alternative<NeedMore>(f.send(Direction::kClientToServer, record(23, 40))));
  CHECK(std::holds_alternative<NeedMore>(f.send(Direction::kClientToServer, "continuation")));
  const auto r = f.send(Direction::kServerToClient, record(23, 300));
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kTls);
  CHECK(std::get<Match>(r).evidence == Evidence::kDpi);
}

TEST_CASE("a flow seen from its start is left to the ClientHello readers", "[tls_records]") {
  Flow f;
  f.start_seen = true;  // offline: its SYN was captured; live: new to conntrack
  CHECK(std::holds_alternative<NotMine>(f.send(Direction::kClientToServer, record(23, 40))));
}

TEST_CASE("TLS-looking bytes from one side only, bad types or lengths are not tls",
          "[tls_records]") {
  Flow one_sided;
  Result r = NeedMore{};
  for (int i = 0; i < 8 && std::holds_alternative<NeedMore>(r); ++i) {
    r = one_sided.send(i % 2 == 0 ? Direction::kClientToServer : Direction::kServerToClient,
                       i % 2 == 0 ? record(23, 40) : std::string("\x01\x02 binary reply"));
  }
  CHECK(std::holds_alternative<NotMine>(r));

  Flow bad_type;
  bad_type.send(Direction::kClientToServer, record(24, 40));
  CHECK_FALSE(
      std::holds_alternative<Match>(bad_type.send(Direction::kServerToClient, record(24, 40))));

  Flow too_long;
  too_long.send(Direction::kClientToServer, record(23, 0x4900));
  CHECK_FALSE(
      std::holds_alternative<Match>(too_long.send(Direction::kServerToClient, record(23, 0x4900))));

  Flow handshake_only;  // no application data yet: wait
  handshake_only.send(Direction::kClientToServer, record(22, 40));
  CHECK(std::holds_alternative<NeedMore>(
      handshake_only.send(Direction::kServerToClient, record(22, 40))));
}
