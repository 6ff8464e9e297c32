// SPDX-License-Identifier: GPL-3.0-or-later
// XMPP (RFC 6120) by how a session opens, wherever the segment boundaries fall:
//  * a stream header, "<?xml ...?>" (optional) then an element with local name "stream"
//    whose prefix is bound to "http://etherx.jabber.org/streams" (any prefix, either quote
//    character, any attribute order and spacing), or the customary "<stream:stream" with a
//    jabber:client / jabber:server default namespace;
//  * BOSH (XEP-0124/0206): an HTTP POST whose body is a <body> element in the
//    "http://jabber.org/protocol/httpbind" namespace;
//  * XMPP over WebSocket (RFC 7395): an HTTP Upgrade to websocket offering the registered
//    subprotocol "xmpp".
// The client's opening bytes are reassembled in order (by TCP sequence number) in a small
// heap buffer charged to the worker's reassembly budget (classifiers/flow_limits.h), so the
// XML declaration, the header and its namespaces, or HTTP headers and body may each arrive
// in their own segments. After a stream header: "<starttls" or a TLS record means the
// session is encrypted; stanzas without STARTTLS mean `cleartext`; the in-band
// file-transfer namespaces (XEP-0065 bytestreams, XEP-0096 SI file transfer, XEP-0234
// Jingle file transfer, XEP-0363 HTTP upload) mean `file_transfer`. BOSH and WebSocket
// seen here ran over plain HTTP, so they are `cleartext`. A XEP-0065 bytestream itself is a
// SOCKS5 CONNECT to a 40-character hex SHA-1 "domain" with port 0 (XEP-0065 5.3.2).
// Direct TLS (XEP-0368) is tls_sni's: ALPN "xmpp-client"/"xmpp-server".
// Evidence: pcaps/xmpp/ (prosody with slixmpp, scripted stream/BOSH/WebSocket clients).
// What separates it from look-alikes: the namespace must be declared on the opening
// element itself, not merely appear somewhere in the bytes; other XML documents, other XML
// over HTTP (XML-RPC, SOAP, an HTML <body>), WebSocket with other subprotocols and a plain
// SOCKS5 CONNECT (pcaps/xmpp/*-lookalike.pcap, socks5-plain-connect.pcap) are not matched.
// Limit: the opening must complete within the flow's packet budget; a sender that writes
// one byte per segment (pcaps/xmpp/stream-header-byte-per-segment.pcap) does not.
#include "classifiers/xmpp.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <optional>

#include "classifiers/flow_limits.h"
#include "classifiers/im_text.h"
#include "classifiers/stream_prefix.h"

namespace imguard::classifiers {
namespace {

enum Phase : uint8_t { kStart = 0, kStream = 1, kSocks = 2, kOpening = 3, kDone = 4 };
constexpr uint8_t kCleartextAfterClientPackets = 4;  // header, auth, restart, bind
constexpr size_t kSha1Hex = 40;
// The client's opening bytes kept for reassembly: a stream header is a few hundred bytes;
// an HTTP request's headers (cookies included) and the start of its body fit in 4 KiB.
constexpr size_t kMaxOpening = 4096;

constexpr std::string_view kStreamsNs = "http://etherx.jabber.org/streams";
constexpr std::string_view kBoshNs = "http://jabber.org/protocol/httpbind";

// The client's opening bytes so far, on the heap only while they are incomplete.
using Opening = StreamPrefix<kMaxOpening>;

// One word, so that flows do not grow: 0 on a new flow; while the opening is reassembled,
// the pointer to its buffer (heap blocks are aligned, so bit 0 is clear); otherwise bit 0
// set, the phase in bits 8-15 and the client's payload packets after the stream header in
// bits 16-23.
struct XmppSlot {
  uintptr_t word;

  Opening* opening() const noexcept {
    return (word & 1) == 0 ? reinterpret_cast<Opening*>(word) : nullptr;
  }
  uint8_t phase() const noexcept {
    if (word == 0) {
      return kStart;
    }
    return (word & 1) == 0 ? uint8_t{kOpening} : static_cast<uint8_t>(word >> 8);
  }
  uint8_t client_packets() const noexcept {
    return (word & 1) == 0 ? 0 : static_cast<uint8_t>(word >> 16);
  }
  void set(uint8_t phase, uint8_t client_packets = 0) noexcept {
    word = 1 | (uintptr_t{phase} << 8) | (uintptr_t{client_packets} << 16);
  }
  void hold(Opening* o) noexcept { word = reinterpret_cast<uintptr_t>(o); }
};
static_assert(alignof(std::max_align_t) >= 2, "bit 0 of a heap pointer must be free");

enum class Verdict : uint8_t { kNo, kMore, kStream, kHttp };

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view skip_space(std::string_view t) noexcept {
  while (!t.empty() && is_space(t.front())) {
    t.remove_prefix(1);
  }
  return t;
}

// `t` could still grow into `word` (a proper prefix), or already starts with it.
Verdict prefix_of(std::string_view t, std::string_view word) noexcept {
  const size_t n = std::min(t.size(), word.size());
  if (t.substr(0, n) != word.substr(0, n)) {
    return Verdict::kNo;
  }
  return t.size() < word.size() ? Verdict::kMore : Verdict::kStream;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

// One start tag's name and attributes ("<name a='1' b=\"2\"" up to, not including, '>').
struct Tag {
  std::string_view prefix;
  std::string_view local;
  std::string_view attrs;
};

// Parses "<name attrs>" at the start of `t`. kMore: incomplete; kNo: not a start tag;
// kStream: `tag` filled.
Verdict start_tag(std::string_view t, Tag& tag) noexcept {
  if (t.empty()) {
    return Verdict::kMore;
  }
  if (t.front() != '<') {
    return Verdict::kNo;
  }
  const size_t end = t.find('>');
  const std::string_view body = t.substr(1, end == std::string_view::npos ? t.npos : end - 1);
  size_t n = 0;
  while (n < body.size() && !is_space(body[n]) && body[n] != '/') {
    ++n;
  }
  const std::string_view name = body.substr(0, n);
  if (n == body.size() && end == std::string_view::npos) {
    return name.size() > 64 ? Verdict::kNo : Verdict::kMore;
  }
  const size_t colon = name.rfind(':');
  tag.prefix = colon == std::string_view::npos ? std::string_view{} : name.substr(0, colon);
  tag.local = colon == std::string_view::npos ? name : name.substr(colon + 1);
  if (tag.local.empty()) {
    return Verdict::kNo;
  }
  tag.attrs = body.substr(n);
  return end == std::string_view::npos ? Verdict::kMore : Verdict::kStream;
}

// The value of attribute `want` (quoted with ' or "), or nullopt when absent or malformed.
std::optional<std::string_view> attribute(std::string_view attrs, std::string_view want) noexcept {
  while (true) {
    attrs = skip_space(attrs);
    if (attrs.empty() || attrs.front() == '/') {
      return std::nullopt;
    }
    const size_t eq = attrs.find('=');
    if (eq == std::string_view::npos) {
      return std::nullopt;
    }
    std::string_view name = attrs.substr(0, eq);
    while (!name.empty() && is_space(name.back())) {
      name.remove_suffix(1);
    }
    attrs = skip_space(attrs.substr(eq + 1));
    if (attrs.empty() || (attrs.front() != '\'' && attrs.front() != '"')) {
      return std::nullopt;
    }
    const size_t close = attrs.find(attrs.front(), 1);
    if (close == std::string_view::npos) {
      return std::nullopt;
    }
    if (name == want) {
      return attrs.substr(1, close - 1);
    }
    attrs.remove_prefix(close + 1);
  }
}

bool names_ns(const Tag& tag, std::string_view ns) noexcept {
  if (tag.prefix.empty()) {
    return attribute(tag.attrs, "xmlns") == ns;
  }
  char key[80];
  if (tag.prefix.size() + 6 > sizeof(key)) {
    return false;
  }
  std::memcpy(key, "xmlns:", 6);
  std::memcpy(key + 6, tag.prefix.data(), tag.prefix.size());
  return attribute(tag.attrs, std::string_view(key, 6 + tag.prefix.size())) == ns;
}

// Skips a UTF-8 byte order mark, white space and an XML declaration. kMore while the
// declaration is incomplete, kNo when the text is not XML.
Verdict skip_prolog(std::string_view& t) noexcept {
  if (t.starts_with("\xEF\xBB\xBF")) {
    t.remove_prefix(3);
  }
  t = skip_space(t);
  if (t.size() < 2) {
    return t.empty() || t.front() == '<' ? Verdict::kMore : Verdict::kNo;
  }
  if (t.starts_with("<?")) {
    if (prefix_of(t, "<?xml") == Verdict::kNo) {
      return Verdict::kNo;
    }
    const size_t end = t.find("?>");
    if (end == std::string_view::npos) {
      return t.size() > 256 ? Verdict::kNo : Verdict::kMore;
    }
    t = skip_space(t.substr(end + 2));
  }
  return Verdict::kStream;
}

// "<?xml ...?><x:stream xmlns:x='http://etherx.jabber.org/streams' ...>".
Verdict stream_header(std::string_view t) noexcept {
  if (const Verdict v = skip_prolog(t); v != Verdict::kStream) {
    return v;
  }
  Tag tag;
  const Verdict v = start_tag(t, tag);
  if (v == Verdict::kNo || (!tag.local.empty() && tag.local != "stream" &&
                            prefix_of("stream", tag.local) == Verdict::kNo)) {
    return Verdict::kNo;
  }
  if (v == Verdict::kMore) {
    return Verdict::kMore;
  }
  if (tag.local != "stream") {
    return Verdict::kNo;
  }
  if (names_ns(tag, kStreamsNs)) {
    return Verdict::kStream;
  }
  // The customary prefix with only the content namespace declared, as servers accept.
  const auto content = attribute(tag.attrs, "xmlns");
  return tag.prefix == "stream" && (content == "jabber:client" || content == "jabber:server")
             ? Verdict::kStream
             : Verdict::kNo;
}

// The value of HTTP header `name` in `head` (lines after the request line), or nullopt.
std::optional<std::string_view> header(std::string_view head, std::string_view name) noexcept {
  size_t at = head.find("\r\n");
  while (at != std::string_view::npos && at + 2 < head.size()) {
    const size_t start = at + 2;
    const size_t end = head.find("\r\n", start);
    const std::string_view line =
        head.substr(start, end == std::string_view::npos ? head.npos : end - start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(line.substr(0, colon), name)) {
      std::string_view v = skip_space(line.substr(colon + 1));
      while (!v.empty() && is_space(v.back())) {
        v.remove_suffix(1);
      }
      return v;
    }
    at = end;
  }
  return std::nullopt;
}

// `list` (comma-separated tokens) holds `token`.
bool has_token(std::string_view list, std::string_view token, bool any_case) noexcept {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view item = skip_space(list.substr(0, comma));
    while (!item.empty() && is_space(item.back())) {
      item.remove_suffix(1);
    }
    if (any_case ? iequals(item, token) : item == token) {
      return true;
    }
    if (comma == std::string_view::npos) {
      break;
    }
    list.remove_prefix(comma + 1);
  }
  return false;
}

// The request's body (Content-Length) has fully arrived in `have` bytes.
bool body_complete(std::string_view head, size_t have) noexcept {
  const auto length = header(head, "Content-Length");
  if (!length || length->empty() || length->size() > 9) {
    return false;
  }
  size_t n = 0;
  for (const char c : *length) {
    if (c < '0' || c > '9') {
      return false;
    }
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  return have >= n;
}

// An HTTP/1.x request carrying BOSH or opening XMPP over WebSocket.
Verdict http_request(std::string_view t) noexcept {
  const bool get = prefix_of(t, "GET /") != Verdict::kNo;
  if (!get && prefix_of(t, "POST /") == Verdict::kNo) {
    return Verdict::kNo;
  }
  const size_t end = t.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return Verdict::kMore;
  }
  const std::string_view head = t.substr(0, end);
  if (get) {
    const auto upgrade = header(head, "Upgrade");
    const auto proto = header(head, "Sec-WebSocket-Protocol");
    return upgrade && proto && has_token(*upgrade, "websocket", true) &&
                   has_token(*proto, "xmpp", false)
               ? Verdict::kHttp
               : Verdict::kNo;
  }
  std::string_view body = t.substr(end + 4);
  if (const Verdict v = skip_prolog(body); v != Verdict::kStream) {
    return v == Verdict::kMore && body_complete(head, t.size() - end - 4) ? Verdict::kNo : v;
  }
  Tag tag;
  const Verdict v = start_tag(body, tag);
  if (v == Verdict::kNo || (!tag.local.empty() && prefix_of("body", tag.local) == Verdict::kNo)) {
    return Verdict::kNo;
  }
  if (v == Verdict::kMore) {
    return body_complete(head, t.size() - end - 4) ? Verdict::kNo : Verdict::kMore;
  }
  return tag.local == "body" && names_ns(tag, kBoshNs) ? Verdict::kHttp : Verdict::kNo;
}

Verdict opening(std::string_view t) noexcept {
  if (!t.empty() && (t.front() == 'G' || t.front() == 'P')) {
    return http_request(t);
  }
  return stream_header(t);
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

// Frees the reassembly buffer, if any; the slot then says `phase`.
void drop_opening(XmppSlot& s, uint8_t phase) noexcept {
  if (Opening* o = s.opening(); o != nullptr) {
    Opening::release(o);
    s.set(phase);
  }
}

// Keeps an incomplete first segment for reassembly; false when the budget refuses.
bool keep_opening(XmppSlot& s, FlowLimits* limits, std::span<const uint8_t> p,
                  uint32_t seq) noexcept {
  Opening* o = Opening::start(limits, p, seq);
  if (o == nullptr) {
    return false;
  }
  s.hold(o);
  return true;
}

// The answer once the opening is known (or known not to be one).
Result settle(Verdict v, XmppSlot& s) noexcept {
  switch (v) {
    case Verdict::kStream:
      drop_opening(s, kStream);
      s.set(kStream);
      return NeedMore{.hold = Hold::kClaim};
    case Verdict::kHttp:
      drop_opening(s, kDone);
      return xmpp(kFeatureCleartext);
    case Verdict::kMore:
      return NeedMore{};
    case Verdict::kNo:
    default:
      drop_opening(s, kDone);
      return NotMine{};
  }
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
  switch (s.phase()) {
    case kStart: {
      if (client && sent == 1 && is_socks5_greeting(p)) {
        s.set(kSocks);
        return NeedMore{.hold = Hold::kClaim};
      }
      const Verdict v = opening(text);
      if (v != Verdict::kMore) {
        return settle(v, s);
      }
      // Only the client's opening is reassembled; a server speaking first is not XMPP.
      if (!client || !keep_opening(s, ctx.limits, p, pkt.tcp_seq)) {
        return NotMine{};
      }
      return NeedMore{};
    }
    case kOpening: {
      if (!client) {
        return NeedMore{};  // the server waits for the whole opening before it answers
      }
      Opening& o = *s.opening();
      // Bytes already kept (a retransmission) are skipped; a gap ends the attempt.
      switch (o.append(p, pkt.tcp_seq)) {
        case Opening::Append::kOld:
          return NeedMore{};
        case Opening::Append::kRefused:
          return settle(Verdict::kNo, s);
        case Opening::Append::kAdded:
          break;
      }
      return settle(opening(o.text()), s);
    }
    case kStream:
      if (is_tls_record(p) || (client && contains(text, "<starttls"))) {
        return xmpp(kFeatureNone);
      }
      if (names_file_transfer(text)) {
        return xmpp(kFeatureCleartext | kFeatureFileTransfer);
      }
      if (client) {
        const auto packets = static_cast<uint8_t>(s.client_packets() + 1);
        if (packets >= kCleartextAfterClientPackets) {
          return xmpp(kFeatureCleartext);
        }
        s.set(kStream, packets);
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
  if (s.phase() != kStream) {
    return std::nullopt;
  }
  // The stream ended before STARTTLS or TLS: whatever it carried went in clear.
  return xmpp(s.client_packets() > 0 ? kFeatureCleartext : kFeatureNone);
}

void Xmpp::release(FlowSlot slot) noexcept {
  drop_opening(slot.as<XmppSlot>(), kDone);
}

}  // namespace imguard::classifiers
