// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// MSNP (MSN/Windows Live Messenger) on any port by its opening version negotiation
/// line. Stateless; decides on the client's first payload.
class Msnp final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "msnp"; }
  Interest interest() const noexcept override {
    return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = 0};
  }
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
