// SPDX-License-Identifier: GPL-3.0-or-later
// Test helper: a configuration from YAML text, failing the test with the loader's
// messages when it is refused.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <variant>

#include "policy/loader.h"

namespace imguard::testing {

inline std::shared_ptr<const policy::Config> load_config(const std::string& text,
                                                         const std::string& name) {
  auto r = policy::load_config_string(text, name);
  if (auto* e = std::get_if<policy::LoadError>(&r)) {
    for (const auto& m : e->messages) {
      UNSCOPED_INFO(m);
    }
    FAIL("config refused");
  }
  return std::get<std::shared_ptr<const policy::Config>>(r);
}

}  // namespace imguard::testing
