// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "packet/address.h"

namespace imguard::conntrack {

/// One direction of a connection as conntrack keys it.
struct Tuple {
  packet::Address src;
  packet::Address dst;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t l4proto = 0;  // IPPROTO_TCP / IPPROTO_UDP (others are skipped by dump())

  friend bool operator==(const Tuple&, const Tuple&) = default;
};

/// The 128-bit conntrack label as the kernel stores it (CTA_LABELS bytes).
using Label = std::array<uint8_t, 16>;

/// One connection from a dump.
struct Entry {
  Tuple original;
  Tuple reply;
  uint32_t mark = 0;
  /// Absent when the connection has no label extension *or* all 128 bits are clear: the
  /// kernel omits CTA_LABELS in both cases (ctnetlink_dump_labels), so a dump cannot tell
  /// them apart; an update that sets a label answers ENOSPC for the former.
  std::optional<Label> label;
  uint16_t zone = 0;
  uint32_t id = 0;  // CTA_ID
  /// Accounting (net.netfilter.nf_conntrack_acct=1), 0 otherwise; [0] original, [1] reply.
  uint64_t packets[2] = {0, 0};
  uint64_t bytes[2] = {0, 0};
};

/// A change to one connection, addressed by its original tuple (and zone). Only the bits
/// set in the masks are written (CTA_MARK_MASK, CTA_LABELS_MASK); the rest of the mark and
/// label stays as other software left it.
struct Update {
  /// The connection's original-direction tuple, or with `by_reply` its reply-direction
  /// tuple (CTA_TUPLE_REPLY): what a forwarding hook sees of a DNAT-ed connection.
  Tuple original;
  bool by_reply = false;
  uint16_t zone = 0;
  std::optional<uint32_t> mark;
  uint32_t mark_mask = 0;
  std::optional<Label> label;
  Label label_mask{};
};

struct UpdateStats {
  uint64_t applied = 0;
  uint64_t not_found = 0;  // ENOENT: the connection ended (or is not confirmed yet)
  uint64_t failed = 0;     // any other error; first_error says which
  std::string first_error;
  std::vector<size_t> missing;  // indices (into the updates given) of the not_found ones
};

/// The kernel's conntrack statistics of the caller's network namespace, summed over CPUs
/// (/proc/net/stat/nf_conntrack): what happens when the table is full.
struct KernelStats {
  uint64_t entries = 0;        // connections tracked now
  uint64_t insert_failed = 0;  // a new connection could not be inserted (clash, full)
  uint64_t drop = 0;           // packets dropped: table full and nothing could be evicted
  uint64_t early_drop = 0;     // unreplied connections evicted to make room (table full)
};
/// False when the file cannot be read or parsed (no nf_conntrack loaded).
bool read_kernel_stats(KernelStats& out) noexcept;

/// A ctnetlink socket (NETLINK_NETFILTER) in the caller's network namespace. Owned by one
/// thread at a time; not thread-safe. Needs CAP_NET_ADMIN. Never throws: failures come
/// back as messages naming the object, the cause and a hint.
class Conntrack {
 public:
  /// nullptr and `error` when the socket cannot be opened (e.g. no nf_conntrack_netlink).
  static std::unique_ptr<Conntrack> open(std::string& error);
  ~Conntrack();
  Conntrack(const Conntrack&) = delete;
  Conntrack& operator=(const Conntrack&) = delete;

  /// Dumps every IPv4 and IPv6 TCP/UDP connection, calling `fn` for each (on this
  /// thread, during the call). False and `error` if the dump failed part way; entries
  /// already delivered stay delivered.
  bool dump(const std::function<void(const Entry&)>& fn, std::string& error);

  /// Applies `updates`, several messages per send, collecting every answer before it
  /// returns. A missing connection is counted, never an error for the others.
  UpdateStats update(std::span<const Update> updates);

 private:
  struct Impl;
  explicit Conntrack(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// Connection-end events (NFNLGRP_CONNTRACK_DESTROY): each ended TCP/UDP connection with
/// its final mark, label and counters (with nf_conntrack_acct on). A non-blocking socket
/// for the caller's poll loop; one thread. A burst larger than the socket buffer loses
/// events (ENOBUFS), which overruns() counts.
class Events {
 public:
  static std::unique_ptr<Events> open(std::string& error);
  ~Events();
  Events(const Events&) = delete;
  Events& operator=(const Events&) = delete;

  int fd() const noexcept;
  /// Reads every event already queued, calling `fn` for each ended connection; returns
  /// how many. Never blocks.
  size_t read(const std::function<void(const Entry&)>& fn) noexcept;
  uint64_t overruns() const noexcept { return overruns_; }

 private:
  Events(void* sock, int fd) : sock_(sock), fd_(fd) {}
  void* sock_;  // mnl_socket
  int fd_;
  uint64_t overruns_ = 0;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(1 << 16);
};

}  // namespace imguard::conntrack
