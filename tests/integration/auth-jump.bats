#!/usr/bin/env bats
# ProxyJump in the daemon: two private sshd instances on loopback, the
# target reached through a direct-tcpip channel of the jump host (ssh -J
# semantics: each hop resolved through the ssh_config file under its own
# name, its host key checked against known_hosts under that name).
# The jump's log shows the forwarded connection; a jump key restricted to
# another destination (permitopen) makes the mount fail, which shows the
# target is reached through the jump and not directly.

load lib/sshd
load lib/fuse
load lib/daemon

# host_block NAME PORT KEY KNOWN_HOSTS [EXTRA LINE]: one Host of the
# test's ssh_config, on loopback.
host_block() {
	printf 'Host %s\n\tHostName 127.0.0.1\n\tPort %s\n\tUser %s\n' "$1" "$2" "$SSHD_USER"
	printf '\tIdentityFile %s\n\tIdentitiesOnly yes\n\tUserKnownHostsFile %s\n' "$3" "$4"
	[ -z "${5:-}" ] || printf '\t%s\n' "$5"
}

setup_file() {
	daemon_require
	sshd_start
	T_DIR=$SSHD_DIR T_PORT=$SSHD_PORT T_KEY=$SSHD_USER_KEY T_KNOWN=$SSHD_KNOWN_HOSTS T_REMOTE=$SSHD_REMOTE T_LOG=$SSHD_LOG
	sshd_start "AllowTcpForwarding local" "PermitOpen 127.0.0.1:*"
	J_DIR=$SSHD_DIR J_PORT=$SSHD_PORT J_KEY=$SSHD_USER_KEY J_KNOWN=$SSHD_KNOWN_HOSTS J_LOG=$SSHD_LOG
	# A second jump key that may only forward to a closed port.
	ssh-keygen -q -t ed25519 -N '' -C restricted -f "$J_DIR/restricted"
	printf 'permitopen="127.0.0.1:1" %s\n' "$(cat "$J_DIR/restricted.pub")" >>"$J_DIR/authorized_keys"
	M=$T_DIR/mnt
	mkdir -p "$M"
	{
		host_block jumphost "$J_PORT" "$J_KEY" "$J_KNOWN"
		host_block restrictedjump "$J_PORT" "$J_DIR/restricted" "$J_KNOWN"
		host_block badkeyjump "$J_PORT" "$J_KEY" "$T_DIR/wrong_known_hosts" "HostKeyAlgorithms ssh-ed25519"
		host_block proxiedjump "$J_PORT" "$J_KEY" "$J_KNOWN" "ProxyCommand socat - TCP:%h:%p"
		host_block target "$T_PORT" "$T_KEY" "$T_KNOWN" "ProxyJump jumphost"
		host_block chain "$T_PORT" "$T_KEY" "$T_KNOWN" "ProxyJump jumphost,$SSHD_USER@jumphost:$J_PORT"
		printf 'Host *\n\tGlobalKnownHostsFile /dev/null\n\tStrictHostKeyChecking yes\n'
		printf '\tBatchMode yes\n\tIdentityAgent none\n'
	} >"$T_DIR/config"
	ssh-keygen -q -t ed25519 -N '' -f "$T_DIR/other_host"
	printf '[127.0.0.1]:%s %s\n' "$J_PORT" "$(cut -d' ' -f1-2 "$T_DIR/other_host.pub")" >"$T_DIR/wrong_known_hosts"
	export T_DIR T_PORT T_REMOTE T_LOG J_DIR J_PORT J_LOG M
}

teardown_file() {
	daemon_unmount "$M"
	SSHD_DIR=$J_DIR sshd_stop
	SSHD_DIR=$T_DIR sshd_stop
}

teardown() {
	daemon_unmount "$M"
}

# Forwarded connections the jump host opened to the target so far.
forwards() {
	grep -c "target 127.0.0.1 port $T_PORT" "$J_LOG" || true
}

@test "ProxyJump from ssh_config: mount through the jump host" {
	before=$(forwards)
	printf 'jumped\n' >"$T_REMOTE/j.txt"
	"$SFTPFS" "target:$T_REMOTE" "$M" -F "$T_DIR/config"
	wait_mounted "$M"
	[ "$(cat "$M/j.txt")" = jumped ]
	head -c 300000 /dev/urandom >"$T_DIR/blob"
	cp "$T_DIR/blob" "$M/blob"
	cmp "$T_DIR/blob" "$T_REMOTE/blob"
	[ "$(forwards)" -eq $((before + 1)) ]
	grep -q "Accepted publickey for $SSHD_USER" "$T_LOG"
	# Unmounting ends the daemon and both connections.
	pid=$(daemon_pid_of "$M")
	[ -n "$pid" ]
	daemon_unmount "$M"
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	! kill -0 "$pid" 2>/dev/null
}

@test "-o ProxyJump=user@host:port (ssh -J syntax); a chain of two hops" {
	before=$(forwards)
	"$SFTPFS" "target:$T_REMOTE" "$M" -F "$T_DIR/config" -o "ProxyJump=$SSHD_USER@jumphost:$J_PORT"
	wait_mounted "$M"
	ls "$M" >/dev/null
	daemon_unmount "$M"
	[ "$(forwards)" -eq $((before + 1)) ]
	hops_before=$(grep -c "target 127.0.0.1 port $J_PORT" "$J_LOG" || true)
	# (a comma separates -o options: the chain comes from the config file)
	"$SFTPFS" "chain:$T_REMOTE" "$M" -F "$T_DIR/config"
	wait_mounted "$M"
	ls "$M" >/dev/null
	[ "$(forwards)" -eq $((before + 2)) ]
	# the second hop was reached through the first
	[ "$(grep -c "target 127.0.0.1 port $J_PORT" "$J_LOG")" -eq $((hops_before + 1)) ]
	daemon_unmount "$M"
	# on the command line, with the comma escaped as for any -o value
	"$SFTPFS" "target:$T_REMOTE" "$M" -F "$T_DIR/config" -o 'ProxyJump=jumphost\,jumphost'
	wait_mounted "$M"
	ls "$M" >/dev/null
	[ "$(forwards)" -eq $((before + 3)) ]
	[ "$(grep -c "target 127.0.0.1 port $J_PORT" "$J_LOG")" -eq $((hops_before + 2)) ]
}

@test "the target is reached only through the jump: a restricted jump key fails the mount" {
	run "$SFTPFS" "target:$T_REMOTE" "$M" -F "$T_DIR/config" -o ProxyJump=restrictedjump
	[ "$status" -ne 0 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == *"port $T_PORT through jump host restrictedjump"* ]]
	! mountpoint -q "$M"
}

@test "the first hop's own ProxyCommand is used (as ssh -J runs ssh for it)" {
	before=$(forwards)
	"$SFTPFS" "target:$T_REMOTE" "$M" -F "$T_DIR/config" -o ProxyJump=proxiedjump
	wait_mounted "$M"
	ls "$M" >/dev/null
	[ "$(forwards)" -eq $((before + 1)) ]
	# the ProxyCommand (socat to the jump host's port) carries the mount
	pgrep -f "^socat - TCP:127.0.0.1:$J_PORT\$" >/dev/null
}

@test "ProxyJump=none on the command line connects directly" {
	before=$(forwards)
	"$SFTPFS" "target:$T_REMOTE" "$M" -F "$T_DIR/config" -o ProxyJump=none
	wait_mounted "$M"
	ls "$M" >/dev/null
	[ "$(forwards)" -eq "$before" ]
}

@test "a jump host with a wrong key in known_hosts fails with the known_hosts message" {
	run "$SFTPFS" "target:$T_REMOTE" "$M" -F "$T_DIR/config" -o ProxyJump=badkeyjump
	[ "$status" -ne 0 ]
	[[ "$output" == "sftpfs: jump host badkeyjump: "* ]]
	[[ "$output" == *"Offending ED25519 key in $T_DIR/wrong_known_hosts:1"* ]]
	[[ "$output" == *"Host key verification failed."* ]]
	! mountpoint -q "$M"
}

@test "an unknown jump host name: clear message, non-zero exit" {
	run "$SFTPFS" "target:$T_REMOTE" "$M" -F "$T_DIR/config" -o ProxyJump=no-such-host.invalid
	[ "$status" -ne 0 ]
	[[ "$output" == *"jump host"* ]]
	[[ "$output" == *"no-such-host.invalid"* ]]
	! mountpoint -q "$M"
}

@test "when the jump connection is cut, the mount reconnects through the jump" {
	printf 'one\n' >"$T_REMOTE/r.txt"
	# (no attribute cache: the read after the cut must reach the server)
	"$SFTPFS" "target:$T_REMOTE" "$M" -F "$T_DIR/config" -o dir_cache=no
	wait_mounted "$M"
	[ "$(cat "$M/r.txt")" = one ]
	before=$(forwards)
	sshd_cut_connections "$J_DIR"
	printf 'two, longer\n' >"$T_REMOTE/r.txt"
	[ "$(cat "$M/r.txt")" = "two, longer" ]
	[ "$(forwards)" -eq $((before + 1)) ]
}
