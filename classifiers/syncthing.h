// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Syncthing local discovery (UDP, port 21027 by default, any port accepted): the magic
/// 0x2EA7D90B, then one protocol-buffers Announce message filling the datagram exactly: the
/// 32-byte device id (field 1), addresses "scheme://host:port" (field 2), an instance id
/// (field 3). Syncthing's peer connections themselves are TLS or QUIC with ALPN "bep/1.0"
/// (tls_sni / quic_sni, signatures.conf).
class SyncthingDiscovery final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "syncthing_discovery"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
