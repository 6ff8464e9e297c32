#!/usr/bin/env bash
# Every golden file must belong to a bundled pcap, and every pcap must have a golden file.
set -euo pipefail
rc=0
while IFS= read -r g; do
  base=${g#tests/golden/default/}; base=${base%.jsonl}
  if [ ! -f "pcaps/$base.pcap" ] && [ ! -f "pcaps/$base.pcapng" ]; then
    echo "orphan golden file: $g" >&2; rc=1
  fi
done < <(find tests/golden/default -name '*.jsonl' 2>/dev/null | sort)
n=0
while IFS= read -r p; do
  n=$((n + 1))
  base=${p#pcaps/}; base=${base%.pcap*}
  [ -f "tests/golden/default/$base.jsonl" ] || { echo "pcap without golden file: $p" >&2; rc=1; }
done < <(find pcaps -name '*.pcap' -o -name '*.pcapng' | sort)
[ "$n" -gt 0 ] || { echo "no bundled pcaps found under pcaps/" >&2; rc=1; }
[ $rc -eq 0 ] && echo "ok: $n pcaps, each with a golden file"
exit $rc
