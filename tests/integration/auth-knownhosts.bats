#!/usr/bin/env bats
# known_hosts against real OpenSSH artefacts: files written by ssh-keyscan
# for a private sshd, hashed by ssh-keygen -H, and lines we append checked
# by ssh-keygen -F and by OpenSSH's own client connecting with
# StrictHostKeyChecking=yes. The "ask" question runs on a pty via script(1).

load lib/sshd

setup_file() {
	sshd_start
	command -v ssh-keyscan >/dev/null || fail_precondition "ssh-keyscan missing (openssh-client)"
	command -v script >/dev/null || fail_precondition "script(1) missing (bsdutils)"
}

teardown_file() {
	sshd_stop
}

tool() {
	"$top_builddir/tests/tools/knownhosts-tool" "$@"
}

keyscan() { # file
	ssh-keyscan -p "$SSHD_PORT" -t ed25519,ecdsa,rsa 127.0.0.1 2>/dev/null >"$1"
	[ "$(wc -l <"$1")" -eq 3 ]
}

# OpenSSH's client trusting only the given known_hosts file and host key type.
ssh_with() { # known_hosts type
	ssh -F /dev/null -p "$SSHD_PORT" -i "$SSHD_USER_KEY" -o UserKnownHostsFile="$1" \
		-o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o BatchMode=yes \
		-o IdentitiesOnly=yes -o HostKeyAlgorithms="$2" "$SSHD_USER@127.0.0.1" echo connected
}

@test "ssh-keyscan output: every host key of the private sshd is known" {
	keyscan "$BATS_TEST_TMPDIR/kh"
	for t in ed25519 ecdsa rsa; do
		run tool check "$BATS_TEST_TMPDIR/kh" 127.0.0.1 "$SSHD_PORT" "$SSHD_DIR/host_$t.pub"
		[ "$status" -eq 0 ]
		[[ "$output" == "ok $BATS_TEST_TMPDIR/kh:"* ]]
	done
	# The same name without the port is another host.
	run tool check "$BATS_TEST_TMPDIR/kh" 127.0.0.1 22 "$SSHD_DIR/host_ed25519.pub"
	[ "$output" = new ]
}

@test "ssh-keygen -H hashed file still verifies, and hides the names" {
	keyscan "$BATS_TEST_TMPDIR/kh"
	ssh-keygen -q -H -f "$BATS_TEST_TMPDIR/kh" >/dev/null 2>&1
	! grep -q 127.0.0.1 "$BATS_TEST_TMPDIR/kh"
	for t in ed25519 ecdsa rsa; do
		run tool check "$BATS_TEST_TMPDIR/kh" 127.0.0.1 "$SSHD_PORT" "$SSHD_DIR/host_$t.pub"
		[[ "$output" == "ok "* ]]
	done
	run tool check "$BATS_TEST_TMPDIR/kh" 127.0.0.2 "$SSHD_PORT" "$SSHD_DIR/host_ed25519.pub"
	[ "$output" = new ]
}

@test "changed host key: refused with file and line, even with accept-new; ssh agrees" {
	ssh-keygen -q -t ed25519 -N '' -f "$BATS_TEST_TMPDIR/impostor"
	printf '# first line\n[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1,2 "$BATS_TEST_TMPDIR/impostor.pub")" \
		>"$BATS_TEST_TMPDIR/kh"
	run tool check "$BATS_TEST_TMPDIR/kh" 127.0.0.1 "$SSHD_PORT" "$SSHD_DIR/host_ed25519.pub"
	[ "$output" = "changed $BATS_TEST_TMPDIR/kh:2" ]
	for policy in accept-new no yes ask; do
		run tool verify "$policy" 0 0 "$BATS_TEST_TMPDIR/kh" 127.0.0.1 "$SSHD_PORT" "$SSHD_DIR/host_ed25519.pub"
		[ "$status" -eq 1 ]
		[[ "$output" == *"Offending ED25519 key in $BATS_TEST_TMPDIR/kh:2"* ]]
		[[ "$output" == *"host key has changed"* ]]
	done
	[ "$(wc -l <"$BATS_TEST_TMPDIR/kh")" -eq 2 ]
	run ssh_with "$BATS_TEST_TMPDIR/kh" ssh-ed25519
	[ "$status" -ne 0 ]
	[[ "$output" == *"REMOTE HOST IDENTIFICATION HAS CHANGED"* ]]
}

@test "accept-new appends hashed lines that ssh-keygen -F and ssh accept" {
	printf '# existing content, no final newline' >"$BATS_TEST_TMPDIR/kh"
	for t in ed25519 rsa; do
		run tool verify accept-new 1 0 "$BATS_TEST_TMPDIR/kh" 127.0.0.1 "$SSHD_PORT" "$SSHD_DIR/host_$t.pub"
		[ "$status" -eq 0 ]
		[[ "$output" == *"Permanently added"* ]]
	done
	head -n 1 "$BATS_TEST_TMPDIR/kh" | grep -qx '# existing content, no final newline'
	[ "$(grep -c '^|1|' "$BATS_TEST_TMPDIR/kh")" -eq 2 ]
	run ssh-keygen -F "[127.0.0.1]:$SSHD_PORT" -f "$BATS_TEST_TMPDIR/kh"
	[ "$status" -eq 0 ]
	[[ "$output" == *ssh-ed25519* ]]
	[[ "$output" == *ssh-rsa* ]]
	run ssh_with "$BATS_TEST_TMPDIR/kh" ssh-ed25519
	[ "$status" -eq 0 ]
	[ "$output" = connected ]
	run ssh_with "$BATS_TEST_TMPDIR/kh" rsa-sha2-256
	[ "$status" -eq 0 ]
	# Unknown types stay unknown: ssh with only ECDSA refuses.
	run ssh_with "$BATS_TEST_TMPDIR/kh" ecdsa-sha2-nistp256
	[ "$status" -ne 0 ]
}

@test "accept-new creates the file and its directory (0700) when missing" {
	kh="$BATS_TEST_TMPDIR/newdir/.ssh/known_hosts"
	run tool verify accept-new 0 0 "$kh" 127.0.0.1 "$SSHD_PORT" "$SSHD_DIR/host_ecdsa.pub"
	[ "$status" -eq 0 ]
	[ "$(stat -c %a "$BATS_TEST_TMPDIR/newdir/.ssh")" = 700 ]
	grep -q "^\[127.0.0.1\]:$SSHD_PORT ecdsa-sha2-nistp256 " "$kh"
	run ssh_with "$kh" ecdsa-sha2-nistp256
	[ "$status" -eq 0 ]
}

@test "StrictHostKeyChecking=yes and batch mode refuse unknown hosts without writing" {
	: >"$BATS_TEST_TMPDIR/kh"
	run tool verify yes 0 0 "$BATS_TEST_TMPDIR/kh" 127.0.0.1 "$SSHD_PORT" "$SSHD_DIR/host_ed25519.pub"
	[ "$status" -eq 1 ]
	[[ "$output" == *"host key is not known"* ]]
	run tool verify ask 0 1 "$BATS_TEST_TMPDIR/kh" 127.0.0.1 "$SSHD_PORT" "$SSHD_DIR/host_ed25519.pub"
	[ "$status" -eq 1 ]
	[ ! -s "$BATS_TEST_TMPDIR/kh" ]
}

@test "ask: the question shows ssh's SHA256 fingerprint on the terminal; yes records the key" {
	: >"$BATS_TEST_TMPDIR/kh"
	fp=$(ssh-keygen -l -E sha256 -f "$SSHD_DIR/host_ed25519.pub" | cut -d' ' -f2)
	run script -qec "'$top_builddir/tests/tools/knownhosts-tool' verify ask 0 0 '$BATS_TEST_TMPDIR/kh' 127.0.0.1 $SSHD_PORT '$SSHD_DIR/host_ed25519.pub'" /dev/null <<<"yes"
	[ "$status" -eq 0 ]
	[[ "$output" == *"ED25519 key fingerprint is $fp."* ]]
	[[ "$output" == *"Are you sure you want to continue connecting (yes/no/[fingerprint])?"* ]]
	[[ "$output" == *accepted* ]]
	run ssh_with "$BATS_TEST_TMPDIR/kh" ssh-ed25519
	[ "$status" -eq 0 ]
}

@test "ask: answering no refuses; typing the fingerprint accepts" {
	: >"$BATS_TEST_TMPDIR/kh"
	run script -qec "'$top_builddir/tests/tools/knownhosts-tool' verify ask 0 0 '$BATS_TEST_TMPDIR/kh' 127.0.0.1 $SSHD_PORT '$SSHD_DIR/host_rsa.pub'" /dev/null <<<"no"
	[ "$status" -ne 0 ]
	[ ! -s "$BATS_TEST_TMPDIR/kh" ]
	fp=$(ssh-keygen -l -E sha256 -f "$SSHD_DIR/host_rsa.pub" | cut -d' ' -f2)
	run script -qec "'$top_builddir/tests/tools/knownhosts-tool' verify ask 0 0 '$BATS_TEST_TMPDIR/kh' 127.0.0.1 $SSHD_PORT '$SSHD_DIR/host_rsa.pub'" /dev/null <<<"$fp"
	[ "$status" -eq 0 ]
	run tool check "$BATS_TEST_TMPDIR/kh" 127.0.0.1 "$SSHD_PORT" "$SSHD_DIR/host_rsa.pub"
	[ "$output" = "ok $BATS_TEST_TMPDIR/kh:1" ]
}
