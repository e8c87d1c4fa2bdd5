# Replays the fuzz-packet corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-packet" "${top_srcdir}/tests/fuzz/corpus/packet"
