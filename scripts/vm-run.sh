#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot the built kernel under QEMU (TCG) and run one command inside it.
#
#   scripts/vm-run.sh [OPTIONS] [--] COMMAND [ARGS...]
#
#   --kernel PATH   bzImage (default: build/obj-base/arch/x86/boot/bzImage)
#   --flavour NAME  use build/obj-NAME's bzImage
#   --timeout SECS  kill the guest after SECS (default 900)
#   --icount        deterministic time: -icount shift=0,sleep=off
#   --smp N         vCPUs (default 2)
#   --mem SIZE      guest memory (default 2G)
#   --queues N      virtio-net queue pairs (default 2)
#   --append ARGS   more kernel command line
#   --viommu        q35 with QEMU's intel-iommu; the NIC uses it
#                   (iommu_platform=on), strict invalidation in the guest
#   --nic OPTS      more properties of the virtio-net-pci NIC (hash=on,...);
#                   may be given more than once
#
# The guest sees the host root read-only over 9p under a writable tmpfs
# overlay, starts in the current directory and runs COMMAND; its output
# is streamed here and its exit code is ours. The guest NIC is backed by
# a multiqueue tap in a private network namespace, where
# scripts/trafgen.py sends frames the guest asks for over a virtio-serial
# port. The kernel log is kept in the run directory and its tail shown
# when the guest fails to report a result.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel=
flavour=base
timeout=900
icount=
smp=2
mem=2G
queues=2
append=
viommu=
nicmore=

while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	--flavour) flavour=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--icount) icount=1; shift ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--queues) queues=$2; shift 2 ;;
	--append) append=$2; shift 2 ;;
	--viommu) viommu=1; shift ;;
	--nic) nicmore=$nicmore,$2; shift 2 ;;
	--) shift; break ;;
	-*) zc_die "unknown option $1 (see the header of $0)" ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || zc_die "usage: $0 [OPTIONS] [--] COMMAND [ARGS...]"
[ -n "$kernel" ] || kernel=$(zc_objdir "$flavour")/arch/x86/boot/bzImage
[ -f "$kernel" ] || zc_die "no kernel at $kernel (build it: make kernel)"
command -v qemu-system-x86_64 >/dev/null || zc_die "qemu-system-x86_64 missing (scripts/install-deps.sh)"
[ "$(id -u)" -eq 0 ] || zc_die "needs root: it creates a network namespace and a tap"

# The run directory must be visible in the guest through the shared root,
# so not under /tmp (the guest mounts a fresh tmpfs there).
mkdir -p "$ZC_BUILD/vm"
run=$(mktemp -d "$ZC_BUILD/vm/run.XXXXXX")
ns=zc-vm-${run##*.}
tap=zctap0
tg_pid=
vm_pid=

cleanup()
{
	[ -z "$vm_pid" ] || kill -9 "$vm_pid" 2>/dev/null || true
	[ -z "$tg_pid" ] || kill "$tg_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	ip netns del "$ns" 2>/dev/null || true
	[ -n "${ZC_KEEP_RUN:-}" ] || rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

printf '%q ' "$@" >"$run/cmd"
pwd >"$run/cwd"

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add mode tap dev "$tap" multi_queue
ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$tap.disable_ipv6=1"
# Room for frames up to 9000 bytes, and for bursts, from the traffic
# generator.
ip -n "$ns" link set "$tap" mtu 9000 txqueuelen 10000 up

ip netns exec "$ns" python3 "$ZC_ROOT/scripts/trafgen.py" \
	--ifname "$tap" --socket "$run/trafgen.sock" 2>"$run/trafgen.log" &
tg_pid=$!
for _ in $(seq 100); do
	[ -S "$run/trafgen.sock" ] && break
	kill -0 "$tg_pid" 2>/dev/null || { cat "$run/trafgen.log" >&2; zc_die "trafgen failed to start"; }
	sleep 0.05
done

# TCG on this 2-core host can hold a vCPU for tens of seconds (seen with
# the debug kernel at boot): RCU's stall report after 21 s would be noise,
# after 120 s it still names a real stall before a test times out.
append="rcupdate.rcu_cpu_stall_timeout=120 $append"
# vIOMMU: the IOMMU comes before the devices it translates; only the NIC
# asks for translation (9p and the serial ports bypass it).
iommu=()
nicopts=
if [ -n "$viommu" ]; then
	iommu=(-machine q35 -device intel-iommu,intremap=off)
	nicopts=,iommu_platform=on,disable-legacy=on
	append="intel_iommu=on iommu.strict=1 $append"
fi
nicopts=$nicopts$nicmore
qemu=(
	qemu-system-x86_64 -accel tcg -cpu max -m "$mem" -smp "$smp"
	-no-reboot -display none -monitor none -nodefaults "${iommu[@]}"
	-kernel "$kernel"
	-append "console=ttyS0 root=hostroot rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=512000,cache=loose ro init=$ZC_ROOT/scripts/vm-init.sh panic=-1 oops=panic zc_run=$run $append"
	-serial "file:$run/console.log"
	-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap
	-device virtio-9p-pci,fsdev=root,mount_tag=hostroot
	-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,queues=$queues,vhost=off"
	-device virtio-serial-pci,id=vser
	-chardev stdio,id=out,signal=off
	-device virtconsole,chardev=out,bus=vser.0
	-chardev "socket,id=tg,path=$run/trafgen.sock"
	-device virtserialport,chardev=tg,bus=vser.0,name=trafgen
	# The NIC last: suspend, in reverse order, reaches it first.
	-device "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56,mq=on,vectors=$((2 * queues + 2))$nicopts"
)
[ -z "$icount" ] || qemu+=(-icount shift=0,sleep=off)

start=$(date +%s.%N)
rc=0
set +e
ip netns exec "$ns" "${qemu[@]}" </dev/null > >(tr -d '\r' | tee "$run/out") &
vm_pid=$!
waited=0
while kill -0 "$vm_pid" 2>/dev/null; do
	if [ "$waited" -ge $((timeout * 10)) ]; then
		kill -9 "$vm_pid" 2>/dev/null
		wait "$vm_pid" 2>/dev/null
		vm_pid=
		echo "--- kernel log (tail) ---" >&2
		tail -40 "$run/console.log" >&2
		zc_log "guest hung: killed after ${timeout} s"
		exit 124
	fi
	sleep 0.1
	waited=$((waited + 1))
done
wait "$vm_pid"
qrc=$?
vm_pid=
set -e
# tee may still be writing what the guest printed last.
for _ in $(seq 50); do
	grep -a -q '^@@zc-exit [0-9]*@@$' "$run/out" && break
	sleep 0.1
done

result=$(grep -a -o '^@@zc-exit [0-9]*@@$' "$run/out" | tail -1 | tr -dc 0-9 || true)
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
if [ -z "$result" ]; then
	echo "--- kernel log (first complaint) ---" >&2
	zc_first_complaint "$run/console.log" >&2
	echo "--- kernel log (tail) ---" >&2
	tail -20 "$run/console.log" >&2
	zc_die "guest ended without reporting a result (qemu exit $qrc after ${elapsed%.*} s): kernel panic or init failure"
fi
if grep -a -q -E "$ZC_KERNEL_COMPLAINTS" "$run/console.log"; then
	zc_log "kernel log has warnings: $run/console.log"
	export ZC_KEEP_RUN=1
	grep -a -E -A20 "$ZC_KERNEL_COMPLAINTS" "$run/console.log" | head -60 >&2
	[ "$result" -ne 0 ] || result=3
fi
rc=$result
zc_log "guest exited $rc after $(printf '%.1f' "$elapsed") s"
exit "$rc"
