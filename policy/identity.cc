// SPDX-License-Identifier: GPL-3.0-or-later
#include "policy/identity.h"

namespace imguard::policy {

namespace {

unsigned max_prefix(const packet::Address& a) noexcept {
  return a.is_v4() ? 32 : 128;
}

GroupSet groups_of(const Policy& p, uint16_t user, const packet::Address& a) noexcept {
  GroupSet g;
  if (user != kNoUser && user < p.users.size()) {
    g = p.users[user].groups;
  }
  for (size_t i = 0; i < p.groups.size(); ++i) {
    for (const Cidr& c : p.groups[i].addresses) {
      if (c.contains(a)) {
        g.set(i);
        break;
      }
    }
  }
  return g;
}

uint16_t user_by_mac(const Policy& p, const std::optional<MacAddress>& m) noexcept {
  if (!m || p.index.by_mac.empty()) {
    return kNoUser;
  }
  const auto it = p.index.by_mac.find(mac_key(*m));
  return it == p.index.by_mac.end() ? kNoUser : it->second;
}

}  // namespace

packet::Address mask_address(const packet::Address& a, uint8_t prefix_len) noexcept {
  packet::Address out = a;
  const unsigned max = max_prefix(a);
  for (unsigned bit = prefix_len; bit < max; ++bit) {
    out.bytes[bit / 8] = static_cast<uint8_t>(out.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  }
  return out;
}

uint64_t mac_key(const MacAddress& m) noexcept {
  uint64_t k = 0;
  for (uint8_t b : m) {
    k = (k << 8) | b;
  }
  return k;
}

uint16_t user_by_address(const Policy& p, const packet::Address& a) noexcept {
  for (const IdentityIndex::Level& level : p.index.levels) {
    if (level.family != a.family) {
      continue;
    }
    const auto it = level.users.find(mask_address(a, level.prefix_len));
    if (it != level.users.end()) {
      return it->second;
    }
  }
  return kNoUser;
}

uint16_t user_by_stable_id(const Policy& p, uint32_t id) noexcept {
  const auto it = p.index.by_stable_id.find(id);
  return it == p.index.by_stable_id.end() ? kNoUser : it->second;
}

bool is_local(const Policy& p, const packet::Address& a) noexcept {
  for (const Cidr& c : p.local_networks) {
    if (c.contains(a)) {
      return true;
    }
  }
  return user_by_address(p, a) != kNoUser;
}

Identity identity_for_user(const Policy& p, uint16_t user, bool user_is_responder,
                           const packet::Address& user_address) noexcept {
  Identity id;
  id.user = user;
  id.user_is_responder = user_is_responder;
  id.groups = groups_of(p, user, user_address);
  return id;
}

Identity resolve_identity(const Policy& p, HookMode mode, const Endpoints& ends) noexcept {
  Identity id;
  if (mode == HookMode::kHost && ends.uid) {
    const auto it = p.index.by_uid.find(*ends.uid);
    if (it != p.index.by_uid.end()) {
      id.user = it->second;
      id.sticky = true;
      id.user_is_responder = ends.host_is_responder.value_or(false);
      id.groups = groups_of(p, id.user, id.user_is_responder ? ends.responder : ends.initiator);
      return id;
    }
  }
  // MAC first: the frame's sender is on the gateway's own segment and is that device.
  if (const uint16_t u = user_by_mac(p, ends.initiator_mac); u != kNoUser) {
    id.user = u;
    id.sticky = true;
    id.groups = groups_of(p, u, ends.initiator);
    return id;
  }
  if (const uint16_t u = user_by_mac(p, ends.responder_mac); u != kNoUser) {
    id.user = u;
    id.sticky = true;
    id.user_is_responder = true;
    id.groups = groups_of(p, u, ends.responder);
    return id;
  }
  if (mode == HookMode::kHost && ends.host_is_responder) {
    id.user_is_responder = *ends.host_is_responder;
  } else {
    // Both local: the initiator is the user (a LAN host opening a connection to another).
    id.user_is_responder = !is_local(p, ends.initiator) && is_local(p, ends.responder);
  }
  const packet::Address& mine = id.user_is_responder ? ends.responder : ends.initiator;
  id.user = user_by_address(p, mine);
  id.groups = groups_of(p, id.user, mine);
  return id;
}

}  // namespace imguard::policy
