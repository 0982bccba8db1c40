#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Reliability under faults and hostile input: six runs, each in its own
# VM boot, and a table of what they held and found (README.md,
# "Reliability"). Invariants 1-8 of the design are each exercised by one
# of them or by the suite they run.
#
#   scripts/reliability.sh [--short] [--start N] [RUN...]
#
#   debug     the whole VM suite on the debug kernel (KASAN, lockdep,
#             kmemleak, DEBUG_PAGEALLOC, DMA-API debug): no report
#   viommu    the whole VM suite with the NIC behind QEMU's intel-iommu:
#             no DMA fault
#   faults    selftests/vm/fault_inject.py on the debug kernel
#   dirtylog  selftests/vm/vhost_log.py: vhost's dirty log vs the buffers
#             completed in place
#   fuzz      selftests/vm/nl_fuzz.py on the debug kernel
#   soak      selftests/vm/soak.py, 30 minutes, on the base kernel
#
# --short is the CI version (make test): faults and fuzz with fewer
# cycles and messages, on the base kernel, which has fault injection
# too (the debug kernel's sanitizers would add a cold build of about 22
# minutes to CI). TAP lines are numbered from N+1 with --start N (for
# scripts/run-tests.sh); the table follows
# as comment lines, then "N passed, N failed, N skipped". Each run's
# output is kept in build/reliability/RUN.log.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

short= start=0
while [ $# -gt 0 ]; do
	case "$1" in
	--short) short=1; shift ;;
	--start) start=$2; shift 2 ;;
	-*) zc_die "unknown option $1 (see the header of $0)" ;;
	*) break ;;
	esac
done
if [ $# -eq 0 ]; then
	if [ -n "$short" ]; then
		set -- faults fuzz
	else
		set -- debug viommu faults dirtylog fuzz soak
	fi
fi

logs=$ZC_BUILD/reliability
mkdir -p "$logs"
n=$start passed=0 failed=0 skipped=0
rows=()

# RUN: how to boot and what to run in the guest.
plan()
{
	local run=$1

	flavour=base opts=() cmd=()
	case "$run" in
	debug)
		flavour=debug opts=(--timeout 5400)
		cmd=(env ZC_TEST_TIMEOUT=1800 "$ZC_ROOT/selftests/run.sh" vm) ;;
	viommu)
		opts=(--viommu --timeout 2400)
		cmd=("$ZC_ROOT/selftests/run.sh" vm) ;;
	faults)
		[ -n "$short" ] || flavour=debug
		opts=(--timeout 1800)
		cmd=(env "ZC_FAULT_CYCLES=$([ -n "$short" ] && echo 20 || echo 100)"
		     ZC_TEST_TIMEOUT=1500 "$ZC_ROOT/selftests/run.sh" vm fault_inject.py) ;;
	dirtylog)
		cmd=("$ZC_ROOT/selftests/run.sh" vm vhost_log.py) ;;
	fuzz)
		[ -n "$short" ] || flavour=debug
		opts=(--timeout 1800)
		cmd=(env "ZC_FUZZ_MESSAGES=$([ -n "$short" ] && echo 2000 || echo 20000)"
		     ZC_TEST_TIMEOUT=1500 "$ZC_ROOT/selftests/run.sh" vm nl_fuzz.py) ;;
	soak)
		opts=(--timeout 2700)
		cmd=(env ZC_SOAK_MINUTES=30 ZC_TEST_TIMEOUT=2400
		     "$ZC_ROOT/selftests/run.sh" vm soak.py) ;;
	*)
		zc_die "unknown run $run (see the header of $0)" ;;
	esac
}

# The sum of the "@@fig KEY N" lines of a log, or "-" if there are none.
fig()
{
	local v

	v=$(sed -n "s/^# @@fig $2 \([0-9]*\)$/\1/p" "$1" | paste -sd+ | bc)
	echo "${v:--}"
}

for run in "$@"; do
	plan "$run"
	log=$logs/$run.log
	t0=$(date +%s)
	"$ZC_ROOT/scripts/vm-run.sh" --flavour "$flavour" "${opts[@]}" -- \
		"${cmd[@]}" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$log" | tail -1)
	# Renumber the run's TAP lines after the ones before, and count them
	# (a run that ended early has no closing line to trust).
	p=0 f=0 s=0
	while IFS= read -r l; do
		n=$((n + 1))
		case "$l" in
		"not ok "*) f=$((f + 1)) ;;
		*"# SKIP"*) s=$((s + 1)) ;;
		*) p=$((p + 1)) ;;
		esac
		sed -E "s/^(not )?ok [0-9]+ /\1ok $n $run: /" <<<"$l"
	done < <(grep -E '^(not )?ok [0-9]+ ' "$log")
	if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
		n=$((n + 1)) f=$((f + 1))
		echo "not ok $n $run: guest exit $rc without a failed test (see $log)"
		if grep -a -q -E "$ZC_KERNEL_COMPLAINTS|Kernel panic" "$log"; then
			zc_first_complaint "$log"; echo ...; tail -5 "$log"
		else
			tail -20 "$log"
		fi | sed 's/^/# /'
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))

	reports=$(fig "$log" reports)
	dma=$(fig "$log" dma_faults)
	case "$run" in
	soak) load=$(sed -n 's/^# @@fig load //p' "$log" | tail -1) ;;
	*) load="$((p + f)) checks" ;;
	esac
	inj=$(fig "$log" injected) surv=$(fig "$log" survived)
	faults=-
	[ "$inj" = - ] || faults="$inj / $surv"
	[ "$dma" = - ] || faults="$dma DMA faults"
	result=pass
	[ "$f" -eq 0 ] || result=FAIL
	rows+=("$(printf '%-9s %-40s %-17s %-10s %-7s %-8s %-6s %5s' \
		"$run" "${load:--}" "$faults" "$(fig "$log" bad_inputs)" \
		"$(fig "$log" lost)" "$reports" "$result" "$secs")")
done

echo "# reliability ($([ -n "$short" ] && echo "short, base kernel" || echo "full, kernel flavours: base, debug"))"
printf '# %-9s %-40s %-17s %-10s %-7s %-8s %-6s %5s\n' run "load held" \
	"faults inj/surv" "bad inputs" "lost" "reports" result "s"
printf '# %s\n' "${rows[@]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
