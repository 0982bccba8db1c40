#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The demux flow of README.md ("Demux to VMs"), run as written from the
# top of the repository: the demux program loaded, attached and filled
# with bpftool, a VM's tap attached to its PD with the kernel's YNL tool,
# frames sent from outside the VM, the counters read back. A VM is stood
# in for by selftests/vm/pd_tool.py, which holds the PD and reads the tap.
# Each command is echoed with its output, then checked.

. "$(dirname "$0")/../lib.sh"

nic=$(zc_nic) || { fail setup "no virtio_net NIC"; exit 1; }
[ "$nic" = eth0 ] && [ "$(cat /sys/class/net/eth0/ifindex)" = 2 ] ||
	{ skip "demux flow" "the NIC is not eth0 with ifindex 2, as the text says"; exit 0; }
zc_need_pd "demux flow"
cd "$ZC_ROOT" || exit 1
ip link set eth0 up

P=/sys/fs/bpf/zc_demux
ynl="build/linux/tools/net/ynl/cli.py --spec build/linux/Documentation/netlink/specs/netdev.yaml"
defer ip link set eth0 promisc off
defer rm -rf "$P"
defer bpftool net detach xdpdrv dev eth0

# Which queue the frames land on depends on the flow hash: the text binds
# queue 0 and sends one flow that the probe below finds on queue 0.
sport=$(zc_probe_sport eth0 0) || { fail setup "no flow lands on queue 0"; exit 1; }

coproc vm { exec selftests/vm/pd_tool.py hold --pages 1024 --bind 2:0 --tap vmA; }
defer kill "$vm_PID"
read -r -u "${vm[0]}" word id
echo "# selftests/vm/pd_tool.py hold --pages 1024 --bind 2:0 --tap vmA &"
echo "$word $id"
check_eq "pd_tool.py: PD 1 bound to eth0 queue 0, tap vmA open" "$word $id" "id 1"

run()
{
	echo "# $*"
	out=$(eval "$*" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out"
	return $rc
}

echo "# P=$P"
echo "# ynl=\"$ynl\""
run 'A=$(cat /sys/class/net/vmA/ifindex); echo $A'
A=$out
run 'ip link set eth0 promisc on'
run 'mkdir $P'
run 'bpftool prog load build/bpf/zc_demux.bpf.o $P/prog type xdp pinmaps $P'
check "bpftool prog load: maps pinned" test -e $P/fdb -a -e $P/stats
run 'bpftool net attach xdpdrv pinned $P/prog dev eth0'
check "bpftool net attach xdpdrv" [ $? = 0 ]
run 'bpftool map create $P/seg0 type devmap_hash key 4 value 4 entries 256 name seg0'
run 'bpftool map update pinned $P/segments key 0 0 0 0 value pinned $P/seg0'
check "segment 0 (untagged) created" [ $? = 0 ]
run 'bpftool map update pinned $P/ports key $A 0 0 0 value $A 0 0 0'
run 'bpftool map update pinned $P/fdb key hex 52 54 00 00 00 0a 00 00 value $A 0 0 0'
run 'bpftool map update pinned $P/seg0 key $A 0 0 0 value $A 0 0 0'
check "VM A added: port, fdb entry, segment member" [ $? = 0 ]
run '$ynl --do pd-attach --json "{\"id\": 1, \"ifindex\": $A}"'
check_eq "pd-attach" "$out" None

copies=$(python3 "$ZC_SELFTESTS/vm/zclib.py" copy-hits) ||
	{ fail setup "no kprobe hit counts"; exit 1; }
echo "# (100 frames for 52:54:00:00:00:0a sent into eth0 from outside the VM)"
reply=$(tg "{\"cmd\": \"send\", \"count\": 100, \"size\": 300, \"dst\": \"52:54:00:00:00:0a\", \"sport\": $sport, \"flows\": 1, \"pps\": 3000}")
check "trafgen sent 100 frames" grep -q '"dropped": 0' <<<"$reply"
sleep 1

run 'bpftool map dump pinned $P/fdb'
check "fdb: VM A's MAC to its port" grep -q '"value": '"$A" <<<"$out"
run 'bpftool map dump pinned $P/stats'
check_eq "stats: 100 unicast frames (key 0)" "$(zc_percpu_sum $P/stats 0 packets)" 100
run '$ynl --do pd-get --json "{\"id\": 1}"'
check "pd-get: tap vmA listed as a port" grep -q "'port': \[{'ifindex': $A}\]" <<<"$out"
check "pd-get: 100 frames handed over zero-copy" grep -Eq "'redirect-zc': 100\b" <<<"$out"
check "pd-get: nothing copied by the core" grep -Eq "'rx-copy': 0\b" <<<"$out"
check_eq "kprobes: no copy routine ran" \
	$(($(python3 "$ZC_SELFTESTS/vm/zclib.py" copy-hits) - copies)) 0
