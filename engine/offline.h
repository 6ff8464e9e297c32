// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>

#include "engine/analyzer.h"
#include "engine/report.h"

namespace imguard::engine {

/// Runs the packet pipeline over one capture file with a fresh analyzer, as the live engine
/// would see the packets, deciding each flow under `policy` when one is given (schedules
/// evaluated at the packets' own times). Never throws for bad files:
/// `FileReport::error` says what failed, and flows seen before a damaged region are
/// still reported.
FileReport analyze_pcap(const std::string& path, const Analyzer::Config& config,
                        const policy::Config* policy = nullptr);

}  // namespace imguard::engine
