#!/bin/bash
# Syncthing captures: two `syncthing serve` devices in namespaces share one folder; the
# second receives a file from the first (checked with cmp).  Config: tools/syncthing_conf.py.
# Usage: syncthing.sh [tcp|quic|lookalike|all]
#   tcp   peers dial each other at tcp://10.10.0.x:22000 (TLS 1.3, ALPN bep/1.0), and
#         announce themselves by local discovery (UDP 21027 broadcast)
#   quic  the same over quic://10.10.0.x:22000 (UDP), local discovery off
#   lookalike  other TLS on Syncthing's port 22000: openssl with ALPN h2, then http/1.1
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/syncthing
PY=/usr/bin/python3
. "$HERE/lab.sh"
TMP=$(mktemp -d /tmp/syncthing.XXXXXX)

session() { # $1 out $2 scheme(tcp|quic) $3 local discovery(0|1)
  local out=$1 scheme=$2 local=$3
  lab_init; lab_host a 10.10.0.2; lab_host b 10.10.0.3
  local n id_a id_b
  for n in a b; do
    mkdir -p "$TMP/$n/docs"
    syncthing generate --home="$TMP/$n/home" --no-default-folder --skip-port-probing >/dev/null 2>&1
    # The limited broadcast of local discovery leaves through eth0 (there is no default route).
    nsx "$n" ip route add 255.255.255.255/32 dev eth0
  done
  id_a=$(syncthing serve --home="$TMP/a/home" --device-id)
  id_b=$(syncthing serve --home="$TMP/b/home" --device-id)
  $PY "$HERE/syncthing_conf.py" "$TMP/a/home/config.xml" "$scheme://10.10.0.2:22000" "$id_b" \
    "$scheme://10.10.0.3:22000" "$TMP/a/docs" "$local"
  $PY "$HERE/syncthing_conf.py" "$TMP/b/home/config.xml" "$scheme://10.10.0.3:22000" "$id_a" \
    "$scheme://10.10.0.2:22000" "$TMP/b/docs" "$local"
  head -c 60000 /usr/share/common-licenses/GPL-3 > "$TMP/a/docs/notes.txt"
  lab_capture "$out" 90
  for n in a b; do
    lab_run "$n" 80 env HOME="$TMP/$n" STNOUPGRADE=1 STNODEFAULTFOLDER=1 \
      syncthing serve --home="$TMP/$n/home" --no-browser --no-restart \
      --logfile="$TMP/$n/log" >/dev/null 2>&1
  done
  local i
  for i in $(seq 1 60); do
    cmp -s "$TMP/a/docs/notes.txt" "$TMP/b/docs/notes.txt" && break
    sleep 1
  done
  cmp "$TMP/a/docs/notes.txt" "$TMP/b/docs/notes.txt" && echo "synced after ${i}s"
  sleep 3
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

lookalike() {
  local out="$OUT/tls-22000-lookalike.pcap"
  lab_init; lab_host a 10.10.0.2; lab_host b 10.10.0.3
  lab_tls_lookalike "$out" a 10.10.0.2 22000 syncthing b "" h2 http/1.1
  lab_cleanup; lab_summary "$out"
}

tcp()  { session "$OUT/syncthing-tcp-local-discovery.pcap" tcp 1; }
quic() { session "$OUT/syncthing-quic.pcap" quic 0; }

what=${1:-all}
if [ "$what" = all ]; then for w in tcp quic lookalike; do ( $w ); done
else ( $what ); fi
rm -rf "$TMP"
