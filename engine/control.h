// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace imguard::engine {

/// The daemon's local control socket: a Unix stream socket (default
/// /run/imguard/imguard.sock, mode 0660, the directory 0750) that answers one request per
/// connection. A request is one line ("reload", "status"); the answer is the first line
/// "ok" or "error", then free text, then the server closes. Control thread only.
inline constexpr const char* kDefaultControlPath = "/run/imguard/imguard.sock";

class ControlServer {
 public:
  /// Creates the directory if needed, replaces a stale socket, binds and listens.
  /// nullptr and `error` on failure.
  static std::unique_ptr<ControlServer> open(const std::string& path, std::string& error);
  ~ControlServer();  // closes and unlinks
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  int fd() const noexcept { return fd_; }
  /// Accepts one pending connection, reads its request line (bounded: 4 KiB, 2 s) and
  /// writes handler(request). Never throws; a client that misbehaves is dropped.
  void serve_one(const std::function<std::string(const std::string&)>& handler) noexcept;

 private:
  ControlServer(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

/// Client side: sends `request`, returns the whole answer in `reply`. False with a
/// message in `reply` when the daemon cannot be reached (`timeout_ms` bounds the wait).
bool control_request(const std::string& path, const std::string& request, std::string& reply,
                     int timeout_ms);

}  // namespace imguard::engine
