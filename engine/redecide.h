// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "conntrack/conntrack.h"
#include "engine/decider.h"
#include "policy/config.h"
#include "policy/labels.h"

namespace imguard::engine {

/// Deciding connections again long after they left the queue: on a reload, at a schedule
/// boundary, and at start (decisions kept in ct marks across a restart). Reads what imguard
/// recorded in each connection's label (policy/labels.h), decides it with the same
/// component as the packet path (engine/decider.h), and rewrites the mark window only
/// where the decision changed. Control thread only.

struct RedecideStats {
  uint64_t connections = 0;  // TCP/UDP connections in the table
  uint64_t decided = 0;      // with a decision in imguard's mark window
  uint64_t recorded = 0;     // ... and an imguard record in the label
  uint64_t unrecorded = 0;   // decided but without a record (cannot be re-decided)
  uint64_t changed = 0;      // whose decision changed
  conntrack::UpdateStats writes;
  std::chrono::microseconds took{0};
  std::string error;  // the dump failed part way
};

/// The facts of a conntrack entry with an imguard record: the initiator is the original
/// direction's source, the responder the reply direction's source (after DNAT).
ConnFacts facts_of(const conntrack::Entry& entry, const policy::ConnRecord& record) noexcept;

/// The mark update `entry` needs under `config`, if any.
std::optional<conntrack::Update> redecide_entry(const conntrack::Entry& entry,
                                                const policy::Config& config,
                                                uint64_t schedules) noexcept;

/// Dumps every connection, re-decides the recorded ones and writes the changed marks.
RedecideStats redecide_all(conntrack::Conntrack& ct, const policy::Config& config,
                           uint64_t schedules);

/// One line for the log: "1234 connections, 10 decided (9 recorded), 2 changed ...".
std::string describe(const RedecideStats& s);

}  // namespace imguard::engine
