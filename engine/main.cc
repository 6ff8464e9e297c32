// SPDX-License-Identifier: GPL-3.0-or-later
// imguard: one binary, one subcommand per job.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/commands.h"

namespace {

void usage(std::FILE* out) {
  std::fputs(
      "usage: imguard <command> [options]\n"
      "\n"
      "commands:\n"
      "  classify PCAP... [--format text|jsonl] [--config FILE]\n"
      "                     identify IM/P2P flows in capture files (pcap, pcapng)\n"
      "  run --config FILE [--log-decisions] [--control PATH]\n"
      "                     the live engine: bind the queues, install the rules, decide\n"
      "                     connections until SIGINT/SIGTERM (foreground, logs to stderr);\n"
      "                     SIGHUP reloads the file\n"
      "  reload [--control PATH]\n"
      "                     make the running daemon reload its file; exit 1 (policy kept)\n"
      "                     when the file is rejected\n"
      "  status [--control PATH]\n"
      "                     the running daemon's state and counters\n"
      "  check-config FILE  validate a configuration (exit 1 with file:line:col errors)\n"
      "  rules --config FILE [--plan nftables|nftables+iptables-queue|iptables]\n"
      "                     print the firewall ruleset imguard installs\n"
      "  version            print the version\n"
      "  help               this text\n",
      out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const std::string_view cmd = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "classify") {
    return imguard::engine::cmd_classify(args);
  }
  if (cmd == "run") {
    return imguard::engine::cmd_run(args);
  }
  if (cmd == "check-config") {
    return imguard::engine::cmd_check_config(args);
  }
  if (cmd == "rules") {
    return imguard::engine::cmd_rules(args);
  }
  if (cmd == "reload") {
    return imguard::engine::cmd_reload(args);
  }
  if (cmd == "status") {
    return imguard::engine::cmd_status(args);
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("imguard %s\n", imguard::engine::version());
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    usage(stdout);
    return 0;
  }
  std::fprintf(stderr, "imguard: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
