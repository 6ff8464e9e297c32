// SPDX-License-Identifier: GPL-3.0-or-later
// Direct Connect. Signatures: NMDC "$Lock ... Pk=...|", "$MyNick <nick>|", and ADC
// "[HIC]SUP AD..." lines (ADC 1.0 protocol document, SUP with BASE support); UDP "$SR"
// search results with 0x05 field separators.
// Evidence: pcaps/directconnect/nmdc-adc.pcap (synthetic; no DC client in Debian 12 main).
// False positives: none known; each rule needs the command terminator in the segment.
#include "classifiers/directconnect.h"

#include <algorithm>

#include "classifiers/p2p_text.h"

namespace imguard::classifiers {
namespace {

using p2p::Bytes;

constexpr Match kHub{
    .app = AppId::kDirectConnect, .evidence = Evidence::kDpi, .features = kFeatureFileTransfer};
constexpr Match kPeer{.app = AppId::kDirectConnect,
                      .evidence = Evidence::kDpi,
                      .features = kFeatureFileTransfer | kFeaturePeer};

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
  const std::string_view pk = " Pk=";
  return std::search(cmd.begin(), cmd.end(), pk.begin(), pk.end(),
                     [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); }) != cmd.end();
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

}  // namespace

Interest DirectConnect::interest() const noexcept {
  return Interest{.tcp = true, .udp = true, .needs_payload = true, .state_bytes = 0};
}

Result DirectConnect::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                              FlowSlot /*slot*/) noexcept {
  if (ctx.payload_packets[static_cast<size_t>(ctx.direction)] != 1) {
    return NotMine{};
  }
  const Bytes p = pkt.payload;
  if (pkt.l4 == packet::L4::kUdp) {
    return is_search_result(p) ? Result{kHub} : Result{NotMine{}};
  }
  const bool c2s = ctx.direction == Direction::kClientToServer;
  if (!p.empty() && p[0] == '$') {
    const Bytes cmd = first_command(p);
    if (c2s && p2p::starts_with(cmd, "$MyNick ") && is_nick(cmd.subspan(8))) {
      return kPeer;
    }
    if (is_lock(cmd)) {
      return c2s ? kPeer : kHub;  // hubs speak first; a client that does is a peer
    }
    return NotMine{};
  }
  if (is_adc_sup(p, 'C')) {
    return kPeer;
  }
  if ((c2s && is_adc_sup(p, 'H')) || (!c2s && is_adc_sup(p, 'I'))) {
    return kHub;
  }
  return NotMine{};
}

}  // namespace imguard::classifiers
