// SPDX-License-Identifier: GPL-3.0-or-later
// nfq::Queue against the real kernel, inside a private network namespace (root only; the
// cases warn and return otherwise). Binding and per-flag acknowledgements, the CONNTRACK probe,
// and a second bind of the same queue being refused.
#include <sched.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "engine/daemon.h"
#include "nfq/queue.h"

namespace imguard::nfq {
namespace {

// Runs `fn` on a thread that lives in a fresh network namespace (namespaces are per thread).
template <typename Fn>
bool in_private_netns(Fn fn) {
  bool entered = false;
  std::thread t([&] {
    if (unshare(CLONE_NEWNET) != 0) {
      return;
    }
    entered = true;
    fn();
  });
  t.join();
  return entered;
}

}  // namespace

TEST_CASE("a queue binds with each optional flag acknowledged on its own", "[nfq]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root (NFQUEUE bind in a private network namespace)");
    return;
  }
  std::string error;
  bool gso = false;
  bool fail_open = false;
  bool conntrack_answered = false;
  bool second_refused = false;
  std::string second_error;
  const bool ran = in_private_netns([&] {
    QueueOptions o;
    o.queue_num = 7;
    o.when_full = WhenFull::kAccept;
    auto q = Queue::open(o, error);
    if (!q) {
      return;
    }
    gso = q->capabilities().gso;
    fail_open = q->capabilities().fail_open;
    // Either accepted, or refused with a reason (EOPNOTSUPP without netlink glue).
    conntrack_answered = q->capabilities().conntrack || q->capabilities().conntrack_errno != 0;
    auto again = Queue::open(o, second_error);
    second_refused = again == nullptr;
  });
  REQUIRE(ran);
  INFO(error);
  CHECK(error.empty());
  CHECK(gso);
  CHECK(fail_open);
  CHECK(conntrack_answered);
  CHECK(second_refused);
  CHECK(second_error.find("queue 7") != std::string::npos);
}

TEST_CASE("fail-closed queues do not request FAIL_OPEN", "[nfq]") {
  if (geteuid() != 0) {
    WARN("skipped: needs root (NFQUEUE bind in a private network namespace)");
    return;
  }
  std::string error;
  bool fail_open = true;
  bool opened = false;
  const bool ran = in_private_netns([&] {
    QueueOptions o;
    o.queue_num = 9;
    o.when_full = WhenFull::kDrop;
    auto q = Queue::open(o, error);
    opened = q != nullptr;
    fail_open = opened && q->capabilities().fail_open;
  });
  REQUIRE(ran);
  CHECK(opened);
  CHECK_FALSE(fail_open);
}

}  // namespace imguard::nfq

namespace imguard::engine {

TEST_CASE("queued-packets histogram reports p50, p99 and max per connection", "[daemon]") {
  QueuedHistogram h;
  for (int i = 0; i < 98; ++i) {
    h.add(4);
  }
  h.add(12);
  h.add(5000);  // beyond the last slot: counted there
  CHECK(h.connections() == 100);
  CHECK(h.quantile(0.5) == 4);
  CHECK(h.quantile(0.99) == 12);
  CHECK(h.max() == QueuedHistogram::kSlots - 1);
  QueuedHistogram other;
  other.add(7);
  h.merge(other);
  CHECK(h.connections() == 101);
  CHECK(QueuedHistogram{}.quantile(0.5) == 0);
}

}  // namespace imguard::engine
