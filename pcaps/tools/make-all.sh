#!/bin/bash
# Recreate every capture under pcaps/ (needs root and the Debian packages listed in README.md).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
bash "$HERE/background.sh" all
bash "$HERE/irc.sh" all
bash "$HERE/xmpp.sh" all
bash "$HERE/bittorrent.sh" all
bash "$HERE/negative.sh" all
for g in "$HERE"/../negative/*.pcap.py; do (cd "$(dirname "$g")" && /usr/bin/python3 "$(basename "$g")"); done
