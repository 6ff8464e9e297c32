// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// BitTorrent on any port: the peer-wire handshake (BEP 3) on TCP.
class Bittorrent final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "bittorrent"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
