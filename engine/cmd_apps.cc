// SPDX-License-Identifier: GPL-3.0-or-later
#include <cstdio>

#include "classifiers/apps.h"
#include "engine/commands.h"

namespace imguard::engine {

int cmd_apps(bool /*json*/) {
  for (const classifiers::AppInfo& a : classifiers::all_apps()) {
    std::printf("%-16.*s %.*s\n", static_cast<int>(a.name.size()), a.name.data(),
                static_cast<int>(classifiers::category_name(a.category).size()),
                classifiers::category_name(a.category).data());
  }
  return 0;
}

}  // namespace imguard::engine
