#!/bin/bash
# BitTorrent web-seed and magnet captures, and the HTTP range downloads they resemble.
# Usage: webseed.sh [transmission|aria2|aria2_tracker|libtorrent|hoffman|lookalikes|magnet|
#                    magnet_transmission|all]
#
# Web seeds: a plain web server (webseed_server.py, Range-capable) on 10.10.0.1 holds the
# payload; the torrent names it as its only source (mktorrent -w, BEP 19 url-list; or a
# BEP 17 HTTP seed added by the client) and has no tracker, and DHT/LPD/PEX are off, so the
# client fetches every piece from the web server.  Each case checks the downloaded copy.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/bittorrent
PY=/usr/bin/python3
LAB=ws$$   # namespace names carry the PID: parallel labs do not collide
. "$HERE/lab.sh"
TMP=$(mktemp -d /tmp/webseed.XXXXXX)
chmod 755 "$TMP"

# payload: 96 KiB of pseudo-random bytes, 32 KiB pieces (3 pieces); $1 = mktorrent flags
make_torrent() {
  rm -rf "$TMP/www" "$TMP/leech" "$TMP/cl" "$TMP/seed"
  mkdir -p "$TMP/www/files" "$TMP/leech" "$TMP/seed"
  head -c 98304 /dev/urandom > "$TMP/www/files/payload.bin"
  cp "$TMP/www/files/payload.bin" "$TMP/seed/payload.bin"
  rm -f "$TMP/t.torrent"
  mktorrent -l 15 "$@" -o "$TMP/t.torrent" "$TMP/www/files/payload.bin" >/dev/null
  HASH=$(transmission-show "$TMP/t.torrent" | awk '/Hash:/{print $2}')
}

start_web() { # $1 port [extra webseed_server.py args]
  local port=$1; shift
  lab_run web 90 $PY "$HERE/webseed_server.py" --bind 10.10.0.1 --port "$port" --root "$TMP/www" "$@" \
    2>"$TMP/web.log" >/dev/null
  lab_wait_port web "$port"
}

verify() { # $1 file
  cmp "$TMP/www/files/payload.bin" "$1" && echo "payload verified"
}

show_requests() { echo "--- requests seen by the web server"; sed -n 1,40p "$TMP/web.log"; }

finish() { # $1 out
  lab_stop_capture; show_requests; lab_cleanup; lab_summary "$1"
}

# transmission-cli 3.00 (libcurl): web seed on port 80
transmission() {
  local out=$OUT/webseed-transmission.pcap
  lab_init; lab_host web 10.10.0.1; lab_host leech 10.10.0.3
  make_torrent -w http://10.10.0.1/files/payload.bin
  start_web 80
  mkdir -p "$TMP/cl"
  cat > "$TMP/cl/settings.json" <<J
{
  "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
  "peer-port": 52817, "peer-port-random-on-start": false, "port-forwarding-enabled": false,
  "rpc-enabled": false, "blocklist-enabled": false, "incomplete-dir-enabled": false,
  "start-added-torrents": true, "message-level": 2
}
J
  lab_capture "$out" 60
  lab_run leech 45 transmission-cli -g "$TMP/cl" -p 52817 -et -w "$TMP/leech" "$TMP/t.torrent" >"$TMP/leech.log" 2>&1
  local i; for i in $(seq 1 40); do
    cmp -s "$TMP/www/files/payload.bin" "$TMP/leech/payload.bin" && break; sleep 1; done
  verify "$TMP/leech/payload.bin"
  sleep 2
  finish "$out"
}

# aria2c as a BitTorrent client in namespace leech (10.10.0.3), DHT/LPD/PEX off
aria2_leech() {
  nsx leech timeout 40 aria2c --enable-dht=false --enable-dht6=false --bt-enable-lpd=false \
    --enable-peer-exchange=false --disable-ipv6=true --summary-interval=0 --console-log-level=warn \
    --file-allocation=none --seed-time=0 --listen-port=39544 -d "$TMP/leech" "$TMP/t.torrent" 2>&1 | tail -1
  verify "$TMP/leech/payload.bin"
}

# aria2c 1.36 as a BitTorrent client: the url-list entry (a directory URL, BEP 19: the
# client appends the file name) on port 8000
aria2() {
  local out=$OUT/webseed-aria2.pcap
  lab_init; lab_host web 10.10.0.1; lab_host leech 10.10.0.3
  make_torrent -w http://10.10.0.1:8000/files/
  start_web 8000
  lab_capture "$out" 60
  aria2_leech
  finish "$out"
}

# aria2c as above, but the torrent also names an HTTP tracker (opentracker on 10.10.0.2:16969,
# which knows no other peer): aria2 announces, then fetches from the web seed.  The announce
# makes the host a known BitTorrent host, which is what lets its web-seed request count.
aria2_tracker() {
  local out=$OUT/webseed-aria2-tracker.pcap
  lab_init; lab_host web 10.10.0.1; lab_host tracker 10.10.0.2; lab_host leech 10.10.0.3
  make_torrent -a http://10.10.0.2:16969/announce -w http://10.10.0.1:8000/files/
  mkdir -p "$TMP/ot"; echo "$HASH" > "$TMP/ot/whitelist"; chmod -R a+rX "$TMP/ot"
  (cd "$TMP/ot" && lab_run tracker 90 opentracker -i 10.10.0.2 -p 16969 -P 16969 -d "$TMP/ot" -w whitelist -u nobody >"$TMP/ot.log" 2>&1)
  lab_wait_port tracker 16969
  start_web 8000
  lab_capture "$out" 60
  aria2_leech
  finish "$out"
}

# libtorrent 2.0.8 (the qBittorrent/Deluge engine) with its default user agent, url seed
# on port 80; then the same with qBittorrent's user agent string
libtorrent() {
  local out=$OUT/webseed-libtorrent.pcap
  lab_init; lab_host web 10.10.0.1; lab_host leech 10.10.0.3; lab_host leech2 10.10.0.4
  make_torrent -w http://10.10.0.1/files/payload.bin
  start_web 80
  lab_capture "$out" 90
  nsx leech timeout 40 $PY "$HERE/lt_peer.py" --listen 10.10.0.3:38211 --save "$TMP/leech" \
    --torrent "$TMP/t.torrent" --transport tcp --user-agent "" --exit-when-done --time 30 | tail -1
  verify "$TMP/leech/payload.bin"
  mkdir -p "$TMP/leech2"
  nsx leech2 timeout 40 $PY "$HERE/lt_peer.py" --listen 10.10.0.4:38212 --save "$TMP/leech2" \
    --torrent "$TMP/t.torrent" --transport tcp --user-agent "qBittorrent/4.5.2" --exit-when-done --time 30 | tail -1
  verify "$TMP/leech2/payload.bin"
  finish "$out"
}

# libtorrent with a BEP 17 (Hoffman-style) HTTP seed: GET /seed?info_hash=...&piece=N
hoffman() {
  local out=$OUT/webseed-hoffman-bep17.pcap
  lab_init; lab_host web 10.10.0.1; lab_host leech 10.10.0.3
  make_torrent
  start_web 8080 --seed-file "$TMP/www/files/payload.bin" --piece-length 32768
  lab_capture "$out" 60
  nsx leech timeout 40 $PY "$HERE/lt_peer.py" --listen 10.10.0.3:38211 --save "$TMP/leech" \
    --torrent "$TMP/t.torrent" --transport tcp --user-agent "" --http-seed http://10.10.0.1:8080/seed \
    --exit-when-done --time 30 | tail -1
  verify "$TMP/leech/payload.bin"
  finish "$out"
}

# Look-alikes: ordinary HTTP range downloads of the same kind of file from the same kind of
# server.  curl -r (one piece-sized, piece-aligned range), curl -C - and wget -c (resuming a
# partial file), apt's own HTTP method (apt-helper download-file, resuming a partial file),
# and aria2c as a plain HTTP downloader splitting a 4 MiB file over 4 connections (rate
# limited and stopped after 4 s: the requests are what matters, and the file stays small).
lookalikes() {
  local out=$OUT/webseed-range-download-lookalikes.pcap
  lab_init; lab_host web 10.10.0.1; lab_host client 10.10.0.3
  make_torrent
  head -c 4194304 /dev/urandom > "$TMP/www/files/big.iso"
  start_web 80
  lab_capture "$out" 90
  local d=$TMP/client; mkdir -p "$d"
  # a small receive window, so the rate limit below bounds what the kernel buffers
  nsx client sysctl -qw net.ipv4.tcp_rmem="4096 16384 32768"
  nsx client curl -s -r 32768-65535 -o "$d/curl-range.bin" http://10.10.0.1/files/payload.bin
  head -c 40000 "$TMP/www/files/payload.bin" > "$d/curl-resume.bin"
  nsx client curl -s -C - -o "$d/curl-resume.bin" http://10.10.0.1/files/payload.bin
  head -c 50000 "$TMP/www/files/payload.bin" > "$d/payload.bin"
  (cd "$d" && nsx client wget -q -c http://10.10.0.1/files/payload.bin)
  mkdir -p "$d/apt"; head -c 16384 "$TMP/www/files/payload.bin" > "$d/apt/payload.bin"
  nsx client timeout 20 /usr/lib/apt/apt-helper download-file http://10.10.0.1/files/payload.bin "$d/apt/payload.bin" >/dev/null 2>&1
  nsx client timeout -s INT 4 aria2c -x4 -s4 -k1M --min-split-size=1M --summary-interval=0 --console-log-level=warn \
    --max-overall-download-limit=40K --file-allocation=none -d "$d/aria2" http://10.10.0.1/files/big.iso >/dev/null 2>&1
  nsx client curl -s -r 0-1023 -A "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0" \
    -o "$d/browser.bin" http://10.10.0.1/files/payload.bin
  for f in curl-resume.bin payload.bin apt/payload.bin; do cmp "$TMP/www/files/payload.bin" "$d/$f" && echo "$f verified"; done
  finish "$out"
}

# Magnet link with a tracker, over TCP: libtorrent seeder (has the torrent) and leecher
# (only magnet:?xt=urn:btih:HASH&tr=...), opentracker on 10.10.0.1:16969 (HTTP).  The
# leecher gets the info dictionary over the peer wire with the extension protocol
# (BEP 10 handshake, BEP 9 ut_metadata request/data), then the pieces.
magnet() {
  local out=$OUT/magnet-ut-metadata-tcp.pcap
  lab_init; lab_host tracker 10.10.0.1; lab_host seed 10.10.0.2; lab_host leech 10.10.0.3
  make_torrent -a http://10.10.0.1:16969/announce
  mkdir -p "$TMP/ot"; echo "$HASH" > "$TMP/ot/whitelist"; chmod -R a+rX "$TMP/ot"
  (cd "$TMP/ot" && lab_run tracker 90 opentracker -i 10.10.0.1 -p 16969 -P 16969 -d "$TMP/ot" -w whitelist -u nobody >"$TMP/ot.log" 2>&1)
  lab_wait_port tracker 16969
  lab_capture "$out" 90
  lab_run seed 60 $PY "$HERE/lt_peer.py" --listen 10.10.0.2:47011 --save "$TMP/seed" --torrent "$TMP/t.torrent" \
    --enc plain --transport tcp --time 50 >"$TMP/seed.log" 2>&1
  sleep 3
  nsx leech timeout 45 $PY "$HERE/lt_peer.py" --listen 10.10.0.3:38219 --save "$TMP/leech" \
    --magnet "magnet:?xt=urn:btih:$HASH&tr=http%3A%2F%2F10.10.0.1%3A16969%2Fannounce" \
    --enc plain --transport tcp --exit-when-done --time 40 | tail -1
  verify "$TMP/leech/payload.bin"
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

# The same magnet download with transmission-cli 3.00 as the leecher (encryption
# tolerated: plain handshake; uTP, DHT, LPD, PEX off), the libtorrent seeder as above.
magnet_transmission() {
  local out=$OUT/magnet-transmission-tcp.pcap
  lab_init; lab_host tracker 10.10.0.1; lab_host seed 10.10.0.2; lab_host leech 10.10.0.3
  make_torrent -a http://10.10.0.1:16969/announce
  mkdir -p "$TMP/ot"; echo "$HASH" > "$TMP/ot/whitelist"; chmod -R a+rX "$TMP/ot"
  (cd "$TMP/ot" && lab_run tracker 90 opentracker -i 10.10.0.1 -p 16969 -P 16969 -d "$TMP/ot" -w whitelist -u nobody >"$TMP/ot.log" 2>&1)
  lab_wait_port tracker 16969
  mkdir -p "$TMP/cl"
  cat > "$TMP/cl/settings.json" <<J
{
  "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
  "encryption": 0, "peer-port": 52817, "peer-port-random-on-start": false,
  "port-forwarding-enabled": false, "rpc-enabled": false, "blocklist-enabled": false,
  "incomplete-dir-enabled": false, "start-added-torrents": true, "message-level": 2
}
J
  lab_capture "$out" 90
  lab_run seed 60 $PY "$HERE/lt_peer.py" --listen 10.10.0.2:47011 --save "$TMP/seed" --torrent "$TMP/t.torrent" \
    --enc plain --transport tcp --time 50 >"$TMP/seed.log" 2>&1
  sleep 3
  lab_run leech 45 transmission-cli -g "$TMP/cl" -p 52817 -et -w "$TMP/leech" \
    "magnet:?xt=urn:btih:$HASH&tr=http%3A%2F%2F10.10.0.1%3A16969%2Fannounce" >"$TMP/leech.log" 2>&1
  local i; for i in $(seq 1 40); do
    cmp -s "$TMP/www/files/payload.bin" "$TMP/leech/payload.bin" && break; sleep 1; done
  verify "$TMP/leech/payload.bin"
  sleep 2
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

what=${1:-all}
if [ "$what" = all ]; then for w in transmission aria2 aria2_tracker libtorrent hoffman lookalikes magnet magnet_transmission; do ( $w ); done
else ( $what ); fi
rm -rf "$TMP"
