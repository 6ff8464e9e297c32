// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

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

/// One control request line, parsed. Words are separated by spaces; flags may come in any
/// order after the command. The grammar (what `imguard status/flows/top/quota-reset/reload`
/// send):
///   ping | reload | status [--json] | flows [--user U] [--app A] [--json]
///   | top [--by user|app|category] [--limit N] [--since 90s|15m|1h|2d] [--json]
///   | quota-reset RULE [USER]
struct ControlRequest {
  enum class Kind { kPing, kReload, kStatus, kFlows, kTop, kQuotaReset };
  Kind kind = Kind::kPing;
  bool json = false;
  std::string user;  // flows --user, quota-reset USER
  std::string app;   // flows --app
  std::string rule;  // quota-reset RULE
  std::string by = "user";
  size_t limit = 10;
  std::chrono::seconds since{0};  // 0: since the daemon started
};

/// Parses `line`; std::nullopt with the reply's error text in `error` (one line, no
/// control bytes echoed) when the request is malformed. Never throws on any input.
std::optional<ControlRequest> parse_control_request(std::string_view line, std::string& error);

/// "90s", "15m", "1h", "2d": a positive integer (below 10^8) and a unit.
std::optional<std::chrono::seconds> parse_duration(std::string_view text) noexcept;

/// Client side: sends `request`, returns the whole answer in `reply`. False with a
/// message in `reply` when the daemon cannot be reached (`timeout_ms` bounds the wait).
bool control_request(const std::string& path, const std::string& request, std::string& reply,
                     int timeout_ms);

}  // namespace imguard::engine
