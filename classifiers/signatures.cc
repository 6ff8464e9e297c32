// SPDX-License-Identifier: GPL-3.0-or-later
// Parser and lookups for the signature data file (format in signatures.h). Parsing runs at
// start-up only; lookups run on the packet path and never allocate.
#include "classifiers/signatures.h"

#include "classifiers/classifier.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace imguard::classifiers {
namespace {

constexpr size_t kMaxName = 253;  // longest DNS name (RFC 1035)

char lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  return out;
}

bool valid_host(std::string_view s) noexcept {
  if (s.empty() || s.size() > kMaxName || s.front() == '.' || s.back() == '.') {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
  });
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
      ++i;
    }
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
      ++i;
    }
    if (i > start) {
      out.push_back(line.substr(start, i - start));
    }
  }
  return out;
}

bool prefix_matches(const packet::Address& net, uint8_t bits,
                    const packet::Address& addr) noexcept {
  if (net.family != addr.family) {
    return false;
  }
  const size_t full = bits / 8;
  if (std::memcmp(net.bytes.data(), addr.bytes.data(), full) != 0) {
    return false;
  }
  const unsigned rest = bits % 8;
  if (rest == 0) {
    return true;
  }
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (net.bytes[full] & mask) == (addr.bytes[full] & mask);
}

}  // namespace

std::optional<Signatures> Signatures::parse(std::string_view text, std::string_view origin,
                                            std::string& error) {
  Signatures sigs;
  size_t line_no = 0;
  size_t pos = 0;
  auto fail = [&](const std::string& msg) {
    error = std::string(origin) + ":" + std::to_string(line_no) + ": " + msg;
    return std::nullopt;
  };
  while (pos <= text.size()) {
    const size_t nl = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    const auto f = fields(line);
    if (f.empty()) {
      continue;
    }
    const bool host_kind = f[0] == "sni" || f[0] == "sni-suffix";
    if (f.size() != 3 && !(host_kind && f.size() == 4)) {
      return fail(
          "expected '<kind> <value> <app>' (sni and sni-suffix: optionally "
          "'file_transfer' or 'call_relay' after the app), got " +
          std::to_string(f.size()) + " fields");
    }
    const auto app = app_from_name(f[2]);
    if (!app || *app == AppId::kUnknown) {
      return fail("unknown app '" + std::string(f[2]) + "' (names are listed in apps.cc)");
    }
    const std::string value = lowered(f[1]);
    if (host_kind) {
      if (!valid_host(value)) {
        return fail("bad host name '" + std::string(f[1]) + "'");
      }
      HostMatch entry{.app = *app, .features = 0};
      if (f.size() == 4) {
        if (f[3] == "file_transfer") {
          entry.features = kFeatureFileTransfer;
        } else if (f[3] == "call_relay") {
          entry.call_relay = true;
        } else {
          return fail("unknown host feature '" + std::string(f[3]) +
                      "' (expected: file_transfer, call_relay)");
        }
      }
      (f[0] == "sni" ? sigs.sni_exact_ : sigs.sni_suffix_)[value] = entry;
    } else if (f[0] == "alpn") {
      if (value.size() > 255) {
        return fail("ALPN protocol id longer than 255 bytes");
      }
      sigs.alpn_[std::string(f[1])] = *app;
    } else if (f[0] == "cidr") {
      const size_t slash = value.find('/');
      const packet::Address net = packet::Address::parse(value.substr(0, slash));
      if (slash == std::string::npos || net.family == packet::Address::Family::kNone) {
        return fail("bad CIDR '" + std::string(f[1]) + "' (expected address/bits)");
      }
      const std::string bits_text = value.substr(slash + 1);
      char* end = nullptr;
      const unsigned long bits = std::strtoul(bits_text.c_str(), &end, 10);
      const unsigned long max_bits = net.is_v4() ? 32 : 128;
      if (bits_text.empty() || *end != '\0' || bits > max_bits) {
        return fail("bad prefix length in '" + std::string(f[1]) + "' (0.." +
                    std::to_string(max_bits) + ")");
      }
      sigs.cidrs_.push_back(Prefix{net, static_cast<uint8_t>(bits), *app});
    } else if (f[0] == "stun-software") {
      sigs.stun_software_.push_back(TextPrefix{value, *app});
    } else {
      return fail("unknown kind '" + std::string(f[0]) +
                  "' (expected: sni, sni-suffix, alpn, cidr, stun-software)");
    }
  }
  return sigs;
}

std::shared_ptr<const Signatures> Signatures::builtin() {
  std::string error;
  auto sigs = parse(builtin_signatures_text(), "classifiers/signatures.conf", error);
  if (!sigs) {
    // The embedded file is part of the build and covered by a unit test.
    std::fprintf(stderr, "imguard: built-in signatures: %s\n", error.c_str());
    std::abort();
  }
  return std::make_shared<const Signatures>(std::move(*sigs));
}

void Signatures::merge(const Signatures& other) {
  for (const auto& [k, v] : other.sni_exact_) {
    sni_exact_[k] = v;
  }
  for (const auto& [k, v] : other.sni_suffix_) {
    sni_suffix_[k] = v;
  }
  for (const auto& [k, v] : other.alpn_) {
    alpn_[k] = v;
  }
  // Later prefixes are checked first, so a user's entry overrides a built-in one.
  cidrs_.insert(cidrs_.begin(), other.cidrs_.begin(), other.cidrs_.end());
  stun_software_.insert(stun_software_.begin(), other.stun_software_.begin(),
                        other.stun_software_.end());
}

std::optional<AppId> Signatures::app_for_sni(std::string_view host) const noexcept {
  if (auto m = match_sni(host)) {
    return m->app;
  }
  return std::nullopt;
}

std::optional<Signatures::HostMatch> Signatures::match_sni(std::string_view host) const noexcept {
  if (host.empty() || host.size() > kMaxName) {
    return std::nullopt;
  }
  std::array<char, kMaxName> buf{};
  for (size_t i = 0; i < host.size(); ++i) {
    buf[i] = lower(host[i]);
  }
  std::string_view name(buf.data(), host.size());
  if (!name.empty() && name.back() == '.') {
    name.remove_suffix(1);  // fully qualified form
  }
  if (auto it = sni_exact_.find(name); it != sni_exact_.end()) {
    return it->second;
  }
  // Walk the label boundaries: a.b.example.com, b.example.com, example.com, com.
  for (std::string_view rest = name; !rest.empty();) {
    if (auto it = sni_suffix_.find(rest); it != sni_suffix_.end()) {
      return it->second;
    }
    const size_t dot = rest.find('.');
    if (dot == std::string_view::npos) {
      break;
    }
    rest.remove_prefix(dot + 1);
  }
  return std::nullopt;
}

bool Signatures::embeds_name_of(std::string_view host, AppId app) const noexcept {
  if (host.empty() || host.size() > kMaxName) {
    return false;
  }
  std::array<char, kMaxName> buf{};
  for (size_t i = 0; i < host.size(); ++i) {
    buf[i] = lower(host[i]);
  }
  const std::string_view name(buf.data(), host.size());
  const auto embedded = [&](std::string_view domain) {
    for (size_t at = name.find(domain); at != std::string_view::npos;
         at = name.find(domain, at + 1)) {
      const size_t end = at + domain.size();
      if ((at == 0 || name[at - 1] == '.') && end < name.size() && name[end] == '.') {
        return true;
      }
    }
    return false;
  };
  for (const HostMap* map : {&sni_exact_, &sni_suffix_}) {
    for (const auto& [domain, entry] : *map) {
      if (entry.app == app && embedded(domain)) {
        return true;
      }
    }
  }
  return false;
}

bool Signatures::has_file_hosts(AppId app) const noexcept {
  for (const HostMap* map : {&sni_exact_, &sni_suffix_}) {
    for (const auto& [domain, entry] : *map) {
      if (entry.app == app && (entry.features & kFeatureFileTransfer) != 0) {
        return true;
      }
    }
  }
  return false;
}

std::optional<AppId> Signatures::app_for_alpn(std::string_view alpn) const noexcept {
  if (auto it = alpn_.find(alpn); it != alpn_.end()) {
    return it->second;
  }
  return std::nullopt;
}

std::optional<AppId> Signatures::app_for_address(const packet::Address& addr) const noexcept {
  for (const auto& p : cidrs_) {
    if (prefix_matches(p.net, p.bits, addr)) {
      return p.app;
    }
  }
  return std::nullopt;
}

std::optional<AppId> Signatures::app_for_stun_software(std::string_view software) const noexcept {
  for (const auto& p : stun_software_) {
    if (software.size() < p.prefix.size()) {
      continue;
    }
    bool same = true;
    for (size_t i = 0; i < p.prefix.size() && same; ++i) {
      same = lower(software[i]) == p.prefix[i];
    }
    if (same) {
      return p.app;
    }
  }
  return std::nullopt;
}

size_t Signatures::size() const noexcept {
  return sni_exact_.size() + sni_suffix_.size() + alpn_.size() + cidrs_.size() +
         stun_software_.size();
}

}  // namespace imguard::classifiers
