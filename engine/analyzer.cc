// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/analyzer.h"

#include "classifiers/ndpi/ndpi_classifier.h"
#include "classifiers/registry.h"
#include "policy/config.h"

namespace imguard::engine {
namespace {
// Idle flows are swept at most this often (packet time), keeping the per-packet cost flat.
constexpr std::chrono::milliseconds kExpiryInterval{100};
}  // namespace

std::unique_ptr<Analyzer> Analyzer::create(const Config& config, FlowSink& sink,
                                           std::string& error) {
  auto chain = classifiers::make_chain(config.budget, error, config.peers);
  if (!chain) {
    return nullptr;
  }
  chain->limits() = classifiers::FlowLimits(config.limits);
  return std::unique_ptr<Analyzer>(new Analyzer(config, sink, std::move(chain)));
}

Analyzer::Analyzer(const Config& config, FlowSink& sink, std::unique_ptr<classifiers::Chain> chain)
    : sink_(sink),
      chain_(std::move(chain)),
      flows_(config.flows, [this](Flow& f, EndReason r) { on_flow_end(f, r); }) {}

Analyzer::~Analyzer() {
  flows_.flush();
}

bool Analyzer::reset(std::string& error) noexcept {
  flows_.reset();
  stats_ = AnalyzerStats{};
  last_expiry_ = Timestamp{};
  view_ = PolicyView{};
  if (!chain_->reset()) {
    error = "classifiers could not be reset (out of memory?)";
    return false;
  }
  return true;
}

size_t Analyzer::bytes_per_flow() noexcept {
  // An undecided flow: its table entry, the chain's scratch state (one allocation) and
  // nDPI's flow struct. Once decided only the table entry is left.
  const size_t scratch = (sizeof(classifiers::ChainScratch) + sizeof(size_t) + 15) / 16 * 16;
  return FlowTable::bytes_per_flow() + scratch + classifiers::ndpi_flow_bytes();
}

void Analyzer::apply_flow_settings(const policy::Config& c, Config& out) noexcept {
  out.flows.capacity = c.flow_capacity;
  out.flows.udp_idle = c.udp_idle;
  out.flows.tcp_idle = c.tcp_idle;
  out.limits.reassembly_bytes = static_cast<size_t>(c.reassembly_bytes);
  out.limits.quic_derivations_per_sec = c.quic_derivations_per_sec;
}

classifiers::FlowContext Analyzer::context_of(const Flow& flow, Direction dir) noexcept {
  classifiers::FlowContext ctx;
  ctx.direction = dir;
  ctx.packet_index = flow.chain_packets > 0 ? flow.chain_packets - 1 : 0;
  ctx.start_seen = flow.start_seen;
  ctx.payload_packets[0] = flow.payload_packets[0];
  ctx.payload_packets[1] = flow.payload_packets[1];
  return ctx;
}

Analyzer::Outcome Analyzer::on_packet(std::span<const uint8_t> l3, Timestamp ts,
                                      const PacketMeta& meta, const PolicyView& view) {
  ++stats_.packets;
  view_ = view;
  stats_.bytes += l3.size();
  if (ts - last_expiry_ >= kExpiryInterval) {
    flows_.expire_idle(ts);
    last_expiry_ = ts;
  }
  auto parsed = packet::parse_ip(l3, ts);
  if (const auto* a = std::get_if<packet::Anomaly>(&parsed)) {
    stats_.anomalies.count(*a);
    return Outcome{};
  }
  const auto& pkt = std::get<packet::PacketView>(parsed);
  const FlowTable::Hit hit = flows_.track(pkt, meta);
  if (hit.flow == nullptr) {
    Outcome none;
    none.after_close = hit.after_close;
    return none;
  }
  ++stats_.flow_packets;
  Flow& flow = *hit.flow;
  bool decided_now = false;
  // TCP packets without payload stay in the kernel on the live path (firewall/README.md),
  // so the chain never sees them here either: both paths decide on the same packets.
  const bool for_chain = pkt.l4 != packet::L4::kTcp || !pkt.payload.empty();
  if (!flow.chain.result.final && for_chain) {
    ++flow.chain_packets;
    decided_now = chain_->inspect(pkt, context_of(flow, hit.direction), flow.chain);
    stats_.classified_flows += decided_now ? 1 : 0;
  }
  const Step step = decide_step(view, flow, decided_now, ts);
  return Outcome{&flow, hit.direction, decided_now, step};
}

FlowRecord Analyzer::record_of(const Flow& flow) const noexcept {
  FlowRecord r;
  r.id = flow.id;
  r.l4 = flow.l4;
  r.src = flow.client;
  r.dst = flow.server;
  r.sport = flow.client_port;
  r.dport = flow.server_port;
  r.result = flow.chain.result;
  r.classifier = chain_->classifier_name(flow.chain.result.classifier);
  for (size_t d = 0; d < 2; ++d) {
    r.packets[d] = flow.packets[d];
    r.bytes[d] = flow.bytes[d];
  }
  r.first_seen = flow.first_seen;
  r.last_seen = flow.last_seen;
  r.decision = flow.decision;
  return r;
}

void Analyzer::on_flow_end(Flow& flow, EndReason reason) noexcept {
  if (!flow.chain.result.final) {
    chain_->finish(context_of(flow, Direction::kClientToServer), flow.chain);
  }
  FlowRecord r = record_of(flow);
  r.end = reason;
  if (view_.config != nullptr && flow.decision.when == CachedDecision::When::kNone) {
    // Ended before the classification settled: decided at its end, as the budget would.
    decide_step(view_, flow, true, flow.last_seen);
    flow.decision.when = CachedDecision::When::kEnd;
  }
  r.decision = flow.decision;
  chain_->release(flow.chain);
  try {
    sink_.on_flow_end(r);
  } catch (...) {
    // A sink that throws (e.g. out of memory while buffering) must not take the packet
    // path down; the record is lost, the flow still leaves the table.
  }
}

}  // namespace imguard::engine
