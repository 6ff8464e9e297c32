// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

struct evp_cipher_ctx_st;

namespace imguard::classifiers {

/// Telegram's MTProto over TCP on any port: the obfuscated transport (the 64-byte
/// random-looking header decrypts, with the key and IV it carries, to a transport tag),
/// and the plain abridged / intermediate / padded-intermediate / full transports opening
/// with an unencrypted first message. Owns one OpenSSL cipher context (per worker);
/// stateless per flow; decides on the client's first payload.
class Mtproto final : public Classifier {
 public:
  Mtproto() noexcept;
  ~Mtproto() override;
  Mtproto(const Mtproto&) = delete;
  Mtproto& operator=(const Mtproto&) = delete;

  std::string_view name() const noexcept override { return "mtproto"; }
  Interest interest() const noexcept override {
    return Interest{.tcp = true, .udp = false, .needs_payload = true, .state_bytes = 0};
  }
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;

  /// True if the first 64 bytes of `p` are a valid obfuscated2 transport header.
  bool is_obfuscated_header(std::span<const uint8_t> p) noexcept;

 private:
  evp_cipher_ctx_st* cipher_;
};

}  // namespace imguard::classifiers
