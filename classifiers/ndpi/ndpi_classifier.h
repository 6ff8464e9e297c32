// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>
#include <string>

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Creates the nDPI adapter: a Classifier backed by its own nDPI detection module (one per
/// worker; nDPI modules are not thread-safe). Returns nullptr and fills `error` when nDPI
/// cannot be initialised. This header is nDPI-free; only ndpi_classifier.cc includes nDPI.
///
/// Evidence of its answers: nDPI's confidence field (port, address list, cross-flow cache,
/// DPI). Weak answers known in nDPI 4.2 and what separates them from look-alikes:
/// - match by port or by address (port_guess, address_list): held until the budget ends,
///   so any payload recognition, by nDPI or by imguard's own classifiers, wins;
/// - its Skype/Teams guess for UDP that did not come through STUN (skype.c tests the
///   third payload byte of an early datagram, reported as DPI): never reported on its own,
///   because EtherNet/IP I/O and SNMPv3 pass it (pcaps/negative/cip-io.pcap,
///   snmp-v2c-v3.pcap); it stands, as address_list, only when nDPI's address list puts the
///   server in Microsoft's networks.
std::unique_ptr<Classifier> make_ndpi_classifier(std::string& error);

/// Bytes nDPI allocates per flow (for the per-flow memory report).
size_t ndpi_flow_bytes() noexcept;

}  // namespace imguard::classifiers
