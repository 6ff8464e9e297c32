# IM classifiers and their signature data (included from classifiers/CMakeLists.txt).
# signatures.conf is embedded as a generated source so the binary needs no data files.
set(IMGUARD_SIGNATURES_CC ${CMAKE_CURRENT_BINARY_DIR}/signatures_data.cc)
add_custom_command(
  OUTPUT ${IMGUARD_SIGNATURES_CC}
  COMMAND ${CMAKE_COMMAND} -DIN=${CMAKE_CURRENT_SOURCE_DIR}/signatures.conf
          -DOUT=${IMGUARD_SIGNATURES_CC} -P ${CMAKE_CURRENT_SOURCE_DIR}/embed_signatures.cmake
  DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/signatures.conf
          ${CMAKE_CURRENT_SOURCE_DIR}/embed_signatures.cmake
  COMMENT "Embedding classifiers/signatures.conf")

# libcrypto: AES for QUIC Initial packet protection (RFC 9001) and the MTProto obfuscated
# transport header.
pkg_check_modules(LIBCRYPTO REQUIRED IMPORTED_TARGET libcrypto)

target_sources(imguard_classifiers PRIVATE
  signatures.cc
  ${IMGUARD_SIGNATURES_CC}
  tls_client_hello.cc
  tls_sni.cc
  tls_records.cc
  quic_sni.cc
  im_address.cc
  xmpp.cc
  irc.cc
  oscar.cc
  msnp.cc
  ymsg.cc
  mtproto.cc
  stun.cc
  discord_voice.cc
  tox.cc)
target_link_libraries(imguard_classifiers PRIVATE PkgConfig::LIBCRYPTO)
