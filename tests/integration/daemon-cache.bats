#!/usr/bin/env bats
# The daemon's attribute / listing / symlink cache (fuse/cache.c) on real
# mounts: changes made on the server show through the mount once the cache
# timeouts pass, two mounts of one remote see each other's changes,
# dir_cache=no sees changes at once, changes made through the mount show in
# it at once, and an `ls -l` after a listing costs no per-file requests,
# counted in the server's own log (OpenSSH sftp-server -l DEBUG1 logs every
# stat, lstat, opendir and readdir it serves). The server is sftp-server behind
# -o directport, as in daemon-ops.bats.

load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	TOP=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-cache.XXXXXX")
	R=$TOP/remote
	SLOG=$TOP/sftp-server.log
	mkdir -p "$R" "$TOP/m1" "$TOP/m2" "$TOP/m3" "$TOP/m4"
	# sftp-server logging each request to a file we can count in
	cat >"$TOP/logged-sftp-server" <<-EOF
		#!/bin/sh
		exec $SFTP_SERVER_BIN -e -l DEBUG1 2>>"$SLOG"
	EOF
	chmod +x "$TOP/logged-sftp-server"
	export TOP R SLOG
	SFTP_SERVER_BIN=$TOP/logged-sftp-server daemon_server_start "$R"
}

teardown_file() {
	for m in m1 m2 m3 m4; do
		daemon_unmount "$TOP/$m"
	done
	daemon_server_stop
	rm -rf "$TOP"
}

teardown() {
	for m in m1 m2 m3 m4; do
		daemon_unmount "$TOP/$m"
	done
}

# Requests of one kind ("lstat", "stat", "opendir", "readdir") the server
# logged for paths starting with $2 since the log had $3 lines.
requests() {
	tail -n +"$(($3 + 1))" "$SLOG" |
		grep -c "^$1 name \"$2\|^$1 \"$2\|^debug1: request [0-9]*: $1 \"$2" || true
}

log_lines() {
	wc -l <"$SLOG"
}

@test "a change on the server shows after dcache_timeout" {
	local m=$TOP/m1 long=$TOP/m2
	daemon_mount "127.0.0.1:$R" "$m" -o dcache_timeout=1
	daemon_mount "127.0.0.1:$R" "$long" -o dcache_timeout=60
	printf one >"$R/changing"
	[ "$(stat -c %s "$m/changing")" = 3 ]
	[ "$(stat -c %s "$long/changing")" = 3 ]
	printf 'longer' >"$R/changing"
	rm -f "$R/created-later"
	[ "$(fsop stat "$m/created-later")" = ENOENT ]
	printf x >"$R/created-later"
	# the daemon's timeout and the kernel's (at most 1 s)
	sleep 2.2
	[ "$(stat -c %s "$m/changing")" = 6 ]
	[ "$(cat "$m/changing")" = longer ]
	[ "$(cat "$m/created-later")" = x ]
	# within its 60 s the other mount still answers from its cache
	[ "$(stat -c %s "$long/changing")" = 3 ]
}

@test "two mounts of the same remote see each other's changes after the timeouts" {
	local a=$TOP/m1 b=$TOP/m2
	daemon_mount "127.0.0.1:$R" "$a" -o dcache_timeout=1
	daemon_mount "127.0.0.1:$R" "$b" -o dcache_timeout=1
	mkdir "$a/two"
	ls "$b/two" >/dev/null
	ls "$a/two" >/dev/null
	printf 'from a\n' >"$a/two/shared"
	sleep 2.2
	[ "$(cat "$b/two/shared")" = "from a" ]
	printf 'from b, longer\n' >"$b/two/shared"
	ln -s shared "$b/two/link"
	sleep 2.2
	[ "$(cat "$a/two/shared")" = "from b, longer" ]
	[ "$(readlink "$a/two/link")" = shared ]
	[ "$(ls "$a/two" | tr '\n' ' ')" = "link shared " ]
	rm "$b/two/shared" "$b/two/link"
	sleep 2.2
	[ ! -e "$a/two/shared" ]
	[ -z "$(ls -A "$a/two")" ]
}

@test "dir_cache=no sees server-side changes at once" {
	local m=$TOP/m3
	daemon_mount "127.0.0.1:$R" "$m" -o dir_cache=no
	mkdir -p "$R/nocache"
	printf one >"$R/nocache/f"
	[ "$(stat -c %s "$m/nocache/f")" = 3 ]
	[ "$(ls "$m/nocache")" = f ]
	printf 'longer' >"$R/nocache/f"
	[ "$(stat -c %s "$m/nocache/f")" = 6 ]
	[ "$(cat "$m/nocache/f")" = longer ]
	printf x >"$R/nocache/g"
	[ "$(cat "$m/nocache/g")" = x ]
	[ "$(ls "$m/nocache" | tr '\n' ' ')" = "f g " ]
	rm "$R/nocache/g"
	[ "$(fsop stat "$m/nocache/g")" = ENOENT ]
	ln -s f "$R/nocache/l"
	[ "$(readlink "$m/nocache/l")" = f ]
	rm "$R/nocache/l"
	ln -s g "$R/nocache/l"
	[ "$(readlink "$m/nocache/l")" = g ]
}

@test "changes made through the mount show in it at once" {
	local m=$TOP/m4
	# long timeouts: anything stale would stay stale for the whole test
	daemon_mount "127.0.0.1:$R" "$m" -o dcache_timeout=60
	mkdir -p "$R/local/sub"
	printf abc >"$R/local/sub/inner"
	printf abc >"$R/local/file"
	[ "$(ls "$m/local" | tr '\n' ' ')" = "file sub " ]
	[ "$(stat -c '%s %a' "$m/local/file")" = "3 644" ]
	# create, write, chmod, truncate, utimens
	printf 'new file' >"$m/local/new"
	[ "$(ls "$m/local" | tr '\n' ' ')" = "file new sub " ]
	[ "$(stat -c %s "$m/local/new")" = 8 ]
	printf 'more' >>"$m/local/file"
	[ "$(stat -c %s "$m/local/file")" = 7 ]
	chmod 600 "$m/local/file"
	[ "$(stat -c %a "$m/local/file")" = 600 ]
	truncate -s 2 "$m/local/file"
	[ "$(stat -c %s "$m/local/file")" = 2 ]
	touch -d @1234567890 "$m/local/file"
	[ "$(stat -c %Y "$m/local/file")" = 1234567890 ]
	# unlink, symlink, link, mknod, mkdir, rmdir
	rm "$m/local/new"
	[ "$(fsop stat "$m/local/new")" = ENOENT ]
	[ "$(ls "$m/local" | tr '\n' ' ')" = "file sub " ]
	ln -s file "$m/local/sym"
	[ "$(readlink "$m/local/sym")" = file ]
	ln "$m/local/file" "$m/local/hard"
	[ "$(cat "$m/local/hard")" = abcmore ] && [ "$(cat "$R/local/hard")" = abcmore ]
	[ "$(fsop mknod "$m/local/node" reg)" = OK ]
	mkdir "$m/local/newdir"
	printf y >"$m/local/newdir/inside"
	[ "$(ls "$m/local/newdir")" = inside ]
	[ "$(ls "$m/local" | tr '\n' ' ')" = "file hard newdir node sub sym " ]
	rm "$m/local/newdir/inside"
	rmdir "$m/local/newdir"
	[ "$(fsop stat "$m/local/newdir")" = ENOENT ]
	# a symlink replaced through the mount shows its new target
	rm "$m/local/sym"
	ln -s hard "$m/local/sym"
	[ "$(readlink "$m/local/sym")" = hard ]
	# rename of a directory: the old names are gone, the new ones there
	[ "$(cat "$m/local/sub/inner")" = abc ]
	mv "$m/local/sub" "$m/local/moved"
	[ "$(fsop stat "$m/local/sub/inner")" = ENOENT ]
	[ "$(fsop stat "$m/local/sub")" = ENOENT ]
	[ "$(cat "$m/local/moved/inner")" = abc ]
	[ "$(ls "$m/local" | tr '\n' ' ')" = "file hard moved node sym " ]
	# rename over an existing file
	printf 'replacement' >"$m/local/repl"
	mv "$m/local/repl" "$m/local/file"
	[ "$(cat "$m/local/file")" = replacement ]
	[ "$(stat -c %s "$m/local/file")" = 11 ]
	[ "$(fsop stat "$m/local/repl")" = ENOENT ]
	# a listing while writes are pending does not hide them from stat
	exec 5>"$m/local/pending"
	head -c 100000 /dev/zero >&5
	ls -l "$m/local" >/dev/null
	[ "$(stat -c %s "$m/local/pending")" = 100000 ]
	exec 5>&-
	[ "$(stat -c %s "$m/local/pending")" = 100000 ]
	[ "$(stat -c %s "$R/local/pending")" = 100000 ]
	# O_TRUNC through the mount
	printf 'x' >"$m/local/file"
	[ "$(stat -c %s "$m/local/file")" = 1 ]
	[ "$(cat "$R/local/file")" = x ]
}

@test "ls -l after a listing needs no per-file requests (server log)" {
	local m=$TOP/m1 nc=$TOP/m3 n0 i
	mkdir -p "$R/many"
	for i in $(seq 1 40); do printf "%s" "$i" >"$R/many/f$i"; done
	ln -s f1 "$R/many/link"
	daemon_mount "127.0.0.1:$R" "$m"
	n0=$(log_lines)
	ls -l "$m/many" >"$TOP/ls1"
	[ "$(grep -c '^-.* f[0-9]*$' "$TOP/ls1")" = 40 ]
	grep -q ' link -> f1$' "$TOP/ls1"
	# one listing (41 names: one READDIR batch and the EOF), no stat or
	# lstat of any entry
	[ "$(requests opendir "$R/many" "$n0")" = 1 ] || { tail -n +"$((n0 + 1))" "$SLOG"; false; }
	[ "$(requests readdir "$R/many" "$n0")" = 2 ] || { tail -n +"$((n0 + 1))" "$SLOG"; false; }
	[ "$(requests lstat "$R/many/" "$n0")" = 0 ]
	[ "$(requests stat "$R/many/" "$n0")" = 0 ]
	# again: the listing too comes from the cache (no OPENDIR, no READDIR)
	ls -l "$m/many" >"$TOP/ls2"
	cmp "$TOP/ls1" "$TOP/ls2"
	stat "$m/many/f7" >/dev/null
	[ "$(fsop stat "$m/many/missing")" = ENOENT ]
	[ "$(requests opendir "$R/many" "$n0")" = 1 ]
	[ "$(requests readdir "$R/many" "$n0")" = 2 ]
	[ "$(requests lstat "$R/many/" "$n0")" = 0 ]
	# the same with dir_cache=no reaches the server for each entry, so
	# the count above measures something
	daemon_mount "127.0.0.1:$R" "$nc" -o dir_cache=no
	n0=$(log_lines)
	ls -l "$nc/many" >/dev/null
	[ "$(requests lstat "$R/many/" "$n0")" -ge 40 ]
}

@test "a large directory is listed in rounds of READDIRs, each twice the last" {
	local m=$TOP/m1 n0
	mkdir -p "$R/big"
	(cd "$R/big" && seq -f "e%03g" 1 650 | xargs touch)
	daemon_mount "127.0.0.1:$R" "$m"
	n0=$(log_lines)
	[ "$(ls "$m/big" | wc -l)" = 650 ]
	[ "$(ls "$m/big" | sort -u | wc -l)" = 650 ]
	# sftp-server answers a READDIR with at most 100 names: 652 with "."
	# and ".." are seven batches and the EOF, asked for in three round
	# trips as 2, 4 and 8 READDIRs (the last seven answered EOF); pairs
	# would have taken four round trips and 8 READDIRs
	[ "$(requests opendir "$R/big" "$n0")" = 1 ] || { tail -n +"$((n0 + 1))" "$SLOG"; false; }
	[ "$(requests readdir "$R/big" "$n0")" = 14 ] || { tail -n +"$((n0 + 1))" "$SLOG"; false; }
}

@test "a directory made through the mount answers lookups without the server" {
	local m=$TOP/m1 n0 i
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir "$m/fresh"
	n0=$(log_lines)
	for i in 1 2 3 4 5; do
		printf "%s" "$i" >"$m/fresh/n$i"
	done
	# creating five names looked each up first: all answered by the cache;
	# the one LSTAT per name is the one pipelined behind its OPEN
	# (pipeline.c), which answers libfuse's lookup after create
	[ "$(requests lstat "$R/fresh/" "$n0")" = 5 ]
	[ "$(requests fstat "$R/fresh/" "$n0")" = 0 ]
	[ "$(ls "$m/fresh" | tr '\n' ' ')" = "n1 n2 n3 n4 n5 " ]
	[ "$(cat "$R/fresh/n3")" = 3 ]
}

# Bytes the server read for file $1 in the opens closed since log line $2
# (sftp-server logs each close with its byte counts).
# The kernel sends RELEASE (our CLOSE) after close(2) has returned: wait
# (up to 5 s) until every open since line $2 (${3:-1} of them) was closed.
bytes_read() {
	local i
	for i in $(seq 1 100); do
		[ "$(tail -n +"$(($2 + 1))" "$SLOG" | grep -c "^close \"$1\" bytes read")" -ge "${3:-1}" ] && break
		sleep 0.05
	done
	tail -n +"$(($2 + 1))" "$SLOG" | sed -n "s|^close \"$1\" bytes read \([0-9]*\) .*|\1|p" |
		awk '{ s += $1 } END { print s + 0 }'
}

@test "file pages stay cached across opens while size and mtime are unchanged" {
	local m=$TOP/m1 short=$TOP/m2 nc=$TOP/m3 n0
	head -c 300000 /dev/urandom >"$R/pages"
	touch -d @1500000000 "$R/pages"
	daemon_mount "127.0.0.1:$R" "$m"
	daemon_mount "127.0.0.1:$R" "$short" -o dcache_timeout=1
	daemon_mount "127.0.0.1:$R" "$nc" -o dir_cache=no
	n0=$(log_lines)
	cmp "$R/pages" "$m/pages"
	cmp "$R/pages" "$nc/pages"
	[ "$(bytes_read "$R/pages" "$n0" 2)" = 600000 ]
	# second open: the cached mount reads nothing from the server, the
	# uncached one everything again. (Under the parallel make check the
	# second open has, rarely, read the file again - cause not found yet,
	# see issue 7's notes; a third open must then find the pages kept. A
	# mount that never keeps them fails both.)
	n0=$(log_lines)
	cmp "$R/pages" "$m/pages"
	if [ "$(bytes_read "$R/pages" "$n0")" != 0 ]; then
		n0=$(log_lines)
		cmp "$R/pages" "$m/pages"
		[ "$(bytes_read "$R/pages" "$n0")" = 0 ]
	fi
	n0=$(log_lines)
	cmp "$R/pages" "$nc/pages"
	[ "$(bytes_read "$R/pages" "$n0")" = 300000 ]
	# same size, new contents and mtime on the server: once the timeout
	# has passed the pages are dropped and the new contents read
	cmp "$R/pages" "$short/pages"
	head -c 300000 /dev/urandom >"$R/pages"
	touch -d @1600000000 "$R/pages"
	sleep 2.2
	cmp "$R/pages" "$short/pages"
	# written through the mount: read back right
	printf 'through the mount' | dd of="$short/pages" bs=1 seek=1000 conv=notrunc status=none
	cmp "$R/pages" "$short/pages"
	cmp "$R/pages" "$nc/pages"
}

@test "rewinddir lists the directory again, cached or not" {
	local m=$TOP/m1 nc=$TOP/m3
	command -v perl >/dev/null || { echo "precondition failed: perl missing" >&2; return 1; }
	mkdir -p "$R/rewind"
	for i in 1 2 3; do printf x >"$R/rewind/r$i"; done
	daemon_mount "127.0.0.1:$R" "$m"
	daemon_mount "127.0.0.1:$R" "$nc" -o dir_cache=no
	ls "$m/rewind" >/dev/null # listed: the next opendir holds no server handle
	for d in "$m/rewind" "$nc/rewind"; do
		# names read, then read again after rewinddir on the same handle
		[ "$(perl -e 'opendir(D, $ARGV[0]) or die; my @a = readdir(D); rewinddir(D);
			my @b = readdir(D); print scalar(@a), " ", scalar(@b), "\n"' "$d")" = "5 5" ]
	done
	# such a directory still answers fstat and fchmod through its path
	ls "$m/rewind" >/dev/null
	[ "$(perl -e 'open(my $fh, "<", $ARGV[0]) or die; my @s = stat($fh) or die;
		chmod(0750, $fh) or die; @s = stat($fh); printf("%o\n", $s[2] & 07777)' "$m/rewind")" = 750 ]
	[ "$(stat -c %a "$R/rewind")" = 750 ]
}

@test "a small file read after a fresh lookup costs one READ, not one more to hear the end" {
	local m=$TOP/m1 nc=$TOP/m3 n0
	mkdir -p "$R/small"
	head -c 3000 /dev/urandom >"$R/small/s1"
	daemon_mount "127.0.0.1:$R" "$m"
	daemon_mount "127.0.0.1:$R" "$nc" -o dir_cache=no
	ls -l "$m/small" "$nc/small" >/dev/null
	n0=$(log_lines)
	cmp "$R/small/s1" "$m/small/s1"
	# the size from the listing: the short READ at 3000 is the end
	[ "$(requests read "$R/small/s1" "$n0")" = 1 ]
	n0=$(log_lines)
	cmp "$R/small/s1" "$nc/small/s1"
	# no cached size: the rest is asked for, and EOF comes back
	[ "$(requests read "$R/small/s1" "$n0")" -ge 2 ]
}
