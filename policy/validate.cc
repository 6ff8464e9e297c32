// SPDX-License-Identifier: GPL-3.0-or-later
// Cross-section checks of a parsed policy; no YAML here (policy/loader.cc owns that).
#include "policy/validate.h"

#include <algorithm>
#include <map>
#include <set>

#include "policy/identity.h"
#include "policy/marks.h"

namespace imguard::policy {

namespace {

uint32_t fnv1a(std::string_view s) noexcept {
  uint32_t h = 2166136261u;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h;
}

std::string mac_text(const MacAddress& m) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

void stable_ids(Policy& p, Diagnostics& diag) {
  std::map<uint32_t, size_t> seen;
  for (size_t i = 0; i < p.users.size(); ++i) {
    User& u = p.users[i];
    u.stable_id = fnv1a(u.name);
    if (u.stable_id == 0) {
      u.stable_id = 1;  // 0 means "unknown user" in the conntrack label
    }
    if (auto [it, fresh] = seen.emplace(u.stable_id, i); !fresh) {
      diag.error(u.origin + ": users." + u.name + ": its name hashes like users." +
                 p.users[it->second].name + " (" + p.users[it->second].origin +
                 "); rename one (expected: distinct names)");
    }
    p.index.by_stable_id[u.stable_id] = static_cast<uint16_t>(i);
  }
}

/// Addresses at the same prefix length, MACs and UIDs may belong to one user only.
void identities(Policy& p, Diagnostics& diag) {
  std::map<std::pair<packet::Address, uint8_t>, size_t> blocks;
  std::map<uint64_t, size_t> macs;
  std::map<uint32_t, size_t> uids;
  auto clash = [&](size_t i, size_t other, const std::string& what) {
    const User& u = p.users[i];
    diag.error(u.origin + ": users." + u.name + ": " + what + " is also claimed by users." +
               p.users[other].name + " (" + p.users[other].origin +
               ") (expected: each address, network, MAC and uid names one user)");
  };
  std::map<std::pair<packet::Address::Family, uint8_t>, size_t> level_of;
  for (size_t i = 0; i < p.users.size(); ++i) {
    const User& u = p.users[i];
    for (const Cidr& c : u.addresses) {
      auto [it, fresh] = blocks.emplace(std::make_pair(c.addr, c.prefix_len), i);
      if (!fresh && it->second != i) {
        clash(i, it->second, c.to_string());
        continue;
      }
      auto key = std::make_pair(c.addr.family, c.prefix_len);
      auto lv = level_of.find(key);
      if (lv == level_of.end()) {
        IdentityIndex::Level level;
        level.family = c.addr.family;
        level.prefix_len = c.prefix_len;
        p.index.levels.push_back(std::move(level));
        lv = level_of.emplace(key, p.index.levels.size() - 1).first;
      }
      p.index.levels[lv->second].users.emplace(c.addr, static_cast<uint16_t>(i));
    }
    for (const MacAddress& m : u.macs) {
      auto [it, fresh] = macs.emplace(mac_key(m), i);
      if (!fresh && it->second != i) {
        clash(i, it->second, "MAC " + mac_text(m));
        continue;
      }
      p.index.by_mac[mac_key(m)] = static_cast<uint16_t>(i);
    }
    for (uint32_t uid : u.uids) {
      auto [it, fresh] = uids.emplace(uid, i);
      if (!fresh && it->second != i) {
        clash(i, it->second, "uid " + std::to_string(uid));
        continue;
      }
      p.index.by_uid[uid] = static_cast<uint16_t>(i);
    }
  }
  std::stable_sort(p.index.levels.begin(), p.index.levels.end(),
                   [](const IdentityIndex::Level& a, const IdentityIndex::Level& b) {
                     return a.prefix_len > b.prefix_len;
                   });
}

/// Users a per-user throttle rule can meet; the last slot (users.size()) is "unknown".
std::vector<bool> reachable_users(const Policy& p, const Rule& r) {
  std::vector<bool> out(p.users.size() + 1, false);
  bool group_addresses = false;
  for (size_t g = 0; g < p.groups.size(); ++g) {
    group_addresses = group_addresses || (r.who_groups.test(g) && !p.groups[g].addresses.empty());
  }
  if (r.who_anyone || group_addresses) {
    std::fill(out.begin(), out.end(), true);  // an address in a group's block can be anyone's
    return out;
  }
  for (uint16_t u : r.who_users) {
    out[u] = true;
  }
  for (size_t u = 0; u < p.users.size(); ++u) {
    out[u] = out[u] || (p.users[u].groups & r.who_groups).any();
  }
  out[p.users.size()] = r.who_unknown;
  return out;
}

/// Numbers the mark buckets. A bucket is keyed by rule name (and user name for per-user
/// rules) and placed at hash(key) mod capacity with linear probing, keys taken in hash
/// order: adding or moving a rule leaves the other rules' buckets where they were unless
/// two keys collide, so open throttled connections keep their rate across a reload.
void quota_pools(Config& c);

void buckets(Config& c, Diagnostics& diag) {
  Policy& p = c.policy;
  struct Key {
    uint32_t hash;
    std::string text;
    uint16_t rule;
    uint16_t user;  // kNoUser: the rule's single bucket, or the unknown-user bucket
    bool per_user;
  };
  std::vector<Key> keys;
  for (size_t i = 0; i < p.rules.size(); ++i) {
    Rule& r = p.rules[i];
    r.bucket = kNoBucket;
    r.user_buckets.clear();
    // Monitored throttles (and everything under enforce: false) are enforced as allow:
    // they never reach the kernel, so they take no mark space. A quota rule needs its
    // own bucket(s) even when it allows: the kernel picks the pool by the mark.
    const bool throttles = r.spec.action == Action::kThrottle;
    if ((!throttles && !r.quota) || r.spec.monitor || !p.enforce) {
      continue;
    }
    const auto ri = static_cast<uint16_t>(i);
    const bool per_user = (throttles && r.spec.scope == ThrottleScope::kPerUser) ||
                          (r.quota && r.quota->scope == QuotaScope::kPerUser);
    if (!per_user) {
      keys.push_back({fnv1a(r.name), r.name, ri, kNoUser, false});
      continue;
    }
    r.user_buckets.assign(p.users.size() + 1, kNoBucket);
    const auto reach = reachable_users(p, r);
    for (size_t u = 0; u < reach.size(); ++u) {
      if (!reach[u]) {
        continue;
      }
      const bool unknown = u == p.users.size();
      std::string text = r.name + "/" + (unknown ? std::string("(unknown)") : p.users[u].name);
      keys.push_back(
          {fnv1a(text), std::move(text), ri, unknown ? kNoUser : static_cast<uint16_t>(u), true});
    }
  }
  const size_t capacity = std::min<size_t>(mark_bucket_capacity(c.mark_mask), 65536);
  if (keys.size() > capacity) {
    // Point at the rule that needs the most buckets: it is the one to change.
    std::vector<size_t> need(p.rules.size(), 0);
    for (const Key& k : keys) {
      ++need[k.rule];
    }
    const auto worst =
        static_cast<size_t>(std::max_element(need.begin(), need.end()) - need.begin());
    const Rule& w = p.rules[worst];
    const bool quotas = std::any_of(p.rules.begin(), p.rules.end(),
                                    [](const Rule& r) { return r.quota.has_value(); });
    char mask[16];
    std::snprintf(mask, sizeof mask, "0x%08x", c.mark_mask);
    diag.error((w.origin.empty() ? c.source : w.origin) + ": " +
               (w.from_action_table ? w.name : "rules." + w.name) +
               ".action: " + (quotas ? "throttle and quota rules" : "throttle rules") + " need " +
               std::to_string(keys.size()) + " kernel buckets (one per rule; a `per user` " +
               (quotas ? "throttle or quota" : "rule") +
               " one per user it can meet, and one more if it can meet hosts of no user; this rule "
               "needs " +
               std::to_string(need[worst]) + "), but engine.mark_mask " + mask + " has room for " +
               std::to_string(capacity) +
               " (expected: a wider window such as 0xffff0000 for 8192, or `per host`/`shared` "
               "buckets, which need one each)");
    return;
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.text < b.text;
  });
  p.buckets.assign(capacity, Bucket{kNoRule, kNoUser});
  for (const Key& k : keys) {
    size_t slot = k.hash % p.buckets.size();
    while (p.buckets[slot].rule != kNoRule) {
      slot = (slot + 1) % p.buckets.size();
    }
    p.buckets[slot] = Bucket{k.rule, k.user};
    Rule& r = p.rules[k.rule];
    if (k.per_user) {
      r.user_buckets[k.user == kNoUser ? p.users.size() : k.user] = static_cast<uint16_t>(slot);
    } else {
      r.bucket = static_cast<uint16_t>(slot);
    }
  }
  // Trailing unused numbers are not needed by anybody.
  while (!p.buckets.empty() && p.buckets.back().rule == kNoRule) {
    p.buckets.pop_back();
  }
  quota_pools(c);
}

/// One pool per (rule, user) bucket of a per-user quota, one per rule for a shared one,
/// numbered in bucket order.
void quota_pools(Config& c) {
  Policy& p = c.policy;
  p.quota_pools.clear();
  std::map<uint16_t, uint16_t> shared;  // rule → its pool
  for (Bucket& b : p.buckets) {
    if (b.rule == kNoRule || !p.rules[b.rule].quota) {
      continue;
    }
    const Rule& r = p.rules[b.rule];
    if (r.quota->scope == QuotaScope::kShared) {
      auto [it, fresh] = shared.emplace(b.rule, static_cast<uint16_t>(p.quota_pools.size()));
      if (fresh) {
        p.quota_pools.push_back({b.rule, kNoUser, false, r.name});
      }
      b.pool = it->second;
      continue;
    }
    const bool unknown = b.user == kNoUser;
    b.pool = static_cast<uint16_t>(p.quota_pools.size());
    p.quota_pools.push_back(
        {b.rule, b.user, unknown, r.name + "/" + (unknown ? "(unknown)" : p.users[b.user].name)});
  }
}

/// Quotas are counted by nft quota objects; say so when they cannot be.
void quota_backend(const Config& c, Diagnostics& diag) {
  for (const Rule& r : c.policy.rules) {
    if (!r.quota) {
      continue;
    }
    if (c.backend == Backend::kIptables) {
      diag.error(r.quota->origin + ": rules." + r.name +
                 ".quota: quotas need the nftables backend: iptables' quota match can be "
                 "neither read back nor preset per pool, so counts could not survive a reload "
                 "or restart (expected: engine.backend: auto or nftables)");
    } else if (!c.policy.enforce) {
      diag.warning(r.quota->origin + ": warning: rules." + r.name +
                   ".quota: engine.enforce is false, so nothing is counted or limited");
    }
  }
}

// ---- shadowing ----------------------------------------------------------------------

bool who_covers(const Policy& p, const Rule& a, const Rule& b) {
  if (a.who_anyone) {
    return true;
  }
  if (b.who_anyone) {
    return false;
  }
  if (b.who_unknown && !a.who_unknown) {
    return false;
  }
  for (uint16_t u : b.who_users) {
    const bool listed = std::binary_search(a.who_users.begin(), a.who_users.end(), u);
    if (!listed && (p.users[u].groups & a.who_groups).none()) {
      return false;
    }
  }
  // Every group of b must be one of a's.
  return (b.who_groups & ~a.who_groups).none();
}

/// The apps a rule can match, as a bit per AppId.
std::vector<bool> app_set(const Rule& r) {
  std::vector<bool> s(kAppCount, false);
  for (size_t i = 0; i < kAppCount; ++i) {
    const auto app = static_cast<classifiers::AppId>(i);
    const bool app_ok =
        r.apps.empty() || std::find(r.apps.begin(), r.apps.end(), app) != r.apps.end();
    const bool cat_ok =
        r.categories.empty() || std::find(r.categories.begin(), r.categories.end(),
                                          classifiers::app_category(app)) != r.categories.end();
    s[i] = app_ok && cat_ok;
  }
  return s;
}

bool covers(const Policy& p, const Rule& a, const Rule& b) {
  if (!who_covers(p, a, b)) {
    return false;
  }
  const auto sa = app_set(a);
  const auto sb = app_set(b);
  for (size_t i = 0; i < kAppCount; ++i) {
    if (sb[i] && !sa[i]) {
      return false;
    }
  }
  if (a.features != 0 && (b.features == 0 || (b.features & ~a.features) != 0)) {
    return false;
  }
  if (a.evidence != 0 && (b.evidence == 0 || (b.evidence & ~a.evidence) != 0)) {
    return false;
  }
  if (a.direction != FlowDirection::kAny && a.direction != b.direction) {
    return false;
  }
  if (a.when != kNoSchedule && a.when != b.when) {
    return false;
  }
  return a.not_when == kNoSchedule || a.not_when == b.not_when;
}

bool catch_all(const Rule& r) {
  return r.who_anyone && r.apps.empty() && r.categories.empty() && r.features == 0 &&
         r.evidence == 0 && r.direction == FlowDirection::kAny && r.when == kNoSchedule &&
         r.not_when == kNoSchedule;
}

/// P2P peer connections always carry file_transfer, so a file_transfer rule ahead of a
/// p2p rule decides them; say so, since the admin almost certainly meant the p2p rule.
bool takes_p2p_peers(const Policy& p, const Rule& a, const Rule& b) {
  if (!(a.features & classifiers::kFeatureFileTransfer) || !a.apps.empty() ||
      !a.categories.empty() || a.evidence != 0 || a.direction != FlowDirection::kAny ||
      a.when != kNoSchedule || a.not_when != kNoSchedule || !who_covers(p, a, b)) {
    return false;
  }
  // Only a rule that names apps or categories is "about" P2P; a catch-all is not.
  if (b.features != 0 || (b.apps.empty() && b.categories.empty())) {
    return false;
  }
  const auto sb = app_set(b);
  for (size_t i = 0; i < kAppCount; ++i) {
    if (sb[i] && classifiers::app_category(static_cast<classifiers::AppId>(i)) ==
                     classifiers::Category::kP2p) {
      return true;
    }
  }
  return false;
}

std::string rule_label(const Rule& r) {
  return r.from_action_table ? r.name : "rule '" + r.name + "'";
}

void shadows(Config& c, Diagnostics& diag) {
  Policy& p = c.policy;
  const size_t ordered = p.ordered_rules;
  for (size_t j = 0; j < ordered; ++j) {
    const Rule& b = p.rules[j];
    for (size_t i = 0; i < j; ++i) {
      const Rule& a = p.rules[i];
      if (covers(p, a, b)) {
        diag.warning(b.origin + ": warning: " + rule_label(b) + " can never match: " +
                     rule_label(a) + " (" + a.origin + ") matches every flow it would");
        break;
      }
      if (takes_p2p_peers(p, a, b) && a.spec != b.spec) {
        diag.warning(b.origin + ": warning: " + rule_label(b) +
                     " decides only P2P flows without file transfer (trackers, DHT): P2P peer "
                     "connections all carry file_transfer and are decided by " +
                     rule_label(a) + " (" + a.origin + ") first");
        break;
      }
    }
  }
  for (size_t i = 0; i < ordered; ++i) {
    if (catch_all(p.rules[i]) && p.rules.size() > ordered + 1) {
      diag.warning(p.rules[i].origin + ": warning: " + rule_label(p.rules[i]) +
                   " matches every flow; nothing under actions: is ever used");
      break;
    }
  }
  // The legacy table: a feature entry beats a category entry.
  const ActionTable& t = p.table;
  const uint16_t ft = t.by_feature[0];  // file_transfer
  const uint16_t cp = t.by_category[static_cast<size_t>(classifiers::Category::kP2p)];
  if (ft != kNoRule && cp != kNoRule && !(p.rules[ft].spec == p.rules[cp].spec)) {
    diag.warning(p.rules[cp].origin +
                 ": warning: actions.categories.p2p applies only to P2P "
                 "flows without file transfer (trackers, DHT): P2P peer connections all carry "
                 "file_transfer, so actions.features.file_transfer (" +
                 p.rules[ft].origin +
                 ") decides them (expected: an apps: entry, or a rule under rules:, to treat "
                 "P2P differently)");
  }
}

}  // namespace

std::vector<Cidr> default_local_networks() {
  std::vector<Cidr> out;
  for (const char* text :
       {"10.0.0.0", "172.16.0.0", "192.168.0.0", "100.64.0.0", "fc00::", "fe80::"}) {
    Cidr c;
    c.addr = packet::Address::parse(text);
    out.push_back(c);
  }
  out[0].prefix_len = 8;
  out[1].prefix_len = 12;
  out[2].prefix_len = 16;
  out[3].prefix_len = 10;
  out[4].prefix_len = 7;
  out[5].prefix_len = 10;
  return out;
}

void finish_policy(Config& c, Diagnostics& diag) {
  stable_ids(c.policy, diag);
  identities(c.policy, diag);
  buckets(c, diag);
  quota_backend(c, diag);
  shadows(c, diag);
}

}  // namespace imguard::policy
