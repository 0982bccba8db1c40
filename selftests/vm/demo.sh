#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demo of `make demo`, run inside the test VM: the user flow of the
# XDP side as a person would type it, with frames sent from outside.

. "$(dirname "$0")/../lib.sh"

nic=$(zc_nic)
mac=$(cat "/sys/class/net/$nic/address")
pin=$ZC_PIN/demo

run()
{
	echo "guest# $*"
	"$@"
}

ip link set "$nic" up
run ethtool -l "$nic" | sed -n '/^Current/,$p'
mkdir -p "$ZC_PIN"
run bpftool prog load "$ZC_BPF/xdp_count.bpf.o" "${pin}_prog" type xdp pinmaps "${pin}_maps"
defer rm -rf "${pin}_prog" "${pin}_maps"
run bpftool net attach xdpdrv pinned "${pin}_prog" dev "$nic"
defer bpftool net detach xdpdrv dev "$nic"
run bpftool net show dev "$nic"

echo "host: sending 1000 frames of 256 bytes into the tap behind $nic"
tg "{\"cmd\": \"send\", \"count\": 1000, \"size\": 256, \"dst\": \"$mac\", \"flows\": 32, \"pps\": 4000}"
zc_wait_ge 10 "zc_percpu_sum ${pin}_maps/counters 1 packets" 1000 >/dev/null
run bpftool map dump pinned "${pin}_maps/counters"
run ethtool -S "$nic" | grep -E '^ *rx[0-9]+_xdp_(packets|drops):'
echo "xdp_count counted $(zc_percpu_sum "${pin}_maps/counters" 1 packets) of 1000 frames"
