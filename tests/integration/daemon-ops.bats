#!/usr/bin/env bats
# Every file operation of the sftpfs daemon on a real mount, checked on the
# server side byte for byte, with the errno a local file system gives for
# each error case. The server is OpenSSH's sftp-server reached through
# -o directport (no SSH), so these tests exercise the FUSE and SFTP layers
# alone; daemon-ssh.bats mounts through the built-in SSH client.

load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	TOP=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-ops.XXXXXX")
	R=$TOP/remote
	M=$TOP/mnt
	mkdir -p "$R" "$M"
	export TOP R M
	daemon_server_start "$R"
	daemon_mount "127.0.0.1:$R" "$M"
}

teardown_file() {
	daemon_unmount "$M"
	daemon_server_stop
	rm -rf "$TOP"
}

@test "getattr: size, mode, mtime and type as on the server" {
	printf 'twelve bytes' >"$R/attr.txt"
	chmod 0640 "$R/attr.txt"
	touch -d @1234567890 "$R/attr.txt"
	mkdir "$R/attrdir"
	[ "$(stat -c '%s %a %Y %F' "$M/attr.txt")" = "12 640 1234567890 regular file" ]
	[ "$(stat -c '%F' "$M/attrdir")" = directory ]
	[ "$(fsop stat "$M/missing")" = ENOENT ]
	# a path through a regular file
	[ "$(fsop stat "$M/attr.txt/x")" = ENOTDIR ]
}

@test "readdir: names, dot entries and attributes" {
	mkdir -p "$R/list/sub"
	printf a >"$R/list/one"
	printf bb >"$R/list/two"
	ln -s one "$R/list/link"
	[ "$(ls -A "$M/list" | sort | tr '\n' ' ')" = "link one sub two " ]
	[ "$(ls -fa "$M/list" | grep -c '^\.\{1,2\}$')" = 2 ]
	[ "$(stat -c '%s %F' "$M/list/two")" = "2 regular file" ]
	[ "$(stat -c '%F' "$M/list/link")" = "symbolic link" ]
	[ "$(fsop open "$M/list/one" rdonly,directory)" = ENOTDIR ]
}

@test "create, write and read: bytes equal on the server" {
	head -c 3000000 /dev/urandom >"$TOP/random"
	cp "$TOP/random" "$M/random"
	cmp "$TOP/random" "$R/random"
	cmp "$R/random" "$M/random"
	printf 'hello\n' >"$M/small"
	[ "$(cat "$R/small")" = hello ]
	[ "$(stat -c %a "$R/small")" = "$(printf '%o' $((0666 & ~$(umask))))" ]
}

@test "close-to-open: data is on the server when close returns" {
	for i in 1 2 3 4 5; do
		printf 'round %s\n' "$i" >"$M/cto"
		[ "$(cat "$R/cto")" = "round $i" ]
	done
}

@test "O_EXCL on an existing file is EEXIST; O_CREAT alone opens it" {
	printf x >"$R/excl"
	[ "$(fsop open "$M/excl" wronly,creat,excl)" = EEXIST ]
	[ "$(fsop open "$M/excl" wronly,creat)" = OK ]
	[ "$(cat "$R/excl")" = x ]
	[ "$(fsop open "$M/newexcl" wronly,creat,excl 0600)" = OK ]
	[ "$(stat -c '%a %s' "$R/newexcl")" = "600 0" ]
	[ "$(fsop open "$M/nothere" rdonly)" = ENOENT ]
}

@test "O_TRUNC empties the file on the server" {
	printf 'long content' >"$R/trunc"
	[ "$(fsop open "$M/trunc" wronly,trunc)" = OK ]
	[ "$(stat -c %s "$R/trunc")" = 0 ]
	printf 'again' >"$R/trunc2"
	: >"$M/trunc2"
	[ "$(stat -c %s "$R/trunc2")" = 0 ]
}

@test "O_APPEND writes land at the end even if the file grew remotely" {
	printf 'one\n' >"$M/app"
	exec 5>>"$M/app"
	printf "two\n" >&5
	printf 'remote\n' >>"$R/app"
	printf "three\n" >&5
	exec 5>&-
	[ "$(cat "$R/app")" = "$(printf 'one\ntwo\nremote\nthree')" ]
}

@test "write and read at offsets beyond 4 GiB (sparse file)" {
	[ "$(fsop pwrite "$M/sparse" 5368709120 tail-data)" = OK ]
	[ "$(stat -c %s "$R/sparse")" = 5368709129 ]
	[ "$(fsop pread "$R/sparse" 5368709120 9)" = tail-data ]
	[ "$(fsop pread "$M/sparse" 5368709120 9)" = tail-data ]
	[ "$(fsop pwrite "$M/sparse" 4294967295 X)" = OK ]
	[ "$(dd if="$R/sparse" bs=1 skip=4294967295 count=1 status=none)" = X ]
	# the hole reads as zeros
	[ "$(dd if="$M/sparse" bs=1 skip=4000000000 count=4 status=none | od -An -tx1 | tr -d ' ')" = 00000000 ]
}

@test "mkdir and rmdir, with EEXIST, ENOTEMPTY, ENOTDIR and ENOENT" {
	mkdir "$M/d1"
	[ -d "$R/d1" ]
	[ "$(fsop mkdir "$M/d1")" = EEXIST ]
	# through the mount: the server-side view of a directory this mount
	# just made is cached (daemon-cache.bats)
	printf x >"$M/d1/f"
	[ "$(fsop rmdir "$M/d1")" = ENOTEMPTY ]
	[ -f "$R/d1/f" ]
	[ "$(fsop rmdir "$M/d1/f")" = ENOTDIR ]
	[ "$(fsop rmdir "$M/nodir")" = ENOENT ]
	[ "$(fsop mkdir "$M/nodir/sub")" = ENOENT ]
	rm "$R/d1/f"
	rmdir "$M/d1"
	[ ! -e "$R/d1" ]
	mkdir -m 0700 "$M/d2"
	[ "$(stat -c %a "$R/d2")" = 700 ]
}

@test "unlink, with EISDIR and ENOENT" {
	printf x >"$R/gone"
	rm "$M/gone"
	[ ! -e "$R/gone" ]
	[ "$(fsop unlink "$M/gone")" = ENOENT ]
	mkdir "$R/adir"
	[ "$(fsop unlink "$M/adir")" = EISDIR ]
	[ -d "$R/adir" ]
}

@test "unlink of an open file leaves no .fuse_hidden file behind" {
	printf data >"$R/openrm"
	exec 6<"$M/openrm"
	rm "$M/openrm"
	[ ! -e "$R/openrm" ]
	[ -z "$(ls -A "$R" | grep fuse_hidden || true)" ]
	exec 6<&-
	[ -z "$(ls -A "$R" | grep fuse_hidden || true)" ]
}

@test "an unlinked open file: reads, writes and ftruncate go on; calls without the descriptor's handle fail with ESTALE" {
	printf data >"$R/ul1"
	hook="test ! -e '$R/ul1' && test ! -e '$M/ul1'"
	# fstat, fchmod and futimens reach libfuse without a file handle, and
	# with hard_remove it has no name for the file any more (man page, BUGS)
	[ "$(fsop unlinked "$M/ul1" "$hook")" = "ESTALE OK data+tail ESTALE OK ESTALE 4 OK" ]
	[ -z "$(ls -A "$R" | grep fuse_hidden || true)" ]
	[ "$(fsop open "$M/ul1" creat,excl,wronly)" = OK ]
	[ "$(stat -c %s "$R/ul1")" = 0 ]
}

@test "a file renamed over while open: the new file takes the name, the descriptor reads the old one" {
	mkdir "$R/rod"
	printf old >"$R/rod/t"
	printf new >"$R/rod/s"
	exec 7<"$M/rod/t"
	mv "$M/rod/s" "$M/rod/t"
	[ "$(cat "$R/rod/t")" = new ]
	[ "$(cat "$M/rod/t")" = new ]
	[ "$(ls -A "$R/rod")" = t ]
	# a change by the name reaches the new file
	chmod 0600 "$M/rod/t"
	[ "$(stat -c %a "$R/rod/t")" = 600 ]
	IFS= read -r -n 3 got <&7 || true
	[ "$got" = old ]
	exec 7<&-
	[ "$(cat "$R/rod/t")" = new ]
}

@test "rename replaces atomically; errors as rename(2) gives them" {
	printf new >"$R/rsrc"
	printf old >"$R/rdst"
	mv "$M/rsrc" "$M/rdst"
	[ "$(cat "$R/rdst")" = new ]
	[ ! -e "$R/rsrc" ]
	mkdir -p "$R/rd1" "$R/rd2/x" "$R/rd3"
	printf f >"$R/rfile"
	[ "$(fsop rename "$M/rd1" "$M/rd2")" = ENOTEMPTY ]
	[ "$(fsop rename "$M/rd1" "$M/rfile")" = ENOTDIR ]
	[ "$(fsop rename "$M/rfile" "$M/rd1")" = EISDIR ]
	[ "$(fsop rename "$M/nosuch" "$M/x")" = ENOENT ]
	[ "$(fsop rename "$M/rd1" "$M/rd3")" = OK ]
	[ ! -e "$R/rd1" ] && [ -d "$R/rd3" ]
}

@test "rename: RENAME_NOREPLACE honoured, RENAME_EXCHANGE is EINVAL" {
	printf a >"$R/na"
	printf b >"$R/nb"
	[ "$(fsop rename "$M/na" "$M/nb" noreplace)" = EEXIST ]
	[ "$(cat "$R/na")$(cat "$R/nb")" = ab ]
	[ "$(fsop rename "$M/na" "$M/nc" noreplace)" = OK ]
	[ "$(cat "$R/nc")" = a ] && [ ! -e "$R/na" ]
	[ "$(fsop rename "$M/nb" "$M/nc" exchange)" = EINVAL ]
	[ "$(cat "$R/nb")$(cat "$R/nc")" = ba ]
}

@test "symlink and readlink" {
	ln -s some/target "$M/sl"
	[ "$(readlink "$R/sl")" = some/target ]
	ln -s /absolute/path "$R/sl2"
	[ "$(readlink "$M/sl2")" = /absolute/path ]
	[ "$(fsop symlink x "$M/sl")" = EEXIST ]
	printf content >"$R/real"
	ln -s real "$R/tothereal"
	[ "$(cat "$M/tothereal")" = content ]
}

@test "link: hard links through hardlink@openssh.com" {
	printf hard >"$R/h1"
	ln "$M/h1" "$M/h2"
	[ "$(stat -c %h "$R/h1")" = 2 ]
	[ "$(stat -c %i "$R/h1")" = "$(stat -c %i "$R/h2")" ]
	[ "$(fsop link "$M/h1" "$M/h2")" = EEXIST ]
	[ "$(fsop link "$M/nosuch" "$M/h3")" = ENOENT ]
}

@test "chmod and chown reach the server" {
	printf x >"$R/perm"
	chmod 0604 "$M/perm"
	[ "$(stat -c %a "$R/perm")" = 604 ]
	chown 1234:5678 "$M/perm"
	[ "$(stat -c '%u %g' "$R/perm")" = "1234 5678" ]
	chown 4321 "$M/perm"
	[ "$(stat -c '%u %g' "$R/perm")" = "4321 5678" ]
	chgrp 8765 "$M/perm"
	[ "$(stat -c '%u %g' "$R/perm")" = "4321 8765" ]
	[ "$(stat -c '%u %g' "$M/perm")" = "4321 8765" ]
}

@test "truncate and ftruncate" {
	printf 0123456789 >"$R/tr"
	truncate -s 4 "$M/tr"
	[ "$(cat "$R/tr")" = 0123 ]
	truncate -s 10000 "$M/tr"
	[ "$(stat -c %s "$R/tr")" = 10000 ]
	[ "$(fsop ftruncate "$M/tr" 2)" = OK ]
	[ "$(cat "$R/tr")" = 01 ]
}

@test "utimens: explicit times, UTIME_NOW and UTIME_OMIT" {
	printf x >"$R/times"
	touch -d @1000000000 "$M/times"
	[ "$(stat -c '%X %Y' "$R/times")" = "1000000000 1000000000" ]
	# -m changes mtime only: atime is UTIME_OMIT
	touch -m -d @1100000000 "$M/times"
	[ "$(stat -c '%X %Y' "$R/times")" = "1000000000 1100000000" ]
	touch -a -d @1200000000 "$M/times"
	[ "$(stat -c '%X %Y' "$R/times")" = "1200000000 1100000000" ]
	before=$(date +%s)
	touch "$M/times"
	[ "$(stat -c %Y "$R/times")" -ge "$before" ]
}

@test "fsync succeeds and the data is on the server" {
	printf 'sync me' >"$M/fs"
	[ "$(fsop fsync "$M/fs")" = OK ]
	dd if=/dev/zero of="$M/fs2" bs=64k count=4 conv=fsync status=none
	[ "$(stat -c %s "$R/fs2")" = 262144 ]
}

@test "statfs shows the server's numbers" {
	read -r mb ms mf < <(stat -f -c '%b %S %f' "$M")
	read -r rb rs rf < <(stat -f -c '%b %S %f' "$R")
	[ $((mb * ms)) = $((rb * rs)) ]
	# free space may move a little between the two calls
	diff=$(( (mf * ms - rf * rs) / 1048576 ))
	[ "${diff#-}" -lt 64 ]
}

@test "copy_file_range copies on the server side" {
	head -c 200000 /dev/urandom >"$R/cfr-src"
	[ "$(fsop copy "$M/cfr-src" "$M/cfr-dst")" = OK ]
	cmp "$R/cfr-src" "$R/cfr-dst"
}

@test "access" {
	printf x >"$R/acc"
	chmod 0644 "$R/acc"
	[ "$(fsop access "$M/acc" f)" = OK ]
	[ "$(fsop access "$M/acc" rw)" = OK ]
	[ "$(fsop access "$M/acc" x)" = EACCES ]
	[ "$(fsop access "$M/noacc" f)" = ENOENT ]
}

@test "mknod: regular files are created, other types are EPERM" {
	[ "$(fsop mknod "$M/node" reg)" = OK ]
	[ -f "$R/node" ]
	[ "$(fsop mknod "$M/fifo" fifo)" = EPERM ]
	[ "$(fsop mknod "$M/chr" chr)" = EPERM ]
	[ ! -e "$R/fifo" ] && [ ! -e "$R/chr" ]
}

@test "extended attributes are not supported" {
	printf x >"$R/xa"
	[ "$(fsop setxattr "$M/xa")" = EOPNOTSUPP ]
	[ "$(fsop getxattr "$M/xa")" = EOPNOTSUPP ]
	[ "$(fsop removexattr "$M/xa")" = EOPNOTSUPP ]
}

@test "lutimes and lchown on a symlink change the link, not its target" {
	printf t >"$R/lt-target"
	touch -d @1400000000 "$R/lt-target"
	ln -s lt-target "$R/lt-link"
	touch -h -d @1300000000 "$M/lt-link"
	[ "$(stat -c %Y "$R/lt-target")" = 1400000000 ]
	[ "$(stat -c %Y "$R/lt-link")" = 1300000000 ]
	chown -h 1111:2222 "$M/lt-link"
	[ "$(stat -c '%u %g' "$R/lt-link")" = "1111 2222" ]
	[ "$(stat -c '%u %g' "$R/lt-target")" = "$(id -u) $(id -g)" ]
}

@test "readdir of a directory larger than one READDIR reply" {
	mkdir "$R/big"
	(cd "$R/big" && seq -f 'file-with-a-longish-name-%05g' 1 1500 | xargs touch)
	[ "$(ls "$M/big" | wc -l)" = 1500 ]
	diff <(ls "$R/big") <(ls "$M/big")
}
