// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <span>

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// BitTorrent web seeds: a BitTorrent client fetching a torrent's pieces over HTTP from an
/// ordinary web server (any port), decided on the client's request alone (the response is
/// not needed, so nDPI's generic HTTP answer never comes first).
/// - BEP 17 (Hoffman-style HTTP seed): `GET <path>?info_hash=<20 bytes>&piece=<n>` with no
///   peer_id (that would be a tracker announce): the query names a torrent and a piece.
///   Evidence `dpi`, whatever the User-Agent (libtorrent sends none after the first request
///   of a keep-alive connection).
/// - BEP 19 (GetRight-style web seed): a plain `GET` of the torrent's file path with one
///   closed byte range (`Range: bytes=a-b`), as Transmission, libtorrent (qBittorrent,
///   Deluge) and aria2 send. Evidence `dpi` when the User-Agent names a BitTorrent client
///   (Transmission, libtorrent and its front ends, uTorrent, BitTorrent, Vuze/Azureus,
///   BiglyBT, BitComet, KTorrent, rTorrent, Tixati, Tribler). aria2's request as a web-seed
///   client is byte for byte the request it sends as a plain HTTP downloader (same
///   User-Agent, Want-Digest, closed ranges), so an aria2 range request counts only as
///   `cross_flow`, and only when the requesting host is known from other flows as a
///   BitTorrent host (it announced to a tracker, spoke the peer wire or DHT) by the time of
///   the request or of the flow's next few packets (aria2 sends its first announce and its
///   first web-seed request in the same millisecond).
///
/// What separates these from ordinary range downloads (pcaps/bittorrent/
/// webseed-range-download-lookalikes.pcap): curl -r, curl -C -, wget -c, apt and browsers
/// name themselves in the User-Agent, and resuming clients send an open range (`bytes=N-`);
/// piece alignment is not used (aria2's 1 MiB segments are aligned too, and in a multi-file
/// torrent a piece boundary falls anywhere inside a file).
/// Known false positives: a download manager that forges a BitTorrent client's User-Agent;
/// a BitTorrent client's own non-piece ranged fetch (none known). Not covered: aria2's web
/// seed fetches from a host not seen in a swarm (golden: http), a BitTorrent client sending
/// a browser's User-Agent, HTTPS web seeds (the request is encrypted).
///
/// Features: `file_transfer`; never `peer` (the web server is not a peer, so the engine
/// never derives `serving` from these flows). Learns the requesting host as a BitTorrent
/// host (FlowContext::peers) on a `dpi` match only.
class BittorrentWebseed final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "bittorrent_webseed"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  void release(FlowSlot slot) noexcept override;
};

namespace webseed {

/// What an HTTP request head (request line and headers, possibly cut short) says.
enum class Kind : uint8_t {
  kIncomplete,  // could still be a web-seed request: the head has not ended yet
  kNone,        // not a web-seed request
  kHttpSeed,    // BEP 17: info_hash and piece in the query
  kRangeFetch,  // a GET with one closed byte range from a BitTorrent-capable client
};
enum class Client : uint8_t {
  kOther,       // no BitTorrent client named in the User-Agent
  kBittorrent,  // a BitTorrent client (Transmission, libtorrent, ...)
  kDualUse,     // a downloader that is also a BitTorrent client (aria2)
};
struct Request {
  Kind kind = Kind::kNone;
  Client client = Client::kOther;
};

/// Longest request head examined; a longer one without an end is not a web-seed request.
inline constexpr size_t kMaxHead = 2048;

/// Reads the start of a client's first payload on a TCP connection.
Request parse_request(std::span<const uint8_t> head) noexcept;

}  // namespace webseed

}  // namespace imguard::classifiers
