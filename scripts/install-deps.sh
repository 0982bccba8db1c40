#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages the build, the VM runner and the tests need.
# Does nothing when all are present; otherwise runs apt-get update first.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

PKGS=(
	linux-source-6.12			# the kernel we patch
	build-essential flex bison bc libelf-dev libssl-dev dwarves ccache
	cpio xz-utils kmod rsync git
	qemu-system-x86				# the test VM (TCG)
	clang llvm libbpf-dev bpftool		# XDP programs
	iproute2 ethtool jq python3 iputils-ping	# used inside the VM
	python3-yaml python3-jsonschema		# the kernel's ynl tooling
	python3-ply python3-git			# checkpatch's SPDX check
	python3-matplotlib			# bench/ plots
	linux-perf				# bench/datapath-profile.sh
	sparse					# C=1 on the mlx5 compile test
)

missing=()
for p in "${PKGS[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

[ "$(id -u)" -eq 0 ] || zc_die "missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})"

zc_log "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || zc_die "apt-get update failed"
log=$(mktemp)
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
	tail -20 "$log" >&2
	zc_die "apt-get install failed for: ${missing[*]} (full log: $log)"
fi
rm -f "$log"
