# sshconfig-oracle.sh - the `ssh -G` oracle: for every case in
# tests/vectors/sshconfig/cases, resolves the configuration with our resolver
# (tests/tools/sshconfig-dump) and with OpenSSH (`ssh -G -F file ...`) and
# compares every keyword sftpfs implements, value for value. A case where ssh
# refuses the configuration must be refused by us too, and vice versa.
# HOME points at a private directory holding the corpus's ~/.ssh files, so the
# machine's ~/.ssh is never read (relative Include paths resolve there).
# Prints TAP, one test point per case.
set -u
vectors="$top_srcdir/tests/vectors/sshconfig"
dump="$top_builddir/tests/tools/sshconfig-dump"
keywords='host user hostname port addressfamily batchmode compression hashknownhosts
identitiesonly kbdinteractiveauthentication passwordauthentication pubkeyauthentication
stricthostkeychecking tcpkeepalive updatehostkeys serveralivecountmax serveraliveinterval
bindaddress ciphers hostkeyalgorithms kexalgorithms macs pubkeyacceptedalgorithms
identityagent loglevel preferredauthentications identityfile certificatefile
globalknownhostsfile userknownhostsfile connecttimeout rekeylimit proxycommand proxyjump'

if ! command -v ssh >/dev/null 2>&1; then
	echo "1..1"
	echo "not ok 1 - precondition: ssh (openssh-client) is not installed"
	exit 1
fi
[ -x "$dump" ] || { echo "1..1"; echo "not ok 1 - $dump not built"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sftpfs-oracle.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home/.ssh"
cp -R "$vectors/home-ssh/." "$work/home/.ssh/"
chmod -R go-w "$work/home"
HOME="$work/home"
export HOME

# Keep only our keywords, in a stable order (multi-valued keywords keep theirs).
filter() {
	awk -v kw="$keywords" 'BEGIN { n = split(kw, k, /[ \n]+/); for (i = 1; i <= n; i++) want[k[i]] = i }
		($1 in want) { printf "%03d %06d %s\n", want[$1], NR, $0 }' | sort | cut -d' ' -f3-
}

n=0
fail=0
total=$(grep -cvE '^(#|$)' "$vectors/cases")
echo "1..$total"
while IFS= read -r line; do
	case "$line" in '#'* | '') continue ;; esac
	n=$((n + 1))
	file=$(printf '%s' "$line" | sed 's/ *|.*//')
	args=$(printf '%s' "$line" | sed 's/^[^|]*| *//')
	cp "$vectors/$file" "$work/config"
	# shellcheck disable=SC2086
	ssh -G -F "$work/config" $args </dev/null >"$work/theirs.raw" 2>"$work/theirs.err"
	theirs_rc=$?
	# shellcheck disable=SC2086
	"$dump" -F "$work/config" $args >"$work/ours.raw" 2>"$work/ours.err"
	ours_rc=$?
	if [ $theirs_rc -ne 0 ] || [ $ours_rc -ne 0 ]; then
		if [ $theirs_rc -ne 0 ] && [ $ours_rc -ne 0 ]; then
			echo "ok $n - $file $args: both refuse ($(head -n 1 "$work/ours.err"))"
		else
			echo "not ok $n - $file $args: ssh exit $theirs_rc, ours $ours_rc"
			sed 's/^/# ssh: /' "$work/theirs.err" | head -n 5
			sed 's/^/# ours: /' "$work/ours.err" | head -n 5
			fail=1
		fi
		continue
	fi
	filter <"$work/theirs.raw" >"$work/theirs"
	filter <"$work/ours.raw" >"$work/ours"
	if diff -u "$work/theirs" "$work/ours" >"$work/diff"; then
		echo "ok $n - $file $args"
	else
		echo "not ok $n - $file $args"
		sed 's/^/# /' "$work/diff"
		fail=1
	fi
done <"$vectors/cases"
exit $fail
