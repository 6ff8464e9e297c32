// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string_view>

namespace imguard::engine {

/// The daemon's log: one line per event on stderr, "imguard: " then, for warnings and
/// errors, "warning: " / "error: ". Under systemd (stderr connected to the journal,
/// $JOURNAL_STREAM) each line also starts with the sd-daemon priority prefix ("<3>"...),
/// so journald records the level and `journalctl -p warning` works. Thread-safe: a line is
/// one write(2). Formatting uses fmt; never throws (a line that cannot be formatted is
/// replaced by a note saying so).
enum class LogLevel : uint8_t { kError = 3, kWarning = 4, kInfo = 6, kDebug = 7 };

/// Lines above this level are dropped (default kInfo). Set once at start-up.
void set_log_level(LogLevel level) noexcept;
bool log_enabled(LogLevel level) noexcept;
void log_line(LogLevel level, std::string_view message) noexcept;

template <typename... Args>
void log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) noexcept {
  if (!log_enabled(level)) {
    return;
  }
  try {
    log_line(level, fmt::format(format, std::forward<Args>(args)...));
  } catch (...) {
    log_line(LogLevel::kError, "a log message could not be formatted");
  }
}

template <typename... Args>
void log_info(fmt::format_string<Args...> format, Args&&... args) noexcept {
  log(LogLevel::kInfo, format, std::forward<Args>(args)...);
}
template <typename... Args>
void log_warning(fmt::format_string<Args...> format, Args&&... args) noexcept {
  log(LogLevel::kWarning, format, std::forward<Args>(args)...);
}
template <typename... Args>
void log_error(fmt::format_string<Args...> format, Args&&... args) noexcept {
  log(LogLevel::kError, format, std::forward<Args>(args)...);
}

}  // namespace imguard::engine
