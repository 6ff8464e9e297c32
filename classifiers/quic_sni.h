// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "classifiers/classifier.h"
#include "classifiers/signatures.h"
#include "classifiers/tls_client_hello.h"
#include "packet/packet.h"

struct evp_cipher_ctx_st;
struct evp_cipher_st;
struct evp_mac_st;
struct evp_mac_ctx_st;

namespace imguard::classifiers {

/// The QUIC versions whose Initial packet protection is known (RFC 9001 5.2, RFC 9369 3.3,
/// draft-ietf-quic-tls-29 5.2).
enum class QuicVersion : uint8_t { kV1, kV2, kDraft29 };

/// The CRYPTO stream of a client's Initial packets, reassembled by offset into a bounded
/// buffer (a ClientHello with a post-quantum key share spans two or more packets).
struct QuicCryptoStream {
  static constexpr size_t kCapacity = 4096;
  std::array<uint8_t, kCapacity> data{};
  std::array<uint64_t, kCapacity / 64> have{};  // bit i: data[i] received

  /// Stores `bytes` at stream `offset`; what lies past kCapacity is dropped.
  void add(uint64_t offset, std::span<const uint8_t> bytes) noexcept;
  /// The received bytes from offset 0 up to the first gap.
  std::span<const uint8_t> prefix() const noexcept;
};

class FlowLimits;

/// How many Initial key derivations (HKDF chains from a connection ID) one datagram may
/// cost. Keys are cached within the datagram, so coalesced packets under one DCID cost one.
struct QuicDerivationAllowance {
  uint32_t left = 2;             // derivations still allowed for this datagram
  FlowLimits* limits = nullptr;  // the worker's per-second bound, nullptr: none
  packet::Timestamp now{};
  uint32_t used = 0;     // derivations performed
  bool refused = false;  // a derivation was needed but not allowed
};

/// IM over QUIC on any port: decrypts the client's Initial packets (their keys derive from
/// the connection ID alone, RFC 9001 5.2), reassembles the TLS ClientHello from the CRYPTO
/// frames and looks its server name and ALPN up in the signature data, as TlsSni does.
/// Matches only IM names; any other name answers NotMine, leaving the flow to nDPI ("quic").
///
/// Cost: a header check (long header, known version, Initial type, >= 1200-byte datagram)
/// before any crypto; at most kMaxInitials client datagrams per flow are decrypted, and
/// key derivations are bounded per datagram (kMaxDerivationsPerDatagram), per flow
/// (kMaxDerivationsPerFlow) and per worker and second (FlowLimits), counted when refused.
/// Per-flow state: the slot holds a pointer to a QuicCryptoStream allocated only when a
/// ClientHello continues past the first datagram, freed on decision or in release(). One
/// instance per worker owns its OpenSSL contexts and a scratch buffer; not thread-safe.
class QuicSni final : public Classifier {
 public:
  static constexpr uint32_t kMaxInitials = 4;  // client datagrams considered per flow
  /// The client's DCID, plus one new DCID after a Retry (RFC 9001 5.2).
  static constexpr uint32_t kMaxDerivationsPerDatagram = 2;
  static constexpr uint32_t kMaxDerivationsPerFlow = 4;

  explicit QuicSni(std::shared_ptr<const Signatures> sigs);
  ~QuicSni() override;
  QuicSni(const QuicSni&) = delete;
  QuicSni& operator=(const QuicSni&) = delete;

  std::string_view name() const noexcept override { return "quic_sni"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
  void release(FlowSlot slot) noexcept override;

  /// Decrypts every client Initial packet in one UDP datagram and adds its CRYPTO frames to
  /// `stream`. `key_dcid` is the connection ID the Initial keys derive from (the client's
  /// first DCID); when empty, the first packet's own DCID is used and copied into it.
  /// Returns the number of Initial packets that decrypted and parsed. Never reads outside
  /// `datagram`.
  size_t open_datagram(std::span<const uint8_t> datagram, QuicCryptoStream& stream,
                       std::array<uint8_t, 21>& key_dcid) noexcept {
    QuicDerivationAllowance allowance;
    return open_datagram(datagram, stream, key_dcid, allowance);
  }
  /// The same, spending derivations from `allowance`; packets whose keys were not allowed
  /// are skipped (allowance.refused).
  size_t open_datagram(std::span<const uint8_t> datagram, QuicCryptoStream& stream,
                       std::array<uint8_t, 21>& key_dcid,
                       QuicDerivationAllowance& allowance) noexcept;

 private:
  struct Keys {
    std::array<uint8_t, 16> key;
    std::array<uint8_t, 12> iv;
    std::array<uint8_t, 16> hp;
  };
  /// Keys derived in the current datagram, so coalesced packets reuse them.
  struct KeyCache {
    struct Entry {
      QuicVersion version;
      std::array<uint8_t, 21> dcid;  // length byte, then the DCID
      Keys keys;
    };
    std::array<Entry, kMaxDerivationsPerDatagram> entries{};
    size_t size = 0;
  };
  const Keys* keys_for(QuicVersion v, std::span<const uint8_t> dcid, KeyCache& cache,
                       QuicDerivationAllowance& allowance) noexcept;
  bool derive_keys(QuicVersion v, std::span<const uint8_t> dcid, Keys& out) noexcept;
  bool hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data1,
                   std::span<const uint8_t> data2, std::array<uint8_t, 32>& out) noexcept;
  bool expand_label(std::span<const uint8_t> secret, std::string_view label,
                    std::span<uint8_t> out) noexcept;
  /// Opens one Initial packet of `len` bytes at the start of `pkt`; frames land in scratch_.
  std::optional<std::span<const uint8_t>> open_packet(std::span<const uint8_t> pkt,
                                                      size_t pn_offset, const Keys& keys) noexcept;

  std::shared_ptr<const Signatures> sigs_;
  evp_cipher_st* aes_ecb_ = nullptr;
  evp_cipher_st* aes_gcm_ = nullptr;
  evp_cipher_ctx_st* ecb_ = nullptr;
  evp_cipher_ctx_st* gcm_ = nullptr;
  evp_mac_st* hmac_ = nullptr;
  evp_mac_ctx_st* mac_ = nullptr;
  std::unique_ptr<QuicCryptoStream> first_;              // reassembly for a flow's first datagram
  std::unique_ptr<std::array<uint8_t, 65536>> scratch_;  // one decrypted packet
};

}  // namespace imguard::classifiers
