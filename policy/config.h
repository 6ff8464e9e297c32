// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "classifiers/apps.h"
#include "classifiers/classifier.h"

namespace imguard::policy {

/// The validated configuration: engine settings plus the action table. Built only by
/// policy/loader.h (which checks every invariant stated here) and then shared read-only as
/// `std::shared_ptr<const Config>`; it has no mutable state and is safe to read from any
/// thread. Every knob, with default, range and units, is listed in policy/README.md.
///
/// Growth plan: users, groups and schedules become new top-level sections and new `Rule`
/// match fields; `version` changes only for incompatible changes.

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

/// An action with its parameter. `rate_bytes_per_sec` is > 0 exactly when the action is
/// kThrottle (a kernel byte-rate bucket; packets above the rate are dropped).
struct ActionSpec {
  Action action = Action::kAllow;
  uint64_t rate_bytes_per_sec = 0;

  friend bool operator==(const ActionSpec&, const ActionSpec&) = default;
};

/// What a rule matches. Today a rule is one line of the action table; later rules add
/// user/group/schedule fields and are matched in order.
enum class RuleScope : uint8_t { kDefault, kCategory, kFeature, kApp };

/// One entry of the action table, where it came from (for logs) and, for throttle rules,
/// its kernel rate bucket.
struct Rule {
  RuleScope scope = RuleScope::kDefault;
  classifiers::AppId app = classifiers::AppId::kUnknown;             // kApp only
  classifiers::Category category = classifiers::Category::kUnknown;  // kCategory only
  uint8_t feature = classifiers::kFeatureNone;                       // kFeature only (one bit)
  ActionSpec spec;
  /// Index of this rule's rate bucket, 0-based and dense over the throttle rules; the
  /// hook the per-user throttle work extends (rule × user → bucket). Meaningful only for
  /// kThrottle.
  uint16_t bucket = 0;
  /// "file:line:col" of the YAML entry, or "" for the built-in default.
  std::string origin;
};

inline constexpr uint16_t kNoRule = 0xffff;
inline constexpr size_t kAppCount = static_cast<size_t>(classifiers::AppId::kCount_);
inline constexpr size_t kCategoryCount = static_cast<size_t>(classifiers::Category::kOther) + 1;
/// Features that can carry a rule, in the order decide() consults them.
inline constexpr std::array<uint8_t, 3> kRuleFeatures = {classifiers::kFeatureFileTransfer,
                                                         classifiers::kFeatureServing,
                                                         classifiers::kFeatureCleartext};

/// Actions per app, per feature, per category and a default, resolved by decide()
/// (policy/decision.h): app rule > feature rule > category rule > default.
struct ActionTable {
  /// rules[0] is always the default rule; the others follow in file order.
  std::vector<Rule> rules;
  /// Index into `rules` per AppId, kNoRule when the app has no rule of its own.
  std::array<uint16_t, kAppCount> by_app{};
  /// Index into `rules` per Category, kNoRule when the category has no rule.
  std::array<uint16_t, kCategoryCount> by_category{};
  /// Index into `rules` per kRuleFeatures entry, kNoRule when the feature has no rule.
  std::array<uint16_t, kRuleFeatures.size()> by_feature{};
  /// Number of throttle rules (= rate buckets in use).
  uint16_t bucket_count = 0;
};

/// Engine and ruleset settings, then the action table.
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
  /// Queue full: true → the kernel accepts the packet unclassified (NFQA_CFG_F_FAIL_OPEN,
  /// set by the daemon on the queue, not by the ruleset); false → the kernel drops it.
  /// Trade-off: fail-open keeps the network up under load, but a flood can push traffic
  /// past the engine.
  bool fail_open = true;
  /// No daemon bound to the queue: true → accept (`--queue-bypass` / nft `bypass` in the
  /// queue rule), false → drop (fail-closed; nothing passes while imguard is down).
  bool queue_bypass = true;
  RejectWith reject_with = RejectWith::kTcpReset;

  ActionTable actions;
};

std::string_view backend_name(Backend b) noexcept;
std::string_view hook_mode_name(HookMode m) noexcept;
std::string_view reject_with_name(RejectWith r) noexcept;
std::string_view action_name(Action a) noexcept;
std::optional<Action> action_from_name(std::string_view name) noexcept;
/// Stable lowercase name of one kRuleFeatures bit ("file_transfer", "serving",
/// "cleartext"), "" for anything else.
std::string_view feature_name(uint8_t feature) noexcept;

/// The built-in configuration (all defaults, every flow allowed). Never fails.
Config default_config();

}  // namespace imguard::policy
