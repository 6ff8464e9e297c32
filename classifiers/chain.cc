// SPDX-License-Identifier: GPL-3.0-or-later
#include "classifiers/chain.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <utility>

namespace imguard::classifiers {

std::string_view evidence_name(Evidence e) noexcept {
  switch (e) {
    case Evidence::kNone:
      return "none";
    case Evidence::kPortGuess:
      return "port_guess";
    case Evidence::kAddressList:
      return "address_list";
    case Evidence::kBehaviour:
      return "behaviour";
    case Evidence::kCrossFlow:
      return "cross_flow";
    case Evidence::kDpi:
      return "dpi";
  }
  return "none";
}

Chain::Chain(std::vector<std::unique_ptr<Classifier>> classifiers, Budget budget,
             PeerCache::Config peers, std::shared_ptr<PeerCache> shared_peers)
    : budget_(budget),
      peers_(shared_peers != nullptr ? std::move(shared_peers)
                                     : std::make_shared<PeerCache>(peers)) {
  if (classifiers.size() > kMaxClassifiers) {
    std::fprintf(stderr, "imguard: %zu classifiers registered, at most %zu fit\n",
                 classifiers.size(), kMaxClassifiers);
    std::abort();
  }
  // A flow is TCP or UDP, never both: the slots of TCP-only and of UDP-only classifiers
  // share the bytes after those of the classifiers that see both. Slots are packed at
  // their state's natural alignment: a struct's size is a multiple of its alignment, so
  // the lowest set bit of the size (at most 8, FlowSlot::as) is enough.
  const auto place = [](size_t at, const Interest& i) {
    const size_t size = i.state_bytes;
    const size_t align = size == 0 ? 1 : std::min<size_t>(8, size & (~size + 1));
    return (at + align - 1) & ~(align - 1);
  };
  const auto both = [](const Interest& i) { return i.tcp == i.udp; };
  size_t shared = 0;
  for (const auto& c : classifiers) {
    if (const Interest i = c->interest(); both(i)) {
      shared = place(shared, i) + i.state_bytes;
    }
  }
  shared = (shared + 7) & ~size_t{7};
  size_t offset = 0;
  size_t tcp_offset = shared;
  size_t udp_offset = shared;
  for (auto& c : classifiers) {
    const Interest interest = c->interest();
    size_t& at = both(interest) ? offset : (interest.tcp ? tcp_offset : udp_offset);
    at = place(at, interest);
    if (at + interest.state_bytes > kFlowStateBytes) {
      std::fprintf(stderr, "imguard: classifier state exceeds %zu bytes at '%.*s'\n",
                   kFlowStateBytes, static_cast<int>(c->name().size()), c->name().data());
      std::abort();
    }
    entries_.push_back(Entry{std::move(c), interest, at});
    at += interest.state_bytes;
  }
}

bool Chain::sees(const Entry& e, const ChainScratch& s) noexcept {
  return s.udp ? e.interest.udp : e.interest.tcp;
}

FlowContext Chain::with_peers(const FlowContext& ctx) noexcept {
  FlowContext c = ctx;
  c.peers = peers_.get();
  c.limits = &limits_;
  return c;
}

FlowSlot Chain::slot_of(const Entry& e, ChainScratch& s) const noexcept {
  return FlowSlot(std::span<std::byte>(s.slots).subspan(e.offset, e.interest.state_bytes));
}

void Chain::decide(ChainFlowState& state, uint8_t index, const Match& m) const noexcept {
  state.result.app = m.app;
  state.result.evidence = m.evidence;
  state.result.features = m.features;
  state.result.classifier = index;
  state.result.final = true;
}

namespace {

static_assert(kFeaturePeer < 16 && static_cast<uint8_t>(Evidence::kDpi) < 16,
              "ChainScratch keeps a held Match's features and evidence in 4 bits each");

/// TLS, QUIC and HTTP carry any application, and STUN/TURN any application's calls:
/// recognising one of them says nothing against a specific app (Telegram by its address
/// list is still Telegram inside TLS; plain TURN to a relay its client reached as Signal's
/// is still a Signal call).
bool generic_carrier(AppId app) noexcept {
  return app == AppId::kHttp || app == AppId::kTls || app == AppId::kQuic || app == AppId::kStun;
}

bool specific(AppId app) noexcept {
  return app != AppId::kUnknown && !generic_carrier(app);
}

/// Whether `candidate` should replace `held`: stronger evidence, unless it only names a
/// generic carrier of a specific held app.
bool outranks(const Match& candidate, const Match& held) noexcept {
  if (generic_carrier(candidate.app) && specific(held.app)) {
    return false;
  }
  return candidate.evidence > held.evidence;
}

}  // namespace

std::optional<Match> Chain::held(const ChainScratch& s) noexcept {
  if (s.hint_classifier == kNoClassifier) {
    return std::nullopt;
  }
  return Match{.app = s.hint_app,
               .evidence = static_cast<Evidence>(s.hint_evidence),
               .features = static_cast<uint8_t>(s.hint_features)};
}

bool Chain::inspect(const packet::PacketView& pkt, const FlowContext& flow_ctx,
                    ChainFlowState& state) noexcept {
  if (state.result.final) {
    return true;
  }
  if (!state.scratch) {
    state.scratch.reset(new (std::nothrow) ChainScratch{});
    if (!state.scratch) {
      finish(flow_ctx, state);  // out of memory: settled as unknown
      return true;
    }
    state.scratch->udp = pkt.l4 != packet::L4::kTcp;
  }
  // A decided flow needs no classifier state: nDPI's flow struct and any reassembly
  // buffer go as soon as the answer is known, not when the flow leaves the table.
  const bool final = inspect_packet(pkt, with_peers(flow_ctx), state);
  if (final) {
    release(state);
  }
  return final;
}

bool Chain::inspect_packet(const packet::PacketView& pkt, const FlowContext& ctx,
                           ChainFlowState& state) noexcept {
  ChainScratch& s = *state.scratch;
  const bool has_payload = !pkt.payload.empty();
  const bool tcp = pkt.l4 == packet::L4::kTcp;
  s.packets = static_cast<uint8_t>(s.packets + (s.packets < 0xff ? 1 : 0));
  if (has_payload && s.data_packets < 0xff) {
    ++s.data_packets;
  }
  const std::optional<Match> before = held(s);
  // The strongest weak Match of this packet: held, not decided (Evidence order,
  // classifier.h), unless a classifier after it shows stronger evidence on the same packet.
  std::optional<Match> weak;
  uint8_t weak_index = kNoClassifier;
  bool waiting = false;  // a classifier before this one asked for more packets (Hold::kWait)
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    const uint32_t bit = uint32_t{1} << i;
    if ((s.done & bit) != 0 || !sees(e, s) || (e.interest.needs_payload && !has_payload)) {
      continue;
    }
    const Result r = e.classifier->inspect(pkt, ctx, slot_of(e, s));
    if (const auto* m = std::get_if<Match>(&r)) {
      if (waiting && !weak && generic_carrier(m->app)) {
        continue;  // asked again on the next packet, once the waiting classifier has spoken
      }
      if (m->evidence >= Evidence::kDpi) {
        if (before && m->app == before->app) {
          // The payload confirms the held answer. A hint keeps its more specific knowledge
          // (nDPI names a DCC transfer irc; the hint knows it carries a file).
          const uint8_t features = static_cast<uint8_t>(before->features | m->features);
          if (before->evidence == Evidence::kCrossFlow) {
            decide(
                state, s.hint_classifier,
                Match{.app = before->app, .evidence = Evidence::kCrossFlow, .features = features});
          } else {
            decide(state, static_cast<uint8_t>(i),
                   Match{.app = m->app, .evidence = m->evidence, .features = features});
          }
          return true;
        }
        if (before && !outranks(*m, *before)) {
          decide(state, s.hint_classifier, *before);  // a carrier under a specific app
          return true;
        }
        if (weak && !outranks(*m, *weak)) {
          // The same, guessed by a classifier before this one on this very packet (a
          // cross-flow hint that became known just now): the carrier does not contradict it.
          decide(state, weak_index, *weak);
          return true;
        }
        decide(state, static_cast<uint8_t>(i), *m);
        return true;
      }
      s.done |= bit;  // it answered; a weak Match is not asked again
      if (!weak || m->evidence > weak->evidence) {
        weak = *m;
        weak_index = static_cast<uint8_t>(i);
      }
      continue;
    }
    if (std::holds_alternative<NotMine>(r)) {
      s.done |= bit;
    } else if (std::get<NeedMore>(r).hold == Hold::kWait) {
      waiting = true;
    } else if (std::get<NeedMore>(r).hold == Hold::kClaim) {
      if (const auto m = e.classifier->give_up(ctx, slot_of(e, s))) {
        state.result.app = m->app;
        state.result.evidence = m->evidence;
        // Features stay empty until final: some are conclusions from absence (no STARTTLS
        // seen yet means `cleartext` only once the wait is over).
        state.result.classifier = static_cast<uint8_t>(i);
      }
      break;
    }
  }
  if (weak && (!before || outranks(*weak, *before))) {
    // Held while this flow's payload has its say; the first of equals stays.
    s.hint_app = weak->app;
    assert((weak->features & ~0x0fu) == 0 && "a new Feature bit needs a wider hint_features");
    s.hint_features = weak->features & 0x0fu;
    s.hint_evidence = static_cast<uint8_t>(weak->evidence) & 0x0fu;
    s.hint_classifier = weak_index;
  }
  const uint32_t all = entries_.size() == 32 ? ~uint32_t{0} : (uint32_t{1} << entries_.size()) - 1;
  const uint16_t data_budget = tcp ? budget_.tcp_data_packets : budget_.udp_data_packets;
  const bool hint_settled = s.hint_classifier != kNoClassifier &&
                            state.result.app == AppId::kUnknown &&
                            s.data_packets >= budget_.hint_data_packets;
  if (s.done == all || s.data_packets >= data_budget || s.packets >= budget_.max_packets ||
      hint_settled) {
    finish(ctx, state);
  }
  return state.result.final;
}

void Chain::finish(const FlowContext& flow_ctx, ChainFlowState& state) noexcept {
  if (state.result.final) {
    return;
  }
  if (!state.scratch) {
    // Never inspected, or its state could not be allocated: nothing to go on.
    state.result = Classification{};
    state.result.final = true;
    return;
  }
  ChainScratch& s = *state.scratch;
  const FlowContext ctx = with_peers(flow_ctx);
  std::optional<Match> best = held(s);
  uint8_t best_index = best ? s.hint_classifier : kNoClassifier;
  for (size_t i = 0; i < entries_.size(); ++i) {
    // A classifier that said NotMine may still hold a weak answer (nDPI's port guess).
    const Entry& e = entries_[i];
    if (!sees(e, s)) {
      continue;  // its slot bytes belong to a classifier of the other transport
    }
    auto m = e.classifier->give_up(ctx, slot_of(e, s));
    if (m && (!best || outranks(*m, *best))) {
      best = m;
      best_index = static_cast<uint8_t>(i);
    }
  }
  if (best) {
    decide(state, best_index, *best);
  } else {
    state.result = Classification{};
    state.result.final = true;
  }
  release(state);
}

void Chain::release(ChainFlowState& state) noexcept {
  if (!state.scratch) {
    return;
  }
  for (const Entry& e : entries_) {
    if (sees(e, *state.scratch)) {
      e.classifier->release(slot_of(e, *state.scratch));
    }
  }
  state.scratch.reset();
}

bool Chain::reset() noexcept {
  peers_->clear();
  limits_.reset();
  bool ok = true;
  for (const Entry& e : entries_) {
    ok = e.classifier->reset() && ok;
  }
  return ok;
}

std::string_view Chain::classifier_name(uint8_t index) const noexcept {
  return index < entries_.size() ? entries_[index].classifier->name() : std::string_view{"none"};
}

}  // namespace imguard::classifiers
