// SPDX-License-Identifier: GPL-3.0-or-later
// Runs one classifier over the first payloads of a flow (client 10.0.0.1:40000 →
// 198.51.100.2:port), as the chain would, for the P2P classifier tests.
#pragma once

#include <array>
#include <string>

#include "classifiers/classifier.h"
#include "packet_builder.h"

namespace imguard::test {

template <typename C>
struct P2pFlow {
  C classifier;
  std::array<std::byte, 16> slot{};
  uint32_t payloads[2] = {0, 0};
  bool udp = false;
  uint16_t port = 4242;

  classifiers::Result send(classifiers::Direction dir, const std::string& payload) {
    const bool c2s = dir == classifiers::Direction::kClientToServer;
    const Endpoints e = c2s ? Endpoints{"10.0.0.1", "198.51.100.2", 40000, port}
                            : Endpoints{"198.51.100.2", "10.0.0.1", port, 40000};
    const auto v = udp ? ipv4_udp(e, payload) : ipv4_tcp(e, payload);
    const auto pkt = std::get<packet::PacketView>(packet::parse_ip(v, {}));
    classifiers::FlowContext ctx;
    ctx.direction = dir;
    ++payloads[c2s ? 0 : 1];
    ctx.payload_packets[0] = payloads[0];
    ctx.payload_packets[1] = payloads[1];
    const auto size = classifier.interest().state_bytes;
    return classifier.inspect(pkt, ctx, classifiers::FlowSlot(std::span(slot).first(size)));
  }
  classifiers::Result c2s(const std::string& p) {
    return send(classifiers::Direction::kClientToServer, p);
  }
  classifiers::Result s2c(const std::string& p) {
    return send(classifiers::Direction::kServerToClient, p);
  }
};

inline bool serving(const classifiers::Result& r) {
  const auto* m = std::get_if<classifiers::Match>(&r);
  return m != nullptr && (m->features & classifiers::kFeatureServing) != 0;
}

}  // namespace imguard::test
