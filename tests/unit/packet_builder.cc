// SPDX-License-Identifier: GPL-3.0-or-later
#include "packet_builder.h"

#include <arpa/inet.h>

namespace imguard::test {
namespace {

void put16(std::vector<uint8_t>& v, size_t at, uint32_t x) {
  v[at] = static_cast<uint8_t>(x >> 8);
  v[at + 1] = static_cast<uint8_t>(x);
}

std::vector<uint8_t> l4(uint8_t proto, const Endpoints& e, std::string_view payload,
                        uint8_t flags) {
  const size_t hl = proto == 6 ? 20 : 8;
  std::vector<uint8_t> v(hl + payload.size());
  put16(v, 0, e.sport);
  put16(v, 2, e.dport);
  if (proto == 6) {
    v[4] = 0x01;     // seq
    v[12] = 5 << 4;  // data offset
    v[13] = flags;
    put16(v, 14, 65535);  // window
  } else {
    put16(v, 4, static_cast<uint32_t>(v.size()));
  }
  std::copy(payload.begin(), payload.end(), v.begin() + static_cast<long>(hl));
  return v;
}

std::vector<uint8_t> ipv4(uint8_t proto, const Endpoints& e, std::string_view payload,
                          uint8_t flags) {
  auto seg = l4(proto, e, payload, flags);
  std::vector<uint8_t> v(20);
  v[0] = 0x45;
  put16(v, 2, static_cast<uint32_t>(20 + seg.size()));
  v[8] = 64;
  v[9] = proto;
  inet_pton(AF_INET, e.src.c_str(), &v[12]);
  inet_pton(AF_INET, e.dst.c_str(), &v[16]);
  v.insert(v.end(), seg.begin(), seg.end());
  return v;
}

std::vector<uint8_t> ipv6(uint8_t proto, const Endpoints& e, std::string_view payload,
                          uint8_t flags) {
  auto seg = l4(proto, e, payload, flags);
  std::vector<uint8_t> v(40);
  v[0] = 0x60;
  put16(v, 4, static_cast<uint32_t>(seg.size()));
  v[6] = proto;
  v[7] = 64;
  inet_pton(AF_INET6, e.src.c_str(), &v[8]);
  inet_pton(AF_INET6, e.dst.c_str(), &v[24]);
  v.insert(v.end(), seg.begin(), seg.end());
  return v;
}

}  // namespace

std::vector<uint8_t> ipv4_tcp(const Endpoints& e, std::string_view p, uint8_t flags) {
  return ipv4(6, e, p, flags);
}
std::vector<uint8_t> ipv4_udp(const Endpoints& e, std::string_view p) {
  return ipv4(17, e, p, 0);
}
std::vector<uint8_t> ipv6_tcp(const Endpoints& e, std::string_view p, uint8_t flags) {
  return ipv6(6, e, p, flags);
}
std::vector<uint8_t> ipv6_udp(const Endpoints& e, std::string_view p) {
  return ipv6(17, e, p, 0);
}

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) {
    s.push_back(static_cast<char>(x));
  }
  return s;
}

}  // namespace imguard::test
