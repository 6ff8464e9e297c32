// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <bitset>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "classifiers/apps.h"
#include "classifiers/classifier.h"
#include "packet/address.h"
#include "policy/schedule.h"

namespace imguard::policy {

/// The validated configuration: engine settings plus the policy (users, groups,
/// schedules, ordered rules, the legacy action table). Built only by policy/loader.h
/// (which checks every invariant stated here) and then shared read-only as
/// `std::shared_ptr<const Config>`; it has no mutable state and is safe to read from any
/// thread. Every knob, with default, range and units, is listed in policy/README.md.
/// `version` changes only for incompatible changes; new keys are additive.

inline constexpr int kConfigVersion = 1;

/// Which ruleset backend enforces decisions. `kAuto` probes the kernel at install time.
enum class Backend : uint8_t { kAuto, kNftables, kIptables };
/// Where the rules hook in: a gateway filters forwarded traffic (FORWARD), a host its own
/// traffic (INPUT and OUTPUT).
enum class HookMode : uint8_t { kGateway, kHost };
/// How a `reject` answers: TCP gets a reset (other protocols ICMP port-unreachable), or
/// every protocol gets ICMP/ICMPv6 port-unreachable.
enum class RejectWith : uint8_t { kTcpReset, kIcmp };
/// What happens to a decided connection. The numeric values are the action class stored
/// in the mark (policy/marks.h): never renumber.
enum class Action : uint8_t { kAllow = 0, kDrop = 1, kReject = 2, kThrottle = 3 };

/// Who shares one throttle bucket. Rules default to kPerUser; the legacy `actions:` table
/// to kShared (one bucket per table entry, as before rules existed).
enum class ThrottleScope : uint8_t {
  kPerUser,  // one bucket per (rule, user); a user's every address and device share it
  kPerHost,  // one bucket per (rule, local address): each device of a network user
  kShared,   // one bucket per rule for everybody it matches
  kPerFlow,  // one bucket per connection
};

/// An action with its parameters. `rate_bytes_per_sec` is > 0 exactly when the action is
/// kThrottle (a kernel byte-rate bucket per direction; packets above the rate are dropped).
/// `monitor`: decided and logged as `action`, but the kernel lets the connection pass.
struct ActionSpec {
  Action action = Action::kAllow;
  uint64_t rate_bytes_per_sec = 0;
  ThrottleScope scope = ThrottleScope::kShared;
  bool monitor = false;

  friend bool operator==(const ActionSpec&, const ActionSpec&) = default;
};

/// An address block: `prefix_len` leading bits of `addr` (0..32 for IPv4, 0..128 IPv6).
struct Cidr {
  packet::Address addr;  // host bits are zero
  uint8_t prefix_len = 0;

  bool contains(const packet::Address& a) const noexcept;
  std::string to_string() const;
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

using MacAddress = std::array<uint8_t, 6>;

inline constexpr uint16_t kNoUser = 0xffff;
inline constexpr uint16_t kNoSchedule = 0xffff;
inline constexpr uint16_t kNoBucket = 0xffff;
inline constexpr size_t kMaxUsers = 0xfffe;
inline constexpr size_t kMaxGroups = 256;
inline constexpr size_t kMaxSchedules = 64;
inline constexpr size_t kMaxRules = 4096;
using GroupSet = std::bitset<kMaxGroups>;

/// A person or a device (or a whole network) the policy talks about.
struct User {
  std::string name;
  std::vector<Cidr> addresses;
  std::vector<MacAddress> macs;
  std::vector<uint32_t> uids;  // host mode; `unix_users` are resolved to uids at load
  GroupSet groups;             // groups that list this user in `members`
  /// Stable 32-bit id (FNV-1a of the name), recorded in the conntrack label so a reload
  /// or restart finds the user again; unique within a config (checked at load).
  uint32_t stable_id = 0;
  std::string origin;
};

/// A named set of users, plus address blocks whose hosts belong to it even when they are
/// nobody's in `users`.
struct Group {
  std::string name;
  std::vector<uint16_t> members;  // indices into Policy::users
  std::vector<Cidr> addresses;
  std::string origin;
};

/// Which side of a connection the user's host is.
enum class FlowDirection : uint8_t {
  kAny,
  kServing,     // the user's host accepted the connection (responder)
  kInitiating,  // the user's host opened it
};

/// One entry of `rules:` (or of the legacy `actions:` table, translated). Every match
/// field left empty matches everything. Matched in order; the first match wins.
struct Rule {
  std::string name;  // unique; logs, metrics and bucket numbering use it
  // who: anyone, unknown (no user resolved), users and groups
  bool who_anyone = true;
  bool who_unknown = false;
  std::vector<uint16_t> who_users;  // sorted
  GroupSet who_groups;
  std::vector<classifiers::AppId> apps;           // empty: any
  std::vector<classifiers::Category> categories;  // empty: any
  uint8_t features = classifiers::kFeatureNone;   // any of these bits; 0: any
  uint8_t evidence = 0;  // bit (1 << Evidence) per accepted evidence; 0: any
  FlowDirection direction = FlowDirection::kAny;
  uint16_t when = kNoSchedule;      // schedule index that must be active
  uint16_t not_when = kNoSchedule;  // schedule index that must be inactive
  ActionSpec spec;
  /// For kThrottle: the rule's mark bucket (scopes other than kPerUser).
  uint16_t bucket = kNoBucket;
  /// For kThrottle kPerUser: the bucket per user index, the last entry for flows whose
  /// user is unknown; kNoBucket for users the rule can never match.
  std::vector<uint16_t> user_buckets;
  /// Where it came from ("file:line:col"), or "" for the built-in default.
  std::string origin;
  /// True for entries translated from the legacy `actions:` table.
  bool from_action_table = false;
};

inline constexpr uint16_t kNoRule = 0xffff;
inline constexpr size_t kAppCount = static_cast<size_t>(classifiers::AppId::kCount_);
inline constexpr size_t kCategoryCount = static_cast<size_t>(classifiers::Category::kOther) + 1;
/// Features that can carry a rule, in the order the legacy table consults them.
inline constexpr std::array<uint8_t, 3> kRuleFeatures = {classifiers::kFeatureFileTransfer,
                                                         classifiers::kFeatureServing,
                                                         classifiers::kFeatureCleartext};

/// The legacy per-app / per-feature / per-category table (`actions:`), applied to
/// everybody after `rules:`: app rule > feature rule > category rule > default.
struct ActionTable {
  /// Indices into Policy::rules, kNoRule when absent.
  std::array<uint16_t, kAppCount> by_app{};
  std::array<uint16_t, kCategoryCount> by_category{};
  std::array<uint16_t, kRuleFeatures.size()> by_feature{};
  uint16_t default_rule = 0;
};

/// A mark bucket in use: which rule, and for kPerUser rules which user (kNoUser: the
/// bucket of flows whose user is unknown).
struct Bucket {
  uint16_t rule = 0;
  uint16_t user = kNoUser;
};

struct AddressHash {
  size_t operator()(const packet::Address& a) const noexcept;
};

/// Lookup structures over Policy::users, built by the loader (policy/identity.h uses them).
struct IdentityIndex {
  /// Exact-match maps of masked addresses, one per (family, prefix length) in use,
  /// longest prefix first: the first hit is the most specific.
  struct Level {
    packet::Address::Family family = packet::Address::Family::kV4;
    uint8_t prefix_len = 0;
    std::unordered_map<packet::Address, uint16_t, AddressHash> users;
  };
  std::vector<Level> levels;
  std::unordered_map<uint64_t, uint16_t> by_mac;  // MAC as a 48-bit integer
  std::unordered_map<uint32_t, uint16_t> by_uid;
  std::unordered_map<uint32_t, uint16_t> by_stable_id;
};

/// Everything a decision reads: identities, schedules, rules. Immutable once built by
/// the loader; published as std::shared_ptr<const Config> and read by many threads.
struct Policy {
  /// networks.local: the endpoint inside these (or matching a user) is the flow's user.
  std::vector<Cidr> local_networks;
  std::vector<User> users;
  std::vector<Group> groups;
  std::vector<Schedule> schedules;
  /// `rules:` in file order, then the legacy table's entries, then the default (last).
  std::vector<Rule> rules;
  /// Number of entries of `rules` that came from `rules:` (the rest are the table's).
  uint16_t ordered_rules = 0;
  ActionTable table;
  /// Mark buckets in use, indexed by bucket number (sparse: numbering is stable by rule
  /// and user *name*, so unused numbers are {kNoRule, kNoUser}).
  std::vector<Bucket> buckets;
  /// `engine.enforce: false`: every decision is logged and reported, none is enforced.
  bool enforce = true;
  IdentityIndex index;
};

/// Engine and ruleset settings (restart-only), then the policy (reloadable).
struct Config {
  int version = kConfigVersion;
  /// Name the configuration was loaded from (file path or the name given to
  /// load_config_string), for messages.
  std::string source;

  Backend backend = Backend::kAuto;
  HookMode mode = HookMode::kGateway;
  /// NFQUEUE numbers used: queue_first .. queue_first + queue_count - 1, one worker each
  /// (`--queue-balance`); queue_first + queue_count <= 65536.
  uint16_t queue_first = 0;
  uint16_t queue_count = 1;
  /// Packets the kernel holds per queue before the full-queue behaviour applies.
  uint32_t queue_maxlen = 4096;
  /// imguard's bits of the packet and conntrack marks; one contiguous run of >= 3 bits.
  /// imguard never reads or writes a bit outside it.
  uint32_t mark_mask = 0x00ff0000;
  /// Payload-carrying packets a flow may take before classification gives up
  /// (the flow then counts as decided with whatever it has, usually app `unknown`).
  uint16_t tcp_budget = 24;
  uint16_t udp_budget = 8;
  /// `engine.flows.capacity`: flows each worker tracks at most; a new flow beyond it
  /// evicts the longest-idle one.
  uint32_t flow_capacity = 262'144;
  /// `engine.flows.reassembly_bytes`: heap each worker may spend on classifier reassembly
  /// buffers (TLS/QUIC ClientHellos), all flows together; 0 disables reassembly.
  uint64_t reassembly_bytes = uint64_t{64} << 20;
  /// `engine.flows.quic_derivations_per_sec`: QUIC Initial key derivations each worker
  /// performs per second at most; 0 turns QUIC SNI reading off.
  uint32_t quic_derivations_per_sec = 10'000;
  /// `engine.flows.udp_idle_seconds` / `tcp_idle_seconds`: a flow without packets this long
  /// leaves the table (measured on CLOCK_MONOTONIC: wall-clock steps do not move it).
  std::chrono::seconds udp_idle{120};
  std::chrono::seconds tcp_idle{300};
  /// Queue full: true → the kernel accepts the packet unclassified (NFQA_CFG_F_FAIL_OPEN,
  /// set by the daemon on the queue, not by the ruleset); false → the kernel drops it.
  /// Trade-off: fail-open keeps the network up under load, but a flood can push traffic
  /// past the engine.
  bool fail_open = true;
  /// No daemon bound to the queue: true → accept (`--queue-bypass` / nft `bypass` in the
  /// queue rule), false → drop (fail-closed; nothing passes while imguard is down).
  bool queue_bypass = true;
  RejectWith reject_with = RejectWith::kTcpReset;
  /// A queued packet that is not a trackable TCP/UDP packet (truncated, a fragment, not
  /// IP): accept or drop it. Unset: follows fail_open (a fail-closed site drops them).
  std::optional<bool> anomaly_accept;
  /// Flow events (one JSON line per decision and per connection end): a file ("" = none,
  /// reopened on SIGUSR1) and/or the journal.
  std::string events_file;
  bool events_journal = false;
  /// Prometheus metrics: a local HTTP listener ("ADDRESS:PORT", "" = none) and/or a
  /// node_exporter textfile written every few seconds ("" = none).
  std::string metrics_listen;
  std::string metrics_textfile;

  Policy policy;
  /// Non-fatal findings of the loader (e.g. a rule shadowed by an earlier one), each
  /// "file:line:col: warning: ...". check-config prints them; run logs them.
  std::vector<std::string> warnings;
};

std::string_view backend_name(Backend b) noexcept;
std::string_view hook_mode_name(HookMode m) noexcept;
std::string_view reject_with_name(RejectWith r) noexcept;
std::string_view action_name(Action a) noexcept;
std::string_view throttle_scope_name(ThrottleScope s) noexcept;  // "per user", ...
std::string_view direction_name(FlowDirection d) noexcept;
std::optional<Action> action_from_name(std::string_view name) noexcept;
/// Stable lowercase name of one kRuleFeatures bit ("file_transfer", "serving",
/// "cleartext"), "" for anything else.
std::string_view feature_name(uint8_t feature) noexcept;

/// The built-in configuration (all defaults, every flow allowed). Never fails.
Config default_config();

}  // namespace imguard::policy
