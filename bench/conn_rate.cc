// SPDX-License-Identifier: GPL-3.0-or-later
// Short-connection load for bench/conn_rate.sh: many fresh TCP connections, each
// connect, 32 bytes each way, close (the server closes first, so the client keeps no
// TIME_WAIT and its ports are reused; conntrack reopens the old entry).
//
//   conn_rate serve PORT THREADS
//       one SO_REUSEPORT listener per thread; reads the request, answers 32 bytes, closes.
//   conn_rate client HOST PORT SECONDS THREADS
//       THREADS loops of back-to-back connections for SECONDS; prints
//       "conns=<n> per_s=<r> failed=<n> p50_us=<n> p99_us=<n>", the latency being connect()
//       to the first reply byte.
//   conn_rate latency HOST PORT COUNT
//       COUNT connections one after the other (no load), same line.
// The request is a 32-byte HTTP GET, so a classifier can name it on its first segment.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <thread>
#include <vector>

namespace {

constexpr std::string_view kRequest = "GET / HTTP/1.1\r\nHost: bench1\r\n\r\n";
constexpr std::string_view kReply = "HTTP/1.1 204 No Content\r\nX: \r\n\r\n";
static_assert(kRequest.size() == 32 && kReply.size() == 32);
constexpr int kMaxSamplesPerThread = 1 << 20;

using Clock = std::chrono::steady_clock;

bool parse_addr(const char* host, const char* port, sockaddr_in& out) {
  out = {};
  out.sin_family = AF_INET;
  out.sin_port = htons(static_cast<uint16_t>(std::atoi(port)));
  return inet_pton(AF_INET, host, &out.sin_addr) == 1;
}

int serve(const char* port_text, int threads) {
  const auto port = static_cast<uint16_t>(std::atoi(port_text));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 4096) != 0) {
      std::perror("conn_rate serve: bind/listen");
      return 1;
    }
    pool.emplace_back([fd] {
      char buf[512];
      for (;;) {
        const int c = accept(fd, nullptr, nullptr);
        if (c < 0) {
          continue;
        }
        timeval tv{2, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (recv(c, buf, sizeof buf, 0) > 0) {
          [[maybe_unused]] const ssize_t n = send(c, kReply.data(), kReply.size(), MSG_NOSIGNAL);
        }
        close(c);
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  return 0;
}

/// One connection; its connect-to-first-byte time in microseconds, or -1.
long one_connection(const sockaddr_in& to) {
  const auto start = Clock::now();
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return -1;
  }
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  long us = -1;
  char buf[64];
  if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0 &&
      send(fd, kRequest.data(), kRequest.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(kRequest.size()) &&
      recv(fd, buf, sizeof buf, 0) > 0) {
    us = static_cast<long>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
    while (recv(fd, buf, sizeof buf, 0) > 0) {  // until the server's FIN
    }
  }
  close(fd);
  return us;
}

void report(std::vector<long>& samples, long failed, double seconds) {
  std::sort(samples.begin(), samples.end());
  const size_t n = samples.size();
  const long p50 = n ? samples[n / 2] : 0;
  const long p99 = n ? samples[std::min(n - 1, n * 99 / 100)] : 0;
  std::printf("conns=%zu per_s=%.0f failed=%ld p50_us=%ld p99_us=%ld\n", n,
              seconds > 0 ? static_cast<double>(n) / seconds : 0.0, failed, p50, p99);
}

int client(const sockaddr_in& to, double seconds, int threads) {
  std::vector<std::vector<long>> per(static_cast<size_t>(threads));
  std::atomic<long> failed{0};
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  const auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      auto& mine = per[static_cast<size_t>(t)];
      mine.reserve(1 << 16);
      while (Clock::now() < end && mine.size() < kMaxSamplesPerThread) {
        const long us = one_connection(to);
        if (us < 0) {
          ++failed;
        } else {
          mine.push_back(us);
        }
      }
    });
  }
  for (auto& t : pool) {
    t.join();
  }
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<long> all;
  for (auto& v : per) {
    all.insert(all.end(), v.begin(), v.end());
  }
  report(all, failed.load(), took);
  return 0;
}

int latency(const sockaddr_in& to, int count) {
  std::vector<long> samples;
  long failed = 0;
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    const long us = one_connection(to);
    if (us < 0) {
      ++failed;
    } else {
      samples.push_back(us);
    }
  }
  report(samples, failed, std::chrono::duration<double>(Clock::now() - start).count());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  sockaddr_in to{};
  if (mode == "serve" && argc == 4) {
    return serve(argv[2], std::max(1, std::atoi(argv[3])));
  }
  if ((mode == "client" && argc == 6) || (mode == "latency" && argc == 5)) {
    if (!parse_addr(argv[2], argv[3], to)) {
      std::fprintf(stderr, "conn_rate: bad IPv4 address '%s'\n", argv[2]);
      return 2;
    }
    if (mode == "latency") {
      return latency(to, std::max(1, std::atoi(argv[4])));
    }
    return client(to, std::atof(argv[4]), std::max(1, std::atoi(argv[5])));
  }
  std::fprintf(stderr,
               "usage: conn_rate serve PORT THREADS | client HOST PORT SECONDS THREADS | "
               "latency HOST PORT COUNT\n");
  return 2;
}
