// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "classifiers/classifier.h"
#include "classifiers/flow_limits.h"
#include "classifiers/peer_cache.h"

namespace imguard::classifiers {

/// Bytes of per-flow classifier state every flow carries (all slots together; TCP-only and
/// UDP-only classifiers share the bytes after those of the classifiers that see both). The
/// chain refuses, at construction, a set of classifiers that needs more.
inline constexpr size_t kFlowStateBytes = 128;
/// Most classifiers one chain can hold (one bit each in ChainScratch::done).
inline constexpr size_t kMaxClassifiers = 32;
inline constexpr uint8_t kNoClassifier = 0xff;

/// The flow's classification so far; `final` once a classifier matched or the budget ran out.
/// Before that, a classifier that claimed the flow (Hold::kClaim) may have filled in a
/// provisional app (features stay empty until final): policy may act on the app early.
struct Classification {
  AppId app = AppId::kUnknown;
  Evidence evidence = Evidence::kNone;
  uint8_t features = kFeatureNone;
  uint8_t classifier = kNoClassifier;  // index into the chain, kNoClassifier if none decided
  bool final = false;
};

/// What the chain keeps of a flow while it is undecided: the classifiers' slots, which of
/// them gave up, the budget counters and a held hint. Allocated on the flow's first packet,
/// freed as soon as the classification is final (decided flows keep only the result).
struct ChainScratch {
  alignas(8) std::array<std::byte, kFlowStateBytes> slots{};
  uint32_t done = 0;  // bit i: classifier i answered NotMine (or a weak Match)
  // Counters saturate at 255; budgets are at most 64 (policy/loader.cc kMaxBudget). Kept
  // narrow so the held hint below fits the padding and flows do not grow.
  uint8_t data_packets = 0;  // payload-carrying packets inspected
  uint8_t packets = 0;       // all packets inspected
  /// The strongest weak Match held so far (see Evidence), kNoClassifier if none: a
  /// cross_flow hint from other flows or a guess from this flow's own packets (behaviour,
  /// address list). It decides once the flow showed Budget::hint_data_packets payload
  /// packets with nothing stronger, or at once when the payload is recognised only as a
  /// generic carrier (TLS, QUIC, HTTP, STUN), which does not contradict a specific app.
  AppId hint_app = AppId::kUnknown;
  // Feature bits (all below 16, classifier.h) and the Evidence share one byte, so flows do
  // not grow.
  uint8_t hint_features : 4 = kFeatureNone;
  uint8_t hint_evidence : 4 = static_cast<uint8_t>(Evidence::kNone);
  uint8_t hint_classifier = kNoClassifier;
  /// The flow is not TCP: only classifiers interested in UDP own a slot of it.
  bool udp = false;
};

/// Per-flow chain state, embedded in each flow-table entry: the classification and, while
/// it is not final, the scratch state behind it.
struct ChainFlowState {
  Classification result;
  std::unique_ptr<ChainScratch> scratch;  // nullptr before the first packet and once final
};

/// How many packets a flow may take before the chain gives up and settles for the best
/// weak answer. Counted in payload-carrying packets; bare ACKs and handshakes are free up
/// to `max_packets`.
struct Budget {
  uint16_t tcp_data_packets = 24;
  uint16_t udp_data_packets = 8;
  uint16_t max_packets = 64;
  /// Payload packets of the flow a weak Match (cross_flow hint, behaviour, address list)
  /// waits for while the payload classifiers may still recognise the flow (nDPI needs both
  /// directions for e.g. PostgreSQL; 4 covers request, answer and one more each way). A
  /// weak Match made after that many payload packets decides at once.
  uint16_t hint_data_packets = 4;
};

/// An ordered list of classifiers run over each packet of an undecided flow. One chain per
/// worker thread; not thread-safe. Never throws after construction.
class Chain {
 public:
  /// Aborts (programming error) if the classifiers' state does not fit kFlowStateBytes or
  /// there are more than kMaxClassifiers. The chain hands its PeerCache to every classifier
  /// through FlowContext::peers: `shared_peers` when given (the daemon's workers share one, so a
  /// hint learned on one worker reaches a connection steered to another), else its own,
  /// made with `peers`.
  Chain(std::vector<std::unique_ptr<Classifier>> classifiers, Budget budget,
        PeerCache::Config peers = {}, std::shared_ptr<PeerCache> shared_peers = nullptr);

  /// Shows one packet to every interested classifier that has not given up on the flow.
  /// Returns true when the flow's classification is final (match or budget spent).
  bool inspect(const packet::PacketView& pkt, const FlowContext& ctx,
               ChainFlowState& state) noexcept;
  /// Finalises an undecided flow (flow ended or budget spent): the strongest of the held
  /// weak Match and the give_up() answers wins (the held one on a tie; a generic carrier
  /// answer never displaces a specific app), otherwise the flow stays unknown.
  void finish(const FlowContext& ctx, ChainFlowState& state) noexcept;
  /// Frees per-flow classifier resources. inspect() and finish() already do it when the
  /// classification becomes final; call it when the flow leaves the table (idempotent).
  void release(ChainFlowState& state) noexcept;
  /// Forgets all cross-flow state: the peer cache, the reassembly/derivation accounting and
  /// each classifier's per-worker caches (nDPI's included), as if the chain were new. Only
  /// with no flow in the table. False if a classifier could not rebuild its state.
  bool reset() noexcept;

  std::string_view classifier_name(uint8_t index) const noexcept;
  size_t size() const noexcept { return entries_.size(); }
  const Budget& budget() const noexcept { return budget_; }
  const PeerCache& peers() const noexcept { return *peers_; }
  /// The worker's reassembly/derivation bounds, handed to classifiers via FlowContext.
  /// Configure before the first packet (replacing it later loses the bytes in use).
  FlowLimits& limits() noexcept { return limits_; }
  const FlowLimits& limits() const noexcept { return limits_; }

 private:
  struct Entry {
    std::unique_ptr<Classifier> classifier;
    Interest interest;
    size_t offset = 0;
  };
  FlowSlot slot_of(const Entry& e, ChainScratch& s) const noexcept;
  /// Whether the classifier is shown the flow (and so owns its slot bytes in it).
  static bool sees(const Entry& e, const ChainScratch& s) noexcept;
  void decide(ChainFlowState& state, uint8_t index, const Match& m) const noexcept;
  /// The held weak Match of the flow, if any.
  static std::optional<Match> held(const ChainScratch& s) noexcept;

  FlowContext with_peers(const FlowContext& ctx) noexcept;
  bool inspect_packet(const packet::PacketView& pkt, const FlowContext& ctx,
                      ChainFlowState& state) noexcept;

  std::vector<Entry> entries_;
  Budget budget_;
  std::shared_ptr<PeerCache> peers_;
  FlowLimits limits_;
};

}  // namespace imguard::classifiers
