// SPDX-License-Identifier: GPL-3.0-or-later
#include <charconv>
#include <cstdio>

#include "engine/commands.h"
#include "engine/offline.h"
#include "policy/loader.h"

namespace imguard::engine {
namespace {

enum class Format { kText, kJsonl };

bool parse_u16(const std::string& s, uint16_t& out) {
  unsigned v = 0;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || v == 0 || v > 1000) {
    return false;
  }
  out = static_cast<uint16_t>(v);
  return true;
}

}  // namespace

const char* version() noexcept {
  return "0.1.0";
}

int cmd_classify(const std::vector<std::string>& args) {
  Format format = Format::kText;
  Analyzer::Config config;
  std::vector<std::string> files;
  std::shared_ptr<const policy::Config> policy;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    const bool has_value = i + 1 < args.size();
    if (a == "--format" && has_value) {
      const std::string& v = args[++i];
      if (v == "text") {
        format = Format::kText;
      } else if (v == "jsonl") {
        format = Format::kJsonl;
      } else {
        std::fprintf(stderr, "imguard classify: --format '%s': expected text or jsonl\n",
                     v.c_str());
        return 2;
      }
    } else if ((a == "--tcp-budget" || a == "--udp-budget") && has_value) {
      uint16_t& slot =
          a == "--tcp-budget" ? config.budget.tcp_data_packets : config.budget.udp_data_packets;
      if (!parse_u16(args[++i], slot)) {
        std::fprintf(stderr, "imguard classify: %s '%s': expected a packet count 1..1000\n",
                     a.c_str(), args[i].c_str());
        return 2;
      }
    } else if (a == "--config" && has_value) {
      auto loaded = policy::load_config_file(args[++i]);
      if (const auto* err = std::get_if<policy::LoadError>(&loaded)) {
        for (const auto& m : err->messages) {
          std::fprintf(stderr, "%s\n", m.c_str());
        }
        return 2;
      }
      policy = std::get<std::shared_ptr<const policy::Config>>(std::move(loaded));
      config.budget.tcp_data_packets = policy->tcp_budget;
      config.budget.udp_data_packets = policy->udp_budget;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "imguard classify: unknown option '%s'%s\n", a.c_str(),
                   has_value ? "" : " (or missing value)");
      return 2;
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: imguard classify PCAP... [--format text|jsonl] [--config FILE]\n");
    return 2;
  }
  const policy::Config builtin = policy::default_config();
  if (policy) {
    for (const std::string& w : policy->warnings) {
      std::fprintf(stderr, "%s\n", w.c_str());
    }
  }
  int rc = 0;
  std::vector<FileReport> reports;
  for (const auto& f : files) {
    // Without --config the built-in policy still resolves which end is local, so
    // `serving` means the same as under a policy; only the policy fields are left out.
    FileReport rep = analyze_pcap(f, config, policy ? policy.get() : &builtin);
    if (!rep.error.empty()) {
      std::fprintf(stderr, "imguard classify: %s\n", rep.error.c_str());
      rc = 1;
    }
    if (format == Format::kJsonl) {
      write_jsonl(stdout, rep, policy.get());
      if (policy) {
        write_user_records(stdout, rep, *policy);
      }
    } else {
      write_text(stdout, rep, policy.get());
      rep.flows.shrink_to_fit();
      reports.push_back(std::move(rep));
    }
  }
  if (format == Format::kText) {
    write_app_summary(stdout, reports);
    if (policy) {
      write_user_summary(stdout, reports, *policy);
    }
  }
  return rc;
}

}  // namespace imguard::engine
