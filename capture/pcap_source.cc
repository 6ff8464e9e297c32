// SPDX-License-Identifier: GPL-3.0-or-later
#include "capture/pcap_source.h"

#include <sys/stat.h>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>

#include <pcap/pcap.h>

#include "packet/bytes.h"

namespace imguard::capture {
namespace {

using packet::Anomaly;
using packet::be16;

// The stdio buffer libpcap reads a file through: the file's size, within these bounds.
constexpr off_t kMinReadBuffer = 4096;
constexpr off_t kMaxReadBuffer = off_t{256} << 10;

constexpr uint16_t kEtherIpv4 = 0x0800;
constexpr uint16_t kEtherIpv6 = 0x86dd;
constexpr uint16_t kEtherVlan = 0x8100;
constexpr uint16_t kEtherQinQ = 0x88a8;
constexpr uint16_t kEtherQinQOld = 0x9100;
constexpr int kMaxVlanTags = 4;
// Link types by their registered LINKTYPE numbers where libpcap's DLT names vary by platform.
constexpr int kLinktypeRaw = 101;
constexpr int kLinktypeIpv4 = 228;
constexpr int kLinktypeIpv6 = 229;
constexpr int kLinktypeLinuxSll2 = 276;

bool is_ip_ethertype(uint16_t t) noexcept {
  return t == kEtherIpv4 || t == kEtherIpv6;
}

/// Returns the offset of the IP header, or an anomaly.
std::variant<size_t, Anomaly> strip_link(int link_type, const uint8_t* p, size_t len) noexcept {
  const std::span<const uint8_t> bytes(p, len);
  switch (link_type) {
    case DLT_EN10MB: {
      if (len < 14) {
        return Anomaly::kTruncatedLinkHeader;
      }
      size_t off = 12;
      uint16_t type = be16(bytes, off);
      for (int tags = 0; type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld;
           ++tags) {
        if (tags == kMaxVlanTags || off + 6 > len) {
          return Anomaly::kTruncatedLinkHeader;
        }
        off += 4;
        type = be16(bytes, off);
      }
      off += 2;
      return is_ip_ethertype(type) ? std::variant<size_t, Anomaly>{off} : Anomaly::kNonIpFrame;
    }
    case DLT_LINUX_SLL:
      if (len < 16) {
        return Anomaly::kTruncatedLinkHeader;
      }
      return is_ip_ethertype(be16(bytes, 14)) ? std::variant<size_t, Anomaly>{size_t{16}}
                                              : Anomaly::kNonIpFrame;
    case kLinktypeLinuxSll2:
      if (len < 20) {
        return Anomaly::kTruncatedLinkHeader;
      }
      return is_ip_ethertype(be16(bytes, 0)) ? std::variant<size_t, Anomaly>{size_t{20}}
                                             : Anomaly::kNonIpFrame;
    case DLT_NULL:
    case DLT_LOOP:
      // 4-byte address family in host or network order; the IP version nibble decides.
      if (len < 4) {
        return Anomaly::kTruncatedLinkHeader;
      }
      return size_t{4};
    case DLT_RAW:
    case kLinktypeRaw:
    case kLinktypeIpv4:
    case kLinktypeIpv6:
      return size_t{0};
    default:
      return Anomaly::kUnsupportedLinkType;
  }
}

/// The sender's 6-byte hardware address, where the link header has one.
std::optional<std::array<uint8_t, 6>> source_mac(int link_type, const uint8_t* p,
                                                 size_t len) noexcept {
  size_t at = 0;
  if (link_type == DLT_EN10MB && len >= 14) {
    at = 6;
  } else if (link_type == DLT_LINUX_SLL && len >= 16 && p[4] == 0 && p[5] == 6) {
    at = 6;  // sll_halen == 6, sll_addr follows
  } else if (link_type == kLinktypeLinuxSll2 && len >= 20 && p[11] == 6) {
    at = 12;
  } else {
    return std::nullopt;
  }
  std::array<uint8_t, 6> mac{};
  std::memcpy(mac.data(), p + at, mac.size());
  return mac;
}

}  // namespace

std::unique_ptr<PcapSource> PcapSource::open(const std::string& path, std::string& error) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap* handle = nullptr;
  std::unique_ptr<char[]> buffer;
  if (path == "-") {  // libpcap's name for standard input
    handle =
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_MICRO, errbuf);
  } else {
    // As pcap_open_offline() would, but with a stdio buffer sized to the file: libpcap
    // reads through stdio, whose own buffer is one st_blksize (4 KiB here), so a 24 KB
    // capture took 7 read() calls and a big one a call per 4 KiB.
    std::FILE* fp = std::fopen(path.c_str(), "rb");
    if (fp == nullptr) {
      error = path + ": " + std::strerror(errno);
      return nullptr;
    }
    struct stat st {};
    if (::fstat(fileno(fp), &st) == 0 && S_ISREG(st.st_mode)) {
      const auto bytes =
          static_cast<size_t>(std::clamp<off_t>(st.st_size + 1, kMinReadBuffer, kMaxReadBuffer));
      buffer.reset(new (std::nothrow) char[bytes]);
      if (buffer && std::setvbuf(fp, buffer.get(), _IOFBF, bytes) != 0) {
        buffer.reset();
      }
    }
    handle = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, errbuf);
    if (handle == nullptr) {
      std::fclose(fp);  // not closed by libpcap when it refuses the file
    }
  }
  if (handle == nullptr) {
    // libpcap names the file in some messages ("x: No such file") but not in others.
    const std::string msg = errbuf;
    error = msg.rfind(path, 0) == 0 ? msg : path + ": " + msg;
    return nullptr;
  }
  int lt = pcap_datalink(handle);
  // libpcap reports LINKTYPE_RAW as DLT_RAW on Linux; keep the registered number too.
  if (lt == DLT_RAW) {
    lt = kLinktypeRaw;
  }
  return std::unique_ptr<PcapSource>(new PcapSource(handle, lt, std::move(buffer)));
}

PcapSource::~PcapSource() {
  pcap_close(handle_);  // closes the file, the last user of buffer_
}

std::string PcapSource::link_type_name() const {
  const char* n = pcap_datalink_val_to_name(pcap_datalink(handle_));
  return n != nullptr ? n : "unknown";
}

PcapSource::Status PcapSource::next(Frame& frame, Anomaly& why) noexcept {
  pcap_pkthdr* hdr = nullptr;
  const u_char* data = nullptr;
  const int rc = pcap_next_ex(handle_, &hdr, &data);
  if (rc == PCAP_ERROR_BREAK) {
    return Status::kEnd;
  }
  if (rc != 1) {
    error_ = pcap_geterr(handle_);
    return Status::kError;
  }
  const auto off = strip_link(link_type_, data, hdr->caplen);
  if (const auto* a = std::get_if<Anomaly>(&off)) {
    why = *a;
    return Status::kSkipped;
  }
  const size_t l3_off = std::get<size_t>(off);
  frame.src_mac = source_mac(link_type_, data, hdr->caplen);
  // A crafted pcapng can claim any 64-bit time; clamp the seconds so the conversion to
  // microseconds cannot overflow (undefined behaviour), whatever the file says.
  constexpr int64_t kMaxSeconds = int64_t{1} << 40;  // about 35,000 years
  const int64_t sec = std::clamp<int64_t>(hdr->ts.tv_sec, 0, kMaxSeconds);
  const int64_t usec = std::clamp<int64_t>(hdr->ts.tv_usec, 0, 999'999);
  frame.ts = packet::Timestamp(sec * 1'000'000 + usec);
  frame.l3 = std::span<const uint8_t>(data + l3_off, hdr->caplen - l3_off);
  return Status::kFrame;
}

}  // namespace imguard::capture
