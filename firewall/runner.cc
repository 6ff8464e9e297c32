// SPDX-License-Identifier: GPL-3.0-or-later
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>

#include "firewall/firewall.h"

namespace imguard::firewall {

namespace {

/// Where the firewall tools may live. The inherited PATH is never consulted: a daemon
/// running as root must not run whatever `nft` comes first in someone's PATH.
constexpr const char* kToolDirs[] = {"/usr/sbin", "/sbin", "/usr/bin", "/bin"};
/// The environment the tools get: nothing inherited.
constexpr const char* kToolEnv[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", nullptr};
/// A tool that takes longer is killed: a hung nft must not make SIGTERM ineffective.
constexpr int kToolTimeoutMs = 15000;

/// The absolute path of tool `name` in kToolDirs, "" when none is executable.
std::string find_tool(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    return access(name.c_str(), X_OK) == 0 ? name : "";
  }
  for (const char* dir : kToolDirs) {
    std::string path = std::string(dir) + "/" + name;
    if (access(path.c_str(), X_OK) == 0) {
      return path;
    }
  }
  return "";
}

/// posix_spawn without a shell, by absolute path, with a clean environment, default
/// signal dispositions and an empty signal mask (the daemon blocks SIGHUP/SIGTERM/SIGINT
/// for its signalfd; a child must not inherit that), and a timeout. stdin is fed from a
/// string, stdout+stderr are captured together.
class SystemRunner final : public Runner {
 public:
  SystemRunner() = default;
  ~SystemRunner() override {
    if (nl_ >= 0) {
      close(nl_);
    }
  }
  SystemRunner(const SystemRunner&) = delete;
  SystemRunner& operator=(const SystemRunner&) = delete;

  /// One NFT_MSG_GETGEN request on a netlink socket kept open between calls; the answer
  /// (NFT_MSG_NEWGEN) carries NFTA_GEN_ID. Bounded: a 1 s receive timeout, one datagram.
  std::optional<uint32_t> ruleset_generation() override {
    if (nl_ < 0) {
      nl_ = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
      if (nl_ < 0) {
        return std::nullopt;
      }
      const timeval tv{.tv_sec = 1, .tv_usec = 0};
      setsockopt(nl_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    struct {
      nlmsghdr nh;
      nfgenmsg nf;
    } req{};
    req.nh.nlmsg_len = sizeof req;
    req.nh.nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN);
    req.nh.nlmsg_flags = NLM_F_REQUEST;
    req.nh.nlmsg_seq = ++seq_;
    req.nf.nfgen_family = AF_UNSPEC;
    req.nf.version = NFNETLINK_V0;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(nl_, &req, sizeof req, 0, reinterpret_cast<const sockaddr*>(&kernel),
               sizeof kernel) != static_cast<ssize_t>(sizeof req)) {
      return std::nullopt;
    }
    alignas(nlmsghdr) char buf[512];
    for (int tries = 0; tries < 4; ++tries) {  // skip stale answers to earlier requests
      const ssize_t n = recv(nl_, buf, sizeof buf, 0);
      if (n < static_cast<ssize_t>(sizeof(nlmsghdr) + sizeof(nfgenmsg))) {
        return std::nullopt;
      }
      const auto* nh = reinterpret_cast<const nlmsghdr*>(buf);
      if (nh->nlmsg_len > static_cast<size_t>(n) || nh->nlmsg_seq != seq_) {
        continue;
      }
      if (nh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) {
        return std::nullopt;  // an error answer (e.g. no CAP_NET_ADMIN)
      }
      return gen_id(buf + sizeof(nlmsghdr) + sizeof(nfgenmsg), buf + nh->nlmsg_len);
    }
    return std::nullopt;
  }

  Output run(const std::vector<std::string>& argv, const std::string& stdin_text) override {
    Output out;
    if (argv.empty()) {
      out.text = "no program given";
      return out;
    }
    const std::string program = find_tool(argv[0]);
    if (program.empty()) {
      out.text = argv[0] + ": not found in /usr/sbin, /sbin, /usr/bin or /bin";
      return out;
    }
    int in_pipe[2];
    int out_pipe[2];
    if (pipe2(in_pipe, O_CLOEXEC) != 0) {
      out.text = std::string("pipe: ") + std::strerror(errno);
      return out;
    }
    if (pipe2(out_pipe, O_CLOEXEC) != 0) {
      out.text = std::string("pipe: ") + std::strerror(errno);
      close(in_pipe[0]);
      close(in_pipe[1]);
      return out;
    }
    std::vector<char*> args;
    for (const std::string& a : argv) {
      args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    // posix_spawn rather than fork: safe in a multi-threaded daemon (nothing runs in a
    // forked copy of our address space) and it reports a failed exec as an error code.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDERR_FILENO);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigfillset(&defaults);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, program.c_str(), &actions, &attr, args.data(),
                               const_cast<char* const*>(kToolEnv));
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (rc != 0) {
      out.text = argv[0] + ": " + std::strerror(rc);
      close(in_pipe[1]);
      close(out_pipe[0]);
      return out;
    }
    const bool finished = pump(in_pipe[1], out_pipe[0], stdin_text, out.text);
    if (!finished) {
      kill(pid, SIGKILL);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (!finished) {
      out.text += "\n(killed after " + std::to_string(kToolTimeoutMs / 1000) + " s)";
      out.exit_code = out.exit_code == 0 ? 124 : out.exit_code;
    }
    return out;
  }

 private:
  /// Writes `input` and reads the output at the same time so neither pipe can fill up.
  /// False when the tool did not finish (close its output) within kToolTimeoutMs.
  static bool pump(int in_fd, int out_fd, const std::string& input, std::string& output) {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(kToolTimeoutMs);
    bool finished = true;
    size_t written = 0;
    if (input.empty()) {
      close(in_fd);
      in_fd = -1;
    }
    char buf[4096];
    while (true) {
      pollfd fds[2] = {{out_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
      const nfds_t n = in_fd >= 0 ? 2 : 1;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        finished = false;
        break;
      }
      const int ready = poll(fds, n, static_cast<int>(left.count()));
      if (ready < 0) {
        if (errno == EINTR) {
          continue;
        }
        break;
      }
      if (ready == 0) {
        finished = false;
        break;
      }
      if (in_fd >= 0 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
        const ssize_t w = write(in_fd, input.data() + written, input.size() - written);
        if (w > 0) {
          written += static_cast<size_t>(w);
        }
        if (w < 0 || written == input.size()) {
          close(in_fd);
          in_fd = -1;
        }
      }
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
        const ssize_t r = read(out_fd, buf, sizeof buf);
        if (r <= 0) {
          break;
        }
        output.append(buf, static_cast<size_t>(r));
      }
    }
    if (in_fd >= 0) {
      close(in_fd);
    }
    close(out_fd);
    return finished;
  }

  /// NFTA_GEN_ID (big-endian u32) among the attributes in [p, end).
  static std::optional<uint32_t> gen_id(const char* p, const char* end) noexcept {
    while (end - p >= static_cast<ptrdiff_t>(sizeof(nlattr))) {
      nlattr a;
      std::memcpy(&a, p, sizeof a);
      if (a.nla_len < sizeof(nlattr) || a.nla_len > end - p) {
        return std::nullopt;
      }
      if ((a.nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && a.nla_len >= sizeof(nlattr) + 4) {
        uint32_t be;
        std::memcpy(&be, p + sizeof(nlattr), sizeof be);  // NLA_HDRLEN: 4, aligned
        return ntohl(be);
      }
      const size_t step = (a.nla_len + 3u) & ~size_t{3};  // NLA_ALIGN
      if (step > static_cast<size_t>(end - p)) {
        return std::nullopt;
      }
      p += step;
    }
    return std::nullopt;
  }

  int nl_ = -1;
  uint32_t seq_ = 0;
};

}  // namespace

std::unique_ptr<Runner> system_runner() {
  // A reader that exits early must not kill the caller with SIGPIPE; writes then fail
  // with EPIPE instead, which pump() handles.
  signal(SIGPIPE, SIG_IGN);
  return std::make_unique<SystemRunner>();
}

}  // namespace imguard::firewall
