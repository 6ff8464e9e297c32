// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace imguard::engine {

/// The `imguard` subcommands. main.cc parses the command line (CLI11) into these option
/// structs; each function returns the process exit code: 0 ok, 1 a runtime failure, 2 bad
/// usage.

enum class OutputFormat : uint8_t { kText, kJsonl };

struct ClassifyOptions {
  std::vector<std::string> files;
  OutputFormat format = OutputFormat::kText;
  std::string config;       // "" = the built-in policy, no policy fields printed
  uint16_t tcp_budget = 0;  // 0 = from the config (or the default)
  uint16_t udp_budget = 0;
  unsigned jobs = 0;  // files analysed in parallel; 0 = one per CPU (output is the same)
};
/// `imguard classify PCAP...`: one line per flow, then summaries.
int cmd_classify(const ClassifyOptions& options);

/// `imguard check-config FILE`: 0 valid, 1 errors (one `file:line:col: ...` per line).
int cmd_check_config(const std::string& file);

struct RulesOptions {
  std::string config;
  std::string plan;  // "" = probe the kernel as `run` would
};
/// `imguard rules --config FILE [--plan NAME]`: prints the ruleset `run` would install.
int cmd_rules(const RulesOptions& options);

struct RunOptions {
  std::string config;
  bool log_decisions = false;
  std::string control_path;  // "" = no control socket
  std::string state_dir;     // "" = engine.state_dir of the config
  std::string user;          // "" = keep the user it was started as
};
/// `imguard run --config FILE`: the live engine; returns when SIGINT/SIGTERM arrive.
int cmd_run(const RunOptions& options);

/// Options of the commands that talk to a running daemon.
struct ControlOptions {
  std::string control_path;
  bool json = false;
  // flows
  std::string user;
  std::string app;
  // top
  std::string by = "user";  // user | app | category
  size_t limit = 10;
  std::string since;  // "" = since the daemon started; else 90s, 15m, 1h, 2d
};
/// `imguard reload`: asks the daemon to reload its file and waits; 0 applied, 1 rejected
/// (the daemon keeps its policy; the reasons go to stderr).
int cmd_reload(const ControlOptions& options);
/// `imguard status`: the daemon's state and counters.
int cmd_status(const ControlOptions& options);
/// `imguard flows`: live connections with user, app, decision and bytes.
int cmd_flows(const ControlOptions& options);
/// `imguard top`: bytes and connections by user, app or category.
int cmd_top(const ControlOptions& options);
/// `imguard quota-reset --rule R [--user U]`: sets the rule's quota pool(s) (or one user's)
/// back to 0 now; 0 done, 1 refused (no such pool).
int cmd_quota_reset(const ControlOptions& options, const std::string& rule);

/// `imguard apps`: every app and category name a policy may use.
int cmd_apps(bool json);

const char* version() noexcept;
/// The default control socket path (/run/imguard/imguard.sock).
const char* default_control_path() noexcept;

}  // namespace imguard::engine
