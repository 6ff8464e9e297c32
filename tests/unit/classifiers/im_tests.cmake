# Unit tests of the IM classifiers (included from tests/unit/CMakeLists.txt).
target_sources(imguard_unit_tests PRIVATE
  classifiers/signatures_test.cc
  classifiers/tls_sni_test.cc
  classifiers/tls_records_test.cc
  classifiers/quic_sni_test.cc
  classifiers/im_address_test.cc
  classifiers/xmpp_test.cc
  classifiers/irc_test.cc
  classifiers/legacy_im_test.cc
  classifiers/mtproto_test.cc
  classifiers/stun_test.cc
  classifiers/tox_test.cc)
# The QUIC probe seals its own Initial packets with libcrypto, independently of the classifier.
pkg_check_modules(LIBCRYPTO_TEST REQUIRED IMPORTED_TARGET libcrypto)
target_link_libraries(imguard_unit_tests PRIVATE PkgConfig::LIBCRYPTO_TEST)
