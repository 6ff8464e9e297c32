// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/report.h"

#include <cinttypes>

#include "engine/json.h"

#include "policy/decision.h"

namespace imguard::engine {
namespace {

using classifiers::app_category;
using classifiers::app_name;
using classifiers::category_name;
using classifiers::evidence_name;

/// The features to print: the decision's (with `serving` derived) when there is one.
uint8_t features_of(const FlowRecord& r) {
  return r.decision.when != CachedDecision::When::kNone ? r.decision.features
                                                        : static_cast<uint8_t>(r.result.features);
}

/// The decision fields of a flow decided under a policy; nothing for an undecided flow.
void add_decision(Json& j, const policy::Config& c, const FlowRecord& r) {
  if (r.decision.when == CachedDecision::When::kNone) {
    return;
  }
  const policy::Decision& d = r.decision.decision;
  j["user"] = policy_user_name(c, d.user);
  Json groups = Json::array();
  // The groups the policy matched on: the user's, plus those holding its end's address.
  const CachedDecision::Who& who = r.decision.identity;
  const policy::GroupSet held = policy::identity_for_user(c.policy, who.user, who.user_is_responder,
                                                          who.user_is_responder ? r.dst : r.src)
                                    .groups;
  for (size_t g = 0; g < c.policy.groups.size(); ++g) {
    if (held.test(g)) {
      groups.push_back(c.policy.groups[g].name);
    }
  }
  j["groups"] = std::move(groups);
  j["user_side"] = r.decision.identity.user_is_responder ? "responder" : "initiator";
  add_rule_and_action(j, c, r.decision);
}

std::string action_text(const policy::Decision& d) {
  std::string s(policy::action_name(d.enforced));
  if (d.monitored()) {
    s += " (monitor " + std::string(policy::action_name(d.action)) + ")";
  }
  return s;
}

struct AppTotals {
  uint64_t flows = 0;
  uint64_t packets = 0;
  uint64_t bytes = 0;
};

}  // namespace

std::string policy_user_name(const policy::Config& c, uint16_t user) {
  return user == policy::kNoUser || user >= c.policy.users.size() ? "unknown"
                                                                  : c.policy.users[user].name;
}

std::string policy_rule_name(const policy::Config& c, uint16_t rule) {
  return rule < c.policy.rules.size() ? c.policy.rules[rule].name : "?";
}

std::string_view decided_name(CachedDecision::When w) noexcept {
  switch (w) {
    case CachedDecision::When::kClaim:
      return "claim";
    case CachedDecision::When::kFinal:
      return "classified";
    case CachedDecision::When::kEnd:
      return "flow_end";
    case CachedDecision::When::kNone:
      break;
  }
  return "none";
}

std::string_view l4_name(packet::L4 l4) noexcept {
  return l4 == packet::L4::kTcp ? "tcp" : "udp";
}

std::vector<std::string_view> feature_names(uint8_t f) {
  std::vector<std::string_view> names;
  const auto add = [&](uint8_t bit, std::string_view name) {
    if ((f & bit) != 0) {
      names.push_back(name);
    }
  };
  add(classifiers::kFeatureFileTransfer, "file_transfer");
  add(classifiers::kFeatureServing, "serving");
  add(classifiers::kFeatureCleartext, "cleartext");
  add(classifiers::kFeaturePeer, "peer");
  return names;
}

void add_rule_and_action(Json& j, const policy::Config& c, const CachedDecision& cached) {
  const policy::Decision& d = cached.decision;
  j["rule"] = policy_rule_name(c, d.rule);
  j["action"] = policy::action_name(d.enforced);
  if (d.monitored()) {
    j["monitor"] = policy::action_name(d.action);
  }
  if (d.action == policy::Action::kThrottle) {
    j["rate_bytes_per_sec"] = d.rate_bytes_per_sec;
  }
  if (const uint16_t pool = policy::quota_pool(c.policy, d); pool != policy::kNoPool) {
    const policy::QuotaSpec& q = *c.policy.rules[d.rule].quota;
    Json o = Json::object();
    o["pool"] = c.policy.quota_pools[pool].key;
    o["limit_bytes"] = q.bytes;
    o["per"] = policy::quota_period_name(q.per);
    o["then"] = policy::quota_then_text(q);
    j["quota"] = std::move(o);
  }
  j["decided"] = decided_name(cached.when);
}

std::string json_escape(std::string_view s) {
  std::string quoted = json_dump(Json(std::string(s)));
  return quoted.substr(1, quoted.size() - 2);
}

void write_jsonl(std::FILE* out, const FileReport& rep, const policy::Config* policy) {
  for (const FlowRecord& r : rep.flows) {
    Json j;
    j["record"] = "flow";
    j["l4"] = l4_name(r.l4);
    j["src"] = r.src.to_string();
    j["sport"] = r.sport;
    j["dst"] = r.dst.to_string();
    j["dport"] = r.dport;
    j["app"] = app_name(r.result.app);
    j["category"] = category_name(app_category(r.result.app));
    j["classifier"] = r.classifier;
    j["evidence"] = evidence_name(r.result.evidence);
    j["features"] = feature_names(features_of(r));
    j["packets"] = r.packets[0] + r.packets[1];
    j["bytes"] = r.bytes[0] + r.bytes[1];
    j["c2s_packets"] = r.packets[0];
    j["s2c_packets"] = r.packets[1];
    j["c2s_bytes"] = r.bytes[0];
    j["s2c_bytes"] = r.bytes[1];
    j["end"] = end_reason_name(r.end);
    if (policy != nullptr) {
      add_decision(j, *policy, r);
    }
    json_write_line(out, j);
  }
  Json anomalies = Json::object();
  for (size_t i = 0; i < static_cast<size_t>(packet::Anomaly::kCount_); ++i) {
    const auto a = static_cast<packet::Anomaly>(i);
    if (rep.stats.anomalies.get(a) != 0) {
      anomalies[std::string(packet::anomaly_name(a))] = rep.stats.anomalies.get(a);
    }
  }
  Json summary;
  summary["record"] = "summary";
  summary["file"] = rep.path;
  summary["packets"] = rep.stats.packets;
  summary["flow_packets"] = rep.stats.flow_packets;
  summary["flows"] = rep.flows.size();
  summary["evicted"] = rep.table.evicted;
  summary["bytes_per_flow"] = Analyzer::bytes_per_flow();
  summary["anomalies"] = std::move(anomalies);
  if (!rep.error.empty()) {
    summary["error"] = rep.error;
  }
  json_write_line(out, summary);
}

void write_text(std::FILE* out, const FileReport& rep, const policy::Config* policy) {
  std::fprintf(out, "== %s: %" PRIu64 " packets, %zu flows (%zu bytes of state per flow)\n",
               terminal_safe(rep.path).c_str(), rep.stats.packets, rep.flows.size(),
               Analyzer::bytes_per_flow());
  if (!rep.error.empty()) {
    std::fprintf(out, "   error: %s\n", terminal_safe(rep.error).c_str());
  }
  std::fprintf(out, "%-4s %-41s %-41s %-14s %-7s %-11s %-12s %8s %10s%s\n", "l4", "client",
               "server", "app", "categ", "classifier", "evidence", "packets", "bytes",
               policy != nullptr ? "  user rule action" : "");
  for (const FlowRecord& r : rep.flows) {
    const std::string c = r.src.to_string() + ":" + std::to_string(r.sport);
    const std::string s = r.dst.to_string() + ":" + std::to_string(r.dport);
    std::fprintf(
        out, "%-4.*s %-41s %-41s %-14.*s %-7.*s %-11.*s %-12.*s %8" PRIu64 " %10" PRIu64 "%s%s\n",
        static_cast<int>(l4_name(r.l4).size()), l4_name(r.l4).data(), c.c_str(), s.c_str(),
        static_cast<int>(app_name(r.result.app).size()), app_name(r.result.app).data(),
        static_cast<int>(category_name(app_category(r.result.app)).size()),
        category_name(app_category(r.result.app)).data(), static_cast<int>(r.classifier.size()),
        r.classifier.data(), static_cast<int>(evidence_name(r.result.evidence).size()),
        evidence_name(r.result.evidence).data(), r.packets[0] + r.packets[1],
        r.bytes[0] + r.bytes[1], policy != nullptr ? "  " : "",
        policy != nullptr
            ? terminal_safe(policy_user_name(*policy, r.decision.decision.user) + " " +
                            policy_rule_name(*policy, r.decision.decision.rule) + " " +
                            action_text(r.decision.decision))
                  .c_str()
            : "");
  }
  for (size_t i = 0; i < static_cast<size_t>(packet::Anomaly::kCount_); ++i) {
    const auto a = static_cast<packet::Anomaly>(i);
    if (rep.stats.anomalies.get(a) != 0) {
      std::fprintf(out, "   anomaly %.*s: %" PRIu64 "\n",
                   static_cast<int>(packet::anomaly_name(a).size()), packet::anomaly_name(a).data(),
                   rep.stats.anomalies.get(a));
    }
  }
  std::fputc('\n', out);
}

void write_app_summary(std::FILE* out, const std::vector<FileReport>& reports) {
  std::map<std::pair<std::string_view, std::string_view>, AppTotals> totals;
  for (const auto& rep : reports) {
    for (const auto& r : rep.flows) {
      auto& t = totals[{category_name(app_category(r.result.app)), app_name(r.result.app)}];
      ++t.flows;
      t.packets += r.packets[0] + r.packets[1];
      t.bytes += r.bytes[0] + r.bytes[1];
    }
  }
  std::fprintf(out, "Per-application summary\n%-8s %-16s %8s %10s %12s\n", "category", "app",
               "flows", "packets", "bytes");
  for (const auto& [k, t] : totals) {
    std::fprintf(out, "%-8.*s %-16.*s %8" PRIu64 " %10" PRIu64 " %12" PRIu64 "\n",
                 static_cast<int>(k.first.size()), k.first.data(),
                 static_cast<int>(k.second.size()), k.second.data(), t.flows, t.packets, t.bytes);
  }
}

}  // namespace imguard::engine

namespace imguard::engine {

namespace {

struct UserTotals {
  uint64_t flows = 0;
  uint64_t bytes = 0;
  std::map<std::string, uint64_t> actions;  // action text → flows
};

using UserKey = std::pair<std::string, std::string>;  // user, app

std::map<UserKey, UserTotals> user_totals(const std::vector<const FileReport*>& reports,
                                          const policy::Config& policy) {
  std::map<UserKey, UserTotals> totals;
  for (const FileReport* rep : reports) {
    for (const FlowRecord& r : rep->flows) {
      if (r.decision.when == CachedDecision::When::kNone) {
        continue;
      }
      UserTotals& t = totals[{policy_user_name(policy, r.decision.decision.user),
                              std::string(app_name(r.result.app))}];
      ++t.flows;
      t.bytes += r.bytes[0] + r.bytes[1];
      ++t.actions[action_text(r.decision.decision)];
    }
  }
  return totals;
}

}  // namespace

void write_user_summary(std::FILE* out, const std::vector<FileReport>& reports,
                        const policy::Config& policy) {
  std::vector<const FileReport*> all;
  for (const FileReport& r : reports) {
    all.push_back(&r);
  }
  std::fprintf(out, "\nPer-user summary\n%-16s %-16s %8s %12s  %s\n", "user", "app", "flows",
               "bytes", "decisions");
  for (const auto& [k, t] : user_totals(all, policy)) {
    std::string acts;
    for (const auto& [a, n] : t.actions) {
      acts += (acts.empty() ? "" : ", ") + a + " " + std::to_string(n);
    }
    std::fprintf(out, "%-16s %-16s %8" PRIu64 " %12" PRIu64 "  %s\n",
                 terminal_safe(k.first).c_str(), k.second.c_str(), t.flows, t.bytes, acts.c_str());
  }
}

void write_user_records(std::FILE* out, const FileReport& rep, const policy::Config& policy) {
  for (const auto& [k, t] : user_totals({&rep}, policy)) {
    Json decisions = Json::object();
    for (const auto& [a, n] : t.actions) {
      decisions[a] = n;
    }
    Json j;
    j["record"] = "user";
    j["file"] = rep.path;
    j["user"] = k.first;
    j["app"] = k.second;
    j["flows"] = t.flows;
    j["bytes"] = t.bytes;
    j["decisions"] = std::move(decisions);
    json_write_line(out, j);
  }
}

}  // namespace imguard::engine
