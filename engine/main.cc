// SPDX-License-Identifier: GPL-3.0-or-later
// imguard: one binary, one subcommand per job. The only user of CLI11: it parses the
// command line into the option structs of engine/commands.h.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <string>

#include "engine/commands.h"

namespace {

using namespace imguard::engine;

constexpr const char* kDescription =
    "imguard identifies instant-messaging and peer-to-peer connections and applies a per-user "
    "allow/throttle/drop/reject policy through nftables or iptables.";

void add_control_option(CLI::App* cmd, ControlOptions& o) {
  cmd->add_option("--control", o.control_path, "control socket of the running daemon")
      ->capture_default_str();
}

int run(int argc, char** argv) {
  CLI::App app{kDescription, "imguard"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("imguard ") + version());
  int rc = 0;

  ClassifyOptions classify;
  std::string format = "text";
  auto* c = app.add_subcommand("classify", "identify IM/P2P flows in capture files (pcap, pcapng)");
  c->add_option("pcap", classify.files, "capture files")->required();
  c->add_option("--format", format, "output format")
      ->check(CLI::IsMember({"text", "jsonl"}))
      ->capture_default_str();
  c->add_option("--config,-c", classify.config,
                "decide each flow under this policy (user, rule, action per flow)");
  c->add_option("--tcp-budget", classify.tcp_budget, "TCP payload packets inspected per flow")
      ->check(CLI::Range(1, 1000));
  c->add_option("--udp-budget", classify.udp_budget, "UDP payload packets inspected per flow")
      ->check(CLI::Range(1, 1000));
  c->add_option("--jobs,-j", classify.jobs,
                "most files analysed in parallel, each with its own engine (0: one per "
                "CPU; one engine more per 2 MiB of input); the output is the same for any "
                "value")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  c->callback([&] {
    classify.format = format == "jsonl" ? OutputFormat::kJsonl : OutputFormat::kText;
    rc = cmd_classify(classify);
  });

  RunOptions run_opts;
  run_opts.control_path = default_control_path();
  bool no_control = false;
  auto* r = app.add_subcommand("run",
                               "the live engine: bind the queues, install the rules, decide "
                               "connections until SIGINT/SIGTERM (foreground, logs to stderr); "
                               "SIGHUP reloads the file");
  r->add_option("--config,-c", run_opts.config, "configuration file")->required();
  r->add_flag("--log-decisions", run_opts.log_decisions, "log one line per decided connection");
  r->add_option("--control", run_opts.control_path,
                "control socket for reload, status, flows and top")
      ->capture_default_str();
  r->add_flag("--no-control", no_control, "no control socket");
  r->add_option("--state-dir", run_opts.state_dir,
                "where quota counters are kept across restarts (default: engine.state_dir, "
                "/var/lib/imguard)");
  r->add_option("--user", run_opts.user,
                "once started (rules in, sockets bound), become this user keeping only "
                "CAP_NET_ADMIN (needs root; default: stay as started)");
  r->callback([&] {
    if (no_control) {
      run_opts.control_path.clear();
    }
    rc = cmd_run(run_opts);
  });

  std::string check_file;
  auto* k = app.add_subcommand("check-config",
                               "validate a configuration (exit 1 with file:line:col errors)");
  k->add_option("file", check_file, "configuration file")->required();
  k->callback([&] { rc = cmd_check_config(check_file); });

  RulesOptions rules;
  auto* u = app.add_subcommand("rules", "print the firewall ruleset imguard installs");
  u->add_option("--config,-c", rules.config, "configuration file")->required();
  u->add_option("--plan", rules.plan,
                "render for this plan without probing the kernel (probing needs CAP_NET_ADMIN)")
      ->check(CLI::IsMember({"nftables", "nftables+iptables-queue", "iptables"}));
  u->callback([&] { rc = cmd_rules(rules); });

  ControlOptions control;
  control.control_path = default_control_path();
  auto* reload = app.add_subcommand(
      "reload",
      "make the running daemon reload its file and wait; exit 1 (policy kept) when "
      "the file is rejected");
  add_control_option(reload, control);
  reload->callback([&] { rc = cmd_reload(control); });

  auto* status = app.add_subcommand("status", "the running daemon's state and counters");
  add_control_option(status, control);
  status->add_flag("--json", control.json, "one JSON object");
  status->callback([&] { rc = cmd_status(control); });

  auto* flows = app.add_subcommand(
      "flows", "open connections: user, app, decision, rule, bytes (offloaded ones included)");
  add_control_option(flows, control);
  flows->add_flag("--json", control.json, "one JSON object per line");
  flows->add_option("--user", control.user, "only this user's connections");
  flows->add_option("--app", control.app, "only this app's connections");
  flows->callback([&] { rc = cmd_flows(control); });

  auto* top = app.add_subcommand("top", "who uses what: bytes and connections, biggest first");
  add_control_option(top, control);
  top->add_flag("--json", control.json, "one JSON object per line");
  top->add_option("--by", control.by, "group by")
      ->check(CLI::IsMember({"user", "app", "category"}))
      ->capture_default_str();
  top->add_option("--since", control.since,
                  "only connections that ended within this window (90s, 15m, 1h, 2d), plus the "
                  "open ones; default: since the daemon started");
  top->add_option("--limit", control.limit, "rows")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  top->callback([&] { rc = cmd_top(control); });

  std::string quota_rule;
  auto* qr = app.add_subcommand(
      "quota-reset",
      "set a rule's quota back to 0 now (every pool of the rule, or one user's); the "
      "connections it held back return to the rule's own action on their next packet");
  add_control_option(qr, control);
  qr->add_option("--rule", quota_rule, "the rule whose quota to reset")->required();
  qr->add_option("--user", control.user,
                 "only this user's pool (\"(unknown)\" for flows of no user)");
  qr->callback([&] { rc = cmd_quota_reset(control, quota_rule); });

  bool apps_json = false;
  auto* apps = app.add_subcommand("apps", "every app and category name a policy may use");
  apps->add_flag("--json", apps_json, "a JSON array");
  apps->callback([&] { rc = cmd_apps(apps_json); });

  app.add_subcommand("version", "print the version")->callback([&] {
    std::printf("imguard %s\n", version());
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; usage errors exit 2.
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Start-up code may throw (bad_alloc, a library); say so instead of aborting.
    std::fprintf(stderr, "imguard: %s\n", e.what());
    return 1;
  }
}
