// SPDX-License-Identifier: GPL-3.0-or-later
// Cross-flow knowledge about P2P peers: endpoints (address, port) learned from DHT and Kad
// replies, tracker responses and plain peer sessions, and hosts seen running a P2P client.
// Evidence: pcaps/bittorrent/ (DHT nodes, then MSE sessions to them).
// False positives: a peer's listening port later reused by another service within the TTL.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// A bounded, expiring map from (address, port) to the P2P application seen there. Port 0
/// stands for "the host as a whole". Set-associative: each key hashes to one bucket of
/// kWays entries; a full bucket evicts its entry closest to expiry, so memory is fixed at
/// construction and every call is O(kWays) with no allocation.
///
/// One instance per worker (it lives in the worker's Chain); not thread-safe. Times are
/// packet timestamps, so offline runs are deterministic. The hash is unkeyed: a peer
/// flooding crafted endpoints can only evict entries of its own bucket, which costs recall,
/// never correctness.
class PeerCache {
 public:
  struct Config {
    /// Entries kept at most (rounded up to a multiple of kWays).
    uint32_t capacity = 16384;
    /// How long a learned endpoint stays valid after it was last seen.
    std::chrono::seconds ttl{1800};
  };
  static constexpr uint32_t kWays = 8;

  PeerCache() : PeerCache(Config{}) {}
  explicit PeerCache(Config config);

  /// Remembers `app` at (addr, port), refreshing the expiry. `port` 0 records the host.
  /// Ignores unspecified addresses.
  void remember(const packet::Address& addr, uint16_t port, AppId app,
                packet::Timestamp now) noexcept;
  /// The app last seen at (addr, port) if that is not older than the TTL.
  std::optional<AppId> lookup(const packet::Address& addr, uint16_t port,
                              packet::Timestamp now) const noexcept;
  /// Entries currently stored (expired ones included until they are overwritten).
  uint32_t size() const noexcept { return used_; }
  uint32_t capacity() const noexcept { return static_cast<uint32_t>(entries_.size()); }

 private:
  struct Entry {
    packet::Address addr;
    uint16_t port = 0;
    AppId app = AppId::kUnknown;
    packet::Timestamp expires{};
    bool used = false;
  };
  size_t bucket_of(const packet::Address& addr, uint16_t port) const noexcept;

  std::vector<Entry> entries_;
  std::chrono::microseconds ttl_;
  uint32_t used_ = 0;
};

/// Matches a flow to or from a cached P2P endpoint ("a new connection to a peer learned
/// from DHT is BitTorrent even when encrypted"). Runs after the payload classifiers, so
/// any flow that shows real framing is decided by them first; refuses flows whose first
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

/// True when `p` opens with the framing of a common non-P2P protocol (TLS record, SSH
/// banner, HTTP request or response line, QUIC long header, STUN). Shared by the
/// classifiers that decide on behaviour or cross-flow knowledge.
bool has_common_framing(std::span<const uint8_t> p) noexcept;

}  // namespace imguard::classifiers
