// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/offline.h"

#include <sys/stat.h>
#include <algorithm>
#include <atomic>

#include <array>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "capture/pcap_source.h"

namespace imguard::engine {
namespace {

using capture::PcapSource;

// Big files are read a batch ahead on a thread of their own (OfflineEngine::
// set_read_ahead_bytes): reading and link-layer decoding are about a fifth of the work on
// a big capture. Small files are not worth a thread.
constexpr size_t kFramesPerBatch = 512;
constexpr size_t kBatchesAhead = 4;

/// What PcapSource::next() said about one frame, with the frame's bytes moved into a batch.
struct Item {
  PcapSource::Status status = PcapSource::Status::kEnd;
  packet::Anomaly why{};
  packet::Timestamp ts{};
  std::optional<std::array<uint8_t, 6>> src_mac;
  size_t offset = 0;  // of the L3 bytes in Batch::bytes
  size_t length = 0;
};
struct Batch {
  std::vector<uint8_t> bytes;
  std::vector<Item> items;  // the last item of the last batch is kEnd or kError
};

/// Reads a capture on its own thread, up to kBatchesAhead batches ahead of the consumer.
class ReadAhead {
 public:
  explicit ReadAhead(PcapSource& source) : source_(source), thread_([this] { run(); }) {}
  ~ReadAhead() {
    {
      const std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  /// The next batch, in file order; blocks until it is read.
  Batch next() {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return !ready_.empty(); });
    Batch b = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return b;
  }
  /// Gives a used batch back, so that its buffers are filled again rather than allocated
  /// (a batch is ~150 KB: fresh ones cost the reader reallocations and page faults).
  void recycle(Batch&& b) noexcept {
    b.bytes.clear();
    b.items.clear();
    const std::lock_guard<std::mutex> lock(mu_);
    if (spare_.size() < kBatchesAhead) {
      try {
        spare_.push_back(std::move(b));
      } catch (const std::bad_alloc&) {  // the batch is freed instead
      }
    }
  }
  /// The source's error message; valid once a kError item was returned.
  const std::string& error() const noexcept { return error_; }

 private:
  bool hand_over(Batch& b) {
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return stop_ || ready_.size() < kBatchesAhead; });
    if (stop_) {
      return false;
    }
    ready_.push_back(std::move(b));
    changed_.notify_all();
    b = Batch{};
    if (!spare_.empty()) {
      b = std::move(spare_.back());
      spare_.pop_back();
    }
    return true;
  }

  void run() noexcept {
    Batch b;
    try {
      capture::Frame frame;
      for (;;) {
        Item it;
        it.status = source_.next(frame, it.why);
        if (it.status == PcapSource::Status::kError) {
          error_ = source_.error();
        }
        if (it.status == PcapSource::Status::kFrame) {
          it.ts = frame.ts;
          it.src_mac = frame.src_mac;
          it.offset = b.bytes.size();
          it.length = frame.l3.size();
          b.bytes.insert(b.bytes.end(), frame.l3.begin(), frame.l3.end());
        }
        const bool last =
            it.status == PcapSource::Status::kEnd || it.status == PcapSource::Status::kError;
        b.items.push_back(it);
        if (last) {
          hand_over(b);
          return;
        }
        if (b.items.size() >= kFramesPerBatch && !hand_over(b)) {
          return;
        }
      }
    } catch (const std::exception& e) {  // out of memory while batching
      error_ = e.what();
      b.items.clear();
      Item failed;
      failed.status = PcapSource::Status::kError;
      b.items.push_back(failed);
      try {
        hand_over(b);
      } catch (...) {
        std::abort();  // nothing left to tell the reader with
      }
    }
  }

  PcapSource& source_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  std::vector<Batch> spare_;  // batches given back, empty, with their capacity
  bool stop_ = false;
  std::string error_;   // written before the kError item is handed over
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace

std::unique_ptr<OfflineEngine> OfflineEngine::create(const Analyzer::Config& config,
                                                     std::string& error) {
  std::unique_ptr<OfflineEngine> e(new OfflineEngine());
  e->analyzer_ = Analyzer::create(config, e->sink_, error);
  if (!e->analyzer_) {
    return nullptr;
  }
  return e;
}

FileReport OfflineEngine::analyze(const std::string& path, const policy::Config* policy) {
  FileReport rep;
  rep.path = path;
  sink_.out_ = &rep.flows;
  // Whatever the previous file left behind ends here, before this file's first packet.
  std::string reset_error;
  if (!analyzer_->reset(reset_error)) {
    rep.error = path + ": " + reset_error;
    return rep;
  }
  auto source = capture::PcapSource::open(path, rep.error);
  if (!source) {
    return rep;
  }
  PolicyView view;
  view.config = policy;
  // One frame as PcapSource::next() gave it; false once the file is done.
  auto step = [&](PcapSource::Status st, packet::Anomaly why, std::span<const uint8_t> l3,
                  packet::Timestamp ts, const std::optional<std::array<uint8_t, 6>>& mac,
                  const std::string& error) {
    switch (st) {
      case PcapSource::Status::kEnd:
        return false;
      case PcapSource::Status::kError:
        rep.error = path + ": " + error;
        return false;
      case PcapSource::Status::kSkipped:
        analyzer_->count_anomaly(why);
        return true;
      case PcapSource::Status::kFrame:
        break;
    }
    PacketMeta meta;
    meta.src_mac = mac;
    analyzer_->on_packet(l3, ts, meta, view);
    return true;
  };
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && st.st_size >= read_ahead_bytes_) {
    ReadAhead reader(*source);
    for (bool more = true; more;) {
      Batch b = reader.next();
      for (const Item& it : b.items) {
        const auto l3 = std::span<const uint8_t>(b.bytes).subspan(it.offset, it.length);
        if (!step(it.status, it.why, l3, it.ts, it.src_mac, reader.error())) {
          more = false;
          break;
        }
      }
      reader.recycle(std::move(b));
    }
  } else {
    capture::Frame frame;
    packet::Anomaly why{};
    for (;;) {
      const auto status = source->next(frame, why);
      if (!step(status, why, frame.l3, frame.ts, frame.src_mac, source->error())) {
        break;
      }
    }
  }
  analyzer_->flush();
  sink_.out_ = nullptr;
  rep.stats = analyzer_->stats();
  rep.table = analyzer_->flows().stats();
  std::sort(rep.flows.begin(), rep.flows.end(),
            [](const FlowRecord& a, const FlowRecord& b) { return a.id < b.id; });
  return rep;
}

FileReport analyze_pcap(const std::string& path, const Analyzer::Config& config,
                        const policy::Config* policy) {
  std::string error;
  auto engine = OfflineEngine::create(config, error);
  if (!engine) {
    FileReport rep;
    rep.path = path;
    rep.error = error;
    return rep;
  }
  return engine->analyze(path, policy);
}

unsigned engines_for(const std::vector<std::string>& paths, const FilesOptions& options) {
  size_t n = std::min<size_t>(
      options.jobs != 0 ? options.jobs : std::max(1u, std::thread::hardware_concurrency()),
      paths.size());
  if (options.bytes_per_engine > 0) {
    int64_t bytes = 0;
    for (const auto& p : paths) {
      struct stat st {};
      if (::stat(p.c_str(), &st) == 0) {
        bytes += st.st_size;
      }
    }
    n = std::min(n, static_cast<size_t>(1 + bytes / options.bytes_per_engine));
  }
  return static_cast<unsigned>(std::max<size_t>(n, 1));
}

namespace {

/// Engines handed over by EnginesAfterRun::kKeepUntilExit: deliberately never destroyed.
void keep_until_exit(std::vector<std::unique_ptr<OfflineEngine>>& engines) {
  static std::mutex mu;
  static auto* kept = new std::vector<std::unique_ptr<OfflineEngine>>();
  const std::lock_guard<std::mutex> lock(mu);
  for (auto& e : engines) {
    kept->push_back(std::move(e));
  }
  engines.clear();
}

}  // namespace

std::string analyze_files(const std::vector<std::string>& paths, const Analyzer::Config& config,
                          const policy::Config* policy, const FilesOptions& options,
                          const std::function<void(FileReport&)>& emit) {
  if (paths.empty()) {
    return {};
  }
  const unsigned jobs = engines_for(paths, options);
  std::vector<std::unique_ptr<OfflineEngine>> engines(jobs);  // slot w: worker w's engine
  auto finish = [&] {
    if (options.after == EnginesAfterRun::kKeepUntilExit) {
      keep_until_exit(engines);
    }
  };
  if (jobs == 1) {
    std::string error;
    engines[0] = OfflineEngine::create(config, error);
    if (!engines[0]) {
      return error;
    }
    for (const auto& p : paths) {
      FileReport rep = engines[0]->analyze(p, policy);
      emit(rep);
    }
    finish();
    return {};
  }
  // Each worker builds its engine (nDPI's tables are built by the first and shared by the
  // others, which wait for them), then takes the next file in command-line order; this
  // thread prints report i once it is done, so memory holds at most the reports that
  // finished ahead of it. A worker whose engine cannot be built leaves the files to the
  // others.
  std::vector<std::optional<FileReport>> done(paths.size());
  std::mutex mu;
  std::condition_variable ready;
  std::atomic<size_t> next{0};
  unsigned alive = jobs;  // workers with an engine or still building one (under mu)
  std::string setup_error;
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < jobs; ++w) {
    workers.emplace_back([&, w] {
      std::string error;
      auto& engine = engines[w];
      engine = OfflineEngine::create(config, error);
      if (!engine) {
        const std::lock_guard<std::mutex> lock(mu);
        setup_error = error;
        --alive;
        ready.notify_one();
        return;
      }
      for (size_t i = next++; i < paths.size(); i = next++) {
        FileReport rep;
        try {
          rep = engine->analyze(paths[i], policy);
        } catch (const std::exception& e) {  // out of memory: this file fails, not the run
          rep = FileReport{};
          rep.path = paths[i];
          rep.error = paths[i] + ": " + e.what();
        }
        const std::lock_guard<std::mutex> lock(mu);
        done[i] = std::move(rep);
        ready.notify_one();
      }
    });
  }
  auto join = [&] {
    for (auto& w : workers) {
      w.join();
    }
  };
  try {
    for (size_t i = 0; i < paths.size(); ++i) {
      std::optional<FileReport> rep;
      {
        std::unique_lock<std::mutex> lock(mu);
        ready.wait(lock, [&] { return done[i].has_value() || alive == 0; });
        if (!done[i]) {
          break;  // no engine could be built
        }
        rep.swap(done[i]);
      }
      emit(*rep);
    }
  } catch (...) {
    next = paths.size();  // the workers finish their current file and stop
    join();
    throw;
  }
  join();
  finish();
  const std::lock_guard<std::mutex> lock(mu);
  return alive == 0 ? setup_error : std::string{};
}

}  // namespace imguard::engine
