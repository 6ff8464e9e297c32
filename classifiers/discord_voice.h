// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Discord voice on any UDP port, two ways:
/// - its IP-discovery exchange, the first datagrams of a voice connection: the server's
///   first datagram is the response carrying the client's address in text (after the
///   client's request, or alone in a capture that starts late); evidence kDpi. A request
///   alone is never enough.
/// - mid-call (the capture started after the discovery): Discord's transport encryption
///   (aead_aes256_gcm_rtpsize, xsalsa20_poly1305_lite) keeps the RTP header and appends the
///   sender's 32-bit nonce, a counter that grows by one per packet sent; evidence
///   kBehaviour (a pattern over packets, no marker in any one of them).
/// What separates the mid-call case from RTP, SRTP and WebRTC media in general
/// (pcaps/negative/rtp-media.pcap, srtp-media.pcap, dtls.pcap,
/// pcaps/discord_voice/rtp-counter-lookalike.pcap): plain RTP ends in codec data and SRTP
/// in a random authentication tag, so their last four bytes do not count; a media
/// timestamp or a constant there does not step by one to three. Three such steps (in
/// datagrams with an RTP v2 header of a dynamic payload type, the RTP sequence number
/// stepping with the nonce within an SSRC) are a coincidence below 2^-90 for random
/// trailing bytes.
/// Another application using the same nonce-suffix scheme over RTP would match too; none
/// is known. Per-flow state: the last RTP packet of each direction.
class DiscordVoice final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "discord_voice"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
