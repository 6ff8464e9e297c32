// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace imguard::engine {

/// The account `imguard run --user NAME` becomes once start-up is done.
struct RunAs {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
};

/// Looks NAME up in the user database. Called before anything is installed, so a typo
/// fails the start cleanly. nullopt and a message in `error` when the user does not exist
/// or this process is not root (only root can change its user).
std::optional<RunAs> resolve_run_as(const std::string& name, std::string& error);

/// Becomes `who` (uid, gid, no supplementary groups) keeping exactly CAP_NET_ADMIN:
/// effective and permitted (netlink: NFQUEUE verdicts, ctnetlink), inheritable and ambient
/// (the nft/iptables children it runs to re-install and remove rules), and the bounding set
/// reduced to it. No-new-privileges stays set. Capabilities are per thread: call before
/// any other thread starts. Verifies the result (root cannot be regained). False and a
/// message in `error` on any failure; the caller then removes its rules and exits.
bool drop_privileges(const RunAs& who, std::string& error);

}  // namespace imguard::engine
