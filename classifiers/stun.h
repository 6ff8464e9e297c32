// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>

#include "classifiers/classifier.h"
#include "classifiers/signatures.h"

namespace imguard::classifiers {

/// IM calls over STUN/TURN (RFC 8489/8656): a valid STUN message whose attributes name
/// the application: Microsoft's MS-TURN/MS-ICE2 attributes (Teams/Skype), WhatsApp's relay
/// message types and Allocate attributes, or a SOFTWARE value listed as `stun-software` in
/// the signature data, each DPI evidence from the message itself; or, as a cross_flow
/// hint, plain STUN/TURN to an app's call relay that the same client reached over TLS
/// (`call_relay` hosts, tls_sni.cc). Nothing here rests on a port or an address list. Plain STUN
/// and TURN (any WebRTC ICE check, a generic TURN client) carry none of these and are left to nDPI,
/// which calls them `stun`.
class Stun final : public Classifier {
 public:
  explicit Stun(std::shared_ptr<const Signatures> sigs) noexcept : sigs_(std::move(sigs)) {}
  std::string_view name() const noexcept override { return "stun"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;

 private:
  std::shared_ptr<const Signatures> sigs_;
};

}  // namespace imguard::classifiers
