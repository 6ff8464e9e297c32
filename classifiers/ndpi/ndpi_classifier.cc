// SPDX-License-Identifier: GPL-3.0-or-later
// Adapter for Debian's nDPI 4.2 (process_packet without id structs; flow->confidence
// present). The only file in imguard that includes nDPI.
#include "classifiers/ndpi/ndpi_classifier.h"

#include <malloc.h>
#include <cctype>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string_view>
#include <vector>

#include "classifiers/signatures.h"

// The module struct is visible only with NDPI_LIB_COMPILATION. It is read for two purposes:
// reset() empties the caches nDPI fills from earlier flows (BitTorrent peers, STUN and
// Teams endpoints, TLS certificates, ...), which ndpi_api.h offers no call for, and the
// modules alive at a time share nDPI's read-only tables (SharedTables). The layout is
// checked against the library when the first module is made (layout_matches()); on a
// mismatch every module is built in full and reset() rebuilds it, which is correct but
// ~25 ms of CPU slower each.
#define NDPI_LIB_COMPILATION
extern "C" {
#include <ndpi/ndpi_api.h>
// libcache.h (not installed): frees the TINC address cache.
void cache_free(struct cache* c);
}

namespace imguard::classifiers {
namespace {

struct NdpiSlot {
  ndpi_flow_struct* flow;
  uint16_t held_master;  // an answer nDPI may still refine (e.g. TLS before the SNI app)
  uint16_t held_app;
  uint8_t holding;
  Evidence held_evidence;
  uint8_t silenced;  // nDPI's answer was a weak guess imguard does not report (see below)
};

/// nDPI 4.2's Skype/Teams answer for UDP without STUN (skype.c): it looks at little more
/// than the third payload byte (0x02) of one of the first datagrams, and reports it with
/// DPI confidence. EtherNet/IP I/O (item count 2: bytes 02 00 02 80), SNMPv3 and many
/// binary protocols pass that test. It stands only when nDPI's own address list also
/// puts the server at Microsoft (the networks Skype and Teams media relays use).
bool weak_skype_guess(const packet::PacketView& pkt, const ndpi_protocol& p) noexcept {
  const bool skype = p.app_protocol == NDPI_PROTOCOL_SKYPE_TEAMS ||
                     p.app_protocol == NDPI_PROTOCOL_SKYPE_CALL ||
                     p.master_protocol == NDPI_PROTOCOL_SKYPE_TEAMS ||
                     p.master_protocol == NDPI_PROTOCOL_SKYPE_CALL;
  const bool via_stun =
      p.master_protocol == NDPI_PROTOCOL_STUN || p.master_protocol == NDPI_PROTOCOL_DTLS;
  return pkt.l4 == packet::L4::kUdp && skype && !via_stun;
}

bool microsoft_address(const ndpi_flow_struct* flow) noexcept {
  switch (flow->guessed_host_protocol_id) {
    case NDPI_PROTOCOL_SKYPE_TEAMS:
    case NDPI_PROTOCOL_SKYPE_CALL:
    case NDPI_PROTOCOL_MSTEAMS:
    case NDPI_PROTOCOL_MICROSOFT:
    case NDPI_PROTOCOL_MICROSOFT_365:
    case NDPI_PROTOCOL_MICROSOFT_AZURE:
      return true;
    default:
      return false;
  }
}

/// Feature bits an nDPI answer implies: its sub-protocols that name an app's file
/// connections (nDPI 4.2: WhatsAppFiles, the media hosts of WhatsApp) carry files.
uint8_t features_of(uint16_t app_protocol) noexcept {
  return app_protocol == NDPI_PROTOCOL_WHATSAPP_FILES ? kFeatureFileTransfer : kFeatureNone;
}

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

/// Whether an HTTP header block holds a header named `name` (case-insensitive), i.e. a line
/// starting with `name` followed by ':'.
bool has_header(std::string_view head, std::string_view name) noexcept {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos) {
    const std::string_view line = head.substr(pos + 2, head.find("\r\n", pos + 2) - pos - 2);
    if (line.size() > name.size() && line[name.size()] == ':') {
      bool same = true;
      for (size_t i = 0; i < name.size() && same; ++i) {
        same = std::tolower(static_cast<unsigned char>(line[i])) ==
               std::tolower(static_cast<unsigned char>(name[i]));
      }
      if (same) {
        return true;
      }
    }
    pos = head.find("\r\n", pos + 2);
  }
  return false;
}

/// nDPI 4.2 keeps a plain HTTP answer open until the response status (http.c's extra
/// dissection), for metadata only: the status code, the response's content type and server
/// line feed its risks and categories, never a different application. The request is what
/// names the application (Host, URL, User-Agent are matched when nDPI parses it), so a
/// request that is complete in this one segment is final without the response:
/// - a GET or HEAD, client to server, whose whole header block ends in this segment;
/// - no body (no Content-Length, no Transfer-Encoding) and no Upgrade (what follows an
///   upgrade is another protocol), nothing after the header block but another request;
/// - nDPI parsed its Host line (host_server_name), so name-based answers were tried.
/// Anything else (POST bodies that BOSH and other tunnels use, split headers, CONNECT,
/// HTTP/1.0 without Host) keeps the hold. Our own classifiers run before nDPI on this same
/// packet, so an application they name from the request still wins.
bool final_http_request(const packet::PacketView& pkt, const FlowContext& ctx,
                        const ndpi_protocol& p, const ndpi_flow_struct* flow) noexcept {
  if (p.master_protocol != NDPI_PROTOCOL_HTTP && p.app_protocol != NDPI_PROTOCOL_HTTP) {
    return false;
  }
  if (ctx.direction != Direction::kClientToServer || pkt.l4 != packet::L4::kTcp ||
      flow->host_server_name[0] == '\0') {
    return false;
  }
  const std::string_view t(reinterpret_cast<const char*>(pkt.payload.data()), pkt.payload.size());
  if (!starts_with(t, "GET /") && !starts_with(t, "HEAD /")) {
    return false;
  }
  const size_t end = t.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return false;
  }
  const std::string_view head = t.substr(0, end + 2);
  return !has_header(head, "Content-Length") && !has_header(head, "Transfer-Encoding") &&
         !has_header(head, "Upgrade");
}

/// nDPI 4.2 holds a DNS answer for the response (dns.c's extra dissection: the response
/// code and the first answer's address, both metadata). The query names the looked-up host,
/// which is all nDPI uses to name the service (and a lookup of an IM service is DNS
/// traffic, not IM traffic: map()), so a well-formed query over UDP - client to server, the
/// QR bit clear, one question - is final without the response. A gateway sees one such
/// flow per name lookup; this halves the packets they queue.
bool final_dns_query(const packet::PacketView& pkt, const FlowContext& ctx,
                     const ndpi_protocol& p) noexcept {
  if (p.master_protocol != NDPI_PROTOCOL_DNS && p.app_protocol != NDPI_PROTOCOL_DNS) {
    return false;
  }
  const auto q = pkt.payload;
  return ctx.direction == Direction::kClientToServer && pkt.l4 == packet::L4::kUdp &&
         q.size() >= 12 && (q[2] & 0x80) == 0 && q[4] == 0 && q[5] == 1;
}

std::string lower(const char* s) {
  std::string out = s != nullptr ? s : "";
  for (auto& ch : out) {
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  return out;
}

/// A module built in full. Called only under SharedTables' lock, which also keeps the
/// first ndpi_init_detection_module() to one thread: it initialises libgcrypt, which is not
/// thread-safe (two threads making their first modules at once end in an abort inside
/// libgcrypt).
ndpi_detection_module_struct* init_module() noexcept {
  ndpi_detection_module_struct* mod = ndpi_init_detection_module(ndpi_no_prefs);
  if (mod == nullptr) {
    return nullptr;
  }
  NDPI_PROTOCOL_BITMASK all;
  NDPI_BITMASK_SET_ALL(all);
  ndpi_set_protocol_detection_bitmask2(mod, &all);
  ndpi_finalize_initialization(mod);
  return mod;
}

/// Whether the module struct compiled here has the library's layout: fields on both sides
/// of the caches read back what the API reports or set, and a fresh module has no cache yet.
bool layout_matches(ndpi_detection_module_struct* mod) noexcept {
  if (mod->ndpi_num_supported_protocols != ndpi_get_num_supported_protocols(mod) ||
      mod->ticks_per_second != 1000) {
    return false;
  }
  for (const void* c :
       {static_cast<const void*>(mod->ookla_cache), static_cast<const void*>(mod->tinc_cache),
        static_cast<const void*>(mod->bittorrent_cache), static_cast<const void*>(mod->zoom_cache),
        static_cast<const void*>(mod->stun_cache), static_cast<const void*>(mod->tls_cert_cache),
        static_cast<const void*>(mod->mining_cache),
        static_cast<const void*>(mod->msteams_cache)}) {
    if (c != nullptr) {
      return false;
    }
  }
  // The flag sits after the caches: set it through the API, read it back, clear it.
  ndpi_set_detection_preferences(mod, ndpi_pref_direction_detect_disable, 1);
  const bool after = mod->direction_detect_disable == 1;
  ndpi_set_detection_preferences(mod, ndpi_pref_direction_detect_disable, 0);
  return after && mod->direction_detect_disable == 0;
}

/// Frees every cache nDPI filled from earlier flows. nDPI 4.2 creates them on first use,
/// so a NULL cache is the state of a fresh module.
void clear_caches(ndpi_detection_module_struct* mod) noexcept {
  for (ndpi_lru_cache** c :
       {&mod->ookla_cache, &mod->bittorrent_cache, &mod->zoom_cache, &mod->stun_cache,
        &mod->tls_cert_cache, &mod->mining_cache, &mod->msteams_cache}) {
    if (*c != nullptr) {
      ndpi_lru_free_cache(*c);
      *c = nullptr;
    }
  }
  if (mod->tinc_cache != nullptr) {
    cache_free(mod->tinc_cache);
    mod->tinc_cache = nullptr;
  }
}

/// What ndpi_init_detection_module() + ndpi_finalize_initialization() build, once for all
/// the modules alive at a time. Almost all of a module's setup (~25 ms of CPU here, most
/// of it inserting nDPI's IP lists into its patricia trees and building its host-name
/// automata) makes tables that detection only reads: the patricia trees, the Aho-Corasick
/// automata, the default-port trees, the protocol defaults. A module made by copying the
/// struct of a pristine module (one that never sees a packet) shares those tables and
/// owns everything detection writes: the struct itself (the current packet, counters,
/// preferences) and the caches, which nDPI 4.2 creates on first use and which are NULL in
/// the pristine module. Read-only sharing is safe across threads: nDPI 4.2's lookups
/// (ac_automata_search, ndpi_patricia_search_best/exact, ndpi_tfind) write only to the
/// caller's match state and the stack (checked in libndpi.so.4.2's code). The copy is
/// made only when layout_matches() says the struct compiled here is the library's.
class SharedTables {
 public:
  /// A module for one classifier: a copy sharing the tables of the modules alive now
  /// (`tables` is set), or, when the struct layout is not known here, a module of its own
  /// (`tables` stays empty). nullptr when nDPI cannot be initialised.
  static ndpi_detection_module_struct* new_module(
      std::shared_ptr<const SharedTables>& tables) noexcept {
    static std::mutex mu;
    static std::weak_ptr<const SharedTables> live;  // the tables of the modules alive now
    const std::lock_guard lock(mu);
    std::shared_ptr<const SharedTables> t = live.lock();
    if (!t) {
      ndpi_detection_module_struct* pristine = init_module();
      if (pristine == nullptr || !layout_matches(pristine)) {
        return pristine;  // a module of its own (or none)
      }
      t = make_shared_nothrow(pristine);
      if (!t) {
        ndpi_exit_detection_module(pristine);
        return nullptr;
      }
      live = t;
    }
    auto* copy = static_cast<ndpi_detection_module_struct*>(ndpi_malloc(t->bytes_));
    if (copy == nullptr) {
      return nullptr;
    }
    std::memcpy(copy, t->pristine_, t->bytes_);
    tables = std::move(t);
    return copy;
  }

  /// Frees a module new_module() made: a copy frees its caches and its struct, never the
  /// shared tables (the last SharedTables reference frees those).
  static void free_module(ndpi_detection_module_struct* mod,
                          std::shared_ptr<const SharedTables>& tables) noexcept {
    if (mod == nullptr) {
      return;
    }
    if (tables) {
      clear_caches(mod);
      ndpi_free(mod);
      tables.reset();
    } else {
      ndpi_exit_detection_module(mod);
    }
  }

  ~SharedTables() { ndpi_exit_detection_module(pristine_); }
  SharedTables(const SharedTables&) = delete;
  SharedTables& operator=(const SharedTables&) = delete;

 private:
  // The library allocates the struct with ndpi_calloc (malloc): its usable size covers the
  // library's own sizeof, so the copy holds all of it even if this header's struct were
  // shorter than the library's.
  explicit SharedTables(ndpi_detection_module_struct* pristine) noexcept
      : pristine_(pristine), bytes_(malloc_usable_size(pristine)) {}
  static std::shared_ptr<const SharedTables> make_shared_nothrow(
      ndpi_detection_module_struct* pristine) noexcept {
    try {
      return std::shared_ptr<const SharedTables>(new SharedTables(pristine));
    } catch (const std::bad_alloc&) {
      return nullptr;
    }
  }

  ndpi_detection_module_struct* pristine_;  // never given a packet
  size_t bytes_;
};

class NdpiClassifier final : public Classifier {
 public:
  NdpiClassifier(ndpi_detection_module_struct* mod, std::shared_ptr<const SharedTables> tables,
                 std::shared_ptr<const Signatures> sigs)
      : mod_(mod),
        tables_(std::move(tables)),
        sigs_(std::move(sigs)),
        clearable_(tables_ != nullptr) {
    build_app_map();
  }
  ~NdpiClassifier() override { SharedTables::free_module(mod_, tables_); }
  NdpiClassifier(const NdpiClassifier&) = delete;
  NdpiClassifier& operator=(const NdpiClassifier&) = delete;

  std::string_view name() const noexcept override { return "ndpi"; }
  Interest interest() const noexcept override {
    // nDPI tracks TCP sequence numbers and handshakes, so it sees every packet.
    return Interest{
        .tcp = true, .udp = true, .needs_payload = false, .state_bytes = sizeof(NdpiSlot)};
  }

  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override {
    auto& s = slot.as<NdpiSlot>();
    if (s.flow == nullptr) {
      s.flow = static_cast<ndpi_flow_struct*>(ndpi_flow_malloc(SIZEOF_FLOW_STRUCT));
      if (s.flow == nullptr) {
        return NotMine{};
      }
      std::memset(s.flow, 0, SIZEOF_FLOW_STRUCT);
    }
    const auto len = static_cast<unsigned short>(std::min<size_t>(pkt.l3.size(), 0xffff));
    const auto ms = static_cast<u_int64_t>(pkt.ts.count() / 1000);
    ndpi_protocol p = ndpi_detection_process_packet(mod_, s.flow, pkt.l3.data(), len, ms);
    if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN) {
      return NeedMore{};
    }
    drop_foreign_name(p, s.flow);
    const AppId app = map(p);
    Evidence ev = evidence(s.flow);
    if (weak_skype_guess(pkt, p)) {
      if (!microsoft_address(s.flow)) {
        s.silenced = 1;  // and give_up() must not bring the same guess back
        return NotMine{};
      }
      ev = Evidence::kAddressList;  // the guess plus nDPI's address list: held, weak
    }
    // Hold, rather than decide on, two kinds of answer: a guess from the port or the server
    // address (the payload may still say otherwise, and our own classifiers get to see it),
    // and a generic answer (TLS, HTTP, QUIC) that later packets may refine (certificate,
    // Host header) while nDPI says more dissection is possible. The budget ends the wait.
    const bool weak = ev <= Evidence::kAddressList;
    const bool refinable = app_category(app) == Category::kOther &&
                           ndpi_extra_dissection_possible(mod_, s.flow) != 0 &&
                           !(ev >= Evidence::kDpi && (final_http_request(pkt, ctx, p, s.flow) ||
                                                      final_dns_query(pkt, ctx, p)));
    if (weak || refinable) {
      s.held_master = p.master_protocol;
      s.held_app = p.app_protocol;
      s.held_evidence = ev;
      s.holding = 1;
      return NeedMore{};
    }
    return Match{.app = app, .evidence = ev, .features = features_of(p.app_protocol)};
  }

  std::optional<Match> give_up(const FlowContext& /*ctx*/, FlowSlot slot) noexcept override {
    auto& s = slot.as<NdpiSlot>();
    if (s.flow == nullptr || s.silenced != 0) {
      return std::nullopt;
    }
    if (s.holding != 0) {
      ndpi_protocol held{};
      held.master_protocol = s.held_master;
      held.app_protocol = s.held_app;
      return Match{
          .app = map(held), .evidence = s.held_evidence, .features = features_of(s.held_app)};
    }
    u_int8_t guessed = 0;
    ndpi_protocol p = ndpi_detection_giveup(mod_, s.flow, 1, &guessed);
    if (p.app_protocol == NDPI_PROTOCOL_UNKNOWN && p.master_protocol == NDPI_PROTOCOL_UNKNOWN) {
      return std::nullopt;
    }
    drop_foreign_name(p, s.flow);
    // nDPI's give-up guesses by server address (its IP lists) or by port; its confidence
    // field says which. Anything else it reports here is still only a guess.
    Evidence ev = evidence(s.flow);
    if (guessed != 0 && ev != Evidence::kAddressList) {
      ev = Evidence::kPortGuess;
    }
    return Match{.app = map(p), .evidence = ev, .features = features_of(p.app_protocol)};
  }

  void release(FlowSlot slot) noexcept override {
    auto& s = slot.as<NdpiSlot>();
    if (s.flow != nullptr) {
      ndpi_free_flow(s.flow);
      s.flow = nullptr;
    }
  }

  bool reset() noexcept override {
    if (clearable_) {
      clear_caches(mod_);
      return true;
    }
    // Unknown layout: a new module is the only state known to be clean. The protocol ids
    // of one nDPI build are fixed, so the app map stays valid.
    std::shared_ptr<const SharedTables> tables;
    ndpi_detection_module_struct* fresh = SharedTables::new_module(tables);
    if (fresh == nullptr) {
      return false;
    }
    SharedTables::free_module(mod_, tables_);
    mod_ = fresh;
    tables_ = std::move(tables);
    clearable_ = tables_ != nullptr;
    return true;
  }

 private:
  /// nDPI 4.2 matches server names (TLS SNI, QUIC, HTTP Host) by substring, so
  /// `mmg.whatsapp.net.example.org` comes out as WhatsApp. When the name only contains one
  /// of the app's names (signatures.conf) and does not end in it, the app part of the
  /// answer is dropped and the master protocol (TLS, QUIC, HTTP) stands.
  void drop_foreign_name(ndpi_protocol& p, const ndpi_flow_struct* flow) const noexcept {
    const AppId app = lookup(p.app_protocol);
    if (app_category(app) != Category::kIm) {
      return;
    }
    const std::string_view host(flow->host_server_name,
                                strnlen(flow->host_server_name, sizeof(flow->host_server_name)));
    const auto own = sigs_->match_sni(host);
    if (!(own && own->app == app) && sigs_->embeds_name_of(host, app)) {
      p.app_protocol = NDPI_PROTOCOL_UNKNOWN;
    }
  }

  static Evidence evidence(const ndpi_flow_struct* flow) noexcept {
    switch (flow->confidence) {
      case NDPI_CONFIDENCE_MATCH_BY_PORT:
        return Evidence::kPortGuess;
      case NDPI_CONFIDENCE_MATCH_BY_IP:
        return Evidence::kAddressList;
      case NDPI_CONFIDENCE_DPI_CACHE:
        return Evidence::kCrossFlow;
      default:
        return Evidence::kDpi;
    }
  }

  AppId lookup(uint16_t id) const noexcept {
    return id < by_id_.size() ? by_id_[id] : AppId::kUnknown;
  }

  /// The most specific imguard app for an nDPI answer: the application if we know it,
  /// else the master protocol (TLS.Amazon is "tls"; Jabber over TLS is "xmpp").
  AppId map(const ndpi_protocol& p) const noexcept {
    const AppId app = lookup(p.app_protocol);
    const AppId master = lookup(p.master_protocol);
    // A name lookup for an IM service is DNS traffic, not IM traffic.
    if (master == AppId::kDns || master == AppId::kMdns) {
      return master;
    }
    if (app != AppId::kUnknown && app != AppId::kOther) {
      return app;
    }
    if (master != AppId::kUnknown) {
      return master;
    }
    return app != AppId::kUnknown ? app : AppId::kOther;
  }

  void build_app_map() {
    const u_int n = ndpi_get_num_supported_protocols(mod_);
    by_id_.assign(n, AppId::kOther);
    by_id_[NDPI_PROTOCOL_UNKNOWN] = AppId::kUnknown;
    for (u_int id = 1; id < n; ++id) {
      const std::string nm = lower(ndpi_get_proto_name(mod_, static_cast<u_int16_t>(id)));
      AppId found = AppId::kUnknown;
      for (const AppInfo& a : all_apps()) {
        for (auto alias : a.ndpi_names) {
          if (alias == nm) {
            found = a.id;
          }
        }
      }
      if (found == AppId::kUnknown) {
        // Apps we have no name for still get the right class from nDPI's own category.
        ndpi_protocol p{};
        p.app_protocol = static_cast<u_int16_t>(id);
        switch (ndpi_get_proto_category(mod_, p)) {
          case NDPI_PROTOCOL_CATEGORY_CHAT:
            found = AppId::kOtherIm;
            break;
          case NDPI_PROTOCOL_CATEGORY_VOIP:
            found = AppId::kOtherVoip;
            break;
          case NDPI_PROTOCOL_CATEGORY_VPN:
            found = AppId::kOtherTunnel;
            break;
          default:
            found = AppId::kOther;
            break;
        }
      }
      by_id_[id] = found;
    }
  }

  ndpi_detection_module_struct* mod_;
  std::shared_ptr<const SharedTables> tables_;  // set when mod_ is a copy sharing them
  std::shared_ptr<const Signatures> sigs_;
  bool clearable_;  // the layout is known (mod_ is a copy): reset() clears the caches in place
  std::vector<AppId> by_id_;
};

}  // namespace

std::unique_ptr<Classifier> make_ndpi_classifier(std::shared_ptr<const Signatures> sigs,
                                                 std::string& error) {
  std::shared_ptr<const SharedTables> tables;
  ndpi_detection_module_struct* mod = SharedTables::new_module(tables);
  if (mod == nullptr) {
    error = "nDPI: ndpi_init_detection_module failed (out of memory?)";
    return nullptr;
  }
  return std::make_unique<NdpiClassifier>(mod, std::move(tables), std::move(sigs));
}

size_t ndpi_flow_bytes() noexcept {
  return SIZEOF_FLOW_STRUCT;
}

}  // namespace imguard::classifiers
