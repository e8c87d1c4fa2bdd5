#!/usr/bin/env bats
# Small files read ahead (fuse/fileahead.c, issue 7): once two files of a
# directory are opened for reading, its next small files are fetched in the
# background and their opens and reads need no request. Counted in the
# server's own log (OpenSSH sftp-server -l DEBUG1 logs each request); every
# test also checks the bytes read are the file's, since a read ahead must
# never change an answer: not after a change through the mount, not after a
# change on the server once the mount's attributes show it.

load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	TOP=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-fileahead.XXXXXX")
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

# OPENs of paths starting with $1 since log line $2.
opens() {
	daemon_requests open "$1" "$2" "$SLOG"
}

# Waits until the server logged $3 OPENs under $1 since line $2.
wait_opens() {
	local i
	for i in $(seq 1 100); do
		[ "$(opens "$1" "$2")" -ge "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# $1/f01..f$2 of distinct sizes and contents.
make_files() {
	local i
	mkdir -p "$1"
	for i in $(seq 1 "$2"); do
		head -c "$((i * 97))" /dev/urandom >"$1/f$(printf %02d "$i")"
	done
}

# Makes $2 files in $R/$1, mounts $R on $TOP/m1 (options $3...) and lists $1.
mount_listed() {
	local name=$1 n=$2
	shift 2
	make_files "$R/$name" "$n"
	daemon_mount "127.0.0.1:$R" "$TOP/m1" "$@"
	ls "$TOP/m1/$name" >/dev/null
}

# mount_listed, then reads f01 and f02 and waits until the rest (up to 32)
# were fetched ahead.
read_two() {
	local name=$1 n=$2 n0 ahead
	mount_listed "$@"
	n0=$(log_lines)
	cat "$TOP/m1/$name/f01" "$TOP/m1/$name/f02" >/dev/null
	ahead=$((n < 34 ? n : 34))
	wait_opens "$R/$name/f" "$n0" "$ahead"
	sleep 0.2
}

# cat of the mount's and the server's copies of the names $3... under $1 and $2 agree.
same_cat() {
	local m=$1 r=$2
	shift 2
	[ "$(cd "$m" && cat "$@" | cksum)" = "$(cd "$r" && cat "$@" | cksum)" ]
}

@test "reading files one after another reads the next ones ahead; their opens need no request" {
	local m=$TOP/m1 d=$R/seq n0 n1
	make_files "$d" 40
	head -c 200000 /dev/urandom >"$d/big"
	daemon_mount "127.0.0.1:$R" "$m"
	ls "$m/seq" >/dev/null
	n0=$(log_lines)
	cat "$m/seq/f01" "$m/seq/f02" >/dev/null
	# f03..f34 (the window of 32) are fetched in the background
	wait_opens "$d/f" "$n0" 34
	sleep 0.3
	[ "$(opens "$d/f" "$n0")" = 34 ]
	[ "$(opens "$d/big" "$n0")" = 0 ] # larger than 64 KiB: never
	n1=$(log_lines)
	same_cat "$m/seq" "$d" f03 f04 f05 f06 f07 f08 f09 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19 f20
	# none of them was opened again; the window moved on to the last six
	wait_opens "$d/f" "$n1" 6
	sleep 0.3
	[ "$(opens "$d/f" "$n1")" = 6 ]
	[ "$(opens "$d/f0" "$n1")" = 0 ]
	[ "$(opens "$d/f1" "$n1")" = 0 ]
	[ "$(opens "$d/f20" "$n1")" = 0 ]
	n1=$(log_lines)
	same_cat "$m/seq" "$d" f21 f22 f23 f24 f25 f26 f27 f28 f29 f30 f31 f32 f33 f34 f35 f36 f37 f38 f39 f40
	sleep 0.3
	# all forty read with 40 OPENs in all: nothing fetched twice
	[ "$(opens "$d/f" "$n0")" = 40 ]
}

@test "a single open reads nothing ahead, and file_prefetch=0 never does" {
	local m=$TOP/m1 d=$R/single n0
	mount_listed single 10
	n0=$(log_lines)
	cat "$m/single/f05" >/dev/null
	sleep 0.5
	[ "$(opens "$d/" "$n0")" = 1 ]
	daemon_unmount "$m"
	daemon_mount "127.0.0.1:$R" "$m" -o file_prefetch=0
	ls "$m/single" >/dev/null
	n0=$(log_lines)
	same_cat "$m/single" "$d" f01 f02 f03 f04
	sleep 0.5
	[ "$(opens "$d/" "$n0")" = 4 ]
}

@test "a file changed through the mount is read from the server, not from what was read ahead" {
	local m=$TOP/m1 d=$R/local
	read_two local 12
	# f05 was fetched; change it (same size) and another one, through the mount
	printf 'changed through the mount' | dd of="$m/local/f05" conv=notrunc status=none
	printf 'x' >>"$m/local/f09"
	same_cat "$m/local" "$d" f03 f04 f05 f06 f07 f08 f09 f10 f11 f12
	[ "$(head -c 25 "$m/local/f05")" = "changed through the mount" ]
}

@test "a file changed on the server is read again once the mount's attributes show the change" {
	local m=$TOP/m1 d=$R/remote
	read_two remote 8 -o dcache_timeout=1
	# on the server meanwhile: f06 gets new contents, another size and mtime
	printf 'new on the server' >"$d/f06"
	touch -d '2001-01-01' "$d/f06"
	sleep 1.5 # the attributes and what was fetched with them expire
	[ "$(cat "$m/remote/f06")" = "new on the server" ]
	same_cat "$m/remote" "$d" f03 f04 f05 f06 f07 f08
}

@test "a file read ahead answers fstat without a handle and opens one for what needs it (copy_file_range)" {
	local m=$TOP/m1 d=$R/handle n1
	# attr_timeout=0: the kernel asks the daemon for every fstat
	read_two handle 6 -o attr_timeout=0
	n1=$(log_lines)
	# fstat of a file read ahead answers by path: no handle opened for it
	[ "$(fsop read-size "$m/handle/f06")" = "$(stat -c %s "$d/f06")" ]
	[ "$(opens "$d/f06" "$n1")" = 0 ]
	# cp copies within the mount with copy_file_range (copy-data@openssh.com)
	cp "$m/handle/f04" "$m/handle/copy4"
	cmp "$d/f04" "$d/copy4"
	[ "$(stat -c %s "$m/handle/f05")" = "$(stat -c %s "$d/f05")" ]
	same_cat "$m/handle" "$d" f03 f05 f06 copy4
}

@test "a change through the mount between two opens starts no read-ahead (git's config rewrites)" {
	local m=$TOP/m1 d=$R/change n0
	mount_listed change 10
	n0=$(log_lines)
	cat "$m/change/f01" >/dev/null
	printf 'new' >"$m/change/lock"
	cat "$m/change/f02" >/dev/null
	sleep 0.5
	[ "$(opens "$d/f" "$n0")" = 2 ]
	# an unchanged sequence after it does read ahead
	cat "$m/change/f03" >/dev/null
	wait_opens "$d/f" "$n0" 10
}

@test "a descriptor opened from read-ahead sees a write to its file made through the mount after the open" {
	local m=$TOP/m1 d=$R/keep n1
	read_two keep 12
	n1=$(log_lines)
	cp "$d/f06" "$TOP/f06.orig"
	exec 8<"$m/keep/f06" 9<"$m/keep/f07"
	# both were read ahead: no OPEN for them
	[ "$(opens "$d/f0" "$n1")" = 0 ]
	printf 'written through the mount' | dd of="$m/keep/f07" conv=notrunc status=none
	# the write voids what f07's descriptor had; f06's stays as it was
	cmp - "$d/f07" <&9
	cmp - "$TOP/f06.orig" <&8
	exec 8<&- 9<&-
	[ "$(head -c 25 "$d/f07")" = "written through the mount" ]
}

@test "a small file read whole opens again within a second with no request, and never hides a change" {
	local m=$TOP/m1 d=$R/kept n0
	mkdir -p "$d"
	head -c 3000 /dev/urandom >"$d/a"
	daemon_mount "127.0.0.1:$R" "$m"
	same_cat "$m/kept" "$d" a
	n0=$(log_lines)
	same_cat "$m/kept" "$d" a
	same_cat "$m/kept" "$d" a
	[ "$(opens "$d/a" "$n0")" = 0 ]
	# a change through the mount: read from the server again
	head -c 3000 /dev/urandom >"$m/kept/a"
	n0=$(log_lines)
	same_cat "$m/kept" "$d" a
	[ "$(opens "$d/a" "$n0")" = 1 ]
	# renamed through the mount: its new name is read from the server
	mv "$m/kept/a" "$m/kept/b"
	n0=$(log_lines)
	same_cat "$m/kept" "$d" b
	[ "$(opens "$d/b" "$n0")" = 1 ]
	# changed on the server (same size, another mtime): within a second
	# the mount may still show what it read, as it shows the attributes;
	# past it the open asks the server, which shows the change
	same_cat "$m/kept" "$d" b
	head -c 3000 /dev/urandom >"$d/b"
	touch -d "@$(($(stat -c %Y "$d/b") + 10))" "$d/b"
	sleep 1.2
	n0=$(log_lines)
	same_cat "$m/kept" "$d" b
	[ "$(opens "$d/b" "$n0")" = 1 ]
}

@test "a file read in part, a file over 64 KiB and -o direct_io are not kept" {
	local m=$TOP/m1 d=$R/notkept n0
	mkdir -p "$d"
	head -c 3000 /dev/urandom >"$d/small"
	head -c 70000 /dev/urandom >"$d/large"
	daemon_mount "127.0.0.1:$R" "$m"
	# one direct 512-byte read: the kernel reads no more of it
	dd if="$m/notkept/small" of=/dev/null bs=512 count=1 iflag=direct status=none
	same_cat "$m/notkept" "$d" large
	n0=$(log_lines)
	same_cat "$m/notkept" "$d" small
	same_cat "$m/notkept" "$d" large
	[ "$(opens "$d/small" "$n0")" = 1 ]
	[ "$(opens "$d/large" "$n0")" = 1 ]
	daemon_unmount "$m"
	daemon_mount "127.0.0.1:$R" "$m" -o direct_io
	same_cat "$m/notkept" "$d" small
	n0=$(log_lines)
	same_cat "$m/notkept" "$d" small
	[ "$(opens "$d/small" "$n0")" = 1 ]
}
