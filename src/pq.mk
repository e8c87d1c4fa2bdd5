# src/pq.mk - build fragment owned by one module; included from Makefile.am.

# Post-quantum KEMs (issue 11): ML-KEM-768 (FIPS 203), sntrup761 (NTRU Prime
# round 3) and the hybrid SSH key exchange glue.
src_libsftpfs_a_SOURCES += \
	src/pqhash.c src/pqhash.h \
	src/mlkem768.c src/mlkem768.h \
	src/sntrup761.c src/sntrup761.h \
	src/kex_hybrid.c src/kex_hybrid.h

check_PROGRAMS += tests/unit/test-mlkem768
tests_unit_test_mlkem768_SOURCES = tests/unit/test-mlkem768.c tests/unit/pqvec.c tests/unit/pqvec.h \
	tests/unit/nistdrbg.c tests/unit/nistdrbg.h
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
CLEAN_DIRS += tests/node-work

check_PROGRAMS += tests/unit/test-sntrup761
tests_unit_test_sntrup761_SOURCES = tests/unit/test-sntrup761.c tests/unit/pqvec.c tests/unit/pqvec.h \
	tests/unit/nistdrbg.c tests/unit/nistdrbg.h
tests_unit_test_sntrup761_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-sntrup761
EXTRA_DIST += tests/vectors/sntrup761

# Constant-time check under valgrind memcheck (not in sanitizer builds:
# valgrind cannot run AddressSanitizer binaries).
check_PROGRAMS += tests/tools/ct-decaps
tests_tools_ct_decaps_SOURCES = tests/tools/ct-decaps.c
tests_tools_ct_decaps_LDADD = $(CORE_LIBS)
if !SANITIZERS
TESTS += tests/unit/ct-valgrind.sh
endif
EXTRA_DIST += tests/unit/ct-valgrind.sh

check_PROGRAMS += tests/unit/test-kex-hybrid
tests_unit_test_kex_hybrid_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-kex-hybrid

# Fuzz target for the hybrid KEX reply parser (corpus replayed in make check).
check_PROGRAMS += tests/fuzz/fuzz-kex-hybrid-reply
tests_fuzz_fuzz_kex_hybrid_reply_SOURCES = tests/fuzz/fuzz-kex-hybrid-reply.c $(FUZZ_MAIN)
tests_fuzz_fuzz_kex_hybrid_reply_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_kex_hybrid_reply_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_kex_hybrid_reply_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-kex-hybrid-reply.sh
EXTRA_DIST += tests/fuzz/fuzz-kex-hybrid-reply.sh

# Interop against Debian's OpenSSH sshd (bats, run when bats was found).
# tests/integration/local.mk is included after this fragment and assigns
# INTEGRATION_TESTS, so the bats file goes to TESTS here under its condition.
EXTRA_DIST += tests/integration/pq.bats
if HAVE_BATS
TESTS += tests/integration/pq.bats
endif

# Test droppings in the build tree: the npm install of the cross test and the
# valgrind logs (distcheck's distcleancheck wants the tree empty).
CLEANFILES += tests/unit/ct-valgrind.vglog tests/unit/ct-valgrind.vglog.selftest
clean-local: pq-clean-local
pq-clean-local:
	rm -rf tests/node-work
.PHONY: pq-clean-local
