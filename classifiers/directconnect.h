// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Direct Connect on any port, first payload of either side.
/// - NMDC: pipe-terminated "$" commands: a hub opens with "$Lock <lock> Pk=<x>|" (the
///   EXTENDEDPROTOCOL lock of modern hubs included), a connecting client with
///   "$MyNick <nick>|" (client to client) or "$ValidateNick"/"$Key"/"$Supports" answers.
/// - ADC: newline-terminated four-letter messages, "HSUP ADBASE" (client to hub), "ISUP
///   ADBASE" (hub), "CSUP ADBASE" (client to client).
/// - UDP: NMDC search results ("$SR ...|" with 0x05 field separators), sent by peers to a
///   searcher (signalling: not `serving`).
///
/// Features: `file_transfer` always; `serving` on client-to-client connections ($MyNick
/// first, CSUP): the responder is a peer accepting inbound transfers. Hub sessions are not.
class DirectConnect final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "directconnect"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
