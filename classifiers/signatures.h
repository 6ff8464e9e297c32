// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "classifiers/apps.h"
#include "packet/address.h"

namespace imguard::classifiers {

/// Host-name, ALPN, address and STUN-software signatures, kept as data (STYLE rule 13).
///
/// Text format, one signature a line; `#` starts a comment, blank lines are ignored:
///
///     sni <host> <app> [file_transfer|call_relay]   TLS/QUIC server name equal to <host>
///     sni-suffix <domain> <app> [file_transfer|call_relay]  server name equal to <domain>
///                                                   or ending in ".<domain>"
///     alpn <protocol-id> <app>     an ALPN protocol offered in the ClientHello
///     cidr <address>/<bits> <app>  IPv4 or IPv6 prefix of the app's own servers
///     stun-software <prefix> <app> STUN SOFTWARE attribute starting with <prefix>
///
/// Host names and prefixes match case-insensitively; `<app>` is a name from apps.cc. The
/// optional `file_transfer` marks a host that carries the app's attachments and media and
/// nothing else (its flows get kFeatureFileTransfer). The optional `call_relay` marks an
/// app's own call relay (TURN) hosts: a TLS connection to one teaches the client's worker
/// that the server's address relays that app's calls, so the client's STUN/TURN flows to
/// the same address get the app as a cross-flow hint (Stun). The most specific name wins: an exact
/// `sni`, then the longest matching `sni-suffix`, so `sni-suffix cdn.example.com app
/// file_transfer` refines `sni-suffix example.com app`.
/// The built-in set is classifiers/signatures.conf, embedded at build time; users may add
/// files with `parse()` + `merge()`. Immutable once built; lookups are noexcept and
/// allocation-free, so one instance can be shared read-only by the classifiers of a chain.
class Signatures {
 public:
  /// Parses `text`. On error returns nullopt and sets `error` to "origin:line: message".
  static std::optional<Signatures> parse(std::string_view text, std::string_view origin,
                                         std::string& error);
  /// The embedded classifiers/signatures.conf (a unit test proves it parses).
  static std::shared_ptr<const Signatures> builtin();

  /// Adds every signature of `other`; on a duplicate key the entry from `other` wins.
  void merge(const Signatures& other);

  /// What a server name says: the app and the feature bits (classifier.h) its flows carry.
  struct HostMatch {
    AppId app = AppId::kUnknown;
    uint8_t features = 0;
    /// The host is one of the app's call relays (`call_relay`).
    bool call_relay = false;
  };
  std::optional<HostMatch> match_sni(std::string_view host) const noexcept;
  std::optional<AppId> app_for_sni(std::string_view host) const noexcept;
  /// True when `host` holds one of `app`'s names at a label start but not at its end, as in
  /// `mmg.whatsapp.net.example.org`: a name that only contains the app's domain. Such names
  /// belong to someone else (nDPI 4.2's substring host match labels them the app).
  bool embeds_name_of(std::string_view host, AppId app) const noexcept;
  /// True when some `file_transfer` host names `app` (`imguard apps` marks such apps).
  bool has_file_hosts(AppId app) const noexcept;
  std::optional<AppId> app_for_alpn(std::string_view alpn) const noexcept;
  std::optional<AppId> app_for_address(const packet::Address& addr) const noexcept;
  std::optional<AppId> app_for_stun_software(std::string_view software) const noexcept;
  size_t size() const noexcept;

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  using NameMap = std::unordered_map<std::string, AppId, Hash, std::equal_to<>>;
  using HostMap = std::unordered_map<std::string, HostMatch, Hash, std::equal_to<>>;
  struct Prefix {
    packet::Address net;
    uint8_t bits = 0;
    AppId app = AppId::kUnknown;
  };
  struct TextPrefix {
    std::string prefix;
    AppId app = AppId::kUnknown;
  };

  HostMap sni_exact_;
  HostMap sni_suffix_;
  NameMap alpn_;
  std::vector<Prefix> cidrs_;
  std::vector<TextPrefix> stun_software_;
};

/// The text of classifiers/signatures.conf (generated source, see CMakeLists.txt).
std::string_view builtin_signatures_text() noexcept;

}  // namespace imguard::classifiers
