// SPDX-License-Identifier: GPL-3.0-or-later
// The queue rule's classic BPF program, run by a small interpreter of the instructions it
// uses (the kernel's semantics: a load past the end returns 0 = no match): which TCP
// segments are queued. tests/e2e (case payload-only) checks the kernel agrees.
#include <catch2/catch.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "firewall/render.h"
#include "packet_builder.h"

using imguard::firewall::tcp_payload_bpf;
using imguard::firewall::Tool;
namespace t = imguard::test;

namespace {

struct Insn {
  uint16_t code;
  uint8_t jt;
  uint8_t jf;
  uint32_t k;
};

std::vector<Insn> parse(std::string_view text) {
  std::string s(text);
  for (char& c : s) {
    c = c == ',' ? '\n' : c;
  }
  std::istringstream in(s);
  size_t n = 0;
  in >> n;
  std::vector<Insn> prog(n);
  for (Insn& i : prog) {
    unsigned code = 0, jt = 0, jf = 0;
    in >> code >> jt >> jf >> i.k;
    i.code = static_cast<uint16_t>(code);
    i.jt = static_cast<uint8_t>(jt);
    i.jf = static_cast<uint8_t>(jf);
  }
  REQUIRE(in);
  return prog;
}

// Returns the program's result: non-zero = match. Only the opcodes the program uses;
// anything else fails the test.
uint32_t run(const std::vector<Insn>& prog, const std::vector<uint8_t>& pkt) {
  uint32_t a = 0, x = 0;
  uint32_t mem[16] = {};
  auto byte = [&](uint64_t at, bool& ok) -> uint32_t {
    ok = at < pkt.size();
    return ok ? pkt[at] : 0;
  };
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const Insn& i = prog[pc];
    bool ok = true;
    switch (i.code) {
      case 0xb1:  // ldxb 4*([k]&0xf)
        x = 4 * (byte(i.k, ok) & 0xf);
        break;
      case 0x30:  // ldb [k]
        a = byte(i.k, ok);
        break;
      case 0x50:  // ldb [x+k]
        a = byte(uint64_t{x} + i.k, ok);
        break;
      case 0x54:  // and #k
        a &= i.k;
        break;
      case 0x74:  // rsh #k
        a >>= i.k;
        break;
      case 0x0c:  // add x
        a += x;
        break;
      case 0x04:  // add #k
        a += i.k;
        break;
      case 0x07:  // tax
        x = a;
        break;
      case 0x80:  // ld len
        a = static_cast<uint32_t>(pkt.size());
        break;
      case 0x60:  // ld M[k]
        a = mem[i.k & 15];
        break;
      case 0x15:  // jeq #k
        pc += a == i.k ? i.jt : i.jf;
        break;
      case 0x45:  // jset #k
        pc += (a & i.k) != 0 ? i.jt : i.jf;
        break;
      case 0x2d:  // jgt x
        pc += a > x ? i.jt : i.jf;
        break;
      case 0x06:  // ret #k
        return i.k;
      default:
        FAIL("opcode " << i.code << " not handled by the test interpreter");
    }
    if (!ok) {
      return 0;  // the kernel aborts the program with 0 on a load past the end
    }
  }
  FAIL("program fell off its end");
  return 0;
}

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kPsh = 0x08, kAck = 0x10;

}  // namespace

TEST_CASE("queue BPF: TCP segments with payload match, payload-less ones do not",
          "[firewall][bpf]") {
  for (const Tool tool : {Tool::kIptables, Tool::kIp6tables}) {
    const auto prog = parse(tcp_payload_bpf(tool));
    const bool v6 = tool == Tool::kIp6tables;
    const t::Endpoints e = v6 ? t::Endpoints{"fd00::1", "fd00::2", 40000, 80}
                              : t::Endpoints{"10.0.0.1", "10.0.0.2", 40000, 80};
    auto seg = [&](std::string_view payload, uint8_t flags) {
      return v6 ? t::ipv6_tcp(e, payload, flags) : t::ipv4_tcp(e, payload, flags);
    };
    INFO((v6 ? "ipv6" : "ipv4"));
    // No payload: nothing a classifier can use (FIN and RST have their own rules, queued
    // once the connection had data queued).
    CHECK(run(prog, seg("", kSyn)) == 0);
    CHECK(run(prog, seg("", kSyn | kAck)) == 0);
    CHECK(run(prog, seg("", kAck)) == 0);
    CHECK(run(prog, seg("", kAck | kPsh)) == 0);
    CHECK(run(prog, seg("", kFin | kAck)) == 0);
    CHECK(run(prog, seg("", kRst)) == 0);
    // Queued: any payload, whatever the flags (TCP Fast Open, data on FIN or RST).
    CHECK(run(prog, seg("x", kAck | kPsh)) != 0);
    CHECK(run(prog, seg("\x13"
                        "BitTorrent protocol",
                        kSyn)) != 0);
    CHECK(run(prog, seg("hello", kSyn | kAck)) != 0);
    CHECK(run(prog, seg("bye", kFin | kAck)) != 0);
    CHECK(run(prog, seg("r", kRst)) != 0);
    // A truncated TCP header carries nothing and is not queued (conntrack calls it invalid).
    auto cut = seg("", kAck);
    cut.resize(cut.size() - 8);
    CHECK(run(prog, cut) == 0);
  }
}

TEST_CASE("queue BPF: TCP options count as header, not payload", "[firewall][bpf]") {
  const auto prog = parse(tcp_payload_bpf(Tool::kIptables));
  auto pkt = t::ipv4_tcp(t::Endpoints{}, "", kSyn);
  // Grow the TCP header by 20 bytes of options (data offset 10): still no payload.
  pkt.insert(pkt.end(), 20, 0x01);  // NOPs
  pkt[20 + 12] = static_cast<uint8_t>((10u << 4) | (pkt[20 + 12] & 0x0f));
  pkt[2] = static_cast<uint8_t>(pkt.size() >> 8);
  pkt[3] = static_cast<uint8_t>(pkt.size());
  CHECK(run(prog, pkt) == 0);
  pkt.push_back('x');  // one byte after the options
  CHECK(run(prog, pkt) != 0);
  // IPv4 options move the TCP header: 4 bytes of IP options (IHL 6).
  auto opt = t::ipv4_tcp(t::Endpoints{}, "", kAck);
  opt.insert(opt.begin() + 20, {0x01, 0x01, 0x01, 0x00});
  opt[0] = 0x46;
  CHECK(run(prog, opt) == 0);
  opt.push_back('y');
  CHECK(run(prog, opt) != 0);
}

TEST_CASE("queue BPF: IPv6 with an extension header is always queued", "[firewall][bpf]") {
  const auto prog = parse(tcp_payload_bpf(Tool::kIp6tables));
  auto pkt = t::ipv6_tcp(t::Endpoints{"fd00::1", "fd00::2", 1, 2}, "", kAck);
  pkt[6] = 0;  // hop-by-hop options next: the program cannot see the TCP header
  CHECK(run(prog, pkt) != 0);
}
