# scripts/check.d/packaging.sh - sourced by scripts/check after make check.
# Runs `make check-packaging` (the .deb built from the dist tarball and
# lintian-clean, dpkg -i / -r, rpmbuild -bb, systemd-analyze verify, fstab
# mounts through the installed mount helpers, autofs) and adds each of its
# TAP test points to the final "N passed, N failed, N skipped" line.
# CHECK_PACKAGING=no leaves it out.
if [ "${CHECK_PACKAGING:-yes}" = yes ]; then
	step "make check-packaging"
	pk_out=$top/build/check-packaging.out
	# shellcheck disable=SC2046
	if ! deps_install $(deps_list package) >"$pk_out" 2>&1; then
		failed=$((failed + 1))
		status=1
		echo "FAIL: check-packaging: installing scripts/deps/package.txt failed" >&2
		tail -n 20 "$pk_out" >&2
	else
		(cd "$top/build" && make check-packaging) >>"$pk_out" 2>&1
		pk_status=$?
		pk_pass=$(grep -E '^ok ' "$pk_out" | grep -cv '# SKIP')
		pk_skip=$(grep -cE '^ok .*# SKIP' "$pk_out")
		pk_fail=$(grep -cE '^not ok ' "$pk_out")
		grep -E '^(not ok |ok .*# SKIP)' "$pk_out" | sed 's/^/check-packaging: /'
		if [ "$pk_fail" -gt 0 ]; then
			grep -A 25 -E '^not ok ' "$pk_out" | grep -E '^#' | head -n 60 >&2
		fi
		if [ $pk_status -ne 0 ] && [ "$pk_fail" -eq 0 ]; then
			pk_fail=1 # failed outside a test point
			tail -n 30 "$pk_out" >&2
		fi
		passed=$((passed + pk_pass))
		failed=$((failed + pk_fail))
		skipped=$((skipped + pk_skip))
		[ $pk_status -eq 0 ] || status=1
	fi
fi
