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
