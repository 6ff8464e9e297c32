// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Discord voice on any UDP port by its IP-discovery exchange, the first datagrams of a
/// voice connection. Stateless; decides on the first payload of each side.
class DiscordVoice final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "discord_voice"; }
  Interest interest() const noexcept override {
    return Interest{.tcp = false, .udp = true, .needs_payload = true, .state_bytes = 0};
  }
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
