# src/pq.mk - build fragment owned by one module; included from Makefile.am.

# Post-quantum KEMs (issue 11): ML-KEM-768 (FIPS 203), sntrup761 (NTRU Prime
# round 3) and the hybrid SSH key exchange glue.
src_libsftpfs_a_SOURCES += \
	src/pqhash.c src/pqhash.h \
	src/mlkem768.c src/mlkem768.h

check_PROGRAMS += tests/unit/test-mlkem768
tests_unit_test_mlkem768_SOURCES = tests/unit/test-mlkem768.c tests/unit/pqvec.c tests/unit/pqvec.h
tests_unit_test_mlkem768_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-mlkem768
EXTRA_DIST += tests/vectors/mlkem768

# Cross-implementation test against @noble/post-quantum (npm), through a C tool.
check_PROGRAMS += tests/tools/mlkem-tool
tests_tools_mlkem_tool_SOURCES = tests/tools/mlkem-tool.c
tests_tools_mlkem_tool_LDADD = $(CORE_LIBS)
TESTS += tests/node/mlkem-cross.sh
EXTRA_DIST += tests/node/mlkem-cross.sh tests/node/mlkem-cross.mjs \
	tests/node/package.json tests/node/package-lock.json
