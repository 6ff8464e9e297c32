// SPDX-License-Identifier: GPL-3.0-or-later
#include "packet/anomaly.h"

namespace imguard::packet {

std::string_view anomaly_name(Anomaly a) noexcept {
  switch (a) {
    case Anomaly::kEmpty:
      return "empty_packet";
    case Anomaly::kUnknownIpVersion:
      return "unknown_ip_version";
    case Anomaly::kTruncatedIpv4:
      return "truncated_ipv4";
    case Anomaly::kBadIpv4HeaderLength:
      return "bad_ipv4_header_length";
    case Anomaly::kBadIpv4TotalLength:
      return "bad_ipv4_total_length";
    case Anomaly::kIpv4Fragment:
      return "ipv4_fragment";
    case Anomaly::kTruncatedIpv6:
      return "truncated_ipv6";
    case Anomaly::kIpv6Fragment:
      return "ipv6_fragment";
    case Anomaly::kTruncatedIpv6ExtensionHeader:
      return "truncated_ipv6_extension_header";
    case Anomaly::kTooManyIpv6ExtensionHeaders:
      return "too_many_ipv6_extension_headers";
    case Anomaly::kTruncatedTcp:
      return "truncated_tcp";
    case Anomaly::kBadTcpDataOffset:
      return "bad_tcp_data_offset";
    case Anomaly::kTruncatedUdp:
      return "truncated_udp";
    case Anomaly::kBadUdpLength:
      return "bad_udp_length";
    case Anomaly::kNotTcpUdp:
      return "not_tcp_udp";
    case Anomaly::kUnsupportedLinkType:
      return "unsupported_link_type";
    case Anomaly::kTruncatedLinkHeader:
      return "truncated_link_header";
    case Anomaly::kNonIpFrame:
      return "non_ip_frame";
    case Anomaly::kCount_:
      break;
  }
  return "invalid_anomaly";
}

}  // namespace imguard::packet
