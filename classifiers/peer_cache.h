// SPDX-License-Identifier: GPL-3.0-or-later
// Cross-flow knowledge about P2P peers and IRC DCC offers: endpoints (address, port) learned
// from DHT and Kad replies, tracker responses, DCC offers and plain peer sessions, and hosts
// seen running a P2P client. Every entry is scoped to the host that learned it (a hint only
// speaks for flows that host takes part in) and lives minutes, not hours.
// Evidence: pcaps/bittorrent/ (DHT nodes, then MSE sessions to them), pcaps/irc/dcc-send.pcap;
// attacks it must resist: pcaps/regression/ (forged DHT replies and DCC offers).
// False positives: a peer's listening port reused by another service within the TTL (only
// for the host that learned it, and a payload match of that service still wins).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// A bounded, expiring map from (learner, address, port) to the application seen there.
/// `learner` is the host whose own traffic vouched for the entry: the receiver of a DHT
/// reply or tracker response, the IRC client an offer was made to or by, the other end of
/// a confirmed peer session; an endpoint that announced itself (LPD, tracker announce, a
/// DCC offer naming the offerer's own address) is its own learner. A lookup names the
/// learner it asks for, so a hint from one host never changes another host's flows.
/// Port 0 stands for "the host as a whole" (its own learner: remember_host()).
/// Set-associative: each key hashes to one bucket of
/// kWays entries; a full bucket evicts its entry closest to expiry, so memory is fixed at
/// construction and every call is O(kWays) with no allocation.
///
/// Thread-safe: the daemon's workers share one instance (a hint learned on one worker
/// must reach a connection another worker is given), each bucket under its own mutex; an
/// offline engine owns one (its Chain's). Times are packet timestamps, so offline runs are
/// deterministic. The hash is unkeyed: a peer
/// flooding crafted endpoints can only evict entries of its own bucket, which costs recall,
/// never correctness; stats() counts the evictions so an operator (and the tests) can see it.
class PeerCache {
 public:
  struct Config {
    /// Entries kept at most (rounded up to a multiple of kWays).
    uint32_t capacity = 16384;
    /// How long a learned endpoint stays valid after it was last seen. 5 minutes: a DHT
    /// or tracker peer is contacted within seconds, and IRC clients time out an unanswered
    /// DCC offer after 300 s (weechat xfer.network.timeout, irssi dcc_timeout).
    std::chrono::seconds ttl{300};
  };
  /// What the cache did, for metrics and tests (a snapshot).
  struct Stats {
    uint64_t inserted = 0;         // new entries stored
    uint64_t refreshed = 0;        // existing entries seen again
    uint64_t evicted_live = 0;     // unexpired entries pushed out by a full bucket
    uint64_t evicted_expired = 0;  // expired entries reused
  };
  static constexpr uint32_t kWays = 8;

  PeerCache() : PeerCache(Config{}) {}
  explicit PeerCache(Config config);
  /// A copy of the entries and counts (only while nobody changes `other`).
  PeerCache(const PeerCache& other);
  PeerCache& operator=(const PeerCache& other);

  /// Remembers, on behalf of `learner`, `app` at (addr, port), refreshing the expiry.
  /// `features`: what the learner knows the connection there will carry (an IRC DCC CHAT
  /// is `cleartext`, a DCC SEND `file_transfer`). `ttl`: a shorter lifetime for this entry
  /// than the configured one (zero: the configured TTL; never longer). Ignores
  /// unspecified addresses.
  void remember(const packet::Address& learner, const packet::Address& addr, uint16_t port,
                AppId app, packet::Timestamp now, uint8_t features = 0,
                std::chrono::seconds ttl = std::chrono::seconds{0}) noexcept;
  /// Remembers a listener that `host` announced as its own (an IRC DCC offer, a Direct
  /// Connect ConnectToMe): `announced` must be `host`'s address, or, from a private address
  /// (is_private_address), a public one (its NAT's, whose port forward arrives at `host`).
  /// The entry is recorded at `host`'s own address, as its own learner. False (nothing
  /// stored) when the announced address speaks for some other host.
  bool remember_announced(const packet::Address& host, const packet::Address& announced,
                          uint16_t port, AppId app, packet::Timestamp now, uint8_t features,
                          std::chrono::seconds ttl = std::chrono::seconds{0}) noexcept;
  /// The app `learner` last learned at (addr, port) if that is not older than the TTL.
  std::optional<AppId> lookup(const packet::Address& learner, const packet::Address& addr,
                              uint16_t port, packet::Timestamp now) const noexcept;
  struct Hit {
    AppId app;
    uint8_t features;
  };
  /// The same, with the features remembered along with the app.
  std::optional<Hit> find(const packet::Address& learner, const packet::Address& addr,
                          uint16_t port, packet::Timestamp now) const noexcept;
  /// A host seen running `app` itself (port 0, its own learner).
  void remember_host(const packet::Address& host, AppId app, packet::Timestamp now) noexcept {
    remember(host, host, 0, app, now);
  }
  std::optional<AppId> lookup_host(const packet::Address& host,
                                   packet::Timestamp now) const noexcept {
    return lookup(host, host, 0, now);
  }
  /// Forgets every entry (capacity, TTL and statistics start over). Only while nobody else
  /// uses the cache (an offline engine between files).
  void clear() noexcept;
  /// Entries currently stored (expired ones included until they are overwritten).
  uint32_t size() const noexcept { return used_.load(std::memory_order_relaxed); }
  uint32_t capacity() const noexcept { return static_cast<uint32_t>(entries_.size()); }
  Stats stats() const noexcept;

 private:
  struct Entry {
    packet::Address learner;
    packet::Address addr;
    uint16_t port = 0;
    AppId app = AppId::kUnknown;
    packet::Timestamp expires{};
    bool used = false;
    uint8_t features = 0;
  };
  size_t bucket_of(const packet::Address& learner, const packet::Address& addr,
                   uint16_t port) const noexcept;

  std::vector<Entry> entries_;
  std::unique_ptr<std::mutex[]> locks_;  // one per bucket (entries_.size() / kWays)
  std::mutex touched_lock_;
  std::vector<uint32_t> touched_;  // first entry of each bucket an entry was stored in
  std::chrono::microseconds ttl_;
  std::atomic<uint32_t> used_{0};
  std::atomic<uint64_t> inserted_{0};
  std::atomic<uint64_t> refreshed_{0};
  std::atomic<uint64_t> evicted_live_{0};
  std::atomic<uint64_t> evicted_expired_{0};
};

/// An IM app's call relay, learned by `client` from a TLS handshake naming one of the app's
/// `call_relay` hosts (signatures.h) at address `relay`. Kept as port 0, the relay as a
/// whole: its STUN/TURN port is not the TLS one. Scoped to the client like every entry, so
/// one host's relay never labels another host's flows.
inline void remember_call_relay(PeerCache& cache, const packet::Address& client,
                                const packet::Address& relay, AppId app,
                                packet::Timestamp now) noexcept {
  cache.remember(client, relay, 0, app, now);
}
/// The app whose call relay `client` learned at `relay`, if any (IM apps only).
std::optional<AppId> call_relay_app(const PeerCache& cache, const packet::Address& client,
                                    const packet::Address& relay, packet::Timestamp now) noexcept;

/// Matches a flow to or from a cached P2P endpoint ("a new connection to a peer learned
/// from DHT is BitTorrent even when encrypted"), as learned by one of the flow's own two
/// hosts. Its cross_flow match is a hint: the chain holds it while the flow's own payload
/// has its say (Evidence order, classifiers/classifier.h), so a payload match (a TLS
/// ClientHello, a PostgreSQL startup seen by nDPI) wins. Refuses flows whose first
/// payload is TLS, SSH, HTTP, QUIC or STUN framing. TCP: the responder endpoint must be
/// known (it is a peer listener, so the match carries `serving`). UDP: either endpoint,
/// since P2P nodes send from their listening port. Only P2P entries are used; other apps'
/// entries (IRC DCC offers) are left to their own classifiers.
class KnownPeers final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "known_peers"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

/// RFC 1918, RFC 6598 (carrier-grade NAT) and RFC 4193 (ULA) addresses: hosts behind a NAT.
bool is_private_address(const packet::Address& a) noexcept;

/// True when `p` opens with the framing of a common non-P2P protocol (TLS record, SSH
/// banner, HTTP request or response line, QUIC long header, STUN). Shared by the
/// classifiers that decide on behaviour or cross-flow knowledge.
bool has_common_framing(std::span<const uint8_t> p) noexcept;

}  // namespace imguard::classifiers
