#!/usr/bin/env bats
# Lookups pipelined behind changes (fuse/pipeline.c): after mkdir, create and
# a setattr by path the kernel asks for the new attributes; the LSTAT that
# answers it goes out right behind the change, so the separate lookup the
# kernel makes costs no request of its own. Counted in the server's log
# (sftp-server -l DEBUG1), never timed; dir_cache=no shows the count without
# the pipelining.

load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	TOP=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-pipeline.XXXXXX")
	R=$TOP/remote
	SLOG=$TOP/sftp-server.log
	mkdir -p "$R" "$TOP/m1" "$TOP/m3"
	export TOP R SLOG
	daemon_logged_server_start "$R" "$SLOG"
}

teardown_file() {
	teardown
	daemon_server_stop
	rm -rf "$TOP"
}

teardown() {
	daemon_unmount "$TOP/m1"
	daemon_unmount "$TOP/m3"
}

requests() {
	daemon_requests "$1" "$2" "$3" "$SLOG"
}

log_lines() {
	wc -l <"$SLOG"
}

# The request logged right after the line matching $1 since log line $2
# (sftp-server ends its log lines with CR LF).
next_request() {
	tail -n +"$(($2 + 1))" "$SLOG" | tr -d '\r' | grep -v '^debug\|^sent status' |
		grep -A1 -- "$1" | sed -n 2p
}

@test "mkdir and create: the lookup after each is the LSTAT sent behind it" {
	local m=$TOP/m1 nc=$TOP/m3 n0
	daemon_mount "127.0.0.1:$R" "$m"
	n0=$(log_lines)
	mkdir "$m/pd"
	[ "$(stat -c %F "$m/pd")" = directory ]
	# the lookup of the missing name, then the LSTAT behind MKDIR
	[ "$(requests lstat "$R/pd" "$n0")" = 2 ]
	next_request "^mkdir name \"$R/pd\"" "$n0" | grep -q "^lstat name \"$R/pd\"$"
	n0=$(log_lines)
	printf abc >"$m/pd/new"
	[ "$(stat -c %s "$m/pd/new")" = 3 ]
	[ "$(cat "$R/pd/new")" = abc ]
	# the LSTAT behind OPEN answers libfuse's lookup after create (no
	# FSTAT); the stat after close asks again (the write changed the size)
	next_request "^open \"$R/pd/new\"" "$n0" | grep -q "^lstat name \"$R/pd/new\"$"
	[ "$(requests fstat "$R/pd/new" "$n0")" = 0 ]
	[ "$(requests lstat "$R/pd/new" "$n0")" = 2 ]
	# dir_cache=no pipelines nothing: the lookup after create is a request of its own
	daemon_mount "127.0.0.1:$R" "$nc" -o dir_cache=no
	n0=$(log_lines)
	printf abcd >"$nc/pd/new2"
	[ "$(stat -c %s "$nc/pd/new2")" = 4 ]
	[ "$(requests fstat "$R/pd/new2" "$n0")" = 1 ]
}

@test "chmod by path: the attributes after the change come with it" {
	local m=$TOP/m1 n0
	printf 12345 >"$R/pf"
	daemon_mount "127.0.0.1:$R" "$m"
	n0=$(log_lines)
	chmod 600 "$m/pf"
	[ "$(stat -c '%a %s' "$m/pf")" = "600 5" ]
	chmod 640 "$m/pf"
	[ "$(stat -c '%a %s' "$m/pf")" = "640 5" ]
	[ "$(stat -c %a "$R/pf")" = 640 ]
	# the lookup of the name, then one LSTAT behind each SETSTAT; the
	# stats are answered by the cache
	[ "$(requests lstat "$R/pf" "$n0")" = 3 ]
	[ "$(next_request "^set \"$R/pf\" mode 0640" "$n0")" = "lstat name \"$R/pf\"" ]
}

@test "utimens of a file open for writing (tar): the attributes include the pending write" {
	local m=$TOP/m1 n0
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir -p "$R/ow"
	n0=$(log_lines)
	exec 5>"$m/ow/f"
	printf abc >&5
	# by path while the descriptor is open, the write not yet flushed
	# (touch opens the file too, then futimens)
	touch -m -d @1600000000 "$m/ow/f"
	[ "$(stat -c '%s %Y' "$m/ow/f")" = "3 1600000000" ]
	# the lookup of the new name, the LSTAT behind OPEN, and the one
	# behind SETSTAT, which answers the getattr after it; the atime touch
	# keeps is the one the file got at its creation (nobody read it), so
	# it needs no LSTAT of its own
	[ "$(requests lstat "$R/ow/f" "$n0")" = 3 ]
	[ "$(next_request "^set \"$R/ow/f\" modtime" "$n0")" = "lstat name \"$R/ow/f\"" ]
	exec 5>&-
	[ "$(stat -c '%s %Y' "$R/ow/f")" = "3 1600000000" ]
	[ "$(stat -c '%s %Y' "$m/ow/f")" = "3 1600000000" ]
}

@test "reads behind pending writes on another descriptor see every byte (index-pack's read back)" {
	local m=$TOP/m1 i
	# direct_io: every pread reaches the daemon, right behind the pwrite
	daemon_mount "127.0.0.1:$R" "$m" -o direct_io
	[ "$(fsop write-read-back "$m/pack" 300)" = OK ]
	daemon_unmount "$m"
	# and the same on a mount with the page cache
	daemon_mount "127.0.0.1:$R" "$m"
	[ "$(fsop write-read-back "$m/pack2" 300)" = OK ]
	cmp "$R/pack" "$R/pack2"
	[ "$(stat -c %s "$R/pack")" = "$(stat -c %s "$m/pack")" ]
}

@test "an O_APPEND open takes the file's size from the LSTAT behind its OPEN: no FSTAT" {
	local m=$TOP/m1 nc=$TOP/m3 n0
	printf 'one\n' >"$R/alog"
	daemon_mount "127.0.0.1:$R" "$m"
	n0=$(log_lines)
	echo two >>"$m/alog"
	echo three >>"$m/anew"
	[ "$(cat "$R/alog")" = "$(printf 'one\ntwo')" ]
	[ "$(cat "$R/anew")" = three ]
	# an existing file (open) and a new one (create, on create's trail)
	next_request "^open \"$R/alog\" flags WRITE,APPEND" "$n0" | grep -q "^lstat name \"$R/alog\"$"
	next_request "^open \"$R/anew\" flags WRITE,APPEND,CREATE" "$n0" | grep -q "^lstat name \"$R/anew\"$"
	[ "$(requests fstat "$R/alog" "$n0")" = 0 ]
	[ "$(requests fstat "$R/anew" "$n0")" = 0 ]
	# without the cache the open arms its own LSTAT
	daemon_mount "127.0.0.1:$R" "$nc" -o dir_cache=no
	n0=$(log_lines)
	echo four >>"$nc/alog"
	[ "$(tail -n 1 "$R/alog")" = four ]
	next_request "^open \"$R/alog\" flags WRITE,APPEND" "$n0" | grep -q "^lstat name \"$R/alog\"$"
	[ "$(requests fstat "$R/alog" "$n0")" = 0 ]
	# with follow_symlinks a symlink is opened by its own name and the
	# LSTAT shows the link: the size comes by FSTAT
	ln -s alog "$R/alink"
	daemon_unmount "$nc"
	daemon_mount "127.0.0.1:$R" "$nc" -o follow_symlinks
	n0=$(log_lines)
	echo five >>"$nc/alink"
	[ "$(tail -n 1 "$R/alog")" = five ]
	[ "$(requests fstat "$R/alink" "$n0")" = 1 ]
}

# FSETSTATs logged for path since line $2: sftp-server logs the handle's
# request, then the path it set.
fsetstats() {
	tail -n +"$(($2 + 1))" "$SLOG" | tr -d '\r' | grep -B1 "^set \"$1\" " | grep -c 'fsetstat handle' || true
}

@test "tar as root: futimens, fchown and fchmod of the file it created go behind its write; close waits for them" {
	local m=$TOP/m1 n0 out
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir -p "$m/tr"
	n0=$(log_lines)
	out=$(fsop create-setattrs "$m/tr/f" abc 1600000000 644 0 0)
	# every call succeeded, and fstat shows the file as the server has it
	[ "$out" = "OK OK OK 3 644 1600000000 0 0 OK" ]
	[ "$(stat -c '%s %a %Y %u %g' "$R/tr/f")" = "3 644 1600000000 0 0" ]
	# the three changes are FSETSTATs on the file's handle; no lookup
	# or SETSTAT by path came with them (the kernel's getattr before
	# fchown and libfuse's after each change were answered here)
	[ "$(fsetstats "$R/tr/f" "$n0")" = 3 ]
	[ "$(requests lsetstat "$R/tr/f" "$n0")" = 0 ]
	[ "$(requests setstat "$R/tr/f" "$n0")" = 0 ]
	# the LSTAT behind its OPEN only (the lookup of the new name: this
	# mount created the directory, its listing is known)
	[ "$(requests lstat "$R/tr/f" "$n0")" = 1 ]
	[ "$(next_request "^open \"$R/tr/f\"" "$n0")" = "lstat name \"$R/tr/f\"" ]
	# a mode with the set-group-ID bit is kept too as root (the server
	# cannot refuse it), and the mount shows what the server has after close
	out=$(fsop create-setattrs "$m/tr/g" abcd 1600000001 2750 0 0)
	[ "$out" = "OK OK OK 4 2750 1600000001 0 0 OK" ]
	[ "$(stat -c '%s %a %Y' "$R/tr/g")" = "4 2750 1600000001" ]
	[ "$(stat -c '%s %a %Y' "$m/tr/g")" = "4 2750 1600000001" ]
	# -o sshfs_sync: every change waits for its answer, by path
	daemon_unmount "$m"
	daemon_mount "127.0.0.1:$R" "$m" -o sshfs_sync
	n0=$(log_lines)
	out=$(fsop create-setattrs "$m/tr/s" abc 1600000000 644 0 0)
	[ "$out" = "OK OK OK 3 644 1600000000 0 0 OK" ]
	[ "$(fsetstats "$R/tr/s" "$n0")" = 0 ]
	[ "$(tail -n +"$((n0 + 1))" "$SLOG" | tr -d '\r' | grep -c "^set \"$R/tr/s\" ")" = 3 ]
}

# nobody_case NAME MODE FSETSTATS LSETSTATS: tar's sequence as the owner on
# the server run as nobody ($m, $nr, $nlog), the FSETSTATs behind the write
# and the LSETSTATs by path it took.
nobody_case() {
	local n0 out
	n0=$(wc -l <"$nlog")
	out=$(fsop create-setattrs "$m/d/$1" abc 1600000000 "$2" 65534 65534)
	[ "$out" = "OK OK OK 3 $2 1600000000 65534 65534 OK" ]
	[ "$(stat -c '%s %a %Y %u %g' "$nr/d/$1")" = "3 $2 1600000000 65534 65534" ]
	[ "$(SLOG=$nlog fsetstats "$nr/d/$1" "$n0")" = "$3" ]
	[ "$(daemon_requests lsetstat "$nr/d/$1" "$n0" "$nlog")" = "$4" ]
}

@test "a server running as another user than root: only the changes it cannot refuse go behind the writes" {
	local m=$TOP/m3 nr=$TOP/nobody nlog=$TOP/nobody.log wrapper out
	# sftp-server as nobody (logging to nlog), in a directory nobody owns
	mkdir -p "$nr/d"
	chown -R nobody:nogroup "$nr"
	chmod 0755 "$TOP"
	: >"$nlog"
	chmod 0666 "$nlog"
	wrapper=$TOP/nobody-sftp-server
	printf '#!/bin/sh\nexec %s -e -l DEBUG1 2>>"%s"\n' "$SFTP_SERVER_BIN" "$nlog" >"$wrapper"
	chmod 0755 "$wrapper"
	SFTP_SERVER_BIN=$wrapper daemon_server_start "$nr" su=nobody
	daemon_mount "127.0.0.1:$nr" "$m"
	# the owner's own uid and gid, explicit times and a plain mode: the
	# three changes are FSETSTATs behind the write, none goes by path
	nobody_case own 644 3 0
	# the set-group-ID bit (the server may drop it) and a mode without the
	# owner's write bit (a reopen after a reconnect needs it) go by path,
	# answered before the call returns
	nobody_case sgid 2755 2 1
	nobody_case ro 444 2 1
	# giving the file to root is refused at once, by fchown itself; the
	# rest of the sequence and the close are fine
	out=$(fsop create-setattrs "$m/d/give" abc 1600000000 644 0 0)
	[[ "$out" =~ ^OK\ (EPERM|EACCES)\ OK\ 3\ 644\ 1600000000\ 65534\ 65534\ OK$ ]]
	[ "$(stat -c '%s %a %Y %u' "$nr/d/give")" = "3 644 1600000000 65534" ]
	daemon_unmount "$m"
}

@test "a change behind the writes that the server refuses fails the close, and nothing else" {
	local m=$TOP/m1 out
	command -v chattr >/dev/null || { echo "chattr (e2fsprogs) is needed" >&2; return 1; }
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir -p "$m/ti"
	# the server's file becomes immutable after the write landed (fsync):
	# futimens returns at once and the refusal (SFTP's PERMISSION_DENIED:
	# EACCES) comes at close. Once it is in (on loopback, maybe before
	# fchown or fchmod), the next changes are made directly and fail
	# themselves; close reports the first failure in any case.
	out=$(fsop create-setattrs "$m/ti/f" abc 1600000000 644 0 0 "chattr +i '$R/ti/f'")
	chattr -i "$R/ti/f"
	echo "$out"
	[[ "$out" =~ ^OK\ (OK|EACCES)\ (OK|EACCES)\ 3\ (644|600)\ [0-9]+\ 0\ 0\ EACCES$ ]]
	# the server kept its own: mode and mtime unchanged, data written
	[ "$(stat -c '%s %a' "$R/ti/f")" = "3 600" ]
	[ "$(stat -c %Y "$R/ti/f")" != 1600000000 ]
	[ "$(cat "$R/ti/f")" = abc ]
	# the mount shows the server's attributes after the failed close
	[ "$(stat -c '%s %a' "$m/ti/f")" = "3 600" ]
	# and the next file is unaffected
	out=$(fsop create-setattrs "$m/ti/g" abc 1600000000 644 0 0)
	[ "$out" = "OK OK OK 3 644 1600000000 0 0 OK" ]
}

@test "a created file still open, removed or replaced by name, no longer answers for that name" {
	local m=$TOP/m1
	daemon_mount "127.0.0.1:$R" "$m"
	mkdir -p "$m/ur"
	# noclobber: bash opens with O_CREAT|O_EXCL, as tar does
	set -o noclobber
	exec 5>"$m/ur/a"
	set +o noclobber
	printf abc >&5
	rm "$m/ur/a"
	[ ! -e "$m/ur/a" ]
	mkdir "$m/ur/a"
	[ -d "$m/ur/a" ] && [ -d "$R/ur/a" ]
	rmdir "$m/ur/a"
	exec 5>&-
	# renamed over: a change by the name reaches the new file
	set -o noclobber
	exec 5>"$m/ur/c"
	set +o noclobber
	printf abc >&5
	printf new >"$m/ur/d"
	chmod 600 "$m/ur/d"
	mv "$m/ur/d" "$m/ur/c"
	chmod 640 "$m/ur/c"
	[ "$(stat -c '%a %s' "$R/ur/c")" = "640 3" ]
	[ "$(cat "$R/ur/c")" = new ]
	exec 5>&-
	[ "$(stat -c '%a' "$R/ur/c")" = 640 ]
}
