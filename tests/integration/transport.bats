#!/usr/bin/env bats
# sftpfs's own SSH transport against real OpenSSH sshd, through the
# tests/tools/ssh-probe tool: command execution with exit status, SFTP
# transfers checked byte for byte, every key exchange, cipher, MAC and host
# key algorithm with the server restricted to it (sshd -i -o ..., one sshd
# per connection on a socketpair), compression, rekeying started by either
# side under load, and tampering (a proxy flipping one byte must give a MAC
# error and a clean disconnect).

load lib/sshd

PROBE="$top_builddir/tests/tools/ssh-probe"
FLIP="$top_builddir/tests/tools/flip-proxy"

setup_file() {
	sshd_start
	ssh-keygen -q -t ecdsa -b 384 -N '' -C sftpfs-test-host -f "$SSHD_DIR/host_ecdsa384"
	ssh-keygen -q -t ecdsa -b 521 -N '' -C sftpfs-test-host -f "$SSHD_DIR/host_ecdsa521"
	head -c 8388608 /dev/urandom >"$SSHD_REMOTE/random8m"
	sha256sum <"$SSHD_REMOTE/random8m" | cut -d' ' -f1 >"$SSHD_DIR/random8m.sha256"
}

teardown_file() {
	sshd_stop
}

# Our transport against the listening private sshd.
probe() {
	"$PROBE" -p "$SSHD_PORT" -i "$SSHD_USER_KEY" -H "$SSHD_DIR/host_ed25519.pub" -H "$SSHD_DIR/host_ecdsa.pub" \
		-H "$SSHD_DIR/host_rsa.pub" "$@"
}

# Our transport against "sshd -i" with extra -o options (server-side restriction).
probe_inetd() {
	local opts=$1
	shift
	"$PROBE" -P "$SSHD_BIN -i -f $SSHD_DIR/sshd_config -E $SSHD_DIR/inetd.log $opts" -i "$SSHD_USER_KEY" \
		-H "$SSHD_DIR/host_ed25519.pub" -H "$SSHD_DIR/host_ecdsa.pub" -H "$SSHD_DIR/host_rsa.pub" \
		-H "$SSHD_DIR/host_ecdsa384.pub" -H "$SSHD_DIR/host_ecdsa521.pub" "$@"
}

# The server offers only <value> for <option>; the probe must negotiate it
# (line "probe: <field> <value>") and fetch 8 MiB with an equal checksum.
matrix_case() {
	local option=$1 value=$2 field=$3 extra=${4:-}
	local out="$BATS_TEST_TMPDIR/got"
	run probe_inetd "-o $option=$value $extra" "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$out"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: $field $value"* ]]
	[ "$(sha256sum <"$out" | cut -d' ' -f1)" = "$(cat "$SSHD_DIR/random8m.sha256")" ]
}

@test "exec returns the command's output and exit status" {
	run probe "$SSHD_USER@127.0.0.1" exec 'echo hello-transport; exit 3'
	echo "$output"
	[ "$status" -eq 3 ]
	[[ "$output" == *hello-transport* ]]
	[[ "$output" == *"probe: strict-kex yes"* ]]
	[[ "$output" == *"probe: auth publickey"* ]]
}

@test "exec of a command that succeeds exits 0 with its output" {
	run probe "$SSHD_USER@127.0.0.1" exec 'printf "%s" abc; printf def'
	[ "$status" -eq 0 ]
	[[ "$output" == *abcdef* ]]
}

@test "8 MiB SFTP download and upload are checksum-equal" {
	run probe "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/down"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/down"
	run probe "$SSHD_USER@127.0.0.1" sftp-put "$BATS_TEST_TMPDIR/down" "$SSHD_REMOTE/up8m"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$SSHD_REMOTE/random8m" "$SSHD_REMOTE/up8m"
}

@test "a host key not among the trusted keys is refused" {
	ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/other"
	run "$PROBE" -p "$SSHD_PORT" -i "$SSHD_USER_KEY" -H "$BATS_TEST_TMPDIR/other.pub" "$SSHD_USER@127.0.0.1" exec true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"host key is not known"* ]]
}

@test "a key the server does not accept fails authentication cleanly" {
	ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/stranger"
	run "$PROBE" -p "$SSHD_PORT" -i "$BATS_TEST_TMPDIR/stranger" -H "$SSHD_DIR/host_ed25519.pub" "$SSHD_USER@127.0.0.1" exec true
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"authentication failed"* ]]
}

@test "kex curve25519-sha256" { matrix_case KexAlgorithms curve25519-sha256 kex; }
@test "kex curve25519-sha256@libssh.org" { matrix_case KexAlgorithms curve25519-sha256@libssh.org kex; }
@test "kex ecdh-sha2-nistp256" { matrix_case KexAlgorithms ecdh-sha2-nistp256 kex; }
@test "kex ecdh-sha2-nistp384" { matrix_case KexAlgorithms ecdh-sha2-nistp384 kex; }
@test "kex ecdh-sha2-nistp521" { matrix_case KexAlgorithms ecdh-sha2-nistp521 kex; }
@test "kex diffie-hellman-group14-sha256" { matrix_case KexAlgorithms diffie-hellman-group14-sha256 kex; }
@test "kex diffie-hellman-group16-sha512" { matrix_case KexAlgorithms diffie-hellman-group16-sha512 kex; }
@test "kex diffie-hellman-group18-sha512" { matrix_case KexAlgorithms diffie-hellman-group18-sha512 kex; }
@test "kex diffie-hellman-group-exchange-sha256" { matrix_case KexAlgorithms diffie-hellman-group-exchange-sha256 kex; }

@test "cipher chacha20-poly1305@openssh.com" { matrix_case Ciphers chacha20-poly1305@openssh.com cipher; }
@test "cipher aes128-gcm@openssh.com" { matrix_case Ciphers aes128-gcm@openssh.com cipher; }
@test "cipher aes256-gcm@openssh.com" { matrix_case Ciphers aes256-gcm@openssh.com cipher; }
@test "cipher aes128-ctr" { matrix_case Ciphers aes128-ctr cipher; }
@test "cipher aes192-ctr" { matrix_case Ciphers aes192-ctr cipher; }
@test "cipher aes256-ctr" { matrix_case Ciphers aes256-ctr cipher; }

@test "mac hmac-sha2-256-etm@openssh.com" { matrix_case MACs hmac-sha2-256-etm@openssh.com mac "-o Ciphers=aes128-ctr"; }
@test "mac hmac-sha2-512-etm@openssh.com" { matrix_case MACs hmac-sha2-512-etm@openssh.com mac "-o Ciphers=aes256-ctr"; }
@test "mac hmac-sha2-256" { matrix_case MACs hmac-sha2-256 mac "-o Ciphers=aes192-ctr"; }
@test "mac hmac-sha2-512" { matrix_case MACs hmac-sha2-512 mac "-o Ciphers=aes128-ctr"; }

@test "legacy hmac-sha1 is refused by default and works when configured" {
	run probe_inetd "-o MACs=hmac-sha1 -o Ciphers=aes128-ctr" "$SSHD_USER@127.0.0.1" exec true
	[ "$status" -ne 0 ]
	[[ "$output" == *"no matching algorithm"* ]]
	run probe_inetd "-o MACs=hmac-sha1 -o Ciphers=aes128-ctr" -o MACs=+hmac-sha1 "$SSHD_USER@127.0.0.1" \
		sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/got"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: mac hmac-sha1 hmac-sha1"* ]]
	cmp "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/got"
}

@test "host key ssh-ed25519" { matrix_case HostKeyAlgorithms ssh-ed25519 hostkey; }
@test "host key ecdsa-sha2-nistp256" { matrix_case HostKeyAlgorithms ecdsa-sha2-nistp256 hostkey; }
@test "host key ecdsa-sha2-nistp384" {
	matrix_case HostKeyAlgorithms ecdsa-sha2-nistp384 hostkey "-o HostKey=$SSHD_DIR/host_ecdsa384"
}
@test "host key ecdsa-sha2-nistp521" {
	matrix_case HostKeyAlgorithms ecdsa-sha2-nistp521 hostkey "-o HostKey=$SSHD_DIR/host_ecdsa521"
}
@test "host key rsa-sha2-256" { matrix_case HostKeyAlgorithms rsa-sha2-256 hostkey; }
@test "host key rsa-sha2-512" { matrix_case HostKeyAlgorithms rsa-sha2-512 hostkey; }

@test "client algorithm overrides: ^ puts a cipher first, - removes one" {
	run probe -o Ciphers=^aes256-ctr "$SSHD_USER@127.0.0.1" exec true
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: cipher aes256-ctr aes256-ctr"* ]]
	run probe -o 'KexAlgorithms=-mlkem768*,sntrup761*,curve25519*' "$SSHD_USER@127.0.0.1" exec true
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: kex ecdh-sha2-nistp256"* ]]
}

@test "compression zlib@openssh.com starts after authentication" {
	head -c 4194304 /dev/zero >"$SSHD_REMOTE/zeros4m"
	run probe_inetd "-o Compression=yes" -o Compression=yes "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/zeros4m" "$BATS_TEST_TMPDIR/z"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: compression zlib@openssh.com zlib@openssh.com"* ]]
	cmp "$SSHD_REMOTE/zeros4m" "$BATS_TEST_TMPDIR/z"
	matrix_case Compression yes compression "" || true
	run probe_inetd "-o Compression=yes" -o Compression=yes "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/r"
	[ "$status" -eq 0 ]
	cmp "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/r"
}

# The issue's figure: 256 MiB with the server rekeying every 1 MiB
# (SFTPFS_REKEY_TEST_MB=N to try another size by hand).
@test "server-initiated rekeying (RekeyLimit 1M) under load keeps data intact" {
	local mb=${SFTPFS_REKEY_TEST_MB:-256}
	head -c $((mb * 1048576)) /dev/urandom >"$SSHD_REMOTE/random32m"
	run probe_inetd "-o RekeyLimit=1M" "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random32m" "$BATS_TEST_TMPDIR/r"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$SSHD_REMOTE/random32m" "$BATS_TEST_TMPDIR/r"
	local n
	n=$(sed -n 's/^probe: rekeys //p' <<<"$output")
	echo "rekeys: $n"
	[ "$n" -ge $((mb / 2)) ]
	run probe_inetd "-o RekeyLimit=1M" "$SSHD_USER@127.0.0.1" sftp-put "$SSHD_REMOTE/random8m" "$SSHD_REMOTE/up-rekey"
	[ "$status" -eq 0 ]
	cmp "$SSHD_REMOTE/random8m" "$SSHD_REMOTE/up-rekey"
	n=$(sed -n 's/^probe: rekeys //p' <<<"$output")
	[ "$n" -ge 2 ]
}

@test "client-initiated rekeying (RekeyLimit 1M) under load keeps data intact" {
	run probe -o RekeyLimit=1M "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/r"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/r"
	local n
	n=$(sed -n 's/^probe: rekeys //p' <<<"$output")
	[ "$n" -ge 2 ]
}

@test "a flipped byte from the server gives a MAC error and a clean exit" {
	run timeout 30 "$PROBE" -P "$FLIP -d s2c -f 6000 -- $SSHD_BIN -i -f $SSHD_DIR/sshd_config -E $SSHD_DIR/flip.log" \
		-i "$SSHD_USER_KEY" -H "$SSHD_DIR/host_ed25519.pub" "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/x"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"message authentication code incorrect"* ]]
	# Our DISCONNECT (reason 5) normally reaches sshd; under heavy load the
	# proxy may end first, and sshd then sees the connection closed.
	grep -qE "Corrupted MAC on input|Connection closed|Connection reset" "$SSHD_DIR/flip.log"
}

@test "a flipped byte toward the server ends the connection cleanly" {
	# Offset 3000 is past the client's key exchange even with the 1216-byte hybrid C_INIT.
	run timeout 30 "$PROBE" -P "$FLIP -d c2s -f 3000 -- $SSHD_BIN -i -f $SSHD_DIR/sshd_config -E $SSHD_DIR/flip2.log" \
		-i "$SSHD_USER_KEY" -H "$SSHD_DIR/host_ed25519.pub" "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/x"
	echo "$output"
	[ "$status" -eq 1 ]
	grep -q "message authentication code incorrect" "$SSHD_DIR/flip2.log"
}

@test "a connection cut mid-transfer fails cleanly, never hangs" {
	run timeout 30 "$PROBE" -P "$FLIP -d s2c -c 200000 -- $SSHD_BIN -i -f $SSHD_DIR/sshd_config -E $SSHD_DIR/cut.log" \
		-i "$SSHD_USER_KEY" -H "$SSHD_DIR/host_ed25519.pub" "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/x"
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"connection closed"* ]]
}

@test "keepalive (ServerAliveInterval 1, CountMax 2) declares a black-holed server dead" {
	local start end
	start=$(date +%s)
	run timeout 60 "$PROBE" -o ServerAliveInterval=1 -o ServerAliveCountMax=2 \
		-P "$FLIP -B 8 -- $SSHD_BIN -i -f $SSHD_DIR/sshd_config -E $SSHD_DIR/hole.log" \
		-i "$SSHD_USER_KEY" -H "$SSHD_DIR/host_ed25519.pub" "$SSHD_USER@127.0.0.1" exec 'sleep 40'
	end=$(date +%s)
	echo "$output"
	echo "took $((end - start)) s"
	[ "$status" -eq 1 ]
	[[ "$output" == *"timed out"* ]]
	# Black hole at 8 s, dead within interval x count (+ slack): far before the command ends.
	[ $((end - start)) -lt 25 ]
}

@test "direct-tcpip channel (ProxyJump hop) reaches a port as seen from the server" {
	run probe "$SSHD_USER@127.0.0.1" tcp 127.0.0.1 "$SSHD_PORT"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"SSH-2.0-OpenSSH"* ]]
	# A refused open is reported, not hung on.
	run probe -o AddressFamily=inet "$SSHD_USER@127.0.0.1" tcp 127.0.0.1 1
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"channel open or request refused"* ]]
}

@test "publickey with RSA (rsa-sha2 per server-sig-algs) and ECDSA user keys" {
	local t
	for t in rsa ecdsa; do
		ssh-keygen -q -t "$t" -N '' -f "$BATS_TEST_TMPDIR/user_$t"
		cat "$BATS_TEST_TMPDIR/user_$t.pub" >>"$SSHD_DIR/authorized_keys"
		run "$PROBE" -p "$SSHD_PORT" -i "$BATS_TEST_TMPDIR/user_$t" -H "$SSHD_DIR/host_ed25519.pub" \
			"$SSHD_USER@127.0.0.1" exec "echo auth-$t"
		echo "$output"
		[ "$status" -eq 0 ]
		[[ "$output" == *"auth-$t"* ]]
	done
	grep -q "publickey test pkalg rsa-sha2-512" "$SSHD_LOG"
	# rsa-sha2-256 when PubkeyAcceptedAlgorithms leaves only it; never SHA-1 ssh-rsa.
	run "$PROBE" -o PubkeyAcceptedAlgorithms=rsa-sha2-256 -p "$SSHD_PORT" -i "$BATS_TEST_TMPDIR/user_rsa" \
		-H "$SSHD_DIR/host_ed25519.pub" "$SSHD_USER@127.0.0.1" exec true
	[ "$status" -eq 0 ]
	grep -q "publickey test pkalg rsa-sha2-256" "$SSHD_LOG"
	! grep -q "pkalg ssh-rsa " "$SSHD_LOG"
}

@test "ProxyJump: a connection through a direct-tcpip channel of another (conn_open_via)" {
	run probe -J "127.0.0.1:$SSHD_PORT" "$SSHD_USER@127.0.0.1" sftp-get "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/jumped"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$SSHD_REMOTE/random8m" "$BATS_TEST_TMPDIR/jumped"
	run probe -J "127.0.0.1:$SSHD_PORT" "$SSHD_USER@127.0.0.1" exec 'echo through-the-jump; exit 6'
	[ "$status" -eq 6 ]
	[[ "$output" == *through-the-jump* ]]
	[ "$(grep -c "Accepted publickey" "$SSHD_LOG")" -ge 4 ]
}
