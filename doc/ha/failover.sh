#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# State transitions of an imguard gateway in an active/standby pair whose connections are
# replicated by conntrackd (FT-FW, doc/ha/conntrackd.conf). Call it from the tool that
# moves the virtual addresses (keepalived: notify_master / notify_backup / notify_fault),
# or by hand:
#
#   failover.sh primary   this node takes the traffic: commit the peer's connections into
#                         the kernel table BEFORE the traffic arrives, then start replicating
#   failover.sh backup    this node hands the traffic over: resync from the new primary and
#                         purge the kernel table's stale entries after PurgeTimeout
#   failover.sh fault     purge the stale entries
#
# Environment: CONNTRACKD_CONFIG (default /etc/conntrackd/conntrackd.conf), IMGUARD_CONTROL
# (imguard's control socket, default /run/imguard/imguard.sock), IMGUARD (the binary,
# default imguard from PATH). Details: doc/ha.md.
set -u
CONNTRACKD=${CONNTRACKD:-conntrackd}
CONNTRACKD_CONFIG=${CONNTRACKD_CONFIG:-/etc/conntrackd/conntrackd.conf}
IMGUARD=${IMGUARD:-imguard}
IMGUARD_CONTROL=${IMGUARD_CONTROL:-/run/imguard/imguard.sock}
STATUS=0

say() {
  echo "imguard-failover: $*" >&2
  command -v logger >/dev/null 2>&1 && logger -t imguard-failover -- "$*"
  return 0
}

# step WHAT ARGS... : one conntrackd command; a failure is logged and the next step still
# runs (a half-done failover is better than none)
step() {
  what=$1
  shift
  if ! "$CONNTRACKD" -C "$CONNTRACKD_CONFIG" "$@" >/dev/null; then
    say "conntrackd $* ($what) failed"
    STATUS=1
  fi
}

case "${1:-}" in
  primary)
    # The kernel keeps a committed connection's ct label (imguard's record of what the
    # connection is and who its user is) only while some rule uses labels, which imguard's
    # ruleset does: without imguard running here the decisions arrive without records.
    if ! "$IMGUARD" status --control "$IMGUARD_CONTROL" >/dev/null 2>&1; then
      say "imguard does not answer on $IMGUARD_CONTROL; committing anyway (labels may be lost)"
      STATUS=1
    fi
    step "commit the external cache into the kernel table" -c
    step "flush the internal and external caches" -f
    step "resync the internal cache with the kernel table" -R
    step "bulk-send the table to the peer" -B
    ;;
  backup)
    step "request a resync from the new primary" -n
    step "purge stale kernel entries after PurgeTimeout" -t
    ;;
  fault)
    step "purge stale kernel entries after PurgeTimeout" -t
    ;;
  *)
    echo "usage: failover.sh primary|backup|fault" >&2
    exit 2
    ;;
esac
exit "$STATUS"
