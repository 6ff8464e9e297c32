# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# Time and arithmetic helpers of the end-to-end scripts (fail/pass come from lab.sh).

now() { date +%s.%N; }
# fcalc EXPR : floating-point arithmetic (awk), e.g. fcalc "$a - $b"
fcalc() { awk "BEGIN { printf \"%.3f\", $1 }"; }
# fcmp EXPR : exit 0 when the awk condition holds
fcmp() { awk "BEGIN { exit !($1) }"; }
