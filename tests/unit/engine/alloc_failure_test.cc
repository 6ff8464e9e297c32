// SPDX-License-Identifier: GPL-3.0-or-later
// Out of memory on the packet path. This binary replaces the global operator new so a test
// can make every allocation fail (or every one after the first N) while packets run through
// the analyzer, and counts the allocations made with the throwing and the nothrow forms.
#include <catch2/catch.hpp>

#include <array>
#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include "classifiers/im_test_util.h"
#include "engine/analyzer.h"
#include "engine/packet_guard.h"
#include "packet_builder.h"
#include "policy/config.h"

namespace {
// -1: allocations succeed; n >= 0: n more succeed, then every one fails.
std::atomic<long> g_succeed{-1};
std::atomic<uint64_t> g_throwing{0};
std::atomic<uint64_t> g_nothrow{0};

void* allocate(std::size_t n) noexcept {
  long left = g_succeed.load(std::memory_order_relaxed);
  if (left == 0) {
    return nullptr;
  }
  if (left > 0) {
    g_succeed.store(left - 1, std::memory_order_relaxed);
  }
  return std::malloc(n != 0 ? n : 1);
}
}  // namespace

// The replacements pair malloc with free; GCC sees only "free of what operator new gave".
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  g_throwing.fetch_add(1, std::memory_order_relaxed);
  if (void* p = allocate(n)) {
    return p;
  }
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return ::operator new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_nothrow.fetch_add(1, std::memory_order_relaxed);
  return allocate(n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return ::operator new(n, t);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
#pragma GCC diagnostic pop

using namespace imguard::engine;
using imguard::classifiers::AppId;
using imguard::packet::Timestamp;
namespace t = imguard::test;

namespace {
/// While alive, allocations fail after `succeed` more have been made. Catch2's assertions
/// allocate: check only after the scope ends.
struct FailingAllocations {
  explicit FailingAllocations(long succeed) { g_succeed.store(succeed); }
  ~FailingAllocations() { g_succeed.store(-1); }
  FailingAllocations(const FailingAllocations&) = delete;
  FailingAllocations& operator=(const FailingAllocations&) = delete;
};

struct Sink final : FlowSink {
  std::vector<FlowRecord> records;
  void on_flow_end(const FlowRecord& r) override { records.push_back(r); }
};

std::unique_ptr<Analyzer> make_analyzer(Sink& sink) {
  std::string error;
  auto an = Analyzer::create(Analyzer::Config{}, sink, error);
  REQUIRE(an);  // allocations succeed here
  return an;
}

const t::Endpoints kBt{.src = "10.9.0.1", .dst = "10.9.0.2", .sport = 41000, .dport = 31337};
const t::Endpoints kTls{.src = "10.9.0.1", .dst = "10.9.0.3", .sport = 41001, .dport = 443};
const t::Endpoints kUdp{.src = "10.9.0.1", .dst = "10.9.0.4", .sport = 41002, .dport = 5000};

std::string bt_handshake() {
  return std::string(
             "\x13"
             "BitTorrent protocol") +
         std::string(8, '\0') + std::string(40, 'x');
}

/// Packets of three flows: a BitTorrent handshake, a TLS ClientHello split over two
/// segments (reassembly), a UDP flow; each flow's first packet comes first.
std::vector<std::vector<uint8_t>> sequence() {
  const std::string hello = t::client_hello_record("chat.signal.org", {"h2"}, 1500);
  const size_t half = hello.size() / 2;
  return {t::ipv4_tcp(kBt, "", 0x02),
          t::ipv4_tcp(kTls, "", 0x02),
          t::ipv4_udp(kUdp, "ping"),
          t::ipv4_tcp(kBt, bt_handshake(), 0x18),
          t::ipv4_tcp(kTls, hello.substr(0, half), 0x18),
          t::seq_plus(t::ipv4_tcp(kTls, hello.substr(half), 0x18), static_cast<uint32_t>(half)),
          t::ipv4_udp(kUdp, "pong")};
}
}  // namespace

TEST_CASE("packets of established flows are classified without a throwing allocation",
          "[analyzer][alloc]") {
  Sink sink;
  const auto an = make_analyzer(sink);
  const auto packets = sequence();
  for (size_t i = 0; i < 3; ++i) {
    an->on_packet(packets[i], Timestamp{static_cast<int64_t>(i + 1)});  // the flows exist
  }
  const uint64_t before = g_throwing.load();
  const uint64_t nothrow_before = g_nothrow.load();
  std::array<Analyzer::Outcome, 8> outs{};
  for (size_t i = 3; i < packets.size(); ++i) {
    outs[i] = an->on_packet(packets[i], Timestamp{static_cast<int64_t>(i + 1)});
  }
  const uint64_t throwing = g_throwing.load() - before;
  const uint64_t nothrow = g_nothrow.load() - nothrow_before;
  CHECK(throwing == 0);
  CHECK(nothrow >= 1);  // the ClientHello's reassembly buffer
  REQUIRE(outs[3].flow != nullptr);
  CHECK(outs[3].flow->chain.result.app == AppId::kBittorrent);
  REQUIRE(outs[5].flow != nullptr);
  CHECK(outs[5].flow->chain.result.app == AppId::kSignal);
}

TEST_CASE("with every allocation failing the analyzer settles each packet and goes on",
          "[analyzer][alloc]") {
  Sink sink;
  const auto an = make_analyzer(sink);
  const auto packets = sequence();
  std::vector<Analyzer::Outcome> outs;
  outs.reserve(2 * packets.size());
  {
    FailingAllocations oom(0);
    for (size_t i = 0; i < packets.size(); ++i) {
      outs.push_back(an->on_packet(packets[i], Timestamp{static_cast<int64_t>(i + 1)}));
    }
  }
  // No flow could be created: every packet came back without one (the worker settles it
  // with the anomaly verdict and counts engine_errors), each counted by the table.
  for (const auto& o : outs) {
    CHECK(o.flow == nullptr);
  }
  CHECK(an->flows().stats().alloc_failed == packets.size());
  CHECK(an->flows().size() == 0);
  // Memory is back: the same packets are classified as usual.
  for (size_t i = 0; i < packets.size(); ++i) {
    outs.push_back(an->on_packet(packets[i], Timestamp{static_cast<int64_t>(100 + i)}));
  }
  REQUIRE(outs[packets.size() + 3].flow != nullptr);
  CHECK(outs[packets.size() + 3].flow->chain.result.app == AppId::kBittorrent);
  CHECK(an->flows().size() == 3);
}

TEST_CASE("allocation failing at any point of a packet sequence: no crash, flows stay sound",
          "[analyzer][alloc]") {
  const auto packets = sequence();
  for (long n = 0; n <= 12; ++n) {
    Sink sink;
    const auto an = make_analyzer(sink);
    sink.records.reserve(16);
    size_t with_flow = 0;
    {
      FailingAllocations oom(n);
      for (size_t i = 0; i < packets.size(); ++i) {
        with_flow += an->on_packet(packets[i], Timestamp{static_cast<int64_t>(i + 1)}).flow
                         ? size_t{1}
                         : size_t{0};
      }
      an->flush();  // ends every flow (the sink's vector has room: no allocation)
    }
    INFO("allocations allowed: " << n);
    CHECK(with_flow + an->flows().stats().alloc_failed == packets.size());
    CHECK(an->flows().size() == 0);
    CHECK(sink.records.size() == an->flows().stats().created);
  }
}

TEST_CASE("the per-packet boundary settles a packet whose handling throws, and counts it",
          "[analyzer][alloc]") {
  Sink sink;
  const auto an = make_analyzer(sink);
  imguard::policy::Config drop_site;
  drop_site.fail_open = false;
  imguard::policy::Config open_site;
  open_site.fail_open = true;
  imguard::policy::Config anomaly_drop;
  anomaly_drop.fail_open = true;
  anomaly_drop.anomaly_accept = false;
  CHECK(error_verdict_of(drop_site) == imguard::nfq::Verdict::drop());
  CHECK(error_verdict_of(open_site) == imguard::nfq::Verdict::accept());
  CHECK(error_verdict_of(anomaly_drop) == imguard::nfq::Verdict::drop());

  const auto packets = sequence();
  imguard::Counter errors;
  imguard::nfq::Verdict v = imguard::nfq::Verdict::accept_marked(1);
  const auto handle = [&] {
    // The analyzer's part of the packet, then an allocation that runs out of memory.
    const auto out = an->on_packet(packets[0], Timestamp{1});
    std::string text(256, out.flow != nullptr ? 'f' : 'n');
    return imguard::nfq::Verdict::accept_marked(static_cast<uint32_t>(text.size()));
  };
  {
    FailingAllocations oom(0);
    v = settle_guarded(handle, error_verdict_of(drop_site), errors);
  }
  CHECK(v == imguard::nfq::Verdict::drop());
  CHECK(errors.get() == 1);
  {
    FailingAllocations oom(0);
    v = settle_guarded(handle, error_verdict_of(open_site), errors);
  }
  CHECK(v == imguard::nfq::Verdict::accept());
  CHECK(errors.get() == 2);
  // Any exception, not only std::bad_alloc.
  v = settle_guarded([]() -> imguard::nfq::Verdict { throw std::runtime_error("x"); },
                     error_verdict_of(anomaly_drop), errors);
  CHECK(v == imguard::nfq::Verdict::drop());
  CHECK(errors.get() == 3);
  // Nothing thrown: the handler's verdict, nothing counted; the analyzer goes on.
  v = settle_guarded(handle, error_verdict_of(drop_site), errors);
  CHECK(v == imguard::nfq::Verdict::accept_marked(256));
  CHECK(errors.get() == 3);
  const auto out = an->on_packet(packets[3], Timestamp{4});
  REQUIRE(out.flow != nullptr);
  CHECK(out.flow->chain.result.app == AppId::kBittorrent);
}
