#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run a suite of selftests and print TAP.
#
#   selftests/run.sh [--start N] [--name NAME] SUITE [TEST...]
#
# SUITE is a directory of selftests/ with a TESTS file listing its tests
# in order: "vm" runs inside the test VM, "host" on the build machine.
# Each test prints "ok NAME", "not ok NAME # why" or "ok NAME # SKIP why"
# lines (selftests/lib.sh); they are numbered here as "ok N test: NAME",
# from N+1 with --start N (then without the TAP header and plan: the
# caller prints them). A test that exits non-zero without reporting a
# failure, or reports nothing, counts as one failure. A test gets 600 s
# (ZC_TEST_TIMEOUT overrides). In the VM the kernel log is checked for
# warnings after the suite, behind an IOMMU for DMA faults too; the counts
# are printed as "@@fig reports N" and "@@fig dma_faults N" for
# scripts/reliability.sh. Ends with "N passed, N failed, N skipped" and
# exits non-zero when anything failed.

start=
while [ $# -gt 0 ]; do
	case "$1" in
	--start) start=$2; shift 2 ;;
	*) break ;;
	esac
done
suite=${1:?usage: $0 [--start N] SUITE [TEST...]}
shift
. "$(dirname "$0")/lib.sh"
trap - EXIT
cd "$(dirname "$0")/$suite" || exit 1

n=${start:-0} passed=0 failed=0 skipped=0

report()
{
	local line=$1 test=$2

	n=$((n + 1))
	case "$line" in
	"not ok "*)
		failed=$((failed + 1))
		echo "not ok $n $test: ${line#not ok }" ;;
	*"# SKIP"*)
		skipped=$((skipped + 1))
		echo "ok $n $test: ${line#ok }" ;;
	*)
		passed=$((passed + 1))
		echo "ok $n $test: ${line#ok }" ;;
	esac
}

run_test()
{
	local test=$1 line reported=0 nfail=$failed rc=unknown start

	echo "# $test"
	start=$(date +%s)
	while IFS= read -r line; do
		case "$line" in
		"ok "*|"not ok "*)
			report "$line" "$test"
			reported=$((reported + 1)) ;;
		"@@rc "*)
			rc=${line#@@rc } ;;
		*)
			echo "# $line" ;;
		esac
	done < <(timeout "${ZC_TEST_TIMEOUT:-600}" "./$test" 2>&1; echo "@@rc $?")
	if [ "$reported" -eq 0 ]; then
		report "not ok no result (exit $rc)" "$test"
	elif [ "$rc" != 0 ] && [ "$failed" -eq "$nfail" ]; then
		report "not ok exited with status $rc" "$test"
	fi
	echo "# $test: $(($(date +%s) - start)) s"
}

[ -n "$start" ] || echo "TAP version 13"
echo "# $suite suite: kernel $(uname -r), $(nproc) CPUs"
if [ $# -eq 0 ]; then
	set -- $(grep -v '^#' TESTS)
fi
in_vm=
[ -z "${ZC_RUN:-}" ] || in_vm=1
[ -z "$in_vm" ] || dmesg -C
for t in "$@"; do
	run_test "$t"
done

# Anything the kernel complained about during the run fails it.
reports=0
if [ -z "$in_vm" ]; then
	:
elif dmesg | grep -E -q "$ZC_KERNEL_COMPLAINTS"; then
	reports=$(dmesg | grep -E -c "$ZC_KERNEL_COMPLAINTS")
	dmesg | grep -E -B2 -A20 "$ZC_KERNEL_COMPLAINTS" | head -80 | sed 's/^/# /'
	report "not ok kernel log has warnings" dmesg
else
	report "ok kernel log clean" dmesg
fi

# Debug kernels: leaks found by a kmemleak scan after the suite.
if [ -n "$in_vm" ] && [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan >/sys/kernel/debug/kmemleak
	echo scan >/sys/kernel/debug/kmemleak
	leaks=$(cat /sys/kernel/debug/kmemleak)
	if [ -n "$leaks" ]; then
		reports=$((reports + $(grep -c '^unreferenced object' <<<"$leaks")))
		head -60 <<<"$leaks" | sed 's/^/# /'
		report "not ok kmemleak reports leaks" kmemleak
	else
		report "ok no leak reported" kmemleak
	fi
fi
[ -z "$in_vm" ] || echo "# @@fig reports $reports"

# Behind an IOMMU: the NIC is translated, and no DMA fault was reported.
# A group alone does not say so: without VIRTIO_F_ACCESS_PLATFORM (bit 33
# of the features the driver acked) virtio bypasses the DMA API.
if [ -n "$in_vm" ] && [ -n "$(ls /sys/class/iommu 2>/dev/null)" ]; then
	groups= direct=
	for d in /sys/class/net/*; do
		[ "$(basename "$(readlink -f "$d/device/driver")")" = virtio_net ] ||
			continue
		g=$(readlink -e "$d/device/../iommu_group") || continue
		f=$(cat "$d/device/features")
		if [ "${f:33:1}" != 1 ]; then
			direct="$direct $(basename "$d")"
			continue
		fi
		groups="$groups $(basename "$d"):group${g##*/}"
	done
	faults=$(dmesg | grep -c -E 'DMAR: \[DMA (Read|Write)|DMAR: DRHD: handling fault' || true)
	echo "# @@fig dma_faults $faults"
	if [ -n "$direct" ]; then
		report "not ok virtio_net NIC behind the IOMMU # VIRTIO_F_ACCESS_PLATFORM not acked:$direct" iommu
	elif [ -z "$groups" ]; then
		report "not ok virtio_net NIC behind the IOMMU # no iommu_group" iommu
	else
		report "ok virtio_net NIC behind the IOMMU, VIRTIO_F_ACCESS_PLATFORM acked:$groups" iommu
	fi
	if [ "$faults" -eq 0 ]; then
		report "ok no DMA fault reported by the IOMMU" iommu
	else
		dmesg | grep -E 'DMAR' | head -20 | sed 's/^/# /'
		report "not ok $faults DMA faults reported by the IOMMU" iommu
	fi
fi

[ -n "$start" ] || echo "1..$n"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
