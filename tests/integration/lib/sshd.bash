# sshd.bash - starts and stops a private OpenSSH sshd for one bats file.
#
# sshd_start [extra sshd_config lines...] creates $SSHD_DIR with fresh host
# keys (ed25519, ecdsa, rsa), a fresh user key ($SSHD_USER_KEY), an
# authorized_keys file, a known_hosts file ($SSHD_KNOWN_HOSTS) and a remote
# directory ($SSHD_REMOTE), then runs sshd on a free loopback port
# ($SSHD_PORT) with its own config and log ($SSHD_LOG), no PAM. Both
# internal-sftp and the sftp-server binary are available: the Subsystem is
# internal-sftp unless SSHD_SFTP_SUBSYSTEM names another command.
# SSHD_USE_PAM, SSHD_PASSWORD_AUTHENTICATION and SSHD_KBDINT_AUTHENTICATION
# (default "no") set those three (sshd keeps the first value of a keyword,
# so extra lines cannot change them).
# Never touches the machine's own sshd, /etc/ssh or ~/.ssh.
# A missing precondition fails the test with a message saying why.

SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
SFTP_SERVER_BIN=${SFTP_SERVER_BIN:-/usr/lib/openssh/sftp-server}

fail_precondition() {
	echo "precondition failed: $*" >&2
	return 1
}

sshd_require() {
	[ -x "$SSHD_BIN" ] || fail_precondition "$SSHD_BIN missing (apt-get install openssh-server)"
	command -v ssh-keygen >/dev/null || fail_precondition "ssh-keygen missing (apt-get install openssh-client)"
	[ -x "$SFTP_SERVER_BIN" ] || fail_precondition "$SFTP_SERVER_BIN missing"
}

sshd_write_config() {
	cat >"$SSHD_DIR/sshd_config" <<CONF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/host_ed25519
HostKey $SSHD_DIR/host_ecdsa
HostKey $SSHD_DIR/host_rsa
PidFile $SSHD_DIR/sshd.pid
AuthorizedKeysFile $SSHD_DIR/authorized_keys
UsePAM ${SSHD_USE_PAM:-no}
StrictModes no
PermitRootLogin yes
PasswordAuthentication ${SSHD_PASSWORD_AUTHENTICATION:-no}
KbdInteractiveAuthentication ${SSHD_KBDINT_AUTHENTICATION:-no}
PubkeyAuthentication yes
LogLevel DEBUG1
Subsystem sftp ${SSHD_SFTP_SUBSYSTEM:-internal-sftp}
CONF
	local line
	for line in "$@"; do
		printf '%s\n' "$line" >>"$SSHD_DIR/sshd_config"
	done
}

sshd_start() {
	sshd_require || return 1
	SSHD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-sshd.XXXXXX")
	SSHD_REMOTE=$SSHD_DIR/remote
	SSHD_LOG=$SSHD_DIR/sshd.log
	SSHD_USER_KEY=$SSHD_DIR/id_ed25519
	SSHD_KNOWN_HOSTS=$SSHD_DIR/known_hosts
	SSHD_USER=$(id -un)
	mkdir -p "$SSHD_REMOTE" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C sftpfs-test-host -f "$SSHD_DIR/host_ed25519"
	ssh-keygen -q -t ecdsa -b 256 -N '' -C sftpfs-test-host -f "$SSHD_DIR/host_ecdsa"
	ssh-keygen -q -t rsa -b 2048 -N '' -C sftpfs-test-host -f "$SSHD_DIR/host_rsa"
	ssh-keygen -q -t ed25519 -N '' -C sftpfs-test-user -f "$SSHD_USER_KEY"
	cp "$SSHD_USER_KEY.pub" "$SSHD_DIR/authorized_keys"
	local attempt
	for attempt in 1 2 3 4 5; do
		SSHD_PORT=$("$top_builddir/tests/tools/free-port") || return 1
		sshd_write_config "$@"
		"$SSHD_BIN" -t -f "$SSHD_DIR/sshd_config" || fail_precondition "sshd rejected its test config" || return 1
		"$SSHD_BIN" -f "$SSHD_DIR/sshd_config" -E "$SSHD_LOG" || continue
		if sshd_wait_listening; then
			sshd_write_known_hosts
			export SSHD_DIR SSHD_REMOTE SSHD_LOG SSHD_USER_KEY SSHD_KNOWN_HOSTS SSHD_PORT SSHD_USER
			return 0
		fi
		sshd_stop_process
	done
	fail_precondition "sshd did not start; log: $(tail -n 5 "$SSHD_LOG" 2>/dev/null)"
}

sshd_wait_listening() {
	local i
	for i in $(seq 1 100); do
		if [ -s "$SSHD_DIR/sshd.pid" ] && (exec 3<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

sshd_write_known_hosts() {
	local t
	: >"$SSHD_KNOWN_HOSTS"
	for t in ed25519 ecdsa rsa; do
		printf '[127.0.0.1]:%s %s\n' "$SSHD_PORT" "$(cut -d' ' -f1-2 "$SSHD_DIR/host_$t.pub")" >>"$SSHD_KNOWN_HOSTS"
	done
}

sshd_stop_process() {
	if [ -s "$SSHD_DIR/sshd.pid" ]; then
		kill "$(cat "$SSHD_DIR/sshd.pid")" 2>/dev/null || true
		rm -f "$SSHD_DIR/sshd.pid"
	fi
}

# sshd_cut_connections [SSHD_DIR]: ends every connection of our private sshd
# (its per-connection children, by pid) without stopping the sshd.
sshd_cut_connections() {
	local p
	for p in $(pgrep -P "$(cat "${1:-$SSHD_DIR}/sshd.pid")"); do
		kill "$p" 2>/dev/null || true
	done
}

sshd_stop() {
	[ -n "${SSHD_DIR:-}" ] || return 0
	sshd_stop_process
	rm -rf "$SSHD_DIR"
	SSHD_DIR=
}

# OpenSSH's own client against the private sshd, with the generated key and
# known_hosts and no user configuration.
sshd_ssh() {
	ssh -F /dev/null -p "$SSHD_PORT" -i "$SSHD_USER_KEY" \
		-o UserKnownHostsFile="$SSHD_KNOWN_HOSTS" -o GlobalKnownHostsFile=/dev/null \
		-o StrictHostKeyChecking=yes -o BatchMode=yes -o IdentitiesOnly=yes \
		"$SSHD_USER@127.0.0.1" "$@"
}
