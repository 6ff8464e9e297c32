// SPDX-License-Identifier: GPL-3.0-or-later
// XMPP by its stream header (RFC 6120 4.2): "<?xml ...?>" and/or "<stream:stream" with the
// streams namespace "http://etherx.jabber.org/streams" or a jabber:client/jabber:server
// default namespace. After it: "<starttls" or a TLS record means the session is encrypted;
// stanzas without STARTTLS mean `cleartext`; the in-band file-transfer namespaces
// (XEP-0065 bytestreams, XEP-0096 SI file transfer, XEP-0234 Jingle file transfer, XEP-0363
// HTTP upload) mean `file_transfer`. A XEP-0065 bytestream itself is a SOCKS5 CONNECT to
// a 40-character hex SHA-1 "domain" with port 0 (XEP-0065 5.3.2), specific enough to name.
// Evidence: pcaps/xmpp/ (prosody + slixmpp). False positives: none known; a plain SOCKS5
// CONNECT (pcaps/xmpp/socks5-plain-connect.pcap) is not matched.
#include "classifiers/xmpp.h"

#include <algorithm>

#include "classifiers/im_text.h"

namespace imguard::classifiers {
namespace {

enum Phase : uint8_t { kStart = 0, kStream = 1, kSocks = 2, kOpening = 3 };
constexpr uint8_t kCleartextAfterClientPackets = 4;  // header, auth, restart, bind
constexpr uint32_t kHeaderWaitPackets = 2;           // a header split over segments
constexpr size_t kSha1Hex = 40;

struct XmppSlot {
  uint8_t phase;
  uint8_t client_packets;  // client payload packets after the stream header
};

std::string_view skip_prolog_space(std::string_view t) noexcept {
  if (t.starts_with("\xEF\xBB\xBF")) {
    t.remove_prefix(3);  // UTF-8 byte order mark
  }
  while (!t.empty() && (t.front() == ' ' || t.front() == '\r' || t.front() == '\n')) {
    t.remove_prefix(1);
  }
  return t;
}

bool opens_stream(std::string_view t) noexcept {
  t = skip_prolog_space(t);
  return t.starts_with("<?xml") || t.starts_with("<stream:stream");
}

bool names_xmpp_namespace(std::string_view t) noexcept {
  return contains(t, "http://etherx.jabber.org/streams") || contains(t, "jabber:client") ||
         contains(t, "jabber:server");
}

bool names_xmpp_stream(std::string_view t) noexcept {
  return contains(t, "<stream:stream") && names_xmpp_namespace(t);
}

bool names_file_transfer(std::string_view t) noexcept {
  return contains(t, "http://jabber.org/protocol/bytestreams") ||
         contains(t, "http://jabber.org/protocol/si/profile/file-transfer") ||
         contains(t, "urn:xmpp:jingle:apps:file-transfer") || contains(t, "urn:xmpp:http:upload");
}

bool is_tls_record(std::span<const uint8_t> p) noexcept {
  return p.size() >= 3 && p[0] == 0x16 && p[1] == 0x03;
}

bool is_socks5_greeting(std::span<const uint8_t> p) noexcept {
  return p.size() >= 3 && p[0] == 5 && p[1] >= 1 && p[1] <= 9 && p.size() == size_t{p[1]} + 2;
}

// VER=5 CMD=CONNECT RSV=0 ATYP=domain LEN=40 <hex sha1> PORT=0
bool is_bytestream_connect(std::span<const uint8_t> p) noexcept {
  if (p.size() != 5 + kSha1Hex + 2 || p[0] != 5 || p[1] != 1 || p[2] != 0 || p[3] != 3 ||
      p[4] != kSha1Hex || p[5 + kSha1Hex] != 0 || p[6 + kSha1Hex] != 0) {
    return false;
  }
  return std::all_of(p.begin() + 5, p.begin() + 5 + kSha1Hex,
                     [](uint8_t c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Match xmpp(uint8_t features) noexcept {
  return Match{.app = AppId::kXmpp, .evidence = Evidence::kDpi, .features = features};
}

}  // namespace

Interest Xmpp::interest() const noexcept {
  return Interest{
      .tcp = true, .udp = false, .needs_payload = true, .state_bytes = sizeof(XmppSlot)};
}

Result Xmpp::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                     FlowSlot slot) noexcept {
  auto& s = slot.as<XmppSlot>();
  const auto& p = pkt.payload;
  const std::string_view text = as_text(p);
  const bool client = ctx.direction == Direction::kClientToServer;
  const uint32_t sent = ctx.payload_packets[static_cast<size_t>(ctx.direction)];
  switch (s.phase) {
    case kStart:
    case kOpening:
      if ((s.phase == kStart && opens_stream(text)) || s.phase == kOpening) {
        // The namespaces may arrive in a later segment than "<stream:stream".
        if (names_xmpp_stream(text) || (s.phase == kOpening && names_xmpp_namespace(text))) {
          s.phase = kStream;
          return NeedMore{.hold = Hold::kClaim};
        }
        s.phase = kOpening;
        return sent <= kHeaderWaitPackets ? Result{NeedMore{}} : Result{NotMine{}};
      }
      if (client && sent == 1 && is_socks5_greeting(p)) {
        s.phase = kSocks;
        return NeedMore{.hold = Hold::kClaim};
      }
      return NotMine{};
    case kStream:
      if (is_tls_record(p) || (client && contains(text, "<starttls"))) {
        return xmpp(kFeatureNone);
      }
      if (names_file_transfer(text)) {
        return xmpp(kFeatureCleartext | kFeatureFileTransfer);
      }
      if (client && ++s.client_packets >= kCleartextAfterClientPackets) {
        return xmpp(kFeatureCleartext);
      }
      return NeedMore{.hold = Hold::kClaim};
    case kSocks:
      if (!client) {
        // Method selection "05 00": no authentication, as XEP-0065 requires.
        return p.size() == 2 && p[0] == 5 && p[1] == 0 ? Result{NeedMore{.hold = Hold::kClaim}}
                                                       : Result{NotMine{}};
      }
      return is_bytestream_connect(p) ? Result{xmpp(kFeatureFileTransfer)} : Result{NotMine{}};
    default:
      return NotMine{};
  }
}

std::optional<Match> Xmpp::give_up(const FlowContext& /*ctx*/, FlowSlot slot) noexcept {
  const auto& s = slot.as<XmppSlot>();
  if (s.phase != kStream) {
    return std::nullopt;
  }
  // The stream ended before STARTTLS or TLS: whatever it carried went in clear.
  return xmpp(s.client_packets > 0 ? kFeatureCleartext : kFeatureNone);
}

}  // namespace imguard::classifiers
