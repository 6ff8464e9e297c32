#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Direct Connect through `imguard run` (tests/e2e/lab.sh): the uhub hub and the uploading
# ncdc client (alice) in the server namespace, the downloading ncdc client (bob) in the
# client namespace, both active. Bob's cleartext hub session carries
# "DCTM ... ADCS/0.10 <port> ..."; alice then connects to bob over TLS (no SNI, no ALPN).
#
#   directconnect.sh IMGUARD dc-tls-transfer
#
# dc-tls-transfer: with a rule dropping directconnect on `cross_flow` evidence only, the hub
# sessions and the search pass and the TLS transfer is dropped (bob's copy never
# completes; the decision log names it directconnect, evidence cross_flow); with the rule
# off, the same download completes. Needs root, uhub, ncdc and tmux; every wait is bounded.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/e2e/lab.sh
. "$HERE/lab.sh"
lab_case_args "$@"
HUB_PORT=$((20000 + RANDOM % 10000))
BOB_PORT=$((30000 + RANDOM % 10000))
ALICE_PORT=$((40000 + RANDOM % 10000))

# write_config FILE ACTION : the cross_flow rule's action. Two workers: connections are
# steered round-robin, so the hub session and the transfer it arranges usually reach
# different workers; the hint reaches the transfer through the workers' shared cache.
write_config() {
  cat >"$1" <<C
version: 1
engine:
  mode: gateway
  queue: {first: 0, count: 2, maxlen: 2048, fail_open: true, bypass: true}
  budget: {tcp_packets: 24, udp_packets: 8}
rules:
  - name: dc-tls-transfers
    app: directconnect
    evidence: [cross_flow]
    action: $2
actions:
  default: allow
C
}

# ncdc USER NS IP PORT : one ncdc client in tmux, sharing one random file
start_ncdc() {
  local u=$1 ns=$2 ip=$3 port=$4 d="$LAB_TMP/$1"
  mkdir -p "$d/share"
  head -c 200000 /dev/urandom >"$d/share/$u-file.bin"
  ip netns exec "$ns" env TERM=xterm HOME="$d" tmux -L "$LAB_ID-$u" new-session -d -x 200 \
    -y 50 "timeout 90 ncdc -c $d/ncdc"
  sleep 1
  key "$u" "/set nick $u"
  key "$u" "/set active true"
  key "$u" "/set active_ip $ip"
  key "$u" "/set active_port $port"
  key "$u" "/set tls_policy prefer"
  key "$u" "/share files $d/share" 2
  key "$u" "/open lab adc://$LAB_SERVER:$HUB_PORT/" 2
}
key() { tmux -L "$LAB_ID-$1" send-keys "$2" Enter; sleep "${3:-0.3}"; }
stop_ncdc() { tmux -L "$LAB_ID-$1" kill-server 2>/dev/null || true; }

# one_download ACTION : 0 when bob's copy of alice's file completed within 15 s
one_download() {
  write_config "$LAB_TMP/imguard.yaml" "$1"
  IMGUARD_LOG="$LAB_TMP/imguard-$1.log"
  lab_start_imguard "$LAB_R" "$IMGUARD_LOG" 10 \
    "$IMGUARD" run --config "$LAB_TMP/imguard.yaml" --control "$LAB_TMP/imguard.sock" \
    --log-decisions
  rm -rf "$LAB_TMP/alice" "$LAB_TMP/bob"
  start_ncdc alice "$LAB_S" "$LAB_SERVER" "$ALICE_PORT"
  start_ncdc bob "$LAB_C" "$LAB_CLIENT" "$BOB_PORT"
  sleep 2
  key bob "/search alice-file" 3
  tmux -L "$LAB_ID-bob" send-keys d  # download the first result
  local rc=1
  if lab_wait_for 15 cmp -s "$LAB_TMP/alice/share/alice-file.bin" \
    "$LAB_TMP/bob/ncdc/dl/alice-file.bin"; then
    rc=0
  fi
  stop_ncdc alice
  stop_ncdc bob
  lab_stop "$IMGUARD_PID"
  return "$rc"
}

case_dc_tls_transfer() {
  local tool
  for tool in uhub ncdc tmux; do
    if ! command -v "$tool" >/dev/null; then
      fail "$tool is needed (scripts/install-deps.sh)"
      return
    fi
  done
  : >"$LAB_TMP/users.conf"
  : >"$LAB_TMP/plugins.conf"
  cat >"$LAB_TMP/uhub.conf" <<C
server_port=$HUB_PORT
server_bind_addr=$LAB_SERVER
hub_name=lab hub
file_acl=$LAB_TMP/users.conf
file_plugins=$LAB_TMP/plugins.conf
C
  lab_bg "$LAB_S" timeout 120 uhub -c "$LAB_TMP/uhub.conf" -l "$LAB_TMP/uhub.log"
  lab_wait_for 10 sh -c "ip netns exec $LAB_S ss -ltnH 'sport = :$HUB_PORT' | grep -q LISTEN"
  local bob="${LAB_CLIENT//./\\.}"
  if one_download drop; then
    fail "the TLS transfer completed although its rule drops it"
  else
    pass "the TLS transfer was dropped"
  fi
  # The rule matches cross_flow evidence only: its name in the line is the evidence.
  log_has "decided tcp [0-9.]+:[0-9]+ -> $bob:$BOB_PORT app=directconnect .*action=drop .*rule=dc-tls-transfers" \
    "the transfer's cross_flow drop decision"
  log_has "decided tcp $bob:[0-9]+ -> ${LAB_SERVER//./\\.}:$HUB_PORT app=directconnect .*action=allow" \
    "bob's hub session allowed"
  if one_download allow; then
    pass "with the rule allowing, the same download completed"
  else
    fail "the download did not complete with the rule allowing"
  fi
  log_has "decided tcp [0-9.]+:[0-9]+ -> $bob:$BOB_PORT app=directconnect .*action=allow .*rule=dc-tls-transfers" \
    "the allowed transfer named by cross_flow too"
}

# log_has PATTERN WHAT : the decision log (extended regex) of the current imguard
log_has() {
  if grep -Eq "$1" "$IMGUARD_LOG"; then pass "log: $2"; else fail "log lacks $2 (/$1/)"; fi
}

lab_main "imguard-*.log"
