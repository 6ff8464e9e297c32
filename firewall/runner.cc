// SPDX-License-Identifier: GPL-3.0-or-later
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "firewall/firewall.h"

namespace imguard::firewall {

namespace {

/// posix_spawnp without a shell; stdin fed from a string, stdout+stderr captured together.
class SystemRunner final : public Runner {
 public:
  Output run(const std::vector<std::string>& argv, const std::string& stdin_text) override {
    Output out;
    if (argv.empty()) {
      out.text = "no program given";
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
    pid_t pid = -1;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (rc != 0) {
      out.text = argv[0] + ": " + std::strerror(rc);
      close(in_pipe[1]);
      close(out_pipe[0]);
      return out;
    }
    pump(in_pipe[1], out_pipe[0], stdin_text, out.text);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return out;
  }

 private:
  /// Writes `input` and reads the output at the same time so neither pipe can fill up.
  static void pump(int in_fd, int out_fd, const std::string& input, std::string& output) {
    size_t written = 0;
    if (input.empty()) {
      close(in_fd);
      in_fd = -1;
    }
    char buf[4096];
    while (true) {
      pollfd fds[2] = {{out_fd, POLLIN, 0}, {in_fd, POLLOUT, 0}};
      const nfds_t n = in_fd >= 0 ? 2 : 1;
      if (poll(fds, n, -1) < 0) {
        if (errno == EINTR) {
          continue;
        }
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
  }
};

}  // namespace

std::unique_ptr<Runner> system_runner() {
  // A reader that exits early must not kill the caller with SIGPIPE; writes then fail
  // with EPIPE instead, which pump() handles.
  signal(SIGPIPE, SIG_IGN);
  return std::make_unique<SystemRunner>();
}

}  // namespace imguard::firewall
