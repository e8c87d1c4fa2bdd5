# Replays the fuzz-kex-hybrid-reply corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-kex-hybrid-reply" "${top_srcdir}/tests/fuzz/corpus/kex-hybrid-reply"
