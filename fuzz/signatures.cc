// SPDX-License-Identifier: GPL-3.0-or-later
// Fuzzes the signatures file parser (user files merged over classifiers/signatures.conf)
// and the lookups of what it built.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "classifiers/signatures.h"

using namespace imguard::classifiers;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto sigs = Signatures::parse(text, "fuzz.conf", error);
  if (!sigs) {
    if (error.empty()) {
      __builtin_trap();  // a refusal always says why
    }
    return 0;
  }
  Signatures merged = *Signatures::builtin();
  merged.merge(*sigs);
  // Look every whitespace-separated word of the input up as a name and as a prefix.
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = std::min(text.find_first_of(" \t\n\r/", at), text.size());
    const std::string_view word = text.substr(at, end - at);
    (void)merged.app_for_sni(word);
    (void)merged.match_sni(word);
    (void)merged.embeds_name_of(word, AppId::kWhatsapp);
    (void)merged.app_for_alpn(word);
    (void)merged.app_for_stun_software(word);
    at = end + 1;
  }
  (void)merged.size();
  return 0;
}
