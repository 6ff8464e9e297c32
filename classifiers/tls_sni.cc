// SPDX-License-Identifier: GPL-3.0-or-later
// IM over TLS by the ClientHello: server_name (RFC 6066) and ALPN (RFC 7301) looked up in
// classifiers/signatures.conf, e.g. "web.whatsapp.com" or ALPN "xmpp-client" (XEP-0368).
// Evidence: pcaps/tls_sni/openssl-im-sni.pcap. False positives: none known; a look-alike
// (TLS to a non-IM name, pcaps/tls_sni/openssl-web-sni.pcap) falls through to nDPI.
#include "classifiers/tls_sni.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace imguard::classifiers {
namespace {

constexpr size_t kRecordHeader = 5;
constexpr size_t kMaxRecord = 16384 + 256;  // TLSPlaintext limit (RFC 8446 5.1) plus slack
constexpr uint32_t kMaxHelloSegments = 8;

struct TlsSniSlot {
  uint8_t* buf;
  uint32_t next_seq;
  uint16_t have;
  uint16_t need;
};

void drop_buffer(TlsSniSlot& s) noexcept {
  delete[] s.buf;
  s.buf = nullptr;
}

}  // namespace

std::optional<AppId> im_app_for_hello(const ClientHelloInfo& hello,
                                      const Signatures& sigs) noexcept {
  if (auto app = sigs.app_for_sni(hello.sni)) {
    return app;
  }
  for (size_t i = 0; i < hello.alpn_count; ++i) {
    if (auto app = sigs.app_for_alpn(hello.alpn[i])) {
      return app;
    }
  }
  return std::nullopt;
}

Interest TlsSni::interest() const noexcept {
  return Interest{
      .tcp = true, .udp = false, .needs_payload = true, .state_bytes = sizeof(TlsSniSlot)};
}

Result TlsSni::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                       FlowSlot slot) noexcept {
  auto& s = slot.as<TlsSniSlot>();
  const auto& p = pkt.payload;
  if (ctx.direction != Direction::kClientToServer) {
    if (s.buf == nullptr) {
      return NotMine{};  // the TLS client speaks first
    }
    return NeedMore{};
  }
  std::span<const uint8_t> record;
  if (s.buf == nullptr) {
    const size_t len = tls_handshake_record_length(p);
    if (len == 0 || len > kMaxRecord || p.size() < kRecordHeader + 1 || p[kRecordHeader] != 1) {
      return NotMine{};
    }
    const size_t total = kRecordHeader + len;
    if (p.size() >= total) {
      record = p.subspan(kRecordHeader, len);
    } else {
      s.buf = new (std::nothrow) uint8_t[total];
      if (s.buf == nullptr) {
        return NotMine{};
      }
      std::memcpy(s.buf, p.data(), p.size());
      s.have = static_cast<uint16_t>(p.size());
      s.need = static_cast<uint16_t>(total);
      s.next_seq = pkt.tcp_seq + static_cast<uint32_t>(p.size());
      return NeedMore{};
    }
  } else {
    if (pkt.tcp_seq != s.next_seq) {
      // A retransmission of what we hold is harmless; a gap means we lost the thread.
      if (static_cast<int32_t>(pkt.tcp_seq - s.next_seq) < 0) {
        return NeedMore{};
      }
      drop_buffer(s);
      return NotMine{};
    }
    const size_t n = std::min<size_t>(p.size(), size_t{s.need} - s.have);
    std::memcpy(s.buf + s.have, p.data(), n);
    s.have = static_cast<uint16_t>(s.have + n);
    s.next_seq += static_cast<uint32_t>(p.size());
    if (s.have < s.need) {
      if (ctx.payload_packets[0] >= kMaxHelloSegments) {
        drop_buffer(s);
        return NotMine{};
      }
      return NeedMore{};
    }
    record = std::span<const uint8_t>(s.buf + kRecordHeader, s.need - kRecordHeader);
  }
  ClientHelloInfo hello;
  const HelloParse parsed = parse_client_hello(record, hello);
  std::optional<AppId> app;
  if (parsed == HelloParse::kOk) {
    app = im_app_for_hello(hello, *sigs_);
  }
  drop_buffer(s);
  if (app) {
    return Match{.app = *app, .evidence = Evidence::kDpi, .features = kFeatureNone};
  }
  return NotMine{};
}

void TlsSni::release(FlowSlot slot) noexcept {
  drop_buffer(slot.as<TlsSniSlot>());
}

}  // namespace imguard::classifiers
