# Replays the fuzz-agent-reply corpus (sourced by the TAP log driver through $(SHELL)).
exec "${top_builddir}/tests/fuzz/fuzz-agent-reply" "${top_srcdir}/tests/fuzz/corpus/agent-reply"
