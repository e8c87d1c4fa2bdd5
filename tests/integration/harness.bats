#!/usr/bin/env bats
# The test harness itself: the private sshd starts on loopback with its own
# keys, OpenSSH's client can run a command and an SFTP session against it
# through both internal-sftp and the sftp-server binary, and the FUSE
# preconditions of the mount tests hold.

load lib/sshd
load lib/fuse

setup_file() {
	sshd_start
}

teardown_file() {
	sshd_stop
}

@test "private sshd listens on loopback and runs a command" {
	run sshd_ssh echo hello-from-sshd
	[ "$status" -eq 0 ]
	[ "$output" = hello-from-sshd ]
	grep -q "Server listening on 127.0.0.1 port $SSHD_PORT" "$SSHD_LOG"
}

@test "internal-sftp serves the remote directory" {
	printf 'payload\n' >"$SSHD_REMOTE/a.txt"
	run sftp -F /dev/null -P "$SSHD_PORT" -i "$SSHD_USER_KEY" -o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -b - "$SSHD_USER@127.0.0.1" <<<"get $SSHD_REMOTE/a.txt $SSHD_DIR/b.txt"
	[ "$status" -eq 0 ]
	cmp "$SSHD_REMOTE/a.txt" "$SSHD_DIR/b.txt"
}

@test "sftp-server binary is available over exec" {
	run sshd_ssh test -x "$SFTP_SERVER_BIN"
	[ "$status" -eq 0 ]
}

@test "FUSE preconditions hold" {
	fuse_require
}
