#!/usr/bin/env bats
# Write lanes (fuse/files.c): a large sequential write is spread over
# several SFTP sessions of the one SSH connection, each its own sftp-server
# process. The private sshd runs sftp-server through a wrapper that gives
# each process a log of its own (-l DEBUG1), so the tests see which process
# got which OPEN, WRITE bytes, fsync and CLOSE; every result is checked on the
# server byte for byte.

load lib/sshd
load lib/fuse
load lib/daemon
load lib/netproxy

setup_file() {
	daemon_require
	LANES_LOGS=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-lanes.XXXXXX")
	chmod 777 "$LANES_LOGS"
	printf '#!/bin/sh\nexec %s -e -l DEBUG1 2>>"%s/sftp.$$.log"\n' "$SFTP_SERVER_BIN" "$LANES_LOGS" \
		>"$LANES_LOGS/logged-sftp-server"
	printf '#!/bin/sh\nexec %s -e -l DEBUG1 2>>"%s/exec.$$.log"\n' "$SFTP_SERVER_BIN" "$LANES_LOGS" \
		>"$LANES_LOGS/exec-sftp-server"
	chmod 755 "$LANES_LOGS/logged-sftp-server" "$LANES_LOGS/exec-sftp-server"
	SSHD_SFTP_SUBSYSTEM=$LANES_LOGS/logged-sftp-server sshd_start
	M=$SSHD_DIR/mnt
	mkdir -p "$M"
	export M LANES_LOGS
}

teardown_file() {
	daemon_unmount "$M"
	proxy_stop
	sshd_stop
	rm -rf "$LANES_LOGS"
}

setup() {
	rm -f "$LANES_LOGS"/sftp.*.log "$LANES_LOGS"/exec.*.log
	LOG=$BATS_TEST_TMPDIR/sftpfs.log
}

teardown() {
	local i
	daemon_unmount "$M"
	proxy_stop
	# lanes whose start an unmount cut short may still be starting on the
	# server (the user's shell runs its startup files first): they would
	# log into the next test
	rm -f "$LANES_LOGS/hold"
	for i in $(seq 1 300); do
		pgrep -f "$LANES_LOGS/" >/dev/null || break
		sleep 0.1
	done
}

# sftpfs over SSH in the foreground (its debug log in $LOG), port $1; lanes
# whatever the round trip (write_lanes_rtt=0: loopback is below the default).
lanes_mount() {
	local port=$1 known=$2
	shift 2
	"$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$M" -f -d -p "$port" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$known" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes,IdentitiesOnly=yes \
		-o ServerAliveInterval=1 -o write_lanes_rtt=0 "$@" 2>"$LOG" &
	wait_mounted "$M" || { cat "$LOG" >&2; return 1; }
}

# The mount's write lanes start in the background on its first long
# sequential write (the file goes on writing on its own channel meanwhile):
# starts them with a 12 MiB write and waits until they are open, so that a
# test's write is striped from its 8th MiB whatever the server takes to
# start its SFTP program (the user's shell and its startup files).
lanes_warm() {
	local i
	head -c $((12 * 1024 * 1024)) /dev/zero >"$M/.warm"
	for i in $(seq 1 300); do
		grep -q "connection 1: [0-9]* write lanes" "$LOG" && break
		sleep 0.1
	done
	rm -f "$M/.warm"
	grep -q "connection 1: 3 write lanes" "$LOG" || { cat "$LOG" >&2; false; }
}

# A 24 MiB sequential write of $SSHD_DIR/$1.src to $1 on a mount with
# options $2...: exact on the server, through one server process that
# opened the file once.
one_session_write() {
	local name=$1
	shift
	head -c $((24 * 1024 * 1024)) /dev/urandom >"$SSHD_DIR/$name.src"
	rm -f "$LANES_LOGS"/sftp.*.log
	lanes_mount "$SSHD_PORT" "$SSHD_KNOWN_HOSTS" "$@"
	dd if="$SSHD_DIR/$name.src" of="$M/$name" bs=1M conv=fsync status=none
	cmp "$SSHD_DIR/$name.src" "$SSHD_REMOTE/$name"
	daemon_unmount "$M"
	[ "$(openers "$SSHD_REMOTE/$name")" -eq 1 ]
	[ "$(ls "$LANES_LOGS"/sftp.*.log | wc -l)" -eq 1 ]
}

# Waits up to $2 seconds for process $1 to end, and returns its status; a
# hung writer fails the test instead of hanging it (teardown unmounts).
wait_pid() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "process $1 still running after $2 s" >&2
		fusermount3 -uz "$M" 2>/dev/null || true
		return 1
	fi
	wait "$1"
}

# The sftp-server processes (logs) that opened $1 for writing.
openers() {
	grep -l "open \"$1\" flags [A-Z,]*WRITE" "$LANES_LOGS"/sftp.*.log 2>/dev/null | wc -l
}

# Bytes each process wrote to $1, by its CLOSE lines, one number a line.
written_by() {
	cat "$LANES_LOGS"/sftp.*.log | tr -d '\r' | sed -n "s|^close \"$1\" bytes read [0-9]* written \([0-9]*\)$|\1|p"
}

# Processes that logged an fsync@openssh.com of $1.
fsyncers() {
	grep -l "fsync \"$1\"\|request [0-9]*: fsync \"$1\"" "$LANES_LOGS"/sftp.*.log 2>/dev/null | wc -l
}

@test "a 64 MiB sequential write goes over several sftp-server processes and lands exactly" {
	head -c $((64 * 1024 * 1024)) /dev/urandom >"$SSHD_DIR/big.src"
	lanes_mount "$SSHD_PORT" "$SSHD_KNOWN_HOSTS"
	lanes_warm
	dd if="$SSHD_DIR/big.src" of="$M/big" bs=1M conv=fsync status=none
	cmp "$SSHD_DIR/big.src" "$SSHD_REMOTE/big"
	daemon_unmount "$M"
	cat "$LANES_LOGS"/sftp.*.log >&2
	[ "$(openers "$SSHD_REMOTE/big")" -eq 4 ]
	# every handle got a real share and all of them add up to the file
	[ "$(written_by "$SSHD_REMOTE/big" | wc -l)" -eq 4 ]
	[ "$(written_by "$SSHD_REMOTE/big" | awk '$1 >= 4194304' | wc -l)" -eq 4 ]
	[ "$(written_by "$SSHD_REMOTE/big" | awk '{ s += $1 } END { print s }')" -eq $((64 * 1024 * 1024)) ]
	[ "$(fsyncers "$SSHD_REMOTE/big")" -eq 4 ]
}

@test "with -o sftp_server=PATH the lanes run that program too" {
	head -c $((24 * 1024 * 1024)) /dev/urandom >"$SSHD_DIR/ex.src"
	lanes_mount "$SSHD_PORT" "$SSHD_KNOWN_HOSTS" -o "sftp_server=$LANES_LOGS/exec-sftp-server"
	lanes_warm
	dd if="$SSHD_DIR/ex.src" of="$M/ex" bs=1M conv=fsync status=none
	cmp "$SSHD_DIR/ex.src" "$SSHD_REMOTE/ex"
	daemon_unmount "$M"
	[ "$(grep -l "open \"$SSHD_REMOTE/ex\" flags [A-Z,]*WRITE" "$LANES_LOGS"/exec.*.log | wc -l)" -eq 4 ]
	! ls "$LANES_LOGS"/sftp.*.log 2>/dev/null
	rm -f "$SSHD_DIR/ex.src"
}

@test "lanes start in the background: a long write never waits for them, nor an unmount for lanes a server never starts" {
	local pid i
	# a server program that, while hold exists, does not start
	printf '#!/bin/sh\nwhile [ -e "%s/hold" ]; do sleep 0.05; done\nexec %s -e -l DEBUG1 2>>"%s/sftp.$$.log"\n' \
		"$LANES_LOGS" "$SFTP_SERVER_BIN" "$LANES_LOGS" >"$LANES_LOGS/held-sftp-server"
	chmod 755 "$LANES_LOGS/held-sftp-server"
	head -c $((24 * 1024 * 1024)) /dev/urandom >"$SSHD_DIR/bg.src"
	lanes_mount "$SSHD_PORT" "$SSHD_KNOWN_HOSTS" -o "sftp_server=$LANES_LOGS/held-sftp-server"
	touch "$LANES_LOGS/hold"
	# the lanes cannot start: the write goes on on the file's own channel
	# (a writer waiting for them would hang: wait_pid then fails the test)
	dd if="$SSHD_DIR/bg.src" of="$M/bg1" bs=1M conv=fsync status=none &
	wait_pid $! 60 || { cat "$LOG" >&2; false; }
	cmp "$SSHD_DIR/bg.src" "$SSHD_REMOTE/bg1"
	! grep -q "write lanes" "$LOG"
	[ "$(openers "$SSHD_REMOTE/bg1")" -eq 1 ]
	# released, they come up, and the next long write is striped
	rm "$LANES_LOGS/hold"
	for i in $(seq 1 300); do
		grep -q "connection 1: [0-9]* write lanes" "$LOG" && break
		sleep 0.1
	done
	grep -q "connection 1: 3 write lanes" "$LOG"
	dd if="$SSHD_DIR/bg.src" of="$M/bg2" bs=1M conv=fsync status=none
	cmp "$SSHD_DIR/bg.src" "$SSHD_REMOTE/bg2"
	daemon_unmount "$M"
	[ "$(openers "$SSHD_REMOTE/bg2")" -eq 4 ]
	# held again on a new mount: the unmount ends the connection under
	# the lanes being started, and the daemon exits
	lanes_mount "$SSHD_PORT" "$SSHD_KNOWN_HOSTS" -o "sftp_server=$LANES_LOGS/held-sftp-server"
	pid=$!
	touch "$LANES_LOGS/hold"
	dd if="$SSHD_DIR/bg.src" of="$M/bg3" bs=1M conv=fsync status=none &
	wait_pid $! 60 || { cat "$LOG" >&2; false; }
	daemon_unmount "$M"
	wait_pid "$pid" 30 || { cat "$LOG" >&2; false; }
	grep -q "connection 1: 0 write lanes" "$LOG"
	cmp "$SSHD_DIR/bg.src" "$SSHD_REMOTE/bg3"
	rm -f "$LANES_LOGS/hold" "$SSHD_DIR/bg.src"
}

@test "write_lanes=1 writes on one process; small files never open a lane" {
	one_session_write one -o write_lanes=1
	rm -f "$LANES_LOGS"/sftp.*.log
	# default lanes: files below the sequential threshold stay on one session
	lanes_mount "$SSHD_PORT" "$SSHD_KNOWN_HOSTS"
	for i in 1 2 3 4 5 6 7 8; do
		head -c $((i * 100000)) "$SSHD_DIR/one.src" >"$M/small$i"
	done
	head -c $((7 * 1024 * 1024)) "$SSHD_DIR/one.src" >"$M/seven"
	fsop fsync "$M/seven" | grep -qx OK
	for i in 1 2 3 4 5 6 7 8; do
		cmp <(head -c $((i * 100000)) "$SSHD_DIR/one.src") "$SSHD_REMOTE/small$i"
	done
	cmp <(head -c $((7 * 1024 * 1024)) "$SSHD_DIR/one.src") "$SSHD_REMOTE/seven"
	daemon_unmount "$M"
	[ "$(ls "$LANES_LOGS"/sftp.*.log | wc -l)" -eq 1 ]
	rm -f "$SSHD_DIR/one.src"
}

@test "overwrites in the middle of a striped write, while it is in flight, end with exactly the expected bytes" {
	local mib=$((1024 * 1024)) pieces
	head -c $((40 * mib)) /dev/urandom >"$SSHD_DIR/ov.src"
	# 32 MiB in order (striped after 8), then pieces across lane
	# boundaries (1 MiB turns) over data still in flight, each with other
	# bytes, overlapping each other, then the rest in order
	pieces="0+$((32 * mib))@0 $((20 * mib - 4096))+$((mib + 8192))@4096 $((20 * mib))+$((3 * mib))@$((5 * mib))"
	pieces="$pieces $((21 * mib - 100))+200@$((7 * mib)) $((9 * mib + 5))+$((2 * mib))@$((3 * mib)) $((32 * mib))+$((4 * mib))@0"
	pieces="$pieces $((31 * mib))+$((2 * mib))@$((2 * mib))"
	# shellcheck disable=SC2086
	fsop pwrites "$SSHD_DIR/ov.expected" "$SSHD_DIR/ov.src" $pieces | grep -qx OK
	lanes_mount "$SSHD_PORT" "$SSHD_KNOWN_HOSTS"
	lanes_warm
	# shellcheck disable=SC2086
	fsop pwrites "$M/ov" "$SSHD_DIR/ov.src" $pieces | grep -qx OK
	cmp "$SSHD_DIR/ov.expected" "$SSHD_REMOTE/ov"
	daemon_unmount "$M"
	[ "$(openers "$SSHD_REMOTE/ov")" -eq 4 ]
	rm -f "$SSHD_DIR/ov.src" "$SSHD_DIR/ov.expected"
}

@test "a connection cut in the middle of a striped write: every byte lands once, in place" {
	head -c $((64 * 1024 * 1024)) /dev/urandom >"$SSHD_DIR/cut.src"
	proxy_start
	lanes_mount "$PROXY_PORT" "$PROXY_KNOWN_HOSTS"
	lanes_warm
	dd if="$SSHD_DIR/cut.src" of="$M/cut" bs=1M conv=fsync status=none 2>"$BATS_TEST_TMPDIR/dd.err" &
	local dd_pid=$!
	while [ "$(stat -c %s "$SSHD_REMOTE/cut" 2>/dev/null || echo 0)" -lt $((24 * 1024 * 1024)) ] &&
		kill -0 "$dd_pid" 2>/dev/null; do
		sleep 0.02
	done
	[ "$(openers "$SSHD_REMOTE/cut")" -ge 2 ]
	proxy_ctl cut
	wait_pid "$dd_pid" 120 || { cat "$BATS_TEST_TMPDIR/dd.err" "$LOG" >&2; false; }
	cmp "$SSHD_DIR/cut.src" "$SSHD_REMOTE/cut"
	grep -q "reconnected" "$LOG"
	rm -f "$SSHD_DIR/cut.src"
}

@test "one lane's server process killed mid-write: its writes go again on the file's handle" {
	local main lane
	head -c $((64 * 1024 * 1024)) /dev/urandom >"$SSHD_DIR/lane.src"
	lanes_mount "$SSHD_PORT" "$SSHD_KNOWN_HOSTS"
	lanes_warm
	dd if="$SSHD_DIR/lane.src" of="$M/lane" bs=1M conv=fsync status=none 2>"$BATS_TEST_TMPDIR/dd.err" &
	local dd_pid=$!
	while [ "$(openers "$SSHD_REMOTE/lane")" -lt 2 ] && kill -0 "$dd_pid" 2>/dev/null; do
		sleep 0.02
	done
	main=$(grep -l "realpath" "$LANES_LOGS"/sftp.*.log)
	lane=$(grep -L "realpath" "$LANES_LOGS"/sftp.*.log | head -n 1)
	[ -n "$lane" ] && [ "$lane" != "$main" ]
	lane=${lane##*/sftp.}
	kill -KILL "${lane%.log}"
	wait_pid "$dd_pid" 120 || { cat "$BATS_TEST_TMPDIR/dd.err" "$LOG" >&2; false; }
	cmp "$SSHD_DIR/lane.src" "$SSHD_REMOTE/lane"
	grep -q "write lane was lost" "$LOG"
	! grep -q "connection 1 to .* lost" "$LOG"
	rm -f "$SSHD_DIR/lane.src"
}

@test "a second descriptor opened for writing puts a striped one back on its own channel" {
	local mib=$((1024 * 1024)) main_bytes lane_bytes
	head -c $((40 * mib)) /dev/urandom >"$SSHD_DIR/two.src"
	lanes_mount "$SSHD_PORT" "$SSHD_KNOWN_HOSTS"
	lanes_warm
	exec 7>"$M/two"
	head -c $((24 * mib)) "$SSHD_DIR/two.src" >&7
	# the second writer: from here on the first one's writes stay on
	# its own channel, ordered with this one's
	fsop pwrite "$M/two" $((30 * mib)) second | grep -qx OK
	tail -c +$((24 * mib + 1)) "$SSHD_DIR/two.src" >&7
	exec 7>&-
	daemon_unmount "$M"
	# the pwrite went before the rest of the stream, which overwrote it
	cmp "$SSHD_DIR/two.src" "$SSHD_REMOTE/two"
	main_bytes=$(cat "$(grep -l realpath "$LANES_LOGS"/sftp.*.log)" | tr -d '\r' |
		sed -n "s|^close \"$SSHD_REMOTE/two\" bytes read [0-9]* written \([0-9]*\)$|\1|p" | sort -n | tail -n 1)
	lane_bytes=$(grep -L realpath "$LANES_LOGS"/sftp.*.log | xargs cat | tr -d '\r' |
		sed -n "s|^close \"$SSHD_REMOTE/two\" bytes read [0-9]* written \([0-9]*\)$|\1|p" | awk '{ s += $1 } END { print s + 0 }')
	# lanes carried only part of the first 24 MiB; the last 16 went on the file's own handle
	[ "$lane_bytes" -gt 0 ]
	[ "$lane_bytes" -le $((16 * mib)) ]
	[ "$main_bytes" -ge $((24 * mib)) ]
	rm -f "$SSHD_DIR/two.src"
}

# Loopback is below the default 5 ms, but an OPEN of a sanitized daemon on a
# loaded machine can take longer: these use 1 s.
@test "a round trip below write_lanes_rtt keeps a long write on one session" {
	one_session_write near -o write_lanes_rtt=1000
}

@test "below write_lanes_rtt the WRITEs in flight are held to half the server's window; above it they are not" {
	one_session_write held -o write_lanes_rtt=1000
	# OpenSSH grants a session channel 2 MiB
	grep -q "round trip [0-9]* us: at most 1048576 bytes of WRITEs in flight" "$LOG"
	# a write that pipelines well over that many bytes (lanes off: one session)
	one_session_write free -o write_lanes_rtt=0 -o write_lanes=1
	! grep -q "bytes of WRITEs in flight" "$LOG"
}
