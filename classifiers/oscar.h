// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// OSCAR (AIM/ICQ) on any port by FLAP framing, and OFT (OSCAR File Transfer) direct
/// connections by their "OFT2" header. Stateless; decides on each side's first payload.
class Oscar final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "oscar"; }
  Interest interest() const noexcept override {
    return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = 0};
  }
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
