# Replays the fuzz-sshkey-sig corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-sshkey-sig" "${top_srcdir}/tests/fuzz/corpus/sshkey-sig"
