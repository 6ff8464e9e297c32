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
#include <vector>

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

std::optional<std::chrono::seconds> parse_duration(std::string_view text) noexcept {
  uint64_t n = 0;
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9' && n < 100'000'000) {
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
    ++i;
  }
  if (i == 0 || i + 1 != text.size() || n == 0) {
    return std::nullopt;
  }
  switch (text[i]) {
    case 's':
      return std::chrono::seconds(n);
    case 'm':
      return std::chrono::seconds(n * 60);
    case 'h':
      return std::chrono::seconds(n * 3600);
    case 'd':
      return std::chrono::seconds(n * 86400);
    default:
      return std::nullopt;
  }
}

namespace {

/// The request as shown in an error reply: printable ASCII kept, other bytes as \xNN,
/// at most 64 bytes of it.
std::string shown(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < 64; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (s.size() > 64) {
    out += "...";
  }
  return out;
}

}  // namespace

std::optional<ControlRequest> parse_control_request(std::string_view line, std::string& error) {
  std::vector<std::string_view> w;
  for (size_t at = 0; at < line.size();) {
    const size_t sp = line.find(' ', at);
    const std::string_view word =
        line.substr(at, sp == std::string_view::npos ? line.npos : sp - at);
    if (!word.empty()) {
      w.push_back(word);
    }
    at = sp == std::string_view::npos ? line.size() : sp + 1;
  }
  ControlRequest r;
  const std::string_view cmd = w.empty() ? std::string_view{} : w[0];
  auto unknown = [&] {
    error = "unknown request \"" + shown(line) +
            "\" (expected: reload, status, flows, top, quota-reset RULE [USER], ping)";
    return std::nullopt;
  };
  if (cmd == "ping" || cmd == "reload") {
    r.kind = cmd == "ping" ? ControlRequest::Kind::kPing : ControlRequest::Kind::kReload;
    return r;
  }
  if (cmd == "quota-reset") {
    if (w.size() != 2 && w.size() != 3) {
      return unknown();
    }
    r.kind = ControlRequest::Kind::kQuotaReset;
    r.rule = w[1];
    r.user = w.size() == 3 ? std::string(w[2]) : "";
    return r;
  }
  if (cmd == "status") {
    r.kind = ControlRequest::Kind::kStatus;
  } else if (cmd == "flows") {
    r.kind = ControlRequest::Kind::kFlows;
  } else if (cmd == "top") {
    r.kind = ControlRequest::Kind::kTop;
  } else {
    return unknown();
  }
  // Flags after the command; a flag that takes a value and has none is an error.
  for (size_t i = 1; i < w.size(); ++i) {
    const std::string_view f = w[i];
    if (f == "--json") {
      r.json = true;
      continue;
    }
    const bool takes_value =
        (r.kind == ControlRequest::Kind::kFlows && (f == "--user" || f == "--app")) ||
        (r.kind == ControlRequest::Kind::kTop && (f == "--by" || f == "--limit" || f == "--since"));
    if (!takes_value) {
      error = "unknown flag \"" + shown(f) + "\" for " + std::string(cmd);
      return std::nullopt;
    }
    if (i + 1 == w.size()) {
      error = std::string(f) + ": a value is needed";
      return std::nullopt;
    }
    const std::string_view v = w[++i];
    if (f == "--user") {
      r.user = v;
    } else if (f == "--app") {
      r.app = v;
    } else if (f == "--by") {
      if (v != "user" && v != "app" && v != "category") {
        error = "--by: expected user, app or category";
        return std::nullopt;
      }
      r.by = v;
    } else if (f == "--limit") {
      size_t n = 0;
      bool ok = !v.empty() && v.size() <= 9;
      for (const char c : v) {
        ok = ok && c >= '0' && c <= '9';
        n = ok ? n * 10 + static_cast<size_t>(c - '0') : n;
      }
      if (!ok) {
        error = "bad --limit";
        return std::nullopt;
      }
      r.limit = n;
    } else {
      const auto d = parse_duration(v);
      if (!d) {
        error = "--since \"" + shown(v) + "\": expected a duration like 90s, 15m, 1h, 2d";
        return std::nullopt;
      }
      r.since = *d;
    }
  }
  return r;
}

}  // namespace imguard::engine
