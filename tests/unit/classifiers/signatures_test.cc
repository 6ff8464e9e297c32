// SPDX-License-Identifier: GPL-3.0-or-later
#include <catch2/catch.hpp>

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
