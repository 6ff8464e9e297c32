// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

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

/// Analyses `paths` with up to `jobs` engines in parallel threads (0: one per CPU) and
/// hands each report to `emit` on the calling thread, in the order of `paths`, as soon as
/// it and all before it are done. The output is the same for any `jobs`. Setup errors
/// (no engine could be built) are returned; per-file errors are in the reports.
std::string analyze_files(const std::vector<std::string>& paths, const Analyzer::Config& config,
                          const policy::Config* policy, unsigned jobs,
                          const std::function<void(FileReport&)>& emit);

}  // namespace imguard::engine
