// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes capture::PcapSource (libpcap plus our link-layer stripping: Ethernet/VLAN, Linux
// cooked v1/v2, raw IP, BSD loopback) and parse_ip on every frame, as `imguard classify`
// reads a capture. The input is the whole file; it is handed over as a memfd path.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>

#include "capture/pcap_source.h"
#include "packet/packet.h"

using namespace imguard;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz.pcap", MFD_CLOEXEC);
  if (fd < 0) {
    return 0;
  }
  size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) {
      close(fd);
      return 0;
    }
    done += static_cast<size_t>(n);
  }
  std::string error;
  auto src = capture::PcapSource::open("/proc/self/fd/" + std::to_string(fd), error);
  if (src) {
    (void)src->link_type_name();
    capture::Frame frame;
    packet::Anomaly why{};
    for (int i = 0; i < 10000; ++i) {
      const auto st = src->next(frame, why);
      if (st == capture::PcapSource::Status::kEnd || st == capture::PcapSource::Status::kError) {
        break;
      }
      if (st == capture::PcapSource::Status::kFrame) {
        (void)packet::parse_ip(frame.l3, frame.ts);
      }
    }
  }
  src.reset();
  close(fd);
  return 0;
}
