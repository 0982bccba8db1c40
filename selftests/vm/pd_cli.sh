#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The commands of README.md's "Using it" and of page_pool_zc.rst, run as
# written with the kernel's YNL command line tool (tools/net/ynl/cli.py
# from the unpacked source), against a PD held by selftests/vm/pd_tool.py.
# Each command is echoed with its output, then checked.

. "$(dirname "$0")/../lib.sh"

nic=$(zc_nic) || { fail setup "no virtio_net NIC"; exit 1; }
ip link set "$nic" up
ifindex=$(cat "/sys/class/net/$nic/ifindex")
[ "$ifindex" = 2 ] || { skip "cli.py commands" "the NIC is ifindex $ifindex, the text says 2"; exit 0; }
zc_need_pd "cli.py commands"

cd "$ZC_ROOT/build/linux" || exit 1
ynl="./tools/net/ynl/cli.py --spec Documentation/netlink/specs/netdev.yaml"

coproc holder { exec ../../selftests/vm/pd_tool.py hold --pages 1024 --bind 2:1; }
defer kill "$holder_PID"
read -r -u "${holder[0]}" word id
echo "# ../../selftests/vm/pd_tool.py hold --pages 1024 --bind 2:1 &"
echo "$word $id"
check_eq "pd_tool.py hold: PD 1 bound to ifindex 2 queue 1" "$word $id" "id 1"

run()
{
	echo "# \$ynl $*"
	out=$(eval "$ynl $*" 2>&1)
	echo "$out"
}

run --dump pd-get
check "pd-get dump: the binding and the counters" \
	grep -q "'binding': \[{'ifindex': 2, 'queue-id': 1}\]" <<<"$out"
run --do queue-get --json "'{\"ifindex\": 2, \"type\": \"rx\", \"id\": 1}'"
check "queue-get: pd-id 1" grep -Eq "'pd-id': 1\b" <<<"$out"
run --dump page-pool-get
check "page-pool-get: a page_pool with pd-id 1" grep -Eq "'pd-id': 1\b" <<<"$out"
run --do pd-unbind --json "'{\"id\": 1, \"ifindex\": 2, \"queue-id\": 1}'"
check_eq "pd-unbind" "$out" None
run --do pd-bind --json "'{\"id\": 1, \"ifindex\": 2, \"queue-id\": 1}'"
check_eq "pd-bind" "$out" None
run --do pd-bind --json "'{\"id\": 1, \"ifindex\": 2, \"queue-id\": 1}'"
check "pd-bind again: refused with the extack message" \
	grep -q "designated queue already memory provider bound" <<<"$out"
