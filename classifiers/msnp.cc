// SPDX-License-Identifier: GPL-3.0-or-later
// MSNP opens with "VER <trid> MSNP<n> [MSNP<m> ...] CVR0\r\n" from the client, echoed by
// the server with the chosen version (MSNP draft, draft-movva-msn-messenger-protocol).
// The line must be the whole first segment's first line, with a numeric transaction id.
// Evidence: pcaps/msnp/ (synthetic). False positives: none known; an HTTP or SMTP line
// mentioning MSNP (pcaps/msnp/msnp-lookalike.pcap) does not start with "VER <digits>".
#include "classifiers/msnp.h"

#include "classifiers/im_text.h"

namespace imguard::classifiers {
namespace {

constexpr size_t kMaxLine = 256;

bool is_version_line(std::string_view t) noexcept {
  const size_t eol = t.find("\r\n");
  if (!t.starts_with("VER ") || eol == std::string_view::npos || eol > kMaxLine) {
    return false;
  }
  std::string_view line = t.substr(4, eol - 4);
  size_t digits = 0;
  while (digits < line.size() && line[digits] >= '0' && line[digits] <= '9') {
    ++digits;
  }
  if (digits == 0 || digits >= line.size() || line[digits] != ' ') {
    return false;
  }
  line.remove_prefix(digits + 1);
  return line.starts_with("MSNP") && line.size() > 4 && line[4] >= '0' && line[4] <= '9';
}

}  // namespace

Result Msnp::inspect(const packet::PacketView& pkt, const FlowContext& /*ctx*/,
                     FlowSlot /*slot*/) noexcept {
  if (is_version_line(as_text(pkt.payload))) {
    return Match{.app = AppId::kMsn, .evidence = Evidence::kDpi, .features = kFeatureCleartext};
  }
  return NotMine{};
}

}  // namespace imguard::classifiers
