// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "policy/config.h"

namespace imguard::firewall {

/// What went wrong talking to the kernel's firewall: which step, and the tool's output.
struct Error {
  std::string message;
};

/// The concrete split of work between the two tools. nftables enforces whenever it is
/// used; the queue rule lives in iptables when the kernel lacks nft's `queue` statement
/// (CONFIG_NFT_QUEUE).
enum class Plan : uint8_t {
  kNftables,               // everything in `table inet imguard`
  kNftablesIptablesQueue,  // enforcement in nftables, queue rule in ip(6)tables mangle
  kIptables,               // everything in ip(6)tables chains IMGUARD-*
};
std::string_view plan_name(Plan p) noexcept;
/// Whether `plan` spreads new connections over the workers by the steering label bits
/// (policy/labels.h: nft numbers each new connection round-robin, the iptables queue rules
/// pick the worker's queues from the number): nftables with the iptables queue rule and
/// 2..kMaxSteeredWorkers queues. Otherwise the kernel's `--queue-balance` address hash
/// spreads them (every connection between two hosts on one worker).
bool steers_by_label(const policy::Config& c, Plan plan) noexcept;

/// Runs the external tools (nft, iptables-restore, ...). Tests substitute their own to
/// check the scripts without touching the kernel.
class Runner {
 public:
  virtual ~Runner() = default;
  struct Output {
    int exit_code = -1;  // -1: the program could not be started
    std::string text;    // stdout and stderr together
  };
  /// Runs argv[0] (looked up in /usr/sbin, /sbin, /usr/bin, /bin only) with `stdin_text`
  /// as its standard input.
  virtual Output run(const std::vector<std::string>& argv, const std::string& stdin_text) = 0;
  /// The kernel's nf_tables ruleset generation (NFT_MSG_GETGEN): every committed nftables
  /// change, iptables-nft's included, advances it. nullopt when it cannot be read; the
  /// default reads nothing, so every check then reads the rules themselves.
  virtual std::optional<uint32_t> ruleset_generation() { return std::nullopt; }
};
/// The real runner: posix_spawn by absolute path, no shell, a clean environment, an empty
/// signal mask and default dispositions in the child, killed after 15 s. Sets SIGPIPE to
/// ignored for the process (a tool that exits early then yields EPIPE instead of killing
/// imguard).
std::unique_ptr<Runner> system_runner();

/// Owns imguard's rules in the kernel: nftables `table inet imguard` and/or the iptables
/// and ip6tables chains named IMGUARD-* plus one tagged jump rule per hooked built-in
/// chain. The design (queue only undecided connections, save the verdict's packet mark
/// into the ct mark in a later chain, enforce in the kernel) is in firewall/README.md.
///
/// Not thread-safe; one instance per process, used from the control thread. Never throws;
/// errors come back as values. The destructor does not remove rules (call remove()): a
/// crashing daemon must leave the queue-bypass rules in place.
class Firewall {
 public:
  /// Chooses the plan (probing the kernel with `nft -c` for nftables and its queue
  /// statement, `iptables-save` for iptables) and renders the ruleset. Fails when the
  /// backend the config asks for is unusable here (e.g. without CAP_NET_ADMIN). A null
  /// `runner` means system_runner().
  static std::variant<std::unique_ptr<Firewall>, Error> create(const policy::Config& config,
                                                               std::unique_ptr<Runner> runner);
  /// Same, without probing: renders for a given plan (for `imguard rules --plan`, tests).
  static std::unique_ptr<Firewall> create_for_plan(const policy::Config& config, Plan plan,
                                                   std::unique_ptr<Runner> runner);

  ~Firewall();
  Firewall(const Firewall&) = delete;
  Firewall& operator=(const Firewall&) = delete;

  Plan plan() const noexcept;
  /// The exact text fed to each tool by install(), each part headed by a comment naming
  /// the tool and what the part does. For iptables, install() prefixes the same
  /// transaction with `-D` lines for older copies of the tagged jumps it finds.
  std::string render() const;

  /// Installs (or atomically replaces) the whole ruleset: one `nft -f` transaction and/or
  /// one `iptables-restore --noflush` / `ip6tables-restore --noflush` per family.
  std::variant<std::monostate, Error> install();
  /// Removes everything imguard installed (its table, its chains, its jump rules). Not an
  /// error when nothing is installed.
  std::variant<std::monostate, Error> remove();
  /// True when every part of the ruleset is present (table/chains exist and the jump
  /// rules are in place). Reads the kernel state with `nft list` / `iptables-save`, unless
  /// nothing can have changed since the last check found it whole: the ruleset generation
  /// is the one seen then, and every part lives in nf_tables (nft, or iptables-nft; not
  /// iptables-legacy, which the generation does not cover).
  bool installed() const;
  /// Reinstalls when installed() is false (someone flushed the table or chains). Returns
  /// true when it reinstalled.
  std::variant<bool, Error> reinstall_if_missing();

  /// Quotas (nftables only; one `quota` object per Policy::quota_pools entry, named by
  /// quota_object_name). set_quota_used() sets the counts the next install() (also a
  /// reinstall) starts each object from, indexed like quota_pools; read_quotas() returns
  /// the kernel's counts the same way (`nft list quotas table inet imguard`), and
  /// reset_quota() sets one back to 0 (`nft reset quota`), which lets its connections
  /// return to the rule's own action on their next packet.
  void set_quota_used(std::vector<uint64_t> used);
  std::variant<std::vector<uint64_t>, Error> read_quotas() const;
  std::variant<std::monostate, Error> reset_quota(size_t pool);

 private:
  struct Impl;
  explicit Firewall(std::unique_ptr<Impl> impl);
  static std::variant<std::unique_ptr<Firewall>, Error> create_probed(
      const policy::Config& config, std::unique_ptr<Runner> runner);
  std::unique_ptr<Impl> impl_;
};

}  // namespace imguard::firewall
