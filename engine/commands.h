// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <vector>

namespace imguard::engine {

/// Each returns the process exit code: 0 ok, 1 a runtime failure, 2 bad usage.
int cmd_classify(const std::vector<std::string>& args);
/// `imguard check-config FILE`: 0 valid, 1 errors (one `file:line:col: ...` per line).
int cmd_check_config(const std::vector<std::string>& args);
/// `imguard rules --config FILE [--plan NAME]`: prints the ruleset `run` would install.
int cmd_rules(const std::vector<std::string>& args);
/// `imguard run --config FILE`: the live engine; returns when SIGINT/SIGTERM arrive.
int cmd_run(const std::vector<std::string>& args);

/// `imguard reload [--control PATH]`: asks the daemon to reload its file and waits;
/// 0 applied, 1 rejected (the daemon keeps its policy; the reasons go to stderr).
int cmd_reload(const std::vector<std::string>& args);
/// `imguard status [--control PATH]`: the daemon's one-line state and counters.
int cmd_status(const std::vector<std::string>& args);

const char* version() noexcept;

}  // namespace imguard::engine
