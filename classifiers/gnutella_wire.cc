// SPDX-License-Identifier: GPL-3.0-or-later
// Why each check holds: the Gnutella 0.6 RFC draft (message payloads), GGEP 0.51 (the
// extension block), LimeWire's vendor-message and Mojito message formats (Mojito: op
// code, 4-byte vendor, 2-byte version, 20-byte KUID, length-prefixed socket address,
// instance id, flags, 16-bit extended-header length, then the op code's body, big-endian).
#include "classifiers/gnutella_wire.h"

#include <algorithm>

#include "packet/bytes.h"

namespace imguard::classifiers::gnutella {
namespace {

constexpr uint8_t kPing = 0x00;
constexpr uint8_t kPong = 0x01;
constexpr uint8_t kBye = 0x02;
constexpr uint8_t kRouteTable = 0x30;
constexpr uint8_t kVendor = 0x31;
constexpr uint8_t kVendorStd = 0x32;
constexpr uint8_t kPush = 0x40;
constexpr uint8_t kMojito = 0x44;
constexpr uint8_t kQuery = 0x80;
constexpr uint8_t kQueryHit = 0x81;

constexpr uint8_t kGgepMagic = 0xc3;
constexpr uint32_t kMaxTtlPlusHops = 16;
constexpr size_t kKuid = 20;
constexpr size_t kServentId = 16;
constexpr size_t kPongFixed = 14;  // port, IPv4, shared files, shared kilobytes
constexpr size_t kPushFixed = 26;  // servent id, file index, IPv4, port
// A DHT size estimate is at most a 160-bit number.
constexpr uint8_t kMaxDhtSizeBytes = 20;

using Cursor = packet::ByteReader;

bool all_of_class(Bytes b, bool (*pred)(uint8_t)) noexcept {
  return std::all_of(b.begin(), b.end(), pred);
}
bool is_alnum(uint8_t c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/// Empty, or exactly one GGEP block.
bool empty_or_ggep(Bytes b) noexcept {
  return b.empty() || is_ggep(b);
}

/// A NUL-terminated string starting at the cursor that is UTF-8 text without control
/// characters: Gnutella search criteria, file names and Bye reasons (Gnutella 0.6: UTF-8).
bool text_z(Cursor& c) noexcept {
  size_t continuation = 0;  // bytes still owed to a multi-byte sequence
  for (size_t v = 0; c.u8(v);) {
    if (continuation > 0) {
      if ((v & 0xc0) != 0x80) {
        return false;
      }
      --continuation;
    } else if (v == 0) {
      return true;
    } else if (v < 0x20 || v == 0x7f) {
      return false;
    } else if (v >= 0xc2 && v <= 0xdf) {
      continuation = 1;
    } else if (v >= 0xe0 && v <= 0xef) {
      continuation = 2;
    } else if (v >= 0xf0 && v <= 0xf4) {
      continuation = 3;
    } else if (v >= 0x80) {
      return false;  // a stray continuation byte, or a lead byte UTF-8 never uses
    }
  }
  return false;
}

bool query(Bytes p) noexcept {
  // Minimum speed / flags (2), search criteria NUL-terminated, then extensions (HUGE
  // URNs, GGEP, XML) to the end.
  Cursor c(p);
  return c.skip(2) && text_z(c);
}

bool query_hit(Bytes p) noexcept {
  // Hit count, port, IPv4, speed; the results (file index, file size, name and an
  // extension block, each NUL-terminated); an optional trailer; the servent id.
  Cursor c(p);
  size_t hits = 0;
  if (!c.u8(hits) || hits == 0 || !c.skip(2 + 4 + 4)) {
    return false;
  }
  for (size_t i = 0; i < hits; ++i) {
    if (!c.skip(8) || !text_z(c)) {
      return false;
    }
    // The extension block may carry binary GGEP (COBS-encoded, so free of NULs).
    for (size_t v = 1; v != 0;) {
      if (!c.u8(v)) {
        return false;
      }
    }
  }
  return c.left() >= kServentId;
}

bool bye(Bytes p) noexcept {
  // Code (little-endian, an HTTP-style status), then a NUL-terminated reason.
  if (p.size() < 3) {
    return false;
  }
  const uint16_t code = packet::le16(p, 0);
  Cursor c(p.subspan(2));
  return code >= 200 && code <= 599 && text_z(c);
}

bool vendor_message(Bytes p) noexcept {
  // Vendor code (4 letters, or zero for the "messages supported" family), selector (2),
  // version (2), then the message's own body.
  if (p.size() < 8) {
    return false;
  }
  const Bytes vendor = p.first(4);
  const bool zero = std::all_of(vendor.begin(), vendor.end(), [](uint8_t v) { return v == 0; });
  return (zero || all_of_class(vendor, is_alnum)) && packet::le16(p, 6) != 0;
}

bool route_table(Bytes p) noexcept {
  // Query Routing Protocol: RESET (variant 0: table length, infinity) or PATCH (variant
  // 1: sequence number and size, compressor, entry bits, table data).
  if (p.empty()) {
    return false;
  }
  if (p[0] == 0) {
    const uint32_t length = p.size() == 6 ? packet::le32(p, 1) : 0;
    return length >= 64 && (length & (length - 1)) == 0 && p[5] != 0;
  }
  if (p[0] == 1) {
    return p.size() > 5 && p[1] >= 1 && p[1] <= p[2] && p[3] <= 1 &&
           (p[4] == 1 || p[4] == 2 || p[4] == 4 || p[4] == 8);
  }
  return false;
}

// --- Mojito -------------------------------------------------------------------------

/// Address length (4 or 16; 0 only where an address may be absent), address, port.
bool socket_address(Cursor& c, bool may_be_absent) noexcept {
  size_t len = 0;
  if (!c.u8(len)) {
    return false;
  }
  if (len == 0) {
    return may_be_absent;
  }
  size_t port = 0;
  return (len == 4 || len == 16) && c.skip(len) && c.u16(port) && port != 0;
}

/// Vendor, version, node id, contact address.
bool contact(Cursor& c) noexcept {
  Bytes vendor;
  return c.sub(4, vendor) && all_of_class(vendor, is_alnum) && c.skip(2 + kKuid) &&
         socket_address(c, false);
}

/// A count byte, then that many items, each read by `item`.
template <typename Item>
bool counted(Cursor& c, Item item) noexcept {
  size_t n = 0;
  if (!c.u8(n)) {
    return false;
  }
  for (size_t i = 0; i < n; ++i) {
    if (!item(c)) {
      return false;
    }
  }
  return true;
}

bool contacts(Cursor& c) noexcept {
  return counted(c, contact);
}

bool kuids(Cursor& c) noexcept {
  size_t n = 0;
  return c.u8(n) && c.skip(n * kKuid);
}

/// Length byte then that many bytes (security tokens, the DHT size estimate).
bool short_blob(Cursor& c, size_t max) noexcept {
  size_t n = 0;
  return c.u8(n) && n <= max && c.skip(n);
}

/// 16-bit length, then that many bytes.
bool blob16(Cursor& c) noexcept {
  size_t n = 0;
  return c.u16(n) && c.skip(n);
}

/// Creator contact, primary key, value type, value version, value length and data.
bool value_entities(Cursor& c) noexcept {
  return counted(c, [](Cursor& v) { return contact(v) && v.skip(kKuid + 4 + 2) && blob16(v); });
}

/// Primary and secondary key, status code, status text.
bool store_status_codes(Cursor& c) noexcept {
  return counted(c, [](Cursor& v) { return v.skip(2 * kKuid + 2) && blob16(v); });
}

bool mojito_body(size_t opcode, Cursor& c) noexcept {
  switch (opcode) {
    case 0x01:  // PING_REQUEST: no body
      return true;
    case 0x02:  // PING_RESPONSE: the requester's external address, DHT size estimate
      return socket_address(c, true) && short_blob(c, kMaxDhtSizeBytes);
    case 0x03:  // STORE_REQUEST: security token, values
      return short_blob(c, 0xff) && value_entities(c);
    case 0x04:  // STORE_RESPONSE: a status per stored value
      return store_status_codes(c);
    case 0x05:  // FIND_NODE_REQUEST: the id looked up
      return c.skip(kKuid);
    case 0x06:  // FIND_NODE_RESPONSE: security token, contacts
      return short_blob(c, 0xff) && contacts(c);
    case 0x07:  // FIND_VALUE_REQUEST: id, secondary keys, value type
      return c.skip(kKuid) && kuids(c) && c.skip(4);
    case 0x08:  // FIND_VALUE_RESPONSE: request load (float), values, secondary keys
      return c.skip(4) && value_entities(c) && kuids(c);
    default:  // STATS_* (0x09, 0x0A) are deprecated and never sent; the rest do not exist
      return false;
  }
}

}  // namespace

bool header_fits(uint8_t type, uint8_t ttl, uint8_t hops, Transport transport) noexcept {
  const bool udp = transport == Transport::kUdp;
  switch (type) {
    case kMojito:
      return udp;  // bytes 17-18 hold the message version, not TTL and hops
    case kRouteTable:
    case kBye:
      if (udp) {
        return false;
      }
      break;
    case kPing:
    case kPong:
    case kVendor:
    case kVendorStd:
    case kPush:
    case kQuery:
    case kQueryHit:
      break;
    default:
      return false;
  }
  const uint32_t sum = uint32_t{ttl} + hops;
  return sum >= 1 && sum <= kMaxTtlPlusHops;
}

bool payload_fits(uint8_t type, Bytes p) noexcept {
  switch (type) {
    case kPing:
      return empty_or_ggep(p);
    case kPong:
      return p.size() >= kPongFixed && empty_or_ggep(p.subspan(kPongFixed));
    case kPush:
      return p.size() >= kPushFixed && empty_or_ggep(p.subspan(kPushFixed));
    case kQuery:
      return query(p);
    case kQueryHit:
      return query_hit(p);
    case kBye:
      return bye(p);
    case kVendor:
    case kVendorStd:
      return vendor_message(p);
    case kRouteTable:
      return route_table(p);
    case kMojito:
      return is_mojito(p);
    default:
      return false;
  }
}

bool is_mojito(Bytes p) noexcept {
  Cursor c(p);
  size_t opcode = 0;
  size_t extended = 0;
  if (!c.u8(opcode) || !contact(c) || !c.skip(2) || !c.u16(extended) || !c.skip(extended)) {
    return false;
  }
  return mojito_body(opcode, c) && c.left() == 0;
}

bool is_ggep(Bytes b) noexcept {
  Cursor c(b);
  size_t magic = 0;
  if (!c.u8(magic) || magic != kGgepMagic) {
    return false;
  }
  for (;;) {
    size_t flags = 0;
    Bytes id;
    // Flags: last (0x80), COBS (0x40), deflate (0x20), reserved (0x10, zero), id length.
    if (!c.u8(flags) || (flags & 0x10) != 0 || (flags & 0x0f) == 0 || !c.sub(flags & 0x0f, id) ||
        std::find(id.begin(), id.end(), 0) != id.end()) {
      return false;
    }
    // Data length: 1-3 bytes of 6 bits each, 0x80 on all but the last, 0x40 on the last.
    size_t len = 0;
    for (int i = 0;; ++i) {
      size_t v = 0;
      if (i == 3 || !c.u8(v) || (v & 0xc0) == 0 || (v & 0xc0) == 0xc0) {
        return false;
      }
      len = (len << 6) | (v & 0x3f);
      if ((v & 0x40) != 0) {
        break;
      }
    }
    if (!c.skip(len)) {
      return false;
    }
    if ((flags & 0x80) != 0) {
      return c.left() == 0;
    }
  }
}

}  // namespace imguard::classifiers::gnutella
