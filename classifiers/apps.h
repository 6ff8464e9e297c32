// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace imguard::classifiers {

/// What kind of traffic an application is. Policy rules match on these names.
enum class Category : uint8_t { kUnknown, kIm, kP2p, kVoip, kTunnel, kOther };

/// imguard's own application ids. The names in apps.cc are a stable contract shared by
/// YAML policy, logs, metrics and golden files: never rename one, only add.
enum class AppId : uint16_t {
  kUnknown,
  // P2P file sharing
  kBittorrent,
  kEdonkey,
  kGnutella,
  kDirectConnect,
  kSoulseek,
  kAppleJuice,
  kFastTrack,
  kThunder,
  kAres,
  kOpenFt,
  kSyncthing,
  kOtherP2p,
  // Instant messaging
  kXmpp,
  kIrc,
  kOscar,
  kMsn,
  kYahoo,
  kWhatsapp,
  kTelegram,
  kSignal,
  kDiscord,
  kSkypeTeams,
  kSlack,
  kMatrix,
  kThreema,
  kViber,
  kLine,
  kWechat,
  kQq,
  kSnapchat,
  kTox,
  kMessenger,
  kKakaotalk,
  kGoogleChat,
  kImo,
  kMattermost,
  kOtherIm,
  // Voice and conferencing
  kSip,
  kRtp,
  kStun,
  kMumble,
  kTeamspeak,
  kZoom,
  kOtherVoip,
  // Tunnels and anonymisers
  kTor,
  kOpenvpn,
  kWireguard,
  kIpsec,
  kOtherTunnel,
  // Ordinary traffic (false-positive checks, policy on "web")
  kHttp,
  kTls,
  kQuic,
  kDns,
  kSsh,
  kFtp,
  kMail,
  kNtp,
  kDhcp,
  kNetbios,
  kMdns,
  kOther,
  kCount_,
};

struct AppInfo {
  AppId id;
  std::string_view name;  // stable lowercase name
  Category category;
  /// Lowercase nDPI protocol names that mean this app (the nDPI adapter maps through these).
  std::span<const std::string_view> ndpi_names;
};

const AppInfo& app_info(AppId id) noexcept;
std::string_view app_name(AppId id) noexcept;
Category app_category(AppId id) noexcept;
std::string_view category_name(Category c) noexcept;
std::optional<AppId> app_from_name(std::string_view name) noexcept;
std::optional<Category> category_from_name(std::string_view name) noexcept;
/// Every known app, in AppId order (for tests, docs and the nDPI adapter's lookup table).
std::span<const AppInfo> all_apps() noexcept;

}  // namespace imguard::classifiers
