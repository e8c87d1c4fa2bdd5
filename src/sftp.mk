# src/sftp.mk - the SFTP v3 client (src/sftp*), its pipe driver, tests and fuzzer.
src_libsftpfs_a_SOURCES += \
	src/sftp.c src/sftp.h src/sftp_int.h src/sftp_ext.c \
	src/sftp_attrs.c src/sftp_codec.h \
	src/sftp_pipe.c src/sftp_pipe.h

check_PROGRAMS += tests/unit/test-sftp
tests_unit_test_sftp_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-sftp

# Fuzz target for the reply parsers and the input path; corpus replayed in make check.
check_PROGRAMS += tests/fuzz/fuzz-sftp-reply
tests_fuzz_fuzz_sftp_reply_SOURCES = tests/fuzz/fuzz-sftp-reply.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sftp_reply_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_sftp_reply_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_sftp_reply_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-sftp-reply.sh
EXTRA_DIST += tests/fuzz/fuzz-sftp-reply.sh
