#!/usr/bin/env bash
# Offline throughput of `imguard classify` against Debian's ndpiReader (nDPI 4.2, package
# libndpi-bin), in one invocation, on two inputs built from the same captures:
#   big:   one large capture (every input replayed --replicas times, shifted addresses);
#   small: a directory of many small captures (each input written --small-replicas times,
#          one file each), given to imguard as arguments and to ndpiReader as a playlist.
# Rounds are interleaved (big pair, small pair; the order inside each pair alternates), so
# machine noise hits both programs alike; the ratio is computed per round (paired) and the
# median is reported. Times are of the whole process (setup included) for both programs.
# Then the bytes per undecided and per decided flow (build/bench/flow_memory).
#
# Both the wall time and the CPU time (user + system, all threads) of each process are
# measured: on this shared machine the wall time follows the load, the CPU time much less.
# --baseline BIN times another imguard binary (e.g. main's) in the same rounds, paired.
#
#   bench/classify_vs_ndpireader.sh [--runs N] [--replicas N] [--small-replicas N]
#                                   [--baseline BIN] [PCAP...]
# Without PCAPs it uses every bundled capture under pcaps/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=7 replicas=30 small_replicas=10 baseline=
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --baseline) baseline=$(realpath "$2"); shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    --small-replicas) small_replicas=$2; shift 2 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
imguard=build/engine/imguard
memory=build/bench/flow_memory
[ -x "$imguard" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
[ -x "$memory" ] || cmake --build build --target flow_memory >/dev/null
command -v ndpiReader >/dev/null || { echo "ndpiReader missing: apt-get install libndpi-bin" >&2; exit 1; }
if [ $# -eq 0 ]; then mapfile -t inputs < <(find pcaps -name '*.pcap' | sort); else inputs=("$@"); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
big=$work/bench.pcap
read -r big_pk big_ipb < <(/usr/bin/python3 bench/make_bench_pcap.py --replicas "$replicas" \
  --out "$big" "${inputs[@]}" | sed -E 's/packets=([0-9]+) ip_bytes=([0-9]+)/\1 \2/')
read -r small_pk small_ipb small_n < <(/usr/bin/python3 bench/make_bench_pcap.py \
  --replicas "$small_replicas" --split "$work/small" "${inputs[@]}" |
  sed -E 's/packets=([0-9]+) ip_bytes=([0-9]+) files=([0-9]+)/\1 \2 \3/')
small=("$work"/small/*.pcap)
printf '%s\n' "${small[@]}" >"$work/playlist"
echo "big:   ${#inputs[@]} captures x $replicas replicas in one file = $big_pk packets, $big_ipb IP bytes"
echo "small: $small_n files (${#inputs[@]} captures x $small_replicas) = $small_pk packets, $small_ipb IP bytes"
echo "imguard classify: up to $(nproc) engine(s) (one per CPU, one per 2 MiB of input); ndpiReader one thread (-n is ignored for files)"

# One line "WALL_NS CPU_NS" per measurement, appended to $work/<name>.
timed() { local out=$1; shift; /usr/bin/python3 bench/timed.py "$@" >>"$work/$out"; }
ig_big() { timed "$1" "$2" classify --format jsonl "$big"; }
ig_small() { timed "$1" "$2" classify --format jsonl "${small[@]}"; }
nd_big() { timed nd_big ndpiReader -q -i "$big"; }
nd_small() { timed nd_small ndpiReader -q -i "$work/playlist"; }
read -r load_before _ </proc/loadavg
for ((i = 0; i <= runs; i++)); do   # run 0 is a warm-up
  if ((i % 2 == 0)); then
    ig_big ig_big "$imguard"; [ -z "$baseline" ] || ig_big base_big "$baseline"; nd_big
    ig_small ig_small "$imguard"; [ -z "$baseline" ] || ig_small base_small "$baseline"; nd_small
  else
    nd_big; [ -z "$baseline" ] || ig_big base_big "$baseline"; ig_big ig_big "$imguard"
    nd_small; [ -z "$baseline" ] || ig_small base_small "$baseline"; ig_small ig_small "$imguard"
  fi
  if [ "$i" -eq 0 ]; then rm -f "$work"/ig_* "$work"/nd_* "$work"/base_*; fi
done
read -r load_after _ </proc/loadavg
/usr/bin/python3 - "$work" "$big_pk" "$small_pk" "$load_before" "$load_after" <<'PY'
import os, statistics, sys
work, big_pk, small_pk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def load(name):
    path = os.path.join(work, name)
    if not os.path.exists(path):
        return None
    rows = [tuple(int(x) / 1e9 for x in line.split()) for line in open(path)]
    return [r[0] for r in rows], [r[1] for r in rows]   # wall, cpu
print(f"load average (1 min): {sys.argv[4]} before, {sys.argv[5]} after")
print(f"{'':26} {'wall s':>8} {'kpkt/s':>8} {'cpu s':>8}   (medians)")
for name, pk in (("big", big_pk), ("small", small_pk)):
    for who, key in (("imguard", "ig"), ("baseline", "base"), ("ndpiReader", "nd")):
        m = load(f"{key}_{name}")
        if m:
            w, c = statistics.median(m[0]), statistics.median(m[1])
            print(f"{name + ' ' + who:26} {w:8.3f} {pk / w / 1e3:8.1f} {c:8.3f}")
def ratios(label, a, b):
    # Same packets: packets/s ratio = time ratio; paired per round.
    for kind, i in (("wall", 0), ("cpu", 1)):
        r = [y / x for x, y in zip(a[i], b[i])]
        print(f"{label} ({kind}): median {statistics.median(r):.2f} "
              f"(min {min(r):.2f}, max {max(r):.2f}, {len(r)} paired rounds)")
for name, label in (("big", "big capture"), ("small", "many small files")):
    ig, nd, base = load(f"ig_{name}"), load(f"nd_{name}"), load(f"base_{name}")
    ratios(f"packets/s ratio imguard/ndpiReader, {label}; goal >= 2", ig, nd)
    if base:
        ratios(f"speed-up imguard/baseline, {label}", ig, base)
PY
"$memory"
