# Replays the fuzz-keyfile corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-keyfile" "${top_srcdir}/tests/fuzz/corpus/keyfile"
