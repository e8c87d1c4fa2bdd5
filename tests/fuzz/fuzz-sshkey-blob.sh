# Replays the fuzz-sshkey-blob corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-sshkey-blob" "${top_srcdir}/tests/fuzz/corpus/sshkey-blob"
