#!/bin/bash
# BitTorrent captures.  Usage: bittorrent.sh [tcp|udptracker|utpdht|aria2|rc4|lpd|ipv6|all]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/bittorrent
PY=/usr/bin/python3
. "$HERE/lab.sh"
TMP=$(mktemp -d /tmp/bt.XXXXXX)
chmod 755 "$TMP"

# payload: 96 KiB of pseudo-random bytes, torrent with 32 KiB pieces
make_torrent() { # $1 announce url ('' = trackerless) $2 extra mktorrent flags
  rm -rf "$TMP/seed" "$TMP/leech" "$TMP/cs" "$TMP/cl" "$TMP/ot"
  mkdir -p "$TMP/seed" "$TMP/leech"
  head -c 98304 /dev/urandom > "$TMP/seed/payload.bin"
  rm -f "$TMP/t.torrent"
  local a=(); [ -n "$1" ] && a=(-a "$1")
  mktorrent -l 15 ${2:-} "${a[@]}" -o "$TMP/t.torrent" "$TMP/seed/payload.bin" >/dev/null
  HASH=$(transmission-show "$TMP/t.torrent" | awk '/Hash:/{print $2}')
}

start_opentracker() { # $1 port (TCP and UDP) ; tracker host 10.10.0.1, whitelist = the torrent
  mkdir -p "$TMP/ot"; echo "$HASH" > "$TMP/ot/whitelist"; chmod -R a+rX "$TMP/ot"
  (cd "$TMP/ot" && lab_run tracker 90 opentracker -i 10.10.0.1 -p "$1" -P "$1" -d "$TMP/ot" -w whitelist -u nobody >"$TMP/ot.log" 2>&1)
  lab_wait_port tracker "$1"
}

tr_settings() { # $1 dir $2 port $3 utp(true|false) $4 dht(true|false) $5 encryption(0 tolerated,1 preferred,2 required)
  mkdir -p "$1"
  cat > "$1/settings.json" <<J
{
  "dht-enabled": $4, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": $3,
  "encryption": $5, "peer-port": $2, "peer-port-random-on-start": false,
  "port-forwarding-enabled": false, "rpc-enabled": false, "blocklist-enabled": false,
  "speed-limit-up-enabled": false, "speed-limit-down-enabled": false,
  "incomplete-dir-enabled": false, "start-added-torrents": true, "message-level": 2
}
J
}

# transmission-cli seeder (10.10.0.2:41733) and leecher (10.10.0.3:52817) via opentracker
transmission_pair() { # $1 out $2 announce-url $3 tracker-port [$4 utp true/false]
  lab_init; lab_host tracker 10.10.0.1; lab_host seed 10.10.0.2; lab_host leech 10.10.0.3
  make_torrent "$2" -p
  start_opentracker "$3"
  tr_settings "$TMP/cs" 41733 "${4:-false}" false 0
  tr_settings "$TMP/cl" 52817 "${4:-false}" false 0
  lab_capture "$1" 90
  lab_run seed 60 transmission-cli -g "$TMP/cs" -p 41733 -et -M -w "$TMP/seed" "$TMP/t.torrent" >"$TMP/seed.log" 2>&1
  sleep 3
  lab_run leech 60 transmission-cli -g "$TMP/cl" -p 52817 -et -M -w "$TMP/leech" "$TMP/t.torrent" >"$TMP/leech.log" 2>&1
  local i; for i in $(seq 1 40); do
    cmp -s "$TMP/seed/payload.bin" "$TMP/leech/payload.bin" && break; sleep 1; done
  cmp "$TMP/seed/payload.bin" "$TMP/leech/payload.bin" && echo "download complete"
  sleep 3
  lab_stop_capture; lab_cleanup; lab_summary "$1"
}
tcp()        { transmission_pair "$OUT/transmission-tcp-random-port.pcap" http://10.10.0.1:16969/announce 16969; }
udptracker() { transmission_pair "$OUT/udp-tracker.pcap" udp://10.10.0.1:16969/announce 16969; }
utp()        { transmission_pair "$OUT/transmission-utp.pcap" http://10.10.0.1:16969/announce 16969 true; }

lt() { # libtorrent peer in namespace $1, rest = lt_peer.py args
  local n=$1; shift
  lab_run "$n" 60 $PY "$HERE/lt_peer.py" "$@" >>"$TMP/$n.log" 2>&1
}

# libtorrent, TCP only, RC4 (MSE/PE) forced on both sides, peer given directly (no tracker)
rc4() {
  lab_init; lab_host seed 10.10.0.2; lab_host leech 10.10.0.3
  make_torrent ""
  lab_capture "$OUT/libtorrent-rc4-required.pcap" 60
  lt seed --listen 10.10.0.2:47001 --save "$TMP/seed" --torrent "$TMP/t.torrent" --enc rc4 --transport tcp --time 40
  sleep 2
  nsx leech timeout 40 $PY "$HERE/lt_peer.py" --listen 10.10.0.3:38211 --save "$TMP/leech" --torrent "$TMP/t.torrent" \
    --enc rc4 --transport tcp --peer 10.10.0.2:47001 --exit-when-done --time 30 | tail -2
  cmp "$TMP/seed/payload.bin" "$TMP/leech/payload.bin" && echo "payload verified"
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/libtorrent-rc4-required.pcap"
}

# libtorrent, three DHT nodes bootstrapping off each other; the leecher only has a magnet
# link, finds the seeder through DHT get_peers, fetches the metadata and payload over uTP
utpdht() {
  lab_init; lab_host seed 10.10.0.2; lab_host leech 10.10.0.3; lab_host node 10.10.0.4
  make_torrent ""
  lab_capture "$OUT/libtorrent-utp-dht.pcap" 90
  lt node --listen 10.10.0.4:50001 --dht-only --dht --transport utp --bootstrap 10.10.0.2:45123,10.10.0.3:34567 --time 60
  lt seed --listen 10.10.0.2:45123 --save "$TMP/seed" --torrent "$TMP/t.torrent" --dht --transport utp \
    --bootstrap 10.10.0.4:50001,10.10.0.3:34567 --time 60
  sleep 4
  nsx leech timeout 55 $PY "$HERE/lt_peer.py" --listen 10.10.0.3:34567 --save "$TMP/leech" --magnet "magnet:?xt=urn:btih:$HASH" \
    --dht --transport utp --bootstrap 10.10.0.4:50001,10.10.0.2:45123 --exit-when-done --time 50 | tail -2
  cmp "$TMP/seed/payload.bin" "$TMP/leech/payload.bin" && echo "payload verified"
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/libtorrent-utp-dht.pcap"
}

# aria2 seeder and leecher via opentracker; aria2 opens every peer connection with the
# MSE/PE handshake; crypto required and minimum level arc4, so the payload is RC4 too
aria2() {
  lab_init; lab_host tracker 10.10.0.1; lab_host seed 10.10.0.2; lab_host leech 10.10.0.3
  make_torrent http://10.10.0.1:16969/announce -p
  start_opentracker 16969
  local common=(--enable-dht=false --enable-dht6=false --bt-enable-lpd=false --enable-peer-exchange=false
    --bt-require-crypto=true --bt-min-crypto-level=arc4 --disable-ipv6=true --summary-interval=0
    --console-log-level=warn --file-allocation=none --bt-tracker-connect-timeout=5)
  lab_capture "$OUT/aria2-mse-encrypted.pcap" 90
  lab_run seed 60 aria2c "${common[@]}" --listen-port=42811 -V --seed-ratio=0.0 -d "$TMP/seed" "$TMP/t.torrent" >"$TMP/seed.log" 2>&1
  sleep 3
  nsx leech timeout 45 aria2c "${common[@]}" --listen-port=39544 --seed-time=0 -d "$TMP/leech" "$TMP/t.torrent" 2>&1 | tail -3
  cmp "$TMP/seed/payload.bin" "$TMP/leech/payload.bin" && echo "payload verified"
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/aria2-mse-encrypted.pcap"
}

# libtorrent Local Peer Discovery: BT-SEARCH datagrams to 239.192.152.143:6771, then a plain
# TCP transfer between the two peers that found each other that way.  A multicast route on
# eth0 inside each namespace lets the announces leave (they only reach the lab bridge).
lpd() {
  lab_init; lab_host seed 10.10.0.2; lab_host leech 10.10.0.3
  ip -n "$(ns seed)" route add 224.0.0.0/4 dev eth0; ip -n "$(ns leech)" route add 224.0.0.0/4 dev eth0
  make_torrent ""
  lab_capture "$OUT/lpd.pcap" 90 'not igmp'
  lt seed --listen 10.10.0.2:46881 --save "$TMP/seed" --torrent "$TMP/t.torrent" --lsd --transport tcp --time 60
  sleep 2
  nsx leech timeout 50 $PY "$HERE/lt_peer.py" --listen 10.10.0.3:36112 --save "$TMP/leech" --torrent "$TMP/t.torrent" \
    --lsd --transport tcp --exit-when-done --time 45 | tail -1
  cmp "$TMP/seed/payload.bin" "$TMP/leech/payload.bin" && echo "payload verified"
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/lpd.pcap"
}

# libtorrent over IPv6 only: plain TCP peer-wire transfer between fd00:10:10::2 and ::3
ipv6() {
  lab_init ipv6; lab_host seed 10.10.0.2 fd00:10:10::2; lab_host leech 10.10.0.3 fd00:10:10::3
  make_torrent ""
  lab_capture "$OUT/libtorrent-tcp-ipv6.pcap" 60 'not ip6 multicast or ip6 dst net ff02::1:ff00:0/104'
  lt seed --listen '[fd00:10:10::2]:47002' --save "$TMP/seed" --torrent "$TMP/t.torrent" --enc plain --transport tcp --time 40
  sleep 2
  nsx leech timeout 40 $PY "$HERE/lt_peer.py" --listen '[fd00:10:10::3]:38212' --save "$TMP/leech" --torrent "$TMP/t.torrent" \
    --enc plain --transport tcp --peer '[fd00:10:10::2]:47002' --exit-when-done --time 30 | tail -1
  cmp "$TMP/seed/payload.bin" "$TMP/leech/payload.bin" && echo "payload verified"
  lab_stop_capture; lab_cleanup; lab_summary "$OUT/libtorrent-tcp-ipv6.pcap"
}

what=${1:-all}
if [ "$what" = all ]; then for w in tcp udptracker utp utpdht aria2 rc4 lpd ipv6; do ( $w ); done
else ( $what ); fi
rm -rf "$TMP"
