#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Records toxcore-dht-friend.pcap: two Tox nodes (tox_node.c, Debian libtoxcore) in their
# own namespaces on the lab bridge; b bootstraps from a and sends a friend request, a
# accepts, both exchange a message, then both exit.  The full recording (~170 KB, mostly
# onion announce traffic repeated every second) is cut with tshark to the first 2 s (DHT
# bootstrap, first onion and announce packets) plus every cookie, handshake and crypto-data
# packet (the friend connection and the two messages).  Run as root from any directory; needs
# libtoxcore-dev, gcc, pkg-config, tcpdump, tshark, iproute2, ethtool.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SECS=${SECS:-25}
LAB=igtox
source "$HERE/../tools/lab.sh"

WORK=$(mktemp -d)
gcc -O2 -Wall -o "$WORK/tox_node" "$HERE/tox_node.c" $(pkg-config --cflags --libs toxcore)

lab_init
trap 'set +e; lab_cleanup; rm -rf "$WORK"' EXIT
lab_host a 10.10.0.1
lab_host b 10.10.0.2
lab_capture "$WORK/full.pcap" $((SECS + 5)) udp or tcp or arp
lab_run a $((SECS + 2)) "$WORK/tox_node" a 10.10.0.1 41234 "$WORK" "$SECS" >/dev/null
sleep 1
lab_run b $((SECS + 2)) "$WORK/tox_node" b 10.10.0.2 47321 "$WORK" "$SECS" bootstrap a friend a >/dev/null
for p in "${LAB_PIDS[@]}"; do wait "$p" || true; done
lab_stop_capture
lab_summary "$WORK/full.pcap"
tshark -r "$WORK/full.pcap" -F pcap -w "$HERE/toxcore-dht-friend.pcap" \
  -Y 'frame.time_relative <= 2 || (udp.payload[0] >= 0x18 && udp.payload[0] <= 0x1b)'
lab_summary "$HERE/toxcore-dht-friend.pcap"
