#!/bin/bash
# Print path, link type, packet count and file size of every capture under pcaps/.
cd "$(dirname "$0")/.." && for f in */*.pcap; do
  printf '%s\t%s\t%s packets\t%s bytes\n' "$f" "$(capinfos -T -E "$f" | tail -1 | cut -f2)" \
    "$(capinfos -T -c "$f" | tail -1 | cut -f2)" "$(stat -c %s "$f")"
done
