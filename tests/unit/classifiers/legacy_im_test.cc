// SPDX-License-Identifier: GPL-3.0-or-later
// Probes for the legacy IM framings: OSCAR FLAP/OFT, MSNP, YMSG.
#include <catch2/catch.hpp>

#include "classifiers/msnp.h"
#include "classifiers/oscar.h"
#include "classifiers/ymsg.h"
#include "im_test_util.h"

using namespace imguard::classifiers;
namespace t = imguard::test;

namespace {
AppId matched(const Result& r) {
  return std::holds_alternative<Match>(r) ? std::get<Match>(r).app : AppId::kUnknown;
}
std::string ymsg(uint16_t version, const std::string& body) {
  std::string h = "YMSG";
  t::put16(h, version);
  t::put16(h, 0);
  t::put16(h, body.size());
  t::put16(h, 0x57);  // service: authentication
  h += std::string(8, '\0');
  return h + body;
}
}  // namespace

TEST_CASE("OSCAR sign-on FLAP and OFT header match on any port", "[oscar]") {
  Oscar c;
  t::Probe st;
  const auto hello = t::bytes({0x2a, 1, 0x12, 0x34, 0, 4, 0, 0, 0, 1});
  CHECK(matched(t::probe_tcp(c, st, hello, Direction::kServerToClient, 443)) == AppId::kOscar);
  t::Probe oft;
  std::string h = "OFT2" + t::bytes({1, 0, 1, 1}) + std::string(248, '\0');
  const auto r = t::probe_tcp(c, oft, h);
  REQUIRE(std::holds_alternative<Match>(r));
  CHECK(std::get<Match>(r).features == kFeatureFileTransfer);
}

TEST_CASE("OSCAR look-alikes are not matched", "[oscar]") {
  Oscar c;
  t::Probe st;  // 0x2A but wrong version and a length that overruns
  CHECK(std::holds_alternative<NeedMore>(
      t::probe_tcp(c, st, t::bytes({0x2a, 1, 0, 1, 0, 4, 0, 0, 0, 2}))));
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(
      c, st, t::bytes({0x2a, 1, 0, 1, 0, 40, 0, 0, 0, 1}), Direction::kServerToClient)));
}

TEST_CASE("MSNP version negotiation matches", "[msnp]") {
  Msnp c;
  t::Probe st;
  CHECK(matched(t::probe_tcp(c, st, "VER 1 MSNP8 CVR0\r\n", Direction::kClientToServer, 8080)) ==
        AppId::kMsn);
  t::Probe a;
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(c, a, "VER MSNP8\r\n")));
  t::Probe b;
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(c, b, "GET /MSNP8 HTTP/1.1\r\n")));
}

TEST_CASE("YMSG header matches when its length fits", "[ymsg]") {
  Ymsg c;
  t::Probe st;
  CHECK(matched(t::probe_tcp(c, st,
                             ymsg(16,
                                  "1\xc0\x80"
                                  "alice\xc0\x80"))) == AppId::kYahoo);
  t::Probe a;
  std::string bad = ymsg(16, "1\xc0\x80");
  bad += "x";  // length does not cover the segment
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(c, a, bad)));
  t::Probe b;
  CHECK(std::holds_alternative<NotMine>(t::probe_tcp(c, b, "YMSG is a nice word to say\r\n")));
}
