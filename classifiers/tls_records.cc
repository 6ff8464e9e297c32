// SPDX-License-Identifier: GPL-3.0-or-later
// TLS record layer (RFC 8446 5.1, RFC 5246 6.2): content type 20..23, legacy version 3.x
// (3.1 to 3.4 on the wire), a 16-bit length of at most 2^14 + 2048. A segment may start
// inside a record, so only segments that do start with a header count, and a flow needs
// such segments from both sides, one of them application data (type 23).
// Evidence: golden/link-types and tests/unit/classifiers/tls_records_test.cc.
// False positives: a binary protocol whose frames start with 0x14..0x17 0x03 0x0N and a
// plausible length in both directions; none known.
#include "classifiers/tls_records.h"

#include "packet/bytes.h"

namespace imguard::classifiers {
namespace {

constexpr uint8_t kChangeCipherSpec = 20;
constexpr uint8_t kApplicationData = 23;
constexpr size_t kRecordHeader = 5;
constexpr uint16_t kMaxRecord = (1u << 14) + 2048;
// Payload segments looked at before giving up on a mid-stream flow.
constexpr uint8_t kMaxSegments = 8;

struct State {
  uint8_t midstream;   // 1: the flow's start was not seen; 2: it was (not ours)
  uint8_t segments;    // payload segments seen
  uint8_t headers[2];  // segments starting with a record header, per direction
  uint8_t app_data;    // of those, application data records
};

bool record_header(std::span<const uint8_t> p, uint8_t& type) noexcept {
  if (p.size() < kRecordHeader) {
    return false;
  }
  type = p[0];
  return type >= kChangeCipherSpec && type <= kApplicationData && p[1] == 3 && p[2] <= 4 &&
         packet::be16(p, 3) != 0 && packet::be16(p, 3) <= kMaxRecord;
}

}  // namespace

Interest TlsRecords::interest() const noexcept {
  return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = sizeof(State)};
}

Result TlsRecords::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                           FlowSlot slot) noexcept {
  auto& s = slot.as<State>();
  if (s.midstream == 0) {
    s.midstream = ctx.start_seen ? 2 : 1;
  }
  if (s.midstream != 1) {
    return NotMine{};
  }
  uint8_t type = 0;
  if (record_header(pkt.payload, type)) {
    ++s.headers[static_cast<size_t>(ctx.direction)];
    s.app_data = static_cast<uint8_t>(s.app_data + (type == kApplicationData ? 1 : 0));
  }
  if (s.headers[0] > 0 && s.headers[1] > 0 && s.app_data > 0) {
    return Match{.app = AppId::kTls, .evidence = Evidence::kDpi, .features = kFeatureNone};
  }
  return ++s.segments >= kMaxSegments ? Result{NotMine{}} : Result{NeedMore{}};
}

}  // namespace imguard::classifiers
