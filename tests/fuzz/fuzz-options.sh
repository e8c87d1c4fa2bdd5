# Replays the fuzz-options corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-options" "${top_srcdir}/tests/fuzz/corpus/options"
