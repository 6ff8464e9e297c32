// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/daemon.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <thread>
#include <unordered_map>
#include <variant>

#include "conntrack/conntrack.h"
#include "engine/analyzer.h"
#include "engine/commands.h"
#include "engine/control.h"
#include "engine/events.h"
#include "engine/json.h"
#include "engine/log.h"
#include "engine/metrics.h"
#include "engine/packet_guard.h"
#include "engine/quota.h"
#include "engine/redecide.h"
#include "engine/spsc_ring.h"
#include "engine/systemd.h"
#include "engine/views.h"
#include "firewall/firewall.h"
#include "nfq/queue.h"
#include "policy/decision.h"
#include "policy/labels.h"
#include "policy/loader.h"
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

void DaemonStats::add(const WorkerCounters& w) noexcept {
#define IMGUARD_ADD(name) name += w.name.get();
  IMGUARD_WORKER_COUNTERS(IMGUARD_ADD)
#undef IMGUARD_ADD
  for (size_t i = 0; i < decided_by_app.size(); ++i) {
    decided_by_app[i] += w.decided_by_app[i].get();
  }
  for (size_t i = 0; i < decided_by_action.size(); ++i) {
    decided_by_action[i] += w.decided_by_action[i].get();
  }
  monitored += w.monitored.get();
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
#define IMGUARD_KV(name) kv(#name, name);
  IMGUARD_WORKER_COUNTERS(IMGUARD_KV)
#undef IMGUARD_KV
  kv("enobufs", enobufs);
  kv("kernel_user_dropped", kernel_user_dropped);
  kv("kernel_queue_dropped", kernel_queue_dropped);
  kv("conntrack_insert_failed", conntrack_insert_failed);
  kv("conntrack_drop", conntrack_drop);
  kv("conntrack_early_drop", conntrack_early_drop);
  kv("send_errors", send_errors);
  kv("kernel_errors", kernel_errors);
  kv("rules_reinstalled", rules_reinstalled);
  kv("reloads", reloads);
  kv("policy_reload_failed", policy_reload_failed);
  kv("schedule_changes", schedule_changes);
  kv("remarked", remarked);
  kv("records_written", records_written);
  kv("records_failed", records_failed);
  kv("monitored", monitored);
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

namespace {

/// What the control thread does with a worker's record: write the label and emit the
/// decision event, or (a connection decided at its end) emit the event only.
enum class RecordKind : uint8_t { kLabelAndEvent, kEventOnly };

/// What a worker hands the control thread to write into a connection's conntrack label.
struct RecordWrite {
  RecordKind kind = RecordKind::kLabelAndEvent;
  conntrack::Tuple original;
  policy::ConnRecord record;
  uint64_t generation = 0;
  EventFlow event;  // the decision event, written when events are on
};
constexpr size_t kRecordRing = 8192;

/// Connections conntrack reported gone, handed by the control thread to the worker that
/// may hold their flow: a FlowKey of the two ends as the queue hook saw them (in either
/// order; FlowTable::end_connection orders them).
constexpr size_t kEndedRing = 16384;

/// The flow_id of a connection's events: the same for its decision and its end (which
/// come from different places: the worker and conntrack), and below 2^53 so JSON readers
/// keep it exact. FNV-1a over the original tuple.
uint64_t flow_id_of(const conntrack::Tuple& t) noexcept {
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      h = (h ^ p[i]) * 1099511628211ull;
    }
  };
  mix(t.src.bytes.data(), t.src.bytes.size());
  mix(t.dst.bytes.data(), t.dst.bytes.size());
  const uint8_t rest[5] = {static_cast<uint8_t>(t.sport >> 8), static_cast<uint8_t>(t.sport),
                           static_cast<uint8_t>(t.dport >> 8), static_cast<uint8_t>(t.dport),
                           t.l4proto};
  mix(rest, sizeof rest);
  return h & ((uint64_t{1} << 53) - 1);
}

std::string user_text(const policy::Config& c, uint16_t user) {
  return user == policy::kNoUser || user >= c.policy.users.size() ? "unknown"
                                                                  : c.policy.users[user].name;
}

}  // namespace

/// One queue, its thread and its pipeline. The packet handler and the flow sink run on
/// the worker thread only.
struct Daemon::Worker final : nfq::PacketHandler, FlowSink {
  PolicyStore& store;
  LogDecisions log;
  policy::HookMode mode;
  uint32_t mask;
  std::unique_ptr<nfq::Queue> queue;
  std::unique_ptr<Analyzer> analyzer;
  std::thread thread;
  std::atomic<bool> failed{false};
  nfq::Verdict error_verdict;
  WorkerCounters counters;
  QueuedHistogram queued;  // read by the control thread after join()
  SpscRing<RecordWrite, kRecordRing> records;
  /// Connections that ended (conntrack destroy events), pushed by the control thread,
  /// which then writes `wake` so the worker ends their flows (Queue::run's wake fd).
  SpscRing<FlowKey, kEndedRing> ended;
  int wake = -1;
  // The snapshot this worker decides under, refreshed when the generation moves.
  std::shared_ptr<const policy::Config> config;
  uint64_t generation = 0;
  /// Steady-clock nanoseconds at which the current packet's handling began, 0 between
  /// packets: a value that stays old means the worker is wedged (systemd watchdog).
  std::atomic<int64_t> busy_since_ns{0};

  Worker(PolicyStore& s, const policy::Config& c, LogDecisions l)
      : store(s), log(l), mode(c.mode), mask(c.mark_mask), error_verdict(error_verdict_of(c)) {}

  ~Worker() {
    if (wake >= 0) {
      close(wake);
    }
  }
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  static void bump(Counter& c) noexcept { ++c; }

  // parse → flow → classify → decide (Analyzer + decider) → verdict carrying the mark.
  nfq::Verdict on_packet(const nfq::Packet& pkt) noexcept override {
    // The queue's receive time is CLOCK_MONOTONIC, as steady_clock: no clock read here.
    busy_since_ns.store(std::chrono::duration_cast<std::chrono::nanoseconds>(pkt.ts).count(),
                        std::memory_order_relaxed);
    const bool new_conntrack = policy::has_new_conn_tag(pkt.mark, mask);
    nfq::Verdict v = settle_guarded([&] { return decide_packet(pkt, new_conntrack); },
                                    error_verdict, counters.packet_errors);
    busy_since_ns.store(0, std::memory_order_relaxed);
    if (!v.mark && new_conntrack) {
      // The tag is for the engine only: an undecided verdict hands the window back empty,
      // so nothing downstream takes it for a decision.
      v.mark = pkt.mark & ~mask;
    }
    return v;
  }

  // May throw (std::bad_alloc, ...): on_packet settles the packet then.
  nfq::Verdict decide_packet(const nfq::Packet& pkt, bool new_conntrack) {
    if (const uint64_t g = store.generation(); g != generation) {
      config = store.current();
      generation = g;
    }
    PacketMeta meta;
    meta.src_mac = pkt.src_mac;
    meta.uid = pkt.uid;
    if (mode == policy::HookMode::kHost) {
      meta.inbound = pkt.inbound;
    }
    // The queue tells the conntrack direction; payload-less TCP packets (the SYN among
    // them) stay in the kernel, so without it the first payload's sender would be taken
    // for the client.
    if (pkt.direction != nfq::ConnDirection::kUnknown) {
      meta.conn_direction = pkt.direction == nfq::ConnDirection::kReply
                                ? Direction::kServerToClient
                                : Direction::kClientToServer;
      meta.start_seen = true;
    }
    meta.new_conntrack = new_conntrack;
    const PolicyView view{config.get(), generation, store.schedules()};
    const Analyzer::Outcome out = analyzer->on_packet(pkt.l3, pkt.ts, meta, view);
    if (out.flow == nullptr) {
      if (out.after_close) {
        return nfq::Verdict::accept();  // a stray of a closed connection: no flow to decide
      }
      bump(counters.engine_errors);
      return error_verdict;
    }
    const CachedDecision& cached = out.flow->decision;
    switch (out.step) {
      case Step::kUndecided:
        return nfq::Verdict::accept();  // no mark: the next packet comes back
      case Step::kDecided:
        bump(counters.after_decision);
        break;
      case Step::kClaimBlock:
        bump(counters.early_blocked);
        decided(*out.flow);
        break;
      case Step::kDecidedNow:
        decided(*out.flow);
        break;
      case Step::kRedecided:
        bump(counters.redecided);
        record(analyzer->record_of(*out.flow));
        break;
    }
    return nfq::Verdict::accept_marked(policy::apply_mark(pkt.mark, cached.decision, mask));
  }

  void count_decision(classifiers::AppId app, const policy::Decision& d) noexcept {
    bump(counters.decided_by_app[static_cast<size_t>(app)]);
    bump(counters.decided_by_action[static_cast<size_t>(d.action)]);
    bump(counters.decided_by_action_app[static_cast<size_t>(d.action)][static_cast<size_t>(app)]);
    if (d.monitored()) {
      bump(counters.monitored);
    }
  }

  void decided(const Flow& f) noexcept {
    count_decision(f.chain.result.app, f.decision.decision);
    const FlowRecord r = analyzer->record_of(f);
    record(r);
    if (log == LogDecisions::kYes) {
      log_decision(r);
    }
  }

  /// Queues the connection's label record for the control thread (no syscall here).
  void record(const FlowRecord& f, RecordKind kind = RecordKind::kLabelAndEvent) noexcept {
    RecordWrite w;
    w.kind = kind;
    w.original.src = f.src;
    w.original.dst = f.dst;
    w.original.sport = f.sport;
    w.original.dport = f.dport;
    w.original.l4proto = static_cast<uint8_t>(f.l4);
    const CachedDecision& c = f.decision;
    w.record.app = f.result.app;
    w.record.evidence = f.result.evidence;
    w.record.features = f.result.features;
    w.record.user_is_responder = c.identity.user_is_responder;
    w.record.identity_sticky = c.identity.sticky;
    w.record.user_stable_id = c.decision.user < config->policy.users.size()
                                  ? config->policy.users[c.decision.user].stable_id
                                  : 0;
    w.generation = c.generation;
    w.event.ts = std::chrono::duration_cast<packet::Timestamp>(
        std::chrono::system_clock::now().time_since_epoch());
    w.event.flow_id = flow_id_of(w.original);
    w.event.l4 = f.l4;
    w.event.src = f.src;
    w.event.dst = f.dst;
    w.event.sport = f.sport;
    w.event.dport = f.dport;
    w.event.result = f.result;
    w.event.classifier = f.classifier;
    w.event.decision = c;
    for (size_t d = 0; d < 2; ++d) {
      w.event.packets[d] = f.packets[d];
      w.event.bytes[d] = f.bytes[d];
    }
    if (!records.push(w)) {
      bump(counters.records_dropped);
    }
  }

  void on_flow_end(const FlowRecord& r) override {
    queued.add(r.packets[0] + r.packets[1]);
    if (r.end == EndReason::kIdle) {
      bump(counters.ended_idle);
    } else if (r.end == EndReason::kPortReused) {
      bump(counters.port_reused);
    }
    if (r.decision.when == CachedDecision::When::kEnd && config != nullptr) {
      // Ended before the classification settled (e.g. a short connection whose few
      // payload packets named nothing): decided now, counted, logged and evented like any
      // decision; no label write, the connection is gone or idle.
      bump(counters.decided_at_end);
      count_decision(r.result.app, r.decision.decision);
      record(r, RecordKind::kEventOnly);
      if (log == LogDecisions::kYes) {
        log_decision(r);
      }
    }
  }

  /// Drains the ended connections the control thread handed over.
  void on_wake() noexcept override {
    while (const auto e = ended.pop()) {
      analyzer->end_connection(e->a, e->port_a, e->b, e->port_b, e->l4);  // any order
    }
  }

  void log_decision(const FlowRecord& f) const noexcept {
    try {
      const auto& c = f.result;
      const policy::Decision& d = f.decision.decision;
      const std::string rule =
          d.rule < config->policy.rules.size() ? config->policy.rules[d.rule].name : "?";
      std::string action(policy::action_name(d.enforced));
      if (d.monitored()) {
        action += " monitor=" + std::string(policy::action_name(d.action));
      }
      const char* when = f.decision.when == CachedDecision::When::kClaim ? " (on claim)"
                         : f.decision.when == CachedDecision::When::kEnd ? " (at its end)"
                                                                         : "";
      std::fprintf(
          stderr,
          "imguard: decided %s %s:%u -> %s:%u app=%s category=%s action=%s user=%s "
          "rule=%s%s\n",
          f.l4 == packet::L4::kTcp ? "tcp" : "udp", f.src.to_string().c_str(), f.sport,
          f.dst.to_string().c_str(), f.dport, std::string(classifiers::app_name(c.app)).c_str(),
          std::string(classifiers::category_name(classifiers::app_category(c.app))).c_str(),
          action.c_str(), user_text(*config, d.user).c_str(), rule.c_str(), when);
    } catch (...) {
      // Logging must not take the packet path down (to_string allocates).
    }
  }

  void run(int stop_fd) noexcept {
    failed.store(!queue->run(*this, stop_fd, wake), std::memory_order_release);
    analyzer->flush();  // every flow still in the table reports its queued-packet count
  }
};

Daemon::Daemon(std::shared_ptr<const policy::Config> config, DaemonOptions options)
    : options_(std::move(options)), store_(config, 0) {}

Daemon::~Daemon() {
  for (auto& w : workers_) {
    if (w->thread.joinable()) {
      w->thread.join();
    }
  }
}

std::unique_ptr<Daemon> Daemon::create(std::shared_ptr<const policy::Config> config,
                                       DaemonOptions options, std::string& error) {
  auto d = std::unique_ptr<Daemon>(new Daemon(config, std::move(options)));
  const policy::Config& c = *config;
  d->store_.publish(
      config, schedules_at(c.policy, std::chrono::duration_cast<packet::Timestamp>(
                                         std::chrono::system_clock::now().time_since_epoch())));
  Analyzer::Config ac;
  ac.budget.tcp_data_packets = c.tcp_budget;
  ac.budget.udp_data_packets = c.udp_budget;
  Analyzer::apply_flow_settings(c, ac);
  // One cross-flow hint cache for every worker: connections are steered round-robin, so the
  // connection a hint names is usually another worker's.
  ac.peers = std::make_shared<classifiers::PeerCache>();
  for (uint32_t i = 0; i < c.queue_count; ++i) {
    auto w = std::make_unique<Worker>(d->store_, c, d->options_.log_decisions);
    nfq::QueueOptions qo;
    qo.queue_num = static_cast<uint16_t>(c.queue_first + i);
    qo.reply_queue_num = static_cast<uint16_t>(policy::reply_queue(c, i));
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
    w->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (w->wake < 0) {
      error = std::string("eventfd: ") + std::strerror(errno);
      return nullptr;
    }
    d->workers_.push_back(std::move(w));
  }
  return d;
}

namespace {

void log_caps(const nfq::Queue& q) {
  const nfq::Capabilities& k = q.capabilities();
  log_info("queue {} bound: gso={} uid_gid={} fail_open={} conntrack_info={}{}",
           q.options().queue_num, k.gso ? "yes" : "no", k.uid_gid ? "yes" : "no",
           k.fail_open ? "yes" : "no", k.conntrack ? "yes" : "no",
           k.conntrack ? "" : " (kernel refused NFQA_CFG_F_CONNTRACK; using packet marks)");
}

packet::Timestamp wall_now() noexcept {
  return std::chrono::duration_cast<packet::Timestamp>(
      std::chrono::system_clock::now().time_since_epoch());
}

/// Adds one queue's counters (the kernel's drop counters as last read) to `s`.
void add_queue_stats(DaemonStats& s, const nfq::QueueStats& q) noexcept {
  s.packets += q.packets;
  s.marked_verdicts += q.verdicts;
  s.batched_packets += q.batched_packets;
  s.batch_verdicts += q.batch_verdicts;
  s.enobufs += q.enobufs;
  s.kernel_user_dropped += q.kernel_user_dropped;
  s.kernel_queue_dropped += q.kernel_queue_dropped;
  s.send_errors += q.send_errors;
  s.kernel_errors += q.kernel_errors;
}

/// A listening TCP socket on "ADDRESS:PORT" ("[v6]:PORT" too); -1 and `error` on failure.
int listen_tcp(const std::string& where, std::string& error) {
  const size_t colon = where.rfind(':');
  std::string host = where.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') {
    host = host.substr(1, host.size() - 2);
  }
  const auto port = static_cast<uint16_t>(std::stoul(where.substr(colon + 1)));
  const packet::Address a = packet::Address::parse(host);
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (a.is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    std::memcpy(&sin->sin_addr, a.bytes.data(), 4);
    len = sizeof(sockaddr_in);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    std::memcpy(&sin6->sin6_addr, a.bytes.data(), 16);
    len = sizeof(sockaddr_in6);
  }
  const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  const int one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 || listen(fd, 16) != 0) {
    error = where + ": " + std::strerror(errno);
    if (fd >= 0) {
      close(fd);
    }
    return -1;
  }
  return fd;
}

/// Settings a reload cannot change: they shape the queues, the mark window and the hooks.
std::string restart_only_change(const policy::Config& a, const policy::Config& b) {
  if (a.backend != b.backend) {
    return "engine.backend";
  }
  if (a.mode != b.mode) {
    return "engine.mode";
  }
  if (a.queue_first != b.queue_first || a.queue_count != b.queue_count ||
      a.queue_maxlen != b.queue_maxlen || a.fail_open != b.fail_open ||
      a.queue_bypass != b.queue_bypass) {
    return "engine.queue";
  }
  if (a.mark_mask != b.mark_mask) {
    return "engine.mark_mask";
  }
  if (a.tcp_budget != b.tcp_budget || a.udp_budget != b.udp_budget) {
    return "engine.budget";
  }
  if (a.anomaly_accept != b.anomaly_accept) {
    return "engine.on_anomaly";
  }
  if (a.flow_capacity != b.flow_capacity || a.reassembly_bytes != b.reassembly_bytes ||
      a.quic_derivations_per_sec != b.quic_derivations_per_sec || a.udp_idle != b.udp_idle ||
      a.tcp_idle != b.tcp_idle) {
    return "engine.flows";
  }
  if (a.events_file != b.events_file || a.events_journal != b.events_journal) {
    return "engine.events";
  }
  if (a.metrics_listen != b.metrics_listen || a.metrics_textfile != b.metrics_textfile) {
    return "engine.metrics";
  }
  if (a.state_dir != b.state_dir) {
    return "engine.state_dir";
  }
  return "";
}

}  // namespace

/// The control thread's state while run() serves.
struct Daemon::Control {
  Control(Daemon& d, std::unique_ptr<firewall::Firewall> f) : daemon(d), fw(std::move(f)) {}

  Daemon& daemon;
  std::unique_ptr<firewall::Firewall> fw;
  std::unique_ptr<conntrack::Conntrack> ct;
  std::unique_ptr<ControlServer> server;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point next_rules_check = started;
  std::chrono::steady_clock::time_point next_status = started;
  std::vector<conntrack::Update> pending;
  ServiceManager service;
  bool wedged_logged = false;
  std::unique_ptr<conntrack::Events> events;
  UsageTotals ended;
  /// The record written for each decided connection, by original tuple: conntrack's
  /// destroy events carry the mark but not the label, and `top`, the metrics and the
  /// flow-end events need to know what an ended connection was. Bounded.
  struct TupleHash {
    size_t operator()(const conntrack::Tuple& t) const noexcept {
      const policy::AddressHash h;
      return h(t.src) ^ (h(t.dst) * 31) ^ (size_t{t.sport} << 16) ^ t.dport ^
             (size_t{t.l4proto} << 40);
    }
  };
  static constexpr size_t kMaxRemembered = 1u << 20;
  std::unordered_map<conntrack::Tuple, policy::ConnRecord, TupleHash> remembered;
  uint64_t forgotten = 0;
  uint64_t ended_decided = 0;  // decided connections that ended (destroy events)
  uint64_t ends_dropped = 0;   // ends a full worker ring could not take
  std::unique_ptr<EventLog> event_log;
  Quotas quotas{daemon.options_.state_dir.empty() ? config().state_dir : daemon.options_.state_dir};
  int metrics_fd = -1;
  std::chrono::steady_clock::time_point next_textfile = started;

  ~Control() {
    if (metrics_fd >= 0) {
      close(metrics_fd);
    }
  }

  bool events_on() const { return event_log || config().events_journal; }

  /// Quota notices go to the event file beside the flow events (journald gets the log line).
  Quotas::Emit quota_events() {
    return [this](const std::string& line) {
      if (event_log) {
        event_log->write(line);
      }
    };
  }
  static std::chrono::sys_seconds sys_now() {
    return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  }

  void emit(EventType type, const EventFlow& f) {
    const auto cfg = daemon.store_.current();
    try {
      if (event_log) {
        const std::vector<uint64_t> used = quotas.used();
        event_log->write(flow_event(type, f, *cfg, daemon.store_.generation(), &used));
      }
      if (cfg->events_journal) {
        journal_event(type, f, *cfg, daemon.store_.generation());
      }
    } catch (...) {
      // Out of memory while formatting: the event is lost, the daemon goes on.
    }
  }

  void remember(const conntrack::Tuple& t, const policy::ConnRecord& r) {
    if (remembered.size() >= kMaxRemembered) {
      forgotten += remembered.size();
      remembered.clear();  // rare and bounded: ended connections lose their user in `top`
    }
    remembered[t] = r;
  }

  std::optional<policy::ConnRecord> recall(const conntrack::Entry& e) {
    if (e.label) {
      if (auto r = policy::decode_label(*e.label)) {
        return r;
      }
    }
    auto it = remembered.find(e.original);
    if (it == remembered.end()) {
      conntrack::Tuple seen = e.reply;  // a DNAT-ed connection, as the hook saw it
      std::swap(seen.src, seen.dst);
      std::swap(seen.sport, seen.dport);
      it = remembered.find(seen);
    }
    if (it == remembered.end()) {
      return std::nullopt;
    }
    policy::ConnRecord r = it->second;
    remembered.erase(it);
    return r;
  }

  /// The end of a decided connection, from its conntrack destroy event.
  void ended_connection(const conntrack::Entry& e) {
    const auto cfg = daemon.store_.current();
    if (!policy::decode(e.mark, cfg->mark_mask)) {
      return;
    }
    ++ended_decided;
    const auto r = recall(e);
    if (!r) {
      return;
    }
    ended.add_ended(e, *r, *cfg);
    if (!events_on()) {
      return;
    }
    EventFlow f;
    f.ts = wall_now();
    f.flow_id = flow_id_of(e.original);
    f.l4 = e.original.l4proto == 6 ? packet::L4::kTcp : packet::L4::kUdp;
    f.src = e.original.src;
    f.dst = e.original.dst;
    f.sport = e.original.sport;
    f.dport = e.original.dport;
    f.result.app = r->app;
    f.result.evidence = r->evidence;
    f.result.features = r->features;
    f.result.final = true;
    f.classifier = "conntrack";
    const Decided d = decide_connection(*cfg, facts_of(e, *r), daemon.store_.schedules());
    f.decision.when = CachedDecision::When::kFinal;
    f.decision.generation = daemon.store_.generation();
    f.decision.decision = d.decision;
    f.decision.identity = d.identity;
    f.decision.features = d.features;
    for (size_t i = 0; i < 2; ++i) {
      f.packets[i] = e.packets[i];
      f.bytes[i] = e.bytes[i];
    }
    f.end = e.original.l4proto == 6 ? EndReason::kTcpClosed : EndReason::kIdle;
    emit(EventType::kFlowEnd, f);
  }

  std::string metrics_text() {
    const auto cfg = daemon.store_.current();
    MetricsInput in;
    in.version = version();
    in.stats = live();
    for (auto& w : daemon.workers_) {
      for (size_t a = 0; a < in.decisions.size(); ++a) {
        for (size_t app = 0; app < policy::kAppCount; ++app) {
          in.decisions[a][app] += w->counters.decided_by_action_app[a][app].get();
        }
      }
    }
    uint64_t decided = 0;
    for (const uint64_t n : in.stats.decided_by_action) {
      decided += n;
    }
    in.flows_active = decided > ended_decided ? decided - ended_decided : 0;
    in.policy_generation = daemon.store_.generation();
    in.bytes = make_user_bytes(*cfg);
    in.quotas = quotas.views();
    in.quota_snapshot_problems = quotas.snapshot_problems();
    auto slot_of = [&](const std::string& user) {
      for (size_t i = 0; i + 1 < in.bytes.size(); ++i) {
        if (in.bytes[i].user == user) {
          return i;
        }
      }
      return in.bytes.size() - 1;  // "other"
    };
    for (const auto& [user, by_cat] : ended.bytes_by_user_category) {
      for (size_t c = 0; c < by_cat.size(); ++c) {
        in.bytes[slot_of(user)].bytes_by_category[c] += by_cat[c];
      }
    }
    std::string error;
    for (const FlowView& v : open_flows("", "", error)) {
      const auto cat = classifiers::category_from_name(v.category);
      if (cat) {
        in.bytes[slot_of(v.user)].bytes_by_category[static_cast<size_t>(*cat)] +=
            v.entry.bytes[0] + v.entry.bytes[1];
      }
    }
    return render_metrics(in);
  }

  /// One scrape: "GET /metrics" (any other path: 404). The listener is local and the
  /// answer small, so one blocking exchange with a 2 s bound is enough.
  void serve_metrics() {
    const int c = accept4(metrics_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      return;
    }
    timeval tv{2, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char buf[2048];
    const ssize_t n = recv(c, buf, sizeof buf - 1, 0);
    std::string request = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    std::string body;
    std::string head;
    if (request.starts_with("GET /metrics ") || request.starts_with("GET /metrics?")) {
      body = metrics_text();
      head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n";
    } else {
      body = "imguard: metrics are at /metrics\n";
      head = "HTTP/1.0 404 Not Found\r\nContent-Type: text/plain\r\n";
    }
    const std::string reply = head + "Content-Length: " + std::to_string(body.size()) +
                              "\r\nConnection: close\r\n\r\n" + body;
    size_t done = 0;
    while (done < reply.size()) {
      const ssize_t w = send(c, reply.data() + done, reply.size() - done, MSG_NOSIGNAL);
      if (w <= 0) {
        break;
      }
      done += static_cast<size_t>(w);
    }
    close(c);
  }

  /// node_exporter's textfile collector reads whole files: write a temporary, then rename.
  void write_textfile() {
    const std::string& path = config().metrics_textfile;
    if (path.empty()) {
      return;
    }
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr) {
      return;
    }
    const std::string text = metrics_text();
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) == 0 && ok) {
      std::rename(tmp.c_str(), path.c_str());
    } else {
      std::remove(tmp.c_str());
    }
  }

  const policy::Config& config() const { return *daemon.store_.current(); }
  DaemonStats& stats() { return daemon.stats_; }

  void redecide(const char* why) {
    if (!ct) {
      return;
    }
    const auto cfg = daemon.store_.current();
    const RedecideStats r = redecide_all(*ct, *cfg, daemon.store_.schedules());
    stats().remarked += r.writes.applied;
    log_info("re-decided open connections ({}): {}", why, describe(r).c_str());
  }

  /// Writes the label records the workers queued. A record decided under an older
  /// generation is decided again first, so a reload racing a decision cannot leave it
  /// under the old policy.
  void write_records() {
    if (!ct) {
      for (auto& w : daemon.workers_) {
        while (w->records.pop()) {
        }
      }
      return;
    }
    const auto cfg = daemon.store_.current();
    const uint64_t generation = daemon.store_.generation();
    const uint64_t schedules = daemon.store_.schedules();
    pending.clear();
    for (auto& w : daemon.workers_) {
      while (auto r = w->records.pop()) {
        if (r->kind == RecordKind::kEventOnly) {
          if (events_on()) {
            emit(EventType::kDecision, r->event);
          }
          continue;
        }
        conntrack::Update u;
        u.original = r->original;
        u.label = policy::encode_label(r->record);
        u.label_mask = policy::label_mask();
        if (r->generation != generation) {
          conntrack::Entry e;
          e.original = r->original;
          e.reply.src = r->original.dst;
          e.mark = ~0u;  // any decided value; only the new window matters here
          const Decided d = decide_connection(*cfg, facts_of(e, r->record), schedules);
          u.mark = policy::encode(d.decision, cfg->mark_mask);
          u.mark_mask = cfg->mark_mask;
        }
        pending.push_back(u);
        remember(r->original, r->record);
        if (events_on()) {
          emit(EventType::kDecision, r->event);
        }
      }
    }
    if (pending.empty()) {
      return;
    }
    conntrack::UpdateStats s = ct->update(pending);
    if (!s.missing.empty()) {
      // Not found by the tuple the hook saw as original: a DNAT-ed connection (a port
      // forward to a local server), which the forward hook sees translated, i.e. as the
      // conntrack reply tuple reversed.
      std::vector<conntrack::Update> retry;
      for (size_t i : s.missing) {
        conntrack::Update u = pending[i];
        std::swap(u.original.src, u.original.dst);
        std::swap(u.original.sport, u.original.dport);
        u.by_reply = true;
        retry.push_back(u);
      }
      const conntrack::UpdateStats r = ct->update(retry);
      s.applied += r.applied;
      s.not_found = r.not_found;
      s.failed += r.failed;
      if (s.first_error.empty()) {
        s.first_error = r.first_error;
      }
    }
    stats().records_written += s.applied;
    stats().records_failed += s.failed + s.not_found;
    if (s.failed > 0) {
      log_warning("writing {} label record(s) failed: {}",
                  static_cast<unsigned long long>(s.failed), s.first_error.c_str());
    }
  }

  /// Parse → validate → install the new ruleset → swap → re-decide. All or nothing: on
  /// any failure the running policy and ruleset stay as they were.
  std::string reload(const std::string& trigger) {
    service.reloading();
    std::string answer = reload_file(trigger);
    service.ready(summary());
    return answer;
  }

  std::string summary() {
    const DaemonStats s = live();
    uint64_t decided = 0;
    for (const uint64_t n : s.decided_by_action) {
      decided += n;
    }
    return "generation " + std::to_string(daemon.store_.generation()) + ", " +
           std::to_string(daemon.workers_.size()) + " worker(s), " + std::to_string(decided) +
           " connections decided (" + std::to_string(s.decided_by_action[1]) + " drop, " +
           std::to_string(s.decided_by_action[2]) + " reject, " +
           std::to_string(s.decided_by_action[3]) + " throttle), " + std::to_string(s.reloads) +
           " reloads";
  }

  /// The kernel's queue drop counters, read every few seconds; an increase is logged at
  /// most once a minute (a flood must not turn into a log flood).
  uint64_t last_drops = 0;
  std::chrono::steady_clock::time_point next_drop_log{};
  void kernel_drops() {
    uint64_t drops = 0;
    for (auto& w : daemon.workers_) {
      w->queue->read_kernel_counters();
      const nfq::QueueStats& q = w->queue->stats();
      drops += q.kernel_queue_dropped + q.kernel_user_dropped;
    }
    const auto now = std::chrono::steady_clock::now();
    if (drops > last_drops && now >= next_drop_log) {
      log_warning(
          "the kernel dropped {} queued packet(s) since the last report (queue full "
          "while fail-closed, or the socket buffer overran); engine.queue.maxlen and "
          "more queues help",
          drops - last_drops);
      last_drops = drops;
      next_drop_log = now + std::chrono::minutes(1);
    }
    conntrack_full(now);
  }

  /// The conntrack table filling up is the kernel's business (it evicts or drops), but
  /// the admin must learn about it: counted, and logged at most once a minute.
  uint64_t last_ct_losses = 0;
  std::chrono::steady_clock::time_point next_ct_log{};
  void conntrack_full(std::chrono::steady_clock::time_point now) {
    conntrack::KernelStats k;
    if (!conntrack::read_kernel_stats(k)) {
      return;
    }
    stats().conntrack_insert_failed = k.insert_failed;
    stats().conntrack_drop = k.drop;
    stats().conntrack_early_drop = k.early_drop;
    const uint64_t losses = k.insert_failed + k.drop + k.early_drop;
    if (losses > last_ct_losses && now >= next_ct_log) {
      log_warning(
          "conntrack table full: {} connection(s) evicted, refused or dropped since the last "
          "report ({} tracked); raise net.netfilter.nf_conntrack_max",
          losses - last_ct_losses, static_cast<unsigned long long>(k.entries));
      last_ct_losses = losses;
      next_ct_log = now + std::chrono::minutes(1);
    }
  }

  /// Keep-alive only while no worker is stuck inside one packet for half the interval.
  void watchdog() {
    const auto interval = service.watchdog();
    if (interval.count() == 0) {
      return;
    }
    const int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
    const int64_t limit =
        std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count() / 2;
    for (size_t i = 0; i < daemon.workers_.size(); ++i) {
      const int64_t since = daemon.workers_[i]->busy_since_ns.load(std::memory_order_relaxed);
      if ((since != 0 && now - since > limit) ||
          daemon.workers_[i]->failed.load(std::memory_order_acquire)) {
        if (!wedged_logged) {
          log_warning("worker {} makes no progress; withholding the watchdog keep-alive", i);
          wedged_logged = true;
        }
        return;
      }
    }
    wedged_logged = false;
    service.keep_alive();
  }

  std::string reload_file(const std::string& trigger) {
    auto loaded = policy::load_config_file(daemon.options_.config_path);
    auto refuse = [&](const std::string& why) {
      ++stats().policy_reload_failed;
      log_warning("reload ({}) rejected; the running policy is unchanged", trigger);
      for (size_t at = 0; at < why.size();) {
        const size_t nl = why.find('\n', at);
        log_warning("{}", why.substr(at, nl == std::string::npos ? std::string::npos : nl - at));
        at = nl == std::string::npos ? why.size() : nl + 1;
      }
      return "error\n" + why;
    };
    if (const auto* e = std::get_if<policy::LoadError>(&loaded)) {
      std::string msg;
      for (const std::string& m : e->messages) {
        msg += m + "\n";
      }
      return refuse(msg);
    }
    auto next = std::get<std::shared_ptr<const policy::Config>>(std::move(loaded));
    if (const std::string key = restart_only_change(config(), *next); !key.empty()) {
      return refuse(daemon.options_.config_path + ": " + key +
                    " changed; it takes effect only at a restart (expected: the running "
                    "value, or restart imguard)\n");
    }
    if (fw->plan() == firewall::Plan::kIptables && !next->policy.quota_pools.empty()) {
      return refuse(daemon.options_.config_path +
                    ": rules with a quota need nftables, and this daemon enforces with iptables "
                    "(expected: no quota, or a restart on a host where nftables is usable)\n");
    }
    auto fresh = firewall::Firewall::create_for_plan(*next, fw->plan(), firewall::system_runner());
    Quotas next_quotas = quotas.rebound(next, *fw, *fresh, sys_now(), quota_events());
    if (auto r = fresh->install(); std::holds_alternative<firewall::Error>(r)) {
      return refuse("installing the new ruleset failed: " + std::get<firewall::Error>(r).message +
                    "\n");
    }
    fw = std::move(fresh);
    quotas = std::move(next_quotas);
    const uint64_t sched = schedules_at(next->policy, wall_now());
    std::string warnings;
    for (const std::string& w : next->warnings) {
      warnings += w + "\n";
    }
    daemon.store_.publish(next, sched);
    ++stats().reloads;
    log_info("reloaded {} ({}); generation {}", daemon.options_.config_path, trigger,
             daemon.store_.generation());
    for (const std::string& w : next->warnings) {
      log_warning("{}", w);
    }
    write_records();
    redecide("reload");
    return "ok\nreloaded " + daemon.options_.config_path + ", generation " +
           std::to_string(daemon.store_.generation()) + "\n" + warnings;
  }

  DaemonStats live() {
    DaemonStats s = stats();
    for (auto& w : daemon.workers_) {
      s.add(w->counters);
      add_queue_stats(s, w->queue->stats());
    }
    return s;
  }

  std::string status() {
    const auto cfg = daemon.store_.current();
    const auto up = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - started);
    std::string active;
    for (size_t i = 0; i < cfg->policy.schedules.size(); ++i) {
      if ((daemon.store_.schedules() >> i) & 1u) {
        active += (active.empty() ? "" : ",") + cfg->policy.schedules[i].name;
      }
    }
    return "ok\nversion=" + std::string(version()) + " uptime_s=" + std::to_string(up.count()) +
           " config=" + cfg->source + " generation=" + std::to_string(daemon.store_.generation()) +
           " plan=" + std::string(firewall::plan_name(fw->plan())) +
           " workers=" + std::to_string(daemon.workers_.size()) +
           " enforce=" + (cfg->policy.enforce ? "true" : "false") +
           " schedules_active=" + (active.empty() ? "-" : active) + " " + live().line() + "\n" +
           quotas.text();
  }

  /// Ended connections' totals for `top`, and the end of their flows in the workers
  /// (conntrack destroy events).
  void read_events() {
    if (!events) {
      return;
    }
    std::vector<bool> woke(daemon.workers_.size(), false);
    events->read([&](const conntrack::Entry& e) {
      hand_to_workers(e, woke);
      ended_connection(e);
    });
    for (size_t i = 0; i < woke.size(); ++i) {
      if (woke[i]) {
        const uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = write(daemon.workers_[i]->wake, &one, sizeof one);
      }
    }
  }

  /// The workers do not see every FIN or RST (payload-less ones before any data stay in
  /// the kernel), so a connection's end reaches its flow from here. Every worker gets it:
  /// destroy events carry no label (ctnetlink dumps labels only on updates), so the
  /// steering number that chose the worker is not in the event; a worker that does not
  /// hold the flow pays one hash lookup.
  void hand_to_workers(const conntrack::Entry& e, std::vector<bool>& woke) {
    FlowKey c;
    c.a = e.original.src;
    c.port_a = e.original.sport;
    c.b = e.reply.src;  // the destination the hook saw (after DNAT)
    c.port_b = e.reply.sport;
    c.l4 = e.original.l4proto == 6 ? packet::L4::kTcp : packet::L4::kUdp;
    auto push = [&](size_t i) {
      if (daemon.workers_[i]->ended.push(c)) {
        woke[i] = true;
      } else {
        ++ends_dropped;  // the flow ends by its idle timeout instead
      }
    };
    for (size_t i = 0; i < daemon.workers_.size(); ++i) {
      push(i);
    }
  }

  std::vector<FlowView> open_flows(const std::string& user, const std::string& app,
                                   std::string& error) {
    std::vector<FlowView> out;
    if (!ct) {
      error = "no conntrack socket (see the start-up log)";
      return out;
    }
    const auto cfg = daemon.store_.current();
    const uint64_t sched = daemon.store_.schedules();
    ct->dump(
        [&](const conntrack::Entry& e) {
          FlowView v;
          if (view_of(e, *cfg, sched, v) && (user.empty() || v.user == user) &&
              (app.empty() || v.app == app)) {
            out.push_back(std::move(v));
          }
        },
        error);
    return out;
  }

  std::string status_json() {
    const auto cfg = daemon.store_.current();
    const DaemonStats s = live();
    Json j = Json::object();
    j["version"] = version();
    j["uptime_s"] =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
            .count();
    j["config"] = cfg->source;
    j["generation"] = daemon.store_.generation();
    j["plan"] = std::string(firewall::plan_name(fw->plan()));
    j["workers"] = daemon.workers_.size();
    j["queues"] = std::to_string(cfg->queue_first) + "-" +
                  std::to_string(cfg->queue_first + cfg->queue_count - 1);
    j["enforce"] = cfg->policy.enforce;
    Json active = Json::array();
    for (size_t i = 0; i < cfg->policy.schedules.size(); ++i) {
      if ((daemon.store_.schedules() >> i) & 1u) {
        active.push_back(cfg->policy.schedules[i].name);
      }
    }
    j["schedules_active"] = active;
    Json counters = Json::object();
    const std::string line = s.line();
    size_t at = 0;
    while (at < line.size()) {
      const size_t sp = line.find(' ', at);
      const std::string kv = line.substr(at, sp == std::string::npos ? std::string::npos : sp - at);
      const size_t eq = kv.find('=');
      if (eq != std::string::npos) {
        counters[kv.substr(0, eq)] = std::stoull(kv.substr(eq + 1));
      }
      at = sp == std::string::npos ? line.size() : sp + 1;
    }
    j["counters"] = counters;
    j["quotas"] = Json::parse(quotas.json());
    return "ok\n" + json_dump(j) + "\n";
  }

  std::string handle(const std::string& line) {
    std::string error;
    const auto r = parse_control_request(line, error);
    if (!r) {
      return "error\n" + error + "\n";
    }
    using Kind = ControlRequest::Kind;
    switch (r->kind) {
      case Kind::kPing:
        return "ok\n";
      case Kind::kReload:
        return reload("control socket");
      case Kind::kQuotaReset:
        return quotas.reset(r->rule, r->user, *fw, sys_now(), quota_events());
      case Kind::kStatus:
        return r->json ? status_json() : status();
      case Kind::kFlows:
      case Kind::kTop:
        break;
    }
    write_records();  // decisions of the last few milliseconds show with their user
    read_events();
    const bool flows_view = r->kind == Kind::kFlows;
    const auto flows = open_flows(flows_view ? r->user : "", flows_view ? r->app : "", error);
    if (!error.empty() && flows.empty()) {
      return "error\n" + error + "\n";
    }
    if (flows_view) {
      return "ok\n" + render_flows(flows, r->json);
    }
    std::string quota_rows = r->json ? "" : quotas.text();
    return "ok\n" + render_top(flows, ended, r->by, r->limit, r->json, r->since) +
           (quota_rows.empty() ? "" : "\n" + quota_rows);
  }

  void tick() {
    watchdog();
    write_records();
    read_events();
    quotas.tick(*fw, sys_now(), std::chrono::steady_clock::now(), quota_events());
    const policy::Config& c = config();
    const uint64_t now_mask = schedules_at(c.policy, wall_now());
    if (now_mask != daemon.store_.schedules()) {
      daemon.store_.publish_schedules(now_mask);
      ++stats().schedule_changes;
      log_info("schedule state changed (mask {:#x})", static_cast<unsigned long long>(now_mask));
      redecide("schedule boundary");
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_status) {
      next_status = now + std::chrono::seconds(5);
      service.status(summary());
      write_textfile();
      kernel_drops();
    }
    if (now >= next_rules_check) {
      next_rules_check = now + daemon.options_.rules_check_interval;
      auto r = fw->reinstall_if_missing();
      if (const auto* e = std::get_if<firewall::Error>(&r)) {
        log_error("re-installing rules failed: {}", e->message.c_str());
      } else if (std::get<bool>(r)) {
        ++stats().rules_reinstalled;
        log_warning("rules were missing (flushed?); re-installed");
      }
    }
  }
};

int Daemon::run(std::unique_ptr<firewall::Firewall> firewall, int signal_fd) {
  Control ctl(*this, std::move(firewall));
  const int worker_stop = eventfd(0, EFD_CLOEXEC);
  const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (worker_stop < 0 || timer < 0) {
    log_error("eventfd/timerfd: {}", std::strerror(errno));
    return 1;
  }
  for (auto& w : workers_) {
    log_caps(*w->queue);
  }
  std::string error;
  if (!options_.control_path.empty()) {
    ctl.server = ControlServer::open(options_.control_path, error);
    if (!ctl.server) {
      log_error("{}", error);
      close(worker_stop);
      close(timer);
      return 1;
    }
  }
  // Everything that can fail is set up before the rules go in.
  if (const policy::Config& c = ctl.config(); !c.events_file.empty()) {
    ctl.event_log = std::make_unique<EventLog>(c.events_file);
    if (!ctl.event_log->ok()) {
      log_warning("events file {}: {}", c.events_file.c_str(), ctl.event_log->last_error().c_str());
    }
  }
  if (const std::string& listen_at = ctl.config().metrics_listen; !listen_at.empty()) {
    ctl.metrics_fd = listen_tcp(listen_at, error);
    if (ctl.metrics_fd < 0) {
      log_error("metrics listener: {}", error.c_str());
      close(worker_stop);
      close(timer);
      return 1;
    }
  }
  // Quota counts of the last run go into the ruleset's quota objects.
  ctl.quotas.start(store_.current(), *ctl.fw, Control::sys_now(), ctl.quota_events());
  // Queues are bound before the rules go in, so fail-closed sites never see a gap.
  if (auto r = ctl.fw->install(); std::holds_alternative<firewall::Error>(r)) {
    log_error("installing rules failed: {}", std::get<firewall::Error>(r).message.c_str());
    close(worker_stop);
    close(timer);
    return 1;
  }
  // Byte counters per connection (nf_conntrack_acct), for `imguard top` and `flows`:
  // the kernel attaches them only to connections created while it is on.
  if (FILE* acct = std::fopen("/proc/sys/net/netfilter/nf_conntrack_acct", "w")) {
    std::fputs("1\n", acct);
    std::fclose(acct);
  } else {
    log_warning("cannot enable nf_conntrack_acct; `top` will count 0 bytes");
  }
  ctl.events = conntrack::Events::open(error);
  if (!ctl.events) {
    log_warning(
        "{}; `top` counts only open connections, and flows leave the workers by their "
        "idle timeout",
        error.c_str());
  }
  ctl.ct = conntrack::Conntrack::open(error);
  if (!ctl.ct) {
    log_warning("{}; open connections will not be re-decided on reload or at schedule boundaries",
                error.c_str());
  }
  // A restart: decisions kept in ct marks are checked against the policy loaded now.
  ctl.redecide("start");
  if (std::string why; options_.after_start_up && !options_.after_start_up(why)) {
    log_error("{}; removing the rules", why.c_str());
    ctl.fw->remove();
    close(worker_stop);
    close(timer);
    return 1;
  }
  log_info("rules installed ({}); {} worker(s) running", firewall::plan_name(ctl.fw->plan()),
           workers_.size());
  try {
    for (auto& w : workers_) {
      Worker* raw = w.get();
      w->thread = std::thread([raw, worker_stop] { raw->run(worker_stop); });
    }
  } catch (const std::exception& e) {
    // A thread that cannot start must not leave the rules behind (fail-closed queues
    // would block everything with nobody answering): stop what started, remove them.
    log_error("starting the workers failed: {}; removing the rules", e.what());
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t w = write(worker_stop, &one, sizeof one);
    for (auto& worker : workers_) {
      if (worker->thread.joinable()) {
        worker->thread.join();
      }
    }
    ctl.fw->remove();
    close(worker_stop);
    close(timer);
    return 1;
  }
  ctl.service.ready(ctl.summary());
  const auto tick_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(options_.tick).count();
  itimerspec its{};
  its.it_interval.tv_sec = tick_ns / 1'000'000'000;
  its.it_interval.tv_nsec = tick_ns % 1'000'000'000;
  its.it_value = its.it_interval;
  timerfd_settime(timer, 0, &its, nullptr);
  int rc = 0;
  bool stop = false;
  while (!stop) {
    pollfd p[4] = {
        {signal_fd, POLLIN, 0}, {timer, POLLIN, 0}, {-1, POLLIN, 0}, {ctl.metrics_fd, POLLIN, 0}};
    if (ctl.server) {
      p[2].fd = ctl.server->fd();
    }
    if (poll(p, 4, -1) < 0) {
      continue;  // EINTR
    }
    if ((p[0].revents & POLLIN) != 0) {
      signalfd_siginfo si{};
      if (read(signal_fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGHUP) {
          ctl.reload("SIGHUP from pid " + std::to_string(si.ssi_pid));
        } else if (si.ssi_signo == SIGUSR1) {
          if (ctl.event_log && !ctl.event_log->reopen()) {
            log_warning("reopening {}: {}", ctl.event_log->path().c_str(),
                        ctl.event_log->last_error().c_str());
          }
        } else {
          log_info("signal {} from pid {}: stopping", si.ssi_signo, si.ssi_pid);
          stop = true;
        }
      }
    }
    if ((p[3].revents & POLLIN) != 0) {
      ctl.serve_metrics();
    }
    if ((p[2].revents & POLLIN) != 0) {
      ctl.server->serve_one([&ctl](const std::string& req) { return ctl.handle(req); });
    }
    if ((p[1].revents & POLLIN) != 0) {
      uint64_t expirations = 0;
      if (read(timer, &expirations, sizeof expirations) > 0) {
        ctl.tick();
      }
      for (auto& w : workers_) {
        if (w->failed.load(std::memory_order_acquire)) {
          log_warning("a worker stopped on a socket error; shutting down");
          rc = 1;
          stop = true;
        }
      }
    }
  }
  ctl.service.stopping();
  if (ctl.ends_dropped != 0) {
    log_warning(
        "{} connection end(s) did not fit a worker's ring; those flows left by their idle "
        "timeout instead",
        static_cast<unsigned long long>(ctl.ends_dropped));
  }
  // Records queued in the last tick: written now, so a restart can re-decide them.
  ctl.write_records();
  // The last quota counts, read before the rules (and the kernel's counters) go.
  ctl.quotas.stop(*ctl.fw, Control::sys_now(), ctl.quota_events());
  // Rules out first: nothing new is queued, then each worker answers what it holds.
  if (auto r = ctl.fw->remove(); std::holds_alternative<firewall::Error>(r)) {
    log_error("removing rules failed: {}", std::get<firewall::Error>(r).message.c_str());
    rc = 1;
  } else {
    log_info("rules removed");
  }
  const uint64_t one = 1;
  if (write(worker_stop, &one, sizeof(one)) != sizeof(one)) {
    log_error("eventfd write: {}", std::strerror(errno));
  }
  for (auto& w : workers_) {
    w->thread.join();
    if (w->failed.load()) {
      log_error("{}", w->queue->last_error());
      rc = 1;
    }
    w->queue->read_kernel_counters();
    add_queue_stats(stats_, w->queue->stats());
    stats_.add(w->counters);
    stats_.queued.merge(w->queued);
  }
  close(worker_stop);
  close(timer);
  workers_.clear();  // unbinds every queue
  return rc;
}

}  // namespace imguard::engine
