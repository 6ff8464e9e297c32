// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Gnutella on any port.
/// - TCP: the connection handshake ("GNUTELLA CONNECT/0.6" from the initiator, "GNUTELLA/0.6
///   <code>" back; 0.4's "GNUTELLA CONNECT/0.4" / "GNUTELLA OK"), a push answer ("GIV
///   <index>:<32 hex servent id>/"), and HTTP file requests by content URN
///   ("GET /uri-res/N2R?urn:") or HTTP requests/answers with X-Gnutella-* headers.
/// - UDP: a Gnutella message (16-byte GUID, payload type, TTL, hops, little-endian payload
///   length equal to the rest of the datagram) or a GND fragment header (UDP "semi-reliable"
///   layer: "GND", flags, sequence, part number <= part count).
///
/// Features: `file_transfer` always; `serving` when the responder accepts a servent
/// connection, a push or a file request (it is a Gnutella node serving peers).
class Gnutella final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "gnutella"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
