// SPDX-License-Identifier: GPL-3.0-or-later
// Every registered classifier has a capture it labels and a look-alike it must not label.
//
// Positives come from the golden files (tests/golden/default/**.jsonl): a classifier has one
// when some flow there carries a known app with that classifier's name. Look-alikes are declared
// per capture folder in pcaps/<folder>/lookalikes.txt, one capture a line followed by the
// classifiers it imitates; shared folders (pcaps/negative, pcaps/regression) list theirs the
// same way, so no folder has to be named after a classifier.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "classifiers/registry.h"
#include "engine/json.h"

namespace fs = std::filesystem;
using imguard::classifiers::registered_classifier_names;
using imguard::engine::Json;

namespace {

const fs::path kSource{IMGUARD_SOURCE_DIR};

/// classifier name -> the categories it gave the flows of one golden file (flows it left
/// `unknown` do not count).
using Labels = std::map<std::string, std::set<std::string>>;

Labels labels_of(const fs::path& golden) {
  Labels out;
  std::ifstream in(golden);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') {
      continue;
    }
    const Json rec = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    INFO(golden.string() << ": " << line);
    REQUIRE(rec.is_object());
    if (rec.value("record", "") == "flow" && rec.value("app", "unknown") != "unknown") {
      out[rec.value("classifier", "")].insert(rec.value("category", ""));
    }
  }
  return out;
}

fs::path golden_for(const fs::path& pcap) {
  fs::path rel = fs::relative(pcap, kSource / "pcaps");
  rel.replace_extension(".jsonl");
  return kSource / "tests/golden/default" / rel;
}

struct Lookalike {
  fs::path pcap;
  std::vector<std::string> classifiers;
};

std::vector<Lookalike> read_manifests() {
  std::vector<Lookalike> out;
  for (const auto& dir : fs::directory_iterator(kSource / "pcaps")) {
    const fs::path manifest = dir.path() / "lookalikes.txt";
    if (!dir.is_directory() || !fs::exists(manifest)) {
      continue;
    }
    std::ifstream in(manifest);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') {
        continue;
      }
      std::istringstream words(line);
      Lookalike l;
      std::string capture;
      words >> capture;
      l.pcap = dir.path() / capture;
      for (std::string c; words >> c;) {
        l.classifiers.push_back(c);
      }
      INFO(manifest.string() << ": " << line);
      CHECK_FALSE(l.classifiers.empty());
      out.push_back(std::move(l));
    }
  }
  return out;
}

/// The categories a look-alike must not get from a classifier: IM and P2P for one that
/// labels IM or P2P anywhere, else whatever it labels (tls_records: `other`, i.e. tls).
std::set<std::string> claimed(const std::set<std::string>& positive_categories) {
  std::set<std::string> im_p2p;
  for (const auto& c : positive_categories) {
    if (c == "im" || c == "p2p") {
      im_p2p.insert(c);
    }
  }
  return im_p2p.empty() ? positive_categories : im_p2p;
}

}  // namespace

TEST_CASE("every registered classifier has a positive and a look-alike capture",
          "[classifiers][registry]") {
  const auto names = registered_classifier_names();
  const std::set<std::string> registered(names.begin(), names.end());

  // Positives: every category each classifier gives some flow in some golden file.
  Labels positives;
  for (const auto& e : fs::recursive_directory_iterator(kSource / "tests/golden/default")) {
    if (e.is_regular_file() && e.path().extension() == ".jsonl") {
      for (const auto& [c, categories] : labels_of(e.path())) {
        positives[c].insert(categories.begin(), categories.end());
      }
    }
  }

  std::map<std::string, std::set<std::string>> lookalikes;
  for (const auto& l : read_manifests()) {
    INFO("look-alike " << l.pcap.string());
    REQUIRE(fs::is_regular_file(l.pcap));
    const fs::path golden = golden_for(l.pcap);
    REQUIRE(fs::is_regular_file(golden));
    const Labels labelled = labels_of(golden);
    for (const auto& c : l.classifiers) {
      INFO("classifier " << c);
      CHECK(registered.count(c) == 1);  // a stale or misspelt name
      if (auto it = labelled.find(c); it != labelled.end()) {
        for (const auto& category : claimed(positives[c])) {
          INFO("labelled " << category);
          CHECK(it->second.count(category) == 0);  // it is a look-alike, not a positive
        }
      }
      lookalikes[c].insert(l.pcap.string());
    }
  }

  for (const auto& n : names) {
    INFO("classifier " << n
                       << ": add its capture to pcaps/ (and golden), and a look-alike to "
                          "pcaps/<folder>/lookalikes.txt (classifiers/README.md)");
    CHECK_FALSE(positives[n].empty());
    CHECK_FALSE(lookalikes[n].empty());
  }
}

TEST_CASE("the look-alike check reads each classifier's labels from a golden file",
          "[classifiers][registry]") {
  // Flows left unknown carry no label; a positive has its classifier's own.
  CHECK(labels_of(kSource / "tests/golden/default/negative/cip-io.jsonl").empty());
  CHECK(labels_of(kSource / "tests/golden/default/irc/dcc-send.jsonl") ==
        Labels{{"irc", {"im"}}, {"irc_dcc", {"im"}}});
  CHECK(claimed({"im", "other", "voip"}) == std::set<std::string>{"im"});
  CHECK(claimed({"other"}) == std::set<std::string>{"other"});
}
