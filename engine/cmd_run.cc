// SPDX-License-Identifier: GPL-3.0-or-later
// `imguard run --config FILE`: the live engine in the foreground, logging to stderr.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <variant>

#include "engine/commands.h"
#include "engine/control.h"
#include "engine/daemon.h"
#include "engine/json.h"
#include "engine/log.h"
#include "engine/privileges.h"
#include "firewall/firewall.h"
#include "policy/loader.h"

namespace imguard::engine {
namespace {

// SIGINT/SIGTERM (stop) and SIGHUP (reload) become readable on a signalfd, so the control
// loop sees them as ordinary events and tells them apart by their siginfo; blocked before
// any thread starts, so every thread inherits the mask and none is killed by them.
int control_signal_fd() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);  // reopen the events file (logrotate)
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return -1;
  }
  return signalfd(-1, &set, SFD_CLOEXEC);
}

/// One request to the running daemon; prints its answer (stdout when it succeeded,
/// stderr otherwise).
int control_command(const char* name, const std::string& request, const ControlOptions& o,
                    int timeout_ms) {
  std::string reply;
  if (!control_request(o.control_path, request, reply, timeout_ms)) {
    std::fprintf(stderr, "imguard %s: %s\n", name, reply.c_str());
    return 1;
  }
  const size_t nl = reply.find('\n');
  const std::string head = reply.substr(0, nl);
  const std::string body = nl == std::string::npos ? "" : reply.substr(nl + 1);
  std::fputs(body.c_str(), head == "ok" ? stdout : stderr);
  return head == "ok" ? 0 : 1;
}

}  // namespace

int cmd_run(const RunOptions& run) {
  const std::string& path = run.config;
  DaemonOptions options;
  options.control_path = run.control_path;
  options.log_decisions = run.log_decisions ? LogDecisions::kYes : LogDecisions::kNo;
  auto loaded = policy::load_config_file(path);
  if (const auto* e = std::get_if<policy::LoadError>(&loaded)) {
    for (const std::string& m : e->messages) {
      std::fprintf(stderr, "%s\n", terminal_safe(m).c_str());
    }
    return 1;
  }
  auto config = std::get<std::shared_ptr<const policy::Config>>(std::move(loaded));
  for (const std::string& w : config->warnings) {
    std::fprintf(stderr, "%s\n", terminal_safe(w).c_str());
  }
  options.config_path = path;

  // No exec of this process or its tools may gain privileges (setuid, file capabilities).
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  if (!run.user.empty()) {
    std::string error;
    auto who = resolve_run_as(run.user, error);
    if (!who) {
      std::fprintf(stderr, "imguard run: %s\n", terminal_safe(error).c_str());
      return 1;
    }
    options.after_start_up = [who = *who](std::string& why) {
      if (!drop_privileges(who, why)) {
        return false;
      }
      log_info("running as user {} (uid {}), capabilities: CAP_NET_ADMIN only", who.name.c_str(),
               static_cast<unsigned>(who.uid));
      return true;
    };
  }
  const int sig_fd = control_signal_fd();
  if (sig_fd < 0) {
    std::perror("imguard run: signalfd");
    return 1;
  }
  auto made = firewall::Firewall::create(*config, firewall::system_runner());
  if (const auto* e = std::get_if<firewall::Error>(&made)) {
    std::fprintf(stderr, "imguard run: %s\n", e->message.c_str());
    close(sig_fd);
    return 1;
  }
  auto fw = std::get<std::unique_ptr<firewall::Firewall>>(std::move(made));

  std::string error;
  auto daemon = Daemon::create(config, options, error);
  if (!daemon) {
    std::fprintf(stderr, "imguard run: %s\n", error.c_str());
    close(sig_fd);
    return 1;
  }
  log_info("config {} loaded; queues {}..{}, mark mask {:#010x}", config->source,
           config->queue_first, config->queue_first + config->queue_count - 1, config->mark_mask);
  const int rc = daemon->run(std::move(fw), sig_fd);
  log_info("stats {}", daemon->stats().line());
  close(sig_fd);
  return rc;
}

const char* default_control_path() noexcept {
  return kDefaultControlPath;
}

int cmd_reload(const ControlOptions& o) {
  return control_command("reload", "reload", o, 60'000);
}

int cmd_status(const ControlOptions& o) {
  return control_command("status", o.json ? "status --json" : "status", o, 5'000);
}

int cmd_flows(const ControlOptions& o) {
  std::string request = "flows";
  request += o.json ? " --json" : "";
  if (!o.user.empty()) {
    request += " --user " + o.user;
  }
  if (!o.app.empty()) {
    request += " --app " + o.app;
  }
  return control_command("flows", request, o, 10'000);
}

int cmd_top(const ControlOptions& o) {
  std::string request = "top --by " + o.by + " --limit " + std::to_string(o.limit);
  if (!o.since.empty()) {
    request += " --since " + o.since;
  }
  request += o.json ? " --json" : "";
  return control_command("top", request, o, 10'000);
}

}  // namespace imguard::engine
