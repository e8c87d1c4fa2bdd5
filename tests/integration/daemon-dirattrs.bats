#!/usr/bin/env bats
# The attributes of a directory after a change through the mount adds or
# removes one of its entries (issue 7, git clone at a 20 ms round trip): the
# LSTAT of the directory follows the change on the same connection
# (fuse/pipeline.c, sftpfs_trail_arm_dirs), so the kernel's revalidation of
# the directory (every second) and git's lstat of each directory it writes
# into need no request of their own; symlink and link bring the new name's
# attributes the same way. Counted in the server's own log (sftp-server -l
# DEBUG1); every test also checks that what the mount shows is what the
# server has, including after a change made on the server directly.

load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	TOP=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-dirattrs.XXXXXX")
	R=$TOP/remote
	SLOG=$TOP/sftp-server.log
	mkdir -p "$R" "$TOP/m1"
	export TOP R SLOG
	daemon_logged_server_start "$R" "$SLOG"
}

teardown_file() {
	daemon_unmount "$TOP/m1"
	daemon_server_stop
	rm -rf "$TOP"
}

teardown() {
	daemon_unmount "$TOP/m1"
}

log_lines() {
	wc -l <"$SLOG"
}

# Requests of one kind for paths starting with $2 since log line $3.
requests() {
	daemon_requests "$1" "$2" "$3" "$SLOG"
}

# The requests logged right after the first line matching $1 since log line
# $2 (sftp-server ends its log lines with CR LF), up to $3 of them.
next_requests() {
	tail -n +"$(($2 + 1))" "$SLOG" | tr -d '\r' | grep -v '^debug\|^sent' |
		grep -m1 -A"$3" -- "$1" | tail -n +2
}

# The directory's mtime and size as the mount and as the server show them.
same_dir_attrs() {
	local here there
	here=$(stat -c '%Y %s' "$1")
	there=$(stat -c '%Y %s' "$2")
	[ "$here" = "$there" ] || { echo "mount: $here, server: $there" >&2; return 1; }
}

@test "after each change of a directory's entries its attributes come with the change" {
	local m=$TOP/m1 d n0 op
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir "$m/d"
	d=$R/d
	for op in create mkdir symlink link rename unlink rmdir; do
		# the server's directory gets an old mtime, unknown to the mount;
		# the change through the mount moves it to now
		touch -d @1000000000 "$d"
		n0=$(log_lines)
		case $op in
		create) printf abc >"$m/d/f" ;;
		mkdir) mkdir "$m/d/sub" ;;
		symlink) ln -s f "$m/d/l" ;;
		link) ln "$m/d/f" "$m/d/h" ;;
		rename) mv "$m/d/f" "$m/d/g" ;;
		unlink) rm "$m/d/h" ;;
		rmdir) rmdir "$m/d/sub" ;;
		esac
		# the LSTAT of the directory went right behind the change
		[ "$(requests lstat "$d\"" "$n0")" = 1 ]
		sleep 1.1 # past the kernel's own attribute cache (1 s)
		same_dir_attrs "$m/d" "$d"
		[ "$(stat -c %Y "$m/d")" != 1000000000 ]
		# the LSTAT behind the change, and none for the stat
		echo "$op: $(requests lstat "$d\"" "$n0") LSTATs of the directory" >&2
		[ "$(requests lstat "$d\"" "$n0")" = 1 ]
	done
	# the lookups after symlink and link were the LSTATs behind them
	next_requests "^symlink old \"f\" new \"$d/l\"" 0 1 | grep -q "^lstat name \"$d/l\"$"
	next_requests "^hardlink old \"$d/f\" new \"$d/h\"" 0 1 | grep -q "^lstat name \"$d/h\"$"
	[ "$(stat -c %F "$m/d/l")" = "symbolic link" ]
	[ "$(readlink "$m/d/l")" = f ]
	[ "$(grep -c "^lstat name \"$d/l\"" "$SLOG")" = 1 ]
	[ "$(grep -c "^lstat name \"$d/h\"" "$SLOG")" = 1 ]
	# the results on the server
	[ "$(cat "$d/g")" = abc ]
	[ "$(readlink "$d/l")" = f ]
	[ ! -e "$d/f" ] && [ ! -e "$d/h" ] && [ ! -e "$d/sub" ]
}

@test "a rename between directories brings both directories' attributes" {
	local m=$TOP/m1 n0
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir "$m/ra" "$m/rb"
	printf x >"$m/ra/f"
	touch -d @1000000000 "$R/ra" "$R/rb"
	n0=$(log_lines)
	mv "$m/ra/f" "$m/rb/f"
	next_requests "rename old \"$R/ra/f\"" "$n0" 3 >"$TOP/after"
	grep -q "^lstat name \"$R/ra\"$" "$TOP/after"
	grep -q "^lstat name \"$R/rb\"$" "$TOP/after"
	sleep 1.1
	same_dir_attrs "$m/ra" "$R/ra"
	same_dir_attrs "$m/rb" "$R/rb"
	[ "$(requests lstat "$R/ra\"" "$n0")" = 1 ]
	[ "$(requests lstat "$R/rb\"" "$n0")" = 1 ]
	[ "$(cat "$R/rb/f")" = x ] && [ ! -e "$R/ra/f" ]
}

@test "a change made on the server is seen once the cached attributes expire" {
	local m=$TOP/m1 n0
	daemon_mount "127.0.0.1:$R" "$m" -o dcache_timeout=2
	mkdir "$m/s"
	printf abc >"$m/s/f"
	# the server's directory changes behind the mount's back
	mkdir "$R/s/other"
	touch -d @1000000000 "$R/s"
	sleep 3 # past the cache timeout
	n0=$(log_lines)
	[ "$(stat -c %Y "$m/s")" = 1000000000 ]
	[ "$(requests lstat "$R/s\"" "$n0")" = 1 ]
	[ "$(stat -c %F "$m/s/other")" = directory ]
}

@test "dir_cache=no sends no LSTAT of the directory behind changes" {
	local m=$TOP/m1 n0
	mkdir -p "$R/e"
	daemon_mount "127.0.0.1:$R" "$m" -o dir_cache=no
	n0=$(log_lines)
	printf abc >"$m/e/f"
	ln -s f "$m/e/l"
	[ "$(cat "$R/e/f")" = abc ]
	[ "$(readlink "$R/e/l")" = f ]
	# the request after the OPEN and after the SYMLINK is not an LSTAT
	# of the directory: that is pipelined only with the cache
	tail -n +"$((n0 + 1))" "$SLOG" | tr -d '\r' | grep -v '^debug\|^sent' >"$TOP/after"
	grep -q "^open \"$R/e/f\"" "$TOP/after"
	grep -q "^symlink" "$TOP/after"
	! grep -A1 "^open \"$R/e/f\"\|^symlink" "$TOP/after" | grep -q "^lstat name \"$R/e\"$"
}

@test "access() of a file just written asks one LSTAT, kept for what follows; a symlink is followed" {
	local m=$TOP/m1 n0
	mkdir "$R/acc"
	printf x >"$R/acc/g"
	chmod 700 "$R/acc/g"
	ln -s g "$R/acc/l"
	ln -s f "$R/acc/lf"
	ln -s missing "$R/acc/dangling"
	daemon_mount "127.0.0.1:$R" "$m"
	# written and closed: the mount forgot its attributes (pending writes)
	printf abc >"$m/acc/f"
	n0=$(log_lines)
	[ "$(fsop access "$m/acc/f" r)" = OK ]
	[ "$(fsop access "$m/acc/f" x)" = EACCES ]
	[ "$(fsop access "$m/acc/f" f)" = OK ]
	[ "$(stat -c %s "$m/acc/f")" = 3 ]
	[ "$(requests lstat "$R/acc/f\"" "$n0")" = 1 ]
	[ "$(requests stat "$R/acc/f\"" "$n0")" = 0 ]
	# a symlink: access follows it (STAT), to a file and to nothing
	[ "$(fsop access "$m/acc/l" x)" = OK ]
	[ "$(fsop access "$m/acc/lf" x)" = EACCES ]
	[ "$(fsop access "$m/acc/lf" r)" = OK ]
	[ "$(fsop access "$m/acc/dangling" f)" = ENOENT ]
	# a name removed on the server is not answered from what was kept
	# once it expired; one that exists is found
	daemon_unmount "$m"
	daemon_mount "127.0.0.1:$R" "$m" -o dcache_timeout=1
	[ "$(fsop access "$m/acc/f" r)" = OK ]
	rm "$R/acc/f"
	sleep 2.1
	[ "$(fsop access "$m/acc/f" r)" = ENOENT ]
	printf x >"$R/acc/f"
	sleep 2.1
	[ "$(fsop access "$m/acc/f" r)" = OK ]
}
