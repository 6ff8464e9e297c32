// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/control.h"

#include <grp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace imguard::engine {

namespace {

constexpr size_t kMaxRequest = 4096;
constexpr int kClientTimeoutMs = 2000;

bool fill_address(const std::string& path, sockaddr_un& addr) {
  std::memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) {
    return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

/// Waits for `events` on `fd` until `deadline`; false on timeout or error.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return false;
    }
    pollfd p{fd, events, 0};
    const int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r > 0) {
      return true;
    }
    if (r < 0 && errno != EINTR) {
      return false;
    }
  }
}

bool write_all(int fd, const std::string& s, std::chrono::steady_clock::time_point deadline) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t w = send(fd, s.data() + done, s.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      done += static_cast<size_t>(w);
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) {
        return false;
      }
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace

std::unique_ptr<ControlServer> ControlServer::open(const std::string& path, std::string& error) {
  sockaddr_un addr{};
  if (!fill_address(path, addr)) {
    error = "control socket path \"" + path + "\" is empty or too long";
    return nullptr;
  }
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    const std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
      error = "cannot create " + dir + ": " + std::strerror(errno);
      return nullptr;
    }
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    error = std::string("control socket: ") + std::strerror(errno);
    return nullptr;
  }
  // A socket file left by a crashed daemon: replace it, unless another daemon answers.
  std::string probe;
  if (control_request(path, "ping", probe, 200)) {
    close(fd);
    error = "another imguard already answers on " + path + " (stop it, or give --control PATH)";
    return nullptr;
  }
  unlink(path.c_str());
  const mode_t old = umask(0117);
  const int rc = bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc != 0 || listen(fd, 16) != 0) {
    error = "control socket " + path + ": " + std::strerror(errno);
    close(fd);
    return nullptr;
  }
  // Group-restricted: members of the `imguard` group (when it exists) may ask.
  group gr{};
  group* found = nullptr;
  char buf[4096];
  struct stat st {};
  if (getgrnam_r("imguard", &gr, buf, sizeof buf, &found) == 0 && found != nullptr &&
      stat(path.c_str(), &st) == 0 && st.st_gid != found->gr_gid) {
    // Under the unit the daemon runs as group imguard and the socket already is; chown
    // is needed (and allowed) only when it runs as root.
    if (chown(path.c_str(), static_cast<uid_t>(-1), found->gr_gid) != 0) {
      error = "control socket " + path + ": chgrp imguard: " + std::strerror(errno);
      close(fd);
      unlink(path.c_str());
      return nullptr;
    }
  }
  return std::unique_ptr<ControlServer>(new ControlServer(fd, path));
}

ControlServer::~ControlServer() {
  close(fd_);
  unlink(path_.c_str());
}

void ControlServer::serve_one(
    const std::function<std::string(const std::string&)>& handler) noexcept {
  const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (c < 0) {
    return;
  }
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(kClientTimeoutMs);
  std::string request;
  char buf[512];
  while (request.find('\n') == std::string::npos && request.size() < kMaxRequest) {
    const ssize_t r = recv(c, buf, sizeof buf, 0);
    if (r > 0) {
      request.append(buf, static_cast<size_t>(r));
    } else if (r == 0) {
      break;
    } else if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(c, POLLIN, deadline)) {
        break;
      }
    } else {
      break;
    }
  }
  if (const size_t nl = request.find('\n'); nl != std::string::npos) {
    request.resize(nl);
  }
  try {
    write_all(c, handler(request), deadline);
  } catch (...) {
    write_all(c, "error\ninternal error\n", deadline);
  }
  close(c);
}

bool control_request(const std::string& path, const std::string& request, std::string& reply,
                     int timeout_ms) {
  reply.clear();
  sockaddr_un addr{};
  if (!fill_address(path, addr)) {
    reply = "control socket path \"" + path + "\" is empty or too long";
    return false;
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    reply = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    reply = "cannot reach the daemon at " + path + ": " + std::strerror(errno) +
            " (is `imguard run` running? is this the path it uses, see --control?)";
    close(fd);
    return false;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (!write_all(fd, request + "\n", deadline)) {
    reply = "cannot send the request to " + path;
    close(fd);
    return false;
  }
  char buf[4096];
  for (;;) {
    if (!wait_for(fd, POLLIN, deadline)) {
      reply += reply.empty() ? "no answer from the daemon in time" : "";
      close(fd);
      return false;
    }
    const ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r > 0) {
      reply.append(buf, static_cast<size_t>(r));
      continue;
    }
    if (r < 0 && errno == EINTR) {
      continue;
    }
    break;
  }
  close(fd);
  return true;
}

}  // namespace imguard::engine
