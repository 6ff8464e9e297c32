// SPDX-License-Identifier: GPL-3.0-or-later
// Text format: https://prometheus.io/docs/instrumenting/exposition_formats/ ("Text-based
// format"): HELP escapes `\` and newline; label values escape `\`, `"` and newline; a
// metric's samples follow its HELP/TYPE lines without interruption.
#include "engine/metrics.h"

#include "classifiers/apps.h"
#include "engine/json.h"

namespace imguard::engine {
namespace {

using classifiers::AppId;
using classifiers::Category;

std::string label_value(std::string_view raw) {
  const std::string s = utf8_sanitize(raw);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

/// Appends the metric's HELP and TYPE lines; samples are appended by the caller.
class Writer {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help;  // our own constant text: no `\` or newline to escape
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  /// `labels` is a pre-rendered `{a="x",b="y"}` or "".
  void sample(std::string_view name, std::string_view labels, uint64_t value) {
    out_ += name;
    out_ += labels;
    out_ += ' ';
    out_ += std::to_string(value);
    out_ += '\n';
  }
  void scalar(std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    family(name, type, help);
    sample(name, "", value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string labels(std::initializer_list<std::pair<std::string_view, std::string_view>> kv) {
  std::string s = "{";
  for (const auto& [k, v] : kv) {
    s += s.size() > 1 ? "," : "";
    s += k;
    s += "=\"";
    s += label_value(v);
    s += '"';
  }
  return s + "}";
}

}  // namespace

std::vector<UserBytes> make_user_bytes(const policy::Config& config) {
  std::vector<UserBytes> v;
  v.reserve(config.policy.users.size() + 1);
  for (const policy::User& u : config.policy.users) {
    v.push_back(UserBytes{.user = u.name});
  }
  v.push_back(UserBytes{.user = "other"});
  return v;
}

size_t user_bytes_slot(const policy::Config& config, uint16_t user) noexcept {
  const size_t n = config.policy.users.size();
  return user < n ? user : n;
}

std::string render_metrics(const MetricsInput& in) {
  Writer w;
  const DaemonStats& s = in.stats;
  w.family("imguard_build_info", "gauge", "imguard build; the value is always 1.");
  w.sample("imguard_build_info", labels({{"version", in.version}}), 1);
  w.scalar("imguard_packets_total", "counter", "Packets queued to imguard and answered.",
           s.packets);

  w.family("imguard_decisions_total", "counter",
           "Connections decided, by decided action (monitor rules included), category and app.");
  for (size_t a = 0; a < in.decisions.size(); ++a) {
    const auto action = policy::action_name(static_cast<policy::Action>(a));
    for (size_t app = 0; app < policy::kAppCount; ++app) {
      if (in.decisions[a][app] == 0) {
        continue;
      }
      const auto id = static_cast<AppId>(app);
      w.sample("imguard_decisions_total",
               labels({{"action", action},
                       {"category", classifiers::category_name(classifiers::app_category(id))},
                       {"app", classifiers::app_name(id)}}),
               in.decisions[a][app]);
    }
  }

  w.scalar("imguard_flows_active", "gauge", "Flows in the workers' flow tables.", in.flows_active);

  w.family("imguard_bytes_total", "counter",
           "IP bytes of decided connections, by category and user (a configured user or "
           "\"other\").");
  for (const UserBytes& u : in.bytes) {
    for (size_t c = 0; c < u.bytes_by_category.size(); ++c) {
      if (u.bytes_by_category[c] == 0) {
        continue;
      }
      w.sample("imguard_bytes_total",
               labels({{"category", classifiers::category_name(static_cast<Category>(c))},
                       {"user", u.user}}),
               u.bytes_by_category[c]);
    }
  }

  w.scalar("imguard_reloads_total", "counter", "Policy reloads applied.", s.reloads);
  w.scalar("imguard_reload_failures_total", "counter",
           "Policy reloads refused; the previous policy stayed in force.", s.policy_reload_failed);
  w.family("imguard_queue_drops_total", "counter",
           "Queue losses by reason: enobufs (receive overran the socket), user_dropped (the "
           "kernel could not deliver to the socket), queue_dropped (queue full while "
           "fail-closed).");
  w.sample("imguard_queue_drops_total", labels({{"reason", "enobufs"}}), s.enobufs);
  w.sample("imguard_queue_drops_total", labels({{"reason", "user_dropped"}}),
           s.kernel_user_dropped);
  w.sample("imguard_queue_drops_total", labels({{"reason", "queue_dropped"}}),
           s.kernel_queue_dropped);
  w.family("imguard_conntrack_drops_total", "counter",
           "The kernel's conntrack table full (its namespace): insert_failed (a new connection "
           "not inserted), drop (a packet dropped, nothing evictable), early_drop (an "
           "unreplied connection evicted to make room).");
  w.sample("imguard_conntrack_drops_total", labels({{"reason", "insert_failed"}}),
           s.conntrack_insert_failed);
  w.sample("imguard_conntrack_drops_total", labels({{"reason", "drop"}}), s.conntrack_drop);
  w.sample("imguard_conntrack_drops_total", labels({{"reason", "early_drop"}}),
           s.conntrack_early_drop);
  w.scalar("imguard_rules_reinstalled_total", "counter",
           "Times the firewall ruleset was found missing and installed again.",
           s.rules_reinstalled);
  w.scalar("imguard_policy_generation", "gauge", "Generation of the policy in force.",
           in.policy_generation);

  // The worker counters come from the one list in engine/daemon.h, so a new counter shows
  // up here without another edit.
#define IMGUARD_METRIC(name)                     \
  w.scalar("imguard_" #name "_total", "counter", \
           "Worker counter " #name " (IMGUARD_WORKER_COUNTERS in engine/daemon.h).", s.name);
  IMGUARD_WORKER_COUNTERS(IMGUARD_METRIC)
#undef IMGUARD_METRIC
  return w.take();
}

}  // namespace imguard::engine
