#!/bin/bash
# XMPP captures: prosody with accounts alice/bob, two slixmpp clients (tools/xmpp_client.py),
# or one scripted raw-socket client (tools/xmpp_raw.py) for openings no library sends.
# Usage: xmpp.sh [starttls|plain|proxy65|split|chunks|prefix|bytes|bosh|websocket|
#                 directtls|directtls_noalpn|ws_lookalike|tls5223_lookalike|xmlrpc_lookalike|all]
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
  mods="$mods ${XMPP_MODS:-}"
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
${XMPP_EXTRA:-}
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
  local pmode_cfg=$mode cport=$port
  # Direct TLS: c2s stays on 5222 (starttls config), the TLS port comes from XMPP_EXTRA.
  [ "$mode" = directtls ] && { pmode_cfg=starttls; cport=5222; }
  prosody_conf "$cport" "$pmode_cfg" "$p65"
  lab_run srv 60 prosody --config "$TMP/prosody.cfg.lua" -F >"$TMP/stdout.log" 2>&1
  lab_wait_port srv "$port"
  lab_capture "$out" 60
  local fa=() fb=()
  if [ "$p65" = 1 ]; then head -c 30000 /usr/share/common-licenses/GPL-3 > "$TMP/doc.txt"; fa=(--file "$TMP/doc.txt"); fb=(--file x); fi
  nsx bob timeout 40 $PY "$HERE/xmpp_client.py" bob 10.10.0.1 "$port" "$mode" --alpn "${XMPP_ALPN:-}" "${fb[@]}" &
  local bp=$!; sleep 1.5
  nsx alice timeout 40 $PY "$HERE/xmpp_client.py" alice 10.10.0.1 "$port" "$mode" --alpn "${XMPP_ALPN:-}" "${fa[@]}"
  wait $bp
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

# One raw-socket client (alice) against prosody; $1 out $2 listening port, rest: xmpp_raw.py args
raw_session() {
  local out=$1 port=$2; shift 2
  lab_init; lab_host srv 10.10.0.1; lab_host alice 10.10.0.2
  prosody_conf 15222 plain 0
  lab_run srv 60 prosody --config "$TMP/prosody.cfg.lua" -F >"$TMP/stdout.log" 2>&1
  lab_wait_port srv "$port"
  lab_capture "$out" 60
  nsx alice timeout 40 $PY "$HERE/xmpp_raw.py" "$@"
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}

HTTP_CFG='http_ports = { 5280 }
http_interfaces = { "10.10.0.1" }
https_ports = { }'
TLS_CFG='c2s_direct_tls_ports = { 5223 }'

starttls() { session "$OUT/prosody-c2s-starttls-5222.pcap" 5222 starttls 0; }
split()    { raw_session "$OUT/stream-decl-separate-segment.pcap" 15222 stream 10.10.0.1 15222 --split-decl; }
chunks()   { raw_session "$OUT/stream-header-16-byte-segments.pcap" 15222 stream 10.10.0.1 15222 --style double --chunk 16; }
prefix()   { raw_session "$OUT/stream-prefix-spacing.pcap" 15222 stream 10.10.0.1 15222 --style prefix --split-decl; }
bytes()    { raw_session "$OUT/stream-header-byte-per-segment.pcap" 15222 stream 10.10.0.1 15222 --chunk 1; }
bosh()     { XMPP_MODS='"bosh";' XMPP_EXTRA="$HTTP_CFG" raw_session "$OUT/prosody-bosh-http-bind.pcap" 5280 bosh 10.10.0.1 5280; }
websocket() { XMPP_MODS='"websocket";' XMPP_EXTRA="$HTTP_CFG" raw_session "$OUT/prosody-websocket.pcap" 5280 websocket 10.10.0.1 5280; }
ws_lookalike() { XMPP_MODS='"websocket";' XMPP_EXTRA="$HTTP_CFG" raw_session "$OUT/websocket-other-subprotocol-lookalike.pcap" 5280 websocket 10.10.0.1 5280 --protocol mqtt; }
directtls() { XMPP_EXTRA="$TLS_CFG" XMPP_ALPN=xmpp-client session "$OUT/prosody-direct-tls-5223.pcap" 5223 directtls 0; }
directtls_noalpn() { XMPP_EXTRA="$TLS_CFG" XMPP_ALPN= session "$OUT/prosody-direct-tls-no-alpn.pcap" 5223 directtls 0; }
# Look-alike: another TLS service on XMPP's direct-TLS port, ALPN h2, SNI of the XMPP domain.
tls5223_lookalike() {
  local out="$OUT/tls-5223-h2-lookalike.pcap"
  lab_init; lab_host srv 10.10.0.1; lab_host alice 10.10.0.2
  lab_tls_lookalike "$out" srv 10.10.0.1 5223 example.test alice example.test h2
  lab_cleanup; lab_summary "$out"
}
# Look-alike: XML over HTTP, Python's XML-RPC server and client, and an XHTML <body> POSTed.
xmlrpc_lookalike() {
  local out="$OUT/xml-over-http-lookalike.pcap"
  lab_init; lab_host srv 10.10.0.1; lab_host alice 10.10.0.2
  lab_run srv 30 $PY -c 'from xmlrpc.server import SimpleXMLRPCServer as S
s = S(("10.10.0.1", 5280), logRequests=False); s.register_function(lambda a, b: a + b, "add")
s.register_function(lambda: "pong", "ping"); s.serve_forever()' >/dev/null 2>&1
  lab_wait_port srv 5280
  lab_capture "$out" 30
  nsx alice timeout 10 $PY -c 'import xmlrpc.client as x
p = x.ServerProxy("http://10.10.0.1:5280/RPC2"); print(p.add(2, 3), p.ping())'
  nsx alice timeout 10 curl -s -o /dev/null -H 'Content-Type: text/xml' --data-binary \
    "<?xml version='1.0'?><body xmlns='http://www.w3.org/1999/xhtml'><p>hi</p></body>" \
    http://10.10.0.1:5280/RPC2
  lab_stop_capture; lab_cleanup; lab_summary "$out"
}
plain()    { session "$OUT/prosody-c2s-plain-random-port.pcap" 15222 plain 0; }
proxy65()  { session "$OUT/prosody-proxy65-file-transfer.pcap" 5222 plain 1; }

what=${1:-all}
if [ "$what" = all ]; then
  for w in starttls plain proxy65 split chunks prefix bytes bosh websocket directtls \
           directtls_noalpn ws_lookalike tls5223_lookalike xmlrpc_lookalike; do ( $w ); done
else ( $what ); fi
rm -rf "$TMP"
