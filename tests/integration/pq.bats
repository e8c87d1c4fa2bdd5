#!/usr/bin/env bats
# The post-quantum hybrid key exchange (src/kex_hybrid.c, src/sntrup761.c,
# src/mlkem768.c) against Debian's OpenSSH sshd through tests/tools/ssh-probe:
# the default client list picks the best hybrid the server has, and with the
# server restricted to one sntrup761x25519 name (sshd -i -o KexAlgorithms=...)
# an 8 MiB transfer is checksum-equal across rekeys started by either side.
# mlkem768x25519-sha256 is tested against OpenSSH only when the machine's
# OpenSSH knows it (9.9+); Debian 12's 9.2 does not, and that test says so.

load lib/sshd
load lib/fuse
load lib/daemon

PROBE="$top_builddir/tests/tools/ssh-probe"

setup_file() {
	sshd_start
	head -c 8388608 /dev/urandom >"$SSHD_REMOTE/random8m"
	sha256sum <"$SSHD_REMOTE/random8m" | cut -d' ' -f1 >"$SSHD_DIR/random8m.sha256"
}

teardown_file() {
	sshd_stop
}

probe() {
	"$PROBE" -p "$SSHD_PORT" -i "$SSHD_USER_KEY" -H "$SSHD_DIR/host_ed25519.pub" -H "$SSHD_DIR/host_ecdsa.pub" \
		-H "$SSHD_DIR/host_rsa.pub" "$@"
}

# Our transport against "sshd -i" with extra -o options (server-side restriction).
probe_inetd() {
	local opts=$1
	shift
	"$PROBE" -P "$SSHD_BIN -i -f $SSHD_DIR/sshd_config -E $SSHD_DIR/inetd.log $opts" -i "$SSHD_USER_KEY" \
		-H "$SSHD_DIR/host_ed25519.pub" -H "$SSHD_DIR/host_ecdsa.pub" -H "$SSHD_DIR/host_rsa.pub" "$@"
}

same_as_random8m() {
	[ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$(cat "$SSHD_DIR/random8m.sha256")" ]
}

rekeys_in_output() {
	sed -n 's/^probe: rekeys //p' <<<"$output"
}

@test "default KexAlgorithms negotiates the server's best hybrid (sntrup761x25519 on OpenSSH 9.2)" {
	local want=sntrup761x25519-sha512@openssh.com
	# Our default order is OpenSSH 10's: mlkem768x25519-sha256,
	# sntrup761x25519-sha512, sntrup761x25519-sha512@openssh.com, ... and the
	# client's first name the server also has wins (RFC 4253 §7.1). Debian 12's
	# 9.2 has both sntrup761 names (the same method) but not ML-KEM.
	if ssh -Q kex | grep -qx mlkem768x25519-sha256; then
		want=mlkem768x25519-sha256
	elif ssh -Q kex | grep -qx sntrup761x25519-sha512; then
		want=sntrup761x25519-sha512
	fi
	run probe "$SSHD_USER@127.0.0.1" exec 'echo pq-default'
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *pq-default* ]]
	grep -qx "probe: kex $want" <<<"$output"
}

@test "sntrup761x25519-sha512@openssh.com only: 8 MiB download checksum-equal, server-initiated rekeys" {
	run probe_inetd "-o KexAlgorithms=sntrup761x25519-sha512@openssh.com -o RekeyLimit=1M" \
		"$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/down"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: kex sntrup761x25519-sha512@openssh.com"* ]]
	same_as_random8m "$BATS_TEST_TMPDIR/down"
	echo "rekeys: $(rekeys_in_output)"
	[ "$(rekeys_in_output)" -ge 2 ]
}

@test "sntrup761x25519-sha512@openssh.com only: 8 MiB upload checksum-equal, client-initiated rekeys" {
	run probe_inetd "-o KexAlgorithms=sntrup761x25519-sha512@openssh.com" -o RekeyLimit=1M \
		"$SSHD_USER@127.0.0.1" sftp-put "$SSHD_REMOTE/random8m" "$SSHD_REMOTE/up8m"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: kex sntrup761x25519-sha512@openssh.com"* ]]
	same_as_random8m "$SSHD_REMOTE/up8m"
	echo "rekeys: $(rekeys_in_output)"
	[ "$(rekeys_in_output)" -ge 2 ]
}

@test "sntrup761x25519-sha512 (IETF name) only: 8 MiB download checksum-equal" {
	if ! ssh -Q kex | grep -qx sntrup761x25519-sha512; then
		skip "this OpenSSH only has the @openssh.com name"
	fi
	run probe_inetd "-o KexAlgorithms=sntrup761x25519-sha512" \
		"$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/down"
	echo "$output"
	[ "$status" -eq 0 ]
	grep -qx "probe: kex sntrup761x25519-sha512" <<<"$output"
	same_as_random8m "$BATS_TEST_TMPDIR/down"
}

@test "KexAlgorithms=-sntrup761* removes the hybrids like any other method" {
	run probe -o 'KexAlgorithms=-sntrup761*,mlkem768x25519-sha256' "$SSHD_USER@127.0.0.1" exec true
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: kex curve25519-sha256"* ]]
}

@test "mlkem768x25519-sha256 against OpenSSH (needs OpenSSH 9.9+)" {
	if ! ssh -Q kex | grep -qx mlkem768x25519-sha256; then
		skip "OpenSSH $(ssh -V 2>&1 | cut -d, -f1) has no mlkem768x25519-sha256; covered by unit tests and the @noble/post-quantum cross test"
	fi
	run probe_inetd "-o KexAlgorithms=mlkem768x25519-sha256" \
		"$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/down"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: kex mlkem768x25519-sha256"* ]]
	same_as_random8m "$BATS_TEST_TMPDIR/down"
}

@test "a default sftpfs mount negotiates the sntrup761x25519 hybrid and shows it in its debug output" {
	daemon_require
	local want=sntrup761x25519-sha512@openssh.com m=$SSHD_DIR/mnt
	if ssh -Q kex | grep -qx mlkem768x25519-sha256; then
		want=mlkem768x25519-sha256
	elif ssh -Q kex | grep -qx sntrup761x25519-sha512; then
		want=sntrup761x25519-sha512 # the same method under its IETF name, first in our list
	fi
	mkdir -p "$m"
	printf 'pq\n' >"$SSHD_REMOTE/pq.txt"
	"$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$m" -d -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes \
		2>"$BATS_TEST_TMPDIR/debug.log" &
	local pid=$!
	wait_mounted "$m"
	run cat "$m/pq.txt"
	fusermount3 -u "$m"
	wait "$pid" || true
	[ "$output" = pq ]
	grep -E "kex $want, host key" "$BATS_TEST_TMPDIR/debug.log"
}
