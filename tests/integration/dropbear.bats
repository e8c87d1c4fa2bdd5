#!/usr/bin/env bats
# sftpfs's own SSH transport against Dropbear (Debian dropbear-bin), through
# tests/tools/ssh-probe, on every algorithm Dropbear 2022.83 offers that we
# implement (our client restricted to it), each with a checksum-verified
# 8 MiB SFTP transfer.
#
# Running Dropbear safely: it reads authorized_keys from the user's home
# directory. Rather than touch the machine's /root/.ssh or add a user,
# each connection runs "dropbear -i" (inetd mode, on our socketpair) inside
# a private mount namespace (unshare --mount) in which a home directory
# under the test's temporary directory is bind-mounted over the user's home.
# Nothing outside the test directory changes.

load lib/sshd

PROBE="$top_builddir/tests/tools/ssh-probe"

setup_file() {
	command -v dropbear >/dev/null || fail_precondition "dropbear missing (apt-get install dropbear-bin)" || return 1
	command -v dropbearkey >/dev/null || fail_precondition "dropbearkey missing (apt-get install dropbear-bin)" || return 1
	command -v unshare >/dev/null || fail_precondition "unshare missing (util-linux)" || return 1
	[ -x /usr/lib/openssh/sftp-server ] || fail_precondition "sftp-server missing (openssh-sftp-server)" || return 1
	DB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-dropbear.XXXXXX")
	export DB_DIR
	DB_HOME_OF=$(getent passwd "$(id -un)" | cut -d: -f6)
	export DB_HOME_OF
	mkdir -p "$DB_DIR/home/.ssh" "$DB_DIR/remote"
	chmod 700 "$DB_DIR/home" "$DB_DIR/home/.ssh"
	ssh-keygen -q -t ed25519 -N '' -C sftpfs-dropbear-user -f "$DB_DIR/id_ed25519"
	cp "$DB_DIR/id_ed25519.pub" "$DB_DIR/home/.ssh/authorized_keys"
	chmod 600 "$DB_DIR/home/.ssh/authorized_keys"
	local t
	for t in ed25519 ecdsa rsa; do
		dropbearkey -t "$t" -f "$DB_DIR/host_$t" >"$DB_DIR/host_$t.out" 2>&1 || fail_precondition "dropbearkey -t $t failed" || return 1
		grep -E '^(ssh-|ecdsa-)' "$DB_DIR/host_$t.out" >"$DB_DIR/host_$t.pub"
	done
	unshare --mount --propagation private true || fail_precondition "cannot create a mount namespace (unshare --mount)" || return 1
	head -c 8388608 /dev/urandom >"$DB_DIR/remote/random8m"
}

teardown_file() {
	[ -n "${DB_DIR:-}" ] && rm -rf "$DB_DIR"
}

# One dropbear per connection, in inetd mode, its user's home replaced by ours.
probe_db() {
	local db="unshare --mount --propagation private sh -c 'mount --bind $DB_DIR/home $DB_HOME_OF && exec dropbear -i -s -r $DB_DIR/host_ed25519 -r $DB_DIR/host_ecdsa -r $DB_DIR/host_rsa'"
	"$PROBE" -P "$db" -i "$DB_DIR/id_ed25519" -H "$DB_DIR/host_ed25519.pub" -H "$DB_DIR/host_ecdsa.pub" \
		-H "$DB_DIR/host_rsa.pub" "$@"
}

# Our client offers only <value> for <option>; 8 MiB must arrive intact.
db_case() {
	local option=$1 value=$2 field=$3
	shift 3
	run probe_db -o "$option=$value" "$@" "$(id -un)@127.0.0.1" sftp-get "$DB_DIR/remote/random8m" "$BATS_TEST_TMPDIR/got"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: $field $value"* ]]
	[[ "$output" == *"probe: server SSH-2.0-dropbear"* ]]
	cmp "$DB_DIR/remote/random8m" "$BATS_TEST_TMPDIR/got"
}

@test "dropbear: exec returns output and exit status" {
	run probe_db "$(id -un)@127.0.0.1" exec 'echo hello-dropbear; exit 5'
	echo "$output"
	[ "$status" -eq 5 ]
	[[ "$output" == *hello-dropbear* ]]
	[[ "$output" == *"probe: strict-kex yes"* ]]
}

@test "dropbear: 8 MiB upload is checksum-equal" {
	run probe_db "$(id -un)@127.0.0.1" sftp-put "$DB_DIR/remote/random8m" "$DB_DIR/remote/up"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$DB_DIR/remote/random8m" "$DB_DIR/remote/up"
}

@test "dropbear: kex curve25519-sha256" { db_case KexAlgorithms curve25519-sha256 kex; }
@test "dropbear: kex curve25519-sha256@libssh.org" { db_case KexAlgorithms curve25519-sha256@libssh.org kex; }
@test "dropbear: kex ecdh-sha2-nistp256" { db_case KexAlgorithms ecdh-sha2-nistp256 kex; }
@test "dropbear: kex ecdh-sha2-nistp384" { db_case KexAlgorithms ecdh-sha2-nistp384 kex; }
@test "dropbear: kex ecdh-sha2-nistp521" { db_case KexAlgorithms ecdh-sha2-nistp521 kex; }
@test "dropbear: kex diffie-hellman-group14-sha256" { db_case KexAlgorithms diffie-hellman-group14-sha256 kex; }
@test "dropbear: cipher chacha20-poly1305@openssh.com" { db_case Ciphers chacha20-poly1305@openssh.com cipher; }
@test "dropbear: cipher aes128-ctr" { db_case Ciphers aes128-ctr cipher; }
@test "dropbear: cipher aes256-ctr" { db_case Ciphers aes256-ctr cipher; }
@test "dropbear: mac hmac-sha2-256" { db_case MACs hmac-sha2-256 mac -o Ciphers=aes256-ctr; }
@test "dropbear: host key ssh-ed25519" { db_case HostKeyAlgorithms ssh-ed25519 hostkey; }
@test "dropbear: host key ecdsa-sha2-nistp256" { db_case HostKeyAlgorithms ecdsa-sha2-nistp256 hostkey; }
@test "dropbear: host key rsa-sha2-256" { db_case HostKeyAlgorithms rsa-sha2-256 hostkey; }
@test "dropbear: compression zlib@openssh.com" {
	run probe_db -o Compression=yes "$(id -un)@127.0.0.1" sftp-get "$DB_DIR/remote/random8m" "$BATS_TEST_TMPDIR/got"
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"probe: compression zlib@openssh.com zlib@openssh.com"* ]]
	cmp "$DB_DIR/remote/random8m" "$BATS_TEST_TMPDIR/got"
}
@test "dropbear: client-initiated rekeying under load" {
	run probe_db -o RekeyLimit=1M "$(id -un)@127.0.0.1" sftp-get "$DB_DIR/remote/random8m" "$BATS_TEST_TMPDIR/got"
	echo "$output"
	[ "$status" -eq 0 ]
	cmp "$DB_DIR/remote/random8m" "$BATS_TEST_TMPDIR/got"
	[ "$(sed -n 's/^probe: rekeys //p' <<<"$output")" -ge 2 ]
}
