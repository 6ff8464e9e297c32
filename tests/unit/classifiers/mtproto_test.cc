// SPDX-License-Identifier: GPL-3.0-or-later
#include <openssl/evp.h>
#include <catch2/catch.hpp>

#include <random>

#include "classifiers/mtproto.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {
// Builds an obfuscated2 header the way a client does: random bytes whose encryption with
// the key/IV at bytes 8..55 puts `tag` at bytes 56..59.
std::string obfuscated_header(uint32_t tag, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string h(64, '\0');
  for (auto& ch : h) {
    ch = static_cast<char>(rng() & 0xff);
  }
  h[0] = 0x55;
  const auto* key = reinterpret_cast<const unsigned char*>(h.data()) + 8;
  const auto* iv = reinterpret_cast<const unsigned char*>(h.data()) + 40;
  unsigned char zeros[64] = {};
  unsigned char stream[64] = {};
  int n = 0;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), nullptr, key, iv);
  EVP_EncryptUpdate(ctx, stream, &n, zeros, 64);
  EVP_CIPHER_CTX_free(ctx);
  for (int i = 0; i < 4; ++i) {
    h[56 + static_cast<size_t>(i)] =
        static_cast<char>(((tag >> (24 - 8 * i)) & 0xff) ^ stream[56 + i]);
  }
  return h;
}

std::string req_pq_message() {
  std::string m(8, '\0');                                           // auth_key_id 0
  m += t::bytes({0x04, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x5f});  // message id
  m += t::bytes({20, 0, 0, 0});                                     // body length
  m += t::bytes({0xf1, 0x8e, 0x7e, 0xbe}) + std::string(16, 'n');   // req_pq_multi, nonce
  return m;
}
}  // namespace

TEST_CASE("MTProto obfuscated transport header matches", "[mtproto]") {
  Mtproto c;
  for (uint32_t tag : {0xefefefefu, 0xeeeeeeeeu, 0xddddddddu}) {
    t::Probe st;
    const auto r =
        t::probe_tcp(c, st, obfuscated_header(tag, tag) + "more", Direction::kClientToServer, 443);
    REQUIRE(std::holds_alternative<Match>(r));
    CHECK(std::get<Match>(r).app == AppId::kTelegram);
  }
}

TEST_CASE("MTProto plain transports with the first message match", "[mtproto]") {
  Mtproto c;
  const std::string msg = req_pq_message();
  t::Probe a;
  std::string abridged = "\xef";
  abridged.push_back(static_cast<char>(msg.size() / 4));
  CHECK(std::holds_alternative<Match>(t::probe_tcp(c, a, abridged + msg)));
  t::Probe b;
  CHECK(std::holds_alternative<Match>(
      t::probe_tcp(c, b, t::bytes({0xee, 0xee, 0xee, 0xee, 40, 0, 0, 0}) + msg)));
}

TEST_CASE("MTProto look-alikes are not matched", "[mtproto]") {
  Mtproto c;
  std::mt19937 rng(7);
  int matches = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string r(64, '\0');
    for (auto& ch : r) {
      ch = static_cast<char>(rng() & 0xff);
    }
    t::Probe st;
    matches += std::holds_alternative<Match>(t::probe_tcp(c, st, r)) ? 1 : 0;
  }
  CHECK(matches == 0);
  t::Probe a;  // a valid header sent by the server side is not a client opening
  CHECK(std::holds_alternative<NotMine>(
      t::probe_tcp(c, a, obfuscated_header(0xefefefef, 1), Direction::kServerToClient)));
  t::Probe b;  // 0xef with a length that does not fit
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(c, b, "\xef\x30" + req_pq_message())));
}
