// SPDX-License-Identifier: GPL-3.0-or-later
#include <cstdio>

#include "engine/commands.h"
#include "engine/json.h"
#include "engine/offline.h"
#include "policy/loader.h"

namespace imguard::engine {
const char* version() noexcept {
  return IMGUARD_VERSION;
}

int cmd_classify(const ClassifyOptions& options) {
  const bool jsonl = options.format == OutputFormat::kJsonl;
  Analyzer::Config config;
  std::shared_ptr<const policy::Config> policy;
  if (!options.config.empty()) {
    auto loaded = policy::load_config_file(options.config);
    if (const auto* err = std::get_if<policy::LoadError>(&loaded)) {
      for (const auto& m : err->messages) {
        std::fprintf(stderr, "%s\n", terminal_safe(m).c_str());
      }
      return 2;
    }
    policy = std::get<std::shared_ptr<const policy::Config>>(std::move(loaded));
    config.budget.tcp_data_packets = policy->tcp_budget;
    config.budget.udp_data_packets = policy->udp_budget;
    Analyzer::apply_flow_settings(*policy, config);
  }
  if (options.tcp_budget != 0) {
    config.budget.tcp_data_packets = options.tcp_budget;
  }
  if (options.udp_budget != 0) {
    config.budget.udp_data_packets = options.udp_budget;
  }
  const std::vector<std::string>& files = options.files;
  const policy::Config builtin = policy::default_config();
  if (policy) {
    for (const std::string& w : policy->warnings) {
      std::fprintf(stderr, "%s\n", terminal_safe(w).c_str());
    }
  }
  int rc = 0;
  std::vector<FileReport> reports;
  // Without --config the built-in policy still resolves which end is local, so
  // `serving` means the same as under a policy; only the policy fields are left out.
  const policy::Config* decide_under = policy ? policy.get() : &builtin;
  // The process exits right after the files: its exit frees the engines' memory faster
  // than tearing them down would.
  FilesOptions run;
  run.jobs = options.jobs;
  run.after = EnginesAfterRun::kKeepUntilExit;
  const std::string setup_error =
      analyze_files(files, config, decide_under, run, [&](FileReport& rep) {
        if (!rep.error.empty()) {
          std::fprintf(stderr, "imguard classify: %s\n", rep.error.c_str());
          rc = 1;
        }
        if (jsonl) {
          write_jsonl(stdout, rep, policy.get());
          if (policy) {
            write_user_records(stdout, rep, *policy);
          }
        } else {
          write_text(stdout, rep, policy.get());
          rep.flows.shrink_to_fit();
          reports.push_back(std::move(rep));
        }
      });
  if (!setup_error.empty()) {
    std::fprintf(stderr, "imguard classify: %s\n", setup_error.c_str());
    return 1;
  }
  if (!jsonl) {
    write_app_summary(stdout, reports);
    if (policy) {
      write_user_summary(stdout, reports, *policy);
    }
  }
  return rc;
}

}  // namespace imguard::engine
