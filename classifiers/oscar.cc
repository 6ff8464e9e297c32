// SPDX-License-Identifier: GPL-3.0-or-later
// OSCAR FLAP framing: '*' (0x2A), channel 1..5, 16-bit sequence, 16-bit data length. The
// first FLAP of a connection is on channel 1 (sign-on) and its data opens with the FLAP
// version 0x00000001, sent by the server on connect and echoed by the client. The data
// length must fill the segment or be followed by the next FLAP's 0x2A.
// OFT: a direct file-transfer connection opens with "OFT2" and a 16-bit header length of
// 256 (the OFT2 header size). Evidence: pcaps/oscar/ (synthetic, generator beside it).
// False positives: none known; 0x2A alone (pcaps/oscar/flap-lookalike.pcap) is not enough.
#include "classifiers/oscar.h"

namespace imguard::classifiers {
namespace {

constexpr uint8_t kFlapStart = 0x2A;
constexpr size_t kFlapHeader = 6;
constexpr uint8_t kChannelSignon = 1;
constexpr uint16_t kOftHeaderLength = 256;

bool is_signon_flap(std::span<const uint8_t> p) noexcept {
  if (p.size() < kFlapHeader + 4 || p[0] != kFlapStart || p[1] != kChannelSignon) {
    return false;
  }
  const size_t len = (size_t{p[4]} << 8) | p[5];
  if (len < 4 || kFlapHeader + len > p.size()) {
    return false;
  }
  if (kFlapHeader + len < p.size() && p[kFlapHeader + len] != kFlapStart) {
    return false;
  }
  return p[6] == 0 && p[7] == 0 && p[8] == 0 && p[9] == 1;
}

bool is_oft_header(std::span<const uint8_t> p) noexcept {
  return p.size() >= 8 && p[0] == 'O' && p[1] == 'F' && p[2] == 'T' && p[3] == '2' &&
         ((size_t{p[4]} << 8) | p[5]) == kOftHeaderLength;
}

}  // namespace

Result Oscar::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                      FlowSlot /*slot*/) noexcept {
  const auto& p = pkt.payload;
  if (is_signon_flap(p)) {
    return Match{.app = AppId::kOscar, .evidence = Evidence::kDpi, .features = kFeatureCleartext};
  }
  if (is_oft_header(p)) {
    return Match{
        .app = AppId::kOscar, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};
  }
  // The server's hello is the first FLAP; allow the other side's first segment too.
  const uint32_t total = ctx.payload_packets[0] + ctx.payload_packets[1];
  return total < 2 ? Result{NeedMore{}} : Result{NotMine{}};
}

}  // namespace imguard::classifiers
