// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "classifiers/chain.h"
#include "packet/packet.h"
#include "packet/siphash.h"
#include "policy/decision.h"
#include "policy/identity.h"

namespace imguard::engine {

using classifiers::Direction;
using packet::Timestamp;

/// Direction-independent 5-tuple: endpoint `a` is the smaller (address, port) pair.
struct FlowKey {
  packet::Address a;
  packet::Address b;
  uint16_t port_a = 0;
  uint16_t port_b = 0;
  packet::L4 l4 = packet::L4::kTcp;

  friend bool operator==(const FlowKey&, const FlowKey&) = default;
};

/// SipHash-2-4 of the key's bytes (packet/siphash.h), by default under the process's
/// random key: a peer cannot choose addresses and ports that share a bucket, so lookups
/// stay O(1) under a flood of crafted flows. Another key (tests, benches) may be given.
struct FlowKeyHash {
  FlowKeyHash() noexcept : key_(packet::process_hash_key()) {}
  explicit FlowKeyHash(packet::SipKey key) noexcept : key_(key) {}
  size_t operator()(const FlowKey& k) const noexcept;

 private:
  packet::SipKey key_;
};

enum class EndReason : uint8_t { kIdle, kTcpClosed, kEvicted, kPortReused, kShutdown };

/// What the capture layer or the queue knew about a packet beyond its bytes.
struct PacketMeta {
  std::optional<policy::MacAddress> src_mac;  // Ethernet / cooked source address
  std::optional<uint32_t> uid;                // owner of the local socket (host mode)
  /// Host mode: the packet was received by this host (INPUT) rather than sent (OUTPUT).
  std::optional<bool> inbound;
  /// Live: which way the packet travels relative to the connection's initiator, from the
  /// conntrack direction (the queue it came on). Payload-less TCP packets are not queued,
  /// so the engine never sees the SYN and must not take the first payload's sender for the
  /// client (servers speak first in SMTP, FTP, some P2P). nullopt offline: the capture's
  /// SYN or first packet tells.
  std::optional<Direction> conn_direction;
  /// Live: the connection was new to conntrack under imguard's ruleset, so it is seen from
  /// its start even though its SYN stayed in the kernel.
  bool start_seen = false;
  /// Live: the ruleset tagged this packet as the first of its conntrack entry to reach the
  /// queue (policy::new_conn_tag). A flow held under its 5-tuple belongs to an older
  /// connection that reused the port pair, whose end conntrack reports only later: it
  /// ends here, so the new connection is classified afresh instead of inheriting the old
  /// one's decision.
  bool new_conntrack = false;
};

/// When and how a flow's decision was taken (engine/decider.h), cached on the flow so
/// packets in flight are answered without deciding again. Stale when `generation` is not
/// the current policy's.
struct CachedDecision {
  enum class When : uint8_t { kNone, kClaim, kFinal, kEnd };
  /// Who the decision was taken for. The groups the policy matched on are not kept: they
  /// follow from the user and its end's address (policy::identity_for_user), and a
  /// re-decision resolves the identity again.
  struct Who {
    uint16_t user = policy::kNoUser;
    bool user_is_responder = false;
    bool sticky = false;  // found by MAC or UID
    Who& operator=(const policy::Identity& id) noexcept {
      user = id.user;
      user_is_responder = id.user_is_responder;
      sticky = id.sticky;
      return *this;
    }
  };
  When when = When::kNone;
  uint8_t features = 0;  // as the policy saw them (kFeatureServing derived)
  Who identity;
  uint64_t generation = 0;
  policy::Decision decision;
  Timestamp at{};
};
std::string_view end_reason_name(EndReason r) noexcept;

/// One bidirectional connection. Index [0] of the per-direction arrays is client→server,
/// where the client is the sender of the flow's first packet (or the SYN's sender when
/// the capture starts with a SYN-ACK).
///
/// Memory: a decided flow is this struct alone (~216 B: tuple, counters, MACs/UID for a
/// re-decision, the classification and the cached decision); while it is undecided the
/// chain's scratch state (classifiers::ChainScratch) and nDPI's flow state hang off it
/// and are freed when the classification becomes final. Fields are ordered for packing.
struct Flow {
  packet::Address client;
  packet::Address server;
  uint16_t client_port = 0;
  uint16_t server_port = 0;
  packet::L4 l4 = packet::L4::kTcp;
  uint8_t fin_seen = 0;  // bit 0: client sent FIN, bit 1: server sent FIN
  bool rst_seen = false;
  bool start_seen = false;  // a SYN was seen, or the live path said so (PacketMeta)
  /// Source MAC of each side's frames, first seen; bit d of mac_seen says [d] is valid.
  uint8_t mac_seen = 0;
  std::array<policy::MacAddress, 2> mac{};
  std::optional<bool> host_is_responder;  // host mode: the first packet came in
  std::optional<uint32_t> uid;
  uint64_t id = 0;  // creation order, unique per table
  Timestamp first_seen{};
  Timestamp last_seen{};
  uint64_t packets[2] = {0, 0};
  uint64_t bytes[2] = {0, 0};
  uint32_t payload_packets[2] = {0, 0};
  uint32_t chain_packets = 0;  // packets handed to the classifier chain
  classifiers::ChainFlowState chain;
  CachedDecision decision;

  bool tcp_closed() const noexcept { return rst_seen || fin_seen == 3; }
  /// The direction-independent 5-tuple.
  FlowKey key() const noexcept;

 private:
  friend class FlowTable;
  Flow* older_ = nullptr;  // idle order: least recently seen first
  Flow* newer_ = nullptr;
  Flow* bucket_next_ = nullptr;  // the table's hash chain
};

/// A bounded table of flows for one worker thread (not thread-safe). Flows leave through
/// the `on_end` callback, always before their memory is freed: on idle timeout, TCP close
/// (after a short linger), eviction when full (the longest-idle flow goes), port reuse,
/// or flush().
///
/// TCP flows are (re)started only by a SYN, as a reader of the capture sees them: a packet
/// without SYN whose 5-tuple belongs to a flow that closed (FIN both ways or RST) and has
/// left the table — a late FIN/ACK, a retransmission — creates no second flow; the table
/// remembers closed 5-tuples for `tcp_idle` after their last packet. A flow seen from its
/// middle (no SYN, 5-tuple never closed here) is tracked as usual.
class FlowTable {
 public:
  struct Config {
    /// Most flows held (`engine.flows.capacity`); when full the longest-idle flow goes.
    size_t capacity = 262'144;
    std::chrono::seconds tcp_idle{300};
    std::chrono::seconds udp_idle{120};
    std::chrono::seconds closed_linger{10};
    /// Most flows removed per expire_idle() call, so one packet never pays for a sweep.
    size_t expire_batch = 64;
  };
  struct Stats {
    uint64_t created = 0;
    uint64_t ended_idle = 0;
    uint64_t ended_tcp_closed = 0;
    uint64_t evicted = 0;
    uint64_t alloc_failed = 0;
    uint64_t ended_by_conntrack = 0;  // end_connection() found and ended the flow
    uint64_t port_reused = 0;         // flows ended by a newer connection on their 5-tuple
    uint64_t after_close = 0;         // packets of closed TCP flows that had left the table
  };
  using EndFn = std::function<void(Flow&, EndReason)>;

  FlowTable(Config config, EndFn on_end);
  ~FlowTable();
  FlowTable(const FlowTable&) = delete;
  FlowTable& operator=(const FlowTable&) = delete;

  struct Hit {
    Flow* flow = nullptr;  // nullptr: after_close, or memory ran out
    Direction direction = Direction::kClientToServer;
    /// A stray packet of a closed TCP flow that has left the table: it belongs to no flow.
    bool after_close = false;
  };
  /// Finds the packet's flow or creates it (evicting the longest-idle flow when full),
  /// updates counters, TCP state, what `meta` adds (MACs, uid) and idle order.
  Hit track(const packet::PacketView& pkt, const PacketMeta& meta = {}) noexcept;
  /// Ends the flow of this connection, if the table holds it (the live path learns of a
  /// connection's end from conntrack, its FIN/RST without data never being queued).
  /// `src`/`sport` are one end, `dst`/`dport` the other, in either order.
  bool end_connection(const packet::Address& src, uint16_t sport, const packet::Address& dst,
                      uint16_t dport, packet::L4 l4, EndReason reason) noexcept;
  /// Ends flows whose idle time passed their timeout, oldest first, at most expire_batch.
  void expire_idle(Timestamp now) noexcept;
  /// Ends every flow (EndReason::kShutdown), oldest first.
  void flush() noexcept;
  /// flush(), then starts over as a new table: flow ids from 0, statistics zeroed, no
  /// closed 5-tuples remembered.
  void reset() noexcept;

  size_t size() const noexcept { return size_; }
  const Stats& stats() const noexcept { return stats_; }
  const Config& config() const noexcept { return config_; }
  /// Bytes one flow costs in this table (its allocation and bucket slot), excluding the
  /// classifier state an undecided flow holds.
  static size_t bytes_per_flow() noexcept;

 private:
  /// Closed TCP 5-tuples by keyed hash, direct-mapped: a newer close overwrites an older
  /// one in the same slot (that 5-tuple's strays then start a flow again, as before).
  struct Closed {
    size_t hash = 0;
    Timestamp until{};  // zero: empty slot
  };
  void remember_closed(const Flow& flow) noexcept;
  bool recently_closed(size_t hash, Timestamp now) const noexcept;

  Flow* find(const FlowKey& key, size_t hash) const noexcept;
  Flow* create(const FlowKey& key, size_t hash, const packet::PacketView& pkt,
               const PacketMeta& meta) noexcept;
  void end(Flow& flow, EndReason reason) noexcept;
  void touch(Flow& flow) noexcept;
  void unlink(Flow& flow) noexcept;
  std::chrono::microseconds timeout_of(const Flow& flow) const noexcept;

  Config config_;
  EndFn on_end_;
  FlowKeyHash hash_;
  /// Hash chains of flows (intrusive: Flow::bucket_next_), a power of two at least the
  /// capacity, allocated once; each flow is its own allocation and never moves.
  std::vector<Flow*> buckets_;
  size_t size_ = 0;
  std::vector<Closed> closed_;  // power-of-two size
  /// Slots filled since the last reset() (so it clears only those), unless more were
  /// filled than fit (closed_overflow_: reset() clears them all).
  std::vector<size_t> closed_touched_;
  bool closed_overflow_ = false;
  Flow* oldest_ = nullptr;
  Flow* newest_ = nullptr;
  uint64_t next_id_ = 0;
  Stats stats_;
};

}  // namespace imguard::engine
