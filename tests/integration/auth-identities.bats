#!/usr/bin/env bats
# Which keys sftpfs offers, tested as ssh behaves, against a private sshd:
# a real ssh-agent started here (never the user's), an encrypted key
# unlocked through SSH_ASKPASS, a user certificate signed by a test CA
# (TrustedUserCAKeys), IdentitiesOnly with a decoy agent key, and ssh's
# default key files under a private home directory. The sshd allows two
# failed keys (MaxAuthTries 2), so offering two wrong keys first fails the
# mount: the order of the keys is part of what is tested.

load lib/sshd
load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	command -v ssh-agent >/dev/null || { echo "precondition failed: ssh-agent missing" >&2; return 1; }
	command -v unshare >/dev/null || { echo "precondition failed: unshare missing (util-linux)" >&2; return 1; }
	CA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-ca.XXXXXX")
	ssh-keygen -q -t ed25519 -N '' -C sftpfs-test-ca -f "$CA_DIR/ca"
	sshd_start "TrustedUserCAKeys $CA_DIR/ca.pub" "MaxAuthTries 2"
	M=$SSHD_DIR/mnt
	K=$SSHD_DIR/keys
	mkdir -p "$M" "$K"
	chmod 700 "$K"
	export M K CA_DIR
}

teardown_file() {
	daemon_unmount "$M"
	sshd_stop
	rm -rf "$CA_DIR"
}

setup() {
	# Never the user's agent, never a terminal prompt.
	unset SSH_AUTH_SOCK SSH_AGENT_PID DISPLAY SSH_ASKPASS SSH_ASKPASS_REQUIRE
	AGENT_PID=
	CONF=$SSHD_DIR/no-identity.conf
	printf 'IdentityFile %s/absent-key\n' "$SSHD_DIR" >"$CONF"
}

teardown() {
	daemon_unmount "$M"
	[ -z "$AGENT_PID" ] || kill "$AGENT_PID" 2>/dev/null || true
}

# A private ssh-agent on a socket of our own; sets SOCK and AGENT_PID.
start_agent() {
	SOCK=$SSHD_DIR/agent.$BATS_TEST_NUMBER
	eval "$(ssh-agent -s -a "$SOCK")" >/dev/null
	AGENT_PID=$SSH_AGENT_PID
	unset SSH_AUTH_SOCK SSH_AGENT_PID
}

agent_add() {
	SSH_AUTH_SOCK=$SOCK ssh-add -q "$@"
}

# sftpfs with known_hosts and no user configuration; identities as given.
# $CONF (default: none) is the ssh_config file: an IdentityFile there that
# does not exist is skipped, as ssh skips it (one on the command line must
# load).
mount_with() {
	"$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$M" -p "$SSHD_PORT" -F "${CONF:-/dev/null}" \
		-o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS,GlobalKnownHostsFile=/dev/null" \
		-o StrictHostKeyChecking=yes "$@"
}

# The key (fingerprint) sshd accepted in the last successful login.
accepted_fp() {
	grep "Accepted publickey for $SSHD_USER" "$SSHD_LOG" | tail -n 1
}

# make_askpass NAME ANSWER: $K/NAME prints ANSWER and logs each prompt to
# $K/NAME.log (emptied here).
make_askpass() {
	printf '#!/bin/sh\nprintf "%%s\\n" "$1" >>"%s/%s.log"\nprintf "%%s\\n" "%s"\n' "$K" "$1" "$2" >"$K/$1"
	chmod +x "$K/$1"
	: >"$K/$1.log"
}

fp() {
	ssh-keygen -l -f "$1" | cut -d' ' -f2
}

@test "agent: a key only in a private ssh-agent (SSH_AUTH_SOCK and IdentityAgent)" {
	ssh-keygen -q -t ecdsa -N '' -C agent-key -f "$K/agent"
	cat "$K/agent.pub" >>"$SSHD_DIR/authorized_keys"
	start_agent
	agent_add "$K/agent"
	rm "$K/agent"  # only the agent holds it now
	SSH_AUTH_SOCK=$SOCK mount_with -o BatchMode=yes
	wait_mounted "$M"
	printf agent >"$SSHD_REMOTE/a.txt"
	[ "$(cat "$M/a.txt")" = agent ]
	[[ "$(accepted_fp)" == *"$(fp "$K/agent.pub")"* ]]
	daemon_unmount "$M"
	mount_with -o "BatchMode=yes,IdentityAgent=$SOCK"
	wait_mounted "$M"
	daemon_unmount "$M"
	# IdentityAgent naming a variable, and SSH_AUTH_SOCK itself
	TEST_AGENT_SOCK=$SOCK mount_with -o 'BatchMode=yes,IdentityAgent=$TEST_AGENT_SOCK'
	wait_mounted "$M"
	daemon_unmount "$M"
	SSH_AUTH_SOCK=$SOCK mount_with -o BatchMode=yes,IdentityAgent=SSH_AUTH_SOCK
	wait_mounted "$M"
	daemon_unmount "$M"
	# IdentityAgent none: the agent is not asked, nothing else works.
	SSH_AUTH_SOCK=$SOCK run mount_with -o "BatchMode=yes,IdentityAgent=none"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ermission denied"* ]]
	! mountpoint -q "$M"
}

@test "agent keys are offered before IdentityFile keys; IdentitiesOnly leaves a decoy out" {
	ssh-keygen -q -t ed25519 -N '' -C decoy -f "$K/decoy"
	ssh-keygen -q -t ecdsa -N '' -C decoy2 -f "$K/decoy2"
	start_agent
	agent_add "$K/decoy"
	agent_add "$K/decoy2"
	# Without IdentitiesOnly the (unauthorised) agent keys go first and
	# use up the server's two tries.
	run mount_with -o "BatchMode=yes,IdentityAgent=$SOCK,IdentityFile=$SSHD_USER_KEY"
	[ "$status" -ne 0 ]
	! mountpoint -q "$M"
	grep -q "$(fp "$K/decoy2.pub")" "$SSHD_LOG"
	mount_with -o "BatchMode=yes,IdentityAgent=$SOCK,IdentityFile=$SSHD_USER_KEY,IdentitiesOnly=yes"
	wait_mounted "$M"
	[[ "$(accepted_fp)" == *"$(fp "$SSHD_USER_KEY.pub")"* ]]
}

@test "IdentitiesOnly still uses the agent for a configured key (no passphrase asked)" {
	ssh-keygen -q -t ed25519 -N 'agent-pass' -C locked -f "$K/locked"
	cat "$K/locked.pub" >>"$SSHD_DIR/authorized_keys"
	start_agent
	make_askpass askpass-add agent-pass
	SSH_ASKPASS=$K/askpass-add SSH_ASKPASS_REQUIRE=force agent_add "$K/locked" </dev/null
	# BatchMode: a passphrase prompt would fail; the agent signs instead.
	mount_with -o "BatchMode=yes,IdentityAgent=$SOCK,IdentityFile=$K/locked,IdentitiesOnly=yes" </dev/null
	wait_mounted "$M"
	[[ "$(accepted_fp)" == *"$(fp "$K/locked.pub")"* ]]
}

@test "an encrypted key: passphrase through SSH_ASKPASS; BatchMode and a wrong one fail" {
	ssh-keygen -q -t ed25519 -N 'correct horse' -C enc -f "$K/enc"
	cat "$K/enc.pub" >>"$SSHD_DIR/authorized_keys"
	make_askpass askpass "correct horse"
	SSH_ASKPASS=$K/askpass SSH_ASKPASS_REQUIRE=force \
		mount_with -o "IdentityFile=$K/enc,IdentitiesOnly=yes" </dev/null
	wait_mounted "$M"
	grep -q "Enter passphrase for key '$K/enc'" "$K/askpass.log"
	[[ "$(accepted_fp)" == *"$(fp "$K/enc.pub")"* ]]
	daemon_unmount "$M"
	: >"$K/askpass.log"
	SSH_ASKPASS=$K/askpass SSH_ASKPASS_REQUIRE=force \
		run mount_with -o "IdentityFile=$K/enc,IdentitiesOnly=yes,BatchMode=yes" </dev/null
	[ "$status" -ne 0 ]
	[ ! -s "$K/askpass.log" ]
	! mountpoint -q "$M"
	make_askpass askpass-wrong wrong
	SSH_ASKPASS=$K/askpass-wrong SSH_ASKPASS_REQUIRE=force \
		run mount_with -o "IdentityFile=$K/enc,IdentitiesOnly=yes" </dev/null
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$K/enc"*"passphrase"* ]]
	! mountpoint -q "$M"
}

@test "an encrypted key stays unlocked: a reconnect does not ask for the passphrase again" {
	ssh-keygen -q -t ecdsa -N 'keep me' -C kept -f "$K/kept"
	cat "$K/kept.pub" >>"$SSHD_DIR/authorized_keys"
	make_askpass askpass-kept "keep me"
	printf 'one\n' >"$SSHD_REMOTE/k.txt"
	SSH_ASKPASS=$K/askpass-kept SSH_ASKPASS_REQUIRE=force \
		mount_with -o "IdentityFile=$K/kept,IdentitiesOnly=yes,dir_cache=no" </dev/null
	wait_mounted "$M"
	[ "$(cat "$M/k.txt")" = one ]
	before=$(grep -c "Accepted publickey for $SSHD_USER" "$SSHD_LOG")
	sshd_cut_connections
	printf 'two, longer\n' >"$SSHD_REMOTE/k.txt"
	[ "$(cat "$M/k.txt")" = "two, longer" ]
	[ "$(grep -c "Accepted publickey for $SSHD_USER" "$SSHD_LOG")" -eq $((before + 1)) ]
	[ "$(wc -l <"$K/askpass-kept.log")" -eq 1 ]
}

@test "an encrypted key from ssh_config is unlocked only when the server accepts it, then kept" {
	ssh-keygen -q -t ed25519 -N 'not asked' -C unaccepted -f "$K/unaccepted"
	ssh-keygen -q -t ed25519 -N 'lazy pass' -C lazy -f "$K/lazy"
	cat "$K/lazy.pub" >>"$SSHD_DIR/authorized_keys"
	make_askpass askpass-lazy "lazy pass"
	# The first key is not accepted: its passphrase is never asked; the
	# second is, once.
	printf 'IdentityFile %s\nIdentityFile %s\nIdentitiesOnly yes\n' "$K/unaccepted" "$K/lazy" >"$K/lazy.conf"
	printf 'one\n' >"$SSHD_REMOTE/l.txt"
	CONF=$K/lazy.conf SSH_ASKPASS=$K/askpass-lazy SSH_ASKPASS_REQUIRE=force mount_with -o dir_cache=no </dev/null
	wait_mounted "$M"
	[ "$(cat "$M/l.txt")" = one ]
	[ "$(cat "$K/askpass-lazy.log")" = "Enter passphrase for key '$K/lazy': " ]
	[[ "$(accepted_fp)" == *"$(fp "$K/lazy.pub")"* ]]
	# and it stays unlocked for the reconnect
	before=$(grep -c "Accepted publickey for $SSHD_USER" "$SSHD_LOG")
	sshd_cut_connections
	printf 'two, longer\n' >"$SSHD_REMOTE/l.txt"
	[ "$(cat "$M/l.txt")" = "two, longer" ]
	[ "$(grep -c "Accepted publickey for $SSHD_USER" "$SSHD_LOG")" -eq $((before + 1)) ]
	[ "$(wc -l <"$K/askpass-lazy.log")" -eq 1 ]
	daemon_unmount "$M"
	# BatchMode: the key is skipped, not a fatal error; nothing asked
	: >"$K/askpass-lazy.log"
	CONF=$K/lazy.conf SSH_ASKPASS=$K/askpass-lazy SSH_ASKPASS_REQUIRE=force \
		run mount_with -o BatchMode=yes </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"ermission denied"* ]]
	[ ! -s "$K/askpass-lazy.log" ]
}

@test "a user certificate: <key>-cert.pub next to the key, and CertificateFile" {
	# The key itself is not in authorized_keys: only the CA vouches for it.
	ssh-keygen -q -t ed25519 -N '' -C certified -f "$K/certified"
	ssh-keygen -q -s "$CA_DIR/ca" -I sftpfs-test -n "$SSHD_USER" "$K/certified.pub"
	[ -s "$K/certified-cert.pub" ]
	mount_with -o "BatchMode=yes,IdentityFile=$K/certified,IdentitiesOnly=yes"
	wait_mounted "$M"
	accepted_fp | grep -q "ED25519-CERT"
	daemon_unmount "$M"
	# Without the certificate the plain key is refused.
	mv "$K/certified-cert.pub" "$K/elsewhere.cert"
	run mount_with -o "BatchMode=yes,IdentityFile=$K/certified,IdentitiesOnly=yes"
	[ "$status" -ne 0 ]
	# CertificateFile names it; it is offered first, signed by the key file.
	mount_with -o "BatchMode=yes,IdentityFile=$K/certified,CertificateFile=$K/elsewhere.cert,IdentitiesOnly=yes"
	wait_mounted "$M"
	accepted_fp | grep -q "ED25519-CERT"
	daemon_unmount "$M"
	# The same certificate with its key held only by an agent.
	start_agent
	agent_add "$K/certified"
	mount_with -o "BatchMode=yes,IdentityAgent=$SOCK,CertificateFile=$K/elsewhere.cert"
	wait_mounted "$M"
	accepted_fp | grep -q "ED25519-CERT"
}

@test "a key only in a default location (~/.ssh/id_ecdsa) under a private home" {
	home=$(getent passwd "$(id -un)" | cut -d: -f6)
	mkdir -p "$SSHD_DIR/home/.ssh"
	chmod 700 "$SSHD_DIR/home/.ssh"
	ssh-keygen -q -t ecdsa -N '' -C default-key -f "$SSHD_DIR/home/.ssh/id_ecdsa"
	cat "$SSHD_DIR/home/.ssh/id_ecdsa.pub" >>"$SSHD_DIR/authorized_keys"
	printf 'from default key\n' >"$SSHD_REMOTE/default.txt"
	# A private mount namespace where the home directory is ours: the
	# user's real ~/.ssh is never read. sftpfs runs in the foreground in
	# it; the test reads the file there and unmounts.
	run unshare -m sh -ec '
		mount --bind "$1" "$2"
		"$3" "$4@127.0.0.1:$5" "$6" -f -p "$7" -F /dev/null \
			-o "UserKnownHostsFile=$8,GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes" &
		for i in $(seq 1 100); do mountpoint -q "$6" && break; sleep 0.05; done
		cat "$6/default.txt"
		fusermount3 -u "$6"
		wait
	' sh "$SSHD_DIR/home" "$home" "$SFTPFS" "$SSHD_USER" "$SSHD_REMOTE" "$M" "$SSHD_PORT" "$SSHD_KNOWN_HOSTS"
	[ "$status" -eq 0 ]
	[ "$output" = "from default key" ]
	[[ "$(accepted_fp)" == *"$(fp "$SSHD_DIR/home/.ssh/id_ecdsa.pub")"* ]]
}
