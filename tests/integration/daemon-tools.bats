#!/usr/bin/env bats
# Real-world use of an sftpfs mount, as a user would: editors' save patterns,
# git, cp -a, rsync -a, tar in and out, and two mounts of the same remote.
# Mounted over the built-in SSH client against a private sshd; every result
# is checked on the server side.

load lib/sshd
load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	for tool in vim git rsync tar; do
		command -v "$tool" >/dev/null || { echo "precondition failed: $tool missing (scripts/deps/test-daemon.txt)" >&2; return 1; }
	done
	sshd_start
	M=$SSHD_DIR/mnt
	M2=$SSHD_DIR/mnt2
	mkdir -p "$M" "$M2"
	export M M2
	tools_mount "$M"
}

teardown_file() {
	daemon_unmount "$M2"
	daemon_unmount "$M"
	sshd_stop
}

tools_mount() {
	"$SFTPFS" "$SSHD_USER@127.0.0.1:$SSHD_REMOTE" "$1" -p "$SSHD_PORT" -F /dev/null \
		-o "IdentityFile=$SSHD_USER_KEY,UserKnownHostsFile=$SSHD_KNOWN_HOSTS" \
		-o GlobalKnownHostsFile=/dev/null,StrictHostKeyChecking=yes,BatchMode=yes,IdentitiesOnly=yes \
		-o dcache_timeout=1
	wait_mounted "$1"
}

@test "vim saves with swap and backup files" {
	printf 'old line\nsecond\n' >"$SSHD_REMOTE/edit.txt"
	# backupskip= because the default skips files under /tmp
	HOME=$SSHD_DIR vim -es -u NONE -i NONE \
		--cmd 'set nocompatible backup writebackup backupskip= swapfile directory=. backupdir=. updatecount=1' \
		-c '%s/old/new/' -c 'w' -c "call writefile(glob(expand('%:p:h') . '/.*.sw?', 0, 1), '$SSHD_DIR/swaps')" -c 'q' \
		"$M/edit.txt"
	[ "$(cat "$SSHD_REMOTE/edit.txt")" = "$(printf 'new line\nsecond')" ]
	[ "$(cat "$SSHD_REMOTE/edit.txt~")" = "$(printf 'old line\nsecond')" ]
	# the swap file existed on the server while editing, and is gone
	[ "$(cat "$SSHD_DIR/swaps")" = "$M/.edit.txt.swp" ]
	[ -z "$(ls -A "$SSHD_REMOTE" | grep '\.sw.$' || true)" ]
}

@test "sed -i and write-to-temp-then-rename" {
	# written through the mount: this mount listed the directory just
	# before, and a fresh cached listing answers ENOENT (daemon-cache.bats)
	printf 'alpha\nbeta\n' >"$M/sed.txt"
	sed -i 's/beta/gamma/' "$M/sed.txt"
	[ "$(cat "$SSHD_REMOTE/sed.txt")" = "$(printf 'alpha\ngamma')" ]
	printf 'v1\n' >"$M/nano.txt"
	printf 'v2\n' >"$M/.nano.txt.tmp"
	mv "$M/.nano.txt.tmp" "$M/nano.txt"
	[ "$(cat "$SSHD_REMOTE/nano.txt")" = v2 ]
	[ ! -e "$SSHD_REMOTE/.nano.txt.tmp" ]
}

@test "git clone, status and commit inside the mount" {
	src=$SSHD_DIR/src
	git init -q "$src"
	printf 'readme\n' >"$src/README"
	mkdir "$src/lib"
	printf 'code\n' >"$src/lib/a.c"
	git -C "$src" add -A
	git -C "$src" -c user.name=t -c user.email=t@t commit -q -m initial
	git clone -q "$src" "$M/clone"
	[ -z "$(git -C "$M/clone" status --porcelain)" ]
	printf 'more\n' >>"$M/clone/README"
	[ "$(git -C "$M/clone" status --porcelain)" = " M README" ]
	git -C "$M/clone" -c user.name=t -c user.email=t@t commit -q -am second
	[ "$(git -C "$SSHD_REMOTE/clone" log --format=%s | tr '\n' ' ')" = "second initial " ]
	git -C "$SSHD_REMOTE/clone" fsck --strict 2>&1
	[ "$(cat "$SSHD_REMOTE/clone/README")" = "$(printf 'readme\nmore')" ]
}

# A small tree with modes, times, a symlink, an empty file and a subdirectory.
make_tree() {
	mkdir -p "$1/sub/deeper"
	printf 'one\n' >"$1/one"
	head -c 70000 /dev/urandom >"$1/sub/binary"
	: >"$1/sub/empty"
	printf 'x\n' >"$1/sub/deeper/script"
	chmod 0750 "$1/sub/deeper/script"
	chmod 0600 "$1/one"
	ln -s ../one "$1/sub/link"
	touch -h -d @1500000000 "$1/one" "$1/sub/binary"
}

# Name, mode, size, whole-second mtime and link target of every entry.
listing() {
	(cd "$1" && find . -printf '%p %M %s %TY%Tm%Td%TH%TM%.2TS %l\n' | sort)
}

@test "cp -a into the mount keeps content, modes, times and symlinks" {
	make_tree "$SSHD_DIR/tree1"
	cp -a "$SSHD_DIR/tree1" "$M/cpa"
	diff -r "$SSHD_DIR/tree1" "$SSHD_REMOTE/cpa"
	diff <(listing "$SSHD_DIR/tree1" | grep -v '^\. ') <(listing "$SSHD_REMOTE/cpa" | grep -v '^\. ')
}

@test "rsync -a into the mount" {
	make_tree "$SSHD_DIR/tree2"
	rsync -a "$SSHD_DIR/tree2/" "$M/rs/"
	diff -r "$SSHD_DIR/tree2" "$SSHD_REMOTE/rs"
	diff <(listing "$SSHD_DIR/tree2" | grep -v '^\. ') <(listing "$SSHD_REMOTE/rs" | grep -v '^\. ')
	printf 'changed\n' >"$SSHD_DIR/tree2/one"
	rsync -a "$SSHD_DIR/tree2/" "$M/rs/"
	[ "$(cat "$SSHD_REMOTE/rs/one")" = changed ]
}

@test "tar x into the mount and tar c out of it" {
	make_tree "$SSHD_DIR/tree3"
	tar -C "$SSHD_DIR/tree3" -cf "$SSHD_DIR/in.tar" .
	mkdir "$M/untar"
	tar -C "$M/untar" -xf "$SSHD_DIR/in.tar"
	diff -r "$SSHD_DIR/tree3" "$SSHD_REMOTE/untar"
	tar -C "$M/untar" -cf "$SSHD_DIR/out.tar" .
	mkdir "$SSHD_DIR/back"
	tar -C "$SSHD_DIR/back" -xf "$SSHD_DIR/out.tar"
	diff -r "$SSHD_DIR/tree3" "$SSHD_DIR/back"
	diff <(listing "$SSHD_DIR/tree3") <(listing "$SSHD_DIR/back")
}

@test "two mounts of the same remote see each other's changes" {
	tools_mount "$M2"
	printf 'from one\n' >"$M/shared.txt"
	[ "$(cat "$M2/shared.txt")" = "from one" ]
	# the daemon's cache (dcache_timeout=1) and the kernel's (1 s)
	sleep 2.2
	printf 'from two, longer\n' >"$M2/shared.txt"
	sleep 2.2
	[ "$(cat "$M/shared.txt")" = "from two, longer" ]
	rm "$M2/shared.txt"
	sleep 2.2
	[ ! -e "$M/shared.txt" ]
}
