# Replays the fuzz-transport corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-transport" "${top_srcdir}/tests/fuzz/corpus/transport"
