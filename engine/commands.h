// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <string>
#include <vector>

namespace imguard::engine {

/// Each returns the process exit code: 0 ok, 1 a runtime failure, 2 bad usage.
int cmd_classify(const std::vector<std::string>& args);

const char* version() noexcept;

}  // namespace imguard::engine
