// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/views.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "engine/decider.h"
#include "engine/json.h"
#include "engine/redecide.h"
#include "policy/identity.h"
#include "policy/labels.h"
#include "policy/marks.h"

namespace imguard::engine {

namespace {

std::string user_name(const policy::Config& c, uint16_t u) {
  return u == policy::kNoUser || u >= c.policy.users.size() ? "unknown" : c.policy.users[u].name;
}

std::string feature_list(uint8_t f) {
  std::string s;
  for (uint8_t bit : {classifiers::kFeatureFileTransfer, classifiers::kFeatureServing,
                      classifiers::kFeatureCleartext}) {
    if ((f & bit) != 0) {
      s += (s.empty() ? "" : ",") + std::string(policy::feature_name(bit));
    }
  }
  return s.empty() ? "-" : s;
}

std::string endpoint(const packet::Address& a, uint16_t port) {
  return a.is_v4() ? a.to_string() + ":" + std::to_string(port)
                   : "[" + a.to_string() + "]:" + std::to_string(port);
}

/// The name of the record's user under the current policy.
std::string recorded_user(const conntrack::Entry& e, const policy::ConnRecord& r,
                          const policy::Config& c) {
  if (r.identity_sticky && r.user_stable_id != 0) {
    return user_name(c, policy::user_by_stable_id(c.policy, r.user_stable_id));
  }
  const packet::Address& mine = r.user_is_responder ? e.reply.src : e.original.src;
  return user_name(c, policy::user_by_address(c.policy, mine));
}

}  // namespace

std::string human_bytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  size_t u = 0;
  while (v >= 1000.0 && u + 1 < std::size(kUnits)) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

void UsageTotals::add_ended(const conntrack::Entry& e, const policy::Config& c) {
  if (!e.label) {
    return;
  }
  const auto r = policy::decode_label(*e.label);
  if (!r) {
    return;
  }
  const uint64_t bytes = e.bytes[0] + e.bytes[1];
  auto add = [bytes](std::map<std::string, Sum>& map, const std::string& key) {
    Sum& s = map[key];
    s.bytes += bytes;
    ++s.connections;
  };
  add(by_user, recorded_user(e, *r, c));
  add(by_app, std::string(classifiers::app_name(r->app)));
  add(by_category, std::string(classifiers::category_name(classifiers::app_category(r->app))));
}

bool view_of(const conntrack::Entry& e, const policy::Config& c, uint64_t schedules,
             FlowView& out) {
  const auto mark = policy::decode(e.mark, c.mark_mask);
  if (!mark) {
    return false;
  }
  out.entry = e;
  out.action = std::string(policy::action_name(mark->action));
  const auto r = e.label ? policy::decode_label(*e.label) : std::nullopt;
  if (!r) {
    out.user = "?";
    out.app = "?";
    out.category = "?";
    out.rule = "?";
    return true;
  }
  const Decided d = decide_connection(c, facts_of(e, *r), schedules);
  out.user = user_name(c, d.decision.user);
  out.app = std::string(classifiers::app_name(r->app));
  out.category = std::string(classifiers::category_name(classifiers::app_category(r->app)));
  out.rule = d.decision.rule < c.policy.rules.size() ? c.policy.rules[d.decision.rule].name : "?";
  out.features = d.features;
  return true;
}

std::string render_flows(const std::vector<FlowView>& flows, bool json) {
  std::string out;
  if (json) {
    for (const FlowView& f : flows) {
      Json j = Json::object();
      j["proto"] = f.entry.original.l4proto == 6 ? "tcp" : "udp";
      j["src_ip"] = f.entry.original.src.to_string();
      j["src_port"] = f.entry.original.sport;
      j["dest_ip"] = f.entry.original.dst.to_string();
      j["dest_port"] = f.entry.original.dport;
      j["user"] = f.user;
      j["app"] = f.app;
      j["category"] = f.category;
      j["features"] = feature_list(f.features);
      j["action"] = f.action;
      j["rule"] = f.rule;
      j["bytes_toserver"] = f.entry.bytes[0];
      j["bytes_toclient"] = f.entry.bytes[1];
      j["pkts_toserver"] = f.entry.packets[0];
      j["pkts_toclient"] = f.entry.packets[1];
      out += json_line(j);
    }
    return out;
  }
  char line[512];
  std::snprintf(line, sizeof line, "%-3s %-27s %-27s %-10s %-11s %-8s %-16s %9s %9s\n", "l4",
                "client", "server", "user", "app", "action", "rule", "up", "down");
  out += line;
  for (const FlowView& f : flows) {
    std::snprintf(line, sizeof line, "%-3s %-27s %-27s %-10.10s %-11.11s %-8s %-16.16s %9s %9s\n",
                  f.entry.original.l4proto == 6 ? "tcp" : "udp",
                  endpoint(f.entry.original.src, f.entry.original.sport).c_str(),
                  endpoint(f.entry.original.dst, f.entry.original.dport).c_str(), f.user.c_str(),
                  f.app.c_str(), f.action.c_str(), f.rule.c_str(),
                  human_bytes(f.entry.bytes[0]).c_str(), human_bytes(f.entry.bytes[1]).c_str());
    out += line;
  }
  out += std::to_string(flows.size()) + " decided connection(s) open\n";
  return out;
}

std::string render_top(const std::vector<FlowView>& open, const UsageTotals& ended,
                       const std::string& by, size_t limit, bool json) {
  struct Row {
    std::string key;
    uint64_t bytes = 0;
    uint64_t open = 0;
    uint64_t ended = 0;
  };
  std::map<std::string, Row> rows;
  for (const FlowView& f : open) {
    const std::string& key = by == "app" ? f.app : by == "category" ? f.category : f.user;
    Row& r = rows[key];
    r.key = key;
    r.bytes += f.entry.bytes[0] + f.entry.bytes[1];
    ++r.open;
  }
  const auto& done = by == "app"        ? ended.by_app
                     : by == "category" ? ended.by_category
                                        : ended.by_user;
  for (const auto& [key, sum] : done) {
    Row& r = rows[key];
    r.key = key;
    r.bytes += sum.bytes;
    r.ended += sum.connections;
  }
  std::vector<Row> sorted;
  uint64_t total = 0;
  for (auto& [k, r] : rows) {
    total += r.bytes;
    sorted.push_back(r);
  }
  std::sort(sorted.begin(), sorted.end(), [](const Row& a, const Row& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.key < b.key;
  });
  if (sorted.size() > limit) {
    sorted.resize(limit);
  }
  std::string out;
  if (json) {
    for (const Row& r : sorted) {
      Json j = Json::object();
      j[by] = r.key;
      j["bytes"] = r.bytes;
      j["open_connections"] = r.open;
      j["ended_connections"] = r.ended;
      out += json_line(j);
    }
    return out;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%4s  %-24s %12s %6s %8s %8s\n", "#", by.c_str(), "bytes",
                "share", "open", "ended");
  out += line;
  size_t rank = 0;
  for (const Row& r : sorted) {
    const double share =
        total == 0 ? 0.0 : 100.0 * static_cast<double>(r.bytes) / static_cast<double>(total);
    std::snprintf(line, sizeof line, "%4zu  %-24.24s %12s %5.1f%% %8" PRIu64 " %8" PRIu64 "\n",
                  ++rank, r.key.c_str(), human_bytes(r.bytes).c_str(), share, r.open, r.ended);
    out += line;
  }
  return out;
}

}  // namespace imguard::engine
