// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Discord voice on any UDP port by its IP-discovery exchange, the first datagrams of a
/// voice connection: the server's first datagram is the response carrying the client's
/// address in text (after the client's request, or alone in a capture that starts late).
/// Stateless; decides on the server's first payload; a request alone is never enough.
class DiscordVoice final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "discord_voice"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
