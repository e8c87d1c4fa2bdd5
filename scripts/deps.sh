# deps.sh - sourced by scripts/check, scripts/demo and scripts/package:
# installs the Debian packages that are missing, and only those.
# Usage: deps_install pkg...

deps_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$p"
	done
}

deps_install() {
	local missing sudo=
	missing=$(deps_missing "$@")
	if [ -z "$missing" ]; then
		echo "==> packages: all $# present"
		return 0
	fi
	[ "$(id -u)" = 0 ] || sudo=sudo
	echo "==> installing missing packages:" $missing
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
	# shellcheck disable=SC2086
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing || return 1
}

# Build-time packages.
DEPS_BUILD="build-essential autoconf automake autoconf-archive pkg-config libfuse3-dev libssl-dev zlib1g-dev libglib2.0-dev"
# Runtime and test packages.
DEPS_RUNTIME="fuse3 openssh-client"
DEPS_TEST="openssh-server openssh-client bats fuse3 dropbear-bin gesftpserver procps iproute2 valgrind rsync git vim-nox"
