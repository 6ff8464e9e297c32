// SPDX-License-Identifier: GPL-3.0-or-later
// One engine for many files: each file's result must not depend on the files before it.
#include <unistd.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "engine/offline.h"
#include "packet_builder.h"
#include "policy/loader.h"

using namespace imguard::engine;
using imguard::classifiers::AppId;
using imguard::classifiers::Evidence;
using imguard::packet::Timestamp;
namespace t = imguard::test;
using namespace std::chrono_literals;

namespace {

std::string pcap(const char* rel) {
  return std::string(IMGUARD_SOURCE_DIR) + "/pcaps/" + rel;
}

/// What `imguard classify --format jsonl` prints for one report.
std::string jsonl(const FileReport& rep, const imguard::policy::Config& policy) {
  char* buf = nullptr;
  size_t len = 0;
  std::FILE* f = open_memstream(&buf, &len);
  REQUIRE(f != nullptr);
  write_jsonl(f, rep, &policy);
  std::fclose(f);
  std::string out(buf, len);
  std::free(buf);
  return out;
}

std::vector<std::string> run(const std::vector<std::string>& paths, unsigned jobs,
                             const imguard::policy::Config& policy) {
  std::vector<std::string> out;
  FilesOptions options;
  options.jobs = jobs;
  options.bytes_per_engine = 0;  // as many engines as asked for, whatever the files' sizes
  const std::string err = analyze_files(paths, Analyzer::Config{}, &policy, options,
                                        [&](FileReport& r) { out.push_back(jsonl(r, policy)); });
  REQUIRE(err.empty());
  return out;
}

/// One file analysed twice by one engine: read inline, then read ahead on a thread.
std::pair<FileReport, FileReport> inline_then_read_ahead(OfflineEngine& engine,
                                                         const std::string& path,
                                                         const imguard::policy::Config& policy) {
  engine.set_read_ahead_bytes(int64_t{1} << 40);
  FileReport inline_read = engine.analyze(path, &policy);
  engine.set_read_ahead_bytes(0);
  FileReport read_ahead = engine.analyze(path, &policy);
  return {std::move(inline_read), std::move(read_ahead)};
}

struct Sink final : FlowSink {
  std::vector<FlowRecord> records;
  void on_flow_end(const FlowRecord& r) override { records.push_back(r); }
};

}  // namespace

TEST_CASE("a file classified after others prints byte for byte what it prints alone", "[offline]") {
  const auto policy = imguard::policy::default_config();
  // A: DHT, uTP and a tracker (peer cache entries, many flows); B: an encrypted session
  // classified from the peer cache and its own bytes.
  const std::string a = pcap("bittorrent/libtorrent-utp-dht.pcap");
  const std::string b = pcap("bittorrent/aria2-mse-encrypted.pcap");
  const auto alone = run({b}, 1, policy);
  const auto after = run({a, b}, 1, policy);
  REQUIRE(alone.size() == 1);
  REQUIRE(after.size() == 2);
  CHECK(after[1] == alone[0]);
  // Files in parallel: the same output in command-line order.
  const auto serial = run({a, b, a, b, b, a}, 1, policy);
  const auto parallel = run({a, b, a, b, b, a}, 2, policy);
  CHECK(parallel == serial);
  CHECK(serial[1] == alone[0]);
  CHECK(serial[5] == serial[0]);
}

TEST_CASE("cross-flow hints from one file do not leak into the next", "[offline]") {
  // File A: a plain BitTorrent handshake 10.9.0.1 -> 10.9.0.2:31337 teaches the peer cache
  // that 10.9.0.2:31337 is a peer. File B: random bytes from 10.9.0.1 to that endpoint.
  const t::Endpoints seed{.src = "10.9.0.1", .dst = "10.9.0.2", .sport = 41000, .dport = 31337};
  const std::string hs = std::string(
                             "\x13"
                             "BitTorrent protocol") +
                         std::string(8, '\0') + std::string(40, 'x');
  const t::Endpoints next{.src = "10.9.0.1", .dst = "10.9.0.2", .sport = 41001, .dport = 31337};
  const t::Endpoints back{.src = "10.9.0.2", .dst = "10.9.0.1", .sport = 31337, .dport = 41001};
  auto file_b = [&](Analyzer& an, Sink& sink) {
    an.on_packet(t::ipv4_tcp(next, "", 0x02), Timestamp{10s});
    for (int i = 0; i < 6; ++i) {
      const std::string noise = "\x8f\x02\xd1\x77 random " + std::to_string(i * 7919);
      an.on_packet(t::ipv4_tcp(i % 2 == 0 ? next : back, noise, 0x18), Timestamp{11s + i * 1ms});
    }
    an.flush();
    REQUIRE(sink.records.size() == 1);
    return sink.records[0];
  };
  Sink sink;
  std::string error;
  auto an = Analyzer::create(Analyzer::Config{}, sink, error);
  REQUIRE(an);
  an->on_packet(t::ipv4_tcp(seed, "", 0x02), Timestamp{1s});
  an->on_packet(t::ipv4_tcp(seed, hs, 0x18), Timestamp{1s + 1ms});
  an->flush();
  REQUIRE(sink.records.size() == 1);
  REQUIRE(sink.records[0].result.app == AppId::kBittorrent);
  SECTION("without reset the hint reaches file B (what the test guards against)") {
    sink.records.clear();
    const FlowRecord r = file_b(*an, sink);
    CHECK(r.result.app == AppId::kBittorrent);
    CHECK(r.result.evidence == Evidence::kCrossFlow);
    CHECK(r.id == 1);
  }
  SECTION("after reset file B is classified as by a fresh engine") {
    REQUIRE(an->reset(error));
    CHECK(an->stats().packets == 0);
    CHECK(an->chain().peers().size() == 0);
    sink.records.clear();
    const FlowRecord r = file_b(*an, sink);
    CHECK(r.result.app != AppId::kBittorrent);
    CHECK(r.id == 0);
    Sink fresh_sink;
    auto fresh = Analyzer::create(Analyzer::Config{}, fresh_sink, error);
    REQUIRE(fresh);
    const FlowRecord f = file_b(*fresh, fresh_sink);
    CHECK(f.result.app == r.result.app);
    CHECK(f.result.evidence == r.result.evidence);
    CHECK(f.classifier == r.classifier);
  }
}

TEST_CASE("a missing file is an error in its report, the next file is still analysed",
          "[offline]") {
  const auto policy = imguard::policy::default_config();
  std::vector<FileReport> reps;
  const std::string err =
      analyze_files({"/nonexistent/x.pcap", pcap("background/dns.pcap")}, Analyzer::Config{},
                    &policy, FilesOptions{.jobs = 2, .bytes_per_engine = 0},
                    [&](FileReport& r) { reps.push_back(std::move(r)); });
  CHECK(err.empty());
  REQUIRE(reps.size() == 2);
  CHECK_FALSE(reps[0].error.empty());
  CHECK(reps[1].error.empty());
  CHECK_FALSE(reps[1].flows.empty());
}

TEST_CASE("reading a file ahead on its own thread gives the same report", "[offline]") {
  const auto policy = imguard::policy::default_config();
  std::string error;
  auto engine = OfflineEngine::create(Analyzer::Config{}, error);
  REQUIRE(engine);
  for (const char* f : {"bittorrent/libtorrent-utp-dht.pcap", "background/http-sll.pcap",
                        "regression/tcp-after-close.pcap"}) {
    const auto [inline_read, read_ahead] = inline_then_read_ahead(*engine, pcap(f), policy);
    CHECK(jsonl(read_ahead, policy) == jsonl(inline_read, policy));
  }
  // A damaged file: the same flows before the damage, the same error.
  const std::string cut = "/tmp/imguard-offline-test-" + std::to_string(::getpid()) + ".pcap";
  {
    std::FILE* in = std::fopen(pcap("bittorrent/lpd.pcap").c_str(), "rb");
    REQUIRE(in != nullptr);
    std::vector<char> head(20000);
    head.resize(std::fread(head.data(), 1, head.size(), in));
    std::fclose(in);
    std::FILE* out = std::fopen(cut.c_str(), "wb");
    REQUIRE(out != nullptr);
    std::fwrite(head.data(), 1, head.size(), out);
    std::fclose(out);
  }
  const auto [a, b] = inline_then_read_ahead(*engine, cut, policy);
  std::remove(cut.c_str());
  CHECK_FALSE(a.error.empty());
  CHECK(b.error == a.error);
  CHECK(jsonl(b, policy) == jsonl(a, policy));
  const FileReport missing = engine->analyze("/nonexistent/y.pcap", &policy);
  CHECK_FALSE(missing.error.empty());
}

TEST_CASE("engines running at once, sharing nDPI's tables, print what one engine prints",
          "[offline]") {
  // Every bundled capture, twice: two engines (two nDPI modules copied from one set of
  // tables, in two threads) against one.
  const auto policy = imguard::policy::default_config();
  std::vector<std::string> paths;
  for (const auto& e : std::filesystem::recursive_directory_iterator(pcap(""))) {
    if (e.path().extension() == ".pcap") {
      paths.push_back(e.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  REQUIRE(paths.size() > 50);
  const size_t n = paths.size();
  const std::vector<std::string> once = paths;
  paths.insert(paths.end(), once.begin(), once.end());
  const auto one = run(paths, 1, policy);
  const auto two = run(paths, 2, policy);
  REQUIRE(one.size() == paths.size());
  CHECK(two == one);
  for (size_t i = 0; i < n; ++i) {
    CHECK(one[i + n] == one[i]);
  }
}

TEST_CASE("a second engine only for input that gives it work", "[offline]") {
  const std::string dir = "/tmp/imguard-engines-for-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  auto file = [&](const char* name, std::uintmax_t bytes) {
    const std::string p = dir + "/" + name;
    std::FILE* f = std::fopen(p.c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fclose(f);
    std::filesystem::resize_file(p, bytes);  // sparse: only the size is read
    return p;
  };
  const auto tiny1 = file("tiny1.pcap", 4000);
  const auto tiny2 = file("tiny2.pcap", 4000);
  const auto big1 = file("big1.pcap", 3u << 20);
  const auto big2 = file("big2.pcap", 3u << 20);
  const FilesOptions two{.jobs = 2};
  CHECK(engines_for({tiny1, tiny2}, two) == 1);
  CHECK(engines_for({tiny1, big1}, two) == 2);
  CHECK(engines_for({big1}, two) == 1);                                    // one file, one engine
  CHECK(engines_for({tiny1, tiny2, big1}, FilesOptions{.jobs = 8}) == 2);  // by work
  CHECK(engines_for({big1, big2, tiny1}, FilesOptions{.jobs = 8}) == 3);   // one per file
  CHECK(engines_for({big1, big2}, FilesOptions{.jobs = 1}) == 1);
  CHECK(engines_for({tiny1, tiny2}, FilesOptions{.jobs = 2, .bytes_per_engine = 0}) == 2);
  CHECK(engines_for({"/nonexistent/x.pcap", tiny1}, two) == 1);
  CHECK(engines_for({}, two) == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a capture of many read-ahead batches gives the same report as read inline",
          "[offline]") {
  // 5,000 frames: ten batches of the read-ahead thread, so used batches are given back and
  // filled again; raw-IP pcap, 100 UDP flows of varying sizes.
  const std::string path = "/tmp/imguard-read-ahead-" + std::to_string(::getpid()) + ".pcap";
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    const uint32_t header[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 65535, 101};  // LINKTYPE_RAW
    std::fwrite(header, sizeof(header), 1, f);
    for (uint32_t i = 0; i < 5000; ++i) {
      const t::Endpoints e{.src = "10.7.0.1",
                           .dst = "10.7.0.2",
                           .sport = static_cast<uint16_t>(40000 + i % 100),
                           .dport = 9999};
      const auto pkt = t::ipv4_udp(e, std::string(20 + (i * 37) % 900, static_cast<char>(i)));
      const uint32_t rec[4] = {1000 + i / 100, (i % 100) * 1000, static_cast<uint32_t>(pkt.size()),
                               static_cast<uint32_t>(pkt.size())};
      std::fwrite(rec, sizeof(rec), 1, f);
      std::fwrite(pkt.data(), 1, pkt.size(), f);
    }
    std::fclose(f);
  }
  const auto policy = imguard::policy::default_config();
  std::string error;
  auto engine = OfflineEngine::create(Analyzer::Config{}, error);
  REQUIRE(engine);
  const auto [inline_read, read_ahead] = inline_then_read_ahead(*engine, path, policy);
  std::remove(path.c_str());
  CHECK(inline_read.error.empty());
  CHECK(inline_read.stats.packets == 5000);
  CHECK(inline_read.flows.size() == 100);
  CHECK(jsonl(read_ahead, policy) == jsonl(inline_read, policy));
}
