// SPDX-License-Identifier: GPL-3.0-or-later
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <random>

#include "classifiers/flow_limits.h"
#include "classifiers/quic_sni.h"
#include "im_test_util.h"
#include "quic_vectors.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {

AppId matched(const Result& r) {
  return std::holds_alternative<Match>(r) ? std::get<Match>(r).app : AppId::kUnknown;
}

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const std::string kDcid = unhex("8394c8f03e515708");

// An independent sealer for synthetic client Initials (RFC 9001 5): one-shot HMAC for the
// key schedule, so a shared mistake in the classifier's HKDF would not cancel out.
struct Version {
  uint32_t wire;
  uint8_t initial_type;
  std::string salt_hex;
  std::string prefix;  // "quic " or "quicv2 "
};
const Version kV1{0x00000001, 0, "38762cf7f55934b34d179ae6a4c80cadccbb7f0a", "quic "};
const Version kV2{0x6b3343cf, 1, "0dede3def700a6db819381be6e269dcbf9bd2ed9", "quicv2 "};
const Version kDraft29{0xff00001d, 0, "afbfec289993d24c9e9786f19c6111e04390a899", "quic "};

std::string hmac(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int n = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n);
  return {reinterpret_cast<char*>(out), n};
}

std::string expand_label(const std::string& secret, const std::string& label, size_t len) {
  const std::string full = "tls13 " + label;
  std::string info;
  t::put16(info, len);
  info.push_back(static_cast<char>(full.size()));
  info += full;
  info.push_back(0);
  info.push_back(1);
  return hmac(secret, info).substr(0, len);
}

std::string crypto_frame(size_t offset, const std::string& data) {
  std::string f = "\x06";
  f.push_back(static_cast<char>(0x80));  // 4-byte varint offset
  f.push_back(0);
  t::put16(f, offset);
  t::put16(f, 0x4000 | data.size());
  return f + data;
}

/// A protected client Initial carrying `frames`, padded to a 1200-byte datagram.
std::string seal_initial(const Version& v, const std::string& dcid, uint16_t pn,
                         const std::string& frames) {
  const std::string client = expand_label(hmac(unhex(v.salt_hex), dcid), "client in", 32);
  const std::string key = expand_label(client, v.prefix + "key", 16);
  const std::string iv = expand_label(client, v.prefix + "iv", 12);
  const std::string hp = expand_label(client, v.prefix + "hp", 16);
  std::string h;
  h.push_back(static_cast<char>(0xc0 | (v.initial_type << 4) | 0x01));  // 2-byte pn
  for (int i = 3; i >= 0; --i) {
    h.push_back(static_cast<char>((v.wire >> (8 * i)) & 0xff));
  }
  h.push_back(static_cast<char>(dcid.size()));
  h += dcid;
  h += std::string("\x04scid", 5);
  h.push_back(0);  // no token
  const size_t payload_len = 1200 - h.size() - 2 - 2 - 16;
  REQUIRE(frames.size() <= payload_len);
  const std::string payload = frames + std::string(payload_len - frames.size(), '\0');
  t::put16(h, 0x4000 | (2 + payload_len + 16));
  const size_t pn_offset = h.size();
  t::put16(h, pn);
  std::string nonce = iv;
  nonce[10] = static_cast<char>(nonce[10] ^ (pn >> 8));
  nonce[11] = static_cast<char>(nonce[11] ^ (pn & 0xff));
  EVP_CIPHER_CTX* c = EVP_CIPHER_CTX_new();
  auto u = [](const std::string& s) { return reinterpret_cast<const unsigned char*>(s.data()); };
  std::string ct(payload.size() + 16, '\0');
  auto* out = reinterpret_cast<unsigned char*>(ct.data());
  int n = 0;
  EVP_EncryptInit_ex(c, EVP_aes_128_gcm(), nullptr, u(key), u(nonce));
  EVP_EncryptUpdate(c, nullptr, &n, u(h), static_cast<int>(h.size()));
  EVP_EncryptUpdate(c, out, &n, u(payload), static_cast<int>(payload.size()));
  EVP_EncryptFinal_ex(c, out + n, &n);
  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + payload.size());
  std::string packet = h + ct;
  unsigned char mask[16];
  EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), nullptr, u(hp), nullptr);
  EVP_EncryptUpdate(c, mask, &n, u(packet) + pn_offset + 4, 16);
  EVP_CIPHER_CTX_free(c);
  packet[0] = static_cast<char>(packet[0] ^ (mask[0] & 0x0f));
  packet[pn_offset] = static_cast<char>(packet[pn_offset] ^ mask[1]);
  packet[pn_offset + 1] = static_cast<char>(packet[pn_offset + 1] ^ mask[2]);
  return packet;
}

t::Probe probe() {
  return t::Probe{};
}

Result udp(QuicSni& c, t::Probe& st, const std::string& datagram,
           Direction dir = Direction::kClientToServer) {
  return t::probe_udp(c, st, datagram, dir, 443);
}

void release(QuicSni& c, t::Probe& st) {
  c.release(FlowSlot(std::span<std::byte>(st.slot).first(c.interest().state_bytes)));
}

}  // namespace

TEST_CASE("RFC 9001 A.2 client Initial decrypts to the example.com ClientHello", "[quic_sni]") {
  QuicSni c(Signatures::builtin());
  const std::string pkt = unhex(t::kRfc9001ClientInitialHex);
  REQUIRE(pkt.size() == 1200);
  QuicCryptoStream stream;
  std::array<uint8_t, 21> key_dcid{};
  REQUIRE(c.open_datagram(as_bytes(pkt), stream, key_dcid) == 1);
  CHECK(key_dcid[0] == 8);
  CHECK(std::equal(kDcid.begin(), kDcid.end(), key_dcid.begin() + 1,
                   [](char a, uint8_t b) { return static_cast<uint8_t>(a) == b; }));
  CHECK(stream.prefix().size() == 241);  // the A.2 CRYPTO frame: offset 0, length 241
  ClientHelloInfo hello;
  REQUIRE(parse_client_hello(stream.prefix(), hello) == HelloParse::kOk);
  CHECK(hello.sni == "example.com");
  // example.com is no IM service: the flow is left to nDPI.
  auto st = probe();
  CHECK(std::holds_alternative<NotMine>(udp(c, st, pkt)));
}

TEST_CASE("RFC 9369 A.2 QUIC v2 client Initial decrypts to the same ClientHello", "[quic_sni]") {
  QuicSni c(Signatures::builtin());
  const std::string pkt = unhex(t::kRfc9369ClientInitialHex);
  REQUIRE(pkt.size() == 1200);
  QuicCryptoStream stream;
  std::array<uint8_t, 21> key_dcid{};
  REQUIRE(c.open_datagram(as_bytes(pkt), stream, key_dcid) == 1);
  ClientHelloInfo hello;
  REQUIRE(parse_client_hello(stream.prefix(), hello) == HelloParse::kOk);
  CHECK(hello.sni == "example.com");
}

TEST_CASE("QUIC Initials naming IM services match, in v1, v2 and draft-29", "[quic_sni]") {
  QuicSni c(Signatures::builtin());
  const auto hello = [](const std::string& sni) {
    return crypto_frame(0, t::client_hello_message(sni, {"h3"}));
  };
  auto a = probe();
  CHECK(matched(udp(c, a, seal_initial(kV1, kDcid, 0, hello("web.whatsapp.com")))) ==
        AppId::kWhatsapp);
  auto b = probe();
  CHECK(matched(udp(c, b, seal_initial(kV2, kDcid, 0, hello("edge-chat.messenger.com")))) ==
        AppId::kMessenger);
  auto d = probe();
  CHECK(matched(udp(c, d,
                    seal_initial(kDraft29, "\x01\x02\x03\x04\x05\x06\x07\x08\x09", 1,
                                 "\x01" + hello("chat.google.com")))) == AppId::kGoogleChat);
  auto e = probe();  // a non-IM name answers NotMine (nDPI keeps labelling it "quic")
  CHECK(std::holds_alternative<NotMine>(
      udp(c, e, seal_initial(kV1, kDcid, 0, hello("www.example.org")))));
  auto f = probe();  // an attachment host: the app, with file_transfer
  const Result media = udp(c, f, seal_initial(kV1, kDcid, 0, hello("mmg.whatsapp.net")));
  REQUIRE(std::holds_alternative<Match>(media));
  CHECK(std::get<Match>(media).app == AppId::kWhatsapp);
  CHECK(std::get<Match>(media).features == kFeatureFileTransfer);
}

TEST_CASE("A ClientHello spanning two Initials is reassembled by offset", "[quic_sni]") {
  QuicSni c(Signatures::builtin());
  // Large like a post-quantum key share; the server name sits near the end.
  const std::string msg = t::client_hello_message("web.whatsapp.com", {"h3"}, 1500);
  REQUIRE(msg.size() > 1200);
  const std::string head = msg.substr(0, 900);
  const std::string tail = msg.substr(900);
  auto st = probe();
  // The second half travels first, and the first datagram also carries it out of order.
  const std::string first =
      crypto_frame(600, head.substr(600)) + crypto_frame(0, head.substr(0, 600));
  CHECK(std::holds_alternative<NeedMore>(udp(c, st, seal_initial(kV1, kDcid, 0, first))));
  CHECK(matched(udp(c, st, seal_initial(kV1, kDcid, 1, crypto_frame(900, tail)))) ==
        AppId::kWhatsapp);
  release(c, st);

  // The server's reply in between does not disturb the reassembly; release() frees it.
  auto r = probe();
  CHECK(std::holds_alternative<NeedMore>(
      udp(c, r, seal_initial(kV1, kDcid, 0, crypto_frame(0, head)))));
  CHECK(std::holds_alternative<NeedMore>(
      udp(c, r, std::string(1200, '\x55'), Direction::kServerToClient)));
  release(c, r);
}

TEST_CASE("QUIC look-alikes are not Initials", "[quic_sni]") {
  QuicSni c(Signatures::builtin());
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 50; ++i) {
    std::string p(1200, '\0');
    for (auto& ch : p) {
      ch = static_cast<char>(byte(rng));
    }
    p[0] = static_cast<char>(0xc0 | (p[0] & 0x0f));  // long header, Initial type
    if (i % 2 == 0) {
      p.replace(1, 4, std::string("\x00\x00\x00\x01", 4));  // and a known version
    }
    auto st = probe();
    CHECK(std::holds_alternative<NotMine>(udp(c, st, p)));
  }
  const std::string pkt = unhex(t::kRfc9001ClientInitialHex);
  // Truncated: too short for an Initial datagram, and never a read past the end.
  for (size_t n = 0; n < pkt.size(); n += 37) {
    auto st = probe();
    CHECK(std::holds_alternative<NotMine>(udp(c, st, pkt.substr(0, n))));
    QuicCryptoStream stream;
    std::array<uint8_t, 21> key_dcid{};
    CHECK(c.open_datagram(as_bytes(pkt).first(n), stream, key_dcid) == 0);
  }
  std::string wrong_version = pkt;
  wrong_version[4] = 2;
  auto w = probe();
  CHECK(std::holds_alternative<NotMine>(udp(c, w, wrong_version)));
  std::string flipped = pkt;  // one ciphertext bit: the AEAD tag fails
  flipped[600] = static_cast<char>(flipped[600] ^ 1);
  auto f = probe();
  CHECK(std::holds_alternative<NotMine>(udp(c, f, flipped)));
  std::string short_header = pkt;
  short_header[0] = 0x40;
  auto s = probe();
  CHECK(std::holds_alternative<NotMine>(udp(c, s, short_header)));
  auto v = probe();  // the server speaking first is not a QUIC client
  CHECK(std::holds_alternative<NotMine>(udp(c, v, pkt, Direction::kServerToClient)));
}

TEST_CASE("Key derivations are bounded per datagram and cached for coalesced packets",
          "[quic_sni]") {
  QuicSni c(Signatures::builtin());
  const std::string hello = crypto_frame(0, t::client_hello_message("web.whatsapp.com", {"h3"}));
  // Four coalesced Initials under one DCID cost one derivation.
  {
    std::string dg;
    for (uint16_t pn = 0; pn < 4; ++pn) {
      dg += seal_initial(kV1, kDcid, pn, hello);
    }
    QuicCryptoStream stream;
    std::array<uint8_t, 21> key_dcid{};
    QuicDerivationAllowance allowance;
    CHECK(c.open_datagram(as_bytes(dg), stream, key_dcid, allowance) == 4);
    CHECK(allowance.used == 1);
    CHECK_FALSE(allowance.refused);
  }
  // A new DCID per packet: two derivations, then the rest of the datagram is skipped.
  {
    const std::string dg = seal_initial(kV1, kDcid, 0, hello) +
                           seal_initial(kV1, unhex("0102030405060708"), 1, hello) +
                           seal_initial(kV1, unhex("1112131415161718"), 2, hello);
    QuicCryptoStream stream;
    std::array<uint8_t, 21> key_dcid{};
    FlowLimits limits;
    QuicDerivationAllowance allowance{.limits = &limits};
    CHECK(c.open_datagram(as_bytes(dg), stream, key_dcid, allowance) == 2);
    CHECK(allowance.used == QuicSni::kMaxDerivationsPerDatagram);
    CHECK(allowance.refused);
    CHECK(limits.stats().quic_derivations == 2);
    CHECK(limits.stats().quic_derivations_capped == 1);
  }
}

TEST_CASE("The worker's derivations per second are bounded and counted", "[quic_sni]") {
  QuicSni c(Signatures::builtin());
  FlowLimits limits(FlowLimits::Config{.quic_derivations_per_sec = 1});
  const std::string hello = crypto_frame(0, t::client_hello_message("web.whatsapp.com", {"h3"}));
  auto a = probe();
  a.ctx.limits = &limits;
  CHECK(matched(udp(c, a, seal_initial(kV1, kDcid, 0, hello))) == AppId::kWhatsapp);
  auto b = probe();
  b.ctx.limits = &limits;
  CHECK(std::holds_alternative<NotMine>(udp(c, b, seal_initial(kV1, kDcid, 0, hello))));
  CHECK(limits.stats().quic_derivations_rate_limited == 1);
  // One second of packet time later there is room again.
  CHECK(limits.take_derivation(std::chrono::seconds(1)));
}
