#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# XDP on the VM's virtio_net NIC with frames sent from outside the VM:
# attach bpf/xdp_count with bpftool, check the counters match what the
# host sent (per frame and per byte, spread over RX queues), drop and
# pass verdicts, then detach and check the normal RX path delivers every
# datagram intact.

. "$(dirname "$0")/../lib.sh"

N=1000		# below the tap's 1000-frame ring per queue, and paced
SIZE=128
PORT=9

nic=$(zc_nic) || { fail setup "no virtio_net NIC"; exit 1; }
mac=$(cat "/sys/class/net/$nic/address")
pin=$ZC_PIN/xdp_virtio
maps=${pin}_maps
prog=${pin}_prog

ip link set "$nic" up
ip addr add "$ZC_GUEST_IP/24" dev "$nic"
defer ip addr del "$ZC_GUEST_IP/24" dev "$nic"
sysctl -qw "net.ipv6.conf.$nic.disable_ipv6=1"
# Room for every datagram of a burst in the sink's socket.
sysctl -qw net.core.rmem_max=33554432

tmp=$(mktemp -d)
defer rm -rf "$tmp"

check_ge "multiqueue: $nic has at least 2 combined channels" \
	"$(ethtool -l "$nic" | awk '/^Current/ { c = 1 } c && /^Combined/ { print $2; exit }')" 2
check "trafgen reachable over virtio-serial" tg '{"cmd": "ping"}'

# send N SIZE [extra JSON]: N frames to the NIC's MAC and guest IP.
send()
{
	tg "{\"cmd\": \"send\", \"count\": $1, \"size\": $2, \"dst\": \"$mac\",
	     \"dst_ip\": \"$ZC_GUEST_IP\", \"dport\": $PORT, \"flows\": 32,
	     \"pps\": 4000 ${3:-}}" >"$tmp/tg" || { cat "$tmp/tg"; return 1; }
	# The tap drops what the guest does not take in time: that would make
	# every count below wrong, so it is a failure of its own.
	[ "$(jq -r .dropped "$tmp/tg")" = 0 ] || { cat "$tmp/tg"; return 1; }
}

trafgen_packets()
{
	zc_percpu_sum "$maps/counters" 1 packets
}

# sink COUNT: start a UDP receiver; its JSON result lands in $tmp/sink.
sink_start()
{
	rm -f "$tmp/ready" "$tmp/sink"
	python3 "$ZC_SELFTESTS/vm/udp_sink.py" --port $PORT --count "$1" --idle 3 \
		--ready "$tmp/ready" >"$tmp/sink" &
	sink_pid=$!
	for _ in $(seq 50); do [ -f "$tmp/ready" ] && break; sleep 0.1; done
}
# sink_result FIELD: wait for the receiver (here, not in a subshell, which
# could not wait for it) and set $result to a field of its report.
sink_result()
{
	wait "$sink_pid"
	result=$(jq -r ".$1" "$tmp/sink")
}

# --- attach ---------------------------------------------------------------
mkdir -p "$ZC_PIN"
check "bpftool prog load pinmaps" \
	bpftool prog load "$ZC_BPF/xdp_count.bpf.o" "$prog" type xdp pinmaps "$maps"
defer rm -rf "$maps" "$prog"
check "bpftool net attach xdpdrv" bpftool net attach xdpdrv pinned "$prog" dev "$nic"
defer bpftool net detach xdpdrv dev "$nic"
check_eq "bpftool net show: program attached in driver mode" \
	"$(bpftool -j net show dev "$nic" | jq -r '.[0].xdp[0].mode')" driver

# --- count ----------------------------------------------------------------
rxq0=$(zc_ethtool_sum "$nic" '^rx0_xdp_packets:')
rxq1=$(zc_ethtool_sum "$nic" '^rx1_xdp_packets:')
sink_start $N
check "host sends $N frames of $SIZE bytes" send $N $SIZE
got=$(zc_wait_ge 10 trafgen_packets $N)
check_eq "xdp_count saw every frame" "$got" $N
check_eq "xdp_count byte count" "$(zc_percpu_sum "$maps/counters" 1 bytes)" $((N * SIZE))
check_ge "frames arrived on RX queue 0" \
	$(($(zc_ethtool_sum "$nic" '^rx0_xdp_packets:') - rxq0)) 1
check_ge "frames arrived on RX queue 1" \
	$(($(zc_ethtool_sum "$nic" '^rx1_xdp_packets:') - rxq1)) 1
sink_result valid
check_eq "XDP_PASS: every datagram reached the socket intact" "$result" $N

# --- drop -----------------------------------------------------------------
drops=$(zc_ethtool_sum "$nic" '^rx_xdp_drops:')
check "bpftool map update: verdict XDP_DROP" \
	bpftool map update pinned "$maps/config" key 0 0 0 0 value 1 0 0 0 0 0 0 0
sink_start 1
check "host sends 200 frames" send 200 $SIZE ", \"seq0\": $N"
got=$(zc_wait_ge 10 trafgen_packets $((N + 200)))
check_eq "XDP_DROP: frames counted" "$got" $((N + 200))
check_eq "XDP_DROP: driver counted the drops" \
	$(($(zc_ethtool_sum "$nic" '^rx_xdp_drops:') - drops)) 200
sink_result received
check_eq "XDP_DROP: nothing reached the socket" "$result" 0

# --- detach ---------------------------------------------------------------
check "bpftool net detach" bpftool net detach xdpdrv dev "$nic"
check_eq "no XDP program on $nic after detach" \
	"$(bpftool -j net show dev "$nic" | jq -r '.[0].xdp | length')" 0
before=$(trafgen_packets)
sink_start $N
check "host sends $N frames of 1000 bytes" send $N 1000
sink_result valid
check_eq "normal RX after detach: every datagram intact" "$result" $N
check_eq "detached program saw nothing" "$(trafgen_packets)" "$before"
