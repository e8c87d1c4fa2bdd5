#!/bin/bash
# check-packaging.sh - `make check-packaging`: the packaging checked with the
# real tools it serves, as root on this machine (it installs and removes the
# sftpfs package; it never touches /etc/fstab, /etc/auto.master or the
# machine's sshd):
#   - dpkg-buildpackage -us -uc -b from the dist tarball, lintian clean
#     (scripts/package);
#   - dpkg -i, then sftpfs --version, man -w sftpfs, the mount helpers;
#   - systemd-analyze verify on the shipped units and on the units that
#     systemd-fstab-generator makes from the shipped fstab lines;
#   - mount -T PRIVATE_FSTAB for both fstab types (fuse.sftpfs and sftpfs)
#     against a private sshd: the installed binary mounts, a file written
#     through the mount is on the server byte for byte;
#   - autofs for real: automount -f with a private master map; ls triggers
#     the mount, a file arrives byte for byte, the mount expires (needs
#     kernel autofs support: reported as skipped, with the reason, if absent);
#   - dpkg -r leaves none of the package's files;
#   - rpmbuild -bb --nodeps of packaging/rpm/sftpfs.spec from the same tarball.
# Prints TAP ("ok", "not ok", "ok ... # SKIP reason") and a last line
# "check-packaging: N passed, N failed, N skipped"; exits non-zero on failure.
set -u
: "${top_srcdir:?}" "${top_builddir:?}" "${PACKAGE_VERSION:?}"
MAKE=${MAKE:-make}
cd "$top_builddir" || exit 1
work=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-check-packaging.XXXXXX")
n=0 passed=0 failed=0 skipped=0
deb_installed=no
mounts=()
AUTOMOUNT_PID=
SFTP_SERVER_PID=

ok() { n=$((n + 1)); passed=$((passed + 1)); echo "ok $n - $1"; }
not_ok() { # description, reason
	n=$((n + 1)); failed=$((failed + 1))
	echo "not ok $n - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
}
skip() { n=$((n + 1)); skipped=$((skipped + 1)); echo "ok $n - $1 # SKIP $2"; }
check() { # description, command... (output shown on failure)
	local d=$1
	shift
	if "$@" >"$work/out" 2>&1; then ok "$d"; else not_ok "$d" "$(tail -n 25 "$work/out")"; fi
}

cleanup() {
	local m
	[ -n "$SFTP_SERVER_PID" ] && kill "$SFTP_SERVER_PID" 2>/dev/null
	[ -n "$AUTOMOUNT_PID" ] && kill "$AUTOMOUNT_PID" 2>/dev/null && wait "$AUTOMOUNT_PID" 2>/dev/null
	for m in "${mounts[@]}"; do
		mountpoint -q "$m" && { umount "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null; }
	done
	[ "$deb_installed" = yes ] && dpkg -r sftpfs >/dev/null 2>&1
	[ -n "${SSHD_DIR:-}" ] && sshd_stop
	rm -rf "$work"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "check-packaging: run as root (dpkg -i, mounts)" >&2; exit 1; }
for tool in dpkg-buildpackage lintian rpmbuild systemd-analyze automount man; do
	command -v "$tool" >/dev/null || { echo "check-packaging: $tool missing (scripts/deps/package.txt)" >&2; exit 1; }
done

# ---- the tarball ----
daemon=no
[ -x "$top_builddir/fuse/sftpfs" ] && daemon=yes
tarball=$top_builddir/sftpfs-$PACKAGE_VERSION.tar.gz
rm -f "$tarball" # never package a stale tarball if make dist fails
check "make dist" $MAKE dist-gzip

# ---- Debian package ----
deb=
if [ $daemon = no ]; then
	not_ok "Debian package" "fuse/sftpfs is not part of this build (the daemon is not merged): there is no program to package"
else
	if "$top_srcdir/scripts/package" --no-install --nocheck --tarball "$tarball" --out "$work/deb" >"$work/package.out" 2>&1; then
		deb=$(tail -n1 "$work/package.out")
		ok "dpkg-buildpackage -us -uc -b from the dist tarball, lintian clean ($(basename "$deb"))"
	else
		not_ok "dpkg-buildpackage -us -uc -b from the dist tarball, lintian clean" "$(tail -n 30 "$work/package.out")"
	fi
fi
if [ -n "$deb" ]; then
	check "the .deb depends on fuse3 (Recommends) and on its shared libraries" \
		sh -c "dpkg-deb -f '$deb' Recommends | grep -qw fuse3 && dpkg-deb -f '$deb' Depends | grep -q libfuse3"
	if dpkg -i "$deb" >"$work/dpkg-i.out" 2>&1; then
		deb_installed=yes
		ok "dpkg -i"
	else
		not_ok "dpkg -i" "$(cat "$work/dpkg-i.out")"
	fi
fi
if [ $deb_installed = yes ]; then
	check "sftpfs --version runs the installed /usr/bin/sftpfs" sh -c "/usr/bin/sftpfs --version | grep -q '$PACKAGE_VERSION'"
	check "man -w sftpfs finds the installed page" sh -c "man -w sftpfs | grep -q '^/usr/share/man/man1/sftpfs.1'"
	for h in mount.sftpfs mount.fuse.sftpfs; do
		check "/usr/sbin/$h is the installed sftpfs" test "$(readlink -f /usr/sbin/$h)" = /usr/bin/sftpfs
	done
fi

# ---- systemd ----
verify() { # directory, units...: systemd-analyze verify must pass and say nothing
	local dir=$1 man=yes
	shift
	[ $deb_installed = yes ] || man=no # the Documentation=man: check needs the installed page
	(cd "$dir" && systemd-analyze verify --man=$man "$@") >"$work/verify.out" 2>&1 || { cat "$work/verify.out"; return 1; }
	[ ! -s "$work/verify.out" ] || { cat "$work/verify.out"; return 1; }
}
mkdir -p "$work/units"
cp "$top_srcdir"/packaging/systemd/mnt-example.mount "$top_srcdir"/packaging/systemd/mnt-example.automount "$work/units/"
check "systemd-analyze verify: packaging/systemd units" verify "$work/units" mnt-example.mount mnt-example.automount
mkdir -p "$work/gen"
if SYSTEMD_FSTAB="$(readlink -f "$top_srcdir/packaging/systemd/fstab.example")" \
	/lib/systemd/system-generators/systemd-fstab-generator "$work/gen" "$work/gen" "$work/gen" >"$work/gen.out" 2>&1 &&
	[ -f "$work/gen/mnt-example.automount" ] && [ -f "$work/gen/mnt-data.mount" ] &&
	grep -q 'TimeoutIdleSec=10min' "$work/gen/mnt-example.automount" && grep -q '^Type=sftpfs' "$work/gen/mnt-example.mount"; then
	ok "systemd-fstab-generator turns fstab.example into mnt-data.mount, mnt-example.mount + .automount"
	check "systemd-analyze verify: the generated units" verify "$work/gen" mnt-data.mount mnt-example.mount mnt-example.automount
else
	not_ok "systemd-fstab-generator turns fstab.example into units" "$(cat "$work/gen.out"; ls -R "$work/gen")"
fi

# ---- mounts through mount(8) and the installed helpers ----
export top_builddir
. "$top_srcdir/tests/integration/lib/sshd.bash"
mkdir -p /run/sshd
sshd_ready=no
if [ $deb_installed = yes ]; then
	if TMPDIR=$work sshd_start >"$work/sshd.out" 2>&1; then sshd_ready=yes; else not_ok "private sshd" "$(cat "$work/sshd.out")"; fi
fi
# Options that make a mount helper run without prompts against the private sshd.
ssh_opts() {
	echo "port=$SSHD_PORT,IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_KNOWN_HOSTS,GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes,IdentitiesOnly=yes"
}
fstab_mount() { # type, remote "user@host:", options
	local type=$1 rhost=$2 opts=$3 mnt=$work/mnt-$1 f=$work/fstab-$1 payload=$work/payload exe= p
	mkdir -p "$mnt" "$SSHD_REMOTE/$type"
	mounts+=("$mnt")
	rm -f "$SSHD_REMOTE/$type/payload"
	printf '%s%s %s %s _netdev,nofail,%s 0 0\n' "$rhost" "$SSHD_REMOTE/$type" "$mnt" "$type" "$opts" >"$f"
	cat "$f"
	head -c 300000 /dev/urandom >"$payload"
	mount -T "$f" "$mnt" || { echo "mount -T $f $mnt failed"; return 1; }
	mountpoint -q "$mnt" || { echo "not a mount point"; return 1; }
	findmnt -n -o FSTYPE "$mnt" | grep -qx 'fuse.sftpfs' || { echo "fstype: $(findmnt -n -o FSTYPE "$mnt")"; return 1; }
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/sftpfs ] && tr '\0' ' ' <"$p/cmdline" | grep -qF "$mnt" && exe=yes
	done
	[ "$exe" = yes ] || { echo "no /usr/bin/sftpfs process serves $mnt"; return 1; }
	cp "$payload" "$mnt/payload" || return 1
	cmp "$payload" "$SSHD_REMOTE/$type/payload" || return 1
	umount "$mnt" || return 1
	! mountpoint -q "$mnt"
}
# The daemon may not speak SSH yet (it is being written); it says so itself.
# Only that exact answer turns the mount checks into skips; any other
# failure fails.
ssh_unsupported=
if [ $sshd_ready = yes ]; then
	mkdir -p "$work/probe"
	if /usr/bin/sftpfs "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$work/probe" -o "$(ssh_opts)" >"$work/probe.out" 2>&1; then
		umount "$work/probe" 2>/dev/null || fusermount3 -u "$work/probe"
	elif grep -q 'built-in SSH client is not available in this build' "$work/probe.out"; then
		ssh_unsupported=$(head -n1 "$work/probe.out")
	fi
fi
if [ $sshd_ready = yes ] && [ -n "$ssh_unsupported" ]; then
	# Until then, the same path (mount(8), the installed helper, the
	# installed daemon, FUSE) is checked with the daemon's -o directport,
	# which speaks SFTP to sftp-server over plain TCP, without SSH.
	"$top_builddir/tests/tools/tcp-probe" exec "$work/sftp.port" "$SFTP_SERVER_BIN" >/dev/null 2>&1 &
	SFTP_SERVER_PID=$!
	for i in $(seq 1 100); do [ -s "$work/sftp.port" ] && break; sleep 0.02; done
	for type in fuse.sftpfs sftpfs; do
		skip "fstab type $type over SSH: mount -T fstab through the installed helper" "the daemon cannot mount over SSH yet: $ssh_unsupported"
		check "fstab type $type over -o directport (no SSH): mount -T fstab runs the installed helper; a file written arrives byte for byte" \
			fstab_mount "$type" "127.0.0.1:" "directport=$(cat "$work/sftp.port")"
	done
	kill "$SFTP_SERVER_PID" 2>/dev/null
	wait "$SFTP_SERVER_PID" 2>/dev/null
	SFTP_SERVER_PID=
elif [ $sshd_ready = yes ]; then
	check "fstab type fuse.sftpfs: mount -T fstab runs the installed mount.fuse.sftpfs; a file written arrives byte for byte" \
		fstab_mount fuse.sftpfs "$SSHD_USER@127.0.0.1:" "$(ssh_opts)"
	check "fstab type sftpfs: mount -T fstab runs the installed mount.sftpfs; a file written arrives byte for byte" \
		fstab_mount sftpfs "$SSHD_USER@127.0.0.1:" "$(ssh_opts)"
elif [ $deb_installed = no ]; then
	not_ok "mount -T fstab through the installed helpers" "no installed package"
fi

# ---- autofs ----
autofs_kernel() { grep -qw autofs /proc/filesystems || modprobe autofs4 2>/dev/null; grep -qw autofs /proc/filesystems; }
autofs_test() {
	local base=$work/auto master=$work/auto.master map=$work/auto.sftpfs key=srv i payload=$work/auto.payload
	mkdir -p "$base" "$SSHD_REMOTE/auto"
	printf '%s file:%s --timeout=3\n' "$base" "$map" >"$master"
	# The shipped map's form: KEY -fstype=fuse.sftpfs,OPTIONS :USER@HOST\:PATH
	printf '%s -fstype=fuse.sftpfs,%s :%s@127.0.0.1\\:%s\n' "$key" "$(ssh_opts)" "$SSHD_USER" "$SSHD_REMOTE/auto" >"$map"
	automount -f -C -t 3 -p "$work/automount.pid" "$master" >"$work/automount.log" 2>&1 &
	AUTOMOUNT_PID=$!
	for i in $(seq 1 100); do
		findmnt -n -t autofs "$base" >/dev/null && break
		sleep 0.05
	done
	findmnt -n -t autofs "$base" >/dev/null || { echo "automount did not mount $base"; cat "$work/automount.log"; return 1; }
	ls "$base/$key/" >/dev/null || { echo "ls $base/$key failed"; cat "$work/automount.log"; return 1; }
	findmnt -n -o FSTYPE "$base/$key" | grep -qx fuse.sftpfs || { echo "no sftpfs mount at $base/$key"; return 1; }
	head -c 200000 /dev/urandom >"$payload"
	cp "$payload" "$base/$key/f" && cmp "$payload" "$SSHD_REMOTE/auto/f" || return 1
	# Unused for --timeout=3: autofs expires and unmounts it, sftpfs exits.
	for i in $(seq 1 200); do
		findmnt -n -o FSTYPE "$base/$key" 2>/dev/null | grep -qx fuse.sftpfs || break
		sleep 0.1
	done
	findmnt -n -o FSTYPE "$base/$key" 2>/dev/null | grep -qx fuse.sftpfs && { echo "not expired after 20 s"; return 1; }
	for p in /proc/[0-9]*; do
		if [ "$(readlink "$p/exe" 2>/dev/null)" = /usr/bin/sftpfs ] && tr '\0' ' ' <"$p/cmdline" | grep -qF "$base/$key"; then
			echo "sftpfs still running after the expiry (pid ${p#/proc/})"
			return 1
		fi
	done
	kill "$AUTOMOUNT_PID" && wait "$AUTOMOUNT_PID"
	AUTOMOUNT_PID=
	! findmnt -n "$base" >/dev/null
}
if ! autofs_kernel; then
	skip "autofs: automount -f with a private master map" \
		"this kernel has no autofs support (not in /proc/filesystems, no autofs4 module; CONFIG_AUTOFS_FS unset?)"
elif [ $sshd_ready = yes ] && [ -n "$ssh_unsupported" ]; then
	skip "autofs: automount -f with a private master map" "the daemon cannot mount over SSH yet: $ssh_unsupported"
elif [ $sshd_ready = yes ]; then
	check "autofs: ls triggers the mount, a file arrives byte for byte, the mount expires cleanly" autofs_test
else
	not_ok "autofs: automount -f with a private master map" "no installed package or sshd"
fi

# ---- removal ----
if [ $deb_installed = yes ]; then
	files=$(dpkg -L sftpfs | while read -r f; do [ -f "$f" ] || [ -L "$f" ] && echo "$f"; done)
	if dpkg -r sftpfs >"$work/dpkg-r.out" 2>&1; then
		deb_installed=no
		left=$(for f in $files; do { [ -e "$f" ] || [ -L "$f" ]; } && echo "$f"; done)
		if [ -z "$left" ]; then ok "dpkg -r removes every file of the package"; else not_ok "dpkg -r removes every file" "$left"; fi
	else
		not_ok "dpkg -r" "$(cat "$work/dpkg-r.out")"
	fi
fi

# ---- RPM ----
rpm_build() {
	local t=$work/rpm
	mkdir -p "$t/SOURCES" "$t/SPECS"
	cp "$tarball" "$t/SOURCES/"
	# The spec inside the tarball is the one checked.
	tar -xzOf "$tarball" "sftpfs-$PACKAGE_VERSION/packaging/rpm/sftpfs.spec" >"$t/SPECS/sftpfs.spec" || return 1
	# --nodeps: Debian has no rpm database of Fedora's BuildRequires; no
	# debuginfo subpackage (Fedora's find-debuginfo is not on Debian).
	# --nocheck: make check already ran on this tree.
	rpmbuild -bb --nodeps --nocheck --define "_topdir $t" --define 'debug_package %{nil}' \
		--define '_build_id_links none' "$t/SPECS/sftpfs.spec" || return 1
	local r
	r=$(find "$t/RPMS" -name "sftpfs-$PACKAGE_VERSION-*.rpm" | head -n1)
	[ -n "$r" ] || { echo "no rpm produced"; return 1; }
	rpm -qlp "$r" | tee "$work/rpm.list"
	# (Fedora compresses manual pages; Debian's rpm leaves them as they are.)
	for f in /usr/bin/sftpfs /usr/sbin/mount.sftpfs /usr/sbin/mount.fuse.sftpfs '/usr/share/man/man1/sftpfs.1(.gz)?'; do
		grep -qxE "$f" "$work/rpm.list" || { echo "rpm lacks $f"; return 1; }
	done
}
if [ $daemon = no ]; then
	not_ok "rpmbuild -bb --nodeps packaging/rpm/sftpfs.spec" "fuse/sftpfs is not part of this build: the spec's %files cannot be satisfied"
else
	check "rpmbuild -bb --nodeps packaging/rpm/sftpfs.spec from the dist tarball" rpm_build
fi

echo "1..$n"
echo "check-packaging: $passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
