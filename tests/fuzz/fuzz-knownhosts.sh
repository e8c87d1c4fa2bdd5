# Replays the fuzz-knownhosts corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-knownhosts" "${top_srcdir}/tests/fuzz/corpus/knownhosts"
