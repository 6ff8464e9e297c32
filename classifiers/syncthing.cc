// SPDX-License-Identifier: GPL-3.0-or-later
// Syncthing local discovery (Syncthing's "Local Discovery Protocol v4"): a broadcast or
// multicast datagram of magic 0x2EA7D90B and an Announce message, id (bytes, 32),
// addresses (repeated string), instance_id (int64).
// Evidence: pcaps/syncthing/syncthing-tcp-local-discovery.pcap (syncthing 1.19 in
// namespaces). What separates it from look-alikes: not the port (21027 is only the
// default) but the magic followed by a protocol-buffers message that must parse field by
// field to the last byte, with a 32-byte id and every address a "scheme://" URL; random or
// other UDP to 21027 and a datagram with the magic but anything else after it
// (pcaps/syncthing/discovery-lookalike.pcap) are not matched.
#include "classifiers/syncthing.h"

#include <optional>

#include "classifiers/p2p_text.h"

namespace imguard::classifiers {
namespace {

using p2p::Bytes;

constexpr uint8_t kMagic[] = {0x2e, 0xa7, 0xd9, 0x0b};
constexpr size_t kDeviceId = 32;
constexpr size_t kMaxAddress = 256;

// A protocol-buffers varint at `at`: its value and the offset after it.
std::optional<std::pair<uint64_t, size_t>> varint(Bytes p, size_t at) noexcept {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64 && at < p.size(); shift += 7) {
    const uint8_t b = p[at++];
    v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      return std::pair{v, at};
    }
  }
  return std::nullopt;
}

// "scheme://rest", scheme lowercase letters and digits, rest printable.
bool is_address(Bytes a) noexcept {
  size_t i = 0;
  while (i < a.size() && ((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9'))) {
    ++i;
  }
  return i > 0 && a.size() > i + 3 && a[i] == ':' && a[i + 1] == '/' && a[i + 2] == '/' &&
         p2p::printable(a);
}

bool is_announce(Bytes p) noexcept {
  if (p.size() < sizeof(kMagic) + 2 + kDeviceId || !std::equal(kMagic, kMagic + 4, p.begin()) ||
      p[4] != 0x0a || p[5] != kDeviceId) {
    return false;
  }
  size_t at = 6 + kDeviceId;
  bool instance = false;
  while (at < p.size()) {
    const uint8_t key = p[at++];
    if (key == 0x12 && !instance) {  // field 2, length-delimited: one address
      const auto len = varint(p, at);
      if (!len || len->first == 0 || len->first > kMaxAddress ||
          len->first > p.size() - len->second || !is_address(p.subspan(len->second, len->first))) {
        return false;
      }
      at = len->second + len->first;
    } else if (key == 0x18 && !instance) {  // field 3, varint: the instance id, last
      const auto v = varint(p, at);
      if (!v) {
        return false;
      }
      at = v->second;
      instance = true;
    } else {
      return false;
    }
  }
  return at == p.size();
}

}  // namespace

Interest SyncthingDiscovery::interest() const noexcept {
  return Interest{.tcp = false, .udp = true, .needs_payload = true, .state_bytes = 0};
}

Result SyncthingDiscovery::inspect(const packet::PacketView& pkt, const FlowContext& /*ctx*/,
                                   FlowSlot /*slot*/) noexcept {
  if (is_announce(pkt.payload)) {
    return Match{.app = AppId::kSyncthing, .evidence = Evidence::kDpi, .features = kFeatureNone};
  }
  return NotMine{};
}

}  // namespace imguard::classifiers
