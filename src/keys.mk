# src/keys.mk - build fragment of the keys module: SSH keys and signatures
# (sshkey), key files (keyfile, bcrypt_pbkdf), the ssh-agent client (agent),
# their unit tests and fuzz targets. Included from Makefile.am.
src_libsftpfs_a_SOURCES += \
	src/sshkey.c src/sshkey.h \
	src/keyfile.c src/keyfile.h \
	src/bcrypt_pbkdf.c src/bcrypt_pbkdf.h

EXTRA_DIST += tests/vectors/gen-blowfish-pi.py tests/vectors/README.keys.md

check_PROGRAMS += tests/unit/test-sshkey
tests_unit_test_sshkey_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-sshkey

check_PROGRAMS += tests/unit/test-keyfile
tests_unit_test_keyfile_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-keyfile

check_PROGRAMS += tests/unit/test-bcrypt-pbkdf
tests_unit_test_bcrypt_pbkdf_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-bcrypt-pbkdf

src_libsftpfs_a_SOURCES += src/agent.c src/agent.h

check_PROGRAMS += tests/unit/test-agent
tests_unit_test_agent_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-agent

# Fuzz targets, one per parser, corpora replayed in make check (tests/fuzz/local.mk pattern).
check_PROGRAMS += tests/fuzz/fuzz-sshkey-blob
tests_fuzz_fuzz_sshkey_blob_SOURCES = tests/fuzz/fuzz-sshkey-blob.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sshkey_blob_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_sshkey_blob_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_sshkey_blob_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-sshkey-blob.sh
EXTRA_DIST += tests/fuzz/fuzz-sshkey-blob.sh

check_PROGRAMS += tests/fuzz/fuzz-sshkey-sig
tests_fuzz_fuzz_sshkey_sig_SOURCES = tests/fuzz/fuzz-sshkey-sig.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sshkey_sig_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_sshkey_sig_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_sshkey_sig_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-sshkey-sig.sh
EXTRA_DIST += tests/fuzz/fuzz-sshkey-sig.sh

check_PROGRAMS += tests/fuzz/fuzz-keyfile
tests_fuzz_fuzz_keyfile_SOURCES = tests/fuzz/fuzz-keyfile.c $(FUZZ_MAIN)
tests_fuzz_fuzz_keyfile_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_keyfile_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_keyfile_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-keyfile.sh
EXTRA_DIST += tests/fuzz/fuzz-keyfile.sh

check_PROGRAMS += tests/fuzz/fuzz-agent-reply
tests_fuzz_fuzz_agent_reply_SOURCES = tests/fuzz/fuzz-agent-reply.c $(FUZZ_MAIN)
tests_fuzz_fuzz_agent_reply_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_agent_reply_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_agent_reply_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-agent-reply.sh
EXTRA_DIST += tests/fuzz/fuzz-agent-reply.sh
