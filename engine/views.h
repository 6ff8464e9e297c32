// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "conntrack/conntrack.h"
#include "policy/config.h"
#include "policy/labels.h"

namespace imguard::engine {

/// What `imguard flows` and `imguard top` show, built on the control thread from a
/// conntrack dump (so connections already offloaded to the kernel count) plus the totals
/// of connections that ended (conntrack destroy events).

/// One open connection as imguard sees it.
struct FlowView {
  conntrack::Entry entry;
  std::string user;
  std::string app;
  std::string category;
  std::string rule;
  std::string action;
  /// What the classification rests on (classifiers::evidence_name), "?" when unknown.
  std::string evidence;
  uint8_t features = 0;
};

/// Byte and connection totals of ended connections, by user, app and category.
struct UsageTotals {
  struct Sum {
    uint64_t bytes = 0;
    uint64_t connections = 0;
  };
  std::map<std::string, Sum> by_user;
  std::map<std::string, Sum> by_app;
  std::map<std::string, Sum> by_category;
  /// Bytes by user name and category, for imguard_bytes_total.
  std::map<std::string, std::array<uint64_t, policy::kCategoryCount>> bytes_by_user_category;
  /// The most recent ended connections with their end time, for `top --since`; the
  /// oldest go first beyond kRecent (then `--since` windows reaching further back count
  /// only what is still here, which `truncated_before` says).
  struct Ended {
    std::chrono::system_clock::time_point at;
    std::string user;
    std::string app;
    std::string category;
    uint64_t bytes = 0;
  };
  static constexpr size_t kRecent = 200'000;
  std::deque<Ended> recent;
  std::chrono::system_clock::time_point truncated_before{};

  /// Adds an ended connection (a destroy event) with the record imguard wrote for it
  /// (destroy events carry the mark but not the label, so the caller remembers it).
  void add_ended(const conntrack::Entry& e, const policy::ConnRecord& record,
                 const policy::Config& config);
};

/// The view of one dumped connection; false when it carries no imguard decision.
bool view_of(const conntrack::Entry& e, const policy::Config& config, uint64_t schedules,
             FlowView& out);

/// "1.5 MB", "12 kB", "900 B" (decimal units).
std::string human_bytes(uint64_t bytes);

/// `flows [--json] [--user U] [--app A]` answer body.
std::string render_flows(const std::vector<FlowView>& flows, bool json);

/// `top --by user|app|category [--limit N] [--json]` answer body: open connections' bytes
/// plus ended ones, biggest first.
/// `since` > 0: only connections that ended within that many seconds (plus the open ones).
std::string render_top(const std::vector<FlowView>& open, const UsageTotals& ended,
                       const std::string& by, size_t limit, bool json,
                       std::chrono::seconds since = std::chrono::seconds(0));

}  // namespace imguard::engine
