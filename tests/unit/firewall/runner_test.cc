// SPDX-License-Identifier: GPL-3.0-or-later
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>

#include "firewall/firewall.h"

using imguard::firewall::system_runner;

TEST_CASE("firewall/runner: tools run with an empty signal mask and a clean environment",
          "[firewall]") {
  // The daemon blocks SIGHUP, SIGINT and SIGTERM for its signalfd; the tools must not
  // inherit that, or a hung nft could not be stopped.
  sigset_t block;
  sigset_t old;
  sigemptyset(&block);
  sigaddset(&block, SIGHUP);
  sigaddset(&block, SIGTERM);
  REQUIRE(pthread_sigmask(SIG_BLOCK, &block, &old) == 0);
  setenv("IMGUARD_TEST_SECRET", "leaked", 1);
  auto runner = system_runner();
  const auto status = runner->run({"grep", "SigBlk", "/proc/self/status"}, "");
  const auto env = runner->run({"env"}, "");
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  unsetenv("IMGUARD_TEST_SECRET");
  REQUIRE(status.exit_code == 0);
  CHECK(status.text.find("0000000000000000") != std::string::npos);
  REQUIRE(env.exit_code == 0);
  CHECK(env.text.find("IMGUARD_TEST_SECRET") == std::string::npos);
  CHECK(env.text.find("PATH=/usr/sbin:/usr/bin:/sbin:/bin") != std::string::npos);
}

TEST_CASE("firewall/runner: a tool earlier in PATH is never run", "[firewall]") {
  char dir[] = "/tmp/imguard-runner-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string fake = std::string(dir) + "/imguard-only-in-path";
  {
    std::ofstream f(fake);
    f << "#!/bin/sh\necho ran\n";
  }
  chmod(fake.c_str(), 0755);
  const char* old_path = getenv("PATH");
  const std::string saved = old_path != nullptr ? old_path : "";
  setenv("PATH", (std::string(dir) + ":" + saved).c_str(), 1);
  const auto out = system_runner()->run({"imguard-only-in-path"}, "");
  setenv("PATH", saved.c_str(), 1);
  unlink(fake.c_str());
  rmdir(dir);
  CHECK(out.exit_code == -1);
  CHECK(out.text.find("not found") != std::string::npos);
}
