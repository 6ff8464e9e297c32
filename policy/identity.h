// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <optional>

#include "packet/address.h"
#include "policy/config.h"

namespace imguard::policy {

/// What is known about a connection's two ends when it is decided.
struct Endpoints {
  packet::Address initiator;
  packet::Address responder;
  /// Source MAC of frames each side sent, when the capture or the queue saw it (hosts on
  /// the gateway's own LAN segment; a routed host shows its router's MAC instead).
  std::optional<MacAddress> initiator_mac;
  std::optional<MacAddress> responder_mac;
  /// Host mode: the owner of the local socket (NFQA_UID).
  std::optional<uint32_t> uid;
  /// Host mode: whether this host accepted the connection, when the hook told us.
  std::optional<bool> host_is_responder;
};

/// Who a connection belongs to.
struct Identity {
  uint16_t user = kNoUser;  // index into Policy::users
  GroupSet groups;          // the user's groups plus groups whose addresses hold its host
  bool user_is_responder = false;
  /// Found by MAC or UID: a later re-decision cannot re-derive it from addresses.
  bool sticky = false;
};

/// Resolves the user of a connection, the same way live and offline.
///
/// Gateway: the user's end is the one inside `networks.local` or matching a user; when
/// both are, the initiator; when neither, the initiator. A MAC that belongs to a user wins
/// over addresses (initiator first); otherwise the most specific address or network of
/// any user holding that end's address. Host mode: the socket's UID when it belongs to a
/// user; otherwise as in gateway mode. noexcept and allocation-free: hot-path safe.
Identity resolve_identity(const Policy& policy, HookMode mode, const Endpoints& ends) noexcept;

/// The identity of a user already known (by a recorded stable id): its groups, plus the
/// groups whose addresses hold `user_address`.
Identity identity_for_user(const Policy& policy, uint16_t user, bool user_is_responder,
                           const packet::Address& user_address) noexcept;

/// Whether `a` counts as local: inside networks.local or inside some user's addresses.
bool is_local(const Policy& policy, const packet::Address& a) noexcept;

/// The user holding `a` (most specific block), kNoUser if none.
uint16_t user_by_address(const Policy& policy, const packet::Address& a) noexcept;

/// The user with User::stable_id `id`, kNoUser if none (0 is never an id).
uint16_t user_by_stable_id(const Policy& policy, uint32_t id) noexcept;

/// `a` with every bit past `prefix_len` cleared.
packet::Address mask_address(const packet::Address& a, uint8_t prefix_len) noexcept;

/// MAC as the 48-bit integer IdentityIndex::by_mac uses.
uint64_t mac_key(const MacAddress& m) noexcept;

}  // namespace imguard::policy
