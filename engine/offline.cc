// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/offline.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "capture/pcap_source.h"

namespace imguard::engine {

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
  capture::Frame frame;
  packet::Anomaly why{};
  for (;;) {
    const auto st = source->next(frame, why);
    if (st == capture::PcapSource::Status::kEnd) {
      break;
    }
    if (st == capture::PcapSource::Status::kError) {
      rep.error = path + ": " + source->error();
      break;
    }
    if (st == capture::PcapSource::Status::kSkipped) {
      analyzer_->count_anomaly(why);
      continue;
    }
    PacketMeta meta;
    meta.src_mac = frame.src_mac;
    analyzer_->on_packet(frame.l3, frame.ts, meta, view);
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

std::string analyze_files(const std::vector<std::string>& paths, const Analyzer::Config& config,
                          const policy::Config* policy, unsigned jobs,
                          const std::function<void(FileReport&)>& emit) {
  if (paths.empty()) {
    return {};
  }
  if (jobs == 0) {
    jobs = std::max(1u, std::thread::hardware_concurrency());
  }
  jobs = static_cast<unsigned>(std::min<size_t>(jobs, paths.size()));
  if (jobs == 1) {
    std::string error;
    auto engine = OfflineEngine::create(config, error);
    if (!engine) {
      return error;
    }
    for (const auto& p : paths) {
      FileReport rep = engine->analyze(p, policy);
      emit(rep);
    }
    return {};
  }
  // Each worker builds its engine (nDPI's setup is most of a small run, so they build in
  // parallel), then takes the next file in command-line order; this thread prints report
  // i once it is done, so memory holds at most the reports that finished ahead of it. A
  // worker whose engine cannot be built leaves the files to the others.
  std::vector<std::optional<FileReport>> done(paths.size());
  std::mutex mu;
  std::condition_variable ready;
  std::atomic<size_t> next{0};
  unsigned alive = jobs;  // workers with an engine or still building one (under mu)
  std::string setup_error;
  std::vector<std::thread> workers;
  for (unsigned w = 0; w < jobs; ++w) {
    workers.emplace_back([&] {
      std::string error;
      auto engine = OfflineEngine::create(config, error);
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
  const std::lock_guard<std::mutex> lock(mu);
  return alive == 0 ? setup_error : std::string{};
}

}  // namespace imguard::engine
