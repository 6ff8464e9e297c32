// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>

#include "classifiers/classifier.h"
#include "classifiers/signatures.h"

namespace imguard::classifiers {

/// Flows to or from an IM service's own published server prefixes (`cidr` lines of the
/// signature data), decided on the flow's first packet with address_list evidence. Only
/// prefixes a service owns outright belong in the data; shared clouds do not.
class ImAddress final : public Classifier {
 public:
  explicit ImAddress(std::shared_ptr<const Signatures> sigs) noexcept : sigs_(std::move(sigs)) {}
  std::string_view name() const noexcept override { return "im_address"; }
  Interest interest() const noexcept override {
    return Interest{.tcp = true, .udp = true, .needs_payload = false, .state_bytes = 0};
  }
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;

 private:
  std::shared_ptr<const Signatures> sigs_;
};

}  // namespace imguard::classifiers
