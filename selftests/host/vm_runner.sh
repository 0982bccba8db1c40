#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# scripts/vm-run.sh ends every failure with a clear message and a
# non-zero exit, never a silent pass: the guest's exit code is returned,
# a hung guest is killed, a kernel that does not reach user space is
# reported as such, a missing kernel is named.

. "$(dirname "$0")/../lib.sh"

vm=$ZC_ROOT/scripts/vm-run.sh

out=$("$vm" --timeout 120 -- sh -c 'echo hello from the guest; exit 7' 2>&1)
check_eq "guest exit code is returned" "$?" 7
check "guest output is streamed" grep -q '^hello from the guest$' <<<"$out"

out=$("$vm" --timeout 120 -- sh -c 'touch /etc/zc-probe && test -w /tmp && ! test -e /etc/zc-probe-host' 2>&1)
check_eq "guest root is writable (tmpfs overlay over the host root)" "$?" 0
check "host root untouched by the guest's writes" test ! -e /etc/zc-probe

out=$("$vm" --timeout 20 -- sleep 600 2>&1)
check_eq "hung guest: killed, exit 124" "$?" 124
check "hung guest: says so" grep -q 'guest hung: killed after 20 s' <<<"$out"

out=$("$vm" --timeout 120 --append init=/nonexistent -- true 2>&1)
rc=$?
check_eq "kernel without user space: exit 1" "$rc" 1
check "kernel without user space: says so, with the kernel log" \
	grep -q 'guest ended without reporting a result' <<<"$out"
check "kernel without user space: kernel log tail shown" \
	grep -q 'Kernel panic' <<<"$out"

out=$("$vm" --kernel /nonexistent/bzImage -- true 2>&1)
check_eq "missing kernel: exit 1" "$?" 1
check "missing kernel: named" grep -q 'no kernel at /nonexistent/bzImage' <<<"$out"
