# src/: the core, built as an internal static library linked by the daemon,
# the tests, the fuzzers and the test tools. Modules add their files here
# (or in a fragment of their own included from Makefile.am).
noinst_LIBRARIES += src/libsftpfs.a
src_libsftpfs_a_SOURCES = \
	src/buf.c src/buf.h \
	src/err.c src/err.h \
	src/log.c src/log.h \
	src/limits.h
