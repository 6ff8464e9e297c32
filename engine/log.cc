// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <string>

namespace imguard::engine {

namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};

/// stderr goes to the journal: systemd sets JOURNAL_STREAM for services whose output it
/// collects; then the priority prefix is understood.
bool to_journal() noexcept {
  static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
  return journal;
}

}  // namespace

void set_log_level(LogLevel level) noexcept {
  g_level.store(level, std::memory_order_relaxed);
}

bool log_enabled(LogLevel level) noexcept {
  return static_cast<uint8_t>(level) <=
         static_cast<uint8_t>(g_level.load(std::memory_order_relaxed));
}

void log_line(LogLevel level, std::string_view message) noexcept {
  try {
    std::string line;
    line.reserve(message.size() + 32);
    if (to_journal()) {
      line += '<';
      line += static_cast<char>('0' + static_cast<uint8_t>(level));
      line += '>';
    }
    line += "imguard: ";
    if (level == LogLevel::kError) {
      line += "error: ";
    } else if (level == LogLevel::kWarning) {
      line += "warning: ";
    }
    line.append(message);
    line += '\n';
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t w = write(STDERR_FILENO, line.data() + done, line.size() - done);
      if (w <= 0) {
        return;
      }
      done += static_cast<size_t>(w);
    }
  } catch (...) {
    // Out of memory: the line is lost.
  }
}

}  // namespace imguard::engine
