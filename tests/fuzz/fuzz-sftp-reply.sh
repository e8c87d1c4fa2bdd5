# Replays the fuzz-sftp-reply corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-sftp-reply" "${top_srcdir}/tests/fuzz/corpus/sftp-reply"
