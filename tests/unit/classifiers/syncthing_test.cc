// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/syncthing.h"
#include "p2p_probe.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {
struct Udp : t::P2pFlow<SyncthingDiscovery> {
  Udp() {
    udp = true;
    server = "10.0.255.255";
  }
};

const std::string kMagic = t::bytes({0x2e, 0xa7, 0xd9, 0x0b});
const std::string kId(32, '\x5a');

std::string field(int key, const std::string& value) {
  return t::bytes({key, static_cast<int>(value.size())}) + value;
}
// instance_id 0x0bc8e3f16f8b as a varint
const std::string kInstance = t::bytes({0x18, 0x8b, 0xde, 0xfc, 0x8e, 0x8b, 0x01});
}  // namespace

TEST_CASE("Syncthing local discovery announcements match", "[syncthing]") {
  const std::string announce = kMagic + field(0x0a, kId) + field(0x12, "tcp://10.10.0.2:22000") +
                               field(0x12, "quic://0.0.0.0:0") + kInstance;
  const auto r = Udp{}.c2s(announce);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).app == AppId::kSyncthing);
  CHECK(std::get<Match>(r).evidence == Evidence::kDpi);
  // No addresses (a device that is not listening) and no instance id are still valid.
  CHECK(std::holds_alternative<Match>(Udp{}.c2s(kMagic + field(0x0a, kId))));
}

TEST_CASE("Syncthing discovery look-alikes are not matched", "[syncthing]") {
  const std::string good_tail = field(0x12, "tcp://10.10.0.2:22000") + kInstance;
  const std::string lookalikes[] = {
      std::string(88, '\x2e'),                                     // no magic
      kMagic + std::string(84, '\x01'),                            // magic, then junk
      kMagic + field(0x0a, std::string(16, 'a')) + good_tail,      // a 16-byte id
      kMagic + field(0x0a, kId) + field(0x12, "10.10.0.2 22000"),  // not a URL
      kMagic + field(0x0a, kId) + field(0x12, "tcp://\x01\x02") + kInstance,
      kMagic + field(0x0a, kId) + good_tail + t::bytes({0, 1}),  // bytes after the last field
      kMagic + field(0x0a, kId) + kInstance + field(0x12, "tcp://a:1"),  // out of order
      kMagic + field(0x0a, kId) + t::bytes({0x12, 0x40}) + "tcp://",     // length too long
      kMagic + field(0x0a, kId) + t::bytes({0x18, 0xff, 0xff}),          // unfinished varint
  };
  for (const auto& l : lookalikes) {
    CHECK(std::holds_alternative<NotMine>(Udp{}.c2s(l)));
  }
}
