#!/bin/sh
# ct-valgrind.sh - constant-time check of ML-KEM-768 and sntrup761
# decapsulation and encapsulation: runs tests/tools/ct-decaps (secret key bytes and encapsulation randomness marked
# undefined) under valgrind memcheck and fails on any report that a branch
# or a memory address depends on them. Prints TAP. valgrind missing = failure.
set -u
tool=${top_builddir:-.}/tests/tools/ct-decaps
log=${top_builddir:-.}/tests/unit/ct-valgrind.vglog
echo "1..3"
if ! command -v valgrind >/dev/null 2>&1; then
	echo "not ok 1 - valgrind is not installed (Debian package valgrind)"
	echo "not ok 2 - no run"
	echo "not ok 3 - no run"
	exit 1
fi
# Negative control: a deliberate branch on a marked byte must be reported.
valgrind --tool=memcheck --log-file="$log.selftest" "$tool" selftest >/dev/null 2>&1
if grep -q 'Conditional jump or move depends on uninitialised value' "$log.selftest"; then
	echo "ok 1 - memcheck reports a branch on a marked secret (negative control)"
else
	echo "not ok 1 - memcheck did not report the deliberate secret-dependent branch"
fi
valgrind --tool=memcheck --error-exitcode=99 --track-origins=yes --log-file="$log" "$tool" >/dev/null
status=$?
if [ $status -eq 0 ]; then
	echo "ok 2 - decapsulation (valid and modified ciphertexts) and encapsulation ran under memcheck"
else
	echo "not ok 2 - ct-decaps exited with status $status"
fi
if grep -qE 'Conditional jump or move depends on uninitialised value|Use of uninitialised value|Syscall param .* uninitialised' "$log"; then
	echo "not ok 3 - secret-dependent branch or index reported:"
	grep -A12 -E 'Conditional jump|Use of uninitialised|Syscall param' "$log" | head -n 60 | sed 's/^/# /'
	exit 1
fi
echo "ok 3 - no secret-dependent branch or memory index"
[ $status -eq 0 ]
