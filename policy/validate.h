// SPDX-License-Identifier: GPL-3.0-or-later
// Internal to the policy library: checks across sections once the YAML is read.
#pragma once

#include <string>
#include <vector>

#include "policy/config.h"

namespace imguard::policy {

/// Messages collected while loading, each already located ("file:line:col: ...").
struct Diagnostics {
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
  void error(std::string m) { errors.push_back(std::move(m)); }
  void warning(std::string m) { warnings.push_back(std::move(m)); }
};

/// Completes a parsed policy: stable user ids, identity overlap checks, the identity
/// index, throttle bucket numbering (stable by rule and user name) against the mark
/// window, and shadowed-rule warnings. Adds to `diag`; the config is usable only when no
/// error was added.
void finish_policy(Config& config, Diagnostics& diag);

/// The private address ranges used when `networks.local` is not given: RFC 1918,
/// RFC 6598 shared space, IPv6 ULA and link-local.
std::vector<Cidr> default_local_networks();

}  // namespace imguard::policy
