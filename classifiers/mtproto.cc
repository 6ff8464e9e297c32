// SPDX-License-Identifier: GPL-3.0-or-later
// MTProto transports (core.telegram.org/mtproto/mtproto-transports and
// /mtproto/obfuscation):
//  - obfuscated: 64 bytes whose bytes 8..39 are an AES-256-CTR key and 40..55 its IV;
//    encrypting the 64 bytes with them yields the transport tag (0xefefefef abridged,
//    0xeeeeeeee intermediate, 0xdddddddd padded intermediate) at bytes 56..59. The client
//    avoids first words that look like other protocols, so those are excluded too. The
//    check is a 32-bit cryptographic coincidence for random data.
//  - abridged 0xef, intermediate 0xeeeeeeee, padded 0xdddddddd: the tag, then a length
//    prefix that must match the segment, then the first message with auth_key_id 0.
//  - full: 32-bit length, sequence 0, message, CRC32 of everything before it.
// Proxies with a secret (MTProxy "dd"/"ee" secrets) hash the secret into the key and are
// not recognised. Evidence: pcaps/mtproto/ (synthetic from the specification).
// False positives: none known; random 64-byte payloads (pcaps/mtproto/random-tcp.pcap) fail.
#include "classifiers/mtproto.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "packet/bytes.h"

namespace imguard::classifiers {
namespace {

constexpr size_t kObfuscatedHeader = 64;
constexpr size_t kKeyAt = 8;
constexpr size_t kIvAt = 40;
constexpr size_t kTagAt = 56;
constexpr uint32_t kTagAbridged = 0xefefefef;
constexpr uint32_t kTagIntermediate = 0xeeeeeeee;
constexpr uint32_t kTagPadded = 0xdddddddd;
constexpr uint8_t kAbridged = 0xef;
constexpr size_t kAuthKeyId = 8;
constexpr size_t kPlainHeader = 8 + 8 + 4;  // auth_key_id, message_id, message length

using packet::be32;
using packet::le32;

// Words the obfuscated transport never starts with (other protocols' openings).
bool reserved_first_word(std::span<const uint8_t> p) noexcept {
  const uint32_t w = be32(p, 0);
  return p[0] == kAbridged || w == 0x48454144 /* HEAD */ || w == 0x504f5354 /* POST */ ||
         w == 0x47455420 /* GET  */ || w == 0x4f505449 /* OPTI */ || w == kTagIntermediate ||
         w == kTagPadded || w == 0x16030102 || le32(p, 4) == 0;
}

// An unencrypted MTProto message: auth_key_id 0, a non-zero message id, and a body
// length that fits the bytes that follow.
bool is_plain_message(std::span<const uint8_t> m) noexcept {
  if (m.size() < kPlainHeader + 4) {
    return false;
  }
  if (!std::all_of(m.begin(), m.begin() + kAuthKeyId, [](uint8_t b) { return b == 0; })) {
    return false;
  }
  const bool msg_id_zero =
      std::all_of(m.begin() + 8, m.begin() + 16, [](uint8_t b) { return b == 0; });
  const uint32_t body = le32(m, 16);
  return !msg_id_zero && body >= 4 && kPlainHeader + body <= m.size();
}

uint32_t crc32(std::span<const uint8_t> data) noexcept {
  uint32_t crc = 0xffffffff;
  for (uint8_t b : data) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) {
      crc = (crc >> 1) ^ (0xedb88320 & (0u - (crc & 1)));
    }
  }
  return ~crc;
}

bool is_plain_transport(std::span<const uint8_t> p) noexcept {
  if (p.size() >= 2 && p[0] == kAbridged) {
    // Abridged: length in 4-byte words, one byte (< 0x7f) or 0x7f + three bytes.
    if (p[1] < 0x7f) {
      return size_t{2} + size_t{p[1]} * 4 == p.size() && is_plain_message(p.subspan(2));
    }
    if (p.size() >= 5) {
      const size_t words = size_t{p[2]} | (size_t{p[3]} << 8) | (size_t{p[4]} << 16);
      return 5 + words * 4 == p.size() && is_plain_message(p.subspan(5));
    }
    return false;
  }
  if (p.size() >= 8 && (be32(p, 0) == kTagIntermediate || be32(p, 0) == kTagPadded)) {
    const size_t len = le32(p, 4);
    return 8 + len == p.size() && is_plain_message(p.subspan(8));
  }
  // Full transport: total length, sequence number 0, message, CRC32.
  if (p.size() >= 12 + kPlainHeader && le32(p, 0) == p.size() && le32(p, 4) == 0) {
    return crc32(p.first(p.size() - 4)) == le32(p, p.size() - 4) &&
           is_plain_message(p.subspan(8, p.size() - 12));
  }
  return false;
}

}  // namespace

Mtproto::Mtproto() noexcept : cipher_(EVP_CIPHER_CTX_new()) {}

Mtproto::~Mtproto() {
  EVP_CIPHER_CTX_free(cipher_);
}

bool Mtproto::is_obfuscated_header(std::span<const uint8_t> p) noexcept {
  if (cipher_ == nullptr || p.size() < kObfuscatedHeader || reserved_first_word(p)) {
    return false;
  }
  std::array<uint8_t, kObfuscatedHeader> out{};
  int n = 0;
  if (EVP_EncryptInit_ex(cipher_, EVP_aes_256_ctr(), nullptr, p.data() + kKeyAt,
                         p.data() + kIvAt) != 1 ||
      EVP_EncryptUpdate(cipher_, out.data(), &n, p.data(), static_cast<int>(kObfuscatedHeader)) !=
          1 ||
      n != static_cast<int>(kObfuscatedHeader)) {
    return false;
  }
  const uint32_t tag = be32(out, kTagAt);
  return tag == kTagAbridged || tag == kTagIntermediate || tag == kTagPadded;
}

Result Mtproto::inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                        FlowSlot /*slot*/) noexcept {
  if (ctx.direction != Direction::kClientToServer || ctx.payload_packets[0] != 1) {
    return NotMine{};
  }
  const auto& p = pkt.payload;
  if (is_obfuscated_header(p) || is_plain_transport(p)) {
    return Match{.app = AppId::kTelegram, .evidence = Evidence::kDpi};
  }
  return NotMine{};
}

}  // namespace imguard::classifiers
