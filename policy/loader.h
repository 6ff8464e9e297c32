// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "policy/config.h"

namespace imguard::policy {

/// Why a configuration was refused. Each message reads
/// `file:line:col: key.path: problem (expected: ...)`, with 1-based line and column, so
/// editors can jump to it. All problems found are reported, not only the first.
struct LoadError {
  std::vector<std::string> messages;
  /// Warnings found before the errors stopped the load ("file:line:col: warning: ...").
  std::vector<std::string> warnings = {};
};

using LoadResult = std::variant<std::shared_ptr<const Config>, LoadError>;

/// What the loader asks of the machine it runs on; tests substitute their own.
struct LoadOptions {
  /// Where TZif time zone files live.
  std::string zoneinfo_dir = "/usr/share/zoneinfo";
  /// Resolves `unix_users:` names to uids (default: the system's passwd database).
  std::function<std::optional<uint32_t>(const std::string&)> resolve_unix_user = system_uid;

  static std::optional<uint32_t> system_uid(const std::string& name);
};

/// Reads, parses and validates a YAML configuration (format: systemd/imguard.yaml,
/// reference: policy/README.md). Unknown keys, bad enum values, out-of-range numbers,
/// unknown user/group/schedule names, overlapping identities and a missing `version` are
/// errors, never silently defaulted; rules shadowed by earlier ones are warnings
/// (Config::warnings). Refuses anything but a regular file of at most 4 MiB. Startup and
/// reload code only: it allocates and does file I/O; yaml-cpp exceptions never leave it.
/// Thread-safe.
LoadResult load_config_file(const std::string& path, const LoadOptions& options = {});
/// Same for text already in memory; `name` stands for the file in messages.
LoadResult load_config_string(const std::string& text, const std::string& name,
                              const LoadOptions& options = {});

}  // namespace imguard::policy
