// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes QUIC Initial handling (header checks, packet-protection removal, CRYPTO frame
// reassembly, the ClientHello behind it).
//
// Random bytes never pass the AEAD tag, so the first input byte picks a mode:
//   even: the rest is one raw UDP datagram for QuicSni::open_datagram (header parsing,
//         coalesced packets, key derivation from the DCID);
//   odd:  the rest is a sequence of [len:2 big-endian][frames] records, each sealed here as
//         a QUIC v1 client Initial (RFC 9001 5) with a fixed DCID, so the decrypted frame
//         parser and the reassembly see fuzzed plaintext.
// Then the reassembled prefix is parsed as a ClientHello, and the datagrams also go
// through QuicSni::inspect() with a per-flow slot (allocation and release of the stream).
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "classifiers/quic_sni.h"
#include "classifiers/tls_client_hello.h"

using namespace imguard::classifiers;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes hmac(const Bytes& key, const Bytes& data) {
  unsigned char out[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), data.data(), data.size(), out, &n);
  return {out, out + n};
}

Bytes expand_label(const Bytes& secret, const std::string& label, size_t len) {
  const std::string full = "tls13 " + label;
  Bytes info = {0, static_cast<uint8_t>(len), static_cast<uint8_t>(full.size())};
  info.insert(info.end(), full.begin(), full.end());
  info.push_back(0);
  info.push_back(1);
  Bytes out = hmac(secret, info);
  out.resize(len);
  return out;
}

const Bytes kDcid = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};

struct Keys {
  Bytes key, iv, hp;
};

const Keys& v1_keys() {
  static const Keys k = [] {
    const Bytes salt = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                        0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
    const Bytes client = expand_label(hmac(salt, kDcid), "client in", 32);
    return Keys{expand_label(client, "quic key", 16), expand_label(client, "quic iv", 12),
                expand_label(client, "quic hp", 16)};
  }();
  return k;
}

/// A protected v1 client Initial carrying `frames` (padded to a 1200-byte datagram when
/// shorter; longer frames make a longer datagram).
Bytes seal_initial(uint16_t pn, const uint8_t* frames, size_t frames_len) {
  const Keys& k = v1_keys();
  Bytes h = {0xc1, 0, 0, 0, 1, static_cast<uint8_t>(kDcid.size())};  // 2-byte pn
  h.insert(h.end(), kDcid.begin(), kDcid.end());
  h.insert(h.end(), {4, 's', 'c', 'i', 'd', 0});  // scid, no token
  size_t payload_len = 1200 - h.size() - 2 - 2 - 16;
  payload_len = std::max(payload_len, frames_len);
  payload_len = std::min<size_t>(payload_len, 0x3fff - 2 - 16);
  Bytes payload(frames, frames + std::min(frames_len, payload_len));
  payload.resize(payload_len, 0);
  const size_t length = 2 + payload_len + 16;
  h.push_back(static_cast<uint8_t>(0x40 | (length >> 8)));
  h.push_back(static_cast<uint8_t>(length));
  const size_t pn_offset = h.size();
  h.push_back(static_cast<uint8_t>(pn >> 8));
  h.push_back(static_cast<uint8_t>(pn));
  Bytes nonce = k.iv;
  nonce[10] = static_cast<uint8_t>(nonce[10] ^ (pn >> 8));
  nonce[11] = static_cast<uint8_t>(nonce[11] ^ (pn & 0xff));
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  Bytes ct(payload.size() + 16);
  int n = 0;
  EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, k.key.data(), nonce.data());
  EVP_EncryptUpdate(c, nullptr, &n, h.data(), static_cast<int>(h.size()));
  EVP_EncryptUpdate(c, ct.data(), &n, payload.data(), static_cast<int>(payload.size()));
  EVP_EncryptFinal_ex(c, ct.data() + n, &n);
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, ct.data() + payload.size());
  Bytes packet = h;
  packet.insert(packet.end(), ct.begin(), ct.end());
  unsigned char mask[16];
  EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), nullptr, k.hp.data(), nullptr);
  EVP_EncryptUpdate(c, mask, &n, packet.data() + pn_offset + 4, 16);
  EVP_CIPHER_CTX_free(c);
  packet[0] = static_cast<uint8_t>(packet[0] ^ (mask[0] & 0x0f));
  packet[pn_offset] = static_cast<uint8_t>(packet[pn_offset] ^ mask[1]);
  packet[pn_offset + 1] = static_cast<uint8_t>(packet[pn_offset + 1] ^ mask[2]);
  return packet;
}

QuicSni& quic() {
  static QuicSni* q = new QuicSni(Signatures::builtin());  // one per worker, lives on
  return *q;
}

void inspect_flow(const std::vector<Bytes>& datagrams) {
  QuicSni& q = quic();
  alignas(8) std::array<std::byte, 128> slot_bytes{};
  FlowSlot slot(std::span<std::byte>(slot_bytes).first(q.interest().state_bytes));
  FlowContext ctx;
  uint32_t index = 0;
  for (const Bytes& d : datagrams) {
    imguard::packet::PacketView pkt;
    pkt.l4 = imguard::packet::L4::kUdp;
    pkt.sport = 50000;
    pkt.dport = 443;
    pkt.payload = d;
    pkt.wire_length = static_cast<uint32_t>(d.size() + 28);
    ctx.packet_index = index++;
    ++ctx.payload_packets[0];
    const Result r = q.inspect(pkt, ctx, slot);
    if (!std::holds_alternative<NeedMore>(r)) {
      break;
    }
  }
  q.release(slot);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) {
    return 0;
  }
  std::vector<Bytes> datagrams;
  if ((data[0] & 1) == 0) {
    datagrams.emplace_back(data + 1, data + size);
  } else {
    size_t at = 1;
    uint16_t pn = 0;
    while (at + 2 <= size && datagrams.size() < QuicSni::kMaxInitials) {
      const size_t len = std::min<size_t>((data[at] << 8) | data[at + 1], size - at - 2);
      datagrams.push_back(seal_initial(pn++, data + at + 2, len));
      at += 2 + len;
    }
  }
  QuicCryptoStream stream;
  std::array<uint8_t, 21> key_dcid{};
  for (const Bytes& d : datagrams) {
    (void)quic().open_datagram(d, stream, key_dcid);
  }
  ClientHelloInfo hello;
  (void)parse_client_hello(stream.prefix(), hello);
  inspect_flow(datagrams);
  return 0;
}
