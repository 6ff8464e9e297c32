// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/offline.h"

#include <algorithm>

#include "capture/pcap_source.h"

namespace imguard::engine {
namespace {

class CollectingSink final : public FlowSink {
 public:
  explicit CollectingSink(std::vector<FlowRecord>& out) : out_(out) {}
  void on_flow_end(const FlowRecord& record) override { out_.push_back(record); }

 private:
  std::vector<FlowRecord>& out_;
};

}  // namespace

FileReport analyze_pcap(const std::string& path, const Analyzer::Config& config,
                        const policy::Config* policy) {
  FileReport rep;
  rep.path = path;
  auto source = capture::PcapSource::open(path, rep.error);
  if (!source) {
    return rep;
  }
  CollectingSink sink(rep.flows);
  auto analyzer = Analyzer::create(config, sink, rep.error);
  if (!analyzer) {
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
      analyzer->count_anomaly(why);
      continue;
    }
    PacketMeta meta;
    meta.src_mac = frame.src_mac;
    analyzer->on_packet(frame.l3, frame.ts, meta, view);
  }
  analyzer->flush();
  rep.stats = analyzer->stats();
  rep.table = analyzer->flows().stats();
  std::sort(rep.flows.begin(), rep.flows.end(),
            [](const FlowRecord& a, const FlowRecord& b) { return a.id < b.id; });
  return rep;
}

}  // namespace imguard::engine
