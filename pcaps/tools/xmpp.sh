#!/bin/bash
# XMPP captures: prosody with accounts alice/bob, two slixmpp clients (tools/xmpp_client.py).
# Usage: xmpp.sh [starttls|plain|proxy65|all]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$HERE/.." && pwd)/xmpp
PY=/usr/bin/python3
. "$HERE/lab.sh"
TMP=$(mktemp -d /tmp/xmpp.XXXXXX)

prosody_conf() { # $1 port $2 mode(starttls|plain) $3 proxy65(0|1)
  mkdir -p "$TMP/data"; chmod 777 "$TMP/data"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=example.test" \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
  local mods='"roster"; "saslauth"; "disco"; "ping"; "posix";'
  [ "$2" = starttls ] && mods="$mods \"tls\";"
  cat > "$TMP/prosody.cfg.lua" <<C
run_as_root = true
pidfile = "$TMP/prosody.pid"
data_path = "$TMP/data"
log = { info = "$TMP/prosody.log" }
interfaces = { "10.10.0.1" }
c2s_ports = { $1 }
s2s_ports = { }
modules_enabled = { $mods }
modules_disabled = { "s2s" }
authentication = "internal_plain"
c2s_require_encryption = $([ "$2" = starttls ] && echo true || echo false)
allow_unencrypted_plain_auth = $([ "$2" = plain ] && echo true || echo false)
ssl = { key = "$TMP/key.pem"; certificate = "$TMP/cert.pem" }
VirtualHost "example.test"
C
  if [ "$3" = 1 ]; then cat >> "$TMP/prosody.cfg.lua" <<C
Component "proxy.example.test" "proxy65"
  proxy65_address = "10.10.0.1"
  proxy65_acl = { "example.test" }
C
  fi
  for u in alice bob; do
    prosodyctl --config "$TMP/prosody.cfg.lua" register "$u" example.test "secret-$u" >/dev/null 2>&1
  done
}

session() { # $1 out $2 port $3 mode $4 proxy65
  local out=$1 port=$2 mode=$3 p65=$4
  lab_init; lab_host srv 10.10.0.1; lab_host alice 10.10.0.2; lab_host bob 10.10.0.3
  prosody_conf "$port" "$mode" "$p65"
  lab_run srv 60 prosody --config "$TMP/prosody.cfg.lua" -F >"$TMP/stdout.log" 2>&1
  lab_wait_port srv "$port"
  lab_capture "$out" 60
  local fa=() fb=()
  if [ "$p65" = 1 ]; then head -c 30000 /usr/share/common-licenses/GPL-3 > "$TMP/doc.txt"; fa=(--file "$TMP/doc.txt"); fb=(--file x); fi
  nsx bob timeout 40 $PY "$HERE/xmpp_client.py" bob 10.10.0.1 "$port" "$mode" "${fb[@]}" &
  local bp=$!; sleep 1.5
  nsx alice timeout 40 $PY "$HERE/xmpp_client.py" alice 10.10.0.1 "$port" "$mode" "${fa[@]}"
  wait $bp
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

starttls() { session "$OUT/prosody-c2s-starttls-5222.pcap" 5222 starttls 0; }
plain()    { session "$OUT/prosody-c2s-plain-random-port.pcap" 15222 plain 0; }
proxy65()  { session "$OUT/prosody-proxy65-file-transfer.pcap" 5222 plain 1; }

what=${1:-all}
if [ "$what" = all ]; then for w in starttls plain proxy65; do ( $w ); done
else ( $what ); fi
rm -rf "$TMP"
