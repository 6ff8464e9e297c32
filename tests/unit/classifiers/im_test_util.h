// SPDX-License-Identifier: GPL-3.0-or-later
// Helpers shared by the IM classifier probes: run one payload through a classifier, and
// build a TLS ClientHello with a chosen server name and ALPN list.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "classifiers/classifier.h"
#include "packet_builder.h"

namespace imguard::test {

struct Probe {
  std::array<std::byte, 128> slot{};
  classifiers::FlowContext ctx;
};

inline classifiers::Result probe_packet(classifiers::Classifier& c, Probe& st,
                                        const std::vector<uint8_t>& l3,
                                        classifiers::Direction dir) {
  const auto pkt = std::get<packet::PacketView>(packet::parse_ip(l3, {}));
  st.ctx.direction = dir;
  if (!pkt.payload.empty()) {
    ++st.ctx.payload_packets[static_cast<size_t>(dir)];
  }
  const auto size = c.interest().state_bytes;
  auto r = c.inspect(pkt, st.ctx, classifiers::FlowSlot(std::span<std::byte>(st.slot).first(size)));
  ++st.ctx.packet_index;
  return r;
}

/// One TCP payload from client (10.0.0.1:40000) to server (10.0.0.2:dport) or back.
inline classifiers::Result probe_tcp(
    classifiers::Classifier& c, Probe& st, const std::string& payload,
    classifiers::Direction dir = classifiers::Direction::kClientToServer, uint16_t dport = 5222) {
  Endpoints e{.sport = 40000, .dport = dport};
  if (dir == classifiers::Direction::kServerToClient) {
    e = Endpoints{.src = "10.0.0.2", .dst = "10.0.0.1", .sport = dport, .dport = 40000};
  }
  return probe_packet(c, st, ipv4_tcp(e, payload), dir);
}

inline classifiers::Result probe_udp(
    classifiers::Classifier& c, Probe& st, const std::string& payload,
    classifiers::Direction dir = classifiers::Direction::kClientToServer, uint16_t dport = 3478) {
  Endpoints e{.sport = 40000, .dport = dport};
  if (dir == classifiers::Direction::kServerToClient) {
    e = Endpoints{.src = "10.0.0.2", .dst = "10.0.0.1", .sport = dport, .dport = 40000};
  }
  return probe_packet(c, st, ipv4_udp(e, payload), dir);
}

/// Advances the TCP sequence number of an IPv4/TCP packet built by ipv4_tcp().
inline std::vector<uint8_t> seq_plus(std::vector<uint8_t> v, uint32_t add) {
  const size_t at = size_t{static_cast<uint8_t>(v[0] & 0x0f)} * 4 + 4;
  uint32_t seq = (uint32_t{v[at]} << 24) | (uint32_t{v[at + 1]} << 16) |
                 (uint32_t{v[at + 2]} << 8) | v[at + 3];
  seq += add;
  for (size_t i = 0; i < 4; ++i) {
    v[at + i] = static_cast<uint8_t>(seq >> (24 - 8 * i));
  }
  return v;
}

inline void put16(std::string& s, size_t v) {
  s.push_back(static_cast<char>((v >> 8) & 0xff));
  s.push_back(static_cast<char>(v & 0xff));
}

/// A TLS 1.2-framed ClientHello handshake message (no record header).
inline std::string client_hello_message(const std::string& sni,
                                        const std::vector<std::string>& alpn, size_t padding = 0) {
  std::string ext;
  if (!sni.empty()) {
    std::string list;
    list.push_back(0);
    put16(list, sni.size());
    list += sni;
    put16(ext, 0);
    put16(ext, list.size() + 2);
    put16(ext, list.size());
    ext += list;
  }
  if (!alpn.empty()) {
    std::string list;
    for (const auto& a : alpn) {
      list.push_back(static_cast<char>(a.size()));
      list += a;
    }
    put16(ext, 16);
    put16(ext, list.size() + 2);
    put16(ext, list.size());
    ext += list;
  }
  if (padding > 0) {
    put16(ext, 21);  // padding extension (RFC 7685)
    put16(ext, padding);
    ext += std::string(padding, '\0');
  }
  std::string body = "\x03\x03" + std::string(32, 'r');
  body.push_back(0);  // session id
  put16(body, 4);     // cipher suites
  body += "\x13\x01\x13\x02";
  body += std::string("\x01\x00", 2);  // compression: null
  put16(body, ext.size());
  body += ext;
  std::string msg = "\x01";
  msg.push_back(static_cast<char>((body.size() >> 16) & 0xff));
  put16(msg, body.size() & 0xffff);
  return msg + body;
}

/// The ClientHello in one TLS handshake record.
inline std::string client_hello_record(const std::string& sni, const std::vector<std::string>& alpn,
                                       size_t padding = 0) {
  const std::string msg = client_hello_message(sni, alpn, padding);
  std::string rec = "\x16\x03\x01";
  put16(rec, msg.size());
  return rec + msg;
}

}  // namespace imguard::test
