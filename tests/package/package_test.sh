#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Package test: builds the .deb with CPack, installs it with apt into a clean Debian 12
# root (debootstrap; Depends resolved from the archive), boots that root with
# `systemd-nspawn -b --private-network` and exercises the unit: enabled and started at
# boot, status, reload, a rejected reload that keeps the daemon, a crash cleaned up by
# ExecStopPost, stop leaves no rules, purge removes user, config and rules.
# When nspawn cannot boot here it falls back to chroot + a network namespace and runs
# the daemon directly (it says why).
#
#   package_test.sh BUILD_DIR
#
# Root only (exit 77 otherwise). Cache: BUILD_DIR/package-cache (the bootstrapped root
# as a tarball, apt's downloaded .debs). Env: IMGUARD_DEBIAN_MIRROR (default: the
# machine's own Debian mirror), IMGUARD_PACKAGE_NO_NSPAWN=1 forces the fallback.
set -euo pipefail

BUILD=$(realpath "$1")
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: package/deb needs root (debootstrap, systemd-nspawn, network namespaces)"
  exit 77
fi
for tool in debootstrap systemd-nspawn cpack dpkg-deb; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: package/deb needs $tool (apt-get install debootstrap systemd-container)"
    exit 77
  fi
done

T0=$(date +%s)
CACHE="$BUILD/package-cache"
WORK=$(mktemp -d /tmp/imguard-pkgtest.XXXXXX)
ROOT="$WORK/root"
NS="imguard-pkg-$$"
NSPAWN_PID=""
LEADER=""
mkdir -p "$CACHE/apt-archives/partial" "$ROOT"

log() { echo "[$(($(date +%s) - T0))s] $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cleanup() {
  set +e
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    kill -TERM "$NSPAWN_PID" # nspawn asks the container's systemd to power off
    for _ in $(seq 1 30); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 1; done
    kill -KILL "$NSPAWN_PID" 2>/dev/null
    wait "$NSPAWN_PID" 2>/dev/null
  fi
  for m in var/cache/apt/archives dev/pts dev proc sys; do
    mountpoint -q "$ROOT/$m" 2>/dev/null && umount -l "$ROOT/$m"
  done
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT

# ---- 1. the .deb ----------------------------------------------------------------------
log "building the .deb (cpack)"
cmake --build "$BUILD" -j2 --target imguard imguard_gz >/dev/null
(cd "$BUILD" && cpack -G DEB -B "$WORK/deb" >"$WORK/cpack.log" 2>&1) ||
  { cat "$WORK/cpack.log" >&2; fail "cpack"; }
DEB=$(ls "$WORK"/deb/imguard_*.deb)
dpkg-deb -I "$DEB" control | sed 's/^/  /'
dpkg-deb -f "$DEB" Depends | grep -q "nftables | iptables" || fail "Depends lacks nftables | iptables"
dpkg-deb -f "$DEB" Depends | grep -q "libndpi" || fail "Depends lacks the shlibdeps (libndpi)"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles | grep -qx /etc/imguard/imguard.yaml ||
  fail "/etc/imguard/imguard.yaml is not a conffile"
for f in ./usr/bin/imguard ./lib/systemd/system/imguard.service ./etc/imguard/imguard.yaml \
  ./usr/lib/imguard/cleanup-rules ./usr/share/man/man8/imguard.8.gz \
  ./usr/share/man/man5/imguard.yaml.5.gz ./usr/share/doc/imguard/README.md \
  ./usr/share/doc/imguard/copyright ./usr/share/doc/imguard/examples/home.yaml \
  ./usr/share/doc/imguard/ha.md ./usr/share/doc/imguard/examples/ha/conntrackd.conf \
  ./usr/share/doc/imguard/examples/ha/failover.sh; do
  dpkg-deb -c "$DEB" | awk '{print $6}' | grep -qx "$f" || fail "$f missing from the .deb"
done
if command -v lintian >/dev/null; then
  log "lintian"
  lintian --pedantic "$DEB" 2>&1 | grep -v "running with root privileges" | sed 's/^/  /' || true
fi

# ---- 2. a clean Debian 12 root (cached) ----------------------------------------------
mirror="${IMGUARD_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ && $2 !~ /security/ && $2 ~ /debian/ {print $2; exit}')
fi
if [ -z "$mirror" ]; then
  mirror=$(awk '$1 == "deb" && $2 ~ /debian/ && $2 !~ /security/ {print $2; exit}' \
    /etc/apt/sources.list 2>/dev/null || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"
BASE="$CACHE/bookworm-base.tar"
if [ ! -s "$BASE" ]; then
  log "debootstrap bookworm from $mirror (first run; cached as $BASE)"
  if ! timeout 1200 debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2,procps \
    --cache-dir="$CACHE/apt-archives" bookworm "$ROOT" "$mirror" >"$WORK/debootstrap.log" 2>&1; then
    tail -20 "$WORK/debootstrap.log" >&2
    fail "debootstrap from $mirror"
  fi
  rm -f "$ROOT"/var/cache/apt/archives/*.deb
  tar -C "$ROOT" -cf "$BASE.tmp" . && mv "$BASE.tmp" "$BASE"
else
  log "unpacking the cached root $BASE"
  tar -C "$ROOT" -xf "$BASE"
fi
echo imguard-pkgtest >"$ROOT/etc/hostname"

# ---- 3. install with apt (Depends from the archive) ----------------------------------
# chroot with /proc, /sys, /dev and a bind-mounted apt cache, in the host's network
# namespace (apt needs the mirror). Nothing starts: no systemd runs in the chroot
# (the maintainer scripts check /run/systemd/system).
log "apt-get install ./$(basename "$DEB")"
cp "$DEB" "$ROOT/tmp/"
mount -t proc proc "$ROOT/proc"
mount --rbind /sys "$ROOT/sys" && mount --make-rslave "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
mount --bind /dev/pts "$ROOT/dev/pts"
mount --bind "$CACHE/apt-archives" "$ROOT/var/cache/apt/archives"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
in_chroot() { timeout 600 chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_chroot apt-get update -q >"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log"; fail "apt-get update"; }
in_chroot apt-get install -y -q "/tmp/$(basename "$DEB")" >>"$WORK/apt.log" 2>&1 ||
  { tail -30 "$WORK/apt.log"; fail "apt-get install the .deb"; }
grep -E "^Setting up " "$WORK/apt.log" | awk '{print $3}' | sort -u | tr '\n' ' ' |
  sed 's/^/  installed: /'
echo
in_chroot getent passwd imguard | grep -q '/usr/sbin/nologin\|/bin/false' || fail "no system user imguard"
in_chroot getent group imguard >/dev/null || fail "no group imguard"
[ "$(in_chroot stat -c '%U:%G %a' /etc/imguard)" = "root:imguard 750" ] ||
  fail "/etc/imguard is $(in_chroot stat -c '%U:%G %a' /etc/imguard)"
[ -L "$ROOT/etc/systemd/system/multi-user.target.wants/imguard.service" ] ||
  fail "imguard.service is not enabled after install"
# shellcheck disable=SC2016 # ${Conffiles} is dpkg-query's field
in_chroot dpkg-query -W -f='${Conffiles}\n' imguard | grep -q /etc/imguard/imguard.yaml ||
  fail "dpkg does not list the conffile"
in_chroot man -w imguard.yaml >/dev/null 2>&1 || in_chroot test -f /usr/share/man/man5/imguard.yaml.5.gz ||
  fail "imguard.yaml(5) not installed"
log "systemd-analyze verify / security against the installed root"
if ! verify=$(in_chroot systemd-analyze verify --man=no /lib/systemd/system/imguard.service 2>&1) ||
  [ -n "$verify" ]; then
  printf '  verify: %s\n' "$verify"
  fail "systemd-analyze verify imguard.service is not clean"
fi
echo "  systemd-analyze verify: clean"
exposure=$(in_chroot systemd-analyze security --offline=yes imguard.service 2>&1 |
  sed -n 's/.*Overall exposure level for imguard.service: \([0-9.]*\).*/\1/p')
echo "  exposure: $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e != "" && e <= 2.0) }' || fail "exposure $exposure > 2.0"
for m in var/cache/apt/archives dev/pts dev proc; do umount "$ROOT/$m"; done
umount -R "$ROOT/sys"

# ---- helpers shared by both modes ----------------------------------------------------
# run CMD...: a command inside the system under test (booted container or chroot+netns).
imguard_rules_present() { # exit 0 when any imguard rule is installed there
  run nft list table inet imguard >/dev/null 2>&1 && return 0
  run sh -c 'iptables-save 2>/dev/null; ip6tables-save 2>/dev/null' | grep -q IMGUARD
}
rules_absent() { ! imguard_rules_present; }
restarted() { # the unit's main pid is a new, live one
  local p
  p=$(run systemctl show -P MainPID imguard.service)
  [ "$p" != 0 ] && [ "$p" != "$OLD_PID" ]
}
wait_for() { # wait_for SECONDS CMD...
  local end=$(($(date +%s) + $1))
  shift
  until "$@"; do
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.5
  done
}
break_config() { run sh -c 'cp /etc/imguard/imguard.yaml /root/good.yaml && echo "bogus_key: 1" >>/etc/imguard/imguard.yaml'; }
restore_config() { run cp /root/good.yaml /etc/imguard/imguard.yaml; }
generation() { run imguard status "$@" | tr ' ' '\n' | sed -n 's/^generation=//p'; }

purge_and_check() {
  log "apt-get purge imguard"
  run env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q imguard >"$WORK/purge.log" 2>&1 ||
    { cat "$WORK/purge.log"; fail "apt-get purge"; }
  ! imguard_rules_present || fail "rules left after purge"
  ! run getent passwd imguard >/dev/null || fail "user imguard left after purge"
  ! run getent group imguard >/dev/null || fail "group imguard left after purge"
  ! run test -e /etc/imguard || fail "/etc/imguard left after purge"
  ! run test -e /etc/systemd/system/multi-user.target.wants/imguard.service ||
    fail "enable symlink left after purge"
  echo "ok: purge removed the user, the group, /etc/imguard and the rules"
}

# ---- 4a. boot it: systemd-nspawn -b ----------------------------------------------------
nspawn_boot() {
  # --register=no: no machined on the host. --private-network: the container's own
  # network namespace (loopback only), so the rules never touch the host's.
  systemd-nspawn --quiet -b -D "$ROOT" --register=no --private-network --keep-unit \
    --console=passive >"$WORK/nspawn.log" 2>&1 &
  NSPAWN_PID=$!
  local end=$(($(date +%s) + 60))
  while [ -z "$LEADER" ]; do
    kill -0 "$NSPAWN_PID" 2>/dev/null || return 1
    [ "$(date +%s)" -lt "$end" ] || return 1
    sleep 0.5
    # The container's PID 1 is nspawn's child running systemd.
    for p in $(pgrep -P "$NSPAWN_PID"); do
      [ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd ] && LEADER=$p
    done
  done
  run() { nsenter -t "$LEADER" -m -u -i -n -p -- /usr/bin/env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
  local state=""
  for _ in $(seq 1 120); do
    state=$(run systemctl is-system-running 2>/dev/null || true)
    case "$state" in running | degraded) break ;; esac
    kill -0 "$NSPAWN_PID" 2>/dev/null || return 1
    sleep 0.5
  done
  case "$state" in running | degraded) ;; *) echo "  system state: ${state:-none}"; return 1 ;; esac
  log "container booted (systemd state: $state)"
  [ "$state" = running ] || run systemctl --failed --no-legend | sed 's/^/  failed unit: /'
  return 0
}

test_booted() {
  run systemctl is-enabled imguard.service | grep -qx enabled || fail "not enabled"
  if ! wait_for 20 run systemctl is-active --quiet imguard.service; then
    run journalctl -u imguard --no-pager | tail -30
    fail "imguard.service did not start at boot"
  fi
  wait_for 10 imguard_rules_present || fail "no rules while running"
  log "imguard.service active at boot"
  # Type=notify: active means the daemon said READY=1; its STATUS= line and the watchdog.
  local text
  text=$(run systemctl show -P StatusText imguard.service)
  echo "  status text: $text"
  grep -q "generation" <<<"$text" || fail "no STATUS= line from the daemon (sd_notify)"
  [ "$(run systemctl show -P WatchdogUSec imguard.service)" != 0 ] || fail "no watchdog"
  local pid
  pid=$(run systemctl show -P MainPID imguard.service)
  echo "  main pid $pid runs as $(run ps -o user= -p "$pid"), $(run grep CapEff /proc/"$pid"/status)"
  [ "$(run ps -o user= -p "$pid")" = imguard ] || fail "the daemon does not run as imguard"
  run imguard status | cut -c1-160 | sed 's/^/  status: /'
  # The kernel's queue counters (0440 root:root) must stay readable in the unit's
  # sandbox for its user and groups (SupplementaryGroups=root, no ProcSubset=pid).
  run grep -q '^Groups:.*\b0\b' /proc/"$pid"/status || fail "the daemon is not in group root"
  run nsenter -t "$pid" -m setpriv --reuid=imguard --regid=imguard --groups=0 \
    cat /proc/net/netfilter/nfnetlink_queue | grep -q '^ *0 ' ||
    fail "/proc/net/netfilter/nfnetlink_queue not readable in the unit's sandbox"
  run imguard reload | sed 's/^/  reload: /' || fail "imguard reload"
  run systemctl reload imguard.service || fail "systemctl reload imguard"
  local gen
  gen=$(generation)
  echo "ok: status, imguard reload, systemctl reload (generation $gen)"

  break_config
  if run systemctl reload imguard.service 2>"$WORK/reload.err"; then
    fail "systemctl reload succeeded with a broken config"
  fi
  run journalctl -u imguard --no-pager -n 5 | grep -i "bogus\|reload" | tail -2 | sed 's/^/  journal: /'
  run systemctl is-active --quiet imguard.service || fail "daemon stopped after a rejected reload"
  [ "$(run systemctl show -P MainPID imguard.service)" = "$pid" ] || fail "daemon restarted"
  [ "$(generation)" = "$gen" ] || fail "generation changed on a rejected reload"
  imguard_rules_present || fail "rules gone after a rejected reload"
  restore_config
  echo "ok: rejected reload fails, daemon (pid $pid) keeps running with generation $gen"

  # Crash: SIGKILL leaves the rules; ExecStopPost removes them before the restart
  # (RestartSec=2), then the restarted daemon installs them again.
  run systemctl kill --signal=SIGKILL imguard.service
  OLD_PID=$pid
  wait_for 5 rules_absent || fail "rules left after a crash (ExecStopPost)"
  echo "ok: after SIGKILL the ExecStopPost clean-up removed the rules"
  wait_for 20 restarted || fail "not restarted after the crash"
  wait_for 10 imguard_rules_present || fail "no rules after the restart"
  echo "ok: restarted after the crash, rules back"

  run systemctl stop imguard.service
  ! imguard_rules_present || fail "rules left after systemctl stop"
  echo "ok: stop leaves no rules"
  run systemctl start imguard.service
  wait_for 10 imguard_rules_present || fail "no rules after start"
  run systemd-analyze security imguard.service 2>/dev/null | tail -1 | sed 's/^/  online: /'
  echo "  journal of imguard.service (systemd's lines and the daemon's warnings):"
  run journalctl -u imguard.service -o cat --no-pager |
    grep -v -E '^imguard: (stats|re-decided)' | tail -40 | sed 's/^/    /'
  purge_and_check
}

# ---- 4b. fallback: chroot + network namespace, the daemon run directly ----------------
test_chroot() {
  ip netns add "$NS"
  ip netns exec "$NS" ip link set lo up
  mount -t proc proc "$ROOT/proc"
  mount --bind /dev "$ROOT/dev"
  run() { ip netns exec "$NS" chroot "$ROOT" /usr/bin/env -i \
    PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C "$@"; }
  local ctl=/run/imguard/imguard.sock
  run install -d -o imguard -g imguard -m 0750 /run/imguard
  # As the unit does it: user imguard (groups imguard, root), only CAP_NET_ADMIN.
  # Not through run(): ip netns exec, chroot, env and setpriv each exec, so $! is the
  # daemon itself.
  ip netns exec "$NS" chroot "$ROOT" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
    setpriv --reuid=imguard --regid=imguard --groups=imguard,root --inh-caps=-all,+net_admin \
    --ambient-caps=+net_admin --bounding-set=-all,+net_admin \
    imguard run --config /etc/imguard/imguard.yaml --control "$ctl" >"$WORK/daemon.log" 2>&1 &
  local pid=$!
  wait_for 10 grep -q "worker(s) running" "$WORK/daemon.log" || { cat "$WORK/daemon.log"; fail "daemon did not start"; }
  imguard_rules_present || fail "no rules while running"
  run imguard status --control "$ctl" | cut -c1-160 | sed 's/^/  status: /'
  run imguard reload --control "$ctl" | sed 's/^/  reload: /' || fail "imguard reload"
  local gen
  gen=$(generation --control "$ctl")
  break_config
  ! run imguard reload --control "$ctl" || fail "reload succeeded with a broken config"
  kill -0 "$pid" || fail "daemon died after a rejected reload"
  [ "$(generation --control "$ctl")" = "$gen" ] || fail "generation changed"
  restore_config
  echo "ok: status, reload, rejected reload keeps the daemon (generation $gen)"
  kill -TERM "$pid"
  wait "$pid" || true
  ! imguard_rules_present || fail "rules left after stop"
  echo "ok: stop leaves no rules"
  umount "$ROOT/dev" "$ROOT/proc"
  mount -t proc proc "$ROOT/proc"
  purge_and_check
  umount "$ROOT/proc"
}

if [ "${IMGUARD_PACKAGE_NO_NSPAWN:-0}" != 1 ] && nspawn_boot; then
  test_booted
else
  if [ "${IMGUARD_PACKAGE_NO_NSPAWN:-0}" = 1 ]; then
    echo "note: IMGUARD_PACKAGE_NO_NSPAWN=1: chroot fallback"
  else
    echo "note: systemd-nspawn -b could not boot the root here; its output:"
    sed 's/^/  nspawn: /' "$WORK/nspawn.log" | tail -15
    [ -n "$NSPAWN_PID" ] && kill -KILL "$NSPAWN_PID" 2>/dev/null
    wait "$NSPAWN_PID" 2>/dev/null || true
    NSPAWN_PID=""
    echo "note: falling back to chroot + network namespace (the unit itself is not run)"
  fi
  test_chroot
fi
log "package/deb: passed"
