// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/analyzer.h"
#include "engine/report.h"

namespace imguard::engine {

/// The packet pipeline over capture files, as the live engine would see the packets,
/// deciding each flow under `policy` when one is given (schedules evaluated at the
/// packets' own times). One engine (analyzer, chain, nDPI module) serves any number of
/// files: it is reset between them, so each file's report is exactly what a fresh engine
/// would give, whatever was analysed before. Not thread-safe: one per thread.
class OfflineEngine {
 public:
  /// nullptr and `error` if the classifiers cannot be set up.
  static std::unique_ptr<OfflineEngine> create(const Analyzer::Config& config, std::string& error);
  /// Analyses one file. Never throws for bad files: `FileReport::error` says what failed,
  /// and flows seen before a damaged region are still reported.
  FileReport analyze(const std::string& path, const policy::Config* policy = nullptr);
  /// Files of at least this many bytes are read a batch ahead on a thread of their own
  /// (reading and decoding overlap the analysis; the report is the same). Default 4 MiB.
  void set_read_ahead_bytes(int64_t bytes) noexcept { read_ahead_bytes_ = bytes; }

 private:
  class Sink final : public FlowSink {
   public:
    void on_flow_end(const FlowRecord& record) override { out_->push_back(record); }
    std::vector<FlowRecord>* out_ = nullptr;
  };
  OfflineEngine() = default;

  Sink sink_;
  std::unique_ptr<Analyzer> analyzer_;
  int64_t read_ahead_bytes_ = int64_t{4} << 20;
};

/// One file with an engine of its own (OfflineEngine::create + analyze).
FileReport analyze_pcap(const std::string& path, const Analyzer::Config& config,
                        const policy::Config* policy = nullptr);

/// What analyze_files() does with its engines once the files are done.
enum class EnginesAfterRun {
  kFree,  ///< destroyed before it returns
  /// kept, unreachable, until the process exits: for a command that exits next. Tearing
  /// down nDPI's tables and the flow tables costs a tiny file's run about a quarter of its
  /// CPU, and the process's exit returns that memory at once.
  kKeepUntilExit,
};

/// How analyze_files() spreads the files over engines.
struct FilesOptions {
  /// At most this many engines, each in a thread of its own (0: one per CPU).
  unsigned jobs = 0;
  /// One engine more for each this many bytes of input (0: as many as `jobs` and the
  /// number of files allow). An engine costs a thread, a flow table and a copy of nDPI's
  /// module (~1 ms of CPU with nDPI's tables shared, SharedTables in the nDPI adapter):
  /// a few small files are done before a second engine would be ready.
  int64_t bytes_per_engine = int64_t{2} << 20;
  EnginesAfterRun after = EnginesAfterRun::kFree;
};

/// How many engines analyze_files() builds for `paths` under `options`: at least one, at
/// most `jobs` and one per file.
unsigned engines_for(const std::vector<std::string>& paths, const FilesOptions& options);

/// Analyses `paths` with engines_for() engines in parallel threads and hands each report
/// to `emit` on the calling thread, in the order of `paths`, as soon as it and all before
/// it are done. Each engine starts on the next file as soon as it is built, while the
/// others are still being built. The output is the same for any options. Setup errors (no
/// engine could be built) are returned; per-file errors are in the reports.
std::string analyze_files(const std::vector<std::string>& paths, const Analyzer::Config& config,
                          const policy::Config* policy, const FilesOptions& options,
                          const std::function<void(FileReport&)>& emit);

}  // namespace imguard::engine
