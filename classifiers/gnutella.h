// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

#include "classifiers/classifier.h"

namespace imguard::classifiers {

/// Gnutella (and LimeWire/FrostWire's Mojito DHT) on any port.
/// - TCP, from the connection's first payload in each direction: the handshake
///   ("GNUTELLA CONNECT/0.6" from the initiator, "GNUTELLA/0.6 <code>" back; 0.4's
///   "GNUTELLA CONNECT/0.4" / "GNUTELLA OK") or a HUGE request ("GET /uri-res/N2R?urn:"),
///   also when the sender's stack splits them over several segments (each segment must
///   continue the marker exactly); a push answer ("GIV <index>:<32 hex servent id>/") and
///   HTTP requests/answers carrying X-Gnutella-*, X-Alt, X-NAlt or X-Queue headers (any
///   case) in their first segment (an answer counts only while nDPI holds the request, i.e.
///   when the request's headers were split). A session that negotiates "Content-Encoding: deflate"
///   is known by this handshake, which precedes the compressed stream.
/// - TCP captured mid-stream (FlowContext::start_seen false): binary messages (23-byte
///   header: GUID, type, TTL + hops 1..16, little-endian length <= 64 KiB) whose lengths
///   chain exactly from a segment's start across segment boundaries, payloads fitting
///   their type (Ping/Pong/Push with exact GGEP blocks, Query/Query Hit strings, Bye, QRP,
///   vendor messages); one direction must chain at least three messages over at least two
///   segments and the other at least one message of its own. A flow where no segment began
///   a message within 8 payload packets is given up. A connection seen from its SYN must
///   open with the handshake: binary framing alone never makes it Gnutella.
/// - UDP: one Gnutella message whose length equals the rest of the datagram and whose
///   payload fits its type (OOB reply-number/claim vendor messages, Query Hits, Pings,
///   Pongs, Pushes), a Mojito DHT message (type 0x44: op code PING/PONG/STORE/FIND_NODE/
///   FIND_VALUE request or response, vendor, version, node id, contact address, extended
///   header and body, every length field chaining to the datagram's end), or a GND fragment
///   or acknowledgement header ("GND", flags, sequence, part number <= part count).
///
/// What separates it from its look-alikes (pcaps/gnutella/lookalike-*.pcap):
/// - random UDP with a 23-byte header-shaped prefix: besides the exact length, the payload
///   must fit the type (a Pong is 14 bytes plus an exact GGEP block, a Query's criteria are
///   NUL-terminated UTF-8 text, a vendor code is four letters), and Bye/QRP never travel
///   over UDP (of random payloads behind such a header, 0.2% pass: gnutella_test.cc);
/// - other Kademlia DHTs (BitTorrent mainline's bencoding, eMule Kad's 0xE4/0xE5 opcodes,
///   OpenDHT's msgpack) have no Gnutella header at offset 16..22 and keep their own label
///   (bittorrent_udp and edonkey also run earlier in the chain); Mojito's deprecated STATS
///   op codes, bad address lengths and trailing bytes are refused;
/// - generic zlib streams: compressed Gnutella is only recognised through its handshake;
/// - HTTP downloads: only Gnutella's own headers or URN paths count, in the header block;
/// - one forged segment (or one side's content, e.g. an uploaded file of messages): the
///   mid-stream chain must span segments and both directions must frame.
///
/// Features: `file_transfer` always; `peer` on TCP servent connections, pushes and file
/// transfers (the responder is a Gnutella node serving peers); not on UDP signalling.
class Gnutella final : public Classifier {
 public:
  std::string_view name() const noexcept override { return "gnutella"; }
  Interest interest() const noexcept override;
  Result inspect(const packet::PacketView& pkt, const FlowContext& ctx,
                 FlowSlot slot) noexcept override;
};

}  // namespace imguard::classifiers
