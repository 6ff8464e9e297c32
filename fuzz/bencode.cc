// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the bounded bencode reader (DHT KRPC, tracker responses): every entry point, at
// offset 0 and at an offset taken from the first byte.
#include <cstddef>
#include <cstdint>
#include <span>

#include "classifiers/bittorrent_bencode.h"

namespace bencode = imguard::classifiers::bencode;

namespace {
void check_inside(std::span<const uint8_t> in, std::span<const uint8_t> v) {
  if (!v.empty() && (v.data() < in.data() || v.data() + v.size() > in.data() + in.size())) {
    __builtin_trap();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const size_t start = data[0] % 8;
  const bencode::Bytes in(data + 1, size - 1);
  for (const size_t pos : {size_t{0}, start}) {
    if (const auto end = bencode::skip(in, pos); end && (*end > in.size() || *end <= pos)) {
      __builtin_trap();
    }
    if (const auto s = bencode::string_at(in, pos)) {
      check_inside(in, s->value);
      if (s->end > in.size()) {
        __builtin_trap();
      }
    }
    for (const char* key : {"y", "q", "r", "a", "nodes", "values", "peers", "info_hash", "id"}) {
      if (const auto v = bencode::find(in, pos, key)) {
        check_inside(in, *v);
        (void)bencode::skip(*v, 0);
      }
      if (const auto v = bencode::find_string(in, pos, key)) {
        check_inside(in, *v);
      }
      if (const auto v = bencode::find_string_prefix(in, pos, key)) {
        check_inside(in, *v);
      }
    }
  }
  return 0;
}
