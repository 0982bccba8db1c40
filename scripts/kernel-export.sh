#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Write a work tree made by scripts/kernel-tree.sh back into the repository:
#
#   scripts/kernel-export.sh DIR
#
# Files added since tag "debian" are new files: they go to linux/ at their
# in-tree paths. Every other change goes to patches/ as one patch per
# commit (git format-patch, commits that touch only new files dropped),
# listed in patches/series in commit order. Exporting a tree right after
# creating it changes nothing.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

dir=${1:?usage: $0 DIR}
git -C "$dir" rev-parse -q --verify debian >/dev/null ||
	zc_die "$dir is not a tree made by scripts/kernel-tree.sh (no tag debian)"
[ -z "$(git -C "$dir" status --porcelain --untracked-files=no)" ] ||
	zc_die "$dir has uncommitted changes: commit them first"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# New files, at their in-tree paths.
mkdir -p "$tmp/linux"
git -C "$dir" diff --name-only --diff-filter=A -z debian HEAD >"$tmp/new"
excludes=()
while IFS= read -r -d '' f; do
	mkdir -p "$tmp/linux/$(dirname "$f")"
	git -C "$dir" show "HEAD:$f" >"$tmp/linux/$f"
	excludes+=(":(exclude,literal)$f")
done <"$tmp/new"

# Everything else, one patch per commit.
mkdir -p "$tmp/patches"
git -C "$dir" -c core.abbrev=12 -c diff.noprefix=false format-patch -q \
	--zero-commit --no-signature --no-numbered --no-cover-letter \
	-o "$tmp/patches" debian..HEAD -- . "${excludes[@]}"
(cd "$tmp/patches" && ls -1 | LC_ALL=C sort) >"$tmp/series"

rm -rf "$ZC_ROOT/linux" "$ZC_ROOT/patches"
mv "$tmp/linux" "$ZC_ROOT/linux"
mv "$tmp/patches" "$ZC_ROOT/patches"
mv "$tmp/series" "$ZC_ROOT/patches/series"
zc_log "exported $(grep -c . "$ZC_ROOT/patches/series" || true) patches and $(find "$ZC_ROOT/linux" -type f | wc -l) new files from $dir"
