// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "classifiers/chain.h"

namespace imguard::classifiers {

/// Builds one worker's classifier chain from the explicit registration list in
/// registry.cc: imguard's own classifiers first (cheap and specific), nDPI last.
/// Returns nullptr and fills `error` if a classifier cannot be set up. `peers`: a cross-flow
/// cache shared with other chains (the daemon's workers), or nullptr for a chain's own.
std::unique_ptr<Chain> make_chain(Budget budget, std::string& error,
                                  std::shared_ptr<PeerCache> peers = nullptr);

/// Names of every registered classifier, in chain order.
std::vector<std::string> registered_classifier_names();

}  // namespace imguard::classifiers
