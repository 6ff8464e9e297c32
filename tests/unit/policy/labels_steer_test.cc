// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include <algorithm>

#include "policy/labels.h"

using namespace imguard::policy;

namespace {
void set_bit(LabelBytes& l, int bit) {
  l[static_cast<size_t>(bit / 8)] =
      static_cast<uint8_t>(l[static_cast<size_t>(bit / 8)] | (1u << (bit % 8)));
}
bool has_bit(const LabelBytes& l, int bit) {
  return ((l[static_cast<size_t>(bit / 8)] >> (bit % 8)) & 1u) != 0;
}
}  // namespace

TEST_CASE("policy/labels: the steering field names the worker, bit 0 first", "[policy]") {
  LabelBytes l{};
  CHECK(steer_index(l) == 0);
  for (uint32_t worker = 0; worker < kMaxSteeredWorkers; ++worker) {
    LabelBytes w{};
    for (size_t b = 0; b < kSteerLabelBits.size(); ++b) {
      if ((worker >> b) & 1u) {
        set_bit(w, kSteerLabelBits[b]);
      }
    }
    CHECK(steer_index(w) == worker);
    // A record next to it does not change it.
    const LabelBytes rec = encode_label(ConnRecord{.app = imguard::classifiers::AppId::kXmpp,
                                                   .features = 0xff,
                                                   .user_stable_id = 0xffffffffu});
    for (size_t i = 0; i < w.size(); ++i) {
      w[i] = static_cast<uint8_t>(w[i] | (rec[i] & label_mask()[i]));
    }
    CHECK(steer_index(w) == worker);
  }
}

TEST_CASE("policy/labels: record writes leave the steering and data-queued bits alone",
          "[policy]") {
  const LabelBytes m = label_mask();
  for (const int bit : kSteerLabelBits) {
    CHECK_FALSE(has_bit(m, bit));
  }
  CHECK_FALSE(has_bit(m, kDataQueuedLabelBit));
  // Every other bit of imguard's half is written; the lower half never.
  for (int bit = 0; bit < 128; ++bit) {
    const bool reserved =
        bit == kDataQueuedLabelBit ||
        std::find(kSteerLabelBits.begin(), kSteerLabelBits.end(), bit) != kSteerLabelBits.end();
    CHECK(has_bit(m, bit) == (bit >= 64 && !reserved));
  }
  // The record itself never uses those bits, whatever it holds.
  const LabelBytes rec = encode_label(ConnRecord{.app = imguard::classifiers::AppId::kXmpp,
                                                 .evidence = imguard::classifiers::Evidence::kDpi,
                                                 .features = 0xff,
                                                 .user_is_responder = true,
                                                 .identity_sticky = true,
                                                 .user_stable_id = 0xffffffffu});
  for (const int bit : kSteerLabelBits) {
    CHECK_FALSE(has_bit(rec, bit));
  }
  CHECK_FALSE(has_bit(rec, kDataQueuedLabelBit));
}
