// SPDX-License-Identifier: GPL-3.0-or-later
// Field names follow Suricata's EVE JSON where one exists (src_ip, dest_port, proto,
// flow.pkts_toserver, ...); the Community ID follows github.com/corelight/community-id-spec
// (README "Pseudo code"; checked against its baseline/baseline_deflt.json and
// baseline_seed1.json vectors in tests/unit/engine/events_test.cc).
#include "engine/events.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>

#include "engine/json.h"
#include "engine/report.h"
#include "policy/decision.h"

namespace imguard::engine {
namespace {

using classifiers::app_category;
using classifiers::app_name;
using classifiers::category_name;
using classifiers::evidence_name;

std::string_view proto_name(packet::L4 l4) noexcept {
  return l4 == packet::L4::kTcp ? "TCP" : "UDP";
}

bool decided(const EventFlow& f) noexcept {
  return f.decision.when != CachedDecision::When::kNone;
}

/// As in reports: the features the policy saw (with `serving`) once there is a decision.
uint8_t features_of(const EventFlow& f) noexcept {
  return decided(f) ? f.decision.features : f.result.features;
}

size_t address_length(const packet::Address& a) noexcept {
  return a.is_v4() ? 4 : 16;
}

void put16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v & 0xff);
}

}  // namespace

std::string rfc3339(Timestamp ts) {
  const int64_t us = ts.count();
  int64_t secs = us / 1'000'000;
  int64_t frac = us % 1'000'000;
  if (frac < 0) {  // before 1970: floor, so the fraction stays positive
    frac += 1'000'000;
    --secs;
  }
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06dZ", static_cast<int>(frac));
  return buf;
}

std::string_view event_type_name(EventType type) noexcept {
  return type == EventType::kDecision ? "imguard_decision" : "imguard_flow_end";
}

std::string_view event_message_id(EventType type) noexcept {
  return type == EventType::kDecision ? "d8c1ed211f4c4ad9be23cfab835f0dc4"
                                      : "c8683ce1e1014455a0dcf43888ded0f9";
}

EventFlow EventFlow::from_record(const FlowRecord& r) {
  EventFlow f;
  f.ts = r.last_seen;
  f.flow_id = r.id;
  f.l4 = r.l4;
  f.src = r.src;
  f.dst = r.dst;
  f.sport = r.sport;
  f.dport = r.dport;
  f.result = r.result;
  f.classifier = r.classifier;
  f.decision = r.decision;
  std::copy(std::begin(r.packets), std::end(r.packets), std::begin(f.packets));
  std::copy(std::begin(r.bytes), std::end(r.bytes), std::begin(f.bytes));
  f.end = r.end;
  return f;
}

std::string community_id(const packet::Address& saddr, uint16_t sport, const packet::Address& daddr,
                         uint16_t dport, packet::L4 l4, uint16_t seed) {
  const size_t len = address_length(saddr);
  const packet::Address* a = &saddr;
  const packet::Address* b = &daddr;
  uint16_t pa = sport;
  uint16_t pb = dport;
  // "Swap the endpoints, if needed, so the numerically smaller IP:port tuple comes first.
  // If the IP addresses are equal, the ports decide." Addresses compare as big-endian
  // bytes, i.e. numerically.
  const int cmp = std::memcmp(a->bytes.data(), b->bytes.data(), len);
  if (cmp > 0 || (cmp == 0 && pa > pb)) {
    std::swap(a, b);
    std::swap(pa, pb);
  }
  uint8_t input[2 + 16 + 16 + 2 + 4];
  uint8_t* p = input;
  put16(p, seed);
  p += 2;
  std::memcpy(p, a->bytes.data(), len);
  p += len;
  std::memcpy(p, b->bytes.data(), len);
  p += len;
  *p++ = static_cast<uint8_t>(l4);
  *p++ = 0;  // padding to the 32-bit boundary
  put16(p, pa);
  p += 2;
  put16(p, pb);
  p += 2;

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(input, static_cast<size_t>(p - input), digest, &digest_len, EVP_sha1(), nullptr) !=
      1) {
    return "";  // the spec allows an empty id when one cannot be computed
  }
  unsigned char b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  const int b64_len = EVP_EncodeBlock(b64, digest, static_cast<int>(digest_len));
  return "1:" + std::string(reinterpret_cast<const char*>(b64), static_cast<size_t>(b64_len));
}

std::string flow_event(EventType type, const EventFlow& f, const policy::Config& c,
                       uint64_t generation, const std::vector<uint64_t>* quota_used) {
  Json j;
  j["timestamp"] = rfc3339(f.ts);
  j["flow_id"] = f.flow_id;
  j["community_id"] = community_id(f.src, f.sport, f.dst, f.dport, f.l4);
  j["event_type"] = event_type_name(type);
  j["src_ip"] = f.src.to_string();
  j["src_port"] = f.sport;
  j["dest_ip"] = f.dst.to_string();
  j["dest_port"] = f.dport;
  j["proto"] = proto_name(f.l4);
  j["app"] = app_name(f.result.app);
  j["category"] = category_name(app_category(f.result.app));
  j["features"] = feature_names(features_of(f));
  if (decided(f)) {
    j["user"] = policy_user_name(c, f.decision.decision.user);
    add_rule_and_action(j, c, f.decision);
    const uint16_t pool = policy::quota_pool(c.policy, f.decision.decision);
    if (quota_used != nullptr && pool < quota_used->size() && j.contains("quota")) {
      j["quota"]["used_bytes"] = (*quota_used)[pool];
      j["quota"]["exhausted"] = (*quota_used)[pool] >= j["quota"]["limit_bytes"].get<uint64_t>();
    }
  }
  j["classifier"] = f.classifier;
  j["evidence"] = evidence_name(f.result.evidence);
  Json flow;
  flow["pkts_toserver"] = f.packets[0];
  flow["pkts_toclient"] = f.packets[1];
  flow["bytes_toserver"] = f.bytes[0];
  flow["bytes_toclient"] = f.bytes[1];
  if (type == EventType::kFlowEnd && f.end.has_value()) {
    flow["reason"] = end_reason_name(*f.end);
  }
  j["flow"] = std::move(flow);
  j["policy_generation"] = generation;
  return json_dump(j);
}

// ---------------------------------------------------------------------------- EventLog

EventLog::EventLog(std::string path) : path_(std::move(path)) {
  reopen();
}

EventLog::~EventLog() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
}

void EventLog::fail(const char* what, int err) noexcept {
  ++errors_;
  last_op_ = what;
  last_errno_ = err;
}

bool EventLog::reopen() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) {
    fail("open", errno);
    return false;
  }
  return true;
}

bool EventLog::write(std::string_view line) noexcept {
  if (fd_ < 0) {
    ++errors_;  // keep the open error as last_error(): it says why
    return false;
  }
  static constexpr char kNewline[] = "\n";
  const bool add_newline = line.empty() || line.back() != '\n';
  // writev() only reads through iov_base; the casts drop a const it never needed.
  iovec iov[2] = {{const_cast<char*>(line.data()), line.size()},
                  {const_cast<char*>(kNewline), add_newline ? size_t{1} : size_t{0}}};
  iovec* v = iov;
  int count = 2;
  while (count > 0) {
    const ssize_t n = ::writev(fd_, v, count);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      fail("write", n < 0 ? errno : EIO);
      return false;
    }
    // A short write (disk nearly full, a signal): finish the line rather than leave half.
    auto done = static_cast<size_t>(n);
    while (count > 0 && done >= v->iov_len) {
      done -= v->iov_len;
      ++v;
      --count;
    }
    if (count > 0) {
      v->iov_base = static_cast<char*>(v->iov_base) + done;
      v->iov_len -= done;
    }
  }
  ++lines_;
  return true;
}

std::string EventLog::last_error() const {
  if (last_op_ == nullptr) {
    return "";
  }
  return path_ + ": " + last_op_ + ": " + std::strerror(last_errno_);
}

// ---------------------------------------------------------------------------- journald

std::vector<std::string> journal_fields(EventType type, const EventFlow& f, const policy::Config& c,
                                        uint64_t generation) {
  const std::string src = f.src.to_string();
  const std::string dst = f.dst.to_string();
  const std::string_view app = app_name(f.result.app);
  const std::string_view proto = proto_name(f.l4);
  std::string features;
  for (std::string_view name : feature_names(features_of(f))) {
    features += (features.empty() ? "" : ",") + std::string(name);
  }

  std::string message = type == EventType::kDecision ? "decision " : "flow end ";
  std::string user;
  std::string rule;
  std::string_view action;
  bool blocked = false;
  if (decided(f)) {
    const policy::Decision& d = f.decision.decision;
    user = utf8_sanitize(policy_user_name(c, d.user));
    rule = utf8_sanitize(policy_rule_name(c, d.rule));
    action = policy::action_name(d.enforced);
    blocked = d.enforced == policy::Action::kDrop || d.enforced == policy::Action::kReject;
    message += std::string(action) + (d.monitored() ? " (monitor " : "") +
               (d.monitored() ? std::string(policy::action_name(d.action)) + ")" : "") + ": user " +
               user + ", app " + std::string(app) + ", rule " + rule;
  } else {
    message += "(no decision): app " + std::string(app);
  }
  message += ", " + src + ":" + std::to_string(f.sport) + " -> " + dst + ":" +
             std::to_string(f.dport) + " " + std::string(proto);
  if (type == EventType::kFlowEnd && f.end.has_value()) {
    message += ", " + std::to_string(f.bytes[0] + f.bytes[1]) + " bytes, end " +
               std::string(end_reason_name(*f.end));
  }

  std::vector<std::string> v;
  v.reserve(32);
  const auto add = [&v](std::string_view name, std::string_view value) {
    v.push_back(std::string(name) + "=" + std::string(value));
  };
  add("MESSAGE", message);
  add("MESSAGE_ID", event_message_id(type));
  add("PRIORITY", type == EventType::kDecision && blocked ? "5" : "6");
  add("SYSLOG_IDENTIFIER", "imguard");
  add("IMGUARD_EVENT", event_type_name(type));
  add("IMGUARD_FLOW_ID", std::to_string(f.flow_id));
  add("IMGUARD_COMMUNITY_ID", community_id(f.src, f.sport, f.dst, f.dport, f.l4));
  add("IMGUARD_PROTO", proto);
  add("IMGUARD_SRC_IP", src);
  add("IMGUARD_SRC_PORT", std::to_string(f.sport));
  add("IMGUARD_DEST_IP", dst);
  add("IMGUARD_DEST_PORT", std::to_string(f.dport));
  add("IMGUARD_APP", app);
  add("IMGUARD_CATEGORY", category_name(app_category(f.result.app)));
  if (!features.empty()) {
    add("IMGUARD_FEATURES", features);
  }
  if (decided(f)) {
    const policy::Decision& d = f.decision.decision;
    add("IMGUARD_USER", user);
    add("IMGUARD_RULE", rule);
    add("IMGUARD_ACTION", action);
    if (d.monitored()) {
      add("IMGUARD_MONITOR", policy::action_name(d.action));
    }
    if (d.action == policy::Action::kThrottle) {
      add("IMGUARD_RATE_BYTES_PER_SEC", std::to_string(d.rate_bytes_per_sec));
    }
    add("IMGUARD_DECIDED", decided_name(f.decision.when));
  }
  add("IMGUARD_CLASSIFIER", utf8_sanitize(f.classifier));
  add("IMGUARD_EVIDENCE", evidence_name(f.result.evidence));
  add("IMGUARD_PKTS_TOSERVER", std::to_string(f.packets[0]));
  add("IMGUARD_PKTS_TOCLIENT", std::to_string(f.packets[1]));
  add("IMGUARD_BYTES_TOSERVER", std::to_string(f.bytes[0]));
  add("IMGUARD_BYTES_TOCLIENT", std::to_string(f.bytes[1]));
  if (type == EventType::kFlowEnd && f.end.has_value()) {
    add("IMGUARD_END", end_reason_name(*f.end));
  }
  add("IMGUARD_POLICY_GENERATION", std::to_string(generation));
  return v;
}

int journal_event(EventType type, const EventFlow& flow, const policy::Config& config,
                  uint64_t generation) noexcept {
  try {
    const std::vector<std::string> fields = journal_fields(type, flow, config, generation);
    std::vector<iovec> iov(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
      iov[i].iov_base = const_cast<char*>(fields[i].data());
      iov[i].iov_len = fields[i].size();
    }
    return sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  }
}

}  // namespace imguard::engine
