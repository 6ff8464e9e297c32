# cmake -DIN=signatures.conf -DOUT=signatures_data.cc -P embed_signatures.cmake
# Turns the signature data file into a C++ source holding its text, so the binary carries
# the built-in signatures without reading files at start-up.
file(READ ${IN} text)
string(FIND "${text}" ")imguard_sig\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains the raw-string delimiter )imguard_sig\"")
endif()
file(WRITE ${OUT}.tmp
  "// generated from classifiers/signatures.conf by embed_signatures.cmake; do not edit\n"
  "#include \"classifiers/signatures.h\"\n\n"
  "namespace imguard::classifiers {\n\n"
  "std::string_view builtin_signatures_text() noexcept {\n"
  "  return R\"imguard_sig(${text})imguard_sig\";\n"
  "}\n\n"
  "}  // namespace imguard::classifiers\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
