// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Soulseek on any port. Messages are little-endian length-prefixed; strings are a
/// 32-bit length plus bytes.
/// - Server login (code 1): user name, password, version, 32-hex-digit MD5 of user name
///   and password, minor version; the length field must match.
/// - Peer init (one-byte code 1): user name, connection type "P" (peer), "F" (file) or
///   "D" (distributed), token.
///
/// Features: `file_transfer` always; `serving` on peer connections (the responder is a
/// Soulseek client accepting inbound peers), not on the server login.
class Soulseek final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "soulseek"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
