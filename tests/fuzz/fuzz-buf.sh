# Replays the fuzz-buf corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-buf" "${top_srcdir}/tests/fuzz/corpus/buf"
