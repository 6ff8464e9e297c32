// SPDX-License-Identifier: GPL-3.0-or-later
// Dropping root after start-up. Raw capget/capset (linux/capability.h) instead of libcap:
// four calls do not pay for a dependency. Order matters: the bounding set can only be
// reduced while CAP_SETPCAP is effective (as root), the permitted set survives setresuid
// only with PR_SET_KEEPCAPS, and an ambient capability must be permitted and inheritable.
#include "engine/privileges.h"

#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace imguard::engine {
namespace {

constexpr unsigned kNetAdmin = CAP_NET_ADMIN;
constexpr uint32_t kNetAdminBit = 1u << kNetAdmin;  // CAP_NET_ADMIN (12) is in word 0

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

bool set_caps_net_admin_only() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].effective = data[0].permitted = data[0].inheritable = kNetAdminBit;
  return syscall(SYS_capset, &hdr, data) == 0;
}

bool caps_are_net_admin_only() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) {
    return false;
  }
  return data[0].effective == kNetAdminBit && data[0].permitted == kNetAdminBit &&
         data[1].effective == 0 && data[1].permitted == 0;
}

}  // namespace

std::optional<RunAs> resolve_run_as(const std::string& name, std::string& error) {
  if (geteuid() != 0) {
    error = "--user " + name + ": only root can change its user (started as uid " +
            std::to_string(geteuid()) + ")";
    return std::nullopt;
  }
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  const int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0 || found == nullptr) {
    error = "--user " + name + ": no such user" +
            (rc != 0 ? std::string(" (") + std::strerror(rc) + ")" : std::string()) +
            " (create it, e.g. adduser --system --group " + name + ")";
    return std::nullopt;
  }
  if (found->pw_uid == 0) {
    error = "--user " + name + ": is uid 0; name an unprivileged user";
    return std::nullopt;
  }
  return RunAs{name, found->pw_uid, found->pw_gid};
}

bool drop_privileges(const RunAs& who, std::string& error) {
  const std::string prefix = "dropping to user " + who.name + ": ";
  // Bounding set first, while CAP_SETPCAP is still effective.
  for (unsigned cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; ++cap) {
    if (cap != kNetAdmin && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      error = prefix + errno_text("PR_CAPBSET_DROP");
      return false;
    }
  }
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) {
    error = prefix + errno_text("PR_SET_KEEPCAPS");
    return false;
  }
  if (setgroups(0, nullptr) != 0 || setresgid(who.gid, who.gid, who.gid) != 0) {
    error = prefix + errno_text("setgroups/setresgid");
    return false;
  }
  if (setresuid(who.uid, who.uid, who.uid) != 0) {
    error = prefix + errno_text("setresuid");
    return false;
  }
  if (!set_caps_net_admin_only()) {
    error = prefix + errno_text("capset");
    return false;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 ||
      prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, kNetAdmin, 0, 0) != 0) {
    error = prefix + errno_text("PR_CAP_AMBIENT");
    return false;
  }
  prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  // Trust, but verify: root must be gone for good and nothing but CAP_NET_ADMIN left.
  uid_t r = 0;
  uid_t e = 0;
  uid_t s = 0;
  if (getresuid(&r, &e, &s) != 0 || r != who.uid || e != who.uid || s != who.uid ||
      setuid(0) == 0 || !caps_are_net_admin_only()) {
    error = prefix + "verification failed (uid or capabilities not as requested)";
    return false;
  }
  return true;
}

}  // namespace imguard::engine
