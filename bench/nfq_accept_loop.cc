// SPDX-License-Identifier: GPL-3.0-or-later
// The benchmark baseline: the smallest useful NFQUEUE listener. It binds one queue,
// accepts every packet without looking at it and counts. imguard's all-queued packet
// rate is measured against this loop in the same run (bench/run.sh). It talks to libmnl
// directly on purpose, so the baseline shares no code with the engine it measures.
//
//   nfq_accept_loop QUEUE [--batch N] [--mark M]
//     --batch N  answer up to N waiting packets with one NFQNL_MSG_VERDICT_BATCH
//                (default 1: one verdict message per packet)
//     --mark M   every verdict also sets the packet mark to M (e.g. 0x10000, imguard's
//                "decided: allow" with the default window): in front of imguard's own
//                ruleset it decides every connection on its first queued packet, the
//                cheapest a verdict engine can be (bench/conn_rate.sh's floor variant)
// Stops on SIGINT/SIGTERM and prints "packets=<n>" on stdout.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
#include <libnetfilter_queue/libnetfilter_queue.h>
}

namespace {

bool config(mnl_socket* nl, uint16_t queue, void (*fill)(nlmsghdr*)) {
  std::vector<char> buf(512);
  nlmsghdr* nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, queue);
  fill(nlh);
  nlh->nlmsg_flags |= NLM_F_ACK;
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
    return false;
  }
  std::vector<char> ack(8192);
  const ssize_t n = mnl_socket_recvfrom(nl, ack.data(), ack.size());
  return n > 0 && mnl_cb_run(ack.data(), static_cast<size_t>(n), 0, 0, nullptr, nullptr) >= 0;
}

void send_verdict(mnl_socket* nl, uint16_t queue, uint32_t id, int type, const long long mark) {
  char buf[128];
  nlmsghdr* nlh = nfq_nlmsg_put(buf, type, queue);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), NF_ACCEPT);
  if (mark >= 0) {
    nfq_nlmsg_verdict_put_mark(nlh, static_cast<uint32_t>(mark));
  }
  mnl_socket_sendto(nl, nlh, nlh->nlmsg_len);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: nfq_accept_loop QUEUE [--batch N] [--mark M]\n");
    return 2;
  }
  const auto queue = static_cast<uint16_t>(std::atoi(argv[1]));
  int batch = 1;
  long long mark = -1;  // none
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--batch") == 0) {
      batch = std::max(1, std::atoi(argv[i + 1]));
    } else if (std::strcmp(argv[i], "--mark") == 0) {
      mark = std::strtoll(argv[i + 1], nullptr, 0) & 0xffffffffLL;
    } else {
      std::fprintf(stderr, "nfq_accept_loop: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  const int sfd = signalfd(-1, &set, 0);

  mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
    std::perror("nfq_accept_loop: netlink");
    return 1;
  }
  int one = 1;
  mnl_socket_setsockopt(nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
  const int rcv = 16 << 20;
  setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv));
  const bool ok =
      config(nl, queue,
             [](nlmsghdr* n) { nfq_nlmsg_cfg_put_cmd(n, AF_UNSPEC, NFQNL_CFG_CMD_BIND); }) &&
      config(nl, queue,
             [](nlmsghdr* n) {
               mnl_attr_put_u32(n, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_GSO));
               mnl_attr_put_u32(n, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO));
             }) &&
      config(nl, queue,
             [](nlmsghdr* n) { nfq_nlmsg_cfg_put_params(n, NFQNL_COPY_PACKET, 0xffff); });
  if (!ok) {
    std::fprintf(stderr, "nfq_accept_loop: configuring queue %u failed: %s\n", queue,
                 std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "nfq_accept_loop: queue %u bound\n", queue);
  std::vector<char> buf(0xffff + 4096);
  unsigned long long packets = 0;
  const int fd = mnl_socket_get_fd(nl);
  for (;;) {
    pollfd p[2] = {{fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (poll(p, 2, -1) < 0 && errno != EINTR) {
      break;
    }
    if ((p[1].revents & POLLIN) != 0) {
      break;
    }
    uint32_t last = 0;
    int pending = 0;
    for (int i = 0; i < batch; ++i) {
      const ssize_t n = recv(fd, buf.data(), buf.size(), i == 0 ? 0 : MSG_DONTWAIT);
      if (n <= 0) {
        break;
      }
      const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data());
      nlattr* attr[NFQA_MAX + 1] = {};
      if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) {
        continue;
      }
      const auto* ph =
          static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
      last = ntohl(ph->packet_id);
      ++packets;
      ++pending;
      if (batch == 1) {
        send_verdict(nl, queue, last, NFQNL_MSG_VERDICT, mark);
        pending = 0;
      }
    }
    if (pending > 0) {
      send_verdict(nl, queue, last, NFQNL_MSG_VERDICT_BATCH, mark);
    }
  }
  config(nl, queue, [](nlmsghdr* n) { nfq_nlmsg_cfg_put_cmd(n, AF_UNSPEC, NFQNL_CFG_CMD_UNBIND); });
  mnl_socket_close(nl);
  std::printf("packets=%llu\n", packets);
  return 0;
}
