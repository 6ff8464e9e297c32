// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

#include "classifiers/classifier.h"
#include "classifiers/signatures.h"

using namespace imguard::classifiers;
using imguard::packet::Address;

TEST_CASE("Built-in signatures parse and know the main IM services", "[signatures]") {
  const auto sigs = Signatures::builtin();
  REQUIRE(sigs->size() > 50);
  CHECK(sigs->app_for_sni("web.whatsapp.com") == AppId::kWhatsapp);
  CHECK(sigs->app_for_sni("WhatsApp.NET") == AppId::kWhatsapp);
  CHECK(sigs->app_for_sni("chat.signal.org.") == AppId::kSignal);
  CHECK(sigs->app_for_sni("gateway.discord.gg") == AppId::kDiscord);
  CHECK(sigs->app_for_alpn("xmpp-client") == AppId::kXmpp);
  CHECK(sigs->app_for_address(Address::parse("149.154.167.51")) == AppId::kTelegram);
  CHECK(sigs->app_for_address(Address::parse("2001:67c:4e8:f004::a")) == AppId::kTelegram);
}

TEST_CASE("Signature look-alikes do not match", "[signatures]") {
  const auto sigs = Signatures::builtin();
  CHECK_FALSE(sigs->app_for_sni("notwhatsapp.net"));  // suffix must start at a label
  CHECK_FALSE(sigs->app_for_sni("whatsapp.net.example.com"));
  CHECK_FALSE(sigs->app_for_sni("www.example.com"));
  CHECK_FALSE(sigs->app_for_sni(""));
  CHECK_FALSE(sigs->app_for_sni(std::string(400, 'a')));
  CHECK_FALSE(sigs->app_for_alpn("h2"));
  CHECK_FALSE(sigs->app_for_address(Address::parse("149.154.176.1")));  // just past /20
  CHECK_FALSE(sigs->app_for_address(Address::parse("10.0.0.1")));
}

TEST_CASE("Signature files report file:line errors", "[signatures]") {
  std::string error;
  CHECK_FALSE(
      Signatures::parse("# ok\nsni a.example whatsapp\nsnii b.example xmpp\n", "site.conf", error));
  CHECK(error.rfind("site.conf:3: unknown kind 'snii'", 0) == 0);
  CHECK_FALSE(Signatures::parse("cidr 10.0.0.0/33 telegram\n", "x.conf", error));
  CHECK(error.rfind("x.conf:1: bad prefix length", 0) == 0);
  CHECK_FALSE(Signatures::parse("cidr 10.0.0.0 telegram\n", "x.conf", error));
  CHECK_FALSE(Signatures::parse("sni a.example nosuchapp\n", "x.conf", error));
  CHECK(error == "x.conf:1: unknown app 'nosuchapp' (names are listed in apps.cc)");
  CHECK_FALSE(Signatures::parse("sni a.example\n", "x.conf", error));
  CHECK_FALSE(Signatures::parse("sni a/b xmpp\n", "x.conf", error));
}

TEST_CASE("User signatures extend and override the built-in set", "[signatures]") {
  std::string error;
  auto user = Signatures::parse(
      "sni chat.corp.example mattermost  # in-house chat\n"
      "cidr 192.0.2.0/24 matrix\n"
      "stun-software ExampleCall viber\n",
      "site.conf", error);
  REQUIRE(user);
  Signatures merged = *Signatures::builtin();
  merged.merge(*user);
  CHECK(merged.app_for_sni("chat.corp.example") == AppId::kMattermost);
  CHECK(merged.app_for_address(Address::parse("192.0.2.9")) == AppId::kMatrix);
  CHECK(merged.app_for_stun_software("examplecall 1.2") == AppId::kViber);
  CHECK_FALSE(merged.app_for_stun_software("Example"));
  CHECK(merged.app_for_sni("t.me") == AppId::kTelegram);
}

TEST_CASE("Attachment hosts carry file_transfer, chat hosts do not", "[signatures]") {
  const auto sigs = Signatures::builtin();
  const auto files = [&](std::string_view host) {
    const auto m = sigs->match_sni(host);
    return m && (m->features & kFeatureFileTransfer) != 0;
  };
  for (auto host :
       {"mmg.whatsapp.net", "media-fra3-1.cdn.whatsapp.net", "cdn.signal.org", "CDN2.Signal.org.",
        "files.slack.com", "cdn.discordapp.com", "media.discordapp.net"}) {
    INFO(host);
    CHECK(files(host));
  }
  CHECK(sigs->match_sni("media-fra3-1.cdn.whatsapp.net")->app == AppId::kWhatsapp);
  CHECK(sigs->match_sni("cdn.discordapp.com")->app == AppId::kDiscord);
  // Chat hosts of the same apps: the app, without the feature.
  for (auto host : {"web.whatsapp.com", "g.whatsapp.net", "chat.signal.org", "cdn3x.signal.org",
                    "wss-primary.slack.com", "gateway.discord.gg", "discord.com"}) {
    INFO(host);
    REQUIRE(sigs->match_sni(host));
    CHECK_FALSE(files(host));
  }
  // Look-alikes: the string inside another name, a label that merely ends the same way.
  for (auto host :
       {"cdn.whatsapp.net.example.com", "notcdn.discordapp.com.evil", "mycdn.signal.org.example",
        "xfiles.slack.com.example", "evilcdn.whatsapp.com"}) {
    INFO(host);
    CHECK_FALSE(files(host));
  }
  CHECK_FALSE(sigs->match_sni("files.slack.com.example.org"));
}

TEST_CASE("Host signatures take file_transfer or call_relay and nothing else", "[signatures]") {
  std::string error;
  auto sigs = Signatures::parse(
      "sni-suffix chat.example matrix\nsni media.chat.example matrix file_transfer\n", "s.conf",
      error);
  REQUIRE(sigs);
  CHECK(sigs->match_sni("media.chat.example")->features == kFeatureFileTransfer);
  CHECK(sigs->match_sni("a.chat.example")->features == kFeatureNone);
  CHECK_FALSE(sigs->match_sni("media.chat.example")->call_relay);
  auto relay =
      Signatures::parse("sni-suffix voip.chat.example signal call_relay\n", "s.conf", error);
  REQUIRE(relay);
  CHECK(relay->match_sni("turn1.voip.chat.example")->call_relay);
  CHECK(relay->match_sni("turn1.voip.chat.example")->features == kFeatureNone);
  CHECK(Signatures::builtin()->match_sni("sfu.voip.signal.org")->call_relay);
  CHECK_FALSE(Signatures::builtin()->match_sni("chat.signal.org")->call_relay);
  CHECK_FALSE(Signatures::parse("sni a.example matrix files\n", "s.conf", error));
  CHECK(error == "s.conf:1: unknown host feature 'files' (expected: file_transfer, call_relay)");
  CHECK_FALSE(Signatures::parse("alpn x matrix file_transfer\n", "s.conf", error));
  CHECK(error.rfind("s.conf:1: expected", 0) == 0);
}

TEST_CASE("Apps with attachment hosts are known to the signature data", "[signatures]") {
  const auto sigs = Signatures::builtin();
  for (AppId app : {AppId::kWhatsapp, AppId::kSignal, AppId::kSlack, AppId::kDiscord}) {
    CHECK(sigs->has_file_hosts(app));
  }
  // Files over the chat connection, or on shared storage: not separable by name.
  for (AppId app : {AppId::kTelegram, AppId::kSkypeTeams, AppId::kMatrix, AppId::kXmpp}) {
    CHECK_FALSE(sigs->has_file_hosts(app));
  }
}

TEST_CASE("A name that only contains an app's name is told apart", "[signatures]") {
  const auto sigs = Signatures::builtin();
  CHECK(sigs->embeds_name_of("mmg.whatsapp.net.example.org", AppId::kWhatsapp));
  CHECK(sigs->embeds_name_of("MEDIA-fra3-1.cdn.WhatsApp.net.example.org", AppId::kWhatsapp));
  CHECK(sigs->embeds_name_of("cdn.discordapp.com.example.net", AppId::kDiscord));
  CHECK_FALSE(sigs->embeds_name_of("mmg.whatsapp.net", AppId::kWhatsapp));  // its own name
  CHECK_FALSE(sigs->embeds_name_of("notwhatsapp.net.example.org", AppId::kWhatsapp));
  CHECK_FALSE(sigs->embeds_name_of("mmg.whatsapp.net.example.org", AppId::kSignal));
  CHECK_FALSE(sigs->embeds_name_of("", AppId::kWhatsapp));
}
