// SPDX-License-Identifier: GPL-3.0-or-later
// Cross-flow P2P peer cache and the classifier that consults it (see peer_cache.h).
// Signature: the flow's responder (TCP) or either endpoint (UDP) was learned as a P2P
// endpoint, within the TTL, by one of this flow's two hosts (another host's hints never
// count). A hint only: payload matches of other classifiers win (chain.cc).
// Evidence: pcaps/bittorrent/ (encrypted sessions to peers announced over DHT/trackers);
// negative: pcaps/regression/dht-forged-nodes.pcap.
// False positives: a learned port reused by a non-P2P service that no payload classifier
// recognises; common framings are refused.
#include "classifiers/peer_cache.h"

#include <algorithm>

namespace imguard::classifiers {
namespace {

constexpr uint32_t round_up_ways(uint32_t n) noexcept {
  const uint32_t ways = PeerCache::kWays;
  const uint32_t at_least = n < ways ? ways : n;
  return (at_least + ways - 1) / ways * ways;
}

bool is_unspecified(const packet::Address& a) noexcept {
  return a.family == packet::Address::Family::kNone ||
         std::all_of(a.bytes.begin(), a.bytes.end(), [](uint8_t b) { return b == 0; });
}

bool starts_with(std::span<const uint8_t> p, std::string_view s) noexcept {
  return p.size() >= s.size() && std::equal(s.begin(), s.end(), p.begin(), [](char a, uint8_t b) {
           return static_cast<uint8_t>(a) == b;
         });
}

}  // namespace

PeerCache::PeerCache(Config config)
    : entries_(round_up_ways(config.capacity)),
      locks_(new std::mutex[entries_.size() / kWays]),
      ttl_(std::chrono::duration_cast<std::chrono::microseconds>(config.ttl)) {
  touched_.reserve(entries_.size());
}

PeerCache::PeerCache(const PeerCache& other)
    : entries_(other.entries_),
      locks_(new std::mutex[entries_.size() / kWays]),
      touched_(other.touched_),
      ttl_(other.ttl_),
      used_(other.used_.load(std::memory_order_relaxed)),
      inserted_(other.inserted_.load(std::memory_order_relaxed)),
      refreshed_(other.refreshed_.load(std::memory_order_relaxed)),
      evicted_live_(other.evicted_live_.load(std::memory_order_relaxed)),
      evicted_expired_(other.evicted_expired_.load(std::memory_order_relaxed)) {
  touched_.reserve(entries_.size());
}

PeerCache& PeerCache::operator=(const PeerCache& other) {
  if (this != &other) {
    if (entries_.size() != other.entries_.size()) {
      locks_.reset(new std::mutex[other.entries_.size() / kWays]);
    }
    entries_ = other.entries_;
    touched_ = other.touched_;
    touched_.reserve(entries_.size());
    ttl_ = other.ttl_;
    used_.store(other.used_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    inserted_.store(other.inserted_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    refreshed_.store(other.refreshed_.load(std::memory_order_relaxed), std::memory_order_relaxed);
    evicted_live_.store(other.evicted_live_.load(std::memory_order_relaxed),
                        std::memory_order_relaxed);
    evicted_expired_.store(other.evicted_expired_.load(std::memory_order_relaxed),
                           std::memory_order_relaxed);
  }
  return *this;
}

void PeerCache::clear() noexcept {
  // Only the buckets entries were stored in: a run that learned little clears little.
  const std::lock_guard touched(touched_lock_);
  for (const uint32_t first : touched_) {
    const std::lock_guard bucket(locks_[first / kWays]);
    std::fill_n(entries_.begin() + first, kWays, Entry{});
  }
  touched_.clear();
  used_.store(0, std::memory_order_relaxed);
  for (auto* c : {&inserted_, &refreshed_, &evicted_live_, &evicted_expired_}) {
    c->store(0, std::memory_order_relaxed);
  }
}

PeerCache::Stats PeerCache::stats() const noexcept {
  return Stats{.inserted = inserted_.load(std::memory_order_relaxed),
               .refreshed = refreshed_.load(std::memory_order_relaxed),
               .evicted_live = evicted_live_.load(std::memory_order_relaxed),
               .evicted_expired = evicted_expired_.load(std::memory_order_relaxed)};
}

size_t PeerCache::bucket_of(const packet::Address& learner, const packet::Address& addr,
                            uint16_t port) const noexcept {
  // FNV-1a over the learner, address and port: cheap and well spread for this small key.
  uint64_t h = 1469598103934665603ull;
  for (const uint8_t b : learner.bytes) {
    h = (h ^ b) * 1099511628211ull;
  }
  for (const uint8_t b : addr.bytes) {
    h = (h ^ b) * 1099511628211ull;
  }
  h = (h ^ (port & 0xff)) * 1099511628211ull;
  h = (h ^ (port >> 8)) * 1099511628211ull;
  h ^= h >> 29;
  const size_t buckets = entries_.size() / kWays;
  return static_cast<size_t>(h % buckets) * kWays;
}

void PeerCache::remember(const packet::Address& learner, const packet::Address& addr, uint16_t port,
                         AppId app, packet::Timestamp now, uint8_t features,
                         std::chrono::seconds ttl) noexcept {
  if (is_unspecified(addr) || is_unspecified(learner) || entries_.empty()) {
    return;
  }
  const size_t first = bucket_of(learner, addr, port);
  bool newly_used = false;
  {
    const std::lock_guard bucket(locks_[first / kWays]);
    Entry* victim = nullptr;
    bool same = false;
    for (size_t i = first; i < first + kWays; ++i) {
      Entry& e = entries_[i];
      if (e.used && e.port == port && e.addr == addr && e.learner == learner) {
        same = true;
        victim = &e;
        break;
      }
      if (!e.used) {
        if (victim == nullptr || victim->used) {
          victim = &e;
        }
      } else if (victim == nullptr || (victim->used && e.expires < victim->expires)) {
        victim = &e;
      }
    }
    if (same) {
      refreshed_.fetch_add(1, std::memory_order_relaxed);
    } else if (!victim->used) {
      used_.fetch_add(1, std::memory_order_relaxed);
      inserted_.fetch_add(1, std::memory_order_relaxed);
      newly_used = true;
    } else {
      inserted_.fetch_add(1, std::memory_order_relaxed);
      (victim->expires >= now ? evicted_live_ : evicted_expired_)
          .fetch_add(1, std::memory_order_relaxed);
    }
    const auto lifetime = ttl.count() > 0 ? std::min(ttl_, std::chrono::microseconds(ttl)) : ttl_;
    *victim = Entry{learner, addr, port, app, now + lifetime, true, features};
  }
  if (newly_used) {
    // Each entry turns used at most once between clears: `touched_` (reserved to the
    // capacity) never reallocates. Taken after the bucket's lock is released: clear()
    // takes this one first, then the buckets'.
    const std::lock_guard touched(touched_lock_);
    touched_.push_back(static_cast<uint32_t>(first));
  }
}

bool PeerCache::remember_announced(const packet::Address& host, const packet::Address& announced,
                                   uint16_t port, AppId app, packet::Timestamp now,
                                   uint8_t features, std::chrono::seconds ttl) noexcept {
  if (!(announced == host || (is_private_address(host) && !is_private_address(announced)))) {
    return false;
  }
  remember(host, host, port, app, now, features, ttl);
  return true;
}

bool is_private_address(const packet::Address& a) noexcept {
  const auto& b = a.bytes;
  if (a.is_v4()) {
    return b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
           (b[0] == 100 && (b[1] & 0xc0) == 64);
  }
  return (b[0] & 0xfe) == 0xfc;
}

std::optional<AppId> PeerCache::lookup(const packet::Address& learner, const packet::Address& addr,
                                       uint16_t port, packet::Timestamp now) const noexcept {
  const auto hit = find(learner, addr, port, now);
  return hit ? std::optional<AppId>(hit->app) : std::nullopt;
}

std::optional<PeerCache::Hit> PeerCache::find(const packet::Address& learner,
                                              const packet::Address& addr, uint16_t port,
                                              packet::Timestamp now) const noexcept {
  if (entries_.empty()) {
    return std::nullopt;
  }
  const size_t first = bucket_of(learner, addr, port);
  const std::lock_guard bucket(locks_[first / kWays]);
  for (size_t i = first; i < first + kWays; ++i) {
    const Entry& e = entries_[i];
    if (e.used && e.port == port && e.addr == addr && e.learner == learner) {
      return e.expires >= now ? std::optional<Hit>(Hit{e.app, e.features}) : std::nullopt;
    }
  }
  return std::nullopt;
}

bool has_common_framing(std::span<const uint8_t> p) noexcept {
  if (p.size() >= 3 && p[0] >= 0x14 && p[0] <= 0x18 && p[1] == 0x03 && p[2] <= 0x04) {
    return true;  // TLS record (handshake, alert, application data, ...)
  }
  if (starts_with(p, "SSH-")) {
    return true;
  }
  if (starts_with(p, "HTTP/") || starts_with(p, "PRI * HTTP/2")) {
    return true;
  }
  // An HTTP request line: an uppercase method, a space, then a path or authority.
  size_t i = 0;
  while (i < p.size() && i < 10 && p[i] >= 'A' && p[i] <= 'Z') {
    ++i;
  }
  if (i >= 3 && i < p.size() && p[i] == ' ') {
    return true;
  }
  // QUIC long header: form and fixed bits set, then a 32-bit version (RFC 9000 17.2).
  if (p.size() >= 5 && (p[0] & 0xc0) == 0xc0) {
    const uint32_t version =
        (uint32_t{p[1]} << 24) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 8) | uint32_t{p[4]};
    if (version == 1 || version == 0x6b3343cf || (version >> 8) == 0xff0000 ||
        (version & 0x0f0f0f0f) == 0x0a0a0a0a) {
      return true;
    }
  }
  // STUN: two zero bits, then the magic cookie at offset 4 (RFC 5389 6).
  if (p.size() >= 20 && (p[0] & 0xc0) == 0 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xa4 &&
      p[7] == 0x42) {
    return true;
  }
  return false;
}

Interest KnownPeers::interest() const noexcept {
  return Interest{.tcp = true, .udp = true, .needs_payload = true, .state_bytes = 0};
}

Result KnownPeers::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                           FlowSlot /*slot*/) noexcept {
  if (ctx.peers == nullptr || has_common_framing(pkt.payload)) {
    return NotMine{};
  }
  const bool c2s = ctx.direction == Direction::kClientToServer;
  const packet::Address& server = c2s ? pkt.dst : pkt.src;
  const packet::Address& client = c2s ? pkt.src : pkt.dst;
  const uint16_t server_port = c2s ? pkt.dport : pkt.sport;
  const uint16_t client_port = c2s ? pkt.sport : pkt.dport;
  // Only the flow's own hosts can vouch: the client learned the server's endpoint (DHT,
  // tracker, an earlier session), or the server announced it itself (LPD, announce).
  std::optional<AppId> app = ctx.peers->lookup(client, server, server_port, pkt.ts);
  if (!app) {
    app = ctx.peers->lookup(server, server, server_port, pkt.ts);
  }
  uint8_t features = kFeatureFileTransfer | kFeaturePeer;
  if (!app && pkt.l4 == packet::L4::kUdp) {
    app = ctx.peers->lookup(server, client, client_port, pkt.ts);
    if (!app) {
      app = ctx.peers->lookup(client, client, client_port, pkt.ts);
    }
    features = kFeatureFileTransfer;
  }
  // Other classifiers may keep their own endpoints here (IRC DCC offers, Direct Connect
  // TLS transfers); they decide those flows themselves.
  if (!app || app_category(*app) != Category::kP2p || *app == AppId::kDirectConnect) {
    return NotMine{};
  }
  return Match{.app = *app, .evidence = Evidence::kCrossFlow, .features = features};
}

std::optional<AppId> call_relay_app(const PeerCache& cache, const packet::Address& client,
                                    const packet::Address& relay, packet::Timestamp now) noexcept {
  if (client == relay) {
    return std::nullopt;  // (host, host, 0) is remember_host()'s key
  }
  const auto app = cache.lookup(client, relay, 0, now);
  if (app && app_category(*app) == Category::kIm) {
    return app;
  }
  return std::nullopt;
}

}  // namespace imguard::classifiers
