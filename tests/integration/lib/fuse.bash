# fuse.bash - preconditions and helpers for tests that mount through /dev/fuse.

fuse_require() {
	[ -c /dev/fuse ] || { echo "precondition failed: /dev/fuse is missing (modprobe fuse)" >&2; return 1; }
	command -v fusermount3 >/dev/null || { echo "precondition failed: fusermount3 missing (apt-get install fuse3)" >&2; return 1; }
	[ "$(id -u)" = 0 ] || { echo "precondition failed: integration tests run as root" >&2; return 1; }
}

# Waits until $1 is (or, with "not", is no longer) a mount point.
wait_mounted() {
	local i
	for i in $(seq 1 100); do
		mountpoint -q "$1" && return 0
		sleep 0.05
	done
	return 1
}

wait_unmounted() {
	local i
	for i in $(seq 1 100); do
		mountpoint -q "$1" || return 0
		sleep 0.05
	done
	return 1
}
