# password.bash - a throwaway local user with a known password, for the
# password and keyboard-interactive tests against the private sshd, and the
# checks both methods share. The user is created with useradd/chpasswd
# (never root's password) and removed by pwuser_delete.

pwuser_create() {
	command -v useradd >/dev/null && command -v chpasswd >/dev/null ||
		{ echo "precondition failed: useradd/chpasswd missing (apt-get install passwd)" >&2; return 1; }
	PWUSER=sftpfspw$$
	PWHOME=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-pwhome.XXXXXX")
	# A password with a space and shell metacharacters, new every run.
	PW="pw \$(x) $(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	useradd -M -d "$PWHOME" -s /bin/sh "$PWUSER" || return 1
	printf '%s:%s\n' "$PWUSER" "$PW" | chpasswd || return 1
	chown "$PWUSER" "$PWHOME"
	chmod 755 "$PWHOME"
	export PWUSER PWHOME PW
}

# setup_file of a password test file: the user, then an sshd with the
# SSHD_* settings of the caller's environment, and the mount point $M.
# A second port of the same sshd ($PARTIAL_PORT) requires a key and then
# the method $1 (AuthenticationMethods publickey,$1: partial success).
pw_setup_file() {
	daemon_require
	pwuser_create
	PARTIAL_PORT=$("$top_builddir/tests/tools/free-port") || return 1
	# (the user reads its authorized keys itself: they live in its home)
	sshd_start "Port $PARTIAL_PORT" "Match LocalPort $PARTIAL_PORT" "AuthenticationMethods publickey,$1" \
		"AuthorizedKeysFile $PWHOME/authorized_keys"
	cp "$SSHD_USER_KEY.pub" "$PWHOME/authorized_keys"
	chmod 644 "$PWHOME/authorized_keys"
	export PARTIAL_PORT
	M=$SSHD_DIR/mnt
	mkdir -p "$M"
	export M
}

# The bats hooks of the files that load this one (they define setup_file,
# calling pw_setup_file with their sshd settings).
teardown_file() {
	daemon_unmount "$M"
	sshd_stop
	pwuser_delete
}

# Never the user's agent or display.
setup() {
	unset SSH_AUTH_SOCK DISPLAY SSH_ASKPASS SSH_ASKPASS_REQUIRE
}

teardown() {
	daemon_unmount "$M"
}

pwuser_delete() {
	[ -n "${PWUSER:-}" ] || return 0
	userdel "$PWUSER" 2>/dev/null || true
	rm -rf "$PWHOME"
}

# sftpfs to the throwaway user's home; public keys off, no agent.
pw_mount() {
	"$SFTPFS" "$PWUSER@127.0.0.1:" "$M" -p "$SSHD_PORT" -F /dev/null \
		-o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS,GlobalKnownHostsFile=/dev/null" \
		-o StrictHostKeyChecking=yes,PubkeyAuthentication=no,IdentityAgent=none "$@"
}

# An askpass program answering $1 and logging its prompt to $PWHOME/../askpass.log.
pw_askpass() {
	ASKPASS=$SSHD_DIR/askpass
	ASKPASS_LOG=$SSHD_DIR/askpass.log
	: >"$ASKPASS_LOG"
	printf '#!/bin/sh\nprintf "%%s\\n" "$1" >>"%s"\ncat "%s/answer"\n' "$ASKPASS_LOG" "$SSHD_DIR" >"$ASKPASS"
	printf '%s\n' "$1" >"$SSHD_DIR/answer"
	chmod +x "$ASKPASS"
}

# password_stdin (method $1 for PreferredAuthentications, $2 the sshd log
# word): the mount works, and the password appears in neither argv, the
# environment nor the -d debug output.
pw_check_stdin() {
	printf 'through %s\n' "$1" >"$PWHOME/hello.txt"
	printf '%s\n' "$PW" >"$SSHD_DIR/pwfile"
	pw_mount -o "PreferredAuthentications=$1" -o password_stdin -d <"$SSHD_DIR/pwfile" 2>"$SSHD_DIR/debug.log" &
	local pid=$!
	wait_mounted "$M" || { cat "$SSHD_DIR/debug.log"; return 1; }
	[ "$(cat "$M/hello.txt")" = "through $1" ]
	grep -q "Accepted $2 for $PWUSER" "$SSHD_LOG"
	! tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qF -- "$PW"
	! tr '\0' '\n' <"/proc/$pid/environ" | grep -qF -- "$PW"
	daemon_unmount "$M"
	wait "$pid"
	[ -s "$SSHD_DIR/debug.log" ]
	! grep -qF -- "$PW" "$SSHD_DIR/debug.log"
	grep -q "$1" "$SSHD_DIR/debug.log"
}

# A prompt answered by SSH_ASKPASS (no terminal): the mount works.
pw_check_askpass() {
	pw_askpass "$PW"
	SSH_ASKPASS=$ASKPASS SSH_ASKPASS_REQUIRE=force pw_mount -o "PreferredAuthentications=$1" </dev/null
	wait_mounted "$M"
	grep -q "Accepted $2 for $PWUSER" "$SSHD_LOG"
	grep -qi "password" "$ASKPASS_LOG"
	ls "$M" >/dev/null
}

# A password typed once (askpass) is kept for the reconnect after the
# connection is cut: the mount works again and nothing asks a second time.
pw_check_reconnect() {
	printf 'before the cut\n' >"$PWHOME/r.txt"
	pw_askpass "$PW"
	# (no attribute cache: the read after the cut must reach the server)
	SSH_ASKPASS=$ASKPASS SSH_ASKPASS_REQUIRE=force pw_mount -o "PreferredAuthentications=$1,dir_cache=no" </dev/null
	wait_mounted "$M"
	[ "$(cat "$M/r.txt")" = "before the cut" ]
	local before
	before=$(grep -c "Accepted $2 for $PWUSER" "$SSHD_LOG")
	sshd_cut_connections
	printf 'after the cut\n' >"$PWHOME/r.txt"
	[ "$(cat "$M/r.txt")" = "after the cut" ]
	[ "$(grep -c "Accepted $2 for $PWUSER" "$SSHD_LOG")" -eq $((before + 1)) ]
	[ "$(wc -l <"$ASKPASS_LOG")" -eq 1 ]
}

# A wrong password: one line, non-zero exit, nothing mounted, and the server
# saw one try from password_stdin (no retry storm).
pw_check_wrong() {
	local before after
	before=$(grep -c "Failed $2 for $PWUSER" "$SSHD_LOG" || true)
	run pw_mount -o "PreferredAuthentications=$1" -o password_stdin < <(printf 'not-the-password\n')
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"$PWUSER@127.0.0.1"*"ermission denied"* ]]
	! mountpoint -q "$M"
	sleep 0.2
	after=$(grep -c "Failed $2 for $PWUSER" "$SSHD_LOG" || true)
	[ "$((after - before))" -eq 1 ]
	# A wrong typed one (askpass) is refused the same way.
	pw_askpass wrong-again
	SSH_ASKPASS=$ASKPASS SSH_ASKPASS_REQUIRE=force run pw_mount -o "PreferredAuthentications=$1" </dev/null
	[ "$status" -ne 0 ]
	! mountpoint -q "$M"
}

# BatchMode=yes: no prompt at all (askpass never runs), clear failure.
pw_check_batch() {
	pw_askpass "$PW"
	SSH_ASKPASS=$ASKPASS SSH_ASKPASS_REQUIRE=force run pw_mount -o "PreferredAuthentications=$1,BatchMode=yes" </dev/null
	[ "$status" -ne 0 ]
	[[ "$output" == *"ermission denied"* ]]
	[ ! -s "$ASKPASS_LOG" ]
	! mountpoint -q "$M"
}

# AuthenticationMethods publickey,$1 on $PARTIAL_PORT: the key is accepted
# with partial success, then the password completes the login; without a
# password the mount fails cleanly.
pw_check_partial() {
	printf 'two methods\n' >"$PWHOME/p.txt"
	"$SFTPFS" "$PWUSER@127.0.0.1:" "$M" -p "$PARTIAL_PORT" -F /dev/null \
		-o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS,GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=no" \
		-o "IdentityFile=$SSHD_USER_KEY,IdentitiesOnly=yes,IdentityAgent=none,PreferredAuthentications=publickey\,$1" \
		-o password_stdin < <(printf '%s\n' "$PW")
	wait_mounted "$M"
	[ "$(cat "$M/p.txt")" = "two methods" ]
	grep -q "Partial publickey for $PWUSER" "$SSHD_LOG"
	grep -q "Accepted $2 for $PWUSER" "$SSHD_LOG"
	daemon_unmount "$M"
	run "$SFTPFS" "$PWUSER@127.0.0.1:" "$M" -p "$PARTIAL_PORT" -F /dev/null \
		-o "UserKnownHostsFile=$SSHD_KNOWN_HOSTS,GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=no" \
		-o "IdentityFile=$SSHD_USER_KEY,IdentitiesOnly=yes,IdentityAgent=none,BatchMode=yes"
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"ermission denied"* ]]
	! mountpoint -q "$M"
}
