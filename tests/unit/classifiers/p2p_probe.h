// SPDX-License-Identifier: GPL-3.0-or-later
// Runs one classifier over the payloads of one flow, as the chain would: per-direction
// payload counters, the classifier's own state slot and a PeerCache shared across the
// flow's packets. Defaults: client 10.0.0.1:40000 → server 198.51.100.2:4242, TCP, IPv4;
// every field can be changed before the first packet.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "classifiers/classifier.h"
#include "classifiers/peer_cache.h"
#include "packet_builder.h"

namespace imguard::test {

template <typename C>
struct P2pFlow {
  C classifier;
  classifiers::PeerCache cache;
  std::array<std::byte, 32> slot{};
  uint32_t payloads[2] = {0, 0};
  bool udp = false;
  bool v6 = false;
  /// The flow's first packets were seen (FlowContext::start_seen).
  bool start_seen = false;
  std::string client = "10.0.0.1";
  std::string server = "198.51.100.2";
  std::string client6 = "2001:db8::1";
  std::string server6 = "2001:db8::2";
  uint16_t client_port = 40000;
  uint16_t port = 4242;
  packet::Timestamp ts{};  // capture time of the next packet

  classifiers::Result send(classifiers::Direction dir, const std::string& payload) {
    const bool c2s = dir == classifiers::Direction::kClientToServer;
    const std::string& a = v6 ? client6 : client;
    const std::string& b = v6 ? server6 : server;
    const Endpoints e =
        c2s ? Endpoints{a, b, client_port, port} : Endpoints{b, a, port, client_port};
    const auto v = v6 ? (udp ? ipv6_udp(e, payload) : ipv6_tcp(e, payload))
                      : (udp ? ipv4_udp(e, payload) : ipv4_tcp(e, payload));
    const auto pkt = std::get<packet::PacketView>(packet::parse_ip(v, ts));
    classifiers::FlowContext ctx;
    ctx.direction = dir;
    ctx.start_seen = start_seen;
    ++payloads[c2s ? 0 : 1];
    ctx.payload_packets[0] = payloads[0];
    ctx.payload_packets[1] = payloads[1];
    ctx.peers = &cache;
    return classifier.inspect(pkt, ctx, state());
  }
  classifiers::Result c2s(const std::string& p) {
    return send(classifiers::Direction::kClientToServer, p);
  }
  classifiers::Result s2c(const std::string& p) {
    return send(classifiers::Direction::kServerToClient, p);
  }
  /// The flow ended or its budget ran out: the classifier's last word.
  std::optional<classifiers::Match> end() { return classifier.give_up({}, state()); }

 private:
  classifiers::FlowSlot state() {
    static_assert(sizeof(slot) >= 8);
    return classifiers::FlowSlot(std::span(slot).first(classifier.interest().state_bytes));
  }
};

inline bool serving(const classifiers::Result& r) {
  const auto* m = std::get_if<classifiers::Match>(&r);
  return m != nullptr && (m->features & classifiers::kFeaturePeer) != 0;
}

}  // namespace imguard::test
