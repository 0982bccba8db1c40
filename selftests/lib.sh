# SPDX-License-Identifier: GPL-2.0
#
# Helpers for the selftests that run inside the test VM. Sourced.
#
# A test reports each check as one line, "ok NAME" or "not ok NAME # why"
# or "ok NAME # SKIP why"; selftests/run.sh numbers them into TAP. Any
# other output becomes a TAP comment. Cleanups are registered with
# defer right after the change they undo and run in reverse order on exit.

ZC_SELFTESTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZC_ROOT=$(dirname "$ZC_SELFTESTS")
ZC_BPF=$ZC_ROOT/build/bpf
ZC_PIN=/sys/fs/bpf/zc
ZC_GUEST_IP=192.0.2.2
ZC_HOST_IP=192.0.2.1
# ZC_KERNEL_COMPLAINTS: what in a kernel log fails a run (one definition).
. "$ZC_ROOT/scripts/lib.sh"

zc_failed=0
zc_defers=()

ok()
{
	echo "ok $*"
}

fail()
{
	local name=$1

	shift
	echo "not ok $name # $*"
	zc_failed=$((zc_failed + 1))
}

skip()
{
	local name=$1

	shift
	echo "ok $name # SKIP $*"
}

# zc_built_with SYMBOL: the running kernel has SYMBOL (/proc/kallsyms),
# what its config built whatever the interfaces under test say.
zc_built_with()
{
	awk -v s="$1" '$3 == s { found = 1; exit } END { exit !found }' /proc/kallsyms
}

# zc_need_pd NAME: the kernel has the PD commands; exits with a SKIP on a
# kernel built without CONFIG_PAGE_POOL_ZC, a failure on one built with it.
zc_need_pd()
{
	python3 "$ZC_SELFTESTS/vm/pd_tool.py" ids >/dev/null 2>&1 && return 0
	if zc_built_with netdev_nl_pd_create_doit; then
		fail "$1" "kernel built with CONFIG_PAGE_POOL_ZC, but pd-get fails"
		exit 1
	fi
	skip "$1" "kernel without CONFIG_PAGE_POOL_ZC"
	exit 0
}

# check NAME CMD...: ok when CMD succeeds; its output is shown on failure.
check()
{
	local name=$1 out

	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/  /'
		fail "$name" "command failed: $*"
	fi
}

# check_eq NAME GOT WANT
check_eq()
{
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1" "got '$2', want '$3'"
	fi
}

# check_ge NAME GOT MIN
check_ge()
{
	if [ "$2" -ge "$3" ] 2>/dev/null; then
		ok "$1"
	else
		fail "$1" "got '$2', want at least '$3'"
	fi
}

defer()
{
	zc_defers+=("$(printf '%q ' "$@")")
}

zc_run_defers()
{
	local i

	for ((i = ${#zc_defers[@]} - 1; i >= 0; i--)); do
		eval "${zc_defers[$i]}" >/dev/null 2>&1 || true
	done
	zc_defers=()
}

zc_exit()
{
	local rc=$?

	zc_run_defers
	[ "$zc_failed" -eq 0 ] || exit 1
	exit "$rc"
}
trap zc_exit EXIT

# The guest's virtio_net NIC (the one backed by the host tap).
zc_nic()
{
	local d

	for d in /sys/class/net/*; do
		if [ "$(basename "$(readlink -f "$d/device/driver" 2>/dev/null)")" = virtio_net ]; then
			basename "$d"
			return 0
		fi
	done
	return 1
}

# tg JSON: one request to scripts/trafgen.py outside the VM; prints the reply.
zc_tg_port()
{
	local p

	for p in /sys/class/virtio-ports/*; do
		[ "$(cat "$p/name" 2>/dev/null)" = trafgen ] && { echo "/dev/${p##*/}"; return 0; }
	done
	return 1
}

tg()
{
	local port reply

	port=$(zc_tg_port) || { echo '{"ok": false, "error": "no trafgen port"}'; return 1; }
	exec {tgfd}<>"$port"
	printf '%s\n' "${1//$'\n'/ }" >&$tgfd
	IFS= read -r -t 120 reply <&$tgfd
	exec {tgfd}>&-
	echo "$reply"
	[ "$(jq -r .ok <<<"$reply" 2>/dev/null)" = true ]
}

# Sum a per-CPU counter of a pinned xdp_count map: zc_count_sum MAP KEY FIELD
zc_percpu_sum()
{
	bpftool -j map lookup pinned "$1" key "$2" 0 0 0 |
		jq "[.formatted.values[].value.$3] | add"
}

# ethtool -S counter, summed over the keys matching a regex.
zc_ethtool_sum()
{
	ethtool -S "$1" | awk -v re="$2" '$1 ~ re { s += $2 } END { print s + 0 }'
}

# Wait up to $1 seconds for "$2" (a command) to print a value >= $3.
zc_wait_ge()
{
	local secs=$1 cmd=$2 want=$3 got i

	for ((i = 0; i < secs * 10; i++)); do
		got=$(eval "$cmd" 2>/dev/null)
		[ "${got:-0}" -ge "$want" ] 2>/dev/null && break
		sleep 0.1
	done
	echo "${got:-0}"
}

# zc_probe_sport DEV Q: a UDP source port whose frames the host's tap hands
# to RX queue Q of DEV (its flow hash decides). Uses XDP on DEV for the
# per-queue count, and leaves DEV without a program.
zc_probe_sport()
{
	local dev=$1 q=$2 pin=/sys/fs/bpf/zc_probe sport before got rc=1 mac

	mac=$(cat "/sys/class/net/$dev/address")

	rm -rf "$pin" && mkdir -p "$pin" || return 1
	bpftool prog load "$ZC_ROOT/build/bpf/xdp_count.bpf.o" "$pin/prog" \
		type xdp pinmaps "$pin" &&
		bpftool net attach xdpdrv pinned "$pin/prog" dev "$dev" &&
		bpftool map update pinned "$pin/config" key 0 0 0 0 \
			value 1 0 0 0 0 0 0 0 || return 1
	for sport in $(seq 5000 5015); do
		before=$(zc_ethtool_sum "$dev" "^rx${q}_xdp_packets:")
		tg "{\"cmd\": \"send\", \"count\": 10, \"size\": 300, \"dst\": \"$mac\", \"sport\": $sport, \"flows\": 1}" >/dev/null
		got=$(zc_wait_ge 2 "zc_ethtool_sum $dev '^rx${q}_xdp_packets:'" $((before + 10)))
		if [ "$got" -ge $((before + 10)) ]; then
			echo "$sport"
			rc=0
			break
		fi
	done
	bpftool net detach xdpdrv dev "$dev"
	rm -rf "$pin"
	return $rc
}
