// SPDX-License-Identifier: GPL-3.0-or-later
// Internal to conntrack/: ctnetlink messages as plain bytes, built and parsed without a
// socket so the unit tests can check them on byte arrays. Every read goes through memcpy,
// so buffers need no alignment, and every length is checked against what remains.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "conntrack/conntrack.h"

namespace imguard::conntrack::netlink {

/// The largest message put_update() writes (headers, both masks, a v6 tuple, the zone).
/// Callers flush a batch when less than this is left.
inline constexpr size_t kMaxUpdateMessageBytes = 256;
/// Size of the request put_dump_request() and put_stats_request() write.
inline constexpr size_t kRequestBytes = 20;

/// One netlink message header, decoded (host order).
struct Message {
  uint32_t length = 0;  // nlmsg_len, including the 16-byte header
  uint16_t type = 0;
  uint16_t flags = 0;
  uint32_t seq = 0;
  uint32_t portid = 0;
  std::span<const uint8_t> bytes;  // the whole message, header included
};

/// Walks the messages of one datagram. next() stops at the end or at the first header
/// that is truncated or claims more bytes than remain; malformed() then says which.
class MessageReader {
 public:
  explicit MessageReader(std::span<const uint8_t> datagram) noexcept : rest_(datagram) {}
  std::optional<Message> next() noexcept;
  bool malformed() const noexcept { return malformed_; }

 private:
  std::span<const uint8_t> rest_;
  bool malformed_ = false;
};

/// nlmsg_type of a ctnetlink message (NFNL_SUBSYS_CTNETLINK << 8 | msg).
uint16_t ct_type(uint8_t ctnl_msg) noexcept;

/// Writes an IPCTNL_MSG_CT_GET dump request for `family` (AF_INET, AF_INET6 or AF_UNSPEC
/// for both) into `out`. Returns the bytes written (kRequestBytes), 0 if `out` is smaller.
size_t put_dump_request(std::span<uint8_t> out, uint8_t family, uint32_t seq) noexcept;

/// Writes an IPCTNL_MSG_CT_GET_STATS request with NLM_F_ACK (open()'s permission and
/// module probe). Returns the bytes written, 0 if `out` is too small.
size_t put_stats_request(std::span<uint8_t> out, uint32_t seq) noexcept;

/// Why an Update cannot be sent; nullopt when it is well formed (both addresses of one
/// family, TCP or UDP, something to change).
std::optional<std::string> check(const Update& update);

/// Writes one IPCTNL_MSG_CT_NEW with NLM_F_REQUEST | NLM_F_ACK and without NLM_F_CREATE
/// (update only): CTA_TUPLE_ORIG, CTA_ZONE when nonzero, CTA_MARK + CTA_MARK_MASK when a
/// mark is set, CTA_LABELS + CTA_LABELS_MASK when a label is set. Returns the bytes
/// written, 0 if `out` holds less than kMaxUpdateMessageBytes or check() fails.
size_t put_update(std::span<uint8_t> out, const Update& update, uint32_t seq) noexcept;

enum class ParseStatus : uint8_t {
  kEntry,      // `out` holds a TCP or UDP connection
  kSkipped,    // a well-formed entry of another protocol (ICMP, SCTP, ...)
  kMalformed,  // truncated or inconsistent attributes; `out` is unspecified
};

/// Parses one IPCTNL_MSG_CT_NEW message of a dump (`message` starts at the nlmsghdr).
/// Unknown attributes are ignored; known ones with a wrong length make it kMalformed.
ParseStatus parse_entry(std::span<const uint8_t> message, Entry& out) noexcept;

/// The errno (positive; 0 for a plain ack) carried by an NLMSG_ERROR message, nullopt when
/// the message is not one or is truncated.
std::optional<int> parse_error(const Message& message) noexcept;

/// "tcp 10.0.0.1:1234 -> 10.0.0.2:80" (v6 addresses in brackets), for error messages.
std::string to_string(const Tuple& tuple);

}  // namespace imguard::conntrack::netlink
