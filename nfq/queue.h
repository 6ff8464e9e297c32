// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "packet/counter.h"

struct mnl_socket;  // libmnl's handle, kept out of this header
struct nlmsghdr;

namespace imguard::nfq {

/// Whether the kernel accepts packets itself when the queue is full (fail-open) or drops
/// them (fail-closed). Queue bypass (no listener at all) is a property of the ruleset.
enum class WhenFull : uint8_t { kAccept, kDrop };
/// Whether to ask the kernel for the owning socket's UID/GID (host mode: local traffic).
enum class Owner : uint8_t { kSkip, kRequest };

/// How one queue is bound and configured.
struct QueueOptions {
  uint16_t queue_num = 0;
  /// Packets the kernel holds for this queue before it applies `when_full`.
  uint32_t max_len = 4096;
  /// Bytes of each packet copied to userspace (0xffff: whole packets).
  uint32_t copy_bytes = 0xffff;
  WhenFull when_full = WhenFull::kAccept;
  Owner owner = Owner::kSkip;
  /// Most packets read from the socket before their verdicts are sent together; each run
  /// of consecutive packets with the same answer (action and mark) becomes one
  /// NFQNL_MSG_VERDICT_BATCH.
  uint32_t batch = 32;
};

/// Optional queue features as the kernel answered them (each requested in its own config
/// message and acknowledged; a refused flag is recorded, never fatal unless required).
struct Capabilities {
  bool gso = false;         // whole GSO super-packets are queued (no segmentation)
  bool uid_gid = false;     // NFQA_UID/NFQA_GID present on local packets
  bool fail_open = false;   // NFQA_CFG_F_FAIL_OPEN accepted
  bool conntrack = false;   // NFQA_CFG_F_CONNTRACK accepted (needs NETLINK_GLUE_CT)
  int conntrack_errno = 0;  // why it was refused (EOPNOTSUPP on kernels without glue)
};

/// One queued packet as the handler sees it. Views point into the receive buffer and stay
/// valid only during the handler call.
struct Packet {
  uint32_t id = 0;
  std::span<const uint8_t> l3;     // starts at the IP header
  uint32_t mark = 0;               // the packet's mark when it was queued
  std::chrono::microseconds ts{};  // receive time, CLOCK_MONOTONIC (immune to clock steps)
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  /// Source hardware address of the frame (NFQA_HWADDR), when it arrived on an
  /// Ethernet-like interface: the sending host on the gateway's own LAN segment.
  std::optional<std::array<uint8_t, 6>> src_mac;
  /// The packet came in through an interface (NFQA_IFINDEX_INDEV present): forwarded or
  /// received (INPUT); false for packets this host sends (OUTPUT).
  bool inbound = false;
};

/// The answer for one packet. `mark`, when set, replaces the whole packet mark: callers
/// merge their masked bits into Packet::mark themselves.
struct Verdict {
  enum class Action : uint8_t { kAccept, kDrop };
  Action action = Action::kAccept;
  std::optional<uint32_t> mark;

  static Verdict accept() noexcept { return Verdict{}; }
  static Verdict drop() noexcept { return Verdict{Action::kDrop, std::nullopt}; }
  static Verdict accept_marked(uint32_t mark) noexcept { return Verdict{Action::kAccept, mark}; }

  friend bool operator==(const Verdict&, const Verdict&) = default;
};

/// Decides packets; implemented by the engine. Called on the queue's thread only.
class PacketHandler {
 public:
  virtual ~PacketHandler() = default;
  virtual Verdict on_packet(const Packet& packet) noexcept = 0;
};

/// Counters of one queue. Written by the queue's thread only; readable from any thread
/// while it runs (single-writer relaxed atomics).
struct QueueStats {
  Counter packets;          // packets received and handed to the handler
  Counter verdicts;         // single-packet verdict messages sent
  Counter batch_verdicts;   // NFQNL_MSG_VERDICT_BATCH messages sent
  Counter batched_packets;  // packets answered by a batch verdict
  Counter recv_batches;     // wake-ups that read at least one packet
  Counter enobufs;          // receive errors ENOBUFS (socket overrun reported)
  Counter recv_errors;      // other receive errors
  Counter send_errors;      // verdict sends that failed
  Counter kernel_errors;    // NLMSG_ERROR answers to our verdicts
  Counter truncated;        // packets copied shorter than their length
  /// From /proc/net/netfilter/nfnetlink_queue, read by read_kernel_counters().
  Counter kernel_queue_dropped;  // queue full, fail-closed
  Counter kernel_user_dropped;   // netlink delivery failed (socket buffer full)
};

/// One NFQUEUE bound to its own netlink socket. Owned and used by one thread; open() and
/// the destructor may run on another thread than run(), never concurrently.
class Queue {
 public:
  /// Binds queue `options.queue_num`, sizes the socket receive buffer to the queue length,
  /// sets NETLINK_NO_ENOBUFS and requests each optional flag (GSO, UID/GID, FAIL_OPEN,
  /// CONNTRACK probe) in its own acknowledged message, then starts copying packets.
  /// nullptr and a message in `error` (object, cause, hint) on failure.
  static std::unique_ptr<Queue> open(const QueueOptions& options, std::string& error);
  /// Unbinds the queue. Packets still in the kernel's queue are then dropped by the
  /// kernel, so call run() to completion (it drains) before destroying.
  ~Queue();
  Queue(const Queue&) = delete;
  Queue& operator=(const Queue&) = delete;

  /// Reads packets and answers each through `handler` until `stop_fd` (an eventfd or pipe)
  /// becomes readable; then reads whatever is already in the socket, answers it, and
  /// returns. Never throws. Returns false (and sets last_error()) if the socket broke.
  bool run(PacketHandler& handler, int stop_fd) noexcept;

  /// Refreshes the kernel_* counters from /proc (not on the packet path). The file is
  /// opened in open() and kept: it is 0440 root, and the daemon may have dropped root since.
  void read_kernel_counters() noexcept;

  /// Handles one message of a received datagram (called through libmnl's C callback).
  int on_packet_message(PacketHandler& handler, const nlmsghdr* nlh) noexcept;

  const Capabilities& capabilities() const noexcept { return caps_; }
  const QueueStats& stats() const noexcept { return stats_; }
  const QueueOptions& options() const noexcept { return options_; }
  const std::string& last_error() const noexcept { return error_; }

 private:
  Queue(mnl_socket* sock, const QueueOptions& options);
  bool configure(std::string& error);
  int request(const char* what, const std::vector<uint8_t>& msg, std::string& error);
  enum class Wait : uint8_t { kBlock, kDrain };
  int receive_batch(PacketHandler& handler, Wait wait) noexcept;
  void handle_message(PacketHandler& handler, const uint8_t* buf, size_t len) noexcept;
  void flush_verdicts() noexcept;
  void close_run() noexcept;
  void send_pending() noexcept;

  mnl_socket* sock_;
  std::FILE* proc_ = nullptr;  // /proc/net/netfilter/nfnetlink_queue, rewound per read
  QueueOptions options_;
  Capabilities caps_;
  QueueStats stats_;
  uint32_t portid_ = 0;
  uint32_t seq_ = 0;
  bool bound_ = false;
  std::string error_;
  // One datagram's receive buffer and the verdict buffer, sized once in open().
  std::vector<uint8_t> recv_buf_;
  size_t slot_bytes_ = 0;
  std::vector<uint8_t> send_buf_;
  size_t send_len_ = 0;
  /// Consecutive packets (by id) with the same answer, not yet written to send_buf_. The
  /// kernel applies a batch verdict to every still-pending id up to `last_id`; runs are
  /// written in id order, so each batch covers exactly its own run.
  struct Run {
    Verdict verdict;
    uint32_t last_id = 0;
    uint32_t count = 0;
  };
  std::optional<Run> run_;
};

}  // namespace imguard::nfq
