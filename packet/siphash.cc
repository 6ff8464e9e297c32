// SPDX-License-Identifier: GPL-3.0-or-later
// SipHash-2-4 from the published algorithm (https://cr.yp.to/siphash/siphash-20120918.pdf,
// section 2): four 64-bit lanes initialised from the key and "somepseudorandomlygenerated
// bytes", two SipRounds per 8-byte little-endian message word, the length in the top byte
// of the last word, 0xff folded into v2 and four finalisation rounds. The reference test
// vectors (key 00..0f, messages 00..(n-1)) are in tests/unit/packet/siphash_test.cc.
#include "packet/siphash.h"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace imguard::packet {
namespace {

uint64_t load_le64(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) {
    v = (v << 8) | p[i];
  }
  return v;
}

struct State {
  uint64_t v0;
  uint64_t v1;
  uint64_t v2;
  uint64_t v3;

  void round() noexcept {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  void compress(uint64_t m) noexcept {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

// Fills `out` from the kernel's CSPRNG; false when neither getrandom(2) nor /dev/urandom
// can deliver.
bool random_bytes(uint8_t* out, size_t n) noexcept {
  size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(out + got, n - got, 0);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r < 0 && errno != EINTR) {
      break;
    }
  }
  if (got == n) {
    return true;
  }
  // Kernels before 3.17 (no getrandom): the same pool through the device.
  const int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  got = 0;
  while (got < n) {
    const ssize_t r = read(fd, out + got, n - got);
    if (r > 0) {
      got += static_cast<size_t>(r);
    } else if (r == 0 || errno != EINTR) {
      break;
    }
  }
  close(fd);
  return got == n;
}

SipKey draw_key() noexcept {
  uint8_t k[16];
  if (!random_bytes(k, sizeof k)) {
    std::fprintf(stderr, "imguard: no random source for the hash key (getrandom, /dev/urandom)\n");
    std::abort();
  }
  return SipKey{load_le64(k), load_le64(k + 8)};
}

}  // namespace

uint64_t siphash24(const SipKey& key, std::span<const uint8_t> data) noexcept {
  State s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
          key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
  const size_t n = data.size();
  const size_t whole = n & ~size_t{7};
  for (size_t i = 0; i < whole; i += 8) {
    s.compress(load_le64(data.data() + i));
  }
  uint64_t last = uint64_t{n & 0xff} << 56;
  for (size_t i = whole; i < n; ++i) {
    last |= uint64_t{data[i]} << (8 * (i - whole));
  }
  s.compress(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) {
    s.round();
  }
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

const SipKey& process_hash_key() noexcept {
  static const SipKey key = draw_key();  // C++11 magic static: drawn once, thread-safe
  return key;
}

}  // namespace imguard::packet
