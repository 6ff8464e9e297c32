// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>

#include "classifiers/classifier.h"
#include "classifiers/signatures.h"

namespace imguard::classifiers {

/// IM calls over STUN/TURN (RFC 8489/8656): a valid STUN message whose attributes name
/// the application: Microsoft's MS-TURN/MS-ICE2 attributes (Teams/Skype) or a SOFTWARE
/// value listed as `stun-software` in the signature data. Plain STUN is left to nDPI.
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
