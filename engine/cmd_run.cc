// SPDX-License-Identifier: GPL-3.0-or-later
// `imguard run --config FILE`: the live engine in the foreground, logging to stderr.
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <variant>

#include "engine/commands.h"
#include "engine/control.h"
#include "engine/daemon.h"
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
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return -1;
  }
  return signalfd(-1, &set, SFD_CLOEXEC);
}

void run_usage() {
  std::fputs(
      "usage: imguard run --config FILE [--log-decisions] [--control PATH|--no-control]\n"
      "  --control PATH   control socket for `imguard reload` and `imguard status`\n"
      "                   (default /run/imguard/imguard.sock)\n",
      stderr);
}

/// `imguard reload|status [--control PATH]`: one request to the running daemon.
int control_command(const char* name, const std::vector<std::string>& args, int timeout_ms) {
  std::string path = kDefaultControlPath;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--control" && i + 1 < args.size()) {
      path = args[++i];
    } else {
      std::fprintf(stderr, "imguard %s: unknown option '%s'\nusage: imguard %s [--control PATH]\n",
                   name, args[i].c_str(), name);
      return 2;
    }
  }
  std::string reply;
  if (!control_request(path, name, reply, timeout_ms)) {
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

int cmd_run(const std::vector<std::string>& args) {
  std::string path;
  DaemonOptions options;
  options.control_path = kDefaultControlPath;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      path = args[++i];
    } else if (args[i] == "--control" && i + 1 < args.size()) {
      options.control_path = args[++i];
    } else if (args[i] == "--no-control") {
      options.control_path.clear();
    } else if (args[i] == "--log-decisions") {
      options.log_decisions = LogDecisions::kYes;
    } else {
      std::fprintf(stderr, "imguard run: unknown option '%s'\n", args[i].c_str());
      run_usage();
      return 2;
    }
  }
  if (path.empty()) {
    run_usage();
    return 2;
  }
  auto loaded = policy::load_config_file(path);
  if (const auto* e = std::get_if<policy::LoadError>(&loaded)) {
    for (const std::string& m : e->messages) {
      std::fprintf(stderr, "%s\n", m.c_str());
    }
    return 1;
  }
  auto config = std::get<std::shared_ptr<const policy::Config>>(std::move(loaded));
  for (const std::string& w : config->warnings) {
    std::fprintf(stderr, "%s\n", w.c_str());
  }
  options.config_path = path;

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
  std::fprintf(stderr, "imguard: config %s loaded; queues %u..%u, mark mask 0x%08x\n",
               config->source.c_str(), config->queue_first,
               config->queue_first + config->queue_count - 1, config->mark_mask);
  const int rc = daemon->run(std::move(fw), sig_fd);
  std::fprintf(stderr, "imguard: stats %s\n", daemon->stats().line().c_str());
  close(sig_fd);
  return rc;
}

int cmd_reload(const std::vector<std::string>& args) {
  return control_command("reload", args, 60'000);
}

int cmd_status(const std::vector<std::string>& args) {
  return control_command("status", args, 5'000);
}

}  // namespace imguard::engine
