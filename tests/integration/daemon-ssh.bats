#!/usr/bin/env bats
# sftpfs over its own SSH client against a private OpenSSH sshd on loopback:
# mount, read and write a file byte for byte, host key verification against
# known_hosts, bad keys and hosts refused before anything is mounted.

load lib/sshd
load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	sshd_start
	M=$SSHD_DIR/mnt
	mkdir -p "$M"
	export M
}

teardown_file() {
	daemon_unmount "$M"
	sshd_stop
}

teardown() {
	daemon_unmount "$M"
}

# sftpfs with the private sshd's key, known_hosts and no user configuration.
ssh_mount() {
	"$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$M" -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes,IdentitiesOnly=yes "$@"
}

@test "mount over SSH, read and write a file byte for byte" {
	head -c 1000000 /dev/urandom >"$SSHD_REMOTE/from-server"
	ssh_mount
	wait_mounted "$M"
	cmp "$SSHD_REMOTE/from-server" "$M/from-server"
	head -c 777777 /dev/urandom >"$SSHD_DIR/local"
	cp "$SSHD_DIR/local" "$M/to-server"
	cmp "$SSHD_DIR/local" "$SSHD_REMOTE/to-server"
	printf 'small\n' >"$M/small"
	[ "$(cat "$SSHD_REMOTE/small")" = small ]
	mkdir "$M/dir"
	mv "$M/small" "$M/dir/moved"
	[ "$(cat "$SSHD_REMOTE/dir/moved")" = small ]
	[ "$(ls "$M/dir")" = moved ]
	grep -q "Accepted publickey for $SSHD_USER" "$SSHD_LOG"
	[ "$(stat -f -c %b "$M")" = "$(stat -f -c %b "$SSHD_REMOTE")" ]
}

@test "the remote home and a directory relative to it" {
	# the server runs as the user running the tests: its home is ours
	home=$(getent passwd "$SSHD_USER" | cut -d: -f6)
	"$SFTPFS" "$SSHD_USER@127.0.0.1:" "$M" -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes
	wait_mounted "$M"
	[ "$(ls -A "$home" | sort)" = "$(ls -A "$M" | sort)" ]
	daemon_unmount "$M"
	rel=$(mktemp -d "$home/.sftpfs-rel.XXXXXX")
	printf rel >"$rel/inside"
	"$SFTPFS" "$SSHD_USER@127.0.0.1:$(basename "$rel")" "$M" -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes
	wait_mounted "$M"
	run cat "$M/inside"
	daemon_unmount "$M"
	rm -rf "$rel"
	[ "$output" = rel ]
}

@test "an unknown host key is refused: message, non-zero exit, nothing mounted" {
	: >"$SSHD_DIR/empty_known_hosts"
	run "$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$M" -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_DIR/empty_known_hosts" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes
	[ "$status" -ne 0 ]
	[[ "$output" == *"127.0.0.1"* ]]
	! mountpoint -q "$M"
}

@test "a changed host key is refused" {
	ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/other_host"
	printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1-2 "$SSHD_DIR/other_host.pub")" \
		>"$SSHD_DIR/wrong_known_hosts"
	run "$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$M" -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_DIR/wrong_known_hosts" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes,HostKeyAlgorithms=ssh-ed25519
	[ "$status" -ne 0 ]
	[[ "$output" == *"wrong_known_hosts"* ]]
	! mountpoint -q "$M"
}

@test "a key the server does not accept: permission denied, nothing mounted" {
	ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/stranger"
	run "$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$M" -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_DIR/stranger,UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes,IdentitiesOnly=yes
	[ "$status" -ne 0 ]
	[[ "$output" == *"ermission denied"* ]]
	! mountpoint -q "$M"
}

@test "an unreadable identity file: one-line error, non-zero exit" {
	run "$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$M" -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_DIR/no-such-key,UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-o BatchMode=yes
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no-such-key"* ]]
	! mountpoint -q "$M"
}

@test "nothing listening on the port: clear message, non-zero exit" {
	port=$("$top_builddir/tests/tools/free-port")
	run "$SFTPFS" "$SSHD_USER@127.0.0.1:/" "$M" -p "$port" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_KNOWN_HOSTS,BatchMode=yes"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$port"* ]]
	! mountpoint -q "$M"
}

@test "a missing remote directory: message, nothing mounted" {
	run ssh_mount_dir "$SSHD_REMOTE/does-not-exist"
	[ "$status" -ne 0 ]
	[[ "$output" == *"does-not-exist"* ]]
	! mountpoint -q "$M"
}

ssh_mount_dir() {
	"$SFTPFS" "$SSHD_USER@127.0.0.1:$1" "$M" -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes
}

@test "an ssh_config file with a Host alias (-F)" {
	cat >"$SSHD_DIR/config" <<EOF
Host testalias
	HostName 127.0.0.1
	Port $SSHD_PORT
	User $SSHD_USER
	IdentityFile $SSHD_USER_KEY
	IdentitiesOnly yes
	UserKnownHostsFile $SSHD_KNOWN_HOSTS
	GlobalKnownHostsFile /dev/null
	StrictHostKeyChecking yes
	BatchMode yes
EOF
	printf 'via alias\n' >"$SSHD_REMOTE/alias.txt"
	"$SFTPFS" "testalias:$SSHD_REMOTE" "$M" -F "$SSHD_DIR/config"
	wait_mounted "$M"
	[ "$(cat "$M/alias.txt")" = "via alias" ]
}

@test "unmount on SIGTERM leaves no mount and no process" {
	ssh_mount
	wait_mounted "$M"
	pid=$(daemon_pid_of "$M")
	[ -n "$pid" ]
	kill -TERM "$pid"
	wait_unmounted "$M"
	for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	! kill -0 "$pid" 2>/dev/null
}

# -o sftp_server over SSH, as sshfs has it: a value with a '/' is a server
# program run through an "exec" channel (conn_start_sftp_exec) instead of
# the "sftp" subsystem; otherwise it names the subsystem.

@test "sftp_server=/usr/lib/openssh/sftp-server runs the program through exec" {
	before=$(grep -c "Starting session: command" "$SSHD_LOG" || true)
	head -c 200000 /dev/urandom >"$SSHD_REMOTE/exec.bin"
	ssh_mount -o "sftp_server=$SFTP_SERVER_BIN"
	wait_mounted "$M"
	cmp "$SSHD_REMOTE/exec.bin" "$M/exec.bin"
	printf 'written via exec\n' >"$M/w.txt"
	[ "$(cat "$SSHD_REMOTE/w.txt")" = "written via exec" ]
	# sshd started a command session, not the sftp subsystem
	[ "$(grep -c "Starting session: command" "$SSHD_LOG")" -eq $((before + 1)) ]
}

@test "sftp_server=sftp is the subsystem" {
	before=$(grep -c "Starting session: subsystem 'sftp'" "$SSHD_LOG" || true)
	ssh_mount -o sftp_server=sftp
	wait_mounted "$M"
	ls "$M" >/dev/null
	[ "$(grep -c "Starting session: subsystem 'sftp'" "$SSHD_LOG")" -eq $((before + 1)) ]
}

@test "a server program that does not exist: one-line error, non-zero exit, nothing mounted" {
	run ssh_mount -o sftp_server=/no/such/sftp-server
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"/no/such/sftp-server did not start an SFTP session (no such file)"* ]]
	! mountpoint -q "$M"
}

@test "an unknown subsystem name: clear message, nothing mounted" {
	run ssh_mount -o sftp_server=no-such-subsystem
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"no-such-subsystem"* ]]
	! mountpoint -q "$M"
}
