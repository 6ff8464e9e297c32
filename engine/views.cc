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

/// Aligned columns sized to their content (each capped at `max` characters, longer
/// values cut with '~'); `right` columns are right-aligned numbers.
struct Table {
  struct Column {
    std::string title;
    size_t max;
    bool right;
  };
  std::vector<Column> columns;
  std::vector<std::vector<std::string>> rows;

  std::string render() const {
    std::vector<size_t> width;
    for (const Column& c : columns) {
      width.push_back(c.title.size());
    }
    for (const auto& r : rows) {
      for (size_t i = 0; i < r.size() && i < width.size(); ++i) {
        width[i] = std::max(width[i], std::min(r[i].size(), columns[i].max));
      }
    }
    std::string out;
    auto line = [&](const std::vector<std::string>& cells) {
      std::string l;
      for (size_t i = 0; i < columns.size(); ++i) {
        std::string v = i < cells.size() ? cells[i] : "";
        if (v.size() > width[i]) {
          v = v.substr(0, width[i] - 1) + "~";
        }
        const std::string pad(width[i] - v.size(), ' ');
        l += (i == 0 ? "" : " ") + (columns[i].right ? pad + v : v + pad);
      }
      while (!l.empty() && l.back() == ' ') {
        l.pop_back();
      }
      out += l + "\n";
    };
    std::vector<std::string> titles;
    for (const Column& c : columns) {
      titles.push_back(c.title);
    }
    line(titles);
    for (const auto& r : rows) {
      line(r);
    }
    return out;
  }
};

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

void UsageTotals::add_ended(const conntrack::Entry& e, const policy::ConnRecord& record,
                            const policy::Config& c) {
  const policy::ConnRecord* r = &record;
  const uint64_t bytes = e.bytes[0] + e.bytes[1];
  auto add = [bytes](std::map<std::string, Sum>& map, const std::string& key) {
    Sum& s = map[key];
    s.bytes += bytes;
    ++s.connections;
  };
  const std::string user = recorded_user(e, *r, c);
  const std::string category(classifiers::category_name(classifiers::app_category(r->app)));
  recent.push_back(Ended{std::chrono::system_clock::now(), user,
                         std::string(classifiers::app_name(r->app)), category, bytes});
  if (recent.size() > kRecent) {
    truncated_before = recent.front().at;
    recent.pop_front();
  }
  bytes_by_user_category[user][static_cast<size_t>(classifiers::app_category(r->app))] += bytes;
  add(by_user, user);
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
    out.evidence = "?";
    return true;
  }
  const Decided d = decide_connection(c, facts_of(e, *r), schedules);
  out.user = user_name(c, d.decision.user);
  out.app = std::string(classifiers::app_name(r->app));
  out.category = std::string(classifiers::category_name(classifiers::app_category(r->app)));
  out.rule = d.decision.rule < c.policy.rules.size() ? c.policy.rules[d.decision.rule].name : "?";
  out.evidence = std::string(classifiers::evidence_name(r->evidence));
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
      j["evidence"] = f.evidence;
      j["action"] = f.action;
      j["rule"] = f.rule;
      j["bytes_toserver"] = f.entry.bytes[0];
      j["bytes_toclient"] = f.entry.bytes[1];
      j["pkts_toserver"] = f.entry.packets[0];
      j["pkts_toclient"] = f.entry.packets[1];
      out += json_dump(j) + "\n";
    }
    return out;
  }
  Table t;
  t.columns = {{"l4", 3, false},     {"client", 46, false}, {"server", 46, false},
               {"user", 12, false},  {"app", 12, false},    {"evidence", 12, false},
               {"action", 8, false}, {"rule", 16, false},   {"up", 9, true},
               {"down", 9, true}};
  for (const FlowView& f : flows) {
    t.rows.push_back({f.entry.original.l4proto == 6 ? "tcp" : "udp",
                      endpoint(f.entry.original.src, f.entry.original.sport),
                      endpoint(f.entry.original.dst, f.entry.original.dport), f.user, f.app,
                      f.evidence, f.action, f.rule, human_bytes(f.entry.bytes[0]),
                      human_bytes(f.entry.bytes[1])});
  }
  out += t.render();
  out += std::to_string(flows.size()) + " decided connection(s) open\n";
  return out;
}

std::string render_top(const std::vector<FlowView>& open, const UsageTotals& ended,
                       const std::string& by, size_t limit, bool json, std::chrono::seconds since) {
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
  if (since.count() > 0) {
    const auto from = std::chrono::system_clock::now() - since;
    for (auto it = ended.recent.rbegin(); it != ended.recent.rend() && it->at >= from; ++it) {
      const std::string& key = by == "app" ? it->app : by == "category" ? it->category : it->user;
      Row& r = rows[key];
      r.key = key;
      r.bytes += it->bytes;
      ++r.ended;
    }
  } else {
    const auto& done = by == "app"        ? ended.by_app
                       : by == "category" ? ended.by_category
                                          : ended.by_user;
    for (const auto& [key, sum] : done) {
      Row& r = rows[key];
      r.key = key;
      r.bytes += sum.bytes;
      r.ended += sum.connections;
    }
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
      out += json_dump(j) + "\n";
    }
    return out;
  }
  Table t;
  t.columns = {{"#", 4, true},     {by, 24, false},   {"bytes", 10, true},
               {"share", 6, true}, {"open", 8, true}, {"ended", 8, true}};
  size_t rank = 0;
  for (const Row& r : sorted) {
    const double share =
        total == 0 ? 0.0 : 100.0 * static_cast<double>(r.bytes) / static_cast<double>(total);
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.1f%%", share);
    t.rows.push_back({std::to_string(++rank), r.key, human_bytes(r.bytes), pct,
                      std::to_string(r.open), std::to_string(r.ended)});
  }
  out += t.render();
  return out;
}

}  // namespace imguard::engine
