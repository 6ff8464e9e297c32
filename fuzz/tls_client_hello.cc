// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the TLS ClientHello parser: the input is a TCP payload; a handshake record's body
// and the input itself (as a bare handshake message, as in a QUIC CRYPTO frame) are parsed.
#include <cstddef>
#include <cstdint>
#include <span>

#include "classifiers/tls_client_hello.h"

using namespace imguard::classifiers;

namespace {
void parse(std::span<const uint8_t> msg) {
  ClientHelloInfo info;
  const HelloParse r = parse_client_hello(msg, info);
  if (info.alpn_count > ClientHelloInfo::kMaxAlpn) {
    __builtin_trap();
  }
  if (r == HelloParse::kOk) {
    volatile size_t n = info.sni.size();
    for (size_t i = 0; i < info.alpn_count; ++i) {
      n = n + info.alpn[i].size();
    }
    (void)n;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  parse(in);
  const size_t record = tls_handshake_record_length(in);
  if (record >= 5 && size >= 5) {
    parse(in.subspan(5, std::min(record, size) - 5));
  }
  return 0;
}
