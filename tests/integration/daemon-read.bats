#!/usr/bin/env bats
# Reads through a real sftpfs mount with read-ahead (fuse/readahead.c):
# large sequential reads, two readers at once, reads at the end of a file,
# a write through the same open file descriptor in the middle of a stream,
# and the kernel's read-ahead raised on the mount. Every byte is compared
# with the server's file. The server is OpenSSH's sftp-server reached through
# -o directport, as in daemon-ops.bats.

load lib/fuse
load lib/daemon

setup_file() {
	daemon_require
	command -v perl >/dev/null || { echo "precondition failed: perl missing" >&2; return 1; }
	TOP=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-read.XXXXXX")
	R=$TOP/remote
	M=$TOP/mnt
	N=$TOP/mnt-noahead
	mkdir -p "$R" "$M" "$N"
	export TOP R M N
	daemon_server_start "$R"
	daemon_mount "127.0.0.1:$R" "$M"
	daemon_mount "127.0.0.1:$R" "$N" -o no_readahead
}

teardown_file() {
	daemon_unmount "$M"
	daemon_unmount "$N"
	daemon_server_stop
	rm -rf "$TOP"
}

sha() {
	sha256sum "$@" | cut -d' ' -f1
}

@test "64 MiB random file read with dd equals the server file" {
	head -c $((64 * 1024 * 1024)) /dev/urandom >"$R/big"
	want=$(sha "$R/big")
	[ "$(dd if="$M/big" bs=1M status=none | sha256sum | cut -d' ' -f1)" = "$want" ]
	# Odd request sizes and a second pass (fresh open) as well.
	[ "$(dd if="$M/big" bs=77777 status=none | sha256sum | cut -d' ' -f1)" = "$want" ]
	# The same without read-ahead.
	[ "$(dd if="$N/big" bs=1M status=none | sha256sum | cut -d' ' -f1)" = "$want" ]
}

@test "the kernel reads ahead 1 MiB on the mount, not on a no_readahead mount" {
	[ "$(cat "/sys/class/bdi/$(mountpoint -d "$M")/read_ahead_kb")" = 1024 ]
	[ "$(cat "/sys/class/bdi/$(mountpoint -d "$N")/read_ahead_kb")" != 1024 ]
}

@test "two readers of two files at once" {
	head -c $((24 * 1024 * 1024 + 12345)) /dev/urandom >"$R/one"
	head -c $((20 * 1024 * 1024 + 999)) /dev/urandom >"$R/two"
	dd if="$M/one" bs=128k status=none | sha256sum | cut -d' ' -f1 >"$TOP/one.sum" &
	p1=$!
	dd if="$M/two" bs=1M status=none | sha256sum | cut -d' ' -f1 >"$TOP/two.sum" &
	p2=$!
	wait "$p1"
	wait "$p2"
	[ "$(cat "$TOP/one.sum")" = "$(sha "$R/one")" ]
	[ "$(cat "$TOP/two.sum")" = "$(sha "$R/two")" ]
}

@test "end of file: sizes around the server's read length" {
	for n in 0 1 4095 4096 261119 261120 261121 1000003; do
		head -c "$n" /dev/urandom >"$R/eof.$n"
		[ "$(sha <"$M/eof.$n")" = "$(sha "$R/eof.$n")" ]
		[ "$(stat -c %s "$M/eof.$n")" = "$n" ]
	done
}

# rw_stream PATH OUT FLAGS WOFF: on one open descriptor (FLAGS: "" or
# "direct" for O_DIRECT, which bypasses the page cache so every read reaches
# the daemon), reads 1 MiB in 128 KiB pieces, lets the read-ahead run,
# writes 12000 bytes at WOFF, goes back to 1 MiB and reads to the end into OUT.
rw_stream() {
	perl -e '
		use strict;
		use Fcntl;
		my ($path, $out, $flags, $woff) = @ARGV;
		my $mode = O_RDWR | ($flags eq "direct" ? O_DIRECT : 0);
		sysopen(my $fh, $path, $mode) or die "open: $!";
		binmode $fh;
		my $buf;
		for (my $i = 0; $i < 8; $i++) {
			sysread($fh, $buf, 131072) == 131072 or die "read: $!";
		}
		select(undef, undef, undef, 0.3);
		sysseek($fh, $woff, 0) or die "seek: $!";
		syswrite($fh, "fresh bytes " x 1000) == 12000 or die "write: $!";
		sysseek($fh, 1048576, 0) or die "seek: $!";
		open(my $o, ">", $out) or die "out: $!";
		binmode $o;
		while ((my $n = sysread($fh, $buf, 131072)) > 0) {
			print $o $buf;
		}
		close($o) or die "close: $!";
	' "$@"
}

# A write through the open descriptor while the stream is being read ahead:
# what follows must be the new bytes, as on the server.
@test "a write through the same open fd in the middle of a stream reads back right" {
	for flags in direct ""; do
		head -c $((8 * 1024 * 1024)) /dev/urandom >"$R/rw"
		rw_stream "$M/rw" "$TOP/rw.tail" "$flags" $((1048576 + 200000))
		tail -c +$((1048576 + 1)) "$R/rw" >"$TOP/rw.server"
		grep -q "fresh bytes" "$TOP/rw.server"
		cmp "$TOP/rw.tail" "$TOP/rw.server"
	done
}

# The connection dies in the middle of a stream (its sftp-server killed):
# with -o reconnect the file is reopened on a new connection, the read-ahead
# starts again from the new handle, and the bytes are still the file's.
@test "a stream across a lost connection (reconnect) reads the right bytes" {
	local C=$TOP/mnt-reconnect server
	mkdir -p "$C"
	head -c $((32 * 1024 * 1024)) /dev/urandom >"$R/cut"
	daemon_mount "127.0.0.1:$R" "$C" -o reconnect
	exec 5<"$C/cut"
	dd bs=1M count=8 iflag=fullblock status=none <&5 >"$TOP/cut.1"
	# the newest sftp-server in $R is the one serving this mount
	server=$(pgrep -f -x "$SFTP_SERVER_BIN" | while read -r p; do
		[ "$(readlink "/proc/$p/cwd")" = "$R" ] && echo "$p"; done | sort -n | tail -n 1)
	[ -n "$server" ]
	kill "$server"
	sleep 0.3
	dd bs=1M status=none <&5 >"$TOP/cut.2"
	exec 5<&-
	daemon_unmount "$C"
	[ "$(cat "$TOP/cut.1" "$TOP/cut.2" | sha256sum | cut -d' ' -f1)" = "$(sha "$R/cut")" ]
}
