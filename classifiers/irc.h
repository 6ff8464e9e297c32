// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// IRC (RFC 1459/2812, IRCv3 CAP) on any port by its registration and server lines;
/// `cleartext` always. Each active CTCP DCC SEND offer's endpoint is remembered in the
/// worker's PeerCache (FlowContext::peers) so that IrcDcc can name the later data
/// connection, which gets `file_transfer`; the chat connection does not, so a policy can
/// drop files and keep the chat. Claims the flow after registration and decides in
/// give_up(), so offers within the packet budget are seen.
class Irc final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "irc"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  std::optional<Match> give_up(const FlowContext& ctx, FlowSlot slot) noexcept override;
};

/// The data connection of a DCC SEND offered earlier on an IRC flow of the same worker:
/// a TCP connection to the offered (address, port), decided on its first packet with
/// cross_flow evidence. Must run before any classifier that reads the same PeerCache.
class IrcDcc final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "irc_dcc"; }
  Interest interest() const noexcept override {
    return Interest{.tcp = true, .udp = false, .needs_payload = false, .state_bytes = 0};
  }
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

/// Parses the CTCP body of a DCC SEND ("DCC SEND <file> <ip> <port> [<size>]"; the file
/// name may be quoted; ip is a decimal IPv4 number or IPv6 text). False if malformed.
bool parse_dcc_send(std::string_view ctcp, packet::Address& addr, uint16_t& port) noexcept;

}  // namespace imguard::classifiers
