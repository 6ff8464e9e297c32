// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Telegram voice and video calls relayed by Telegram's UDP reflectors (libtgvoip and the
/// tgcalls library of today's clients). Every datagram between a client and a reflector
/// opens with the call's 16-byte peer tag; the reflector's own signalling follows the tag
/// with twelve 0xFF bytes and a 4-byte code. DPI evidence from the payload alone: no port,
/// no address. Stateless per flow (the packet index says whether a request came first).
class TelegramCall final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "telegram_call"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
