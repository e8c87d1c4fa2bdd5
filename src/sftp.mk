# src/sftp.mk - the SFTP v3 client (src/sftp*), its pipe driver, tests and fuzzer.
src_libsftpfs_a_SOURCES += \
	src/sftp.c src/sftp.h \
	src/sftp_attrs.c src/sftp_codec.h \
	src/sftp_pipe.c src/sftp_pipe.h

check_PROGRAMS += tests/unit/test-sftp
tests_unit_test_sftp_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-sftp
