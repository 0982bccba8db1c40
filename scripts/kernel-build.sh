#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build a bzImage of the patched kernel with ccache.
#   scripts/kernel-build.sh [FLAVOUR] [MAKE ARGS...]
# FLAVOUR names the config: "base" (default) is tinyconfig plus
# configs/base.config; any other name adds configs/FLAVOUR.config on top,
# and A+B adds configs/A.config and then configs/B.config.
# The object tree is build/obj-FLAVOUR.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

flavour=${1:-base}
[ $# -gt 0 ] && shift
obj=$(zc_objdir "$flavour")

fragments=("$ZC_ROOT/configs/base.config")
if [ "$flavour" != base ]; then
	IFS=+ read -r -a parts <<<"$flavour"
	for part in "${parts[@]}"; do
		[ -f "$ZC_ROOT/configs/$part.config" ] ||
			zc_die "unknown flavour '$part': no configs/$part.config"
		fragments+=("$ZC_ROOT/configs/$part.config")
	done
fi

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
export CCACHE_BASEDIR=$ZC_BUILD
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-8G}
# Fixed build identity so ccache hits across rebuilds of unchanged files.
export KBUILD_BUILD_USER=page_pool_zc KBUILD_BUILD_HOST=qemu
export KBUILD_BUILD_TIMESTAMP="Thu Jan  1 00:00:00 UTC 1970"

kmake()
{
	make -s -C "$ZC_KSRC" O="$obj" CC="ccache gcc" HOSTCC="ccache gcc" \
		-j"$(nproc)" "$@"
}

# Every CONFIG_X=v / "# CONFIG_X is not set" line of the fragments (the
# last one wins) must survive olddefconfig; a dependency we forgot would
# otherwise drop a symbol silently.
check_config()
{
	local -A want from
	local frag line sym have bad=0

	for frag in "${fragments[@]}"; do
		while read -r line; do
			case "$line" in
			CONFIG_*=*)
				sym=${line%%=*}
				want[$sym]=${line#*=} ;;
			"# CONFIG_"*" is not set")
				sym=${line#\# } sym=${sym%% *}
				want[$sym]=n ;;
			*)
				continue ;;
			esac
			from[$sym]=${frag##*/}
		done <"$frag"
	done
	for sym in "${!want[@]}"; do
		have=$(grep -E "^$sym=" "$obj/.config" | cut -d= -f2- || true)
		[ -n "$have" ] || have=n
		if [ "$have" != "${want[$sym]}" ]; then
			zc_log "config: $sym=${want[$sym]} requested by ${from[$sym]}, got $have"
			bad=1
		fi
	done
	[ $bad -eq 0 ] || zc_die "config fragments do not apply (missing dependencies above)"
}

configure()
{
	local stamp=$obj/.zc-config-sum sum

	sum=$(cat "${fragments[@]}" | sha256sum | cut -d' ' -f1)
	[ -f "$obj/.config" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] && return 0

	zc_log "configuring $flavour (tinyconfig + ${fragments[*]##*/})"
	mkdir -p "$obj"
	kmake tinyconfig >/dev/null
	"$ZC_KSRC/scripts/kconfig/merge_config.sh" -m -O "$obj" "$obj/.config" \
		"${fragments[@]}" >/dev/null
	kmake olddefconfig >/dev/null
	check_config
	echo "$sum" >"$stamp"
}

# ZC_KEEP_SOURCE: build the source as it is (scripts/mutants.sh).
[ -n "${ZC_KEEP_SOURCE:-}" ] || "$ZC_ROOT/scripts/kernel-source.sh"
configure
start=$(date +%s)
if [ $# -gt 0 ]; then
	kmake "$@"
else
	kmake bzImage
	kmake headers >/dev/null
fi
zc_log "$flavour: built in $(($(date +%s) - start)) s: $obj/arch/x86/boot/bzImage"
