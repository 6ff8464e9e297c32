// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>

#include "classifiers/classifier.h"
#include "classifiers/signatures.h"
#include "classifiers/tls_client_hello.h"

namespace imguard::classifiers {

/// IM over TLS on any port: the ClientHello's server name and ALPN ids, looked up in the
/// signature data. Reassembles a ClientHello split over several TCP segments (up to one
/// TLS record) in a heap buffer owned by the flow slot and freed on decision or release().
class TlsSni final : public Classifier {
 public:
  explicit TlsSni(std::shared_ptr<const Signatures> sigs) noexcept : sigs_(std::move(sigs)) {}
  std::string_view name() const noexcept override { return "tls_sni"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  void release(FlowSlot slot) noexcept override;

 private:
  std::shared_ptr<const Signatures> sigs_;
};

/// The IM app a parsed ClientHello names: its SNI first, then each offered ALPN id; with
/// the feature bits of a host that carries the app's attachments (`file_transfer` hosts).
std::optional<Signatures::HostMatch> im_app_for_hello(const ClientHelloInfo& hello,
                                                      const Signatures& sigs) noexcept;

/// The features of a handshake that names `app`: a P2P app's own protocol (Syncthing's
/// ALPN "bep/1.0") is a connection between two peers exchanging files.
uint8_t hello_features(AppId app) noexcept;

}  // namespace imguard::classifiers
