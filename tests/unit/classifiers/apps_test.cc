// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "classifiers/apps.h"
#include "classifiers/registry.h"

using namespace imguard::classifiers;

TEST_CASE("app names are unique, lowercase and round-trip", "[classifiers]") {
  std::set<std::string_view> seen;
  for (const AppInfo& a : all_apps()) {
    CHECK(seen.insert(a.name).second);
    for (char c : a.name) {
      CHECK((std::islower(static_cast<unsigned char>(c)) || c == '_' || std::isdigit(c)));
    }
    REQUIRE(app_from_name(a.name).has_value());
    CHECK(*app_from_name(a.name) == a.id);
  }
  CHECK(app_category(AppId::kBittorrent) == Category::kP2p);
  CHECK(app_category(AppId::kXmpp) == Category::kIm);
  CHECK(category_from_name("p2p") == Category::kP2p);
  CHECK_FALSE(category_from_name("chat").has_value());
}

TEST_CASE("an nDPI alias belongs to one app only", "[classifiers]") {
  std::set<std::string_view> aliases;
  for (const AppInfo& a : all_apps()) {
    for (auto n : a.ndpi_names) {
      CHECK(aliases.insert(n).second);
    }
  }
}

TEST_CASE("registry names are unique and ndpi comes last", "[classifiers]") {
  const auto names = registered_classifier_names();
  REQUIRE(!names.empty());
  CHECK(names.back() == "ndpi");
  std::set<std::string> uniq(names.begin(), names.end());
  CHECK(uniq.size() == names.size());
}
