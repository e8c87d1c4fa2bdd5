# Replays the fuzz-kexinit corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-kexinit" "${top_srcdir}/tests/fuzz/corpus/kexinit"
