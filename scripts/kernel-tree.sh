#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Create a git work tree of the patched kernel for development:
#
#   scripts/kernel-tree.sh DIR
#
# Commits on branch "zc", on top of tag "debian" (the pristine Debian
# source): one commit adding the new files of linux/, then one commit per
# patch of patches/series (git am). Edit and commit there as usual, then
# write the result back with scripts/kernel-export.sh DIR.
#
# Debian's top-level .gitignore ignores everything: add new files with
# "git add -f".

set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=${1:?usage: $0 DIR}
[ ! -e "$dir" ] || zc_die "$dir exists: export it (scripts/kernel-export.sh $dir) or remove it first"

"$ZC_ROOT/scripts/kernel-source.sh"

git clone -q --no-checkout "$ZC_KSRC" "$dir"
dir=$(cd "$dir" && pwd)
git -C "$dir" config gc.auto 0
git -C "$dir" checkout -q -b zc debian

if [ -d "$ZC_ROOT/linux" ] && [ -n "$(ls -A "$ZC_ROOT/linux")" ]; then
	cp -r "$ZC_ROOT/linux/." "$dir/"
	git -C "$dir" add -A -f
	git -C "$dir" commit -q -m "page_pool_zc: new files" \
		-m "The files of linux/ in the page_pool_zc repository." \
		-m "scripts/kernel-export.sh writes every file added since tag debian back to linux/, and every other change to patches/."
fi

n=0
while read -r p; do
	[ -z "$p" ] || [[ $p == \#* ]] && continue
	n=$((n + 1))
	if ! git -C "$dir" am -q --committer-date-is-author-date "$ZC_ROOT/patches/$p"; then
		git -C "$dir" am --abort || true
		zc_die "patch $n ($p) does not apply; $dir is left at the patch before it"
	fi
done <"$ZC_ROOT/patches/series"

zc_log "$dir: branch zc, $n patches on top of tag debian"
