#!/bin/sh
# install-uninstall.sh - `make install DESTDIR=…` puts sftpfs, its manual page
# and the mount(8) helpers where they belong, and `make uninstall` then leaves
# no file or symlink behind. Runs the build tree's own Makefile (TAP output).
# Two layouts: the default prefix (/usr/local: helpers in /sbin, where mount(8)
# looks) and the packages' (prefix /usr, mounthelperdir=/usr/sbin).
set -u
: "${top_builddir:?}"
MAKE=${MAKE:-make}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }
check() { # description, command...
	d=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/# /' "$tmp/out"; fi
}

# Is the daemon part of this build? (It lives on its own branch until merged.)
daemon=no
grep -q '^bin_PROGRAMS = .*fuse/sftpfs' "$top_builddir/Makefile" && daemon=yes
echo "# daemon in this build: $daemon"

layout() { # name, helper dir, make arguments...
	name=$1 hdir=$2
	shift 2
	dest=$tmp/$name
	LOG=$tmp/install.$name.log
	export LOG
	check "$name: make install DESTDIR" sh -c '"$0" "$@" >"$LOG" 2>&1 || { cat "$LOG"; exit 1; }' \
		$MAKE -C "$top_builddir" install DESTDIR="$dest" "$@"
	if [ $daemon = yes ]; then
		bindir=$(cd "$dest" && find . -path '*/bin/sftpfs' | sed 's/^\.//')
		check "$name: sftpfs installed in a bin directory" test -x "$dest$bindir"
		for h in mount.sftpfs mount.fuse.sftpfs; do
			check "$name: $hdir/$h is a relative symlink to $bindir" \
				sh -c "test -L '$dest$hdir/$h' && case \$(readlink '$dest$hdir/$h') in /*) exit 1;; esac && \
					test \"\$(readlink -f '$dest$hdir/$h')\" = \"\$(readlink -f '$dest$bindir')\""
		done
	else
		check "$name: without the daemon, make install says the helpers were not installed" \
			grep -q 'fuse/sftpfs is not part of this build: mount helpers' "$LOG"
		check "$name: and created no helper" sh -c "! ls '$dest$hdir'/mount.*sftpfs 2>/dev/null"
	fi
	check "$name: make uninstall DESTDIR" $MAKE -C "$top_builddir" uninstall DESTDIR="$dest" "$@"
	check "$name: nothing left but directories" sh -c "test -z \"\$(find '$dest' ! -type d)\" || { find '$dest' ! -type d; exit 1; }"
}

# The default layout's helper dir follows the configured prefix (make distcheck
# configures a private one: then the helpers go to $(sbindir) = prefix/sbin).
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
case "$prefix" in
/usr | /usr/local) layout default /sbin ;;
*) layout default "$prefix/sbin" ;;
esac
layout packaged /usr/sbin prefix=/usr mounthelperdir=/usr/sbin
echo "1..$n"
exit $fail
