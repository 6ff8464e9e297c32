// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>
#include <span>
#include <string>

#include "classifiers/chain.h"
#include "engine/decider.h"
#include "engine/flow_table.h"
#include "packet/anomaly.h"

namespace imguard::engine {

/// A finished flow as reported to logs and `imguard classify`: the first packet's
/// direction, counters and the classification, with names resolved.
struct FlowRecord {
  uint64_t id = 0;
  packet::L4 l4 = packet::L4::kTcp;
  packet::Address src;
  packet::Address dst;
  uint16_t sport = 0;
  uint16_t dport = 0;
  classifiers::Classification result;
  std::string_view classifier;  // static storage: a classifier's name()
  uint64_t packets[2] = {0, 0};
  uint64_t bytes[2] = {0, 0};
  Timestamp first_seen{};
  Timestamp last_seen{};
  EndReason end = EndReason::kShutdown;
  /// The decision the flow got (CachedDecision::When::kNone when no policy was given).
  CachedDecision decision;
};

/// Receives flows as they leave the table. Called on the analyzer's thread.
class FlowSink {
 public:
  virtual ~FlowSink() = default;
  virtual void on_flow_end(const FlowRecord& record) = 0;
};

/// Packet counters of one analyzer.
struct AnalyzerStats {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  uint64_t flow_packets = 0;  // packets that reached a flow
  uint64_t classified_flows = 0;
  packet::AnomalyCounters anomalies;
};

/// The packet pipeline shared by the live engine and `imguard classify`: parse → flow →
/// classify until final. One per worker thread; owns its flow table and classifier chain
/// (and so its nDPI module). Not thread-safe; never throws after create().
class Analyzer {
 public:
  struct Config {
    FlowTable::Config flows;
    classifiers::Budget budget;
    classifiers::FlowLimits::Config limits;
    /// The cross-flow hint cache, shared by the daemon's workers; nullptr: the analyzer's
    /// own (offline engines, whose results must not depend on other engines).
    std::shared_ptr<classifiers::PeerCache> peers;
  };
  /// `sink` must outlive the analyzer (it is called from the destructor too). nullptr and
  /// `error` if the classifiers cannot be set up.
  static std::unique_ptr<Analyzer> create(const Config& config, FlowSink& sink, std::string& error);
  ~Analyzer();

  /// What the pipeline made of one packet.
  struct Outcome {
    Flow* flow = nullptr;  // nullptr: not a flow packet (see stats().anomalies)
    Direction direction = Direction::kClientToServer;
    bool decided_now = false;      // this packet made the classification final
    Step step = Step::kUndecided;  // what the packet did to the flow's decision
    /// flow is nullptr because the packet is a stray of a closed TCP flow that has left
    /// the table (FlowTable::Hit::after_close): nothing to classify or decide.
    bool after_close = false;
  };
  /// `l3` starts at the IP header. Expires idle flows as time advances. Classifies, then
  /// decides under `view` (engine/decider.h); a flow that ends undecided is decided at its
  /// end under the last view seen. Nothing below allocates with a throwing allocator
  /// except the flow table's insert, which catches its own std::bad_alloc (the packet then
  /// has no flow, counted in flows().stats().alloc_failed); not noexcept all the same, so
  /// whatever may throw here reaches the caller's per-packet boundary (engine/packet_guard.h)
  /// instead of terminating the process.
  Outcome on_packet(std::span<const uint8_t> l3, Timestamp ts, const PacketMeta& meta = {},
                    const PolicyView& view = {});
  /// Ends the flow of a connection that conntrack reports gone (FlowTable::end_connection);
  /// one still undecided is decided at its end, as at any end.
  bool end_connection(const packet::Address& src, uint16_t sport, const packet::Address& dst,
                      uint16_t dport, packet::L4 l4) noexcept {
    const EndReason why = l4 == packet::L4::kTcp ? EndReason::kTcpClosed : EndReason::kIdle;
    return flows_.end_connection(src, sport, dst, dport, l4, why);
  }
  /// Counts a frame the capture layer could not decode as IP.
  void count_anomaly(packet::Anomaly a) noexcept { stats_.anomalies.count(a); }
  /// Ends every flow, reporting each to the sink.
  void flush() noexcept { flows_.flush(); }
  /// Makes the analyzer behave as a new one (what `imguard classify` does between files,
  /// so one file's result never depends on the files before it): ends every flow
  /// (reported to the sink), zeroes the statistics, flow ids and the expiry clock, and
  /// clears the cross-flow state of the chain (peer cache, nDPI's caches). Cheaper than
  /// create() by three orders of magnitude. False (and `error`) if the classifiers could
  /// not be reset; the analyzer is then still usable but not clean.
  bool reset(std::string& error) noexcept;

  /// The record of a flow as it stands (what on_flow_end() reports, less the end reason).
  FlowRecord record_of(const Flow& flow) const noexcept;

  const AnalyzerStats& stats() const noexcept { return stats_; }
  const FlowTable& flows() const noexcept { return flows_; }
  const classifiers::Chain& chain() const noexcept { return *chain_; }
  /// Bytes an undecided flow costs: table entry, the chain's scratch state and nDPI's flow
  /// struct (sizeof; nDPI allocates more behind it, and reassembly buffers are extra,
  /// bounded per worker by Config::limits.reassembly_bytes). A decided flow keeps only
  /// FlowTable::bytes_per_flow(). bench/flow_memory measures both.
  static size_t bytes_per_flow() noexcept;
  /// Copies the `engine.flows` settings of a loaded configuration into `out`.
  static void apply_flow_settings(const policy::Config& c, Config& out) noexcept;

 private:
  Analyzer(const Config& config, FlowSink& sink, std::unique_ptr<classifiers::Chain> chain);
  void on_flow_end(Flow& flow, EndReason reason) noexcept;
  static classifiers::FlowContext context_of(const Flow& flow, Direction dir) noexcept;

  FlowSink& sink_;
  std::unique_ptr<classifiers::Chain> chain_;
  FlowTable flows_;
  AnalyzerStats stats_;
  Timestamp last_expiry_{};
  PolicyView view_;
};

}  // namespace imguard::engine
