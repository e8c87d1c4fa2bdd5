# Replays the fuzz-sshconfig corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-sshconfig" "${top_srcdir}/tests/fuzz/corpus/sshconfig"
