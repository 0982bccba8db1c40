#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the selftests inside the test VM and print TAP.
#
#   selftests/run.sh [TEST...]     (default: every test in selftests/TESTS)
#
# Each test prints "ok NAME", "not ok NAME # why" or "ok NAME # SKIP why"
# lines (selftests/lib.sh); they are numbered here as "ok N test: NAME".
# A test that exits non-zero without reporting a failure, or reports
# nothing, counts as one failure. After the tests the kernel log is
# checked for warnings. Ends with "N passed, N failed, N skipped" and
# exits non-zero when anything failed.

cd "$(dirname "$0")" || exit 1

n=0 passed=0 failed=0 skipped=0

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
	done < <(timeout 600 "./$test" 2>&1; echo "@@rc $?")
	if [ "$reported" -eq 0 ]; then
		report "not ok no result (exit $rc)" "$test"
	elif [ "$rc" != 0 ] && [ "$failed" -eq "$nfail" ]; then
		report "not ok exited with status $rc" "$test"
	fi
	echo "# $test: $(($(date +%s) - start)) s"
}

echo "TAP version 13"
echo "# kernel $(uname -r), $(nproc) CPUs"
if [ $# -eq 0 ]; then
	set -- $(grep -v '^#' TESTS)
fi
dmesg -C
for t in "$@"; do
	run_test "$t"
done

# Anything the kernel complained about during the run fails it.
if dmesg | grep -E -q 'WARNING:|BUG:|Oops|Call Trace:|KASAN|kmemleak:|possible recursive locking|circular locking'; then
	dmesg | grep -E -B2 -A20 'WARNING:|BUG:|Oops|KASAN|kmemleak:|locking' | head -80 | sed 's/^/# /'
	report "not ok kernel log has warnings" dmesg
else
	report "ok kernel log clean" dmesg
fi

echo "1..$n"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
