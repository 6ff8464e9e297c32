// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <variant>

#include "classifiers/apps.h"
#include "packet/packet.h"

namespace imguard::classifiers {

/// What a decision rests on, strongest last. Shown to admins so they can trust or tune it.
///
/// The order is a contract the Chain enforces: anything below kDpi is a guess about the
/// flow, kDpi is the flow's own bytes. A weaker Match does not decide the flow when it is
/// made: the classifiers after it still see that packet, and the flow's next payload
/// packets (up to Budget::hint_data_packets in all) are still shown to every classifier;
/// a kDpi Match among them wins. Then the strongest answer held (a kCrossFlow hint learned
/// from other flows, possibly forged by a third party, or a guess from the flow's own
/// packets), or a stronger give_up() answer, decides. A weak guess never outranks strong
/// evidence; the one exception is a kDpi answer that names only a generic carrier (TLS,
/// QUIC, HTTP, STUN): it does not contradict a specific app guessed for the flow, which
/// stands.
enum class Evidence : uint8_t {
  kNone,
  kPortGuess,    // only the port number suggested it
  kAddressList,  // a signature list of server addresses
  kBehaviour,    // sizes/timing typical of the protocol, no plaintext marker
  kCrossFlow,    // what the endpoints did in other flows (e.g. a peer learned from DHT)
  kDpi,          // protocol framing or content seen in the payload
};
std::string_view evidence_name(Evidence e) noexcept;

/// Per-flow facts a policy can act on, beyond the app itself. A bit set of at most four
/// bits (a held weak Match keeps them in 4 bits of ChainFlowState; chain.cc checks).
enum Feature : uint8_t {
  kFeatureNone = 0,
  kFeatureFileTransfer = 1 << 0,  // the flow carries files (DCC SEND, bytestreams, P2P)
  /// The user's host is the responder of a P2P peer connection: it serves peers. Never
  /// set by classifiers (they cannot know which end is local); the engine derives it
  /// from kFeaturePeer and the identity of the ends (engine/decider.h).
  kFeatureServing = 1 << 1,
  kFeatureCleartext = 1 << 2,  // IM messages travel unencrypted
  /// A connection between two P2P nodes, either of which may be the one serving.
  kFeaturePeer = 1 << 3,
};

enum class Direction : uint8_t { kClientToServer = 0, kServerToClient = 1 };

struct Match {
  AppId app = AppId::kUnknown;
  Evidence evidence = Evidence::kDpi;
  uint8_t features = kFeatureNone;
};
struct NotMine {};
/// How a NeedMore answer affects the classifiers after this one in the chain.
enum class Hold : uint8_t {
  kNone,
  /// The classifier recognised the flow but waits for later packets (e.g. a DHT reply to
  /// learn peers from); the classifiers after it skip this packet, so a weaker one cannot
  /// decide the flow first. It must answer Match by the end (inspect or give_up), and its
  /// give_up() must already answer with what it knows so far (the chain asks it after each
  /// claim for a provisional result, so policy can act on the app before the features are
  /// settled); give_up() of a claiming classifier must therefore have no side effects.
  kClaim,
  /// Not recognised yet, but a few more packets may show the flow is this classifier's
  /// (e.g. a cross-flow hint about the requester that arrives just after the request): a
  /// generic carrier answer (HTTP, TLS, QUIC) from a later classifier does not decide the
  /// flow on this packet. The wait must be bounded by the classifier (it says NotMine or
  /// Match within a few packets); the flow's packet budget bounds it in any case.
  kWait,
};
struct NeedMore {
  Hold hold = Hold::kNone;
};
/// A classifier's answer for one packet: a final match, "never this flow", or "keep
/// showing me packets". Mirrors nDPI's three outcomes.
using Result = std::variant<Match, NotMine, NeedMore>;

/// Which packets a classifier wants; the chain skips the call otherwise.
struct Interest {
  bool tcp = true;
  bool udp = true;
  bool needs_payload = true;
  /// Bytes of zero-initialised per-flow state the classifier keeps (see FlowSlot).
  uint16_t state_bytes = 0;
};

/// A classifier's private per-flow state: `state_bytes` bytes, zero on a new flow.
/// Classifiers view it as their own trivially copyable struct via `as<T>()`.
class FlowSlot {
 public:
  explicit FlowSlot(std::span<std::byte> bytes) noexcept : bytes_(bytes) {}

  template <typename T>
  T& as() noexcept {
    static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_default_constructible_v<T>,
                  "classifier state must be a plain struct");
    static_assert(alignof(T) <= 8);
    // The chain hands out exactly the declared size; a mismatch is a programming error.
    return *std::launder(reinterpret_cast<T*>(bytes_.data()));
  }
  size_t size() const noexcept { return bytes_.size(); }

 private:
  std::span<std::byte> bytes_;
};

class PeerCache;
class FlowLimits;

/// What a classifier may know about the flow beyond the packet itself.
struct FlowContext {
  Direction direction = Direction::kClientToServer;
  /// 0-based index of this packet among the flow's packets the chain sees. TCP packets
  /// without payload (handshake, pure ACKs, bare FIN/RST) never reach the chain: the live
  /// ruleset keeps them in the kernel, and `classify` skips them the same way.
  uint32_t packet_index = 0;
  /// The connection was seen from its start: offline a SYN was captured, live the
  /// connection was new to conntrack while imguard's queue rule was in place. False for a
  /// capture that starts mid-flow.
  bool start_seen = false;
  /// Payload-carrying packets seen so far in each direction, this one included.
  uint32_t payload_packets[2] = {0, 0};
  /// The worker's cross-flow P2P peer cache (classifiers/peer_cache.h), set by the Chain;
  /// nullptr when none is attached. Classifiers that do not use it ignore it.
  PeerCache* peers = nullptr;
  /// The worker's reassembly and key-derivation bounds (classifiers/flow_limits.h), set by
  /// the Chain; nullptr (unbounded) when a classifier is driven without one.
  FlowLimits* limits = nullptr;
};

/// One protocol recogniser. Implementations are stateless apart from their FlowSlot and
/// whatever per-worker state they own; one instance lives in each worker's chain, so no
/// method needs to be thread-safe. Nothing here may throw: packets are untrusted input.
/// The per-packet methods must not allocate with a throwing allocator either (no growing
/// std containers, no std::string): per-flow buffers come from `new (std::nothrow)` or
/// malloc, and their failure is a NotMine or a settle-with-what-it-has, never an exception
/// (tests/unit/engine/alloc_failure_test.cc runs the chain with every operator new failing).
class Classifier {
 public:
  virtual ~Classifier() = default;

  /// Stable lowercase name, printed as the flow's `classifier` field.
  virtual std::string_view name() const noexcept = 0;
  virtual Interest interest() const noexcept = 0;
  /// Called for each packet of an undecided flow (that matches `interest()`) until this
  /// classifier or another one returns Match, or this one returns NotMine.
  virtual Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                         FlowSlot slot) noexcept = 0;
  /// The flow's packet budget ran out or the flow ended undecided: last chance to answer
  /// with a weaker match (port guess, behaviour). Default: nothing to say.
  virtual std::optional<Match> give_up(const FlowContext& /*ctx*/, FlowSlot /*slot*/) noexcept {
    return std::nullopt;
  }
  /// Frees anything the slot points to, leaving it as a zeroed slot would be: called when
  /// the flow's classification becomes final (decided flows keep no classifier state) and
  /// again when the flow leaves the table, so it must be idempotent. No other call for the
  /// flow follows it.
  virtual void release(FlowSlot /*slot*/) noexcept {}
  /// Forgets what this classifier learned from earlier flows (per-worker caches), so the
  /// next flows are classified as by a fresh instance. Called with no flow in the table.
  /// False if that state could not be rebuilt (out of memory); the instance stays usable.
  virtual bool reset() noexcept { return true; }
};

}  // namespace imguard::classifiers
