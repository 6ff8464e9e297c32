// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "packet/anomaly.h"
#include "packet/packet.h"

struct pcap;  // libpcap's handle, kept out of this header

namespace imguard::capture {

/// One captured frame with its link-layer header removed: `l3` starts at the IP header and
/// stays valid until the next call to PcapSource::next().
struct Frame {
  packet::Timestamp ts{};
  std::span<const uint8_t> l3;
  /// The frame's source hardware address when the link layer carries a 6-byte one
  /// (Ethernet, Linux cooked v1/v2).
  std::optional<std::array<uint8_t, 6>> src_mac;
};

/// Reads pcap and pcapng files through libpcap and strips the link layer: Ethernet (with
/// 802.1Q/802.1ad VLAN tags), Linux cooked v1 and v2, raw IP, BSD loopback. Not thread-safe.
class PcapSource {
 public:
  enum class Status { kFrame, kSkipped, kEnd, kError };

  /// Opens `path`; nullptr and a message in `error` if libpcap cannot read it.
  static std::unique_ptr<PcapSource> open(const std::string& path, std::string& error);
  ~PcapSource();
  PcapSource(const PcapSource&) = delete;
  PcapSource& operator=(const PcapSource&) = delete;

  /// kFrame: `frame` is set. kSkipped: the frame was not IP (`why` says why). kEnd: done.
  /// kError: the file is damaged from here on; `error()` says how.
  Status next(Frame& frame, packet::Anomaly& why) noexcept;
  const std::string& error() const noexcept { return error_; }
  /// libpcap's name for the file's link type, e.g. "EN10MB".
  std::string link_type_name() const;

 private:
  PcapSource(pcap* handle, int link_type, std::unique_ptr<char[]> buffer) noexcept
      : handle_(handle), link_type_(link_type), buffer_(std::move(buffer)) {}

  pcap* handle_;
  int link_type_;
  std::unique_ptr<char[]> buffer_;  // the stdio buffer of the file handle_ reads
  std::string error_;
};

}  // namespace imguard::capture
