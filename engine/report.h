// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "engine/analyzer.h"
#include "policy/config.h"

namespace imguard::engine {

/// One capture file's result, ready to print.
struct FileReport {
  std::string path;
  std::vector<FlowRecord> flows;  // sorted by flow id (first-packet order)
  AnalyzerStats stats;
  FlowTable::Stats table;
  std::string error;  // non-empty: the file could not be read (fully)
};

/// JSON lines: one {"record":"flow",...} object per flow, then one {"record":"summary"}.
/// With a policy, each flow also carries the `action` the live engine would apply.
void write_jsonl(std::FILE* out, const FileReport& report, const policy::Config* policy);
/// A readable per-flow table (with an action column when a policy is given).
void write_text(std::FILE* out, const FileReport& report, const policy::Config* policy);
/// Per-application totals over several files, for the text summary and the demo.
void write_app_summary(std::FILE* out, const std::vector<FileReport>& reports);
/// Who used which app, how much, and what the policy did, over several files.
void write_user_summary(std::FILE* out, const std::vector<FileReport>& reports,
                        const policy::Config& policy);
/// The same per file as JSON lines: {"record":"user","user":...,"app":...,...}.
void write_user_records(std::FILE* out, const FileReport& report, const policy::Config& policy);

std::string json_escape(std::string_view s);

}  // namespace imguard::engine
