// SPDX-License-Identifier: GPL-3.0-or-later
// The one application/category name table. Order must follow the AppId enum (checked by a
// static_assert and a unit test).
#include "classifiers/apps.h"

#include <array>

namespace imguard::classifiers {
namespace {

using SV = std::string_view;
using enum Category;

// nDPI aliases, lowercase, as ndpi_get_proto_name() spells them (nDPI 4.2 and later).
constexpr SV kNdpiBittorrent[] = {"bittorrent"};
constexpr SV kNdpiEdonkey[] = {"edonkey"};
constexpr SV kNdpiGnutella[] = {"gnutella"};
constexpr SV kNdpiDirectConnect[] = {"directconnect"};
constexpr SV kNdpiSoulseek[] = {"soulseek"};
constexpr SV kNdpiAppleJuice[] = {"applejuice"};
constexpr SV kNdpiFastTrack[] = {"fasttrack", "kazaa"};
constexpr SV kNdpiThunder[] = {"thunder"};
constexpr SV kNdpiAres[] = {"ares"};
constexpr SV kNdpiOpenFt[] = {"openft"};
constexpr SV kNdpiSyncthing[] = {"syncthing"};
constexpr SV kNdpiOtherP2p[] = {"stealthnet", "aimini", "imesh", "filetopia", "manolito", "pando"};
constexpr SV kNdpiXmpp[] = {"jabber", "xmpp"};
constexpr SV kNdpiIrc[] = {"irc"};
constexpr SV kNdpiOscar[] = {"oscar", "icq", "aim"};
constexpr SV kNdpiMsn[] = {"msn"};
constexpr SV kNdpiYahoo[] = {"yahoo"};
constexpr SV kNdpiWhatsapp[] = {"whatsapp", "whatsappcall", "whatsappfiles"};
constexpr SV kNdpiTelegram[] = {"telegram", "telegramvoip"};
constexpr SV kNdpiSignal[] = {"signal", "signalvoip"};
constexpr SV kNdpiDiscord[] = {"discord"};
constexpr SV kNdpiSkypeTeams[] = {"skype_teams", "skype_teamscall", "skype",
                                  "skypecall",   "teams",           "skype_call"};
constexpr SV kNdpiSlack[] = {"slack"};
constexpr SV kNdpiMatrix[] = {"matrix"};
constexpr SV kNdpiThreema[] = {"threema"};
constexpr SV kNdpiViber[] = {"viber", "vibervoip"};
constexpr SV kNdpiLine[] = {"line", "linecall", "line_call"};
constexpr SV kNdpiWechat[] = {"wechat"};
constexpr SV kNdpiQq[] = {"qq", "oicq"};
constexpr SV kNdpiSnapchat[] = {"snapchat", "snapchatcall", "snapchat_call"};
constexpr SV kNdpiTox[] = {"tox"};
constexpr SV kNdpiMessenger[] = {"messenger", "facebookmessenger", "facebookvoip", "facebook_voip"};
constexpr SV kNdpiKakaotalk[] = {"kakaotalk", "kakaotalk_voice"};
constexpr SV kNdpiGoogleChat[] = {"googlechat", "hangout_duo", "googlehangoutduo"};
constexpr SV kNdpiImo[] = {"imo"};
constexpr SV kNdpiMattermost[] = {"mattermost"};
constexpr SV kNdpiOtherIm[] = {"dingtalk", "truphone", "zalo", "badoo"};
constexpr SV kNdpiSip[] = {"sip"};
constexpr SV kNdpiRtp[] = {"rtp", "rtcp", "srtp"};
constexpr SV kNdpiStun[] = {"stun"};
constexpr SV kNdpiMumble[] = {"mumble"};
constexpr SV kNdpiTeamspeak[] = {"teamspeak"};
constexpr SV kNdpiZoom[] = {"zoom"};
constexpr SV kNdpiOtherVoip[] = {"webex", "googlemeet", "h323", "iax", "dtls"};
constexpr SV kNdpiTor[] = {"tor"};
constexpr SV kNdpiOpenvpn[] = {"openvpn"};
constexpr SV kNdpiWireguard[] = {"wireguard"};
constexpr SV kNdpiIpsec[] = {"ipsec", "ip_ipsec"};
constexpr SV kNdpiOtherTunnel[] = {
    "pptp", "l2tp", "gre", "ip_gre", "softether", "hotspot_shield", "cloudflare_warp", "tailscale"};
constexpr SV kNdpiHttp[] = {"http", "http_proxy", "http_connect"};
constexpr SV kNdpiTls[] = {"tls"};
constexpr SV kNdpiQuic[] = {"quic"};
constexpr SV kNdpiDns[] = {"dns"};
constexpr SV kNdpiSsh[] = {"ssh"};
constexpr SV kNdpiFtp[] = {"ftp_control", "ftp_data"};
constexpr SV kNdpiMail[] = {"smtp", "smtps", "pop3", "pops", "imap", "imaps"};
constexpr SV kNdpiNtp[] = {"ntp"};
constexpr SV kNdpiDhcp[] = {"dhcp", "dhcpv6"};
constexpr SV kNdpiNetbios[] = {"netbios", "smbv1", "smbv23"};
constexpr SV kNdpiMdns[] = {"mdns", "llmnr"};

constexpr std::array<AppInfo, static_cast<size_t>(AppId::kCount_)> kApps = {{
    {AppId::kUnknown, "unknown", kUnknown, {}},
    {AppId::kBittorrent, "bittorrent", kP2p, kNdpiBittorrent},
    {AppId::kEdonkey, "edonkey", kP2p, kNdpiEdonkey},
    {AppId::kGnutella, "gnutella", kP2p, kNdpiGnutella},
    {AppId::kDirectConnect, "directconnect", kP2p, kNdpiDirectConnect},
    {AppId::kSoulseek, "soulseek", kP2p, kNdpiSoulseek},
    {AppId::kAppleJuice, "applejuice", kP2p, kNdpiAppleJuice},
    {AppId::kFastTrack, "fasttrack", kP2p, kNdpiFastTrack},
    {AppId::kThunder, "thunder", kP2p, kNdpiThunder},
    {AppId::kAres, "ares", kP2p, kNdpiAres},
    {AppId::kOpenFt, "openft", kP2p, kNdpiOpenFt},
    {AppId::kSyncthing, "syncthing", kP2p, kNdpiSyncthing},
    {AppId::kOtherP2p, "other_p2p", kP2p, kNdpiOtherP2p},
    {AppId::kXmpp, "xmpp", kIm, kNdpiXmpp},
    {AppId::kIrc, "irc", kIm, kNdpiIrc},
    {AppId::kOscar, "oscar", kIm, kNdpiOscar},
    {AppId::kMsn, "msn", kIm, kNdpiMsn},
    {AppId::kYahoo, "yahoo", kIm, kNdpiYahoo},
    {AppId::kWhatsapp, "whatsapp", kIm, kNdpiWhatsapp},
    {AppId::kTelegram, "telegram", kIm, kNdpiTelegram},
    {AppId::kSignal, "signal", kIm, kNdpiSignal},
    {AppId::kDiscord, "discord", kIm, kNdpiDiscord},
    {AppId::kSkypeTeams, "skype_teams", kIm, kNdpiSkypeTeams},
    {AppId::kSlack, "slack", kIm, kNdpiSlack},
    {AppId::kMatrix, "matrix", kIm, kNdpiMatrix},
    {AppId::kThreema, "threema", kIm, kNdpiThreema},
    {AppId::kViber, "viber", kIm, kNdpiViber},
    {AppId::kLine, "line", kIm, kNdpiLine},
    {AppId::kWechat, "wechat", kIm, kNdpiWechat},
    {AppId::kQq, "qq", kIm, kNdpiQq},
    {AppId::kSnapchat, "snapchat", kIm, kNdpiSnapchat},
    {AppId::kTox, "tox", kIm, kNdpiTox},
    {AppId::kMessenger, "messenger", kIm, kNdpiMessenger},
    {AppId::kKakaotalk, "kakaotalk", kIm, kNdpiKakaotalk},
    {AppId::kGoogleChat, "googlechat", kIm, kNdpiGoogleChat},
    {AppId::kImo, "imo", kIm, kNdpiImo},
    {AppId::kMattermost, "mattermost", kIm, kNdpiMattermost},
    {AppId::kOtherIm, "other_im", kIm, kNdpiOtherIm},
    {AppId::kSip, "sip", kVoip, kNdpiSip},
    {AppId::kRtp, "rtp", kVoip, kNdpiRtp},
    {AppId::kStun, "stun", kVoip, kNdpiStun},
    {AppId::kMumble, "mumble", kVoip, kNdpiMumble},
    {AppId::kTeamspeak, "teamspeak", kVoip, kNdpiTeamspeak},
    {AppId::kZoom, "zoom", kVoip, kNdpiZoom},
    {AppId::kOtherVoip, "other_voip", kVoip, kNdpiOtherVoip},
    {AppId::kTor, "tor", kTunnel, kNdpiTor},
    {AppId::kOpenvpn, "openvpn", kTunnel, kNdpiOpenvpn},
    {AppId::kWireguard, "wireguard", kTunnel, kNdpiWireguard},
    {AppId::kIpsec, "ipsec", kTunnel, kNdpiIpsec},
    {AppId::kOtherTunnel, "other_tunnel", kTunnel, kNdpiOtherTunnel},
    {AppId::kHttp, "http", kOther, kNdpiHttp},
    {AppId::kTls, "tls", kOther, kNdpiTls},
    {AppId::kQuic, "quic", kOther, kNdpiQuic},
    {AppId::kDns, "dns", kOther, kNdpiDns},
    {AppId::kSsh, "ssh", kOther, kNdpiSsh},
    {AppId::kFtp, "ftp", kOther, kNdpiFtp},
    {AppId::kMail, "mail", kOther, kNdpiMail},
    {AppId::kNtp, "ntp", kOther, kNdpiNtp},
    {AppId::kDhcp, "dhcp", kOther, kNdpiDhcp},
    {AppId::kNetbios, "netbios", kOther, kNdpiNetbios},
    {AppId::kMdns, "mdns", kOther, kNdpiMdns},
    {AppId::kOther, "other", kOther, {}},
}};

constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < kApps.size(); ++i) {
    if (static_cast<size_t>(kApps[i].id) != i) {
      return false;
    }
  }
  return true;
}
static_assert(table_in_enum_order(), "kApps must list apps in AppId order");

constexpr std::array<std::string_view, 6> kCategoryNames = {"unknown", "im",     "p2p",
                                                            "voip",    "tunnel", "other"};

}  // namespace

const AppInfo& app_info(AppId id) noexcept {
  const auto i = static_cast<size_t>(id);
  return i < kApps.size() ? kApps[i] : kApps[0];
}
std::string_view app_name(AppId id) noexcept {
  return app_info(id).name;
}
Category app_category(AppId id) noexcept {
  return app_info(id).category;
}

std::string_view category_name(Category c) noexcept {
  const auto i = static_cast<size_t>(c);
  return i < kCategoryNames.size() ? kCategoryNames[i] : "unknown";
}

std::optional<AppId> app_from_name(std::string_view name) noexcept {
  for (const auto& a : kApps) {
    if (a.name == name) {
      return a.id;
    }
  }
  return std::nullopt;
}

std::optional<Category> category_from_name(std::string_view name) noexcept {
  for (size_t i = 0; i < kCategoryNames.size(); ++i) {
    if (kCategoryNames[i] == name) {
      return static_cast<Category>(i);
    }
  }
  return std::nullopt;
}

std::span<const AppInfo> all_apps() noexcept {
  return kApps;
}

}  // namespace imguard::classifiers
