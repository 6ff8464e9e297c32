// SPDX-License-Identifier: GPL-3.0-or-later
#include "nfq/queue.h"

#include "nfq/message.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace imguard::nfq {
namespace {

// A netlink message carries at most copy_bytes of packet plus headers and attributes.
constexpr size_t kMessageOverhead = 4096;
// The kernel charges roughly a page per queued packet message (skb truesize), so the
// receive buffer is sized per queue slot; clamped to keep a huge max_len sane.
constexpr size_t kRcvBytesPerSlot = 4096;
constexpr size_t kMinRcvBytes = size_t{1} << 20;
constexpr size_t kMaxRcvBytes = size_t{256} << 20;
constexpr int kAckTimeoutMs = 2000;
constexpr size_t kVerdictMsgBytes = 128;  // one verdict (+mark) message, aligned, with slack
constexpr size_t kConfigMsgBytes = 512;

std::string errno_text(int err) {
  return std::string(std::strerror(err));
}

/// `out = make()`; when building the message runs out of memory, a fixed text short enough
/// for the string's inline buffer (no allocation). For the error paths of noexcept code.
template <typename Make>
void set_error_text(std::string& out, Make&& make) noexcept {
  try {
    out = make();
  } catch (...) {
    out = "out of memory";
  }
}

// Monotonic: flow idle expiry runs on these times, and a wall clock stepped back an hour
// (NTP, an admin) must not stall it. Wall-clock times for logs and events come from the
// control thread.
std::chrono::microseconds now_us() noexcept {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_nsec / 1000);
}

// libmnl's callback for each received message: a shim into the queue, nothing else.
int on_message_shim(const nlmsghdr* nlh, void* data);

struct MessageContext {
  Queue* queue;
  PacketHandler* handler;
};

}  // namespace

Queue::Queue(mnl_socket* sock, const QueueOptions& options) : sock_(sock), options_(options) {}

std::unique_ptr<Queue> Queue::open(const QueueOptions& options, std::string& error) {
  mnl_socket* sock = mnl_socket_open(NETLINK_NETFILTER);
  if (sock == nullptr) {
    error = "netlink socket: " + errno_text(errno) + " (needs CAP_NET_ADMIN; run as root)";
    return nullptr;
  }
  auto q = std::unique_ptr<Queue>(new Queue(sock, options));
  if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
    error = "netlink bind: " + errno_text(errno);
    return nullptr;
  }
  q->portid_ = mnl_socket_get_portid(sock);
  q->slot_bytes_ = std::max<size_t>(options.copy_bytes, 1500) + kMessageOverhead;
  q->recv_buf_.resize(q->slot_bytes_);
  q->send_buf_.resize(kVerdictMsgBytes * (std::max<uint32_t>(options.batch, 1) + 2));
  if (!q->configure(error)) {
    return nullptr;
  }
  q->proc_ = std::fopen("/proc/net/netfilter/nfnetlink_queue", "re");
  return q;
}

Queue::~Queue() {
  if (bound_) {
    std::vector<uint8_t> msg(kConfigMsgBytes);
    nlmsghdr* nlh =
        nfq_nlmsg_put(reinterpret_cast<char*>(msg.data()), NFQNL_MSG_CONFIG, options_.queue_num);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND);
    msg.resize(nlh->nlmsg_len);
    std::string ignored;
    request("unbind", msg, ignored);
  }
  mnl_socket_close(sock_);
  if (proc_ != nullptr) {
    std::fclose(proc_);
  }
}

int Queue::request(const char* what, const std::vector<uint8_t>& msg, std::string& error) {
  std::vector<uint8_t> out(msg);
  auto* nlh = reinterpret_cast<nlmsghdr*>(out.data());
  nlh->nlmsg_flags |= NLM_F_ACK;
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(sock_, out.data(), out.size()) < 0) {
    error = std::string(what) + ": send: " + errno_text(errno);
    return errno != 0 ? errno : EIO;
  }
  std::vector<uint8_t> buf(slot_bytes_);
  const int fd = mnl_socket_get_fd(sock_);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const int ready = poll(&p, 1, kAckTimeoutMs);
    if (ready <= 0) {
      error = std::string(what) + ": no answer from the kernel within 2 s";
      return ETIMEDOUT;
    }
    const ssize_t n = recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR || errno == ENOBUFS) {
        continue;
      }
      error = std::string(what) + ": receive: " + errno_text(errno);
      return errno;
    }
    // Packets may already flow (e.g. when unbinding): skip everything but our answer.
    int len = static_cast<int>(n);
    for (auto* m = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(m, len);
         m = mnl_nlmsg_next(m, &len)) {
      if (m->nlmsg_type != NLMSG_ERROR || m->nlmsg_seq != seq_) {
        continue;
      }
      const auto* e = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(m));
      if (e->error != 0) {
        error = std::string(what) + ": " + errno_text(-e->error);
      }
      return -e->error;
    }
  }
}

bool Queue::configure(std::string& error) {
  const int fd = mnl_socket_get_fd(sock_);
  int one = 1;
  // Overruns are counted by the kernel (queue_user_dropped) instead of breaking recv().
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
  const size_t want =
      std::clamp(size_t{options_.max_len} * kRcvBytesPerSlot, kMinRcvBytes, kMaxRcvBytes);
  const int rcv = static_cast<int>(want);
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
  }

  auto make = [&](auto fill) {
    std::vector<uint8_t> msg(kConfigMsgBytes);
    nlmsghdr* nlh =
        nfq_nlmsg_put(reinterpret_cast<char*>(msg.data()), NFQNL_MSG_CONFIG, options_.queue_num);
    fill(nlh);
    msg.resize(nlh->nlmsg_len);
    return msg;
  };
  const std::string qname = "queue " + std::to_string(options_.queue_num);

  auto bind_msg =
      make([](nlmsghdr* n) { nfq_nlmsg_cfg_put_cmd(n, AF_UNSPEC, NFQNL_CFG_CMD_BIND); });
  if (const int err = request("bind", bind_msg, error); err != 0) {
    error = qname + ": " + error +
            (err == EBUSY ? " (another process, maybe another imguard, owns this queue)" : "");
    return false;
  }
  bound_ = true;

  // Each optional flag goes alone: a refused flag in a combined message would leave the
  // queue half configured (and, for CONNTRACK, dropping every packet).
  auto flag = [&](uint32_t bit) {
    return make([bit](nlmsghdr* n) {
      mnl_attr_put_u32(n, NFQA_CFG_FLAGS, htonl(bit));
      mnl_attr_put_u32(n, NFQA_CFG_MASK, htonl(bit));
    });
  };
  std::string ignored;
  caps_.gso = request("flag GSO", flag(NFQA_CFG_F_GSO), ignored) == 0;
  if (options_.owner == Owner::kRequest) {
    caps_.uid_gid = request("flag UID_GID", flag(NFQA_CFG_F_UID_GID), ignored) == 0;
  }
  if (options_.when_full == WhenFull::kAccept) {
    if (const int err = request("flag FAIL_OPEN", flag(NFQA_CFG_F_FAIL_OPEN), error); err != 0) {
      error = qname + ": " + error + " (configured to accept when the queue is full)";
      return false;
    }
    caps_.fail_open = true;
  }
  caps_.conntrack_errno = request("flag CONNTRACK", flag(NFQA_CFG_F_CONNTRACK), ignored);
  caps_.conntrack = caps_.conntrack_errno == 0;
  if (caps_.conntrack) {
    // Not used yet: the mark path works everywhere. Switch it back off so the kernel does
    // not attach conntrack attributes to every message.
    auto off = make([](nlmsghdr* n) {
      mnl_attr_put_u32(n, NFQA_CFG_FLAGS, htonl(0));
      mnl_attr_put_u32(n, NFQA_CFG_MASK, htonl(NFQA_CFG_F_CONNTRACK));
    });
    request("flag CONNTRACK off", off, ignored);
  }
  auto maxlen = make([&](nlmsghdr* n) { nfq_nlmsg_cfg_put_qmaxlen(n, options_.max_len); });
  if (request("queue maxlen", maxlen, error) != 0) {
    error = qname + ": " + error;
    return false;
  }
  // Last: until the copy mode is set the kernel refuses to queue, so no packet can arrive
  // while the acknowledgements above are read.
  auto params = make([&](nlmsghdr* n) {
    nfq_nlmsg_cfg_put_params(n, NFQNL_COPY_PACKET, static_cast<int>(options_.copy_bytes));
  });
  if (request("copy mode", params, error) != 0) {
    error = qname + ": " + error;
    return false;
  }
  return true;
}

void Queue::handle_message(PacketHandler& handler, const uint8_t* buf, size_t len) noexcept {
  MessageContext ctx{this, &handler};
  const int rc = mnl_cb_run(buf, len, 0, portid_, on_message_shim, &ctx);
  if (rc < 0) {
    ++stats_.kernel_errors;  // an NLMSG_ERROR answer to a verdict (or a malformed message)
  }
}

namespace {

nlmsghdr* put_verdict(uint8_t* at, uint16_t queue_num, uint32_t id, const Verdict& v) noexcept {
  nlmsghdr* nlh = nfq_nlmsg_put(reinterpret_cast<char*>(at), NFQNL_MSG_VERDICT, queue_num);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id),
                        v.action == Verdict::Action::kAccept ? NF_ACCEPT : NF_DROP);
  if (v.mark) {
    nfq_nlmsg_verdict_put_mark(nlh, *v.mark);
  }
  return nlh;
}

}  // namespace

void Queue::close_run() noexcept {
  if (!run_) {
    return;
  }
  if (send_len_ + kVerdictMsgBytes > send_buf_.size()) {
    send_pending();
  }
  nlmsghdr* nlh = nullptr;
  if (run_->count == 1) {
    nlh =
        put_verdict(send_buf_.data() + send_len_, options_.queue_num, run_->last_id, run_->verdict);
    ++stats_.verdicts;
  } else {
    // The batch verdict carries the mark too: the kernel applies verdict and mark to every
    // packet still pending up to last_id, which after the runs before it is this run.
    nlh = nfq_nlmsg_put(reinterpret_cast<char*>(send_buf_.data() + send_len_),
                        NFQNL_MSG_VERDICT_BATCH, options_.queue_num);
    nfq_nlmsg_verdict_put(nlh, static_cast<int>(run_->last_id),
                          run_->verdict.action == Verdict::Action::kAccept ? NF_ACCEPT : NF_DROP);
    if (run_->verdict.mark) {
      nfq_nlmsg_verdict_put_mark(nlh, *run_->verdict.mark);
    }
    ++stats_.batch_verdicts;
    stats_.batched_packets += run_->count;
  }
  send_len_ += NLMSG_ALIGN(nlh->nlmsg_len);
  run_.reset();
}

void Queue::send_pending() noexcept {
  if (send_len_ == 0) {
    return;
  }
  while (mnl_socket_sendto(sock_, send_buf_.data(), send_len_) < 0) {
    if (errno != EINTR) {
      ++stats_.send_errors;
      break;
    }
  }
  send_len_ = 0;
}

void Queue::flush_verdicts() noexcept {
  close_run();
  send_pending();
}

int Queue::receive_batch(PacketHandler& handler, Wait wait) noexcept {
  const int fd = mnl_socket_get_fd(sock_);
  const uint32_t slots = std::max<uint32_t>(options_.batch, 1);
  int got = 0;
  for (uint32_t i = 0; i < slots; ++i) {
    // Block only for the first datagram; take the rest that are already waiting.
    const int flags = (i == 0 && wait == Wait::kBlock) ? 0 : MSG_DONTWAIT;
    uint8_t* slot = recv_buf_.data();  // each datagram is answered before the next is read
    const ssize_t n = recv(fd, slot, recv_buf_.size(), flags | MSG_TRUNC);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        break;
      }
      ++(errno == ENOBUFS ? stats_.enobufs : stats_.recv_errors);
      if (errno == ENOBUFS) {
        continue;
      }
      const int err = errno;
      set_error_text(error_, [&] {
        return "queue " + std::to_string(options_.queue_num) + ": receive: " + errno_text(err);
      });
      flush_verdicts();
      return -1;
    }
    if (static_cast<size_t>(n) > recv_buf_.size()) {
      ++stats_.truncated;  // cannot happen with copy_bytes + overhead slots; counted anyway
      continue;
    }
    handle_message(handler, slot, static_cast<size_t>(n));
    ++got;
  }
  if (got > 0) {
    ++stats_.recv_batches;
  }
  flush_verdicts();
  return got;
}

bool Queue::run(PacketHandler& handler, int stop_fd) noexcept {
  const int fd = mnl_socket_get_fd(sock_);
  for (;;) {
    pollfd p[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    const int ready = poll(p, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      set_error_text(error_, [&] { return "poll: " + errno_text(err); });
      return false;
    }
    if ((p[1].revents & POLLIN) != 0) {
      break;
    }
    if ((p[0].revents & POLLIN) != 0 && receive_batch(handler, Wait::kDrain) < 0) {
      return false;
    }
  }
  // Stopping: answer everything the kernel already handed us before the queue is unbound.
  while (receive_batch(handler, Wait::kDrain) > 0) {
  }
  return true;
}

void Queue::read_kernel_counters() noexcept {
  std::FILE* f = proc_;
  if (f == nullptr) {
    return;
  }
  std::rewind(f);  // a seq_file: reading from offset 0 again gives the current counters
  unsigned qnum = 0;
  unsigned portid = 0;
  unsigned total = 0;
  unsigned mode = 0;
  unsigned range = 0;
  unsigned long long dropped = 0;
  unsigned long long user_dropped = 0;
  unsigned long long idseq = 0;
  unsigned one = 0;
  while (std::fscanf(f, "%u %u %u %u %u %llu %llu %llu %u", &qnum, &portid, &total, &mode, &range,
                     &dropped, &user_dropped, &idseq, &one) == 9) {
    if (qnum == options_.queue_num) {
      stats_.kernel_queue_dropped = dropped;
      stats_.kernel_user_dropped = user_dropped;
    }
  }
}

namespace {
int on_message_shim(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<MessageContext*>(data);
  return ctx->queue->on_packet_message(*ctx->handler, nlh);  // noexcept: nothing escapes
}
}  // namespace

MessageParse parse_packet_message(const nlmsghdr* nlh, Packet& pkt, bool& truncated) noexcept {
  if (NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET) {
    return MessageParse::kOther;
  }
  nlattr* attr[NFQA_MAX + 1] = {};
  if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) {
    return MessageParse::kMalformed;
  }
  const auto* hdr =
      static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
  pkt.id = ntohl(hdr->packet_id);
  if (attr[NFQA_PAYLOAD] != nullptr) {
    pkt.l3 = {static_cast<const uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD])),
              mnl_attr_get_payload_len(attr[NFQA_PAYLOAD])};
  }
  truncated = attr[NFQA_CAP_LEN] != nullptr;
  if (attr[NFQA_MARK] != nullptr) {
    pkt.mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
  }
  if (attr[NFQA_UID] != nullptr) {
    pkt.uid = ntohl(mnl_attr_get_u32(attr[NFQA_UID]));
  }
  if (attr[NFQA_GID] != nullptr) {
    pkt.gid = ntohl(mnl_attr_get_u32(attr[NFQA_GID]));
  }
  if (attr[NFQA_HWADDR] != nullptr &&
      mnl_attr_get_payload_len(attr[NFQA_HWADDR]) >= sizeof(nfqnl_msg_packet_hw)) {
    const auto* hw =
        static_cast<const nfqnl_msg_packet_hw*>(mnl_attr_get_payload(attr[NFQA_HWADDR]));
    if (ntohs(hw->hw_addrlen) == 6) {
      std::array<uint8_t, 6> mac{};
      std::memcpy(mac.data(), hw->hw_addr, mac.size());
      pkt.src_mac = mac;
    }
  }
  pkt.inbound = attr[NFQA_IFINDEX_INDEV] != nullptr;
  return MessageParse::kPacket;
}

int Queue::on_packet_message(PacketHandler& handler, const nlmsghdr* nlh) noexcept {
  Packet pkt;
  bool truncated = false;
  switch (parse_packet_message(nlh, pkt, truncated)) {
    case MessageParse::kOther:
      return MNL_CB_OK;
    case MessageParse::kMalformed:
      ++stats_.recv_errors;
      return MNL_CB_OK;
    case MessageParse::kPacket:
      break;
  }
  pkt.ts = now_us();
  if (truncated) {
    ++stats_.truncated;
  }
  ++stats_.packets;
  const Verdict v = handler.on_packet(pkt);
  if (run_ && run_->verdict == v) {
    run_->last_id = pkt.id;
    ++run_->count;
    return MNL_CB_OK;
  }
  close_run();
  run_ = Run{v, pkt.id, 1};
  return MNL_CB_OK;
}

}  // namespace imguard::nfq
