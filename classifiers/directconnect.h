// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <cstdint>

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Direct Connect on any port.
/// - NMDC: pipe-terminated "$" commands: a hub opens with "$Lock <lock> Pk=<x>|" (the
///   EXTENDEDPROTOCOL lock of modern hubs included), a connecting client with
///   "$MyNick <nick>|" (client to client) or "$ValidateNick"/"$Key"/"$Supports" answers.
/// - ADC: newline-terminated four-letter messages, "HSUP ADBASE" (client to hub), "ISUP
///   ADBASE" (hub), "CSUP ADBASE" (client to client).
/// - UDP search results: NMDC "$SR ...|" with 0x05 field separators, ADC "URES <CID> ...",
///   sent by peers to a searcher (signalling: not `serving`).
/// - Transfers over TLS (ADCS, NMDC with TLS), by a cross-flow hint from a cleartext hub
///   session of the same client; see "Transfers over TLS" below.
///
/// Features: `file_transfer` always; `peer` on client-to-client connections ($MyNick
/// first, CSUP, a hinted TLS transfer). Hub sessions are not.
///
/// Transfers over TLS. The handshake gives nothing away: a DC client connects to an IP
/// literal, so there is no SNI; no ALPN is offered; the certificate is self-signed,
/// checked by its keyprint from the hub (ADC KP), and under TLS 1.3 not even visible; the
/// ClientHello is the TLS library's default (GnuTLS for ncdc, OpenSSL for DC++ and its
/// forks), the same as any other program built on it. What tells is the hub session: a
/// client asks a peer to connect to it with "DCTM <sid> <sid> ADCS/0.10 <port> <token>"
/// (ADC) or "$ConnectToMe <nick> <ip>:<port>S|" (NMDC, S for TLS). A cleartext hub session
/// that carries such a request records the endpoint in the PeerCache, and the next TCP
/// connection to it whose first payload is a TLS ClientHello without SNI is
/// directconnect, evidence `cross_flow`, features `file_transfer` and `peer`. Against a
/// forged request:
/// - only an established hub session speaks: both sides spoke the protocol (HSUP and
///   ISUP; $Lock and the client's $Key/$ValidateNick/$Supports) and the hub accepted the
///   client (ADC ISID, NMDC $Hello); a lone packet of DC text teaches nothing;
/// - the exact endpoint, scoped to the session's client (PeerCache learner): a request the
///   client sends names its own listener (ADC: the client's own address; NMDC: the address
///   must be the client's or, from behind a NAT, a public one); a request the hub relays
///   to the client (NMDC) speaks only for the client's own connections to that endpoint;
/// - ports from kMinPort up (a request for 443 of some server is ignored);
/// - kHintTtl (60 s): clients connect within seconds of the request;
/// - only a TLS ClientHello without SNI, whole in the flow's first payload, takes the hint:
///   a browser naming a server, or anything cleartext, is left to the other classifiers;
/// - commands are read whole: a segment's leading fragment after a split command is
///   skipped, never read as a command.
/// Not covered: an ADC hub that relays a peer's DCTM names the peer by SID only (its
/// address was in a BINF that may be thousands of lines earlier), so only the listening
/// side's session teaches; requests later than the hub session's packet budget (the
/// session is decided then); TLS hub sessions (adcs://, NMDC over TLS): their hub is not
/// known to imguard, nothing real distinguishes them from other TLS, and they stay `tls`,
/// as do the transfers they arrange.
class DirectConnect final : public Classifier {
 public:
  static constexpr uint16_t kMinPort = 1024;
  static constexpr std::chrono::seconds kHintTtl{60};

  std::string_view name() const noexcept override { return "directconnect"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  std::optional<Match> give_up(const FlowContext& ctx, FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
