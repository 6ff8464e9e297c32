// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "policy/marks.h"

using namespace imguard::policy;

TEST_CASE("policy/marks: mask validation", "[policy]") {
  CHECK(valid_mark_mask(0x00ff0000));
  CHECK(valid_mark_mask(0x7));
  CHECK(valid_mark_mask(0xe0000000));
  CHECK(valid_mark_mask(0xffffffff));
  CHECK_FALSE(valid_mark_mask(0));
  CHECK_FALSE(valid_mark_mask(0x3));
  CHECK_FALSE(valid_mark_mask(0x00f0f000));
  CHECK(mark_bucket_capacity(0x00ff0000) == 32);
  CHECK(mark_bucket_capacity(0x7) == 1);
  CHECK(mark_bucket_capacity(0x5) == 0);
}

TEST_CASE("policy/marks: the documented layout for the default window", "[policy]") {
  Decision d;
  d.action = d.enforced = Action::kThrottle;
  d.bucket = 5;
  CHECK(encode(d, 0x00ff0000) == ((5u << 19) | (3u << 17) | (1u << 16)));
  CHECK(encode(Decision{}, 0x00ff0000) == 0x00010000u);  // decided, allow
  d = Decision{};
  d.action = d.enforced = Action::kDrop;
  CHECK(encode(d, 0x00ff0000) == 0x00030000u);
  // The mark carries what the kernel applies: a monitored drop is an allow.
  d.enforced = Action::kAllow;
  CHECK(encode(d, 0x00ff0000) == 0x00010000u);
}

TEST_CASE("policy/marks: encode/decode round trip over actions, buckets and windows", "[policy]") {
  for (uint32_t mask : {0x00ff0000u, 0x0000ff00u, 0x7u, 0xff000000u, 0x0001fff8u}) {
    const uint32_t capacity = mark_bucket_capacity(mask);
    for (Action a : {Action::kAllow, Action::kDrop, Action::kReject, Action::kThrottle}) {
      for (uint32_t b = 0; b < capacity && b < 300; ++b) {
        Decision d;
        d.action = d.enforced = a;
        d.bucket = static_cast<uint16_t>(b);
        const uint32_t m = encode(d, mask);
        CHECK((m & ~mask) == 0);
        CHECK(m != 0);
        auto back = decode(m | ~mask, mask);  // bits outside the window are ignored
        REQUIRE(back.has_value());
        CHECK(back->action == a);
        CHECK(back->bucket == b);
      }
    }
  }
}

TEST_CASE("policy/marks: marks never touch bits outside the window", "[policy]") {
  Decision d;
  d.action = d.enforced = Action::kThrottle;
  d.bucket = 0xffff;  // too big for the window: truncated, never spills
  for (uint32_t mask : {0x00ff0000u, 0x7u, 0xf0000000u}) {
    CHECK((encode(d, mask) & ~mask) == 0);
    for (uint32_t old : {0u, 0xffffffffu, 0xdeadbeefu}) {
      const uint32_t out = apply_mark(old, d, mask);
      CHECK((out & ~mask) == (old & ~mask));
      CHECK((out & mask) == encode(d, mask));
    }
  }
}

TEST_CASE("policy/marks: an undecided window decodes to nothing", "[policy]") {
  CHECK_FALSE(decode(0, 0x00ff0000).has_value());
  CHECK_FALSE(decode(0xff00ffff, 0x00ff0000).has_value());
  CHECK_FALSE(decode(0x00fe0000, 0x00ff0000).has_value());  // decided bit clear
  CHECK_FALSE(decode(0x00ff0000, 0x00f0f000).has_value());  // invalid mask
}

TEST_CASE("policy/marks: the new-connection tag is never a decision", "[policy]") {
  CHECK(new_conn_tag(0x00ff0000) == 0x00020000);
  CHECK(decided_bit(0x00ff0000) == 0x00010000);
  CHECK(new_conn_tag(0x7) == 0x2);
  CHECK(new_conn_tag(0x00f0f000) == 0);  // invalid mask: no tag
  for (uint32_t mask : {0x00ff0000u, 0x7u, 0xf0000000u}) {
    const uint32_t tag = new_conn_tag(mask);
    CHECK((tag & ~mask) == 0);
    CHECK_FALSE(decode(tag, mask).has_value());  // the decided bit is clear
    CHECK(has_new_conn_tag(tag | ~mask, mask));  // bits outside the window do not matter
    CHECK_FALSE(has_new_conn_tag(0, mask));
    // No verdict carries it: every decision has the decided bit.
    for (Action a : {Action::kAllow, Action::kDrop, Action::kReject, Action::kThrottle}) {
      Decision d;
      d.action = d.enforced = a;
      CHECK_FALSE(has_new_conn_tag(apply_mark(tag, d, mask), mask));
      CHECK((encode(d, mask) & decided_bit(mask)) != 0);
    }
  }
}
