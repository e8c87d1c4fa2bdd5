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
	chmod 755 "$LANES_LOGS/logged-sftp-server"
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
	rm -f "$LANES_LOGS"/sftp.*.log
	LOG=$BATS_TEST_TMPDIR/sftpfs.log
}

teardown() {
	daemon_unmount "$M"
	proxy_stop
}

# sftpfs over SSH in the foreground (its debug log in $LOG), port $1.
lanes_mount() {
	local port=$1 known=$2
	shift 2
	"$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$M" -f -d -p "$port" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$known" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes,IdentitiesOnly=yes \
		-o ServerAliveInterval=1 "$@" 2>"$LOG" &
	wait_mounted "$M" || { cat "$LOG" >&2; return 1; }
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
