// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/analyzer.h"
#include "engine/json.h"
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

/// Printing functions: single-threaded (the caller's FILE), allocate, never throw except
/// std::bad_alloc; stdio errors are left for the caller's ferror(). JSON output is always
/// valid JSON (ill-formed UTF-8 in names becomes U+FFFD); text output never echoes control
/// bytes from file or config names to a terminal (they print as `\xNN`).

/// JSON lines: one {"record":"flow",...} object per flow, then one {"record":"summary"}.
/// With a policy, each flow also carries the `action` the live engine would apply. Field
/// order is part of the contract (README.md "JSON-lines contract", tests/golden/).
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

/// The body of a JSON string literal for `s` (no surrounding quotes): `"`, `\\` and
/// control characters escaped, ill-formed UTF-8 replaced by U+FFFD.
std::string json_escape(std::string_view s);

/// The decision fields classify's JSON lines and flow events share, in this order:
/// rule, action (what the kernel applies), monitor (only when monitored),
/// rate_bytes_per_sec (throttle only), decided (claim|classified|flow_end).
void add_rule_and_action(Json& j, const policy::Config& config, const CachedDecision& cached);

/// Names shared by reports and flow events (engine/events.h).
/// The configured name of user index `user`, "unknown" for policy::kNoUser or out of range.
std::string policy_user_name(const policy::Config& config, uint16_t user);
/// The configured name of rule index `rule`, "?" when out of range.
std::string policy_rule_name(const policy::Config& config, uint16_t rule);
/// "claim", "classified", "flow_end", or "none".
std::string_view decided_name(CachedDecision::When when) noexcept;
/// "tcp" or "udp".
std::string_view l4_name(packet::L4 l4) noexcept;
/// The feature bits as their stable names, in bit order: file_transfer, serving,
/// cleartext, peer.
std::vector<std::string_view> feature_names(uint8_t features);

}  // namespace imguard::engine
