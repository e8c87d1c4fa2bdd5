#!/usr/bin/env bats
# The sftpfs command line and process life cycle: bad input gives one line
# and a non-zero exit with nothing mounted; the daemon goes to the background
# only once mounted; unmounting by fusermount3 -u, umount, SIGTERM and SIGINT
# ends the process cleanly; sshfs options with visible effects (passive, ro,
# transform_symlinks, disable_hardlink, idmap, follow_symlinks) do what sshfs
# does. Transport: -o directport and -o passive (no SSH needed).

load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	TOP=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-cli.XXXXXX")
	R=$TOP/remote
	M=$TOP/mnt
	mkdir -p "$R" "$M"
	export TOP R M
	daemon_server_start "$R"
}

teardown_file() {
	daemon_unmount "$M"
	daemon_server_stop
	rm -rf "$TOP"
}

teardown() {
	daemon_unmount "$M"
}

@test "--help and --version" {
	run "$SFTPFS" --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "usage: sftpfs [user@]host:[dir] mountpoint [options]" ]]
	[[ "$output" == *"-o directport=PORT"* ]]
	run "$SFTPFS" -V
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "sftpfs "* ]]
}

@test "bad input: one line, non-zero exit, nothing mounted" {
	run "$SFTPFS" "127.0.0.1:$R" "$M" -o directport="$DIRECT_PORT" -o no_such_option
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[ "$output" = "sftpfs: unknown option 'no_such_option' (see sftpfs --help)" ]
	run "$SFTPFS" "127.0.0.1:$R" "$TOP/no-such-dir" -o directport="$DIRECT_PORT"
	[ "$status" -ne 0 ]
	[ "$output" = "sftpfs: mount point $TOP/no-such-dir: No such file or directory" ]
	run "$SFTPFS" "127.0.0.1:$R"
	[ "$status" -ne 0 ]
	[ "$output" = "sftpfs: missing the mount point" ]
	run "$SFTPFS" "no-colon" "$M"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	run "$SFTPFS" "127.0.0.1:$R" "$M" -o ssh_command=ssh
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"ProxyCommand"* ]]
	! mountpoint -q "$M"
}

@test "a server that is not there: non-zero exit from the background start" {
	port=$("$top_builddir/tests/tools/free-port")
	run "$SFTPFS" "127.0.0.1:$R" "$M" -o directport="$port"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot connect to 127.0.0.1 port $port"* ]]
	! mountpoint -q "$M"
	run "$SFTPFS" "127.0.0.1:$R/missing" "$M" -o directport="$DIRECT_PORT"
	[ "$status" -ne 0 ]
	[[ "$output" == *"missing: No such file or directory"* ]]
	printf x >"$R/plainfile"
	run "$SFTPFS" "127.0.0.1:$R/plainfile" "$M" -o directport="$DIRECT_PORT"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Not a directory"* ]]
	! mountpoint -q "$M"
}

@test "the daemon returns once mounted; fusermount3 -u ends it" {
	daemon_mount "127.0.0.1:$R" "$M"
	pid=$(daemon_pid_of "$M")
	[ -n "$pid" ]
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] # its own session
	fusermount3 -u "$M"
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null
}

@test "umount(8) ends the daemon" {
	daemon_mount "127.0.0.1:$R" "$M"
	pid=$(daemon_pid_of "$M")
	umount "$M"
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null
	! mountpoint -q "$M"
}

@test "SIGINT to a foreground sftpfs unmounts cleanly" {
	# (a background job of a non-interactive shell starts with SIGINT
	# ignored, and libfuse leaves ignored signals alone)
	env --default-signal=INT "$SFTPFS" "127.0.0.1:$R" "$M" -o directport="$DIRECT_PORT" -f &
	pid=$!
	wait_mounted "$M"
	printf fg >"$M/fg"
	kill -INT "$pid"
	wait "$pid"
	! mountpoint -q "$M"
	[ "$(cat "$R/fg")" = fg ]
}

@test "SIGINT with a file still open: sftpfs exits cleanly" {
	# The kernel never releases it: sftpfs frees it itself (under the
	# sanitizers, LeakSanitizer's exit status 23 would fail the wait). Not a
	# directory: libfuse itself leaks its state of a directory never
	# released (fuse_lib_opendir's struct fuse_dh).
	printf held >"$R/held"
	env --default-signal=INT "$SFTPFS" "127.0.0.1:$R" "$M" -o directport="$DIRECT_PORT" -f &
	pid=$!
	wait_mounted "$M"
	exec 7<"$M/held"
	read -r line <&7 || true
	[ "$line" = held ]
	kill -INT "$pid"
	wait "$pid"
	exec 7<&-
	! mountpoint -q "$M"
}

@test "SIGTERM to the daemon unmounts cleanly" {
	daemon_mount "127.0.0.1:$R" "$M"
	pid=$(daemon_pid_of "$M")
	kill -TERM "$pid"
	wait_unmounted "$M"
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null
}

@test "-s (single-threaded) works" {
	daemon_mount "127.0.0.1:$R" "$M" -s
	printf single >"$M/single"
	[ "$(cat "$R/single")" = single ]
}

@test "-o passive: SFTP over stdin and stdout" {
	printf passive >"$R/passive.txt"
	printf '#!/bin/sh\nexec "%s" "x:%s" "%s" -o passive -f\n' "$SFTPFS" "$R" "$M" >"$TOP/passive.sh"
	chmod +x "$TOP/passive.sh"
	(cd "$R" && exec socat "EXEC:$TOP/passive.sh" "EXEC:$SFTP_SERVER_BIN") &
	pid=$!
	wait_mounted "$M"
	[ "$(cat "$M/passive.txt")" = passive ]
	printf back >"$M/back.txt"
	[ "$(cat "$R/back.txt")" = back ]
	fusermount3 -u "$M"
	wait "$pid" || true
	! mountpoint -q "$M"
}

@test "-o ro: writes fail with EROFS" {
	daemon_mount "127.0.0.1:$R" "$M" -o ro
	[ "$(fsop open "$M/ro-new" wronly,creat)" = EROFS ]
	[ ! -e "$R/ro-new" ]
}

@test "fsname and subtype show in the mount table" {
	daemon_mount "127.0.0.1:$R" "$M"
	grep -q "^127.0.0.1:$R $M fuse.sftpfs " /proc/mounts
	daemon_unmount "$M"
	daemon_mount "127.0.0.1:$R" "$M" -o fsname=custom,subtype=other
	grep -q "^custom $M fuse.other " /proc/mounts
}

@test "ssh_config keywords are accepted with -o (case-insensitive)" {
	daemon_mount "127.0.0.1:$R" "$M" -o ServerAliveInterval=5,stricthostkeychecking=yes,_netdev,noauto,x-systemd.automount
	[ -d "$M" ]
}

@test "EACCES from a server that may not read the file" {
	mkdir -m 0755 "$TOP/pub"
	printf secret >"$TOP/pub/secret"
	chmod 0600 "$TOP/pub/secret"
	chmod 0755 "$TOP"
	daemon_server_start "$TOP/pub" su=nobody
	M2=$TOP/mnt2
	mkdir -p "$M2"
	daemon_mount "127.0.0.1:$TOP/pub" "$M2"
	run fsop open "$M2/secret" rdonly
	r1=$output
	run fsop mkdir "$M2/newdir"
	r2=$output
	daemon_unmount "$M2"
	[ "$r1" = EACCES ]
	[ "$r2" = EACCES ]
}

@test "transform_symlinks shows absolute links inside the mount as relative" {
	mkdir -p "$R/ts/a/b"
	printf t >"$R/ts/target"
	ln -sfn "$R/ts/target" "$R/ts/a/b/abs"
	ln -sfn /etc/hostname "$R/ts/outside"
	daemon_mount "127.0.0.1:$R/ts" "$M" -o transform_symlinks
	[ "$(readlink "$M/a/b/abs")" = ../../target ]
	[ "$(cat "$M/a/b/abs")" = t ]
	[ "$(readlink "$M/outside")" = /etc/hostname ]
}

@test "disable_hardlink: link(2) fails (ENOSYS, which the kernel reports as EPERM)" {
	printf l >"$R/hl"
	daemon_mount "127.0.0.1:$R" "$M" -o disable_hardlink
	[ "$(fsop link "$M/hl" "$M/hl2")" = EPERM ]
	[ ! -e "$R/hl2" ]
	daemon_unmount "$M"
	daemon_mount "127.0.0.1:$R" "$M"
	[ "$(fsop link "$M/hl" "$M/hl2")" = OK ]
	[ "$(stat -c %h "$R/hl")" = 2 ]
}

@test "follow_symlinks: links show as what they point to" {
	mkdir -p "$R/fl"
	ln -sfn "$R" "$R/fl/dirlink"
	daemon_mount "127.0.0.1:$R/fl" "$M" -o follow_symlinks
	[ "$(stat -c %F "$M/dirlink")" = directory ]
}

@test "idmap=file with uidfile/gidfile maps owners both ways" {
	printf x >"$R/owned"
	chown 4242:4343 "$R/owned"
	printf 'daemon:4242\n' >"$TOP/uidmap"
	printf 'daemon:4343\n' >"$TOP/gidmap"
	daemon_mount "127.0.0.1:$R" "$M" -o idmap=file,uidfile="$TOP/uidmap",gidfile="$TOP/gidmap",nomap=ignore
	[ "$(stat -c '%U %G' "$M/owned")" = "daemon daemon" ]
	printf y >"$R/owned2"
	chown daemon:daemon "$M/owned2"
	[ "$(stat -c '%u %g' "$R/owned2")" = "4242 4343" ]
}

@test "idmap=user shows the remote user's files as ours" {
	printf x >"$R/mine"
	daemon_mount "127.0.0.1:$R" "$M" -o idmap=user
	[ "$(stat -c %u "$M/mine")" = "$(id -u)" ]
}

@test "an fstab line mounts with mount(8) and mount.fuse3" {
	command -v mount.fuse3 >/dev/null || { echo "precondition failed: mount.fuse3 missing (fuse3)" >&2; return 1; }
	# mount(8) runs helpers with a clean PATH, so the file system type must
	# name a program there: a uniquely named link to the built binary.
	name=sftpfs-test-$$-$RANDOM
	ln -s "$SFTPFS" "/usr/local/bin/$name"
	printf 'fstab\n' >"$R/fstab.txt"
	printf '127.0.0.1:%s %s fuse.%s _netdev,noauto,nofail,users,x-systemd.automount,directport=%s,allow_other 0 0\n' \
		"$R" "$M" "$name" "$DIRECT_PORT" >"$TOP/fstab"
	run mount -T "$TOP/fstab" "$M"
	rm -f "/usr/local/bin/$name"
	[ "$status" -eq 0 ]
	wait_mounted "$M"
	[ "$(cat "$M/fstab.txt")" = fstab ]
	grep -q "^127.0.0.1:$R $M fuse.* .*allow_other" /proc/mounts
	umount "$M"
	wait_unmounted "$M"
}

@test "IPv6: [::1]:dir" {
	if ! ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then
		echo "precondition failed: no IPv6 loopback (::1) on lo" >&2
		return 1
	fi
	port=$("$top_builddir/tests/tools/free-port")
	(cd "$R" && exec socat "TCP6-LISTEN:$port,bind=[::1],reuseaddr,fork" "EXEC:$SFTP_SERVER_BIN") &
	spid=$!
	echo "$spid" >>"$(daemon_pidfile)"
	for i in $(seq 1 100); do (exec 3<>"/dev/tcp/::1/$port") 2>/dev/null && break; sleep 0.05; done
	printf six >"$R/v6.txt"
	"$SFTPFS" "[::1]:$R" "$M" -o directport="$port"
	wait_mounted "$M"
	[ "$(cat "$M/v6.txt")" = six ]
	grep -q "^\[::1\]:$R $M " /proc/mounts
}

@test "delay_connect: the connection is made on first access" {
	printf late >"$R/late.txt"
	daemon_mount "127.0.0.1:$R" "$M" -o delay_connect
	[ "$(cat "$M/late.txt")" = late ]
}

# The sftp-server process serving mount $1's connection to directory $2.
server_of() {
	pgrep -f -x "$SFTP_SERVER_BIN" | while read -r p; do
		[ "$(readlink "/proc/$p/cwd")" = "$1" ] && echo "$p"; done | head -n 1
}

@test "reconnect (default): the server process killed, the next access reconnects" {
	printf alive >"$R/alive.txt"
	daemon_mount "127.0.0.1:$R" "$M"
	[ "$(cat "$M/alive.txt")" = alive ]
	server=$(server_of "$R")
	[ -n "$server" ]
	kill "$server"
	sleep 0.3
	[ "$(cat "$M/alive.txt")" = alive ]
	printf again >"$M/again.txt"
	[ "$(cat "$R/again.txt")" = again ]
	[ "$(server_of "$R")" != "$server" ]
}

@test "noreconnect: a lost connection makes operations fail with EIO, never hang; unmount still works" {
	printf alive >"$R/alive.txt"
	daemon_mount "127.0.0.1:$R" "$M" -o noreconnect
	[ "$(cat "$M/alive.txt")" = alive ]
	pid=$(daemon_pid_of "$M")
	# the sftp-server process serving this mount's TCP connection
	server=$(server_of "$R")
	[ -n "$server" ]
	kill "$server"
	sleep 0.3
	run timeout 10 cat "$M/alive.txt"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	[[ "$output" == *"Input/output error"* ]]
	run timeout 10 ls "$M"
	[ "$status" -ne 0 ] && [ "$status" -ne 124 ]
	kill -0 "$pid"
	fusermount3 -u "$M"
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null
}
