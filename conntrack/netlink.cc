// SPDX-License-Identifier: GPL-3.0-or-later
// ctnetlink wire format (include/uapi/linux/netfilter/nfnetlink_conntrack.h and the
// kernel's net/netfilter/nf_conntrack_netlink.c): a 16-byte nlmsghdr, a 4-byte nfgenmsg,
// then TLV attributes padded to 4 bytes. Integers inside attributes are big-endian; the
// netlink headers are host order. Nested attributes carry NLA_F_NESTED as libmnl sets it.
#include "conntrack/netlink.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

namespace imguard::conntrack::netlink {
namespace {

constexpr size_t kHeaderBytes = 16;  // struct nlmsghdr
constexpr size_t kGenBytes = 4;      // struct nfgenmsg
constexpr size_t kAttrHeaderBytes = 4;

constexpr size_t align4(size_t n) {
  return (n + 3) & ~size_t{3};
}

uint16_t load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint32_t load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
uint16_t load_be16(const uint8_t* p) {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
uint64_t load_be64(const uint8_t* p) {
  return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}

// Appends attributes into a fixed span; remembers overflow instead of failing each call.
class Writer {
 public:
  explicit Writer(std::span<uint8_t> out) : out_(out) {}

  void raw(const void* data, size_t n) {
    if (!room(n)) {
      return;
    }
    std::memcpy(out_.data() + pos_, data, n);
    pos_ += n;
  }
  void pad() {
    const size_t n = align4(pos_) - pos_;
    if (!room(n)) {
      return;
    }
    std::memset(out_.data() + pos_, 0, n);
    pos_ += n;
  }
  void attr(uint16_t type, const void* data, size_t n) {
    const auto len = static_cast<uint16_t>(kAttrHeaderBytes + n);
    raw(&len, 2);
    raw(&type, 2);
    raw(data, n);
    pad();
  }
  void u8(uint16_t type, uint8_t v) { attr(type, &v, 1); }
  void be16(uint16_t type, uint16_t v) {
    const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    attr(type, b, 2);
  }
  void be32(uint16_t type, uint32_t v) {
    const uint8_t b[4] = {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                          static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    attr(type, b, 4);
  }
  size_t begin_nest(uint16_t type) {
    const size_t at = pos_;
    const uint16_t len = 0;
    const auto t = static_cast<uint16_t>(type | NLA_F_NESTED);
    raw(&len, 2);
    raw(&t, 2);
    return at;
  }
  void end_nest(size_t at) { patch16(at, pos_ - at); }
  void patch16(size_t at, size_t v) {
    if (ok_) {
      const auto n = static_cast<uint16_t>(v);
      std::memcpy(out_.data() + at, &n, 2);
    }
  }
  void patch32(size_t at, size_t v) {
    if (ok_) {
      const auto n = static_cast<uint32_t>(v);
      std::memcpy(out_.data() + at, &n, 4);
    }
  }
  size_t pos() const { return pos_; }
  bool ok() const { return ok_; }

 private:
  bool room(size_t n) {
    if (!ok_ || out_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::span<uint8_t> out_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void put_headers(Writer& w, uint16_t type, uint16_t flags, uint32_t seq, uint8_t family) {
  const uint32_t len = 0;  // patched by finish()
  const uint32_t portid = 0;
  w.raw(&len, 4);
  w.raw(&type, 2);
  w.raw(&flags, 2);
  w.raw(&seq, 4);
  w.raw(&portid, 4);
  const uint8_t gen[kGenBytes] = {family, NFNETLINK_V0, 0, 0};  // res_id 0
  w.raw(gen, sizeof gen);
}

size_t finish(Writer& w) {
  w.patch32(0, w.pos());
  return w.ok() ? w.pos() : 0;
}

// A view of one attribute; payload excludes the 4-byte header and the padding.
struct Attr {
  uint16_t type = 0;
  std::span<const uint8_t> payload;
};

// Iterates the attributes in `area`. A length below 4 or beyond the end stops the walk
// and marks it bad; callers treat that as a malformed message.
class AttrReader {
 public:
  explicit AttrReader(std::span<const uint8_t> area) : rest_(area) {}
  std::optional<Attr> next() {
    if (rest_.empty()) {
      return std::nullopt;
    }
    if (rest_.size() < kAttrHeaderBytes) {
      bad_ = true;
      return std::nullopt;
    }
    const uint16_t len = load16(rest_.data());
    const uint16_t type = load16(rest_.data() + 2);
    if (len < kAttrHeaderBytes || len > rest_.size()) {
      bad_ = true;
      return std::nullopt;
    }
    Attr a{static_cast<uint16_t>(type & NLA_TYPE_MASK),
           rest_.subspan(kAttrHeaderBytes, len - kAttrHeaderBytes)};
    rest_ = rest_.subspan(std::min(align4(len), rest_.size()));
    return a;
  }
  bool bad() const { return bad_; }

 private:
  std::span<const uint8_t> rest_;
  bool bad_ = false;
};

bool parse_ip(std::span<const uint8_t> area, Tuple& t) {
  AttrReader r(area);
  bool src = false;
  bool dst = false;
  while (auto a = r.next()) {
    switch (a->type) {
      case CTA_IP_V4_SRC:
      case CTA_IP_V4_DST:
        if (a->payload.size() != 4) {
          return false;
        }
        (a->type == CTA_IP_V4_SRC ? t.src : t.dst) = packet::Address::v4(a->payload.data());
        (a->type == CTA_IP_V4_SRC ? src : dst) = true;
        break;
      case CTA_IP_V6_SRC:
      case CTA_IP_V6_DST:
        if (a->payload.size() != 16) {
          return false;
        }
        (a->type == CTA_IP_V6_SRC ? t.src : t.dst) = packet::Address::v6(a->payload.data());
        (a->type == CTA_IP_V6_SRC ? src : dst) = true;
        break;
      default:
        break;
    }
  }
  return !r.bad() && src && dst && t.src.family == t.dst.family;
}

bool parse_proto(std::span<const uint8_t> area, Tuple& t) {
  AttrReader r(area);
  bool num = false;
  while (auto a = r.next()) {
    switch (a->type) {
      case CTA_PROTO_NUM:
        if (a->payload.size() != 1) {
          return false;
        }
        t.l4proto = a->payload[0];
        num = true;
        break;
      case CTA_PROTO_SRC_PORT:
      case CTA_PROTO_DST_PORT:
        if (a->payload.size() != 2) {
          return false;
        }
        (a->type == CTA_PROTO_SRC_PORT ? t.sport : t.dport) = load_be16(a->payload.data());
        break;
      default:
        break;
    }
  }
  return !r.bad() && num;
}

bool parse_tuple(std::span<const uint8_t> area, Tuple& t) {
  AttrReader r(area);
  bool ip = false;
  bool proto = false;
  while (auto a = r.next()) {
    if (a->type == CTA_TUPLE_IP) {
      if (!parse_ip(a->payload, t)) {
        return false;
      }
      ip = true;
    } else if (a->type == CTA_TUPLE_PROTO) {
      if (!parse_proto(a->payload, t)) {
        return false;
      }
      proto = true;
    }
  }
  return !r.bad() && ip && proto;
}

bool parse_counters(std::span<const uint8_t> area, uint64_t& packets, uint64_t& bytes) {
  AttrReader r(area);
  while (auto a = r.next()) {
    uint64_t* dst = nullptr;
    bool wide = true;
    switch (a->type) {
      case CTA_COUNTERS_PACKETS:
        dst = &packets;
        break;
      case CTA_COUNTERS_BYTES:
        dst = &bytes;
        break;
      case CTA_COUNTERS32_PACKETS:
        dst = &packets;
        wide = false;
        break;
      case CTA_COUNTERS32_BYTES:
        dst = &bytes;
        wide = false;
        break;
      default:
        break;
    }
    if (dst == nullptr) {
      continue;
    }
    if (a->payload.size() != (wide ? 8u : 4u)) {
      return false;
    }
    *dst = wide ? load_be64(a->payload.data()) : load_be32(a->payload.data());
  }
  return !r.bad();
}

bool is_tcp_or_udp(uint8_t proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP;
}

void put_tuple(Writer& w, const Tuple& t, uint16_t type = CTA_TUPLE_ORIG) {
  const size_t tuple = w.begin_nest(type);
  const size_t ip = w.begin_nest(CTA_TUPLE_IP);
  if (t.src.is_v4()) {
    w.attr(CTA_IP_V4_SRC, t.src.bytes.data(), 4);
    w.attr(CTA_IP_V4_DST, t.dst.bytes.data(), 4);
  } else {
    w.attr(CTA_IP_V6_SRC, t.src.bytes.data(), 16);
    w.attr(CTA_IP_V6_DST, t.dst.bytes.data(), 16);
  }
  w.end_nest(ip);
  const size_t proto = w.begin_nest(CTA_TUPLE_PROTO);
  w.u8(CTA_PROTO_NUM, t.l4proto);
  w.be16(CTA_PROTO_SRC_PORT, t.sport);
  w.be16(CTA_PROTO_DST_PORT, t.dport);
  w.end_nest(proto);
  w.end_nest(tuple);
}

}  // namespace

std::optional<Message> MessageReader::next() noexcept {
  if (rest_.empty() || malformed_) {
    return std::nullopt;
  }
  if (rest_.size() < kHeaderBytes) {
    malformed_ = true;
    return std::nullopt;
  }
  Message m;
  m.length = load32(rest_.data());
  m.type = load16(rest_.data() + 4);
  m.flags = load16(rest_.data() + 6);
  m.seq = load32(rest_.data() + 8);
  m.portid = load32(rest_.data() + 12);
  if (m.length < kHeaderBytes || m.length > rest_.size()) {
    malformed_ = true;
    return std::nullopt;
  }
  m.bytes = rest_.first(m.length);
  rest_ = rest_.subspan(std::min(align4(m.length), rest_.size()));
  return m;
}

uint16_t ct_type(uint8_t ctnl_msg) noexcept {
  return static_cast<uint16_t>((NFNL_SUBSYS_CTNETLINK << 8) | ctnl_msg);
}

size_t put_dump_request(std::span<uint8_t> out, uint8_t family, uint32_t seq) noexcept {
  Writer w(out);
  put_headers(w, ct_type(IPCTNL_MSG_CT_GET), NLM_F_REQUEST | NLM_F_DUMP, seq, family);
  return finish(w);
}

size_t put_stats_request(std::span<uint8_t> out, uint32_t seq) noexcept {
  Writer w(out);
  put_headers(w, ct_type(IPCTNL_MSG_CT_GET_STATS), NLM_F_REQUEST | NLM_F_ACK, seq, AF_UNSPEC);
  return finish(w);
}

std::optional<std::string> check(const Update& u) {
  const auto& t = u.original;
  if (t.src.family == packet::Address::Family::kNone || t.src.family != t.dst.family) {
    return "update: the original tuple needs two addresses of one family";
  }
  if (!is_tcp_or_udp(t.l4proto)) {
    return "update: only TCP and UDP connections are supported (l4proto " +
           std::to_string(t.l4proto) + ")";
  }
  if (!u.mark && !u.label) {
    return "update " + to_string(t) + ": nothing to change (no mark, no label)";
  }
  return std::nullopt;
}

size_t put_update(std::span<uint8_t> out, const Update& u, uint32_t seq) noexcept {
  if (out.size() < kMaxUpdateMessageBytes || check(u)) {
    return 0;
  }
  Writer w(out);
  const uint8_t family = u.original.src.is_v4() ? AF_INET : AF_INET6;
  // No NLM_F_CREATE: the kernel answers ENOENT instead of creating a connection.
  put_headers(w, ct_type(IPCTNL_MSG_CT_NEW), NLM_F_REQUEST | NLM_F_ACK, seq, family);
  put_tuple(w, u.original, u.by_reply ? CTA_TUPLE_REPLY : CTA_TUPLE_ORIG);
  if (u.zone != 0) {
    w.be16(CTA_ZONE, u.zone);
  }
  if (u.mark) {
    // The kernel computes (old & ~mask) | (mark & mask) (ctnetlink_change_mark).
    w.be32(CTA_MARK, *u.mark & u.mark_mask);
    w.be32(CTA_MARK_MASK, u.mark_mask);
  }
  if (u.label) {
    Label masked{};
    for (size_t i = 0; i < masked.size(); ++i) {
      masked[i] = static_cast<uint8_t>((*u.label)[i] & u.label_mask[i]);
    }
    w.attr(CTA_LABELS, masked.data(), masked.size());
    w.attr(CTA_LABELS_MASK, u.label_mask.data(), u.label_mask.size());
  }
  return finish(w);
}

ParseStatus parse_entry(std::span<const uint8_t> message, Entry& out) noexcept {
  if (message.size() < kHeaderBytes + kGenBytes) {
    return ParseStatus::kMalformed;
  }
  out = Entry{};
  bool orig = false;
  bool reply = false;
  AttrReader r(message.subspan(kHeaderBytes + kGenBytes));
  while (auto a = r.next()) {
    const auto& p = a->payload;
    switch (a->type) {
      case CTA_TUPLE_ORIG:
        if (!parse_tuple(p, out.original)) {
          return ParseStatus::kMalformed;
        }
        orig = true;
        break;
      case CTA_TUPLE_REPLY:
        if (!parse_tuple(p, out.reply)) {
          return ParseStatus::kMalformed;
        }
        reply = true;
        break;
      case CTA_MARK:
      case CTA_ID:
        if (p.size() != 4) {
          return ParseStatus::kMalformed;
        }
        (a->type == CTA_MARK ? out.mark : out.id) = load_be32(p.data());
        break;
      case CTA_ZONE:
        if (p.size() != 2) {
          return ParseStatus::kMalformed;
        }
        out.zone = load_be16(p.data());
        break;
      case CTA_LABELS:
        if (p.size() != sizeof(Label)) {
          return ParseStatus::kMalformed;
        }
        out.label.emplace();
        std::memcpy(out.label->data(), p.data(), sizeof(Label));
        break;
      case CTA_COUNTERS_ORIG:
      case CTA_COUNTERS_REPLY: {
        const size_t dir = a->type == CTA_COUNTERS_ORIG ? 0 : 1;
        if (!parse_counters(p, out.packets[dir], out.bytes[dir])) {
          return ParseStatus::kMalformed;
        }
        break;
      }
      default:
        break;
    }
  }
  if (r.bad() || !orig || !reply || out.original.l4proto != out.reply.l4proto) {
    return ParseStatus::kMalformed;
  }
  return is_tcp_or_udp(out.original.l4proto) ? ParseStatus::kEntry : ParseStatus::kSkipped;
}

std::optional<int> parse_error(const Message& m) noexcept {
  // struct nlmsgerr: int error, then the request's header (and, without NETLINK_CAP_ACK,
  // its payload).
  if (m.type != NLMSG_ERROR || m.bytes.size() < kHeaderBytes + 4) {
    return std::nullopt;
  }
  int32_t err;
  std::memcpy(&err, m.bytes.data() + kHeaderBytes, sizeof err);
  if (err > 0 || err == INT32_MIN) {
    return std::nullopt;
  }
  return -err;
}

std::string to_string(const Tuple& t) {
  const auto end = [](const packet::Address& a, uint16_t port) {
    const std::string addr = a.is_v4() ? a.to_string() : "[" + a.to_string() + "]";
    return addr + ":" + std::to_string(port);
  };
  const std::string proto = t.l4proto == IPPROTO_TCP   ? "tcp"
                            : t.l4proto == IPPROTO_UDP ? "udp"
                                                       : "proto " + std::to_string(t.l4proto);
  return proto + " " + end(t.src, t.sport) + " -> " + end(t.dst, t.dport);
}

}  // namespace imguard::conntrack::netlink
