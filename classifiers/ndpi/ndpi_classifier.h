// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include <memory>
#include <string>

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Creates the nDPI adapter: a Classifier backed by its own nDPI detection module (one per
/// worker; nDPI modules are not thread-safe). Returns nullptr and fills `error` when nDPI
/// cannot be initialised. This header is nDPI-free; only ndpi_classifier.cc includes nDPI.
std::unique_ptr<Classifier> make_ndpi_classifier(std::string& error);

/// Bytes nDPI allocates per flow (for the per-flow memory report).
size_t ndpi_flow_bytes() noexcept;

}  // namespace imguard::classifiers
