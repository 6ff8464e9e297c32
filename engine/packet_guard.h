// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once
// The per-packet failure boundary of the worker loop. Everything a packet's handling can
// throw (std::bad_alloc from a growing container, any other exception) stops at this
// boundary: the packet is settled with the configured anomaly verdict and counted, and
// the worker goes on with the next one. Below it, the analyzer, the flow table and the
// classifier chain stay allocation-free or catch their own allocation failures (see
// engine/README.md, "Out of memory on the packet path").

#include <exception>

#include "nfq/queue.h"
#include "packet/counter.h"
#include "policy/config.h"

namespace imguard::engine {

/// The verdict of a packet imguard could not handle: `engine.on_anomaly` when set, else
/// `queue.fail_open` (a fail-closed site drops it).
inline nfq::Verdict error_verdict_of(const policy::Config& c) noexcept {
  return c.anomaly_accept.value_or(c.fail_open) ? nfq::Verdict::accept() : nfq::Verdict::drop();
}

/// Runs `handle()` (returning the packet's verdict); if it throws, counts the packet in
/// `errors` and returns `on_error`.
template <typename Handle>
nfq::Verdict settle_guarded(Handle&& handle, const nfq::Verdict& on_error,
                            Counter& errors) noexcept {
  try {
    return handle();
  } catch (...) {
    ++errors;
    return on_error;
  }
}

}  // namespace imguard::engine
