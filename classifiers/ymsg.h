// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// YMSG (Yahoo! Messenger) on any port by its 20-byte packet header. Stateless; decides
/// on the first payload of the flow.
class Ymsg final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "ymsg"; }
  Interest interest() const noexcept override {
    return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = 0};
  }
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
