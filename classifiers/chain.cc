// SPDX-License-Identifier: GPL-3.0-or-later
#include "classifiers/chain.h"

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
             PeerCache::Config peers)
    : budget_(budget), peers_(peers) {
  if (classifiers.size() > kMaxClassifiers) {
    std::fprintf(stderr, "imguard: %zu classifiers registered, at most %zu fit\n",
                 classifiers.size(), kMaxClassifiers);
    std::abort();
  }
  size_t offset = 0;
  for (auto& c : classifiers) {
    const Interest interest = c->interest();
    const size_t size = (size_t{interest.state_bytes} + 7) & ~size_t{7};
    if (offset + size > kFlowStateBytes) {
      std::fprintf(stderr, "imguard: classifier state exceeds %zu bytes at '%.*s'\n",
                   kFlowStateBytes, static_cast<int>(c->name().size()), c->name().data());
      std::abort();
    }
    entries_.push_back(Entry{std::move(c), interest, offset});
    offset += size;
  }
}

FlowContext Chain::with_peers(const FlowContext& ctx) noexcept {
  FlowContext c = ctx;
  c.peers = &peers_;
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
  // The strongest weak Match of this packet: it decides only if no classifier after it
  // shows stronger evidence on the same packet (Evidence order, classifier.h).
  std::optional<Match> weak;
  uint8_t weak_index = kNoClassifier;
  for (size_t i = 0; i < entries_.size(); ++i) {
    const Entry& e = entries_[i];
    const uint32_t bit = uint32_t{1} << i;
    if ((s.done & bit) != 0 || (tcp ? !e.interest.tcp : !e.interest.udp) ||
        (e.interest.needs_payload && !has_payload)) {
      continue;
    }
    const Result r = e.classifier->inspect(pkt, ctx, slot_of(e, s));
    if (const auto* m = std::get_if<Match>(&r)) {
      if (m->evidence >= Evidence::kDpi) {
        if (s.hint_classifier != kNoClassifier && m->app == s.hint_app) {
          // The payload confirms the hint (nDPI names a DCC transfer irc): the hint keeps
          // the more specific knowledge, e.g. that the flow carries a file.
          decide(state, s.hint_classifier,
                 Match{.app = s.hint_app,
                       .evidence = Evidence::kCrossFlow,
                       .features = static_cast<uint8_t>(s.hint_features | m->features)});
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
  if (weak && weak->evidence == Evidence::kCrossFlow) {
    // A hint about this flow from other flows: held while this flow's payload has its say.
    if (s.hint_classifier == kNoClassifier) {
      s.hint_app = weak->app;
      s.hint_features = weak->features;
      s.hint_classifier = weak_index;
    }
  } else if (weak && state.result.app == AppId::kUnknown) {
    // A weaker guess made from this flow's own packet, nothing stronger on it: decides,
    // unless a held hint is at least as strong (then the hint decides now).
    if (s.hint_classifier != kNoClassifier && weak->evidence <= Evidence::kCrossFlow) {
      decide(
          state, s.hint_classifier,
          Match{.app = s.hint_app, .evidence = Evidence::kCrossFlow, .features = s.hint_features});
    } else {
      decide(state, weak_index, *weak);
    }
    return true;
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
  std::optional<Match> best;
  uint8_t best_index = kNoClassifier;
  if (s.hint_classifier != kNoClassifier) {
    best = Match{.app = s.hint_app, .evidence = Evidence::kCrossFlow, .features = s.hint_features};
    best_index = s.hint_classifier;
  }
  for (size_t i = 0; i < entries_.size(); ++i) {
    // A classifier that said NotMine may still hold a weak answer (nDPI's port guess).
    const Entry& e = entries_[i];
    auto m = e.classifier->give_up(ctx, slot_of(e, s));
    if (m && (!best || m->evidence > best->evidence)) {
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
    e.classifier->release(slot_of(e, *state.scratch));
  }
  state.scratch.reset();
}

bool Chain::reset() noexcept {
  peers_.clear();
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
