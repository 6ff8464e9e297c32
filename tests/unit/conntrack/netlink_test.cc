// SPDX-License-Identifier: GPL-3.0-or-later
// conntrack/netlink.h on byte arrays: requests and updates as the kernel reads them, dump
// entries as the kernel writes them (nf_conntrack_netlink.c), and malformed input.
#include "conntrack/netlink.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

namespace imguard::conntrack::netlink {
namespace {

using Bytes = std::vector<uint8_t>;

void put16(Bytes& b, uint16_t v) {
  uint8_t raw[2];
  std::memcpy(raw, &v, 2);
  b.insert(b.end(), raw, raw + 2);
}
void put32(Bytes& b, uint32_t v) {
  uint8_t raw[4];
  std::memcpy(raw, &v, 4);
  b.insert(b.end(), raw, raw + 4);
}
Bytes be(uint64_t v, size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) {
    out[n - 1 - i] = static_cast<uint8_t>(v >> (8 * i));
  }
  return out;
}
Bytes attr(uint16_t type, const Bytes& payload) {
  Bytes b;
  put16(b, static_cast<uint16_t>(4 + payload.size()));
  put16(b, type);
  b.insert(b.end(), payload.begin(), payload.end());
  while (b.size() % 4 != 0) {
    b.push_back(0);
  }
  return b;
}
Bytes nest(uint16_t type, std::initializer_list<Bytes> parts) {
  Bytes inner;
  for (const auto& p : parts) {
    inner.insert(inner.end(), p.begin(), p.end());
  }
  return attr(static_cast<uint16_t>(type | NLA_F_NESTED), inner);
}
Bytes message(uint16_t type, uint8_t family, std::initializer_list<Bytes> attrs, uint32_t seq = 7) {
  Bytes b;
  put32(b, 0);
  put16(b, type);
  put16(b, NLM_F_MULTI);
  put32(b, seq);
  put32(b, 1234);
  b.insert(b.end(), {family, NFNETLINK_V0, 0, 0});
  for (const auto& a : attrs) {
    b.insert(b.end(), a.begin(), a.end());
  }
  const auto len = static_cast<uint32_t>(b.size());
  std::memcpy(b.data(), &len, 4);
  return b;
}

Bytes v4_tuple(uint16_t type, Bytes src, Bytes dst, uint8_t proto, uint16_t sport, uint16_t dport) {
  return nest(type, {nest(CTA_TUPLE_IP, {attr(CTA_IP_V4_SRC, src), attr(CTA_IP_V4_DST, dst)}),
                     nest(CTA_TUPLE_PROTO,
                          {attr(CTA_PROTO_NUM, {proto}), attr(CTA_PROTO_SRC_PORT, be(sport, 2)),
                           attr(CTA_PROTO_DST_PORT, be(dport, 2))})});
}

Bytes tcp_entry_message() {
  return message(
      ct_type(IPCTNL_MSG_CT_NEW), AF_INET,
      {v4_tuple(CTA_TUPLE_ORIG, {10, 0, 0, 1}, {10, 0, 0, 2}, IPPROTO_TCP, 40000, 443),
       v4_tuple(CTA_TUPLE_REPLY, {10, 0, 0, 2}, {10, 0, 0, 1}, IPPROTO_TCP, 443, 40000),
       nest(CTA_COUNTERS_ORIG,
            {attr(CTA_COUNTERS_PACKETS, be(5, 8)), attr(CTA_COUNTERS_BYTES, be(0x100000000, 8))}),
       nest(CTA_COUNTERS_REPLY,
            {attr(CTA_COUNTERS_PACKETS, be(3, 8)), attr(CTA_COUNTERS_BYTES, be(900, 8))}),
       attr(CTA_MARK, be(0xab420001, 4)), attr(CTA_ID, be(0xdeadbeef, 4)), attr(CTA_ZONE, be(7, 2)),
       attr(99, {1, 2, 3}),  // an attribute from a newer kernel
       attr(CTA_LABELS, Bytes{0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0})});
}

// Top-level attributes of a message we built, by type (nested flag stripped).
std::map<uint16_t, Bytes> top_attrs(std::span<const uint8_t> msg) {
  std::map<uint16_t, Bytes> out;
  size_t at = 20;
  while (at + 4 <= msg.size()) {
    uint16_t len = 0;
    uint16_t type = 0;
    std::memcpy(&len, msg.data() + at, 2);
    std::memcpy(&type, msg.data() + at + 2, 2);
    REQUIRE(len >= 4);
    REQUIRE(at + len <= msg.size());
    out[static_cast<uint16_t>(type & NLA_TYPE_MASK)] =
        Bytes(msg.begin() + static_cast<long>(at) + 4, msg.begin() + static_cast<long>(at + len));
    at += (len + 3u) & ~3u;
  }
  REQUIRE(at == msg.size());
  return out;
}

uint32_t header32(const Bytes& b, size_t at) {
  uint32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
uint16_t header16(const Bytes& b, size_t at) {
  uint16_t v;
  std::memcpy(&v, b.data() + at, 2);
  return v;
}

Update v4_update() {
  Update u;
  const uint8_t src[4] = {10, 198, 0, 1};
  const uint8_t dst[4] = {10, 198, 0, 2};
  u.original.src = packet::Address::v4(src);
  u.original.dst = packet::Address::v4(dst);
  u.original.sport = 40000;
  u.original.dport = 443;
  u.original.l4proto = IPPROTO_TCP;
  return u;
}

}  // namespace

TEST_CASE("conntrack: dump request is CT_GET with NLM_F_DUMP for the family") {
  Bytes out(64);
  REQUIRE(put_dump_request(out, AF_UNSPEC, 42) == kRequestBytes);
  CHECK(header32(out, 0) == 20);
  CHECK(header16(out, 4) == ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET));
  CHECK(header16(out, 6) == (NLM_F_REQUEST | NLM_F_DUMP));
  CHECK(header32(out, 8) == 42);
  CHECK(out[16] == AF_UNSPEC);
  CHECK(out[17] == NFNETLINK_V0);
  Bytes small(19);
  CHECK(put_dump_request(small, AF_INET, 1) == 0);
}

TEST_CASE("conntrack: update carries tuple, masked mark and label, no NLM_F_CREATE") {
  Update u = v4_update();
  u.zone = 3;
  u.mark = 0xffffffff;
  u.mark_mask = 0x00ff0000;
  u.label = Label{};
  u.label->fill(0xff);
  u.label_mask = Label{};
  u.label_mask[0] = 0x20;
  Bytes out(kMaxUpdateMessageBytes);
  const size_t n = put_update(out, u, 9);
  REQUIRE(n > 0);
  REQUIRE(n <= kMaxUpdateMessageBytes);
  out.resize(n);
  CHECK(header32(out, 0) == n);
  CHECK(header16(out, 4) == ((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW));
  CHECK(header16(out, 6) == (NLM_F_REQUEST | NLM_F_ACK));
  CHECK((header16(out, 6) & NLM_F_CREATE) == 0);
  CHECK(header32(out, 8) == 9);
  CHECK(out[16] == AF_INET);
  const auto attrs = top_attrs(out);
  CHECK(attrs.at(CTA_MARK) == be(0x00ff0000, 4));  // value & mask
  CHECK(attrs.at(CTA_MARK_MASK) == be(0x00ff0000, 4));
  CHECK(attrs.at(CTA_ZONE) == be(3, 2));
  Bytes want_label(16, 0);
  want_label[0] = 0x20;
  CHECK(attrs.at(CTA_LABELS) == want_label);
  CHECK(attrs.at(CTA_LABELS_MASK) == want_label);
  // The tuple parses back with the dump parser: wrap it as orig and reply of an entry.
  const Bytes& tuple = attrs.at(CTA_TUPLE_ORIG);
  const Bytes entry_msg =
      message(ct_type(IPCTNL_MSG_CT_NEW), AF_INET,
              {attr(CTA_TUPLE_ORIG | NLA_F_NESTED, tuple), attr(CTA_TUPLE_REPLY, tuple)});
  Entry e;
  REQUIRE(parse_entry(entry_msg, e) == ParseStatus::kEntry);
  CHECK(e.original == u.original);
}

TEST_CASE("conntrack: update without zone, label or mark omits those attributes") {
  Update u = v4_update();
  u.mark = 0x10;
  u.mark_mask = 0xff;
  Bytes out(kMaxUpdateMessageBytes);
  const size_t n = put_update(out, u, 1);
  REQUIRE(n > 0);
  out.resize(n);
  const auto attrs = top_attrs(out);
  CHECK(attrs.count(CTA_ZONE) == 0);
  CHECK(attrs.count(CTA_LABELS) == 0);
  CHECK(attrs.count(CTA_LABELS_MASK) == 0);
  CHECK(attrs.count(CTA_MARK_MASK) == 1);
}

TEST_CASE("conntrack: IPv6 update fits the bound with everything set") {
  Update u;
  const auto a = packet::Address::parse("fd98::1");
  const auto b = packet::Address::parse("fd98::2");
  u.original = Tuple{a, b, 1, 2, IPPROTO_UDP};
  u.zone = 65535;
  u.mark = 1;
  u.mark_mask = 1;
  u.label = Label{};
  u.label_mask.fill(0xff);
  Bytes out(kMaxUpdateMessageBytes);
  const size_t n = put_update(out, u, 1);
  REQUIRE(n > 0);
  CHECK(out[16] == AF_INET6);
  Bytes small(kMaxUpdateMessageBytes - 1);
  CHECK(put_update(small, u, 1) == 0);
}

TEST_CASE("conntrack: invalid updates are refused before sending") {
  Bytes out(kMaxUpdateMessageBytes);
  Update none = v4_update();
  CHECK(check(none).has_value());  // nothing to change
  CHECK(put_update(out, none, 1) == 0);
  Update icmp = v4_update();
  icmp.mark = 1;
  icmp.original.l4proto = IPPROTO_ICMP;
  CHECK(check(icmp).has_value());
  Update mixed = v4_update();
  mixed.mark = 1;
  mixed.original.dst = packet::Address::parse("fd98::2");
  CHECK(check(mixed).has_value());
  Update ok = v4_update();
  ok.mark = 1;
  CHECK_FALSE(check(ok).has_value());
}

TEST_CASE("conntrack: dump entry parses tuples, mark, id, zone, label, counters") {
  const Bytes msg = tcp_entry_message();
  Entry e;
  REQUIRE(parse_entry(msg, e) == ParseStatus::kEntry);
  CHECK(e.original.src.to_string() == "10.0.0.1");
  CHECK(e.original.dst.to_string() == "10.0.0.2");
  CHECK(e.original.sport == 40000);
  CHECK(e.original.dport == 443);
  CHECK(e.original.l4proto == IPPROTO_TCP);
  CHECK(e.reply.src.to_string() == "10.0.0.2");
  CHECK(e.reply.dport == 40000);
  CHECK(e.mark == 0xab420001);
  CHECK(e.id == 0xdeadbeef);
  CHECK(e.zone == 7);
  REQUIRE(e.label.has_value());
  CHECK((*e.label)[0] == 0x20);
  CHECK((*e.label)[12] == 0x10);
  CHECK(e.packets[0] == 5);
  CHECK(e.bytes[0] == 0x100000000);
  CHECK(e.packets[1] == 3);
  CHECK(e.bytes[1] == 900);
  CHECK(to_string(e.original) == "tcp 10.0.0.1:40000 -> 10.0.0.2:443");
}

TEST_CASE("conntrack: IPv6 UDP entry without optional attributes") {
  const auto a = packet::Address::parse("fd98::1");
  const auto b = packet::Address::parse("fd98::2");
  const Bytes sa(a.bytes.begin(), a.bytes.end());
  const Bytes sb(b.bytes.begin(), b.bytes.end());
  const auto tuple = [](uint16_t type, const Bytes& s, const Bytes& d) {
    return nest(type, {nest(CTA_TUPLE_IP, {attr(CTA_IP_V6_SRC, s), attr(CTA_IP_V6_DST, d)}),
                       nest(CTA_TUPLE_PROTO, {attr(CTA_PROTO_NUM, {IPPROTO_UDP}),
                                              attr(CTA_PROTO_SRC_PORT, be(53, 2)),
                                              attr(CTA_PROTO_DST_PORT, be(5353, 2))})});
  };
  const Bytes msg = message(ct_type(IPCTNL_MSG_CT_NEW), AF_INET6,
                            {tuple(CTA_TUPLE_ORIG, sa, sb), tuple(CTA_TUPLE_REPLY, sb, sa)});
  Entry e;
  REQUIRE(parse_entry(msg, e) == ParseStatus::kEntry);
  CHECK(e.original.src == a);
  CHECK(e.original.l4proto == IPPROTO_UDP);
  CHECK_FALSE(e.label.has_value());
  CHECK(e.mark == 0);
  CHECK(e.packets[0] == 0);
  CHECK(to_string(e.original) == "udp [fd98::1]:53 -> [fd98::2]:5353");
}

TEST_CASE("conntrack: ICMP entries are skipped, not malformed") {
  const auto icmp = [](uint16_t type) {
    return nest(type, {nest(CTA_TUPLE_IP,
                            {attr(CTA_IP_V4_SRC, {1, 1, 1, 1}), attr(CTA_IP_V4_DST, {2, 2, 2, 2})}),
                       nest(CTA_TUPLE_PROTO, {attr(CTA_PROTO_NUM, {IPPROTO_ICMP})})});
  };
  Entry e;
  CHECK(parse_entry(message(ct_type(IPCTNL_MSG_CT_NEW), AF_INET,
                            {icmp(CTA_TUPLE_ORIG), icmp(CTA_TUPLE_REPLY)}),
                    e) == ParseStatus::kSkipped);
}

TEST_CASE("conntrack: malformed entry attributes are rejected") {
  const Bytes orig = v4_tuple(CTA_TUPLE_ORIG, {1, 1, 1, 1}, {2, 2, 2, 2}, IPPROTO_TCP, 1, 2);
  const Bytes reply = v4_tuple(CTA_TUPLE_REPLY, {2, 2, 2, 2}, {1, 1, 1, 1}, IPPROTO_TCP, 2, 1);
  const uint16_t t = ct_type(IPCTNL_MSG_CT_NEW);
  Entry e;
  SECTION("short mark") {
    CHECK(parse_entry(message(t, AF_INET, {orig, reply, attr(CTA_MARK, {1, 2})}), e) ==
          ParseStatus::kMalformed);
  }
  SECTION("15-byte label") {
    CHECK(parse_entry(message(t, AF_INET, {orig, reply, attr(CTA_LABELS, Bytes(15))}), e) ==
          ParseStatus::kMalformed);
  }
  SECTION("3-byte IPv4 address") {
    const Bytes bad = v4_tuple(CTA_TUPLE_ORIG, {1, 1, 1}, {2, 2, 2, 2}, IPPROTO_TCP, 1, 2);
    CHECK(parse_entry(message(t, AF_INET, {bad, reply}), e) == ParseStatus::kMalformed);
  }
  SECTION("missing reply tuple") {
    CHECK(parse_entry(message(t, AF_INET, {orig}), e) == ParseStatus::kMalformed);
  }
  SECTION("tuple without protocol") {
    const Bytes bad =
        nest(CTA_TUPLE_ORIG, {nest(CTA_TUPLE_IP, {attr(CTA_IP_V4_SRC, {1, 1, 1, 1}),
                                                  attr(CTA_IP_V4_DST, {2, 2, 2, 2})})});
    CHECK(parse_entry(message(t, AF_INET, {bad, reply}), e) == ParseStatus::kMalformed);
  }
  SECTION("attribute length below its header") {
    Bytes m = message(t, AF_INET, {orig, reply, attr(CTA_MARK, be(1, 4))});
    m[m.size() - 8] = 2;  // nla_len 2
    CHECK(parse_entry(m, e) == ParseStatus::kMalformed);
  }
  SECTION("attribute length beyond the message") {
    Bytes m = message(t, AF_INET, {orig, reply, attr(CTA_MARK, be(1, 4))});
    m[m.size() - 8] = 200;
    CHECK(parse_entry(m, e) == ParseStatus::kMalformed);
  }
  SECTION("counter of the wrong width") {
    const Bytes c = nest(CTA_COUNTERS_ORIG, {attr(CTA_COUNTERS_PACKETS, be(1, 4))});
    CHECK(parse_entry(message(t, AF_INET, {orig, reply, c}), e) == ParseStatus::kMalformed);
  }
  SECTION("shorter than the headers") {
    CHECK(parse_entry(Bytes(19), e) == ParseStatus::kMalformed);
  }
}

TEST_CASE("conntrack: every truncation and byte flip of an entry is handled") {
  const Bytes msg = tcp_entry_message();
  Entry e;
  for (size_t n = 0; n < msg.size(); ++n) {
    const Bytes cut(msg.begin(), msg.begin() + static_cast<long>(n));
    const ParseStatus s = parse_entry(cut, e);
    CHECK((s == ParseStatus::kMalformed || s == ParseStatus::kEntry));
  }
  uint32_t rng = 12345;
  for (int round = 0; round < 20000; ++round) {
    Bytes bad = msg;
    for (int k = 0; k < 3; ++k) {
      rng = rng * 1103515245u + 12345u;
      bad[20 + (rng >> 8) % (bad.size() - 20)] = static_cast<uint8_t>(rng >> 24);
    }
    (void)parse_entry(bad, e);  // must not crash or read out of bounds (ASan build)
  }
}

TEST_CASE("conntrack: message reader splits datagrams and stops at bad headers") {
  Bytes two = tcp_entry_message();
  const Bytes done = message(NLMSG_DONE, AF_UNSPEC, {}, 8);
  two.insert(two.end(), done.begin(), done.end());
  MessageReader r(two);
  auto m1 = r.next();
  REQUIRE(m1);
  CHECK(m1->type == ct_type(IPCTNL_MSG_CT_NEW));
  CHECK(m1->seq == 7);
  CHECK(m1->portid == 1234);
  auto m2 = r.next();
  REQUIRE(m2);
  CHECK(m2->type == NLMSG_DONE);
  CHECK_FALSE(r.next());
  CHECK_FALSE(r.malformed());

  Bytes longer = done;
  longer[0] = 40;  // claims more than the datagram holds
  MessageReader r2(longer);
  CHECK_FALSE(r2.next());
  CHECK(r2.malformed());
  MessageReader r3(std::span<const uint8_t>(done.data(), 10));
  CHECK_FALSE(r3.next());
  CHECK(r3.malformed());
  Bytes tiny = done;
  tiny[0] = 8;  // below the header size
  MessageReader r4(tiny);
  CHECK_FALSE(r4.next());
  CHECK(r4.malformed());
}

TEST_CASE("conntrack: acks and errors decode to errno") {
  const auto ack = [](int32_t err) {
    Bytes b;
    put32(b, 36);
    put16(b, NLMSG_ERROR);
    put16(b, 0);
    put32(b, 5);
    put32(b, 1);
    put32(b, static_cast<uint32_t>(err));
    b.resize(36, 0);
    return b;
  };
  const Bytes ok = ack(0);
  const Bytes enoent = ack(-ENOENT);
  CHECK(parse_error(*MessageReader(ok).next()) == 0);
  CHECK(parse_error(*MessageReader(enoent).next()) == ENOENT);
  const Bytes done = message(NLMSG_DONE, AF_UNSPEC, {});
  CHECK_FALSE(parse_error(*MessageReader(done).next()).has_value());
  Bytes cut = ok;
  cut.resize(18);
  cut[0] = 18;
  CHECK_FALSE(parse_error(*MessageReader(cut).next()).has_value());
  const Bytes positive = ack(5);
  CHECK_FALSE(parse_error(*MessageReader(positive).next()).has_value());
}

}  // namespace imguard::conntrack::netlink
