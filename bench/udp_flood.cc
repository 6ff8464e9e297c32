// SPDX-License-Identifier: GPL-3.0-or-later
// Small-packet load for bench/run.sh: sends 64-byte UDP datagrams from one socket (one
// flow) to HOST:PORT as fast as sendmmsg allows, for SECONDS. Prints "sent=<n>".
//
//   udp_flood HOST PORT SECONDS
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: udp_flood HOST PORT SECONDS\n");
    return 2;
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(std::atoi(argv[2])));
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
    std::fprintf(stderr, "udp_flood: bad IPv4 address '%s'\n", argv[1]);
    return 2;
  }
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) != 0) {
    std::perror("udp_flood: socket");
    return 1;
  }
  constexpr size_t kBatch = 64;
  std::array<char, 64> payload{};
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  for (size_t i = 0; i < kBatch; ++i) {
    iov[i] = {payload.data(), payload.size()};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[3]));
  unsigned long long sent = 0;
  while (std::chrono::steady_clock::now() < end) {
    const int n = sendmmsg(fd, msgs.data(), kBatch, 0);
    if (n > 0) {
      sent += static_cast<unsigned>(n);
    }
  }
  std::printf("sent=%llu\n", sent);
  close(fd);
  return 0;
}
