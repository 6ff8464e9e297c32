// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/report.h"

#include <cinttypes>

#include "policy/decision.h"

namespace imguard::engine {
namespace {

using classifiers::app_category;
using classifiers::app_name;
using classifiers::category_name;
using classifiers::evidence_name;

std::string features_json(uint8_t f, bool with_peer) {
  std::string out = "[";
  auto add = [&](uint8_t bit, const char* name) {
    if ((f & bit) != 0) {
      out += out.size() > 1 ? ",\"" : "\"";
      out += name;
      out += '"';
    }
  };
  add(classifiers::kFeatureFileTransfer, "file_transfer");
  add(classifiers::kFeatureServing, "serving");
  add(classifiers::kFeatureCleartext, "cleartext");
  if (with_peer) {
    add(classifiers::kFeaturePeer, "peer");
  }
  return out + "]";
}

const char* l4_name(packet::L4 l4) {
  return l4 == packet::L4::kTcp ? "tcp" : "udp";
}

/// The features to print: the decision's (with `serving` derived) when there is one.
uint8_t features_of(const FlowRecord& r) {
  return r.decision.when != CachedDecision::When::kNone ? r.decision.features
                                                        : static_cast<uint8_t>(r.result.features);
}

std::string user_name(const policy::Config& c, uint16_t user) {
  return user == policy::kNoUser || user >= c.policy.users.size() ? "unknown"
                                                                  : c.policy.users[user].name;
}

std::string rule_name(const policy::Config& c, uint16_t rule) {
  return rule < c.policy.rules.size() ? c.policy.rules[rule].name : "?";
}

const char* when_name(CachedDecision::When w) {
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

/// `,"user":...,"action":...` for a flow decided under a policy, "" otherwise.
std::string decision_json(const policy::Config& c, const FlowRecord& r) {
  if (r.decision.when == CachedDecision::When::kNone) {
    return "";
  }
  const policy::Decision& d = r.decision.decision;
  std::string s = ",\"user\":\"" + json_escape(user_name(c, d.user)) + "\",\"groups\":[";
  bool first = true;
  for (size_t g = 0; g < c.policy.groups.size(); ++g) {
    if (r.decision.identity.groups.test(g)) {
      s += (first ? "\"" : ",\"") + json_escape(c.policy.groups[g].name) + "\"";
      first = false;
    }
  }
  s += "],\"user_side\":\"";
  s += r.decision.identity.user_is_responder ? "responder" : "initiator";
  s += "\",\"rule\":\"" + json_escape(rule_name(c, d.rule)) + "\",\"action\":\"" +
       std::string(policy::action_name(d.enforced)) + "\"";
  if (d.monitored()) {
    s += ",\"monitor\":\"" + std::string(policy::action_name(d.action)) + "\"";
  }
  if (d.action == policy::Action::kThrottle) {
    s += ",\"rate_bytes_per_sec\":" + std::to_string(d.rate_bytes_per_sec);
  }
  s += ",\"decided\":\"" + std::string(when_name(r.decision.when)) + "\"";
  return s;
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

std::string json_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

void write_jsonl(std::FILE* out, const FileReport& rep, const policy::Config* policy) {
  for (const FlowRecord& r : rep.flows) {
    const std::string action = policy != nullptr ? decision_json(*policy, r) : std::string();
    std::fprintf(
        out,
        "{\"record\":\"flow\",\"l4\":\"%s\",\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\","
        "\"dport\":%u,\"app\":\"%.*s\",\"category\":\"%.*s\",\"classifier\":\"%.*s\","
        "\"evidence\":\"%.*s\",\"features\":%s,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64
        ",\"c2s_packets\":%" PRIu64 ",\"s2c_packets\":%" PRIu64 ",\"c2s_bytes\":%" PRIu64
        ",\"s2c_bytes\":%" PRIu64 ",\"end\":\"%.*s\"%s}\n",
        l4_name(r.l4), r.src.to_string().c_str(), r.sport, r.dst.to_string().c_str(), r.dport,
        static_cast<int>(app_name(r.result.app).size()), app_name(r.result.app).data(),
        static_cast<int>(category_name(app_category(r.result.app)).size()),
        category_name(app_category(r.result.app)).data(), static_cast<int>(r.classifier.size()),
        r.classifier.data(), static_cast<int>(evidence_name(r.result.evidence).size()),
        evidence_name(r.result.evidence).data(), features_json(features_of(r), true).c_str(),
        r.packets[0] + r.packets[1], r.bytes[0] + r.bytes[1], r.packets[0], r.packets[1],
        r.bytes[0], r.bytes[1], static_cast<int>(end_reason_name(r.end).size()),
        end_reason_name(r.end).data(), action.c_str());
  }
  std::string anomalies = "{";
  for (size_t i = 0; i < static_cast<size_t>(packet::Anomaly::kCount_); ++i) {
    const auto a = static_cast<packet::Anomaly>(i);
    if (rep.stats.anomalies.get(a) != 0) {
      anomalies += anomalies.size() > 1 ? "," : "";
      anomalies += "\"" + std::string(packet::anomaly_name(a)) +
                   "\":" + std::to_string(rep.stats.anomalies.get(a));
    }
  }
  anomalies += "}";
  std::fprintf(out,
               "{\"record\":\"summary\",\"file\":\"%s\",\"packets\":%" PRIu64
               ",\"flow_packets\":%" PRIu64 ",\"flows\":%zu,\"evicted\":%" PRIu64
               ",\"bytes_per_flow\":%zu,\"anomalies\":%s%s%s%s}\n",
               json_escape(rep.path).c_str(), rep.stats.packets, rep.stats.flow_packets,
               rep.flows.size(), rep.table.evicted, Analyzer::bytes_per_flow(), anomalies.c_str(),
               rep.error.empty() ? "" : ",\"error\":\"", json_escape(rep.error).c_str(),
               rep.error.empty() ? "" : "\"");
}

void write_text(std::FILE* out, const FileReport& rep, const policy::Config* policy) {
  std::fprintf(out, "== %s: %" PRIu64 " packets, %zu flows (%zu bytes of state per flow)\n",
               rep.path.c_str(), rep.stats.packets, rep.flows.size(), Analyzer::bytes_per_flow());
  if (!rep.error.empty()) {
    std::fprintf(out, "   error: %s\n", rep.error.c_str());
  }
  std::fprintf(out, "%-4s %-41s %-41s %-14s %-7s %-11s %-12s %8s %10s%s\n", "l4", "client",
               "server", "app", "categ", "classifier", "evidence", "packets", "bytes",
               policy != nullptr ? "  user rule action" : "");
  for (const FlowRecord& r : rep.flows) {
    const std::string c = r.src.to_string() + ":" + std::to_string(r.sport);
    const std::string s = r.dst.to_string() + ":" + std::to_string(r.dport);
    std::fprintf(
        out, "%-4s %-41s %-41s %-14.*s %-7.*s %-11.*s %-12.*s %8" PRIu64 " %10" PRIu64 "%s%s\n",
        l4_name(r.l4), c.c_str(), s.c_str(), static_cast<int>(app_name(r.result.app).size()),
        app_name(r.result.app).data(),
        static_cast<int>(category_name(app_category(r.result.app)).size()),
        category_name(app_category(r.result.app)).data(), static_cast<int>(r.classifier.size()),
        r.classifier.data(), static_cast<int>(evidence_name(r.result.evidence).size()),
        evidence_name(r.result.evidence).data(), r.packets[0] + r.packets[1],
        r.bytes[0] + r.bytes[1], policy != nullptr ? "  " : "",
        policy != nullptr ? (user_name(*policy, r.decision.decision.user) + " " +
                             rule_name(*policy, r.decision.decision.rule) + " " +
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
      UserTotals& t = totals[{user_name(policy, r.decision.decision.user),
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
    std::fprintf(out, "%-16s %-16s %8" PRIu64 " %12" PRIu64 "  %s\n", k.first.c_str(),
                 k.second.c_str(), t.flows, t.bytes, acts.c_str());
  }
}

void write_user_records(std::FILE* out, const FileReport& rep, const policy::Config& policy) {
  for (const auto& [k, t] : user_totals({&rep}, policy)) {
    std::string acts;
    for (const auto& [a, n] : t.actions) {
      acts += (acts.empty() ? "\"" : ",\"") + json_escape(a) + "\":" + std::to_string(n);
    }
    std::fprintf(out,
                 "{\"record\":\"user\",\"file\":\"%s\",\"user\":\"%s\",\"app\":\"%s\","
                 "\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"decisions\":{%s}}\n",
                 json_escape(rep.path).c_str(), json_escape(k.first).c_str(),
                 json_escape(k.second).c_str(), t.flows, t.bytes, acts.c_str());
  }
}

}  // namespace imguard::engine
