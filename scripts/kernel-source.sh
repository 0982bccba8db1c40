#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare the patched kernel source in build/linux:
#   1. unpack Debian's linux-source-6.12 once, as a git repo whose first
#      commit (tag "debian") is the pristine Debian source;
#   2. copy the new files of linux/ to their in-tree paths, touching only
#      files whose content changed (so make rebuilds only those);
#   3. apply patches/series in order, re-applying only when the series
#      changed since the last run.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

version=$(zc_debian_version)
[ -n "$version" ] || zc_die "$ZC_DEBIAN_PKG is not installed (scripts/install-deps.sh installs it)"
[ -f "$ZC_DEBIAN_TARBALL" ] || zc_die "$ZC_DEBIAN_TARBALL missing: reinstall $ZC_DEBIAN_PKG"

unpack()
{
	local tmp=$ZC_BUILD/linux.unpack

	zc_log "unpacking $ZC_DEBIAN_PKG $version"
	rm -rf "$tmp" "$ZC_KSRC"
	mkdir -p "$tmp"
	tar -C "$tmp" -xf "$ZC_DEBIAN_TARBALL"
	mv "$tmp/linux-source-6.12" "$ZC_KSRC"
	rmdir "$tmp"
	# Debian's top-level .gitignore ignores everything: add with -f.
	git -C "$ZC_KSRC" init -q
	git -C "$ZC_KSRC" config gc.auto 0
	git -C "$ZC_KSRC" add -A -f
	git -C "$ZC_KSRC" -c user.name=page_pool_zc -c user.email=page_pool_zc@localhost \
		commit -q -m "Debian $ZC_DEBIAN_PKG $version"
	git -C "$ZC_KSRC" tag debian
	echo "$version" >"$ZC_KSRC/.git/zc-debian-version"
}

# Copy $1 (a path relative to linux/) into the tree unless identical.
install_file()
{
	local src=$ZC_ROOT/linux/$1 dst=$ZC_KSRC/$1

	cmp -s "$src" "$dst" && return 0
	mkdir -p "$(dirname "$dst")"
	cp "$src" "$dst"
}

overlay()
{
	local list=$ZC_KSRC/.git/zc-overlay f

	: >"$list.new"
	if [ -d "$ZC_ROOT/linux" ]; then
		(cd "$ZC_ROOT/linux" && find . -type f -printf '%P\n' | LC_ALL=C sort) >"$list.new"
	fi
	while read -r f; do
		if git -C "$ZC_KSRC" cat-file -e "debian:$f" 2>/dev/null; then
			zc_die "linux/$f exists in the Debian source: change it with a patch, not a new file"
		fi
		install_file "$f"
	done <"$list.new"
	# Files dropped from linux/ since the last run.
	if [ -f "$list" ]; then
		LC_ALL=C comm -23 "$list" "$list.new" | while read -r f; do
			rm -f "$ZC_KSRC/$f"
		done
	fi
	mv "$list.new" "$list"
}

series_hash()
{
	local p

	{
		cat "$ZC_ROOT/patches/series"
		while read -r p; do
			[ -z "$p" ] || [[ $p == \#* ]] || cat "$ZC_ROOT/patches/$p"
		done <"$ZC_ROOT/patches/series"
	} | sha256sum | cut -d' ' -f1
}

apply_series()
{
	local stamp=$ZC_KSRC/.git/zc-series hash p n=0

	hash=$(series_hash)
	[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$hash" ] && return 0

	rm -f "$stamp"
	# Back to pristine Debian for tracked files; git rewrites only the
	# files that differ, so untouched files keep their timestamps.
	git -C "$ZC_KSRC" reset -q --hard debian
	while read -r p; do
		[ -z "$p" ] || [[ $p == \#* ]] && continue
		n=$((n + 1))
		[ -f "$ZC_ROOT/patches/$p" ] || zc_die "patches/series names $p, which does not exist"
		if ! out=$(git -C "$ZC_KSRC" apply --whitespace=nowarn "$ZC_ROOT/patches/$p" 2>&1); then
			printf '%s\n' "$out" >&2
			zc_die "patch $n ($p) does not apply to Debian $ZC_DEBIAN_PKG $version"
		fi
	done <"$ZC_ROOT/patches/series"
	echo "$hash" >"$stamp"
	zc_log "applied $n patches to Debian $ZC_DEBIAN_PKG $version"
}

mkdir -p "$ZC_BUILD"
if [ ! -d "$ZC_KSRC/.git" ] ||
   [ "$(cat "$ZC_KSRC/.git/zc-debian-version" 2>/dev/null)" != "$version" ]; then
	unpack
fi
overlay
apply_series
