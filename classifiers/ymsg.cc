// SPDX-License-Identifier: GPL-3.0-or-later
// YMSG header: "YMSG", 16-bit protocol version, 16-bit vendor id, 16-bit payload length,
// 16-bit service, 32-bit status, 32-bit session id, then `length` bytes of key/value pairs
// separated by 0xC0 0x80. The length must fill the segment or be followed by the next
// "YMSG" header; versions seen in the wild are small numbers (9..24).
// Evidence: pcaps/ymsg/ (synthetic). False positives: none known; text that merely starts
// with "YMSG" (pcaps/ymsg/ymsg-lookalike.pcap) fails the length check.
#include "classifiers/ymsg.h"

namespace imguard::classifiers {
namespace {

constexpr size_t kHeader = 20;
constexpr uint16_t kMaxVersion = 0x40;

bool is_ymsg(std::span<const uint8_t> p) noexcept {
  if (p.size() < kHeader || p[0] != 'Y' || p[1] != 'M' || p[2] != 'S' || p[3] != 'G') {
    return false;
  }
  const uint16_t version = static_cast<uint16_t>((p[4] << 8) | p[5]);
  const size_t len = (size_t{p[8]} << 8) | p[9];
  if (version == 0 || version > kMaxVersion || kHeader + len > p.size()) {
    return false;
  }
  if (kHeader + len == p.size()) {
    return true;
  }
  const auto next = p.subspan(kHeader + len);
  return next.size() >= 4 && next[0] == 'Y' && next[1] == 'M' && next[2] == 'S' && next[3] == 'G';
}

}  // namespace

Result Ymsg::inspect(const packet::PacketView& pkt, const FlowContext& /*ctx*/,
                     FlowSlot /*slot*/) noexcept {
  if (is_ymsg(pkt.payload)) {
    return Match{.app = AppId::kYahoo, .evidence = Evidence::kDpi, .features = kFeatureCleartext};
  }
  return NotMine{};
}

}  // namespace imguard::classifiers
