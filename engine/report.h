// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "engine/analyzer.h"

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
void write_jsonl(std::FILE* out, const FileReport& report);
/// A readable per-flow table followed by a per-application summary.
void write_text(std::FILE* out, const FileReport& report);
/// Per-application totals over several files, for the text summary and the demo.
void write_app_summary(std::FILE* out, const std::vector<FileReport>& reports);

std::string json_escape(std::string_view s);

}  // namespace imguard::engine
