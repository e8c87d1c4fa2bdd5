#!/bin/sh
# daemon-docs.sh - every option sftpfs --help lists (the unit test
# test-options checks that --help lists every option of the table) is
# documented in man/sftpfs.1, and the man page renders without warnings.
# Prints TAP.
top_srcdir=${top_srcdir:-$(dirname "$0")/../..}
top_builddir=${top_builddir:-.}
man=$top_srcdir/man/sftpfs.1
bin=$top_builddir/fuse/sftpfs
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1"; fail=1; }

if [ ! -x "$bin" ] || [ ! -f "$man" ]; then
	echo "not ok 1 - precondition: $bin and $man exist"
	echo "1..1"
	exit 1
fi
# The man page with roff escapes and quotes removed: "\-o name=" -> "-o name=".
text=$(sed -e 's/\\-/-/g' -e 's/"//g' "$man")
opts=$("$bin" --help | sed -n 's/^    -o \([^ ]*\).*/\1/p' | sed -e 's/[=[].*//' -e 's/\*$//')
count=0
for o in $opts; do
	case $o in OPT | Keyword) continue ;; esac
	count=$((count + 1))
	if printf '%s\n' "$text" | grep -qF -- "-o $o"; then
		ok "man page documents -o $o"
	else
		notok "man page documents -o $o"
	fi
done
[ "$count" -gt 80 ] && ok "--help lists $count options" || notok "--help lists enough options ($count)"
for f in -h --help -V --version -f -d --debug -v --verbose -s -p -C -F; do
	if printf '%s\n' "$text" | grep -qE -- "^\.(B|BR|BI) (-[a-zA-Z] *, *)?$f( |\$)"; then
		ok "man page documents $f"
	else
		notok "man page documents $f"
	fi
done
if command -v groff >/dev/null; then
	warn=$(groff -man -ww -z "$man" 2>&1)
	[ -z "$warn" ] && ok "man page renders without warnings" || { notok "man page renders without warnings"; printf '# %s\n' "$warn"; }
else
	notok "groff present (apt-get install groff-base)"
fi
echo "1..$n"
exit $fail
