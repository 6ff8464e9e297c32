// SPDX-License-Identifier: GPL-3.0-or-later
// IRC by its lines (RFC 2812 2.3.1: [":" prefix SPACE] command params CRLF). The client
// registers with PASS/NICK/USER or opens IRCv3 capability negotiation with "CAP LS"; the
// server answers with prefixed lines (NOTICE, numerics such as 001, CAP, PING). A flow is
// IRC once two well-formed registration lines, or one plus a well-formed server line, are
// seen; an HTTP request that merely contains "NICK" fails on its first line.
// DCC: a PRIVMSG carrying the CTCP "\x01DCC SEND file ip port size\x01" or
// "\x01DCC CHAT chat ip port\x01" (CTCP/DCC de-facto spec) records (ip, port) so the data
// connection is named irc + `file_transfer` (SEND) or irc + `cleartext` (CHAT),
// but only once the server welcomed the client (numeric 001, RFC 2812 5.1), for ports from
// kMinDccPort up, and scoped to the session's two parties: an offer the client receives
// speaks for the client's own connections to the offered endpoint; an offer the client
// makes must name the client's own address (or, from a private address, its NAT'd public
// one; then the port forward arrives at the client's own address, which is recorded).
// A SEND's data connection must open with the sender's bytes (the receiver only
// acknowledges); a CHAT's with a line of text (printable, newline-terminated) from either
// end, so a TLS, SSH or BitTorrent client on the offered port is not taken for a chat.
// Evidence: pcaps/irc/ (ngircd + scripted clients); negatives: pcaps/irc/http-nick-lookalike,
// pcaps/regression/dcc-*.pcap (forged and third-party offers).
// False positives: a service the offering party runs on its offered port within 5 minutes,
// speaking first with nothing a payload classifier recognises.
#include "classifiers/irc.h"

#include <algorithm>
#include <charconv>
#include <string>

#include "classifiers/im_text.h"
#include "classifiers/peer_cache.h"

namespace imguard::classifiers {
namespace {

constexpr uint8_t kRegistrationLines = 2;
constexpr uint32_t kWaitPackets = 3;  // client packets allowed before registration shows
constexpr size_t kMaxLine = 512;      // RFC 2812 2.3
// DCC listeners are ephemeral or configured high ports (mIRC 1024-5000, weechat/irssi
// ephemeral by default); an offer below this would point at a system service.
constexpr uint16_t kMinDccPort = 1024;

enum Flag : uint8_t {
  kIsIrc = 1 << 0,
  kDccSeen = 1 << 1,
  kWelcomed = 1 << 2,  // the server sent 001 (RPL_WELCOME): registration succeeded
};

struct IrcSlot {
  uint8_t flags;
  uint8_t client_lines;  // well-formed registration lines from the client
  uint8_t server_lines;  // well-formed prefixed lines from the server
};

bool is_upper(char c) noexcept {
  return c >= 'A' && c <= 'Z';
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// The command of one line if it is well formed, else empty. `prefixed` says whether the
/// line started with ":prefix ".
std::string_view command_of(std::string_view line, bool& prefixed) noexcept {
  prefixed = false;
  if (line.size() > kMaxLine || line.empty()) {
    return {};
  }
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\x01' && c != '\x02' && c != '\x03' &&
        c != '\x0f' && c != '\x16' && c != '\x1d' && c != '\x1f' && c != '\t') {
      return {};  // control characters outside IRC's formatting codes
    }
  }
  if (line.front() == ':') {
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || sp == 1) {
      return {};
    }
    line.remove_prefix(sp + 1);
    prefixed = true;
  }
  const size_t end = std::min(line.find(' '), line.size());
  const std::string_view cmd = line.substr(0, end);
  if (cmd.size() == 3 && is_digit(cmd[0]) && is_digit(cmd[1]) && is_digit(cmd[2])) {
    return cmd;
  }
  if (cmd.empty() || cmd.size() > 16) {
    return {};
  }
  for (char c : cmd) {
    if (!is_upper(c)) {
      return {};
    }
  }
  return cmd;
}

bool is_registration(std::string_view cmd, std::string_view line) noexcept {
  if (cmd == "NICK" || cmd == "PASS") {
    return line.size() > cmd.size() + 1;
  }
  if (cmd == "USER") {
    // USER <user> <mode> <unused> :<realname>
    return contains(line, " :") || std::count(line.begin(), line.end(), ' ') >= 4;
  }
  return cmd == "CAP" && (line.starts_with("CAP LS") || line.starts_with("CAP REQ"));
}

bool is_server_reply(std::string_view cmd, bool prefixed) noexcept {
  if (cmd == "PING" || cmd == "ERROR") {
    return true;  // servers may send these unprefixed
  }
  return prefixed && (cmd.size() == 3 ? is_digit(cmd[0])
                                      : (cmd == "NOTICE" || cmd == "CAP" || cmd == "MODE" ||
                                         cmd == "PRIVMSG" || cmd == "JOIN"));
}

bool parse_u32(std::string_view t, uint32_t& v) noexcept {
  if (t.empty() || t.size() > 10) {
    return false;
  }
  const auto r = std::from_chars(t.data(), t.data() + t.size(), v);
  return r.ec == std::errc{} && r.ptr == t.data() + t.size();
}

/// Records a DCC SEND (`file_transfer`) or CHAT (`cleartext`) offer seen on a welcomed IRC
/// session for the parties it can speak for.
void learn_offer(const packet::PacketView& pkt, const FlowContext& ctx,
                 const packet::Address& offered, uint16_t port, uint8_t features) noexcept {
  if (ctx.peers == nullptr || port < kMinDccPort) {
    return;  // port 0: passive DCC (the peer listens); low ports: system services
  }
  if (ctx.direction == Direction::kServerToClient) {
    // Offered to this client: only its own connections to the offered endpoint.
    ctx.peers->remember(pkt.dst, offered, port, AppId::kIrc, pkt.ts, features);
    return;
  }
  // Offered by this client: its own listener, where the receiver will connect.
  ctx.peers->remember_announced(pkt.src, offered, port, AppId::kIrc, pkt.ts, features);
}

/// A DCC CHAT line: printable text (tabs and UTF-8 allowed) ending in a newline.
bool is_chat_line(std::string_view t) noexcept {
  if (t.empty() || t.size() > kMaxLine || t.back() != '\n') {
    return false;
  }
  return std::all_of(t.begin(), t.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u >= 0x20 || c == '\t' || c == '\r' || c == '\n' || c == '\x01';
  });
}

std::string_view next_token(std::string_view& t) noexcept {
  while (!t.empty() && t.front() == ' ') {
    t.remove_prefix(1);
  }
  const size_t end = std::min(t.find(' '), t.size());
  const std::string_view tok = t.substr(0, end);
  t.remove_prefix(end);
  return tok;
}

}  // namespace

bool parse_dcc_send(std::string_view ctcp, packet::Address& addr, uint16_t& port) noexcept {
  if (!ctcp.starts_with("DCC SEND ")) {
    return false;
  }
  std::string_view t = ctcp.substr(9);
  while (!t.empty() && t.front() == ' ') {
    t.remove_prefix(1);
  }
  if (!t.empty() && t.front() == '"') {
    const size_t close = t.find('"', 1);
    if (close == std::string_view::npos) {
      return false;
    }
    t.remove_prefix(close + 1);
  } else if (next_token(t).empty()) {
    return false;
  }
  return parse_dcc_endpoint(t, addr, port);
}

bool parse_dcc_chat(std::string_view ctcp, packet::Address& addr, uint16_t& port) noexcept {
  if (!ctcp.starts_with("DCC CHAT ")) {
    return false;
  }
  std::string_view t = ctcp.substr(9);
  // The protocol: "chat" (mIRC, irssi, weechat); anything else (whiteboard) is not text.
  if (next_token(t) != "chat") {
    return false;
  }
  return parse_dcc_endpoint(t, addr, port);
}

bool parse_dcc_endpoint(std::string_view t, packet::Address& addr, uint16_t& port) noexcept {
  const std::string_view ip = next_token(t);
  const std::string_view port_text = next_token(t);
  uint32_t ip_num = 0;
  uint32_t port_num = 0;
  if (!parse_u32(port_text, port_num) || port_num > 0xffff) {
    return false;
  }
  if (parse_u32(ip, ip_num)) {
    const uint8_t b[4] = {static_cast<uint8_t>(ip_num >> 24), static_cast<uint8_t>(ip_num >> 16),
                          static_cast<uint8_t>(ip_num >> 8), static_cast<uint8_t>(ip_num)};
    addr = packet::Address::v4(b);
  } else if (ip.find(':') != std::string_view::npos && ip.size() < 46) {
    char buf[48] = {};
    ip.copy(buf, ip.size());
    addr = packet::Address::parse(buf);
    if (addr.family == packet::Address::Family::kNone) {
      return false;
    }
  } else {
    return false;
  }
  port = static_cast<uint16_t>(port_num);
  return true;
}

Interest Irc::interest() const noexcept {
  return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = sizeof(IrcSlot)};
}

Result Irc::inspect(const packet::PacketView& pkt, const FlowContext& ctx, FlowSlot slot) noexcept {
  auto& s = slot.as<IrcSlot>();
  const bool client = ctx.direction == Direction::kClientToServer;
  std::string_view text = as_text(pkt.payload);
  if ((s.flags & kIsIrc) == 0 && !text.empty() && text.front() != ':' && !is_upper(text.front())) {
    return NotMine{};  // lines start with a prefix or a command
  }
  bool first_line = true;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      break;  // a partial line continues in the next segment
    }
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.empty()) {
      continue;
    }
    bool prefixed = false;
    const std::string_view cmd = command_of(line, prefixed);
    if (cmd.empty()) {
      if ((s.flags & kIsIrc) == 0 && first_line) {
        return NotMine{};  // before registration every line must be IRC
      }
      continue;
    }
    const uint32_t sent = ctx.payload_packets[static_cast<size_t>(ctx.direction)];
    if (first_line && sent == 1 && (s.flags & kIsIrc) == 0 &&
        !(client ? !prefixed && is_registration(cmd, line) : is_server_reply(cmd, prefixed))) {
      return NotMine{};  // e.g. an HTTP request line, even if "NICK" follows
    }
    first_line = false;
    if (client && !prefixed && is_registration(cmd, line)) {
      ++s.client_lines;
    } else if (!client && is_server_reply(cmd, prefixed)) {
      ++s.server_lines;
      if (prefixed && cmd == "001") {
        s.flags |= kWelcomed;
      }
    }
    const size_t ctcp = line.find(
        "\x01"
        "DCC ");
    if (cmd == "PRIVMSG" && ctcp != std::string_view::npos) {
      std::string_view body = line.substr(ctcp + 1);
      body = body.substr(0, body.find('\x01'));
      packet::Address addr;
      uint16_t port = 0;
      const bool send = parse_dcc_send(body, addr, port);
      if (send || parse_dcc_chat(body, addr, port)) {
        s.flags |= kDccSeen;
        // Before the welcome this may be any TCP payload that looks like IRC lines.
        if ((s.flags & kWelcomed) != 0) {
          learn_offer(pkt, ctx, addr, port, send ? kFeatureFileTransfer : kFeatureCleartext);
        }
      }
    }
  }
  if ((s.flags & kIsIrc) == 0) {
    if (s.client_lines >= kRegistrationLines || (s.client_lines >= 1 && s.server_lines >= 1)) {
      s.flags |= kIsIrc;
    } else if (ctx.payload_packets[0] > kWaitPackets || ctx.payload_packets[1] > kWaitPackets) {
      return NotMine{};
    } else {
      return NeedMore{};
    }
  }
  return NeedMore{.hold = Hold::kClaim};
}

std::optional<Match> Irc::give_up(const FlowContext& /*ctx*/, FlowSlot slot) noexcept {
  const auto& s = slot.as<IrcSlot>();
  if ((s.flags & kIsIrc) == 0) {
    return std::nullopt;
  }
  // The file itself travels on the DCC data connection (IrcDcc marks that one), so a
  // policy of "chat yes, files no" can drop the transfer and keep the chat.
  return Match{.app = AppId::kIrc, .evidence = Evidence::kDpi, .features = kFeatureCleartext};
}

Result IrcDcc::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                       FlowSlot /*slot*/) noexcept {
  // Decided on the flow's first payload, never on the SYN. A DCC SEND's sender (the
  // responder) streams the file first, the receiver only acknowledges; a DCC CHAT opens
  // with a line of text from either end. A client that speaks first with anything else (a
  // TLS ClientHello, a BitTorrent handshake) is neither.
  if (ctx.peers == nullptr || ctx.payload_packets[0] + ctx.payload_packets[1] != 1) {
    return NotMine{};
  }
  const bool c2s = ctx.direction == Direction::kClientToServer;
  const packet::Address& client = c2s ? pkt.src : pkt.dst;
  const packet::Address& server = c2s ? pkt.dst : pkt.src;
  const uint16_t port = c2s ? pkt.dport : pkt.sport;
  auto hit = ctx.peers->find(client, server, port, pkt.ts);
  if (!hit || hit->app != AppId::kIrc) {
    hit = ctx.peers->find(server, server, port, pkt.ts);
  }
  if (!hit || hit->app != AppId::kIrc) {
    return NotMine{};
  }
  if ((hit->features & kFeatureCleartext) != 0) {
    return is_chat_line(as_text(pkt.payload)) ? Result{Match{.app = AppId::kIrc,
                                                             .evidence = Evidence::kCrossFlow,
                                                             .features = kFeatureCleartext}}
                                              : Result{NotMine{}};
  }
  if (c2s) {
    return NotMine{};
  }
  return Match{
      .app = AppId::kIrc, .evidence = Evidence::kCrossFlow, .features = kFeatureFileTransfer};
}

}  // namespace imguard::classifiers
