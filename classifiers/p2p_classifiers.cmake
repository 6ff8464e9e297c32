# P2P classifiers and the cross-flow peer cache (included from classifiers/CMakeLists.txt).
target_sources(imguard_classifiers PRIVATE
  bittorrent_bencode.cc
  bittorrent_common.cc
  bittorrent_udp.cc
  peer_cache.cc)
target_sources(imguard_classifiers PRIVATE edonkey.cc)
target_sources(imguard_classifiers PRIVATE gnutella.cc)
target_sources(imguard_classifiers PRIVATE directconnect.cc)
target_sources(imguard_classifiers PRIVATE soulseek.cc)
target_sources(imguard_classifiers PRIVATE syncthing.cc)
