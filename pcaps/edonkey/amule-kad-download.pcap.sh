#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Records amule-kad-download.pcap: two amuled (Debian amule-daemon 2.3.3) nodes that know
# each other only through a Kad nodes.dat, in private network namespaces on the
# documentation range 198.51.100.0/24 (aMule's Kad drops RFC 1918 contacts). Node A then
# downloads node B's shared file from an ed2k link naming B as source: Kad UDP
# (ping/pong, KADEMLIA2_REQ) plus one plaintext eD2k TCP peer session (hello, eMule info,
# secure identification, file request, upload request). Protocol obfuscation is off.
# Usage (root): pcaps/edonkey/amule-kad-download.pcap.sh OUT.pcap [seconds]
set -u
OUT=$(realpath -m "${1:?output pcap}")
DUR=${2:-50}
D=$(mktemp -d /tmp/amule-lab.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  sleep 1
  ip netns del edkA 2>/dev/null
  ip netns del edkB 2>/dev/null
  rm -rf "$D"
}
trap cleanup EXIT

/usr/bin/python3 - "$D" <<'PY'
import hashlib, os, struct, sys
D = sys.argv[1]
nodes = {"A": ("198.51.100.10", 4662, 4672, 4712), "B": ("198.51.100.20", 4663, 4673, 4713)}
for n, (ip, tcp, udp, ec) in nodes.items():
    d = f"{D}/{n}"
    os.makedirs(d + "/Incoming"); os.makedirs(d + "/Temp")
    open(d + "/amule.conf", "w").write(f"""[eMule]
Nick=node{n}
Port={tcp}
UDPPort={udp}
UDPEnable=1
ConnectToKad=1
ConnectToED2K=0
Autoconnect=1
IncomingDir={d}/Incoming
TempDir={d}/Temp
UPnPEnabled=0
[ExternalConnect]
AcceptExternalConnections=1
ECAddress=127.0.0.1
ECPort={ec}
ECPassword={hashlib.md5(b"lab").hexdigest()}
[WebServer]
Enabled=0
[Obfuscation]
IsClientCryptLayerSupported=0
IsCryptLayerRequested=0
IsClientCryptLayerRequired=0
""")
    # nodes.dat version 2: 0, version, count, then id, IPv4 (host order, LE), UDP, TCP,
    # contact version, UDP key (8 bytes), verified flag.
    oip, otcp, oudp, _ = nodes["B" if n == "A" else "A"]
    a = [int(x) for x in oip.split(".")]
    rec = os.urandom(16) + struct.pack("<IHHB", (a[0] << 24) | (a[1] << 16) | (a[2] << 8) | a[3],
                                       oudp, otcp, 8) + bytes(8) + b"\x01"
    open(d + "/nodes.dat", "wb").write(struct.pack("<III", 0, 2, 1) + rec)
    open(f"{d}/Incoming/sample-{n}.txt", "wb").write(os.urandom(2000))
PY

ip netns add edkA
ip netns add edkB
ip link add edka0 type veth peer name edkb0
ip link set edka0 netns edkA
ip link set edkb0 netns edkB
ip netns exec edkA ip addr add 198.51.100.10/24 dev edka0
ip netns exec edkB ip addr add 198.51.100.20/24 dev edkb0
for n in A B; do
  ns=edk$n ifc=edk$(echo $n | tr AB ab)0
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec $ns ethtool -K $ifc tso off gso off gro off tx off >/dev/null 2>&1
  ip netns exec $ns ip link set lo up
  ip netns exec $ns ip link set $ifc up
done
ip netns exec edkA timeout $((DUR + 5)) tcpdump -q -i edka0 -s 0 -w "$OUT" 'tcp or udp' \
  >/dev/null 2>&1 &
pids+=($!)
sleep 1
for n in A B; do
  ip netns exec edk$n timeout "$DUR" amuled -c "$D/$n" -o >"$D/$n.log" 2>&1 &
  pids+=($!)
  sleep 3
done
sleep 12
f=$D/B/Incoming/sample-B.txt
hash=$(openssl dgst -md4 -provider legacy -provider default -r "$f" | cut -d' ' -f1)
link="ed2k://|file|sample-B.txt|$(stat -c %s "$f")|$hash|/|sources,198.51.100.20:4663|/"
ip netns exec edkA timeout 10 amulecmd -h 127.0.0.1 -p 4712 -P lab -c "add $link"
sleep $((DUR - 12))
