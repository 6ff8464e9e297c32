#!/usr/bin/env bash
# Offline throughput of `imguard classify` against Debian's ndpiReader (nDPI 4.2, package
# libndpi-bin), in one invocation, on two inputs built from the same captures:
#   big:   one large capture (every input replayed --replicas times, shifted addresses);
#   small: a directory of many small captures (each input written --small-replicas times,
#          one file each), given to imguard as arguments and to ndpiReader as a playlist.
# Rounds are interleaved (big pair, small pair; the order inside each pair alternates), so
# machine noise hits both programs alike; the ratio is computed per round (paired) and the
# median is reported. Wall time of the whole process (setup included) for both programs.
# Then the bytes per undecided and per decided flow (build/bench/flow_memory).
#
#   bench/classify_vs_ndpireader.sh [--runs N] [--replicas N] [--small-replicas N] [PCAP...]
# Without PCAPs it uses every bundled capture under pcaps/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=7 replicas=30 small_replicas=10
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
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
echo "imguard classify uses $(nproc) engine(s) (one per CPU); ndpiReader one thread (-n is ignored for files)"

now() { date +%s%N; }
timed() { local t; t=$(now); "$@" >/dev/null 2>&1; echo $(( $(now) - t )); }
ig_big=() nd_big=() ig_small=() nd_small=()
for ((i = 0; i <= runs; i++)); do   # run 0 is a warm-up
  if ((i % 2 == 0)); then
    a=$(timed "$imguard" classify --format jsonl "$big"); b=$(timed ndpiReader -q -i "$big")
    c=$(timed "$imguard" classify --format jsonl "${small[@]}"); d=$(timed ndpiReader -q -i "$work/playlist")
  else
    b=$(timed ndpiReader -q -i "$big"); a=$(timed "$imguard" classify --format jsonl "$big")
    d=$(timed ndpiReader -q -i "$work/playlist"); c=$(timed "$imguard" classify --format jsonl "${small[@]}")
  fi
  if [ "$i" -gt 0 ]; then ig_big+=("$a"); nd_big+=("$b"); ig_small+=("$c"); nd_small+=("$d"); fi
done
/usr/bin/python3 - "$big_pk" "$small_pk" "${ig_big[*]}" "${nd_big[*]}" "${ig_small[*]}" "${nd_small[*]}" <<'PY'
import statistics, sys
big_pk, small_pk = int(sys.argv[1]), int(sys.argv[2])
ig_big, nd_big, ig_small, nd_small = ([int(x) / 1e9 for x in a.split()] for a in sys.argv[3:7])
print(f"{'':24} {'median s':>9} {'kpkt/s':>9}")
for name, pk, ig, nd in (("big", big_pk, ig_big, nd_big), ("small", small_pk, ig_small, nd_small)):
    for who, t in (("imguard classify", ig), ("ndpiReader", nd)):
        m = statistics.median(t)
        print(f"{name + ' ' + who:24} {m:9.3f} {pk / m / 1e3:9.1f}")
for name, ig, nd in (("big capture", ig_big, nd_big), ("many small files", ig_small, nd_small)):
    r = [y / x for x, y in zip(ig, nd)]   # same packets: packets/s ratio = time ratio
    print(f"packets/s ratio imguard/ndpiReader, {name}: median {statistics.median(r):.2f} "
          f"(min {min(r):.2f}, max {max(r):.2f}, {len(r)} paired rounds; goal >= 2)")
PY
"$memory"
