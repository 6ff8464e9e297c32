// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// IRC (RFC 1459/2812, IRCv3 CAP) on any port by its registration and server lines;
/// `cleartext` always. Each CTCP DCC SEND or CHAT offer on a session the server welcomed
/// (001) is remembered in the worker's PeerCache (FlowContext::peers), scoped to the
/// session's parties (see irc.cc), port >= 1024, for the cache TTL (5 minutes), so that
/// IrcDcc can name the later data connection: a SEND's gets `file_transfer`, a CHAT's
/// `cleartext`; the chat connection does not get `file_transfer`, so a policy can drop
/// files and keep the chat. Claims the flow after registration and decides in
/// give_up(), so offers within the packet budget are seen.
class Irc final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "irc"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  std::optional<Match> give_up(const FlowContext& ctx, FlowSlot slot) noexcept override;
};

/// The data connection of a DCC SEND or CHAT offered earlier on an IRC flow of the same
/// worker: a TCP connection to the offered (address, port) from a host the offer speaks
/// for, whose first payload comes from the responder (SEND: the sender streams the file;
/// `file_transfer`) or is a line of text from either end (CHAT; `cleartext`). Answers on that
/// payload with cross_flow evidence, a hint the chain holds while payload classifiers have
/// their say (a dpi match wins). Must run before any classifier that reads the same PeerCache.
class IrcDcc final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "irc_dcc"; }
  Interest interest() const noexcept override {
    return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = 0};
  }
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

/// Parses the CTCP body of a DCC SEND ("DCC SEND <file> <ip> <port> [<size>]"; the file
/// name may be quoted; ip is a decimal IPv4 number or IPv6 text). False if malformed.
bool parse_dcc_send(std::string_view ctcp, packet::Address& addr, uint16_t& port) noexcept;
/// The same for a DCC CHAT offer ("DCC CHAT chat <ip> <port>").
bool parse_dcc_chat(std::string_view ctcp, packet::Address& addr, uint16_t& port) noexcept;
/// The "<ip> <port>" of a DCC offer, as for parse_dcc_send().
bool parse_dcc_endpoint(std::string_view t, packet::Address& addr, uint16_t& port) noexcept;

}  // namespace imguard::classifiers
