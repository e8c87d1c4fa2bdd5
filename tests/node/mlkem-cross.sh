#!/bin/sh
# mlkem-cross.sh - make check wrapper for tests/node/mlkem-cross.mjs: installs
# the pinned @noble/post-quantum with `npm ci` (from package-lock.json) into
# the build tree, then runs the cross-implementation rounds (TAP on stdout).
# A missing node or npm is a failure, not a skip.
set -u
src=${top_srcdir:-.}/tests/node
work=${top_builddir:-.}/tests/node-work
tool=${top_builddir:-.}/tests/tools/mlkem-tool
rounds=${MLKEM_CROSS_ROUNDS:-100}

fail() {
	echo "1..1"
	echo "not ok 1 - $*"
	exit 1
}
command -v node >/dev/null 2>&1 || fail "node is not installed (Debian package nodejs)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (Debian package npm)"
[ -x "$tool" ] || fail "$tool not built"
mkdir -p "$work" || fail "cannot create $work"
cp "$src/package.json" "$src/package-lock.json" "$src/mlkem-cross.mjs" "$work/" || fail "cannot copy test files"
# npm ci only when the installed tree does not match the lock file.
if ! cmp -s "$src/package-lock.json" "$work/node_modules/.sftpfs-lock" 2>/dev/null; then
	(cd "$work" && npm ci --no-audit --no-fund --ignore-scripts >npm-ci.log 2>&1) ||
		fail "npm ci failed: $(tail -n 5 "$work/npm-ci.log" | tr '\n' ' ')"
	cp "$src/package-lock.json" "$work/node_modules/.sftpfs-lock"
fi
cd "$work" && exec node mlkem-cross.mjs "$tool" "$rounds"
