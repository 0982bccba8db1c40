#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The guest side of zero-copy RX: virtio_net's rx_page_layout option
# (Documentation/networking/page_pool_zc.rst, "Guest buffers"). Booted
# with virtio_net.rx_page_layout=1 (scripts/run-tests.sh does, for this
# test and xdp_virtio.sh, which then receives through such buffers), every
# RX queue of the NIC posts one page per buffer, 4012 bytes after the
# 84-byte offset; frames of every size arrive intact.

. "$(dirname "$0")/../lib.sh"

nic=$(zc_nic) || { fail setup "no virtio_net NIC"; exit 1; }
param=/sys/module/virtio_net/parameters/rx_page_layout
if [ "$(cat $param 2>/dev/null)" != Y ]; then
	skip "rx_page_layout" "booted without virtio_net.rx_page_layout=1"
	exit 0
fi

for q in /sys/class/net/"$nic"/queues/rx-*; do
	check_eq "$(basename "$q"): buffers of the page layout (4096 - 96 + 12 bytes)" \
		"$(cat "$q/virtio_net/mergeable_rx_buffer_size")" 4012
done

mac=$(cat "/sys/class/net/$nic/address")
ip link set "$nic" up
ip addr add "$ZC_GUEST_IP/24" dev "$nic"
defer ip addr del "$ZC_GUEST_IP/24" dev "$nic"
sysctl -qw "net.ipv6.conf.$nic.disable_ipv6=1"
sysctl -qw net.core.rmem_max=33554432
tmp=$(mktemp -d)
defer rm -rf "$tmp"

errors=$(cat "/sys/class/net/$nic/statistics/rx_length_errors")
for size in 60 1000 1514; do
	python3 "$ZC_SELFTESTS/vm/udp_sink.py" --port 9 --count 500 --idle 3 \
		--ready "$tmp/ready.$size" >"$tmp/sink" &
	pid=$!
	for _ in $(seq 50); do [ -f "$tmp/ready.$size" ] && break; sleep 0.1; done
	check "host sends 500 frames of $size bytes" tg "{\"cmd\": \"send\",
		\"count\": 500, \"size\": $size, \"dst\": \"$mac\",
		\"dst_ip\": \"$ZC_GUEST_IP\", \"dport\": 9, \"flows\": 32,
		\"pps\": 4000}"
	wait $pid
	check_eq "$size-byte frames: every datagram intact" \
		"$(jq -r .valid "$tmp/sink")" 500
done
check_eq "no length error" \
	"$(cat "/sys/class/net/$nic/statistics/rx_length_errors")" "$errors"
