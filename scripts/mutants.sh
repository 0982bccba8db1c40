#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the kernel with one deliberate bug at a time and run the tests
# that should catch it: a test that passes on a broken kernel proves
# nothing.
#
#   scripts/mutants.sh [NAME...]      (default: every selftests/mutants/*.patch)
#
# A mutant, selftests/mutants/NAME.patch, is a diff against the patched
# source (build/linux, -p1) after three header lines:
#   Mutant: what the bug is
#   Flavour: base or debug (the kernel it is built on)
#   Tests: the selftests/vm tests to run, in one VM
#   Timeout: optional, seconds before a hung guest is killed (default 900)
# The mutated file is restored right after the build. A mutant is killed
# when a test fails or the guest exits non-zero. Prints one table:
# mutant, the first failing check (or the function of a kernel oops, or
# "SURVIVED"), seconds; exits non-zero if any survived. Logs go to
# build/mutants/. Afterwards the kernels of the flavours used are built
# again from the clean source.

set -uo pipefail
. "$(dirname "$0")/lib.sh"

dir=$ZC_ROOT/selftests/mutants
out=$ZC_BUILD/mutants
mkdir -p "$out"
"$ZC_ROOT/scripts/kernel-source.sh" || exit 1

if [ $# -eq 0 ]; then
	set -- $(cd "$dir" && ls *.patch | sed 's/\.patch$//')
fi

header()
{
	sed -n "s/^$2: *//p" "$1" | head -1
}

# Never leave a mutant in the source, whatever stops the script.
applied=
trap '[ -z "$applied" ] || git -C "$ZC_KSRC" apply -R -p1 "$applied"' EXIT

for name in "$@"; do
	git -C "$ZC_KSRC" apply --check -p1 "$dir/$name.patch" ||
		zc_die "mutant $name does not apply to $ZC_KSRC"
done

declare -A used
rows=() survived=0
for name in "$@"; do
	m=$dir/$name.patch
	[ -f "$m" ] || zc_die "no mutant $m"
	flavour=$(header "$m" Flavour) tests=$(header "$m" Tests)
	timeout=$(header "$m" Timeout)
	[ -n "$flavour" ] && [ -n "$tests" ] || zc_die "$m: needs Flavour: and Tests: lines"
	used[$flavour]=1
	t0=$(date +%s)
	log=$out/$name.log

	git -C "$ZC_KSRC" apply -p1 "$m" || zc_die "$name does not apply to $ZC_KSRC"
	applied=$m
	rm -f "$out/$name.bzImage"
	ZC_KEEP_SOURCE=1 "$ZC_ROOT/scripts/kernel-build.sh" "$flavour" bzImage >"$log" 2>&1
	rc=$?
	[ $rc -ne 0 ] || cp "$(zc_objdir "$flavour")/arch/x86/boot/bzImage" "$out/$name.bzImage" ||
		zc_die "no bzImage after building $name"
	applied=
	git -C "$ZC_KSRC" apply -R -p1 "$m" || zc_die "could not restore $ZC_KSRC after $name"
	if [ $rc -ne 0 ]; then
		result="BUILD FAILED (see $log)"
		survived=$((survived + 1))
	else
		# shellcheck disable=SC2086
		"$ZC_ROOT/scripts/vm-run.sh" --kernel "$out/$name.bzImage" \
			--timeout "${timeout:-900}" -- \
			"$ZC_ROOT/selftests/run.sh" vm $tests >>"$log" 2>&1
		rc=$?
		result=$(grep -m1 -E '^not ok ' "$log" | sed -E 's/^not ok [0-9]+ //; s/ # .*//')
		if [ -z "$result" ] && [ $rc -ne 0 ]; then
			result="guest exit $rc"
			! grep -q 'Kernel panic' "$log" ||
				result="kernel panic: $(grep -m1 -o 'RIP: 0010:[^ ]*' "$log" | cut -c11-)"
			# A guest that never ran its tests killed nothing.
			if ! grep -q -E '^(not )?ok |Kernel panic' "$log"; then
				result="ERROR: no guest run (see $log)"
				survived=$((survived + 1))
			fi
		fi
		if [ -z "$result" ]; then
			result=SURVIVED
			survived=$((survived + 1))
		fi
	fi
	rows+=("$(printf '%-28s %-5s %5s  %s' "$name" "$flavour" "$(($(date +%s) - t0))" "$result")")
	echo "${rows[-1]}"
done

for flavour in "${!used[@]}"; do
	"$ZC_ROOT/scripts/kernel-build.sh" "$flavour" >/dev/null ||
		zc_die "rebuilding the clean $flavour kernel failed"
done

echo
printf '%-28s %-5s %5s  %s\n' mutant build s "killed by"
printf '%s\n' "${rows[@]}"
echo "$((${#rows[@]} - survived)) of ${#rows[@]} killed"
[ "$survived" -eq 0 ]
