#!/usr/bin/env bats
# Round trips the daemon saves on tree walks, untar and git checkouts (issue
# 7), counted in the server's own log (OpenSSH sftp-server -l DEBUG1 logs
# each request): subdirectories listed ahead (fuse/dirlist.c), an expired
# listing refreshed once instead of one LSTAT per name, tar's futimens of the
# mtime alone on a file it just created (no LSTAT for the atime), git's fstat
# after writing (no wait before the LSTAT), and the attributes pipelined
# behind a rename and a read-only open. Each test also checks the results
# are right, since a saved request must never change an answer.

load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	TOP=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-prefetch.XXXXXX")
	R=$TOP/remote
	SLOG=$TOP/sftp-server.log
	mkdir -p "$R" "$TOP/m1" "$TOP/m2"
	export TOP R SLOG
	daemon_logged_server_start "$R" "$SLOG"
}

teardown_file() {
	daemon_unmount "$TOP/m1"
	daemon_unmount "$TOP/m2"
	daemon_server_stop
	rm -rf "$TOP"
}

teardown() {
	daemon_unmount "$TOP/m1"
	daemon_unmount "$TOP/m2"
}

log_lines() {
	wc -l <"$SLOG"
}

# Requests of one kind for paths starting with $2 since log line $3.
requests() {
	daemon_requests "$1" "$2" "$3" "$SLOG"
}

# Waits until the server logged $4 requests of kind $1 under $2 since line $3.
wait_requests() {
	local i
	for i in $(seq 1 100); do
		[ "$(requests "$1" "$2" "$3")" -ge "$4" ] && return 0
		sleep 0.05
	done
	return 1
}

make_tree() { # dir subdirs files-per-subdir
	local d i j
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		d=$1/d$i
		mkdir -p "$d"
		for j in $(seq 1 "$3"); do printf "%s/%s" "$i" "$j" >"$d/f$j"; done
	done
}

@test "listing a directory lists its subdirectories ahead; ls -lR then needs no OPENDIR of them" {
	local m=$TOP/m1 n0 i
	make_tree "$R/walk" 6 5
	daemon_mount "127.0.0.1:$R" "$m"
	n0=$(log_lines)
	ls "$m/walk" >/dev/null
	# the six subdirectories are listed in the background
	wait_requests opendir "$R/walk/d" "$n0" 6
	sleep 0.2
	n0=$(log_lines)
	ls -lR "$m/walk" >"$TOP/lsR"
	[ "$(grep -c '^-' "$TOP/lsR")" = 30 ]
	[ "$(requests opendir "$R/walk" "$n0")" = 0 ]
	[ "$(requests readdir "$R/walk" "$n0")" = 0 ]
	[ "$(requests lstat "$R/walk" "$n0")" = 0 ]
	# what was listed ahead is what is there
	for i in 1 6; do
		[ "$(ls "$m/walk/d$i" | tr '\n' ' ')" = "f1 f2 f3 f4 f5 " ]
		[ "$(cat "$m/walk/d$i/f5")" = "$i/5" ]
	done
}

@test "dir_prefetch=0 lists nothing ahead; dir_prefetch=N lists at most N subdirectories" {
	local m=$TOP/m1 n0
	make_tree "$R/off" 6 1
	daemon_mount "127.0.0.1:$R" "$m" -o dir_prefetch=0
	n0=$(log_lines)
	ls "$m/off" >/dev/null
	sleep 0.5
	[ "$(requests opendir "$R/off/" "$n0")" = 0 ]
	# listing a subdirectory then asks the server, as without a cache
	ls "$m/off/d1" >/dev/null
	[ "$(requests opendir "$R/off/d1" "$n0")" = 1 ]
	daemon_unmount "$m"
	daemon_mount "127.0.0.1:$R" "$m" -o dir_prefetch=2
	n0=$(log_lines)
	ls "$m/off" >/dev/null
	wait_requests opendir "$R/off/" "$n0" 2
	sleep 0.5
	[ "$(requests opendir "$R/off/" "$n0")" = 2 ]
}

@test "a listing ahead does not hide a change made through the mount meanwhile" {
	local m=$TOP/m1 i
	make_tree "$R/race" 8 3
	daemon_mount "127.0.0.1:$R" "$m"
	for i in 1 2 3 4 5; do
		ls "$m/race" >/dev/null
		# while the subdirectories are being listed ahead
		printf new >"$m/race/d$i/added$i"
		rm "$m/race/d$i/f1"
		[ "$(ls "$m/race/d$i" | tr '\n' ' ')" = "added$i f2 f3 " ]
		[ "$(cat "$m/race/d$i/added$i")" = new ]
		[ "$(fsop stat "$m/race/d$i/f1")" = ENOENT ]
	done
	[ "$(ls "$R/race/d5" | tr '\n' ' ')" = "added5 f2 f3 " ]
}

@test "lookups in a directory whose listing expired refresh it once, not one LSTAT per name" {
	local m=$TOP/m1 n0 i
	make_tree "$R/expire" 1 30
	daemon_mount "127.0.0.1:$R" "$m" -o dcache_timeout=1
	ls "$m/expire/d1" >/dev/null
	sleep 1.5
	printf changed >"$R/expire/d1/f30" # on the server meanwhile
	n0=$(log_lines)
	for i in $(seq 1 30); do stat -c %s "$m/expire/d1/f$i" >/dev/null; done
	# the first lookup asks for itself and starts the listing again; the
	# others are answered by that listing (or wait for it)
	[ "$(requests lstat "$R/expire/d1/" "$n0")" -le 3 ]
	[ "$(requests opendir "$R/expire/d1" "$n0")" = 1 ]
	# and what it answers is the server's state now
	[ "$(stat -c %s "$m/expire/d1/f30")" = 7 ]
	[ "$(stat -c %s "$m/expire/d1/f29")" = 4 ]
	# the same with dir_prefetch=0: one LSTAT per name, so the count above
	# measures something
	daemon_unmount "$m"
	daemon_mount "127.0.0.1:$R" "$m" -o dcache_timeout=1,dir_prefetch=0
	ls "$m/expire/d1" >/dev/null
	sleep 1.5
	n0=$(log_lines)
	for i in $(seq 1 30); do stat -c %s "$m/expire/d1/f$i" >/dev/null; done
	[ "$(requests lstat "$R/expire/d1/" "$n0")" -ge 30 ]
}

@test "futimens of the mtime alone on a file just created keeps its atime without an LSTAT" {
	local m=$TOP/m1 n0 a0
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir "$m/times" # so lookups of new names need no request
	n0=$(log_lines)
	# tar: open(O_CREAT|O_EXCL), write, utimensat(fd, NULL, {UTIME_OMIT, mtime}), close
	fsop create-write-mtime "$m/times/t1" hello 1000000000 >/dev/null
	[ "$(stat -c %Y "$R/times/t1")" = 1000000000 ]
	a0=$(stat -c %X "$R/times/t1")
	# the atime the file got at creation, not the mtime and not zero
	[ "$a0" -gt 1000000000 ]
	[ "$(cat "$R/times/t1")" = hello ]
	# one LSTAT behind the OPEN; none for the atime, and the change goes
	# behind the write as an FSETSTAT (daemon-pipeline.bats), with none
	[ "$(requests lstat "$R/times/t1" "$n0")" = 1 ]
	# a file read meanwhile: the server may have moved its atime, so it is
	# asked for (one LSTAT more), and the answer kept
	n0=$(log_lines)
	fsop create-read-mtime "$m/times/t2" hello 1000000000 >/dev/null
	[ "$(stat -c %Y "$R/times/t2")" = 1000000000 ]
	[ "$(requests lstat "$R/times/t2" "$n0")" = 3 ]
}

@test "fstat after writing goes right behind the writes and shows them" {
	local m=$TOP/m1 n0
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir "$m/fst"
	n0=$(log_lines)
	# git checkout: open(O_CREAT|O_EXCL), write, fstat, close - sizes seen by fstat
	[ "$(fsop create-write-fstat "$m/fst/a" 3000000)" = 3000000 ]
	[ "$(stat -c %s "$R/fst/a")" = 3000000 ]
	[ "$(fsop create-write-fstat "$m/fst/b" 1)" = 1 ]
	# one LSTAT behind the OPEN and one behind the writes for each
	[ "$(requests lstat "$R/fst/a" "$n0")" = 2 ]
	[ "$(requests lstat "$R/fst/b" "$n0")" = 2 ]
}

@test "a rename and a read-only open bring the file's attributes along" {
	local m=$TOP/m1 n0
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir "$m/ren"
	printf 0123456789 >"$m/ren/src"
	n0=$(log_lines)
	mv "$m/ren/src" "$m/ren/dst"      # renameat2(RENAME_NOREPLACE)
	mv -f "$m/ren/dst" "$m/ren/dst2"  # the same
	printf x >"$m/ren/dst3"
	mv -T "$m/ren/dst3" "$m/ren/dst2" # replaces: posix-rename@openssh.com
	sleep 1.1 # past the kernel's own attribute cache (1 s)
	[ "$(stat -c %s "$m/ren/dst2")" = 1 ]
	[ "$(fsop stat "$m/ren/src")" = ENOENT ]
	[ "$(fsop stat "$m/ren/dst")" = ENOENT ]
	# one LSTAT each, pipelined behind each rename, and none after
	[ "$(requests lstat "$R/ren/dst2" "$n0")" = 2 ]
	[ "$(requests lstat "$R/ren/dst\"" "$n0")" = 1 ]
	# the server changes the file; a read-only open brings its new
	# attributes, and a stat after it needs no request of its own
	printf 01234567890123456789 >"$R/ren/dst2"
	sleep 1.1
	n0=$(log_lines)
	fsop read-size "$m/ren/dst2" >/dev/null
	sleep 1.1
	[ "$(stat -c %s "$m/ren/dst2")" = 20 ]
	[ "$(requests lstat "$R/ren/dst2" "$n0")" = 1 ]
}
