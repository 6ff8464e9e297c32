// SPDX-License-Identifier: GPL-3.0-or-later
// The one list of classifiers. Adding a protocol = its own files + one line here.
#include "classifiers/registry.h"

#include "classifiers/bittorrent.h"
#include "classifiers/bittorrent_udp.h"
#include "classifiers/bittorrent_webseed.h"
#include "classifiers/directconnect.h"
#include "classifiers/discord_voice.h"
#include "classifiers/edonkey.h"
#include "classifiers/gnutella.h"
#include "classifiers/im_address.h"
#include "classifiers/irc.h"
#include "classifiers/msnp.h"
#include "classifiers/mtproto.h"
#include "classifiers/ndpi/ndpi_classifier.h"
#include "classifiers/oscar.h"
#include "classifiers/peer_cache.h"
#include "classifiers/quic_sni.h"
#include "classifiers/soulseek.h"
#include "classifiers/stun.h"
#include "classifiers/syncthing.h"
#include "classifiers/telegram_call.h"
#include "classifiers/threema.h"
#include "classifiers/tls_records.h"
#include "classifiers/tls_sni.h"
#include "classifiers/tox.h"
#include "classifiers/xmpp.h"
#include "classifiers/ymsg.h"

namespace imguard::classifiers {
namespace {

// `sigs` is shared read-only by the IM classifiers and the nDPI adapter.
std::vector<std::unique_ptr<Classifier>> custom_classifiers(
    const std::shared_ptr<const Signatures>& sigs) {
  std::vector<std::unique_ptr<Classifier>> list;
  list.push_back(std::make_unique<ImAddress>(sigs));
  list.push_back(std::make_unique<TlsSni>(sigs));
  list.push_back(std::make_unique<QuicSni>(sigs));
  list.push_back(std::make_unique<Xmpp>());
  list.push_back(std::make_unique<Irc>());
  list.push_back(std::make_unique<IrcDcc>());  // before any other reader of the PeerCache
  list.push_back(std::make_unique<Oscar>());
  list.push_back(std::make_unique<Msnp>());
  list.push_back(std::make_unique<Ymsg>());
  list.push_back(std::make_unique<Mtproto>());
  list.push_back(std::make_unique<Threema>());
  list.push_back(std::make_unique<Stun>(sigs));
  list.push_back(std::make_unique<TelegramCall>());
  list.push_back(std::make_unique<DiscordVoice>());
  list.push_back(std::make_unique<Tox>());
  list.push_back(std::make_unique<Bittorrent>());
  list.push_back(std::make_unique<BittorrentUdp>());
  list.push_back(std::make_unique<BittorrentWebseed>());
  list.push_back(std::make_unique<Edonkey>());
  list.push_back(std::make_unique<Gnutella>());
  list.push_back(std::make_unique<DirectConnect>());
  list.push_back(std::make_unique<Soulseek>());
  list.push_back(std::make_unique<SyncthingDiscovery>());
  list.push_back(std::make_unique<TlsRecords>());
  // Keep last among ours: cross-flow knowledge decides only flows no payload rule claimed.
  list.push_back(std::make_unique<KnownPeers>());
  return list;
}

}  // namespace

std::unique_ptr<Chain> make_chain(Budget budget, std::string& error,
                                  std::shared_ptr<PeerCache> peers) {
  const auto sigs = Signatures::builtin();
  auto list = custom_classifiers(sigs);
  auto ndpi = make_ndpi_classifier(sigs, error);
  if (!ndpi) {
    return nullptr;
  }
  list.push_back(std::move(ndpi));
  return std::make_unique<Chain>(std::move(list), budget, PeerCache::Config{}, std::move(peers));
}

std::vector<std::string> registered_classifier_names() {
  std::vector<std::string> names;
  for (const auto& c : custom_classifiers(Signatures::builtin())) {
    names.emplace_back(c->name());
  }
  names.emplace_back("ndpi");
  return names;
}

}  // namespace imguard::classifiers
