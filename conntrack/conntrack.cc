// SPDX-License-Identifier: GPL-3.0-or-later
// The ctnetlink socket: libmnl for the socket only, messages from conntrack/netlink.h.
// Updates are pipelined: up to kSendBatchBytes of IPCTNL_MSG_CT_NEW go out in one sendmsg,
// the kernel handles them in order inside that call and queues one ack each, then we read
// the acks and match them by sequence number. libnetfilter_conntrack's nfct_query() waits
// for each answer in turn, one round trip per connection, hence libmnl here.
#include "conntrack/conntrack.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include "conntrack/netlink.h"

namespace imguard::conntrack {
namespace {

/// Bytes of update messages per sendmsg (about 400 IPv4 updates).
constexpr size_t kSendBatchBytes = 64 * 1024;
/// One recvmsg; the kernel fills dump datagrams up to the reader's buffer (at most 32 KiB
/// per datagram on current kernels), so this never truncates.
constexpr size_t kRecvBufferBytes = 8192 * 32;  // MNL_SOCKET_BUFFER_SIZE (<= 8 KiB) * 32
/// Requested socket receive buffer: every ack of a batch must fit in it, or the kernel
/// drops the rest and flags ENOBUFS.
constexpr int kSocketReceiveBytes = 8 * 1024 * 1024;
/// Receive-buffer cost of one queued ack (skb truesize of a 36-byte message, rounded up).
constexpr size_t kAckCostBytes = 1024;
/// Longest wait for the kernel's next answer; it answers inside sendmsg, so this only
/// bounds a broken kernel or a lost message.
constexpr int kReplyTimeoutMs = 5000;

std::string errno_text(int err) {
  return std::string(std::strerror(err));
}

std::string open_hint(int err) {
  switch (err) {
    case EPERM:
    case EACCES:
      return " (ctnetlink needs CAP_NET_ADMIN in this network namespace; run as root or grant "
             "the capability)";
    case EOPNOTSUPP:
    case ENOENT:
    case EPROTONOSUPPORT:
      return " (the nf_conntrack_netlink module is not available; try `modprobe "
             "nf_conntrack_netlink`)";
    default:
      return "";
  }
}

std::string update_hint(int err, const Update& u) {
  if (err == ENOSPC && u.label) {
    return " (the connection has no conntrack label extension: the kernel attaches it only "
           "at creation, while a ruleset references ct labels; see conntrack/README.md)";
  }
  return "";
}

}  // namespace

struct Conntrack::Impl {
  mnl_socket* sock = nullptr;
  uint32_t portid = 0;
  uint32_t seq = 0;
  /// Acks that fit the receive buffer; a batch never has more messages than this.
  size_t max_batch_messages = 0;
  std::vector<uint8_t> recv_buf = std::vector<uint8_t>(kRecvBufferBytes);
  std::vector<uint8_t> send_buf = std::vector<uint8_t>(kSendBatchBytes);

  ~Impl() {
    if (sock != nullptr) {
      mnl_socket_close(sock);
    }
  }

  uint32_t next_seq() {
    if (++seq == 0) {
      seq = 1;  // 0 is what unsolicited messages carry
    }
    return seq;
  }

  bool send(std::span<const uint8_t> bytes, int& err) {
    while (mnl_socket_sendto(sock, bytes.data(), bytes.size()) < 0) {
      if (errno != EINTR) {
        err = errno;
        return false;
      }
    }
    return true;
  }

  /// One datagram from the kernel, or 0 bytes and `err` (ETIMEDOUT after kReplyTimeoutMs).
  std::span<const uint8_t> receive(int& err) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kReplyTimeoutMs);
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        err = ETIMEDOUT;
        return {};
      }
      pollfd pfd{mnl_socket_get_fd(sock), POLLIN, 0};
      const int ready = poll(&pfd, 1, static_cast<int>(left.count()));
      if (ready < 0 && errno == EINTR) {
        continue;
      }
      if (ready < 0) {
        err = errno;
        return {};
      }
      if (ready == 0) {
        continue;  // the deadline check above reports it
      }
      const ssize_t n = mnl_socket_recvfrom(sock, recv_buf.data(), recv_buf.size());
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n < 0) {
        err = errno;  // ENOBUFS: the kernel dropped messages for us; ENOSPC: truncated
        return {};
      }
      return std::span<const uint8_t>(recv_buf.data(), static_cast<size_t>(n));
    }
  }
};

Conntrack::Conntrack(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Conntrack::~Conntrack() = default;

std::unique_ptr<Conntrack> Conntrack::open(std::string& error) {
  auto impl = std::make_unique<Impl>();
  impl->sock = mnl_socket_open(NETLINK_NETFILTER);
  if (impl->sock == nullptr) {
    error = "conntrack: netlink socket: " + errno_text(errno) + open_hint(errno);
    return nullptr;
  }
  if (mnl_socket_bind(impl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    error = "conntrack: netlink bind: " + errno_text(errno);
    return nullptr;
  }
  impl->portid = mnl_socket_get_portid(impl->sock);
  const int fd = mnl_socket_get_fd(impl->sock);
  // Acks carry only the request's header, not the whole request.
  const int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  // FORCE passes rmem_max with CAP_NET_ADMIN; the plain option is the fallback.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &kSocketReceiveBytes,
                 sizeof kSocketReceiveBytes) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketReceiveBytes, sizeof kSocketReceiveBytes);
  }
  int rcvbuf = 0;
  socklen_t len = sizeof rcvbuf;
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len);
  impl->max_batch_messages = std::max<size_t>(16, static_cast<size_t>(rcvbuf) / kAckCostBytes);

  // Probe with a harmless request: it needs CAP_NET_ADMIN and the ctnetlink subsystem, so
  // both failures surface here rather than at the first dump.
  const uint32_t seq = impl->next_seq();
  const size_t n = netlink::put_stats_request(impl->send_buf, seq);
  int err = 0;
  if (!impl->send(std::span(impl->send_buf).first(n), err)) {
    error = "conntrack: probe: send: " + errno_text(err) + open_hint(err);
    return nullptr;
  }
  for (;;) {
    const auto datagram = impl->receive(err);
    if (datagram.empty()) {
      error = "conntrack: probe: receive: " + errno_text(err) + open_hint(err);
      return nullptr;
    }
    netlink::MessageReader reader(datagram);
    while (auto m = reader.next()) {
      if (m->seq != seq) {
        continue;
      }
      if (const auto e = netlink::parse_error(*m)) {
        if (*e != 0) {
          error = "conntrack: probe: " + errno_text(*e) + open_hint(*e);
          return nullptr;
        }
        return std::unique_ptr<Conntrack>(new Conntrack(std::move(impl)));
      }
    }
  }
}

bool Conntrack::dump(const std::function<void(const Entry&)>& fn, std::string& error) {
  Impl& s = *impl_;
  const uint32_t seq = s.next_seq();
  // AF_UNSPEC: the kernel compares the family only when one is given, so one dump returns
  // IPv4 and IPv6 (ctnetlink_dump_table).
  const size_t n = netlink::put_dump_request(s.send_buf, AF_UNSPEC, seq);
  int err = 0;
  if (!s.send(std::span(s.send_buf).first(n), err)) {
    error = "conntrack dump: send: " + errno_text(err) + open_hint(err);
    return false;
  }
  Entry entry;
  for (;;) {
    const auto datagram = s.receive(err);
    if (datagram.empty()) {
      error =
          "conntrack dump: receive: " + errno_text(err) +
          (err == ENOBUFS ? " (socket receive buffer overrun; entries were lost, dump again)" : "");
      return false;
    }
    netlink::MessageReader reader(datagram);
    while (auto m = reader.next()) {
      if (m->seq != seq || m->portid != s.portid) {
        continue;  // a late answer to an earlier request
      }
      if (m->type == NLMSG_DONE) {
        return true;
      }
      if (m->type == NLMSG_ERROR) {
        const int e = netlink::parse_error(*m).value_or(EPROTO);
        error = "conntrack dump: " + errno_text(e) + open_hint(e);
        return false;
      }
      if (m->type == netlink::ct_type(IPCTNL_MSG_CT_NEW) &&
          netlink::parse_entry(m->bytes, entry) == netlink::ParseStatus::kEntry) {
        fn(entry);
      }
      // Malformed entries are dropped one by one; the rest of the dump stays usable.
    }
    if (reader.malformed()) {
      error = "conntrack dump: truncated netlink message from the kernel";
      return false;
    }
  }
}

UpdateStats Conntrack::update(std::span<const Update> updates) {
  Impl& s = *impl_;
  UpdateStats stats;
  const auto fail = [&stats](std::string text) {
    ++stats.failed;
    if (stats.first_error.empty()) {
      stats.first_error = std::move(text);
    }
  };
  std::vector<size_t> batch;  // update index of each message, by seq - base
  std::vector<uint8_t> answered;
  size_t next = 0;
  while (next < updates.size()) {
    batch.clear();
    size_t pos = 0;
    const uint32_t base = s.seq + 1 == 0 ? 1 : s.seq + 1;
    s.seq = base - 1;
    while (next < updates.size() && batch.size() < s.max_batch_messages &&
           s.send_buf.size() - pos >= netlink::kMaxUpdateMessageBytes) {
      const Update& u = updates[next];
      if (auto why = netlink::check(u)) {
        fail(*why);
        ++next;
        continue;
      }
      const uint32_t seq = ++s.seq;  // consecutive from base; wraps modulo 2^32
      pos += netlink::put_update(std::span(s.send_buf).subspan(pos), u, seq);
      batch.push_back(next++);
    }
    if (batch.empty()) {
      continue;
    }
    int err = 0;
    if (!s.send(std::span(s.send_buf).first(pos), err)) {
      for (size_t i = 0; i < batch.size(); ++i) {
        fail("conntrack update: send: " + errno_text(err) + open_hint(err));
      }
      continue;
    }
    answered.assign(batch.size(), 0);
    size_t outstanding = batch.size();
    while (outstanding > 0) {
      const auto datagram = s.receive(err);
      if (datagram.empty()) {
        const std::string why =
            "conntrack update: receive: " + errno_text(err) +
            (err == ENOBUFS ? " (acks lost: socket receive buffer overrun)" : "");
        stats.failed += outstanding;
        if (stats.first_error.empty()) {
          stats.first_error = why;
        }
        break;
      }
      netlink::MessageReader reader(datagram);
      while (auto m = reader.next()) {
        const uint32_t offset = m->seq - base;
        const auto e = netlink::parse_error(*m);
        if (!e || m->portid != s.portid || offset >= batch.size() || answered[offset] != 0) {
          continue;  // not an ack of this batch (a late dump part, a duplicate)
        }
        answered[offset] = 1;
        --outstanding;
        if (*e == 0) {
          ++stats.applied;
        } else if (*e == ENOENT) {
          ++stats.not_found;
          stats.missing.push_back(batch[offset]);
        } else {
          const Update& u = updates[batch[offset]];
          fail("conntrack update " + netlink::to_string(u.original) + " zone " +
               std::to_string(u.zone) + ": " + errno_text(*e) + update_hint(*e, u));
        }
      }
    }
  }
  return stats;
}

std::unique_ptr<Events> Events::open(std::string& error) {
  mnl_socket* sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (sock == nullptr) {
    error = std::string("conntrack events: ") + std::strerror(errno);
    return nullptr;
  }
  // A larger buffer rides out bursts of ending connections (a closing browser, a scan).
  const int bytes = 4 << 20;
  setsockopt(mnl_socket_get_fd(sock), SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes);
  if (mnl_socket_bind(sock, 1u << (NFNLGRP_CONNTRACK_DESTROY - 1), MNL_SOCKET_AUTOPID) < 0) {
    error = std::string("conntrack events: subscribing to connection ends: ") +
            std::strerror(errno) + " (needs CAP_NET_ADMIN and nf_conntrack_netlink)";
    mnl_socket_close(sock);
    return nullptr;
  }
  return std::unique_ptr<Events>(new Events(sock, mnl_socket_get_fd(sock)));
}

Events::~Events() {
  mnl_socket_close(static_cast<mnl_socket*>(sock_));
}

int Events::fd() const noexcept {
  return fd_;
}

size_t Events::read(const std::function<void(const Entry&)>& fn) noexcept {
  size_t n = 0;
  for (;;) {
    const ssize_t got = recv(fd_, buf_.data(), buf_.size(), MSG_DONTWAIT);
    if (got < 0) {
      if (errno == EINTR) {
        continue;
      }
      if (errno == ENOBUFS) {
        ++overruns_;
        continue;
      }
      return n;  // EAGAIN: nothing more queued
    }
    netlink::MessageReader reader(std::span<const uint8_t>(buf_.data(), static_cast<size_t>(got)));
    while (auto m = reader.next()) {
      Entry e;
      if (m->type == netlink::ct_type(IPCTNL_MSG_CT_DELETE) &&
          netlink::parse_entry(m->bytes, e) == netlink::ParseStatus::kEntry) {
        try {
          fn(e);
        } catch (...) {
          // The caller's bookkeeping failed (out of memory): drop the event, keep reading.
        }
        ++n;
      }
    }
  }
}

// The header names the columns (they differ between kernel versions); each following line
// is one CPU in hex. `entries` is the namespace's count, repeated on every line.
bool read_kernel_stats(KernelStats& out) noexcept {
  std::FILE* f = std::fopen("/proc/net/stat/nf_conntrack", "re");
  if (f == nullptr) {
    return false;
  }
  char line[1024];
  int entries = -1;
  int insert_failed = -1;
  int drop = -1;
  int early_drop = -1;
  if (std::fgets(line, sizeof line, f) != nullptr) {
    int col = 0;
    for (char* save = nullptr; char* name = strtok_r(col == 0 ? line : nullptr, " \t\n", &save);
         ++col) {
      const std::string_view n(name);
      if (n == "entries") {
        entries = col;
      } else if (n == "insert_failed") {
        insert_failed = col;
      } else if (n == "drop") {
        drop = col;
      } else if (n == "early_drop") {
        early_drop = col;
      }
    }
  }
  KernelStats sum;
  bool rows = false;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    int col = 0;
    for (char* save = nullptr; char* v = strtok_r(col == 0 ? line : nullptr, " \t\n", &save);
         ++col) {
      const uint64_t x = std::strtoull(v, nullptr, 16);
      if (col == entries) {
        sum.entries = x;
      } else if (col == insert_failed) {
        sum.insert_failed += x;
      } else if (col == drop) {
        sum.drop += x;
      } else if (col == early_drop) {
        sum.early_drop += x;
      }
    }
    rows = true;
  }
  std::fclose(f);
  if (!rows || drop < 0 || early_drop < 0 || insert_failed < 0) {
    return false;
  }
  out = sum;
  return true;
}

}  // namespace imguard::conntrack
