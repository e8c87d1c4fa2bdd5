# daemon.bash - helpers for the sftpfs daemon's bats tests: an SFTP server
# without SSH (OpenSSH's sftp-server behind socat on a free loopback port, for
# -o directport), mounting and unmounting, and running one system call
# through tests/tools/fsop to see its exact errno.

SFTPFS=${SFTPFS:-$top_builddir/fuse/sftpfs}
FSOP=${FSOP:-$top_builddir/tests/tools/fsop}
SFTP_SERVER_BIN=${SFTP_SERVER_BIN:-/usr/lib/openssh/sftp-server}

daemon_require() {
	[ -x "$SFTPFS" ] || { echo "precondition failed: $SFTPFS not built" >&2; return 1; }
	[ -x "$FSOP" ] || { echo "precondition failed: $FSOP not built" >&2; return 1; }
	command -v socat >/dev/null || { echo "precondition failed: socat missing (apt-get install socat)" >&2; return 1; }
	[ -x "$SFTP_SERVER_BIN" ] || { echo "precondition failed: $SFTP_SERVER_BIN missing" >&2; return 1; }
	fuse_require
}

# daemon_server_start DIR [socat EXEC options, e.g. su=nobody]: serves SFTP
# on 127.0.0.1:$DIRECT_PORT with the server's working directory (its "home")
# DIR. Several servers may run; each call overwrites DIRECT_PORT;
# daemon_server_stop stops them all.
daemon_server_start() {
	local dir=$1 extra=${2:+,$2} attempt i
	for attempt in 1 2 3 4 5; do
		DIRECT_PORT=$("$top_builddir/tests/tools/free-port") || return 1
		(cd "$dir" && exec socat "TCP-LISTEN:$DIRECT_PORT,bind=127.0.0.1,reuseaddr,fork" \
			"EXEC:$SFTP_SERVER_BIN$extra") 2>>"${BATS_FILE_TMPDIR:-/tmp}/socat.log" &
		local pid=$!
		for i in $(seq 1 100); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$DIRECT_PORT") 2>/dev/null; then
				# Tests run in subshells: keep the pids in a file
				# so teardown_file stops servers a test started.
				echo "$pid" >>"$(daemon_pidfile)"
				export DIRECT_PORT
				return 0
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.05
		done
		kill "$pid" 2>/dev/null
	done
	echo "precondition failed: socat/sftp-server did not start" >&2
	return 1
}

daemon_pidfile() {
	echo "${BATS_FILE_TMPDIR:?bats >= 1.4 needed}/daemon-servers.pids"
}

daemon_server_stop() {
	local pid
	[ -f "$(daemon_pidfile)" ] || return 0
	while read -r pid; do
		kill "$pid" 2>/dev/null || true
	done <"$(daemon_pidfile)"
	rm -f "$(daemon_pidfile)"
}

# daemon_mount REMOTE MOUNTPOINT [sftpfs options...]: mounts through
# directport and waits until the mount is there.
daemon_mount() {
	local remote=$1 mnt=$2
	shift 2
	"$SFTPFS" "$remote" "$mnt" -o "directport=$DIRECT_PORT" "$@" || return 1
	wait_mounted "$mnt"
}

daemon_unmount() {
	mountpoint -q "$1" || return 0
	fusermount3 -u "$1" || fusermount3 -uz "$1"
	wait_unmounted "$1"
}

# The pid of the sftpfs process serving mount point $1.
daemon_pid_of() {
	pgrep -f -- "^$SFTPFS [^ ]+ $1( |$)" | head -n 1
}

fsop() {
	"$FSOP" "$@"
}

# daemon_logged_server_start DIR LOG: daemon_server_start with sftp-server
# logging every request it serves (-l DEBUG1) to LOG, for tests that count
# requests (daemon_requests).
daemon_logged_server_start() {
	local dir=$1 log=$2 wrapper
	wrapper=$(dirname "$log")/logged-sftp-server
	printf '#!/bin/sh\nexec %s -e -l DEBUG1 2>>"%s"\n' "$SFTP_SERVER_BIN" "$log" >"$wrapper"
	chmod +x "$wrapper"
	SFTP_SERVER_BIN=$wrapper daemon_server_start "$dir"
}

# daemon_requests KIND PREFIX LINES LOG: requests of one kind ("lstat",
# "stat", "fstat", "opendir", "readdir", "setstat", "lsetstat") LOG shows
# for paths starting with PREFIX after its first LINES lines.
daemon_requests() {
	tail -n +"$(($3 + 1))" "$4" |
		grep -c "^$1 name \"$2\|^$1 \"$2\|^debug1: request [0-9]*: $1 \(name \)\?\"$2" || true
}
