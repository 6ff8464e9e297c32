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

std::string features_json(uint8_t f) {
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
  return out + "]";
}

const char* l4_name(packet::L4 l4) {
  return l4 == packet::L4::kTcp ? "tcp" : "udp";
}

std::string action_of(const policy::Config& policy, const FlowRecord& r) {
  return std::string(
      policy::action_name(policy::decide(policy, r.result.app, r.result.features).action));
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
    const std::string action =
        policy != nullptr ? ",\"action\":\"" + action_of(*policy, r) + "\"" : std::string();
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
        evidence_name(r.result.evidence).data(), features_json(r.result.features).c_str(),
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
               policy != nullptr ? "  action" : "");
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
        policy != nullptr ? action_of(*policy, r).c_str() : "");
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
