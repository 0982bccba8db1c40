#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A subset of the kernel's own XDP selftests, from the unpacked source
# (tools/testing/selftests/bpf), with their BPF objects built by bpf/Makefile:
# redirect between veths in native and generic mode, XDP metadata to tc,
# VLAN push/pop in native and generic mode. They exercise the core XDP
# paths (xdp_do_redirect, devmap-less redirect, metadata, veth's XDP) that
# the page_pool_zc series touches.

. "$(dirname "$0")/../lib.sh"

dir=$ZC_BPF/kselftest
[ -d "$dir" ] || { fail setup "$dir missing: make bpf"; exit 1; }
cd "$dir" || exit 1

for t in test_xdp_redirect.sh test_xdp_meta.sh \
	 test_xdp_vlan_mode_native.sh test_xdp_vlan_mode_generic.sh; do
	out=$(timeout 120 "./$t" 2>&1)
	rc=$?
	case $rc in
	0) ok "$t" ;;
	4) skip "$t" "the test skipped itself" ;;
	*) printf '%s\n' "$out" | tail -20 | sed 's/^/  /'
	   fail "$t" "exit $rc" ;;
	esac
done
