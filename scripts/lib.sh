# SPDX-License-Identifier: GPL-2.0
# Shared settings for the host-side scripts. Sourced, not executed.

# Debian's tools first (python3 with the packages of install-deps.sh).
export PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH

ZC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ZC_BUILD=${ZC_BUILD:-$ZC_ROOT/build}
ZC_KSRC=$ZC_BUILD/linux			# patched kernel source (a git repo)
ZC_DEBIAN_PKG=linux-source-6.12
ZC_DEBIAN_TARBALL=${ZC_DEBIAN_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

zc_log()
{
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

zc_die()
{
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# Version of the installed Debian kernel source package, e.g. 6.12.117-1~deb12u1.
zc_debian_version()
{
	dpkg-query -W -f='${Version}' "$ZC_DEBIAN_PKG" 2>/dev/null
}

zc_objdir()
{
	echo "$ZC_BUILD/obj-$1"
}

# What in a kernel log fails a run: warnings, oopses, sanitizer, kmemleak
# and lockdep reports (not their boot banners).
ZC_KERNEL_COMPLAINTS='WARNING:|BUG:|Oops|Call Trace:|UBSAN:|kmemleak: [0-9]+ new suspected|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage'

# A log's first kernel complaint and the lines after it: an oops's header,
# RIP and call trace, which the log's tail cuts off.
zc_first_complaint()
{
	grep -a -m1 -E -A30 "$ZC_KERNEL_COMPLAINTS|Kernel panic" "$1" || true
}
