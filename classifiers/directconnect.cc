// SPDX-License-Identifier: GPL-3.0-or-later
// Direct Connect. Signatures: NMDC "$Lock ... Pk=...|", "$MyNick <nick>|", and ADC
// "[HIC]SUP AD..." lines (ADC 1.0 protocol document, SUP with BASE support); UDP "$SR"
// search results with 0x05 field separators and ADC "URES <CID>" results. Transfers over
// TLS by the hub session's ConnectToMe (directconnect.h, "Transfers over TLS").
// Evidence: pcaps/directconnect/ (uhub and a scripted NMDC hub, two ncdc clients: cleartext,
// TLS transfers, an adcs:// hub); nmdc-adc.pcap (synthetic).
// False positives: none known for the payload rules; each needs the command terminator in
// the segment. The TLS hint: a service the listener runs on its announced port within
// 60 s, reached by a TLS client that sends no SNI.
#include "classifiers/directconnect.h"

#include <algorithm>
#include <charconv>

#include "classifiers/p2p_text.h"
#include "classifiers/peer_cache.h"
#include "classifiers/tls_client_hello.h"

namespace imguard::classifiers {
namespace {

using p2p::Bytes;

constexpr Match kHub{
    .app = AppId::kDirectConnect, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};
constexpr Match kPeer{.app = AppId::kDirectConnect,
                      .evidence = Evidence::kDpi,
                      .features = kFeatureFileTransfer | kFeaturePeer};
constexpr uint8_t kTransferFeatures = kFeatureFileTransfer | kFeaturePeer;

enum Flag : uint8_t {
  kHubSession = 1 << 0,  // a client-to-hub session: its commands are read on
  kAdc = 1 << 1,         // ADC ('\n'-terminated); else NMDC ('|')
  kClientSpoke = 1 << 2,
  kHubSpoke = 1 << 3,
  kLoggedIn = 1 << 4,  // the hub accepted the client (ADC ISID, NMDC $Hello)
  kSplitC2s = 1 << 5,  // the last segment that way ended inside a command
  kSplitS2c = 1 << 6,
};

struct DcSlot {
  uint8_t flags;
};

std::string_view text_of(Bytes p) noexcept {
  return {reinterpret_cast<const char*>(p.data()), p.size()};
}

/// The first NMDC command: "$Name" + ' ' + argument, ended by '|'.
Bytes first_command(Bytes p) noexcept {
  const auto bar = std::find(p.begin(), p.end(), uint8_t{'|'});
  return bar == p.end() ? Bytes{} : p.first(static_cast<size_t>(bar - p.begin()));
}

bool is_nick(Bytes nick) noexcept {
  return !nick.empty() && nick.size() <= 64 && p2p::printable(nick) && !p2p::contains(nick, ' ') &&
         !p2p::contains(nick, '$');
}

bool is_lock(Bytes cmd) noexcept {
  // "$Lock <lock> Pk=<pk>"
  if (!p2p::starts_with(cmd, "$Lock ") || !p2p::printable(cmd)) {
    return false;
  }
  return text_of(cmd).find(" Pk=") != std::string_view::npos;
}

/// An ADC SUP line: type letter, "SUP", then " AD" feature tokens, ended by '\n'.
bool is_adc_sup(Bytes p, uint8_t type) noexcept {
  if (p.size() < 12 || p[0] != type || !p2p::starts_with(p.subspan(1), "SUP AD")) {
    return false;
  }
  const auto nl = std::find(p.begin(), p.end(), uint8_t{'\n'});
  return nl != p.end() && p2p::printable(p.first(static_cast<size_t>(nl - p.begin())));
}

/// An NMDC UDP search result: "$SR <nick> <path>\x05<size> <free>/<total>\x05<hub> (<ip:port>)|".
/// The 0x05 separators and the terminating '|' make it specific.
bool is_search_result(Bytes p) noexcept {
  if (!p2p::starts_with(p, "$SR ") || p.back() != '|') {
    return false;
  }
  return std::count(p.begin(), p.end(), uint8_t{0x05}) >= 1 &&
         std::find(p.begin(), p.end(), uint8_t{'/'}) != p.end();
}

/// An ADC UDP search result: "URES <CID> <params>\n", one datagram, the CID a 39-letter
/// base32 Tiger hash (ADC 1.0 "RES", "CID"), the parameters printable.
bool is_adc_udp_result(Bytes p) noexcept {
  constexpr size_t kCid = 39;
  if (!p2p::starts_with(p, "URES ") || p.size() < 5 + kCid + 2 || p.back() != '\n' ||
      p[5 + kCid] != ' ' || !p2p::printable(p.first(p.size() - 1))) {
    return false;
  }
  return std::all_of(p.begin() + 5, p.begin() + 5 + kCid,
                     [](uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'); });
}

std::string_view next_token(std::string_view& t) noexcept {
  const size_t end = std::min(t.find(' '), t.size());
  const std::string_view tok = t.substr(0, end);
  t.remove_prefix(std::min(end + 1, t.size()));
  return tok;
}

/// Leading decimal digits of `t` as a port from kMinPort up; `rest` is what follows.
bool parse_port(std::string_view t, uint16_t& port, std::string_view& rest) noexcept {
  uint32_t v = 0;
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  if (r.ec != std::errc{} || r.ptr == t.data() || v > 0xffff || v < DirectConnect::kMinPort) {
    return false;
  }
  port = static_cast<uint16_t>(v);
  rest = t.substr(static_cast<size_t>(r.ptr - t.data()));
  return true;
}

bool parse_ipv4(std::string_view t, packet::Address& out) noexcept {
  uint8_t b[4] = {};
  for (int i = 0; i < 4; ++i) {
    uint32_t v = 0;
    const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
    if (r.ec != std::errc{} || r.ptr == t.data() || v > 255 || r.ptr - t.data() > 3) {
      return false;
    }
    b[i] = static_cast<uint8_t>(v);
    t.remove_prefix(static_cast<size_t>(r.ptr - t.data()));
    if (i < 3) {
      if (t.empty() || t.front() != '.') {
        return false;
      }
      t.remove_prefix(1);
    }
  }
  if (!t.empty()) {
    return false;
  }
  out = packet::Address::v4(b);
  return true;
}

/// "DCTM <my sid> <target sid> ADCS/<version> <port> <token>": a TLS transfer request.
bool parse_adc_tls_ctm(std::string_view cmd, uint16_t& port) noexcept {
  if (!cmd.starts_with("DCTM ")) {
    return false;
  }
  cmd.remove_prefix(5);
  const std::string_view me = next_token(cmd);
  const std::string_view target = next_token(cmd);
  const std::string_view proto = next_token(cmd);
  const std::string_view port_text = next_token(cmd);
  std::string_view rest;
  return me.size() == 4 && target.size() == 4 && proto.starts_with("ADCS/") &&
         parse_port(port_text, port, rest) && rest.empty() && !next_token(cmd).empty();
}

/// "$ConnectToMe <nick> <ip>:<port><flags>" with TLS flagged: "S" (TLS), "NS"/"RS" (the
/// NAT-traversal request and reply, secure). IPv4 only.
bool parse_nmdc_tls_ctm(std::string_view cmd, packet::Address& addr, uint16_t& port) noexcept {
  if (!cmd.starts_with("$ConnectToMe ")) {
    return false;
  }
  cmd.remove_prefix(13);
  const std::string_view nick = next_token(cmd);
  const size_t colon = cmd.find(':');
  if (nick.empty() || colon == std::string_view::npos || cmd.find(' ') != std::string_view::npos ||
      !parse_ipv4(cmd.substr(0, colon), addr)) {
    return false;
  }
  std::string_view flags;
  if (!parse_port(cmd.substr(colon + 1), port, flags)) {
    return false;
  }
  return flags.starts_with("S") || flags.starts_with("NS") || flags.starts_with("RS");
}

bool verified(uint8_t flags) noexcept {
  constexpr uint8_t kAll = kClientSpoke | kHubSpoke | kLoggedIn;
  return (flags & kAll) == kAll;
}

/// One whole command of an established or establishing hub session.
void hub_command(std::string_view cmd, const packet::PacketView& pkt, const FlowContext& ctx,
                 DcSlot& s) noexcept {
  const bool c2s = ctx.direction == Direction::kClientToServer;
  uint16_t port = 0;
  if ((s.flags & kAdc) != 0) {
    if (c2s && cmd.starts_with("HSUP ")) {
      s.flags |= kClientSpoke;
    } else if (!c2s && cmd.starts_with("ISUP ")) {
      s.flags |= kHubSpoke;
    } else if (!c2s && cmd.starts_with("ISID ") && (s.flags & kClientSpoke) != 0 &&
               (s.flags & kHubSpoke) != 0) {
      s.flags |= kLoggedIn;
    } else if (c2s && verified(s.flags) && ctx.peers != nullptr && parse_adc_tls_ctm(cmd, port)) {
      // The client's own listener, at the client's address (a relayed DCTM names its
      // sender by SID only, so the connecting side cannot learn).
      ctx.peers->remember(pkt.src, pkt.src, port, AppId::kDirectConnect, pkt.ts, kTransferFeatures,
                          DirectConnect::kHintTtl);
    }
    return;
  }
  if (c2s && (cmd.starts_with("$Key ") || cmd.starts_with("$ValidateNick ") ||
              cmd.starts_with("$Supports "))) {
    s.flags |= kClientSpoke;
  } else if (!c2s && is_lock(Bytes(reinterpret_cast<const uint8_t*>(cmd.data()), cmd.size()))) {
    s.flags |= kHubSpoke;
  } else if (!c2s && cmd.starts_with("$Hello ") && (s.flags & kClientSpoke) != 0 &&
             (s.flags & kHubSpoke) != 0) {
    s.flags |= kLoggedIn;
  } else if (verified(s.flags) && ctx.peers != nullptr) {
    packet::Address addr;
    if (!parse_nmdc_tls_ctm(cmd, addr, port)) {
      return;
    }
    if (c2s) {
      ctx.peers->remember_announced(pkt.src, addr, port, AppId::kDirectConnect, pkt.ts,
                                    kTransferFeatures, DirectConnect::kHintTtl);
    } else {
      // Relayed to this client: its own connection to the requester's endpoint.
      ctx.peers->remember(pkt.dst, addr, port, AppId::kDirectConnect, pkt.ts, kTransferFeatures,
                          DirectConnect::kHintTtl);
    }
  }
}

/// Reads the whole commands of one hub-session segment. A segment that continues a
/// command split by the previous one starts with its tail, which is skipped.
void read_hub_segment(const packet::PacketView& pkt, const FlowContext& ctx, DcSlot& s) noexcept {
  const char end = (s.flags & kAdc) != 0 ? '\n' : '|';
  const uint8_t split = ctx.direction == Direction::kClientToServer ? kSplitC2s : kSplitS2c;
  std::string_view text = text_of(pkt.payload);
  bool skip = (s.flags & split) != 0;
  while (!text.empty()) {
    const size_t at = text.find(end);
    if (at == std::string_view::npos) {
      break;
    }
    if (!skip) {
      hub_command(text.substr(0, at), pkt, ctx, s);
    }
    skip = false;
    text.remove_prefix(at + 1);
  }
  s.flags = static_cast<uint8_t>(text.empty() ? s.flags & ~split : s.flags | split);
}

Result start_hub_session(const packet::PacketView& pkt, const FlowContext& ctx, DcSlot& s,
                         uint8_t flags) noexcept {
  s.flags = static_cast<uint8_t>(kHubSession | flags);
  read_hub_segment(pkt, ctx, s);
  return NeedMore{.hold = Hold::kClaim};
}

/// The flow's first payload is a TLS ClientHello without SNI, to an endpoint a hub session
/// of one of the flow's hosts announced for a TLS transfer.
Result tls_transfer(const packet::PacketView& pkt, const FlowContext& ctx) noexcept {
  const size_t record = tls_handshake_record_length(pkt.payload);
  if (ctx.peers == nullptr || record == 0 || pkt.payload.size() < 5) {
    return NotMine{};
  }
  const auto body = pkt.payload.subspan(5, std::min(record, pkt.payload.size() - 5));
  ClientHelloInfo hello;
  if (parse_client_hello(body, hello) != HelloParse::kOk || !hello.sni.empty()) {
    return NotMine{};
  }
  auto hit = ctx.peers->find(pkt.src, pkt.dst, pkt.dport, pkt.ts);
  if (!hit || hit->app != AppId::kDirectConnect) {
    hit = ctx.peers->find(pkt.dst, pkt.dst, pkt.dport, pkt.ts);
  }
  if (!hit || hit->app != AppId::kDirectConnect) {
    return NotMine{};
  }
  return Match{
      .app = AppId::kDirectConnect, .evidence = Evidence::kCrossFlow, .features = hit->features};
}

}  // namespace

Interest DirectConnect::interest() const noexcept {
  return Interest{.tcp = true, .udp = true, .needs_payload = true, .state_bytes = sizeof(DcSlot)};
}

Result DirectConnect::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                              FlowSlot slot) noexcept {
  auto& s = slot.as<DcSlot>();
  if ((s.flags & kHubSession) != 0) {
    read_hub_segment(pkt, ctx, s);
    return NeedMore{.hold = Hold::kClaim};
  }
  if (ctx.payload_packets[static_cast<size_t>(ctx.direction)] != 1) {
    return NotMine{};
  }
  const Bytes p = pkt.payload;
  if (pkt.l4 == packet::L4::kUdp) {
    return is_search_result(p) || is_adc_udp_result(p) ? Result{kHub} : Result{NotMine{}};
  }
  const bool c2s = ctx.direction == Direction::kClientToServer;
  if (c2s && ctx.payload_packets[1] == 0 && !p.empty() && p[0] == 0x16) {
    return tls_transfer(pkt, ctx);
  }
  if (!p.empty() && p[0] == '$') {
    const Bytes cmd = first_command(p);
    if (c2s && p2p::starts_with(cmd, "$MyNick ") && is_nick(cmd.subspan(8))) {
      return kPeer;
    }
    if (is_lock(cmd)) {
      // Hubs speak first; a client that does is a peer.
      return c2s ? Result{kPeer} : start_hub_session(pkt, ctx, s, 0);
    }
    return NotMine{};
  }
  if (is_adc_sup(p, 'C')) {
    return kPeer;
  }
  if ((c2s && is_adc_sup(p, 'H')) || (!c2s && is_adc_sup(p, 'I'))) {
    return start_hub_session(pkt, ctx, s, kAdc);
  }
  return NotMine{};
}

std::optional<Match> DirectConnect::give_up(const FlowContext& /*ctx*/, FlowSlot slot) noexcept {
  if ((slot.as<DcSlot>().flags & kHubSession) == 0) {
    return std::nullopt;
  }
  return kHub;
}

}  // namespace imguard::classifiers
