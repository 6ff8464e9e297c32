// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/daemon.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdio>
#include <thread>
#include <variant>

#include "engine/analyzer.h"
#include "firewall/firewall.h"
#include "nfq/queue.h"
#include "policy/decision.h"
#include "policy/marks.h"

namespace imguard::engine {

void QueuedHistogram::add(uint64_t packets) noexcept {
  ++count[packets < kSlots ? packets : kSlots - 1];
}

void QueuedHistogram::merge(const QueuedHistogram& other) noexcept {
  for (size_t i = 0; i < kSlots; ++i) {
    count[i] += other.count[i];
  }
}

uint64_t QueuedHistogram::connections() const noexcept {
  uint64_t n = 0;
  for (const uint64_t c : count) {
    n += c;
  }
  return n;
}

uint64_t QueuedHistogram::quantile(double fraction) const noexcept {
  const uint64_t total = connections();
  uint64_t seen = 0;
  for (size_t i = 0; i < kSlots; ++i) {
    seen += count[i];
    if (total > 0 && static_cast<double>(seen) >= fraction * static_cast<double>(total)) {
      return i;
    }
  }
  return 0;
}

uint64_t QueuedHistogram::max() const noexcept {
  for (size_t i = kSlots; i > 0; --i) {
    if (count[i - 1] != 0) {
      return i - 1;
    }
  }
  return 0;
}

std::string DaemonStats::line() const {
  std::string s;
  auto kv = [&s](std::string_view k, uint64_t v) {
    s += s.empty() ? "" : " ";
    s += k;
    s += '=';
    s += std::to_string(v);
  };
  kv("packets", packets);
  kv("marked_verdicts", marked_verdicts);
  kv("batched_packets", batched_packets);
  kv("batch_verdicts", batch_verdicts);
  kv("after_decision", after_decision);
  kv("early_blocked", early_blocked);
  kv("engine_errors", engine_errors);
  kv("enobufs", enobufs);
  kv("kernel_user_dropped", kernel_user_dropped);
  kv("kernel_queue_dropped", kernel_queue_dropped);
  kv("send_errors", send_errors);
  kv("kernel_errors", kernel_errors);
  kv("rules_reinstalled", rules_reinstalled);
  uint64_t decided = 0;
  for (const uint64_t n : decided_by_app) {
    decided += n;
  }
  kv("decided_flows", decided);
  for (size_t a = 0; a < decided_by_action.size(); ++a) {
    kv(std::string("decided_") + std::string(policy::action_name(static_cast<policy::Action>(a))),
       decided_by_action[a]);
  }
  for (size_t i = 0; i < decided_by_app.size(); ++i) {
    if (decided_by_app[i] != 0) {
      kv(std::string("app_") +
             std::string(classifiers::app_name(static_cast<classifiers::AppId>(i))),
         decided_by_app[i]);
    }
  }
  kv("connections", queued.connections());
  kv("queued_per_conn_p50", queued.quantile(0.5));
  kv("queued_per_conn_p99", queued.quantile(0.99));
  kv("queued_per_conn_max", queued.max());
  return s;
}

/// One queue, its thread and its pipeline. The packet handler and the flow sink run on
/// the worker thread only.
struct Daemon::Worker final : nfq::PacketHandler, FlowSink {
  const policy::Config& config;
  LogDecisions log;
  std::unique_ptr<nfq::Queue> queue;
  std::unique_ptr<Analyzer> analyzer;
  std::thread thread;
  bool failed = false;
  nfq::Verdict error_verdict;
  DaemonStats stats;  // this worker's share

  Worker(const policy::Config& c, LogDecisions l)
      : config(c),
        log(l),
        error_verdict(c.fail_open ? nfq::Verdict::accept() : nfq::Verdict::drop()) {}

  // parse → flow → classify (Analyzer) → decide → verdict carrying the masked mark.
  nfq::Verdict on_packet(const nfq::Packet& pkt) noexcept override {
    const Analyzer::Outcome out = analyzer->on_packet(pkt.l3, pkt.ts);
    if (out.flow == nullptr) {
      ++stats.engine_errors;
      return error_verdict;
    }
    const classifiers::Classification& c = out.flow->chain.result;
    if (!c.final) {
      // A classifier may have claimed the flow (the app is known) while it waits for
      // features; if the app alone is already blocked, enforce it now rather than letting
      // the waiting packets through. Allowed apps keep being observed.
      if (c.app != classifiers::AppId::kUnknown) {
        const policy::Decision early = policy::decide(config, c.app, classifiers::kFeatureNone);
        if (early.action == policy::Action::kDrop || early.action == policy::Action::kReject) {
          ++stats.early_blocked;
          return nfq::Verdict::accept_marked(policy::apply_mark(pkt.mark, early, config.mark_mask));
        }
      }
      return nfq::Verdict::accept();  // undecided: no mark, the next packet comes back
    }
    const policy::Decision d = policy::decide(config, c.app, c.features);
    if (out.decided_now) {
      ++stats.decided_by_app[static_cast<size_t>(c.app)];
      ++stats.decided_by_action[static_cast<size_t>(d.action)];
      if (log == LogDecisions::kYes) {
        log_decision(*out.flow, d);
      }
    } else {
      ++stats.after_decision;  // in flight when the marking verdict went out
    }
    return nfq::Verdict::accept_marked(policy::apply_mark(pkt.mark, d, config.mark_mask));
  }

  void on_flow_end(const FlowRecord& r) override { stats.queued.add(r.packets[0] + r.packets[1]); }

  void log_decision(const Flow& f, const policy::Decision& d) const noexcept {
    try {
      const auto& c = f.chain.result;
      std::fprintf(
          stderr, "imguard: decided %s %s:%u -> %s:%u app=%s category=%s action=%s\n",
          f.key.l4 == packet::L4::kTcp ? "tcp" : "udp", f.client.to_string().c_str(), f.client_port,
          f.server.to_string().c_str(), f.server_port,
          std::string(classifiers::app_name(c.app)).c_str(),
          std::string(classifiers::category_name(classifiers::app_category(c.app))).c_str(),
          std::string(policy::action_name(d.action)).c_str());
    } catch (...) {
      // Logging must not take the packet path down (to_string allocates).
    }
  }

  void run(int stop_fd) noexcept {
    failed = !queue->run(*this, stop_fd);
    analyzer->flush();  // every flow still in the table reports its queued-packet count
  }
};

Daemon::Daemon(std::shared_ptr<const policy::Config> config, DaemonOptions options)
    : config_(std::move(config)), options_(options) {}

Daemon::~Daemon() {
  for (auto& w : workers_) {
    if (w->thread.joinable()) {
      w->thread.join();
    }
  }
}

std::unique_ptr<Daemon> Daemon::create(std::shared_ptr<const policy::Config> config,
                                       DaemonOptions options, std::string& error) {
  auto d = std::unique_ptr<Daemon>(new Daemon(std::move(config), options));
  const policy::Config& c = *d->config_;
  Analyzer::Config ac;
  ac.budget.tcp_data_packets = c.tcp_budget;
  ac.budget.udp_data_packets = c.udp_budget;
  for (uint32_t i = 0; i < c.queue_count; ++i) {
    auto w = std::make_unique<Worker>(c, options.log_decisions);
    nfq::QueueOptions qo;
    qo.queue_num = static_cast<uint16_t>(c.queue_first + i);
    qo.max_len = c.queue_maxlen;
    qo.when_full = c.fail_open ? nfq::WhenFull::kAccept : nfq::WhenFull::kDrop;
    qo.owner = c.mode == policy::HookMode::kHost ? nfq::Owner::kRequest : nfq::Owner::kSkip;
    w->analyzer = Analyzer::create(ac, *w, error);
    if (!w->analyzer) {
      return nullptr;
    }
    w->queue = nfq::Queue::open(qo, error);
    if (!w->queue) {
      return nullptr;
    }
    d->workers_.push_back(std::move(w));
  }
  return d;
}

namespace {

void log_caps(const nfq::Queue& q) {
  const nfq::Capabilities& k = q.capabilities();
  std::fprintf(stderr,
               "imguard: queue %u bound: gso=%s uid_gid=%s fail_open=%s conntrack_info=%s%s\n",
               q.options().queue_num, k.gso ? "yes" : "no", k.uid_gid ? "yes" : "no",
               k.fail_open ? "yes" : "no", k.conntrack ? "yes" : "no",
               k.conntrack ? "" : " (kernel refused NFQA_CFG_F_CONNTRACK; using packet marks)");
}

}  // namespace

int Daemon::run(firewall::Firewall& fw, int stop_fd) {
  const int worker_stop = eventfd(0, EFD_CLOEXEC);
  if (worker_stop < 0) {
    std::perror("imguard: eventfd");
    return 1;
  }
  for (auto& w : workers_) {
    log_caps(*w->queue);
  }
  // Queues are bound before the rules go in, so fail-closed sites never see a gap.
  if (auto r = fw.install(); std::holds_alternative<firewall::Error>(r)) {
    std::fprintf(stderr, "imguard: installing rules failed: %s\n",
                 std::get<firewall::Error>(r).message.c_str());
    close(worker_stop);
    return 1;
  }
  std::fprintf(stderr, "imguard: rules installed (%s); %zu worker(s) running\n",
               std::string(firewall::plan_name(fw.plan())).c_str(), workers_.size());
  for (auto& w : workers_) {
    Worker* raw = w.get();
    w->thread = std::thread([raw, worker_stop] { raw->run(worker_stop); });
  }
  int rc = 0;
  for (;;) {
    pollfd p{stop_fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(options_.rules_check_interval.count()));
    if (ready > 0) {
      break;
    }
    bool worker_failed = false;
    for (auto& w : workers_) {
      worker_failed = worker_failed || w->failed;
    }
    if (worker_failed) {
      std::fprintf(stderr, "imguard: a worker stopped on a socket error; shutting down\n");
      rc = 1;
      break;
    }
    auto r = fw.reinstall_if_missing();
    if (const auto* e = std::get_if<firewall::Error>(&r)) {
      std::fprintf(stderr, "imguard: re-installing rules failed: %s\n", e->message.c_str());
    } else if (std::get<bool>(r)) {
      ++stats_.rules_reinstalled;
      std::fprintf(stderr, "imguard: rules were missing (flushed?); re-installed\n");
    }
  }
  // Rules out first: nothing new is queued, then each worker answers what it holds.
  if (auto r = fw.remove(); std::holds_alternative<firewall::Error>(r)) {
    std::fprintf(stderr, "imguard: removing rules failed: %s\n",
                 std::get<firewall::Error>(r).message.c_str());
    rc = 1;
  } else {
    std::fprintf(stderr, "imguard: rules removed\n");
  }
  const uint64_t one = 1;
  if (write(worker_stop, &one, sizeof(one)) != sizeof(one)) {
    std::perror("imguard: eventfd write");
  }
  for (auto& w : workers_) {
    w->thread.join();
    if (w->failed) {
      std::fprintf(stderr, "imguard: %s\n", w->queue->last_error().c_str());
      rc = 1;
    }
    w->queue->read_kernel_counters();
    const nfq::QueueStats& q = w->queue->stats();
    DaemonStats& s = w->stats;
    s.packets = q.packets;
    s.marked_verdicts = q.verdicts;
    s.batched_packets = q.batched_packets;
    s.batch_verdicts = q.batch_verdicts;
    s.enobufs = q.enobufs;
    s.kernel_user_dropped = q.kernel_user_dropped;
    s.kernel_queue_dropped = q.kernel_queue_dropped;
    s.send_errors = q.send_errors;
    s.kernel_errors = q.kernel_errors;
    stats_.packets += s.packets;
    stats_.marked_verdicts += s.marked_verdicts;
    stats_.batched_packets += s.batched_packets;
    stats_.batch_verdicts += s.batch_verdicts;
    stats_.after_decision += s.after_decision;
    stats_.early_blocked += s.early_blocked;
    stats_.engine_errors += s.engine_errors;
    stats_.enobufs += s.enobufs;
    stats_.kernel_user_dropped += s.kernel_user_dropped;
    stats_.kernel_queue_dropped += s.kernel_queue_dropped;
    stats_.send_errors += s.send_errors;
    stats_.kernel_errors += s.kernel_errors;
    for (size_t i = 0; i < s.decided_by_app.size(); ++i) {
      stats_.decided_by_app[i] += s.decided_by_app[i];
    }
    for (size_t i = 0; i < s.decided_by_action.size(); ++i) {
      stats_.decided_by_action[i] += s.decided_by_action[i];
    }
    stats_.queued.merge(s.queued);
  }
  close(worker_stop);
  workers_.clear();  // unbinds every queue
  return rc;
}

}  // namespace imguard::engine
