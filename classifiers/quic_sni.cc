// SPDX-License-Identifier: GPL-3.0-or-later
// IM over QUIC by the ClientHello inside the client's Initial packets: keys from the
// Destination Connection ID and the version's published salt (RFC 9001 5.2 for v1,
// RFC 9369 3.3 for v2, draft-ietf-quic-tls-29 5.2), header protection removed with
// AES-128-ECB (RFC 9001 5.4), payload opened with AES-128-GCM (RFC 9001 5.3), CRYPTO frames
// (RFC 9000 19.6) reassembled and the SNI/ALPN mapped through classifiers/signatures.conf.
// Evidence: pcaps/quic_sni/ngtcp2-im-sni.pcap, pcaps/syncthing/syncthing-quic.pcap (ALPN
// "bep/1.0", no SNI); RFC 9001 A.2 and RFC 9369 A.2 in the unit test.
// False positives: none known; QUIC to a non-IM name (pcaps/quic_sni/ngtcp2-web-sni.pcap)
// or with another ALPN on a random port (pcaps/negative/quic-random-port.pcap) falls
// through to nDPI ("quic").
#include "classifiers/quic_sni.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>

#include "classifiers/flow_limits.h"
#include "classifiers/tls_sni.h"

namespace imguard::classifiers {
namespace {

// RFC 9000 14.1: a client pads every datagram carrying an Initial packet to 1200 bytes.
constexpr size_t kMinInitialDatagram = 1200;
constexpr size_t kMaxCidLength = 20;  // RFC 9000 17.2
constexpr size_t kSampleBytes = 16;   // RFC 9001 5.4.2
constexpr size_t kTagBytes = 16;      // AEAD_AES_128_GCM
constexpr size_t kMaxCoalesced = 4;   // packets looked at in one datagram
constexpr size_t kMaxAckRanges = 64;

constexpr uint32_t kVersionV1 = 0x00000001;
constexpr uint32_t kVersionV2 = 0x6b3343cf;
constexpr uint32_t kVersionDraft29 = 0xff00001d;

constexpr std::array<uint8_t, 20> kSaltV1 = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34,
                                             0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8,
                                             0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
constexpr std::array<uint8_t, 20> kSaltV2 = {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6,
                                             0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26,
                                             0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9};
constexpr std::array<uint8_t, 20> kSaltDraft29 = {0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2,
                                                  0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61,
                                                  0x11, 0xe0, 0x43, 0x90, 0xa8, 0x99};

// Frame types allowed before the ClientHello is complete (RFC 9000 12.4, table 3).
constexpr uint64_t kFramePadding = 0x00;
constexpr uint64_t kFramePing = 0x01;
constexpr uint64_t kFrameAck = 0x02;
constexpr uint64_t kFrameAckEcn = 0x03;
constexpr uint64_t kFrameCrypto = 0x06;

std::optional<QuicVersion> known_version(uint32_t v) noexcept {
  switch (v) {
    case kVersionV1:
      return QuicVersion::kV1;
    case kVersionV2:
      return QuicVersion::kV2;
    case kVersionDraft29:
      return QuicVersion::kDraft29;
    default:
      return std::nullopt;
  }
}

// Long-header packet type bits of an Initial: 0b00 in v1 and draft-29, 0b01 in v2
// (RFC 9369 3.2).
bool is_initial_type(uint8_t first, QuicVersion v) noexcept {
  const uint8_t type = (first >> 4) & 0x03;
  return v == QuicVersion::kV2 ? type == 0x01 : type == 0x00;
}

uint32_t be32(std::span<const uint8_t> p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// A variable-length integer (RFC 9000 16) at `pos`; advances it. False when truncated.
bool varint(std::span<const uint8_t> b, size_t& pos, uint64_t& v) noexcept {
  if (pos >= b.size()) {
    return false;
  }
  const size_t len = size_t{1} << (b[pos] >> 6);
  if (b.size() - pos < len) {
    return false;
  }
  v = b[pos] & 0x3f;
  for (size_t i = 1; i < len; ++i) {
    v = (v << 8) | b[pos + i];
  }
  pos += len;
  return true;
}

// The long header up to the (protected) packet number: where it starts and where the packet
// ends. RFC 9000 17.2 and 17.2.2.
struct LongHeader {
  QuicVersion version;
  std::span<const uint8_t> dcid;
  size_t pn_offset;
  size_t packet_end;
};

std::optional<LongHeader> parse_initial_header(std::span<const uint8_t> b) noexcept {
  if (b.size() < 7 || (b[0] & 0x80) == 0) {
    return std::nullopt;
  }
  const auto version = known_version(be32(b.subspan(1, 4)));
  if (!version || !is_initial_type(b[0], *version)) {
    return std::nullopt;
  }
  size_t pos = 5;
  const size_t dcid_len = b[pos++];
  if (dcid_len > kMaxCidLength || b.size() - pos < dcid_len + 1) {
    return std::nullopt;
  }
  const auto dcid = b.subspan(pos, dcid_len);
  pos += dcid_len;
  const size_t scid_len = b[pos++];
  if (scid_len > kMaxCidLength || b.size() - pos < scid_len) {
    return std::nullopt;
  }
  pos += scid_len;
  uint64_t token_len = 0;
  if (!varint(b, pos, token_len) || b.size() - pos < token_len) {
    return std::nullopt;
  }
  pos += static_cast<size_t>(token_len);
  uint64_t length = 0;
  if (!varint(b, pos, length) || b.size() - pos < length ||
      length < 4 + kSampleBytes) {  // the header protection sample must fit
    return std::nullopt;
  }
  return LongHeader{.version = *version,
                    .dcid = dcid,
                    .pn_offset = pos,
                    .packet_end = pos + static_cast<size_t>(length)};
}

// Adds the CRYPTO frames of a decrypted Initial payload to `stream`. PADDING, PING and ACK
// are skipped; anything else ends the walk (a client sends nothing else before its
// ClientHello is out). False when no frame could be read at all.
bool collect_crypto(std::span<const uint8_t> f, QuicCryptoStream& stream) noexcept {
  size_t pos = 0;
  while (pos < f.size()) {
    uint64_t type = 0;
    if (!varint(f, pos, type)) {
      return false;
    }
    if (type == kFramePadding || type == kFramePing) {
      continue;
    }
    if (type == kFrameAck || type == kFrameAckEcn) {
      uint64_t largest = 0;
      uint64_t delay = 0;
      uint64_t ranges = 0;
      uint64_t first = 0;
      if (!varint(f, pos, largest) || !varint(f, pos, delay) || !varint(f, pos, ranges) ||
          !varint(f, pos, first) || ranges > kMaxAckRanges) {
        return false;
      }
      const uint64_t fields = ranges * 2 + (type == kFrameAckEcn ? 3 : 0);
      for (uint64_t i = 0; i < fields; ++i) {
        uint64_t skip = 0;
        if (!varint(f, pos, skip)) {
          return false;
        }
      }
      continue;
    }
    if (type == kFrameCrypto) {
      uint64_t offset = 0;
      uint64_t len = 0;
      if (!varint(f, pos, offset) || !varint(f, pos, len) || f.size() - pos < len) {
        return false;
      }
      stream.add(offset, f.subspan(pos, static_cast<size_t>(len)));
      pos += static_cast<size_t>(len);
      continue;
    }
    return true;
  }
  return true;
}

// The heap part of a flow's state: the stream so far and the DCID its keys derive from.
struct QuicFlow {
  QuicCryptoStream stream;
  std::array<uint8_t, 21> key_dcid{};
  FlowLimits* limits = nullptr;  // charged sizeof(QuicFlow), nullptr: unbounded
  uint32_t derivations = 0;      // key derivations after the first datagram's
};

struct QuicSniSlot {
  QuicFlow* flow;
};

void drop_flow(QuicSniSlot& s) noexcept {
  if (s.flow != nullptr && s.flow->limits != nullptr) {
    s.flow->limits->release(sizeof(QuicFlow));
  }
  delete s.flow;
  s.flow = nullptr;
}

}  // namespace

void QuicCryptoStream::add(uint64_t offset, std::span<const uint8_t> bytes) noexcept {
  if (offset >= kCapacity) {
    return;
  }
  const size_t at = static_cast<size_t>(offset);
  const size_t n = std::min(bytes.size(), kCapacity - at);
  std::memcpy(data.data() + at, bytes.data(), n);
  for (size_t i = at; i < at + n; ++i) {
    have[i / 64] |= uint64_t{1} << (i % 64);
  }
}

std::span<const uint8_t> QuicCryptoStream::prefix() const noexcept {
  size_t n = 0;
  for (uint64_t word : have) {
    if (word != ~uint64_t{0}) {
      n += static_cast<size_t>(std::countr_one(word));
      break;
    }
    n += 64;
  }
  return std::span<const uint8_t>(data.data(), n);
}

QuicSni::QuicSni(std::shared_ptr<const Signatures> sigs)
    : sigs_(std::move(sigs)),
      aes_ecb_(EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr)),
      aes_gcm_(EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr)),
      ecb_(EVP_CIPHER_CTX_new()),
      gcm_(EVP_CIPHER_CTX_new()),
      hmac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)),
      mac_(hmac_ != nullptr ? EVP_MAC_CTX_new(hmac_) : nullptr),
      first_(std::make_unique<QuicCryptoStream>()),
      scratch_(std::make_unique<std::array<uint8_t, 65536>>()) {}

QuicSni::~QuicSni() {
  EVP_MAC_CTX_free(mac_);
  EVP_MAC_free(hmac_);
  EVP_CIPHER_CTX_free(gcm_);
  EVP_CIPHER_CTX_free(ecb_);
  EVP_CIPHER_free(aes_gcm_);
  EVP_CIPHER_free(aes_ecb_);
}

Interest QuicSni::interest() const noexcept {
  return Interest{
      .tcp = false, .udp = true, .needs_payload = true, .state_bytes = sizeof(QuicSniSlot)};
}

bool QuicSni::hmac_sha256(std::span<const uint8_t> key, std::span<const uint8_t> data1,
                          std::span<const uint8_t> data2, std::array<uint8_t, 32>& out) noexcept {
  if (mac_ == nullptr) {
    return false;
  }
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  size_t n = 0;
  return EVP_MAC_init(mac_, key.data(), key.size(), params) == 1 &&
         EVP_MAC_update(mac_, data1.data(), data1.size()) == 1 &&
         EVP_MAC_update(mac_, data2.data(), data2.size()) == 1 &&
         EVP_MAC_final(mac_, out.data(), &n, out.size()) == 1 && n == out.size();
}

// HKDF-Expand-Label (RFC 8446 7.1) with an empty context, for outputs of at most one hash
// block: T(1) = HMAC(secret, HkdfLabel || 0x01).
bool QuicSni::expand_label(std::span<const uint8_t> secret, std::string_view label,
                           std::span<uint8_t> out) noexcept {
  constexpr std::string_view kPrefix = "tls13 ";
  std::array<uint8_t, 64> info{};
  const size_t label_len = kPrefix.size() + label.size();
  if (out.size() > 32 || label_len + 5 > info.size()) {
    return false;
  }
  size_t n = 0;
  info[n++] = 0;
  info[n++] = static_cast<uint8_t>(out.size());
  info[n++] = static_cast<uint8_t>(label_len);
  std::memcpy(info.data() + n, kPrefix.data(), kPrefix.size());
  n += kPrefix.size();
  std::memcpy(info.data() + n, label.data(), label.size());
  n += label.size();
  info[n++] = 0;  // empty context
  info[n++] = 1;  // HKDF-Expand block counter
  std::array<uint8_t, 32> t{};
  if (!hmac_sha256(secret, std::span<const uint8_t>(info.data(), n), {}, t)) {
    return false;
  }
  std::memcpy(out.data(), t.data(), out.size());
  return true;
}

bool QuicSni::derive_keys(QuicVersion v, std::span<const uint8_t> dcid, Keys& out) noexcept {
  const auto& salt =
      v == QuicVersion::kV2 ? kSaltV2 : (v == QuicVersion::kV1 ? kSaltV1 : kSaltDraft29);
  const bool v2 = v == QuicVersion::kV2;
  std::array<uint8_t, 32> initial{};
  std::array<uint8_t, 32> client{};
  // HKDF-Extract(salt, dcid) is HMAC(salt, dcid) (RFC 5869 2.2).
  return hmac_sha256(salt, dcid, {}, initial) && expand_label(initial, "client in", client) &&
         expand_label(client, v2 ? "quicv2 key" : "quic key", out.key) &&
         expand_label(client, v2 ? "quicv2 iv" : "quic iv", out.iv) &&
         expand_label(client, v2 ? "quicv2 hp" : "quic hp", out.hp);
}

const QuicSni::Keys* QuicSni::keys_for(QuicVersion v, std::span<const uint8_t> dcid,
                                       KeyCache& cache,
                                       QuicDerivationAllowance& allowance) noexcept {
  for (size_t i = 0; i < cache.size; ++i) {
    const auto& e = cache.entries[i];
    if (e.version == v && e.dcid[0] == dcid.size() &&
        std::equal(dcid.begin(), dcid.end(), e.dcid.begin() + 1)) {
      return &e.keys;
    }
  }
  // A crafted datagram can carry coalesced packets with a new DCID each; each would cost
  // an HKDF chain (five HMACs). Past the allowance the packet is skipped, not derived.
  if (allowance.left == 0 || cache.size == cache.entries.size()) {
    allowance.refused = true;
    if (allowance.limits != nullptr) {
      allowance.limits->count_derivation_capped();
    }
    return nullptr;
  }
  if (allowance.limits != nullptr && !allowance.limits->take_derivation(allowance.now)) {
    allowance.refused = true;
    return nullptr;
  }
  --allowance.left;
  ++allowance.used;
  auto& e = cache.entries[cache.size];
  e.version = v;
  e.dcid[0] = static_cast<uint8_t>(dcid.size());
  std::copy(dcid.begin(), dcid.end(), e.dcid.begin() + 1);
  if (!derive_keys(v, dcid, e.keys)) {
    return nullptr;
  }
  return &cache.entries[cache.size++].keys;
}

std::optional<std::span<const uint8_t>> QuicSni::open_packet(std::span<const uint8_t> pkt,
                                                             size_t pn_offset,
                                                             const Keys& keys) noexcept {
  if (ecb_ == nullptr || gcm_ == nullptr) {
    return std::nullopt;
  }
  // Header protection (RFC 9001 5.4.1): the sample starts 4 bytes after the packet number.
  std::array<uint8_t, kSampleBytes> mask{};
  int n = 0;
  if (EVP_EncryptInit_ex(ecb_, aes_ecb_, nullptr, keys.hp.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(ecb_, 0) != 1 ||
      EVP_EncryptUpdate(ecb_, mask.data(), &n, pkt.data() + pn_offset + 4,
                        static_cast<int>(kSampleBytes)) != 1 ||
      n != static_cast<int>(kSampleBytes)) {
    return std::nullopt;
  }
  auto& buf = *scratch_;
  const uint8_t first = static_cast<uint8_t>(pkt[0] ^ (mask[0] & 0x0f));
  const size_t pn_len = size_t{static_cast<uint8_t>(first & 0x03)} + 1;
  const size_t header_len = pn_offset + pn_len;
  if (pkt.size() < header_len + kTagBytes || pkt.size() > buf.size()) {
    return std::nullopt;
  }
  // The unprotected header is the AEAD's associated data.
  std::memcpy(buf.data(), pkt.data(), header_len);
  buf[0] = first;
  uint64_t pn = 0;
  for (size_t i = 0; i < pn_len; ++i) {
    buf[pn_offset + i] = static_cast<uint8_t>(pkt[pn_offset + i] ^ mask[1 + i]);
    pn = (pn << 8) | buf[pn_offset + i];
  }
  // Nonce = IV XOR packet number, right-aligned (RFC 9001 5.3). The first Initials carry
  // small numbers, so the truncated number is the full one.
  std::array<uint8_t, 12> nonce = keys.iv;
  for (size_t i = 0; i < 8; ++i) {
    nonce[nonce.size() - 1 - i] ^= static_cast<uint8_t>(pn >> (8 * i));
  }
  const size_t ct_len = pkt.size() - header_len - kTagBytes;
  std::array<uint8_t, kTagBytes> tag{};
  std::memcpy(tag.data(), pkt.data() + header_len + ct_len, kTagBytes);
  uint8_t* plain = buf.data() + header_len;
  int out_len = 0;
  int final_len = 0;
  if (EVP_DecryptInit_ex(gcm_, aes_gcm_, nullptr, keys.key.data(), nonce.data()) != 1 ||
      EVP_DecryptUpdate(gcm_, nullptr, &out_len, buf.data(), static_cast<int>(header_len)) != 1 ||
      EVP_DecryptUpdate(gcm_, plain, &out_len, pkt.data() + header_len, static_cast<int>(ct_len)) !=
          1 ||
      EVP_CIPHER_CTX_ctrl(gcm_, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) !=
          1 ||
      EVP_DecryptFinal_ex(gcm_, plain + out_len, &final_len) != 1) {
    return std::nullopt;
  }
  return std::span<const uint8_t>(plain, ct_len);
}

size_t QuicSni::open_datagram(std::span<const uint8_t> datagram, QuicCryptoStream& stream,
                              std::array<uint8_t, 21>& key_dcid,
                              QuicDerivationAllowance& allowance) noexcept {
  size_t opened = 0;
  KeyCache cache;
  auto rest = datagram;
  // Coalesced packets (RFC 9000 12.2): each long header carries its own length.
  for (size_t i = 0; i < kMaxCoalesced && !rest.empty(); ++i) {
    const auto h = parse_initial_header(rest);
    if (!h) {
      break;
    }
    if (key_dcid[0] == 0) {
      key_dcid[0] = static_cast<uint8_t>(h->dcid.size());
      std::memcpy(key_dcid.data() + 1, h->dcid.data(), h->dcid.size());
    }
    const auto pkt = rest.first(h->packet_end);
    std::optional<std::span<const uint8_t>> frames;
    if (const Keys* k =
            keys_for(h->version, std::span<const uint8_t>(key_dcid.data() + 1, key_dcid[0]), cache,
                     allowance)) {
      frames = open_packet(pkt, h->pn_offset, *k);
    }
    if (!frames && (h->dcid.size() != key_dcid[0] ||
                    !std::equal(h->dcid.begin(), h->dcid.end(), key_dcid.begin() + 1))) {
      // After a Retry the client derives new keys from the DCID it now uses (RFC 9001 5.2).
      if (const Keys* k = keys_for(h->version, h->dcid, cache, allowance)) {
        frames = open_packet(pkt, h->pn_offset, *k);
      }
    }
    if (frames && collect_crypto(*frames, stream)) {
      ++opened;
    }
    rest = rest.subspan(h->packet_end);
  }
  return opened;
}

Result QuicSni::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                        FlowSlot slot) noexcept {
  auto& s = slot.as<QuicSniSlot>();
  const auto& p = pkt.payload;
  if (ctx.direction != Direction::kClientToServer) {
    return s.flow == nullptr ? Result{NotMine{}} : Result{NeedMore{}};  // the client speaks first
  }
  // Cheap checks before any crypto: datagram size, long header, known version.
  if (p.size() < kMinInitialDatagram || (p[0] & 0x80) == 0 ||
      !known_version(be32(p.first(4 + 1).subspan(1)))) {
    if (s.flow == nullptr || ctx.payload_packets[0] > kMaxInitials) {
      drop_flow(s);
      return NotMine{};
    }
    return NeedMore{};
  }
  QuicCryptoStream* stream = first_.get();
  std::array<uint8_t, 21> key_dcid{};
  if (s.flow != nullptr) {
    stream = &s.flow->stream;
    key_dcid = s.flow->key_dcid;
  } else {
    *first_ = QuicCryptoStream{};
  }
  // A flow without heap state is on its first datagram (any other answer ended it), so
  // the per-flow count lives with the reassembly and starts after the first datagram.
  const uint32_t spent = s.flow != nullptr ? s.flow->derivations : 0;
  QuicDerivationAllowance allowance{
      .left = std::min(kMaxDerivationsPerDatagram,
                       kMaxDerivationsPerFlow - std::min(spent, kMaxDerivationsPerFlow)),
      .limits = ctx.limits,
      .now = pkt.ts};
  const size_t opened = open_datagram(p, *stream, key_dcid, allowance);
  if (s.flow != nullptr) {
    s.flow->derivations += allowance.used;
  }
  if (opened == 0 && (s.flow == nullptr || allowance.refused)) {
    drop_flow(s);
    return NotMine{};  // nothing decrypted, or the flow's or worker's derivations are spent
  }
  ClientHelloInfo hello;
  const auto prefix = stream->prefix();
  // CRYPTO frames may arrive out of order: nothing at offset 0 yet is not a verdict.
  const HelloParse parsed =
      prefix.empty() ? HelloParse::kIncomplete : parse_client_hello(prefix, hello);
  if (parsed == HelloParse::kIncomplete) {
    if (ctx.payload_packets[0] >= kMaxInitials || prefix.size() == QuicCryptoStream::kCapacity) {
      drop_flow(s);
      return NotMine{};
    }
    if (s.flow == nullptr) {
      // Over the worker's reassembly budget the flow is left to the rest of the chain.
      if (ctx.limits != nullptr && !ctx.limits->reserve(sizeof(QuicFlow))) {
        return NotMine{};
      }
      s.flow = new (std::nothrow) QuicFlow{.stream = *first_,
                                           .key_dcid = key_dcid,
                                           .limits = ctx.limits,
                                           .derivations = allowance.used};
      if (s.flow == nullptr) {
        if (ctx.limits != nullptr) {
          ctx.limits->release(sizeof(QuicFlow));
        }
        return NotMine{};
      }
    }
    return NeedMore{};
  }
  std::optional<Signatures::HostMatch> app;
  if (parsed == HelloParse::kOk) {
    app = im_app_for_hello(hello, *sigs_);
  }
  drop_flow(s);
  if (app) {
    return Match{.app = app->app,
                 .evidence = Evidence::kDpi,
                 .features = static_cast<uint8_t>(app->features | hello_features(app->app))};
  }
  return NotMine{};
}

void QuicSni::release(FlowSlot slot) noexcept {
  drop_flow(slot.as<QuicSniSlot>());
}

}  // namespace imguard::classifiers
