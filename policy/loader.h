// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>
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
};

using LoadResult = std::variant<std::shared_ptr<const Config>, LoadError>;

/// Reads, parses and validates a YAML configuration (format: systemd/imguard.yaml,
/// reference: policy/README.md). Unknown keys, bad enum values, out-of-range numbers and a
/// missing `version` are errors, never silently defaulted. Startup/reload code only: it
/// allocates and does file I/O; yaml-cpp exceptions never leave it. Thread-safe.
LoadResult load_config_file(const std::string& path);
/// Same for text already in memory; `name` stands for the file in messages.
LoadResult load_config_string(const std::string& text, const std::string& name);

}  // namespace imguard::policy
