# deps.sh - sourced by scripts/check, scripts/demo and scripts/package:
# installs the Debian packages that are missing, and only those.
# Package lists live in scripts/deps/*.txt, one package per line ('#' comments),
# one file per purpose: build.txt, runtime.txt, test-*.txt, bench.txt, package.txt.

deps_list() { # file names without .txt
	local f
	for f in "$@"; do
		[ -f "scripts/deps/$f.txt" ] && sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "scripts/deps/$f.txt"
	done | sort -u
}

deps_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || printf '%s\n' "$p"
	done
}

deps_install() { # package names
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

# All test-time lists: every scripts/deps/test-*.txt.
deps_test_lists() {
	local f
	for f in scripts/deps/test-*.txt; do
		[ -f "$f" ] && basename "$f" .txt
	done
}
