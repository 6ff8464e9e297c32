// SPDX-License-Identifier: GPL-3.0-or-later
// Builds IPv4/IPv6 TCP/UDP packets as byte vectors for unit tests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace imguard::test {

struct Endpoints {
  std::string src = "10.0.0.1";
  std::string dst = "10.0.0.2";
  uint16_t sport = 40000;
  uint16_t dport = 6881;
};

std::vector<uint8_t> ipv4_tcp(const Endpoints& e, std::string_view payload, uint8_t flags = 0x18);
std::vector<uint8_t> ipv4_udp(const Endpoints& e, std::string_view payload);
std::vector<uint8_t> ipv6_tcp(const Endpoints& e, std::string_view payload, uint8_t flags = 0x18);
std::vector<uint8_t> ipv6_udp(const Endpoints& e, std::string_view payload);
/// Payload as bytes (for binary protocol probes).
std::string bytes(std::initializer_list<int> b);

}  // namespace imguard::test
