# Fuzz targets: one per parser. Each target file defines
# LLVMFuzzerTestOneInput; with --enable-fuzzing (clang) it links libFuzzer,
# otherwise tests/fuzz/replay.c provides main() and replays the target's
# corpus directory tests/fuzz/corpus/<name>/ as an ordinary test in make check.
FUZZ_REPLAY_SRC = tests/fuzz/replay.c tests/fuzz/fuzz.h
if FUZZING
FUZZ_COMPILE_FLAGS = -fsanitize=fuzzer
FUZZ_LINK_FLAGS = -fsanitize=fuzzer
FUZZ_MAIN =
else
FUZZ_COMPILE_FLAGS =
FUZZ_LINK_FLAGS =
FUZZ_MAIN = $(FUZZ_REPLAY_SRC)
endif
EXTRA_DIST += $(FUZZ_REPLAY_SRC) tests/fuzz/corpus

check_PROGRAMS += tests/fuzz/fuzz-buf
tests_fuzz_fuzz_buf_SOURCES = tests/fuzz/fuzz-buf.c $(FUZZ_MAIN)
tests_fuzz_fuzz_buf_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_buf_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_buf_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-buf.sh
EXTRA_DIST += tests/fuzz/fuzz-buf.sh
