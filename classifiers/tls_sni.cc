// SPDX-License-Identifier: GPL-3.0-or-later
// IM over TLS by the ClientHello: server_name (RFC 6066) and ALPN (RFC 7301) looked up in
// classifiers/signatures.conf, e.g. "web.whatsapp.com" or ALPN "xmpp-client" (XEP-0368);
// also P2P file sync that names itself there (Syncthing's ALPN "bep/1.0").
// Evidence: pcaps/tls_sni/openssl-im-sni.pcap, pcaps/xmpp/prosody-direct-tls-5223.pcap,
// pcaps/syncthing/syncthing-tcp-local-discovery.pcap. An ALPN id is the client naming
// its protocol; neither the port (5223, 22000) nor the SNI of a self-hosted server is used:
// other TLS on those ports with ALPN h2/http/1.1 (pcaps/xmpp/tls-5223-h2-lookalike.pcap,
// pcaps/syncthing/tls-22000-lookalike.pcap) and XMPP direct TLS without ALPN
// (pcaps/xmpp/prosody-direct-tls-no-alpn.pcap) stay `tls`. False positives: none known; a
// look-alike (TLS to a non-IM name, pcaps/tls_sni/openssl-web-sni.pcap) falls through to nDPI.
// A `call_relay` host (Signal's voip.signal.org relays) also teaches the worker's PeerCache
// that the server's address relays the app's calls, for the client's STUN flows (stun.cc).
#include "classifiers/tls_sni.h"

#include "classifiers/flow_limits.h"
#include "classifiers/peer_cache.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace imguard::classifiers {
namespace {

constexpr size_t kRecordHeader = 5;
constexpr size_t kMaxRecord = 16384 + 256;  // TLSPlaintext limit (RFC 8446 5.1) plus slack
constexpr uint32_t kMaxHelloSegments = 8;
// First allocation for a split ClientHello; it doubles as bytes arrive, so a peer that
// announces a 16 KB record and sends one segment holds about that segment, not 16 KB.
constexpr size_t kInitialBuffer = 2048;

// A ClientHello split over segments, on the heap only while it is being reassembled.
struct Hello {
  FlowLimits* limits;  // the worker's budget this is charged to, nullptr: unbounded
  uint8_t* buf;
  uint32_t next_seq;
  uint16_t have;
  uint16_t need;
  uint16_t cap;
};

struct TlsSniSlot {
  Hello* hello;
};

void drop_buffer(TlsSniSlot& slot) noexcept {
  Hello* h = slot.hello;
  if (h == nullptr) {
    return;
  }
  if (h->limits != nullptr) {
    h->limits->release(sizeof(Hello) + h->cap);
  }
  delete[] h->buf;
  delete h;
  slot.hello = nullptr;
}

// Makes room for at least `want` bytes (never more than the record), charged to the
// worker's reassembly budget. False when the budget or the heap says no.
bool grow(Hello& h, size_t want) noexcept {
  if (want <= h.cap) {
    return true;
  }
  const size_t cap = std::min<size_t>(std::max(want, size_t{h.cap} * 2), h.need);
  const size_t more = cap - h.cap;
  if (h.limits != nullptr && !h.limits->reserve(more)) {
    return false;
  }
  auto* bigger = new (std::nothrow) uint8_t[cap];
  if (bigger == nullptr) {
    if (h.limits != nullptr) {
      h.limits->release(more);
    }
    return false;
  }
  if (h.have > 0) {
    std::memcpy(bigger, h.buf, h.have);
  }
  delete[] h.buf;
  h.buf = bigger;
  h.cap = static_cast<uint16_t>(cap);
  return true;
}

// Starts reassembly of a record of `total` bytes whose first segment is `p`; nullptr when
// the worker's budget (or the heap) refuses.
Hello* start_hello(FlowLimits* limits, size_t total, std::span<const uint8_t> p,
                   uint32_t seq) noexcept {
  if (limits != nullptr && !limits->reserve(sizeof(Hello))) {
    return nullptr;
  }
  auto* h = new (std::nothrow)
      Hello{.limits = limits, .buf = nullptr, .next_seq = 0, .have = 0, .need = 0, .cap = 0};
  if (h == nullptr) {
    if (limits != nullptr) {
      limits->release(sizeof(Hello));
    }
    return nullptr;
  }
  h->need = static_cast<uint16_t>(total);
  TlsSniSlot tmp{h};
  if (!grow(*h, std::max(p.size(), std::min(total, kInitialBuffer)))) {
    drop_buffer(tmp);
    return nullptr;
  }
  std::memcpy(h->buf, p.data(), p.size());
  h->have = static_cast<uint16_t>(p.size());
  h->next_seq = seq + static_cast<uint32_t>(p.size());
  return h;
}

}  // namespace

std::optional<Signatures::HostMatch> im_app_for_hello(const ClientHelloInfo& hello,
                                                      const Signatures& sigs) noexcept {
  if (auto host = sigs.match_sni(hello.sni)) {
    return host;
  }
  for (size_t i = 0; i < hello.alpn_count; ++i) {
    if (auto app = sigs.app_for_alpn(hello.alpn[i])) {
      return Signatures::HostMatch{.app = *app, .features = kFeatureNone};
    }
  }
  return std::nullopt;
}

uint8_t hello_features(AppId app) noexcept {
  return app_category(app) == Category::kP2p ? kFeaturePeer | kFeatureFileTransfer : kFeatureNone;
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
    if (s.hello == nullptr) {
      return NotMine{};  // the TLS client speaks first
    }
    return NeedMore{};
  }
  std::span<const uint8_t> record;
  if (s.hello == nullptr) {
    const size_t len = tls_handshake_record_length(p);
    if (len == 0 || len > kMaxRecord || p.size() < kRecordHeader + 1 || p[kRecordHeader] != 1) {
      return NotMine{};
    }
    const size_t total = kRecordHeader + len;
    if (p.size() >= total) {
      record = p.subspan(kRecordHeader, len);
    } else {
      s.hello = start_hello(ctx.limits, total, p, pkt.tcp_seq);
      // Over the worker's budget: the flow is left to the rest of the chain (nDPI).
      return s.hello != nullptr ? Result{NeedMore{}} : Result{NotMine{}};
    }
  } else {
    Hello& h = *s.hello;
    if (pkt.tcp_seq != h.next_seq) {
      // A retransmission of what we hold is harmless; a gap means we lost the thread.
      if (static_cast<int32_t>(pkt.tcp_seq - h.next_seq) < 0) {
        return NeedMore{};
      }
      drop_buffer(s);
      return NotMine{};
    }
    const size_t n = std::min<size_t>(p.size(), size_t{h.need} - h.have);
    if (!grow(h, size_t{h.have} + n)) {
      drop_buffer(s);
      return NotMine{};
    }
    std::memcpy(h.buf + h.have, p.data(), n);
    h.have = static_cast<uint16_t>(h.have + n);
    h.next_seq += static_cast<uint32_t>(p.size());
    if (h.have < h.need) {
      if (ctx.payload_packets[0] >= kMaxHelloSegments) {
        drop_buffer(s);
        return NotMine{};
      }
      return NeedMore{};
    }
    record = std::span<const uint8_t>(h.buf + kRecordHeader, h.need - kRecordHeader);
  }
  ClientHelloInfo hello;
  const HelloParse parsed = parse_client_hello(record, hello);
  std::optional<Signatures::HostMatch> app;
  if (parsed == HelloParse::kOk) {
    app = im_app_for_hello(hello, *sigs_);
  }
  drop_buffer(s);
  if (app) {
    if (app->call_relay && ctx.peers != nullptr) {
      // The client reached one of the app's call relays: its STUN/TURN flows to this
      // address carry the app's calls (classifiers/stun.cc).
      remember_call_relay(*ctx.peers, pkt.src, pkt.dst, app->app, pkt.ts);
    }
    return Match{.app = app->app,
                 .evidence = Evidence::kDpi,
                 .features = static_cast<uint8_t>(app->features | hello_features(app->app))};
  }
  return NotMine{};
}

void TlsSni::release(FlowSlot slot) noexcept {
  drop_buffer(slot.as<TlsSniSlot>());
}

}  // namespace imguard::classifiers
