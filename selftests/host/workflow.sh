#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The developer workflow on a copy of the repository: a work tree made by
# scripts/kernel-tree.sh and exported right away by scripts/kernel-export.sh
# changes nothing; commits made in the tree come back as a patch and a new
# file; a patch that does not apply stops scripts/kernel-source.sh with
# its name and the Debian source version.

. "$(dirname "$0")/../lib.sh"

tmp=$(mktemp -d)
defer rm -rf "$tmp"
repo=$tmp/repo
tree=$tmp/tree
export ZC_BUILD=$ZC_ROOT/build	# reuse the unpacked source

rsync -a --exclude /build --exclude /.git "$ZC_ROOT/" "$repo/"

check "kernel-tree.sh creates the work tree" "$repo/scripts/kernel-tree.sh" "$tree"
check_eq "work tree: one commit per patch, plus base and new files" \
	"$(git -C "$tree" rev-list --count debian..HEAD)" \
	$(($(grep -c -v '^#' "$repo/patches/series") + 1))
check "kernel-export.sh right after kernel-tree.sh" "$repo/scripts/kernel-export.sh" "$tree"
check "round trip: patches/ unchanged" diff -r "$ZC_ROOT/patches" "$repo/patches"
check "round trip: linux/ unchanged" diff -r "$ZC_ROOT/linux" "$repo/linux"

# A developer's commits: one edits an upstream file, one adds a file.
echo "# zc workflow test" >>"$tree/net/core/Makefile"
git -C "$tree" commit -q -a -m "net: core: workflow test edit"
mkdir -p "$tree/net/core"
echo "/* zc workflow test */" >"$tree/net/core/zc_workflow_test.c"
git -C "$tree" add -f net/core/zc_workflow_test.c
git -C "$tree" commit -q -m "net: core: workflow test file"
check "export after commits" "$repo/scripts/kernel-export.sh" "$tree"
last=$(tail -1 "$repo/patches/series")
check "edit of an upstream file became the last patch" \
	grep -q '^+# zc workflow test$' "$repo/patches/$last"
check "new file landed in linux/ at its in-tree path" \
	test -f "$repo/linux/net/core/zc_workflow_test.c"
check "new file is not in any patch" \
	bash -c "! grep -l zc_workflow_test.c '$repo'/patches/*.patch"

# A patch that does not apply, against a small stand-in for the Debian
# tarball holding only the files the series touches.
mkdir -p "$tmp/fake/linux-source-6.12"
git -C "$ZC_ROOT/build/linux" archive debian -- $(
	cat "$ZC_ROOT"/patches/*.patch | sed -n 's|^+++ b/||p' | sort -u) |
	tar -C "$tmp/fake/linux-source-6.12" -x
tar -C "$tmp/fake" -cJf "$tmp/fake.tar.xz" linux-source-6.12
cp "$ZC_ROOT/patches/"* "$repo/patches/"
cat >"$repo/patches/9999-broken.patch" <<'PATCH'
--- a/net/core/Makefile
+++ b/net/core/Makefile
@@ -1,3 +1,3 @@
-this line is not in the file
+nor is this one
 neither is this
 or this
PATCH
echo 9999-broken.patch >>"$repo/patches/series"
n=$(grep -c -v '^#' "$repo/patches/series")
out=$(ZC_BUILD=$tmp/build ZC_DEBIAN_TARBALL=$tmp/fake.tar.xz \
	"$repo/scripts/kernel-source.sh" 2>&1)
check_eq "broken patch: kernel-source.sh fails" "$?" 1
check "broken patch: named, with the Debian version" \
	grep -q "patch $n (9999-broken.patch) does not apply to Debian linux-source-6.12 $(dpkg-query -W -f='${Version}' linux-source-6.12)" <<<"$out"
