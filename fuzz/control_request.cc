// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the control socket's request parser (engine::parse_control_request): the line a
// local client sends, up to the 4 KiB the server reads. Checks that a parsed request obeys
// the grammar and that an error text is one line of printable bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "engine/control.h"

using namespace imguard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) {
    return 0;
  }
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto r = engine::parse_control_request(line, error);
  if (r) {
    if (r->by != "user" && r->by != "app" && r->by != "category") {
      __builtin_trap();
    }
    if (r->kind == engine::ControlRequest::Kind::kQuotaReset && r->rule.empty()) {
      __builtin_trap();
    }
    if (r->limit > 999'999'999 || r->since.count() < 0) {
      __builtin_trap();
    }
  } else {
    if (error.empty()) {
      __builtin_trap();
    }
    for (const char c : error) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u >= 0x7f) {
        __builtin_trap();  // no raw control or non-ASCII byte reaches the reply
      }
    }
  }
  return 0;
}
