// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/flow_table.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <new>
#include <utility>

namespace imguard::engine {
namespace {

using packet::tcp_flag::kAck;
using packet::tcp_flag::kFin;
using packet::tcp_flag::kRst;
using packet::tcp_flag::kSyn;

FlowKey key_of(packet::L4 l4, const packet::Address& src, uint16_t sport,
               const packet::Address& dst, uint16_t dport) noexcept {
  FlowKey k;
  k.l4 = l4;
  if (std::tie(src, sport) <= std::tie(dst, dport)) {
    k.a = src;
    k.port_a = sport;
    k.b = dst;
    k.port_b = dport;
  } else {
    k.a = dst;
    k.port_a = dport;
    k.b = src;
    k.port_b = sport;
  }
  return k;
}

}  // namespace

size_t FlowKeyHash::operator()(const FlowKey& k) const noexcept {
  // Every field that operator== compares, packed without padding: SipHash under the
  // process key, so a peer cannot pick ports or addresses that share a bucket (an unkeyed
  // mix let 15,000 crafted UDP keys from one source land in one bucket).
  std::array<uint8_t, 2 * 17 + 5> buf{};
  size_t n = 0;
  for (const packet::Address* a : {&k.a, &k.b}) {
    std::memcpy(buf.data() + n, a->bytes.data(), a->bytes.size());
    n += a->bytes.size();
    buf[n++] = static_cast<uint8_t>(a->family);
  }
  buf[n++] = static_cast<uint8_t>(k.port_a >> 8);
  buf[n++] = static_cast<uint8_t>(k.port_a);
  buf[n++] = static_cast<uint8_t>(k.port_b >> 8);
  buf[n++] = static_cast<uint8_t>(k.port_b);
  buf[n++] = static_cast<uint8_t>(k.l4);
  return static_cast<size_t>(packet::siphash24(key_, std::span<const uint8_t>(buf.data(), n)));
}

std::string_view end_reason_name(EndReason r) noexcept {
  switch (r) {
    case EndReason::kIdle:
      return "idle";
    case EndReason::kTcpClosed:
      return "tcp_closed";
    case EndReason::kEvicted:
      return "evicted";
    case EndReason::kPortReused:
      return "port_reused";
    case EndReason::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

namespace {
// Closed 5-tuples remembered per flow of capacity (16 bytes each, power of two).
constexpr size_t kClosedPerFlows = 8;
constexpr size_t kMinClosed = 1024;

size_t closed_slots(size_t capacity) noexcept {
  size_t n = kMinClosed;
  while (n < capacity / kClosedPerFlows) {
    n *= 2;
  }
  return n;
}

size_t bucket_count(size_t capacity) noexcept {
  size_t n = 16;
  while (n < capacity) {
    n *= 2;
  }
  return n;
}
}  // namespace

FlowKey Flow::key() const noexcept {
  return key_of(l4, client, client_port, server, server_port);
}

FlowTable::FlowTable(Config config, EndFn on_end)
    : config_(config),
      on_end_(std::move(on_end)),
      buckets_(bucket_count(config.capacity), nullptr),
      closed_(closed_slots(config.capacity)) {
  closed_touched_.reserve(closed_.size());
}

FlowTable::~FlowTable() {
  flush();
}

size_t FlowTable::bytes_per_flow() noexcept {
  // The flow's own allocation (glibc: 8 bytes of header, 16-byte granules) and one
  // bucket slot (at most one bucket per flow of capacity).
  return (sizeof(Flow) + sizeof(size_t) + 15) / 16 * 16 + sizeof(Flow*);
}

std::chrono::microseconds FlowTable::timeout_of(const Flow& flow) const noexcept {
  if (flow.l4 == packet::L4::kUdp) {
    return config_.udp_idle;
  }
  return flow.tcp_closed() ? config_.closed_linger : config_.tcp_idle;
}

void FlowTable::unlink(Flow& f) noexcept {
  (f.older_ != nullptr ? f.older_->newer_ : oldest_) = f.newer_;
  (f.newer_ != nullptr ? f.newer_->older_ : newest_) = f.older_;
  f.older_ = f.newer_ = nullptr;
}

void FlowTable::touch(Flow& f) noexcept {
  if (newest_ == &f) {
    return;
  }
  if (f.older_ != nullptr || f.newer_ != nullptr || oldest_ == &f) {
    unlink(f);
  }
  f.older_ = newest_;
  if (newest_ != nullptr) {
    newest_->newer_ = &f;
  }
  newest_ = &f;
  if (oldest_ == nullptr) {
    oldest_ = &f;
  }
}

void FlowTable::remember_closed(const Flow& flow) noexcept {
  const size_t h = hash_(flow.key());
  const size_t at = h & (closed_.size() - 1);
  if (closed_[at].until == Timestamp{} && closed_touched_.size() < closed_touched_.capacity()) {
    closed_touched_.push_back(at);  // full: reset() clears every slot instead
  } else if (closed_[at].until == Timestamp{}) {
    closed_overflow_ = true;
  }
  closed_[at] = Closed{h, flow.last_seen + config_.tcp_idle};
}

bool FlowTable::recently_closed(size_t hash, Timestamp now) const noexcept {
  const Closed& c = closed_[hash & (closed_.size() - 1)];
  return c.hash == hash && c.until != Timestamp{} && now < c.until;
}

void FlowTable::end(Flow& flow, EndReason reason) noexcept {
  // A closed connection that leaves before its port pair is reused or the run ends: its
  // stray packets must not start a second flow (track()).
  if (flow.l4 == packet::L4::kTcp && flow.tcp_closed() && reason != EndReason::kPortReused &&
      reason != EndReason::kShutdown) {
    remember_closed(flow);
  }
  unlink(flow);
  on_end_(flow, reason);
  Flow** link = &buckets_[hash_(flow.key()) & (buckets_.size() - 1)];
  while (*link != &flow) {
    link = &(*link)->bucket_next_;  // the flow is in its chain: the loop ends there
  }
  *link = flow.bucket_next_;
  --size_;
  delete &flow;
}

Flow* FlowTable::find(const FlowKey& key, size_t hash) const noexcept {
  for (Flow* f = buckets_[hash & (buckets_.size() - 1)]; f != nullptr; f = f->bucket_next_) {
    if (f->l4 == key.l4 && f->key() == key) {
      return f;
    }
  }
  return nullptr;
}

Flow* FlowTable::create(const FlowKey& key, size_t hash, const packet::PacketView& pkt,
                        const PacketMeta& meta) noexcept {
  if (size_ >= config_.capacity && oldest_ != nullptr) {
    ++stats_.evicted;
    end(*oldest_, EndReason::kEvicted);
  }
  Flow* f = new (std::nothrow) Flow();
  if (f == nullptr) {
    ++stats_.alloc_failed;
    return nullptr;
  }
  Flow*& head = buckets_[hash & (buckets_.size() - 1)];
  f->bucket_next_ = head;
  head = f;
  ++size_;
  f->l4 = key.l4;
  // A capture that starts mid-handshake: the SYN-ACK's receiver is the client. Live, the
  // conntrack direction says who initiated.
  const bool reply_first =
      meta.conn_direction ? *meta.conn_direction == Direction::kServerToClient
                          : pkt.l4 == packet::L4::kTcp && pkt.has_flag(kSyn) && pkt.has_flag(kAck);
  f->client = reply_first ? pkt.dst : pkt.src;
  f->client_port = reply_first ? pkt.dport : pkt.sport;
  f->server = reply_first ? pkt.src : pkt.dst;
  f->server_port = reply_first ? pkt.sport : pkt.dport;
  f->id = next_id_++;
  f->first_seen = pkt.ts;
  f->start_seen = meta.start_seen || (pkt.l4 == packet::L4::kTcp && pkt.has_flag(kSyn));
  ++stats_.created;
  return f;
}

FlowTable::Hit FlowTable::track(const packet::PacketView& pkt, const PacketMeta& meta) noexcept {
  const FlowKey key = key_of(pkt.l4, pkt.src, pkt.sport, pkt.dst, pkt.dport);
  const size_t h = hash_(key);
  Flow* f = find(key, h);
  // A fresh SYN on a closed connection is a new connection reusing the port pair.
  if (f != nullptr &&
      ((f->tcp_closed() && pkt.has_flag(kSyn) && !pkt.has_flag(kAck)) || meta.new_conntrack)) {
    ++stats_.port_reused;
    end(*f, EndReason::kPortReused);
    f = nullptr;
  }
  if (f == nullptr) {
    if (pkt.l4 == packet::L4::kTcp) {
      // Offline only: live, payload-less segments (the SYN among them) stay in the kernel
      // and a queued packet always belongs to a conntrack entry that is still undecided,
      // so a reused port pair's first data must start its flow (conntrack ends the old one).
      if (!meta.conn_direction && !pkt.has_flag(kSyn) && recently_closed(h, pkt.ts)) {
        ++stats_.after_close;
        return Hit{.flow = nullptr, .direction = Direction::kClientToServer, .after_close = true};
      }
      Closed& slot = closed_[h & (closed_.size() - 1)];
      if (slot.hash == h) {
        slot = Closed{};  // a SYN opens the 5-tuple again
      }
    }
    f = create(key, h, pkt, meta);
    if (f == nullptr) {
      return Hit{};
    }
    if (meta.inbound) {
      f->host_is_responder = *meta.inbound == (f->client == pkt.src);
    }
  }
  const bool from_client = pkt.src == f->client && pkt.sport == f->client_port;
  const Direction dir = from_client ? Direction::kClientToServer : Direction::kServerToClient;
  const auto d = static_cast<size_t>(dir);
  f->last_seen = pkt.ts;
  ++f->packets[d];
  f->bytes[d] += pkt.wire_length;
  if (!pkt.payload.empty()) {
    ++f->payload_packets[d];
  }
  if (meta.src_mac && (f->mac_seen & (1u << d)) == 0) {
    f->mac[d] = *meta.src_mac;
    f->mac_seen = static_cast<uint8_t>(f->mac_seen | (1u << d));
  }
  if (meta.uid && !f->uid) {
    f->uid = meta.uid;
  }
  if (pkt.l4 == packet::L4::kTcp) {
    if (pkt.has_flag(kFin)) {
      f->fin_seen = static_cast<uint8_t>(f->fin_seen | (1u << d));
    }
    if (pkt.has_flag(kRst)) {
      f->rst_seen = true;
    }
  }
  touch(*f);
  return Hit{f, dir};
}

bool FlowTable::end_connection(const packet::Address& src, uint16_t sport,
                               const packet::Address& dst, uint16_t dport, packet::L4 l4,
                               EndReason reason) noexcept {
  const FlowKey key = key_of(l4, src, sport, dst, dport);
  Flow* f = find(key, hash_(key));
  if (f == nullptr) {
    return false;
  }
  ++stats_.ended_by_conntrack;
  end(*f, reason);
  return true;
}

void FlowTable::expire_idle(Timestamp now) noexcept {
  // Idle order is exact per flow but timeouts differ by kind, so a young flow near the
  // front (e.g. a just-closed TCP flow) may sit behind an older long-timeout flow; the
  // walk stops at the first flow that is fresher than the shortest timeout.
  const auto shortest = std::min({std::chrono::microseconds(config_.closed_linger),
                                  std::chrono::microseconds(config_.udp_idle),
                                  std::chrono::microseconds(config_.tcp_idle)});
  size_t budget = config_.expire_batch;
  size_t visits = config_.expire_batch * 4;
  Flow* f = oldest_;
  while (f != nullptr && budget > 0 && visits-- > 0 && now - f->last_seen >= shortest) {
    Flow* next = f->newer_;
    if (now - f->last_seen >= timeout_of(*f)) {
      const EndReason why = f->tcp_closed() ? EndReason::kTcpClosed : EndReason::kIdle;
      ++(why == EndReason::kTcpClosed ? stats_.ended_tcp_closed : stats_.ended_idle);
      end(*f, why);
      --budget;
    }
    f = next;
  }
}

void FlowTable::flush() noexcept {
  while (oldest_ != nullptr) {
    end(*oldest_, EndReason::kShutdown);
  }
}

void FlowTable::reset() noexcept {
  flush();
  if (closed_overflow_) {
    std::fill(closed_.begin(), closed_.end(), Closed{});
  } else {
    for (const size_t at : closed_touched_) {
      closed_[at] = Closed{};
    }
  }
  closed_touched_.clear();
  closed_overflow_ = false;
  next_id_ = 0;
  stats_ = Stats{};
}

}  // namespace imguard::engine
