#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest instructions per frame received into a VM: zero-copy, copy
# fallback, the stock path and AF_XDP zero-copy, side by side in one run
# of bench/datapath.py in the test VM (one vCPU, -icount shift=0,sleep=off),
# with bench/soak.c filling the idle time.
# Writes the table to build/bench/datapath.txt and the plot to
# bench/datapath.png.
#
#   bench/datapath.sh [FLAVOUR] [datapath.py options...]

set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

flavour=${1:-base}
[ $# -gt 0 ] && shift
out=$ZC_BUILD/bench
mkdir -p "$out"
gcc -O2 -Wall -Werror -o "$out/soak" "$ZC_ROOT/bench/soak.c"

"$ZC_ROOT/scripts/vm-run.sh" --flavour "$flavour" --icount --smp 1 \
	--timeout 3600 -- "$ZC_ROOT/bench/datapath.py" --soak "$out/soak" "$@" |
	tee "$out/datapath.log"
grep -v '^RESULT ' "$out/datapath.log" | sed -n '/^ *bytes /,$p' | \
	grep -v '^@@' >"$out/datapath.txt"
grep '^RESULT ' "$out/datapath.log" | tail -1 | cut -d' ' -f2- >"$out/datapath.json"
python3 "$ZC_ROOT/bench/plot_datapath.py" "$out/datapath.json" \
	"$ZC_ROOT/bench/datapath.png"
zc_log "table: $out/datapath.txt, plot: bench/datapath.png"
