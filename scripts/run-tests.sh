#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every selftest: the host suite (selftests/host: the VM runner and the
# patch workflow), then the VM suite (selftests/vm) inside the test VM
# booted with FLAVOUR's kernel, then the tests of the guest's page layout
# in a VM booted with it, and of a NIC with hash report in a third, then
# the short reliability runs: fault injection and netlink fuzzing
# (scripts/reliability.sh --short). One TAP stream, numbered across all, and a closing "N passed,
# N failed, N skipped" line; exits non-zero when anything failed.
#
#   scripts/run-tests.sh [FLAVOUR] [VM-RUN OPTIONS...]

set -uo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-base}
[ $# -gt 0 ] && shift

out=$(mktemp)
trap 'rm -f "$out"' EXIT

passed=0 failed=0 skipped=0 n=0

# Add the counts of a suite's closing line in $out to the totals.
tally()
{
	local line p f s

	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -1)
	if [ -z "$line" ]; then
		failed=$((failed + 1)) n=$((n + 1))
		echo "not ok $n $1: suite ended without a result"
		return
	fi
	read -r p _ f _ s _ <<<"${line//,/}"
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	n=$((n + p + f + s))
}

echo "TAP version 13"
"$ZC_ROOT/selftests/run.sh" --start $n host | tee "$out" | grep -v -E '^[0-9]+ passed,'
tally host

"$ZC_ROOT/scripts/vm-run.sh" --flavour "$flavour" "$@" -- \
	"$ZC_ROOT/selftests/run.sh" --start $n vm | tee "$out" | grep -v -E '^[0-9]+ passed,|^@@zc-exit'
tally vm

# The guest side of zero-copy RX: the NIC's driver posting buffers of the
# page layout (virtio_net.rx_page_layout), and XDP and RX through them.
"$ZC_ROOT/scripts/vm-run.sh" --flavour "$flavour" "$@" \
	--append virtio_net.rx_page_layout=1 -- \
	"$ZC_ROOT/selftests/run.sh" --start $n vm page_layout.sh xdp_virtio.sh |
	tee "$out" | grep -v -E '^TAP version|^1\.\.|^[0-9]+ passed,|^@@zc-exit'
tally vm-page-layout

# A NIC whose virtio-net header the page layout cannot hold (QEMU's hash
# report): no queue of it can be bound.
"$ZC_ROOT/scripts/vm-run.sh" --flavour "$flavour" "$@" --nic rss=on,hash=on -- \
	"$ZC_ROOT/selftests/run.sh" --start $n vm pd_hash_report.py |
	tee "$out" | grep -v -E '^TAP version|^1\.\.|^[0-9]+ passed,|^@@zc-exit'
tally vm-hash-report

# The short reliability runs: fault injection and netlink fuzzing
# (scripts/reliability.sh).
"$ZC_ROOT/scripts/reliability.sh" --short --start $n | tee "$out" |
	grep -v -E '^[0-9]+ passed,'
tally reliability

echo "1..$n"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
