// SPDX-License-Identifier: GPL-3.0-or-later
#include "packet/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace imguard::packet {

Address Address::v4(const uint8_t* four_bytes) noexcept {
  Address a;
  std::memcpy(a.bytes.data(), four_bytes, 4);
  a.family = Family::kV4;
  return a;
}

Address Address::v6(const uint8_t* sixteen_bytes) noexcept {
  Address a;
  std::memcpy(a.bytes.data(), sixteen_bytes, 16);
  a.family = Family::kV6;
  return a;
}

Address Address::parse(const std::string& text) noexcept {
  Address a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kV4;
  } else if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    a.family = Family::kV6;
  } else {
    a = Address{};
  }
  return a;
}

std::string Address::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  switch (family) {
    case Family::kV4:
      inet_ntop(AF_INET, bytes.data(), buf, sizeof buf);
      return buf;
    case Family::kV6:
      inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
      return buf;
    case Family::kNone:
      break;
  }
  return "-";
}

}  // namespace imguard::packet
