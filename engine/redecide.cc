// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/redecide.h"

#include <vector>

#include "engine/decider.h"
#include "policy/marks.h"

namespace imguard::engine {

ConnFacts facts_of(const conntrack::Entry& e, const policy::ConnRecord& r) noexcept {
  ConnFacts f;
  f.ends.initiator = e.original.src;
  f.ends.responder = e.reply.src;
  f.app = r.app;
  f.features = r.features;
  f.evidence = r.evidence;
  if (r.identity_sticky && r.user_stable_id != 0) {
    f.sticky_user = r.user_stable_id;
    f.sticky_responder = r.user_is_responder;
  }
  if (r.identity_sticky) {
    // Found by UID in host mode or by MAC: which end was local is recorded, not derived.
    f.ends.host_is_responder = r.user_is_responder;
  }
  return f;
}

std::optional<conntrack::Update> redecide_entry(const conntrack::Entry& e, const policy::Config& c,
                                                uint64_t schedules) noexcept {
  if (!policy::decode(e.mark, c.mark_mask) || !e.label) {
    return std::nullopt;
  }
  const auto record = policy::decode_label(*e.label);
  if (!record) {
    return std::nullopt;
  }
  const Decided d = decide_connection(c, facts_of(e, *record), schedules);
  const uint32_t window = policy::encode(d.decision, c.mark_mask);
  if ((e.mark & c.mark_mask) == window) {
    return std::nullopt;
  }
  conntrack::Update u;
  u.original = e.original;
  u.zone = e.zone;
  u.mark = window;
  u.mark_mask = c.mark_mask;
  return u;
}

RedecideStats redecide_all(conntrack::Conntrack& ct, const policy::Config& c, uint64_t schedules) {
  RedecideStats s;
  const auto start = std::chrono::steady_clock::now();
  std::vector<conntrack::Update> updates;
  std::string error;
  const bool ok = ct.dump(
      [&](const conntrack::Entry& e) {
        ++s.connections;
        if (!policy::decode(e.mark, c.mark_mask)) {
          return;
        }
        ++s.decided;
        if (!e.label || !policy::decode_label(*e.label)) {
          ++s.unrecorded;
          return;
        }
        ++s.recorded;
        if (auto u = redecide_entry(e, c, schedules)) {
          updates.push_back(*u);
        }
      },
      error);
  if (!ok) {
    s.error = error;
  }
  s.changed = updates.size();
  if (!updates.empty()) {
    s.writes = ct.update(updates);
  }
  s.took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 start);
  return s;
}

std::string describe(const RedecideStats& s) {
  std::string out = std::to_string(s.connections) + " connections, " + std::to_string(s.decided) +
                    " decided (" + std::to_string(s.recorded) + " recorded, " +
                    std::to_string(s.unrecorded) + " without a record), " +
                    std::to_string(s.changed) + " changed: " + std::to_string(s.writes.applied) +
                    " re-marked, " + std::to_string(s.writes.not_found) + " gone, " +
                    std::to_string(s.writes.failed) + " failed";
  if (!s.writes.first_error.empty()) {
    out += " (" + s.writes.first_error + ")";
  }
  if (!s.error.empty()) {
    out += "; dump: " + s.error;
  }
  out += "; " + std::to_string(s.took.count() / 1000) + " ms";
  return out;
}

}  // namespace imguard::engine
