// SPDX-License-Identifier: GPL-3.0-or-later
// `imguard apps [--json]`: the app and category names a policy may use (classifiers/apps.cc
// is the name table), and which apps can carry the `file_transfer` feature.
#include <array>
#include <cstdio>
#include <string>

#include "classifiers/apps.h"
#include "classifiers/signatures.h"
#include "engine/commands.h"
#include "engine/json.h"
#include "policy/config.h"

namespace imguard::engine {
namespace {

using classifiers::AppId;
using classifiers::Category;

/// Apps for which some classifier sets kFeatureFileTransfer, so a rule with
/// `features: [file_transfer]` can match them. From classifiers/*.cc (grep
/// kFeatureFileTransfer): bittorrent.cc and bittorrent_udp.cc, edonkey.cc, gnutella.cc,
/// directconnect.cc, soulseek.cc (peer transfers), irc.cc (DCC SEND, cross-flow),
/// oscar.cc (OFT), xmpp.cc (SOCKS5 bytestreams); peer_cache.cc marks cross-flow peer
/// connections of apps the others taught it (BitTorrent only today); the nDPI adapter
/// marks nDPI's WhatsAppFiles. Update this list when a classifier starts or stops setting
/// the bit. Apps with `file_transfer` hosts in the signature data (tls_sni, quic_sni) are
/// added from that data.
constexpr std::array kFileTransferApps = {
    AppId::kBittorrent, AppId::kEdonkey, AppId::kGnutella, AppId::kDirectConnect, AppId::kSoulseek,
    AppId::kIrc,        AppId::kOscar,   AppId::kXmpp,     AppId::kWhatsapp,
};

bool can_transfer_files(AppId id, const classifiers::Signatures& sigs) {
  for (AppId a : kFileTransferApps) {
    if (a == id) {
      return true;
    }
  }
  return sigs.has_file_hosts(id);
}

constexpr std::array kCategories = {Category::kIm,     Category::kP2p,   Category::kVoip,
                                    Category::kTunnel, Category::kOther, Category::kUnknown};

int print_json() {
  const auto sigs = classifiers::Signatures::builtin();
  Json apps = Json::array();
  for (const classifiers::AppInfo& info : classifiers::all_apps()) {
    Json a;
    a["app"] = info.name;
    a["category"] = classifiers::category_name(info.category);
    a["file_transfer"] = can_transfer_files(info.id, *sigs);
    apps.push_back(std::move(a));
  }
  json_write_line(stdout, apps);
  return std::ferror(stdout) != 0 ? 1 : 0;
}

void put_line(std::string line) {
  while (!line.empty() && line.back() == ' ') {
    line.pop_back();
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

std::string cell(std::string_view app, std::string_view category, std::string_view files) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-16.*s %-8.*s %-5.*s  ", static_cast<int>(app.size()),
                app.data(), static_cast<int>(category.size()), category.data(),
                static_cast<int>(files.size()), files.data());
  return buf;
}

int print_text() {
  // Three columns of 32-character cells, 2 spaces apart: 98 columns at most.
  constexpr size_t kColumns = 3;
  const auto apps = classifiers::all_apps();
  const auto sigs = classifiers::Signatures::builtin();
  const size_t rows = (apps.size() + kColumns - 1) / kColumns;
  std::printf("%zu apps; FILES * = a classifier can set the file_transfer feature\n", apps.size());
  std::string header;
  for (size_t c = 0; c < kColumns; ++c) {
    header += cell("APP", "CATEGORY", "FILES");
  }
  put_line(std::move(header));
  for (size_t r = 0; r < rows; ++r) {
    std::string line;
    // Down the columns, so the AppId order (grouped by category) reads like a list.
    for (size_t i = r; i < apps.size(); i += rows) {
      line += cell(apps[i].name, classifiers::category_name(apps[i].category),
                   can_transfer_files(apps[i].id, *sigs) ? "*" : "");
    }
    put_line(std::move(line));
  }
  std::string cats = "\nCategories:";
  for (Category cat : kCategories) {
    size_t n = 0;
    for (const classifiers::AppInfo& info : apps) {
      n += info.category == cat ? 1 : 0;
    }
    cats += " " + std::string(classifiers::category_name(cat)) + " (" + std::to_string(n) + ")";
  }
  put_line(std::move(cats));
  std::string features = "Features:";
  for (uint8_t f : policy::kRuleFeatures) {
    features += " " + std::string(policy::feature_name(f));
  }
  put_line(std::move(features));
  return std::ferror(stdout) != 0 ? 1 : 0;
}

}  // namespace

int cmd_apps(bool json) {
  return json ? print_json() : print_text();
}

}  // namespace imguard::engine
