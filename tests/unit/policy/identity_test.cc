// SPDX-License-Identifier: GPL-3.0-or-later
// policy/identity.h: which end of a connection is the user's, and who that user is.
#include <catch2/catch.hpp>
#include <string>

#include "policy/identity.h"
#include "policy/loader.h"

using namespace imguard::policy;
using imguard::packet::Address;

namespace {

std::shared_ptr<const Config> load(const std::string& text) {
  auto r = load_config_string(text, "i.yaml");
  if (auto* e = std::get_if<LoadError>(&r)) {
    for (const auto& m : e->messages) {
      UNSCOPED_INFO(m);
    }
    FAIL("config refused");
  }
  return std::get<std::shared_ptr<const Config>>(r);
}

constexpr const char* kPolicy = R"(version: 1
networks:
  local: [10.0.0.0/16]
users:
  lab: {addresses: [10.0.1.0/24]}
  alice: {addresses: [10.0.1.10], macs: [02:00:00:00:00:0a]}
  bob: {addresses: [10.0.2.20, 192.0.2.20], macs: [02:00:00:00:00:0b], uids: [1000]}
  carol: {addresses: [198.51.100.0/24, 2001:db8::/64]}
groups:
  kids: {members: [alice]}
  guests: {addresses: [10.0.9.0/24, 10.0.1.0/24]}
)";
constexpr uint16_t kLab = 0;
constexpr uint16_t kAlice = 1;
constexpr uint16_t kBob = 2;
constexpr uint16_t kCarol = 3;
constexpr size_t kKids = 0;
constexpr size_t kGuests = 1;

Endpoints ends(const char* initiator, const char* responder) {
  Endpoints e;
  e.initiator = Address::parse(initiator);
  e.responder = Address::parse(responder);
  return e;
}

std::string user_name(const Policy& p, uint16_t u) {
  return u == kNoUser ? "(nobody)" : p.users[u].name;
}

}  // namespace

TEST_CASE("policy/identity: the gateway picks the local end", "[policy]") {
  const auto c = load(kPolicy);
  const Policy& p = c->policy;
  struct Case {
    const char* what;
    const char* initiator;
    const char* responder;
    uint16_t user;
    bool responder_is_user;
  };
  const Case cases[] = {
      {"local initiator", "10.0.1.10", "203.0.113.1", kAlice, false},
      {"local responder", "203.0.113.1", "10.0.1.10", kAlice, true},
      {"both local: the initiator", "10.0.2.20", "10.0.1.10", kBob, false},
      {"neither local: the initiator", "203.0.113.1", "203.0.113.2", kNoUser, false},
      {"a user's own address counts as local", "203.0.113.1", "192.0.2.20", kBob, true},
      {"a user's network counts as local", "203.0.113.1", "198.51.100.7", kCarol, true},
      {"IPv6 network of a user", "2001:db8::5", "2001:4860::1", kCarol, false},
      {"local but nobody's", "10.0.7.7", "203.0.113.1", kNoUser, false},
      {"local but nobody's, as responder", "203.0.113.1", "10.0.7.7", kNoUser, true},
      {"most specific: a /32 inside a /24 user", "10.0.1.10", "203.0.113.1", kAlice, false},
      {"the /24 user for its other hosts", "10.0.1.11", "203.0.113.1", kLab, false},
  };
  for (const Case& k : cases) {
    INFO(k.what);
    const Identity id = resolve_identity(p, HookMode::kGateway, ends(k.initiator, k.responder));
    CHECK(user_name(p, id.user) == user_name(p, k.user));
    CHECK(id.user_is_responder == k.responder_is_user);
    CHECK_FALSE(id.sticky);
  }
  CHECK(is_local(p, Address::parse("192.0.2.20")));
  CHECK_FALSE(is_local(p, Address::parse("192.0.2.21")));
  CHECK(user_by_address(p, Address::parse("10.0.1.10")) == kAlice);
  CHECK(user_by_address(p, Address::parse("10.0.1.255")) == kLab);
  CHECK(user_by_address(p, Address::parse("10.0.3.1")) == kNoUser);
  CHECK(user_by_stable_id(p, p.users[kBob].stable_id) == kBob);
  CHECK(user_by_stable_id(p, 0) == kNoUser);
}

TEST_CASE("policy/identity: a user's MAC beats addresses, the initiator's first", "[policy]") {
  const auto c = load(kPolicy);
  const Policy& p = c->policy;
  const MacAddress alice_mac{2, 0, 0, 0, 0, 0x0a};
  const MacAddress bob_mac{2, 0, 0, 0, 0, 0x0b};
  const MacAddress stranger{2, 0, 0, 0, 0, 0xff};

  // Bob's laptop on a DHCP address that the address plan gives to the lab.
  Endpoints e = ends("10.0.1.77", "203.0.113.1");
  e.initiator_mac = bob_mac;
  Identity id = resolve_identity(p, HookMode::kGateway, e);
  CHECK(id.user == kBob);
  CHECK(id.sticky);
  CHECK_FALSE(id.user_is_responder);
  CHECK(id.groups.test(kGuests));  // the address still puts the host in a group's block

  // Both MACs known: the initiator's wins.
  e = ends("10.0.2.20", "10.0.1.10");
  e.initiator_mac = alice_mac;
  e.responder_mac = bob_mac;
  id = resolve_identity(p, HookMode::kGateway, e);
  CHECK(id.user == kAlice);
  CHECK_FALSE(id.user_is_responder);

  // Unknown initiator MAC: the responder's MAC decides, and the user is the responder.
  e.initiator_mac = stranger;
  id = resolve_identity(p, HookMode::kGateway, e);
  CHECK(id.user == kBob);
  CHECK(id.user_is_responder);
  CHECK(id.sticky);

  // No known MAC at all: back to addresses.
  e.responder_mac = stranger;
  id = resolve_identity(p, HookMode::kGateway, e);
  CHECK(id.user == kBob);  // both local → initiator 10.0.2.20
  CHECK_FALSE(id.sticky);
}

TEST_CASE("policy/identity: host mode uses the socket's uid", "[policy]") {
  const auto c = load(kPolicy);
  const Policy& p = c->policy;
  Endpoints e = ends("10.0.5.5", "203.0.113.1");
  e.uid = 1000;
  e.host_is_responder = false;
  Identity id = resolve_identity(p, HookMode::kHost, e);
  CHECK(id.user == kBob);
  CHECK(id.sticky);
  CHECK_FALSE(id.user_is_responder);

  e = ends("203.0.113.1", "10.0.1.10");
  e.uid = 1000;
  e.host_is_responder = true;
  id = resolve_identity(p, HookMode::kHost, e);
  CHECK(id.user == kBob);
  CHECK(id.user_is_responder);
  CHECK(id.groups.test(kGuests));  // the host's own address 10.0.1.10 is in guests

  // An unknown uid: the hook's direction picks the end, then addresses.
  e.uid = 4242;
  id = resolve_identity(p, HookMode::kHost, e);
  CHECK(id.user == kAlice);
  CHECK(id.user_is_responder);
  CHECK_FALSE(id.sticky);

  // The gateway ignores uids.
  e = ends("10.0.5.5", "203.0.113.1");
  e.uid = 1000;
  CHECK(resolve_identity(p, HookMode::kGateway, e).user == kNoUser);
}

TEST_CASE("policy/identity: groups by members and by addresses", "[policy]") {
  const auto c = load(kPolicy);
  const Policy& p = c->policy;
  Identity id = resolve_identity(p, HookMode::kGateway, ends("10.0.1.10", "203.0.113.1"));
  CHECK(id.user == kAlice);
  CHECK(id.groups.test(kKids));    // member
  CHECK(id.groups.test(kGuests));  // 10.0.1.10 is in 10.0.1.0/24
  id = resolve_identity(p, HookMode::kGateway, ends("10.0.2.20", "203.0.113.1"));
  CHECK(id.user == kBob);
  CHECK(id.groups.none());
  // A host that is nobody's still belongs to the group holding its address.
  id = resolve_identity(p, HookMode::kGateway, ends("10.0.9.9", "203.0.113.1"));
  CHECK(id.user == kNoUser);
  CHECK(id.groups.test(kGuests));
  CHECK_FALSE(id.groups.test(kKids));
  // identity_for_user: a known user on a new address.
  id = identity_for_user(p, kAlice, true, Address::parse("10.0.9.1"));
  CHECK(id.user == kAlice);
  CHECK(id.user_is_responder);
  CHECK(id.groups.test(kKids));
  CHECK(id.groups.test(kGuests));
}

TEST_CASE("policy/identity: helpers", "[policy]") {
  CHECK(mask_address(Address::parse("10.1.2.3"), 16) == Address::parse("10.1.0.0"));
  CHECK(mask_address(Address::parse("10.1.2.3"), 0) == Address::parse("0.0.0.0"));
  CHECK(mask_address(Address::parse("2001:db8::1"), 32) == Address::parse("2001:db8::"));
  CHECK(mac_key(MacAddress{0, 0, 0, 0, 1, 2}) == 0x0102u);
  CHECK(mac_key(MacAddress{0xff, 0, 0, 0, 0, 0}) == 0xff0000000000u);
}
