#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the guest's instructions go in bench/datapath.py's rounds: perf
# record (cpu-clock, kernel only: under -icount its clock counts
# instructions) enabled only while a round runs, one path at a time, and
# the top kernel symbols of each. The sampling adds its own cost: the
# instructions per frame printed here are higher than bench/datapath.sh's.
#
#   bench/datapath-profile.sh [PATHS] [FLAVOUR]    PATHS: zc,af_xdp (default)

set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"

if [ "${1:-}" = --in-vm ]; then
	for p in ${2//,/ }; do
		rm -f /tmp/perf.ctl
		mkfifo /tmp/perf.ctl
		perf record -a -F 20000 -e cpu-clock:k -D -1 \
			--control fifo:/tmp/perf.ctl -o "/tmp/perf-$p.data" -- \
			"$ZC_ROOT/bench/datapath.py" --soak "$3" --perf-ctl /tmp/perf.ctl \
			--frames 3200 --rounds 2 --paths "$p" >"/tmp/datapath-$p.log" 2>&1
		echo "=== $p: $(grep -h 'instructions per frame' "/tmp/datapath-$p.log" | tr '\n' ' ')"
		perf report -i "/tmp/perf-$p.data" --no-children --sort sym --stdio 2>/dev/null |
			grep -v -e '^#' -e '^$' | head -40
	done
	exit 0
fi

paths=${1:-zc,af_xdp}
flavour=${2:-base}
out=$ZC_BUILD/bench
mkdir -p "$out"
gcc -O2 -Wall -Werror -o "$out/soak" "$ZC_ROOT/bench/soak.c"
"$ZC_ROOT/scripts/vm-run.sh" --flavour "$flavour" --icount --smp 1 --timeout 3600 -- \
	"$ZC_ROOT/bench/datapath-profile.sh" --in-vm "$paths" "$out/soak" |
	tee "$out/datapath-profile.txt"
