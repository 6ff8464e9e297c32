// SPDX-License-Identifier: GPL-3.0-or-later
// Flow events: one JSON line per decision and per flow end, shaped like Suricata's EVE
// JSON (timestamp, flow_id, community_id, event_type, 5-tuple, flow counters) so the same
// SIEM pipelines can take them; plus the file and journald sinks that carry them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "classifiers/chain.h"
#include "engine/analyzer.h"
#include "engine/flow_table.h"
#include "packet/address.h"
#include "packet/packet.h"
#include "policy/config.h"

namespace imguard::engine {

enum class EventType : uint8_t {
  kDecision,  // "imguard_decision": a flow got (or changed) its decision
  kFlowEnd,   // "imguard_flow_end": a flow left the flow table
};
std::string_view event_type_name(EventType type) noexcept;

/// RFC 3339, UTC, microseconds: "2024-05-01T12:00:00.000123Z".
std::string rfc3339(Timestamp ts);

/// journald MESSAGE_ID of each event type (fixed forever; `journalctl MESSAGE_ID=...`
/// finds them):
///   imguard_decision  d8c1ed211f4c4ad9be23cfab835f0dc4
///   imguard_flow_end  c8683ce1e1014455a0dcf43888ded0f9
std::string_view event_message_id(EventType type) noexcept;

/// What an event says about one flow: metadata only, never payload. A plain value the
/// worker fills from its Flow (or a FlowRecord) and hands to the thread that writes.
struct EventFlow {
  Timestamp ts{};  // when the event happened, microseconds since the Unix epoch
  uint64_t flow_id = 0;
  packet::L4 l4 = packet::L4::kTcp;
  packet::Address src;  // the client (sender of the first packet, or of the SYN)
  packet::Address dst;  // the server
  uint16_t sport = 0;
  uint16_t dport = 0;
  classifiers::Classification result;  // app, evidence, classifier features
  std::string_view classifier;         // static storage: a classifier's name()
  CachedDecision decision;             // When::kNone: no decision fields are written
  uint64_t packets[2] = {0, 0};        // [0] client→server, [1] server→client
  uint64_t bytes[2] = {0, 0};          // IP lengths, same directions
  std::optional<EndReason> end;        // set for kFlowEnd events

  /// The end of a finished flow (ts = its last packet, end = its end reason).
  static EventFlow from_record(const FlowRecord& record);
};

/// Community ID v1 (github.com/corelight/community-id-spec): "1:" + base64(SHA-1(seed(2,
/// BE) . saddr . daddr . proto(1) . 0(1) . sport(2, BE) . dport(2, BE))), the endpoints
/// ordered so the smaller (address, port) comes first, so both directions hash alike.
/// Both addresses must be of the same family. Allocates; never throws but std::bad_alloc.
std::string community_id(const packet::Address& saddr, uint16_t sport, const packet::Address& daddr,
                         uint16_t dport, packet::L4 l4, uint16_t seed = 0);

/// One event as a JSON object on one line (no trailing newline). Fields, in this order:
/// timestamp (RFC 3339 UTC with microseconds, "2024-05-01T12:00:00.000123Z"), flow_id,
/// community_id, event_type, src_ip, src_port, dest_ip, dest_port, proto ("TCP"/"UDP"),
/// app, category, features (list), then when the flow has a decision: user, rule, action
/// (what the kernel applies), monitor (the decided action, only when monitored),
/// rate_bytes_per_sec (throttle only), decided (claim|classified|flow_end); then
/// classifier, evidence, flow {pkts_toserver, pkts_toclient, bytes_toserver,
/// bytes_toclient, reason (kFlowEnd only: idle|tcp_closed|evicted|port_reused|shutdown)},
/// policy_generation (`generation`, the policy the event was written under).
/// Always valid JSON (ill-formed UTF-8 in names becomes U+FFFD). Pure: thread-safe for
/// concurrent callers with a shared `config`. Allocates; throws only std::bad_alloc.
/// With a quota rule, `quota` {pool, limit_bytes, per, then} follows `rate_bytes_per_sec`,
/// plus used_bytes and exhausted when `quota_used` (counts by pool index, Quotas::used())
/// is given.
std::string flow_event(EventType type, const EventFlow& flow, const policy::Config& config,
                       uint64_t generation, const std::vector<uint64_t>* quota_used = nullptr);

/// An append-only event file (e.g. /var/log/imguard/events.json), one line per event.
/// Each write() is one whole line in one write(2) on an O_APPEND descriptor, so lines from
/// several writers never interleave and a crash leaves no partial line buffered in us.
/// Never throws after construction: failures are counted (errors()) and described by
/// last_error(); a closed or failed file keeps counting until reopen() succeeds.
/// Not thread-safe: one owner (the daemon's control thread) calls everything, including
/// reopen() on SIGUSR1 after logrotate moved the file.
class EventLog {
 public:
  /// Opens (creating it with mode 0640) `path` for appending. Check ok()/last_error().
  explicit EventLog(std::string path);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  /// Appends `line` and a newline (unless it already ends in one). false on failure
  /// (counted). noexcept, no allocation.
  bool write(std::string_view line) noexcept;
  /// Closes and opens the path again (a new file after rotation). false on failure; the
  /// old descriptor is closed either way. noexcept, no allocation.
  bool reopen() noexcept;

  bool ok() const noexcept { return fd_ >= 0; }
  uint64_t lines_written() const noexcept { return lines_; }
  uint64_t errors() const noexcept { return errors_; }
  /// "PATH: open: Permission denied" for the last failure, "" if none yet. Allocates.
  std::string last_error() const;
  const std::string& path() const noexcept { return path_; }

 private:
  void fail(const char* what, int err) noexcept;

  std::string path_;
  int fd_ = -1;
  uint64_t lines_ = 0;
  uint64_t errors_ = 0;
  const char* last_op_ = nullptr;  // static string: the failed operation
  int last_errno_ = 0;
};

/// The journald fields of one event, each "NAME=value": MESSAGE (one readable line),
/// MESSAGE_ID (event_message_id), PRIORITY (5 notice for drop/reject decisions, else 6
/// info), SYSLOG_IDENTIFIER=imguard, IMGUARD_EVENT, IMGUARD_FLOW_ID,
/// IMGUARD_COMMUNITY_ID, IMGUARD_PROTO, IMGUARD_SRC_IP, IMGUARD_SRC_PORT,
/// IMGUARD_DEST_IP, IMGUARD_DEST_PORT, IMGUARD_APP, IMGUARD_CATEGORY, IMGUARD_FEATURES
/// (comma-separated, only when any), then with a decision IMGUARD_USER, IMGUARD_RULE,
/// IMGUARD_ACTION, IMGUARD_MONITOR (when monitored), IMGUARD_RATE_BYTES_PER_SEC
/// (throttle), IMGUARD_DECIDED; then IMGUARD_CLASSIFIER, IMGUARD_EVIDENCE,
/// IMGUARD_PKTS_TOSERVER/_TOCLIENT, IMGUARD_BYTES_TOSERVER/_TOCLIENT, IMGUARD_END
/// (kFlowEnd), IMGUARD_POLICY_GENERATION. Values are valid UTF-8. Pure, allocates.
std::vector<std::string> journal_fields(EventType type, const EventFlow& flow,
                                        const policy::Config& config, uint64_t generation);

/// Sends journal_fields(...) to journald (sd_journal_sendv). 0 on success (libsystemd
/// also answers 0 when no journald listens: the event is dropped), else a negative errno
/// (-ENOMEM if building the fields failed). noexcept; thread-safe (libsystemd shares
/// one datagram socket). It may block while journald is slow to drain its socket: call it
/// from the thread that writes events, never from a packet worker.
int journal_event(EventType type, const EventFlow& flow, const policy::Config& config,
                  uint64_t generation) noexcept;

}  // namespace imguard::engine
