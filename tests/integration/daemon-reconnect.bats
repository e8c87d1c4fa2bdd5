#!/usr/bin/env bats
# Mounts that survive network faults (issue 9): sftpfs talks to the private
# sshd through tests/tools/fault-proxy, which cuts every connection, stops
# forwarding (a black hole) or heals on command. Every result is checked on
# the server side, byte for byte.

load lib/sshd
load lib/fuse
load lib/daemon
load lib/netproxy

setup_file() {
	daemon_require
	sshd_start
	M=$SSHD_DIR/mnt
	mkdir -p "$M"
	export M
}

teardown_file() {
	if grep -q " $M fuse" /proc/mounts; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M"
	fi
	proxy_stop
	sshd_stop
}

setup() {
	# A test may stop sshd or change its host keys; every test starts with
	# it up with the original keys.
	if [ -d "$SSHD_DIR/keys.orig" ]; then
		sshd_stop_process
		cp "$SSHD_DIR"/keys.orig/* "$SSHD_DIR/"
		rm -rf "$SSHD_DIR/keys.orig"
	fi
	if ! [ -s "$SSHD_DIR/sshd.pid" ] || ! kill -0 "$(cat "$SSHD_DIR/sshd.pid")" 2>/dev/null; then
		sshd_restart
	fi
	proxy_start
	LOG=$BATS_TEST_TMPDIR/sftpfs.log
}

teardown() {
	[ -z "${BLINKER:-}" ] || kill "$BLINKER" 2>/dev/null || true
	# Not mountpoint(1): with the server gone it cannot stat the root.
	if grep -q " $M fuse" /proc/mounts; then
		fusermount3 -u "$M" 2>/dev/null || fusermount3 -uz "$M"
	fi
	proxy_stop
	if [ -n "${SFTPFS_PID:-}" ]; then
		local i
		for i in $(seq 1 100); do
			kill -0 "$SFTPFS_PID" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$SFTPFS_PID" 2>/dev/null; then
			echo "sftpfs did not exit after the unmount" >&2
			kill -KILL "$SFTPFS_PID"
			return 1
		fi
		wait "$SFTPFS_PID" 2>/dev/null || true
	fi
}

# sshd again on the same port with the same config (and host keys).
sshd_restart() {
	sshd_stop_process
	local i
	for i in $(seq 1 50); do
		"$SSHD_BIN" -f "$SSHD_DIR/sshd_config" -E "$SSHD_LOG" && sshd_wait_listening && return 0
		sleep 0.1
	done
	echo "sshd did not restart on port $SSHD_PORT" >&2
	return 1
}

# Our sshd and every session process under it (never any other sshd).
# The listener goes first, so the lost session cannot be replaced by a
# reconnect in between.
sshd_kill_all() {
	local listener
	listener=$(cat "$SSHD_DIR/sshd.pid" 2>/dev/null) || return 0
	kill_tree "$listener"
	rm -f "$SSHD_DIR/sshd.pid"
}

# Kills $1 and all its descendants, the oldest first.
kill_tree() {
	local pids p
	pids=$(tree_pids "$1")
	for p in $pids; do
		kill -KILL "$p" 2>/dev/null || true
	done
}

tree_pids() {
	local child
	echo "$1"
	for child in $(pgrep -P "$1"); do
		tree_pids "$child"
	done
}

# sftpfs in the foreground through the proxy, its log in $LOG.
fault_mount() {
	"$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$M" -f -p "$PROXY_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$PROXY_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes,IdentitiesOnly=yes \
		-o ServerAliveInterval=1 "$@" 2>"$LOG" &
	SFTPFS_PID=$!
	wait_mounted "$M" || { cat "$LOG" >&2; return 1; }
}

# Waits up to $2 seconds (default 10) until the log has a line matching $1.
wait_log() {
	local i
	for i in $(seq 1 $((${2:-10} * 20))); do
		grep -q "$1" "$LOG" && return 0
		sleep 0.05
	done
	echo "no '$1' in the log:" >&2
	cat "$LOG" >&2
	return 1
}

# blink N SECONDS: in the background, cut the link N times, SECONDS apart
# (BLINKER: its pid, for wait and teardown). Each cut waits for the mount to
# have reconnected after the one before (up to 20 s), so it cuts a
# connection, not a handshake still under way (on a loaded machine cuts
# SECONDS apart could all land in handshakes, and no operation would see one).
blink() {
	(
		for i in $(seq 1 "$1"); do
			sleep "$2"
			for j in $(seq 1 400); do
				[ "$(grep -c "reconnected" "$LOG")" -ge $((i - 1)) ] && break
				sleep 0.05
			done
			proxy_ctl cut || exit 1
		done
	) >/dev/null 2>&1 3>&- &
	BLINKER=$!
}

server_size() {
	stat -c %s "$1" 2>/dev/null || echo 0
}

@test "a 256 MiB dd with conv=fsync survives three cuts and equals the source" {
	head -c $((256 * 1024 * 1024)) /dev/urandom >"$SSHD_DIR/big.src"
	fault_mount
	dd if="$SSHD_DIR/big.src" of="$M/big" bs=1M conv=fsync 2>"$BATS_TEST_TMPDIR/dd.err" &
	local dd_pid=$! cut mib
	for cut in 1 2 3; do
		mib=$((cut * 60))
		while [ "$(server_size "$SSHD_REMOTE/big")" -lt $((mib * 1024 * 1024)) ] && kill -0 "$dd_pid" 2>/dev/null; do
			sleep 0.02
		done
		proxy_ctl cut
	done
	wait "$dd_pid" || { cat "$BATS_TEST_TMPDIR/dd.err" "$LOG" >&2; false; }
	cmp "$SSHD_DIR/big.src" "$SSHD_REMOTE/big"
	rm -f "$SSHD_DIR/big.src"
	grep -q "reconnected" "$LOG"
	[ "$(grep -c "lost" "$LOG")" -ge 3 ]
}

@test "reads while the link blinks return every byte: no short count taken for the end of file" {
	local i
	for i in 1 2 3 4 5 6; do
		head -c $((24 * 1024 * 1024)) /dev/urandom >"$SSHD_REMOTE/r$i"
	done
	fault_mount
	blink 25 0.15
	# each file is read once, from the server (not the page cache)
	for i in 1 2 3 4 5 6; do
		cmp "$SSHD_REMOTE/r$i" "$M/r$i" || { cat "$LOG" >&2; false; }
	done
	wait "$BLINKER"
	BLINKER=
	[ "$(grep -c "lost" "$LOG")" -ge 3 ]
	rm -f "$SSHD_REMOTE"/r[1-6]
}

@test "descriptors opened before a fault read and write after the reconnect" {
	printf 'first line\n' >"$SSHD_REMOTE/held"
	head -c 300000 /dev/urandom >"$SSHD_REMOTE/readme"
	fault_mount
	exec 7<>"$M/held"
	exec 8<"$M/readme"
	head -c 1000 <&8 >"$BATS_TEST_TMPDIR/part1"
	read -r line <&7
	[ "$line" = "first line" ]
	proxy_ctl cut
	wait_log "lost"
	printf 'after the cut\n' >&7
	cat <&8 >"$BATS_TEST_TMPDIR/part2"
	exec 7>&-
	exec 8<&-
	[ "$(cat "$SSHD_REMOTE/held")" = "$(printf 'first line\nafter the cut')" ]
	cat "$BATS_TEST_TMPDIR/part1" "$BATS_TEST_TMPDIR/part2" | cmp - "$SSHD_REMOTE/readme"
	grep -q "reopened" "$LOG"
}

@test "a black hole is detected within interval x count + 2 s, and the mount works once healed" {
	printf 'still here\n' >"$SSHD_REMOTE/alive"
	fault_mount -o ServerAliveCountMax=3
	[ "$(cat "$M/alive")" = "still here" ]
	local t0 t1
	t0=$(date +%s%N)
	proxy_ctl blackhole
	wait_log "lost" 10
	t1=$(date +%s%N)
	echo "detected after $(((t1 - t0) / 1000000)) ms" >&3
	[ $(((t1 - t0) / 1000000)) -le $((1 * 3 * 1000 + 2000)) ]
	grep -q "lost: timed out" "$LOG"
	proxy_ctl heal
	printf 'healed\n' >"$SSHD_REMOTE/after"
	[ "$(cat "$M/after")" = healed ]
	printf 'written\n' >"$M/written"
	[ "$(cat "$SSHD_REMOTE/written")" = written ]
}

@test "keepalive does not declare a slow but live link dead" {
	head -c $((6 * 1024 * 1024)) /dev/urandom >"$SSHD_REMOTE/slow"
	proxy_stop
	# 2 MB/s: the 6 MiB read keeps replies queued far longer than
	# interval x count, but bytes keep arriving.
	proxy_start --rate 2000000
	fault_mount -o ServerAliveCountMax=2,no_readahead
	cmp "$SSHD_REMOTE/slow" "$M/slow"
	! grep -q "lost" "$LOG"
}

@test "sshd killed and restarted on the same port: the next access works" {
	printf 'before\n' >"$SSHD_REMOTE/restart"
	fault_mount
	[ "$(cat "$M/restart")" = before ]
	sshd_kill_all
	wait_log "lost"
	sshd_restart
	printf 'after\n' >"$SSHD_REMOTE/restart2"
	[ "$(cat "$M/restart2")" = after ]
	printf 'new\n' >"$M/restart3"
	[ "$(cat "$SSHD_REMOTE/restart3")" = new ]
	grep -q "reconnected" "$LOG"
}

@test "sshd back with a different host key: refused, EIO, nothing written, known_hosts named" {
	# no cache: every lookup below must ask the server
	fault_mount -o reconnect_timeout=10,dir_cache=no
	ls "$M" >/dev/null
	mkdir -p "$SSHD_DIR/keys.orig"
	cp "$SSHD_DIR"/host_* "$SSHD_DIR/keys.orig/"
	sshd_kill_all
	wait_log "lost"
	rm -f "$SSHD_DIR"/host_*
	ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/host_ed25519"
	ssh-keygen -q -t ecdsa -N '' -f "$SSHD_DIR/host_ecdsa"
	ssh-keygen -q -t rsa -b 2048 -N '' -f "$SSHD_DIR/host_rsa"
	sshd_restart
	local t0=$SECONDS
	run "$FSOP" open "$M/intruder" wronly,creat
	[ "$output" = EIO ] || { echo "open: $output" >&2; cat "$LOG" >&2; false; }
	run cat "$M/nothing-here"
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	# the attempt's verdict fails waiting operations at once
	[ $((SECONDS - t0)) -lt 10 ]
	[ ! -e "$SSHD_REMOTE/intruder" ]
	grep -q "known_hosts" "$LOG"
	grep -q "HAS CHANGED" "$LOG"
	# setup puts the original keys back for the next test
}

@test "server gone for good: ls fails within reconnect_timeout + 2 s and never hangs" {
	fault_mount -o reconnect_timeout=3,dir_cache=no
	ls "$M" >/dev/null
	sshd_kill_all
	wait_log "lost"
	local t0 t1
	t0=$(date +%s%N)
	run ls "$M/gone-$RANDOM"
	t1=$(date +%s%N)
	echo "failed after $(((t1 - t0) / 1000000)) ms: $output" >&3
	[ "$status" -ne 0 ]
	[[ "$output" == *"Input/output error"* ]]
	[ $(((t1 - t0) / 1000000)) -le 5000 ]
	# the process is still there and the mount still answers (errors)
	kill -0 "$SFTPFS_PID"
	grep -q " $M fuse" /proc/mounts
	run stat "$M/x"
	[ "$status" -ne 0 ]
}

@test "vim-style saves (temp, fsync, rename) while the link blinks: final content correct" {
	fault_mount
	blink 15 0.3
	local i r
	for i in $(seq 1 30); do
		head -c $((20000 + i * 1000)) /dev/urandom >"$BATS_TEST_TMPDIR/v$i"
		cp "$BATS_TEST_TMPDIR/v$i" "$M/.doc.txt.swp" || { cat "$LOG" >&2; false; }
		r=$("$FSOP" fsync "$M/.doc.txt.swp")
		[ "$r" = OK ] || { echo "save $i: fsync: $r" >&2; cat "$LOG" >&2; false; }
		mv -f "$M/.doc.txt.swp" "$M/doc.txt"
		cmp "$BATS_TEST_TMPDIR/v$i" "$SSHD_REMOTE/doc.txt"
	done
	wait "$BLINKER"
	BLINKER=
	cmp "$BATS_TEST_TMPDIR/v30" "$SSHD_REMOTE/doc.txt"
	[ ! -e "$SSHD_REMOTE/.doc.txt.swp" ]
	grep -q "reconnected" "$LOG"
}

@test "O_APPEND writes across cuts land once each, in order" {
	: >"$SSHD_REMOTE/append.log"
	fault_mount
	local i expected=$BATS_TEST_TMPDIR/expected
	exec 7>>"$M/append.log"
	for i in $(seq 1 3000); do
		printf 'line %05d %0900d\n' "$i" 0 >&7
		printf 'line %05d %0900d\n' "$i" 0 >>"$expected"
		case $i in 700 | 1600 | 2500) proxy_ctl cut >/dev/null ;; esac
	done
	exec 7>&-
	cmp "$expected" "$SSHD_REMOTE/append.log"
	[ "$(grep -c "lost" "$LOG")" -ge 3 ]
}

@test "a file removed on the server while the link was down: ESTALE on that descriptor only" {
	printf 'victim\n' >"$SSHD_REMOTE/victim"
	printf 'survivor\n' >"$SSHD_REMOTE/survivor"
	fault_mount
	exec 7<"$M/victim"
	exec 8<"$M/survivor"
	proxy_ctl cut
	wait_log "lost"
	rm "$SSHD_REMOTE/victim"
	run cat <&7
	[ "$status" -ne 0 ]
	[[ "$output" == *"Stale file handle"* ]]
	[ "$(cat <&8)" = survivor ]
	exec 7<&-
	exec 8<&-
	grep -q "cannot reopen" "$LOG"
}

@test "a file unlinked through the mount while open is not reopened by its old name after a cut" {
	printf 'old\n' >"$SSHD_REMOTE/gone"
	fault_mount
	exec 7<>"$M/gone"
	rm "$M/gone"
	[ ! -e "$SSHD_REMOTE/gone" ]
	# Another file takes the name on the server; then the link is cut.
	printf 'new\n' >"$SSHD_REMOTE/gone"
	proxy_ctl cut
	wait_log "lost"
	# the write fails (ESTALE), now or at the close; it never lands in
	# the file that has the name now
	printf 'more\n' >&7 || true
	exec 7>&-
	[ "$(cat "$SSHD_REMOTE/gone")" = new ]
	[ -z "$(ls -A "$SSHD_REMOTE" | grep fuse_hidden || true)" ]
}

@test "max_conns=2: one connection lost and reconnected on its own" {
	for i in 1 2 3 4; do printf 'file %s\n' "$i" >"$SSHD_REMOTE/m$i"; done
	fault_mount -o max_conns=2
	for i in 1 2 3 4; do [ "$(cat "$M/m$i")" = "file $i" ]; done
	local listener sessions
	listener=$(cat "$SSHD_DIR/sshd.pid")
	sessions=$(pgrep -P "$listener" | wc -l)
	[ "$sessions" -eq 2 ]
	# kill the session process of one connection only
	kill_tree "$(pgrep -P "$listener" | head -n 1)"
	wait_log "lost"
	[ "$(grep -c "lost" "$LOG")" -eq 1 ]
	for i in 1 2 3 4; do
		printf 'new %s\n' "$i" >"$M/n$i"
		[ "$(cat "$SSHD_REMOTE/n$i")" = "new $i" ]
		[ "$(cat "$M/m$i")" = "file $i" ]
	done
	wait_log "reconnected"
	[ "$(grep -c "reconnected" "$LOG")" -eq 1 ]
}

@test "changes queued behind the writes when the connection dies go again after the reopen" {
	local out hook
	fault_mount
	mkdir "$M/q"
	# after the write landed (fsync), the link goes silent: futimens,
	# fchown and fchmod are sent into the black hole and return; close waits
	# for them until the connection is cut and comes back, and they go again
	# on the reopened handle
	hook="'$PROXY_BIN' --ctl '$PROXY_CTL' blackhole >/dev/null || exit 1
(sleep 1; '$PROXY_BIN' --ctl '$PROXY_CTL' cut; '$PROXY_BIN' --ctl '$PROXY_CTL' heal) >/dev/null 2>&1 &"
	out=$(fsop create-setattrs "$M/q/f" abc 1600000000 640 0 0 "$hook")
	[ "$out" = "OK OK OK 3 640 1600000000 0 0 OK" ]
	[ "$(stat -c '%s %a %Y %u %g' "$SSHD_REMOTE/q/f")" = "3 640 1600000000 0 0" ]
	[ "$(cat "$SSHD_REMOTE/q/f")" = abc ]
	grep -q "reopened after reconnecting; 3 unacknowledged writes sent again" "$LOG"
}
