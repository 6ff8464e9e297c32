// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// TLS seen mid-stream: a TCP flow whose first packet is not a SYN (a capture that starts
/// inside a session, or connections that were open before the engine started) and whose
/// segments in both directions begin with TLS record headers. Such a flow is `tls` by its
/// framing, which outranks a guess from the server address. Flows that start with a
/// handshake are left to the ClientHello readers (tls_sni, nDPI).
class TlsRecords final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "tls_records"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
