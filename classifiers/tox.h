// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Tox (toxcore) over UDP on any port, by its DHT packets: a kind byte, the sender's
/// 32-byte DHT public key, a 24-byte nonce and a crypto_box payload whose size is fixed
/// per kind. Decides within the first few datagrams of a flow; a flow level check (both
/// directions, one repeated key per direction, sizes that fit the kinds) keeps random UDP
/// out. Per-flow state: the ToxSlot in tox.cc.
class Tox final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "tox"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
