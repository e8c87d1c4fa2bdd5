# src/auth.mk - the auth helper's modules: ssh_config resolution, known_hosts,
# prompts; their unit tests, fuzz targets, test tools and integration tests.
src_libsftpfs_a_SOURCES += \
	src/sshconfig.c src/sshconfig.h

noinst_PROGRAMS += tests/tools/sshconfig-dump
tests_tools_sshconfig_dump_SOURCES = tests/tools/sshconfig-dump.c
tests_tools_sshconfig_dump_LDADD = $(CORE_LIBS)

# The ssh -G oracle over the config corpus.
TESTS += tests/unit/sshconfig-oracle.sh
EXTRA_DIST += tests/unit/sshconfig-oracle.sh tests/vectors/sshconfig

src_libsftpfs_a_SOURCES += \
	src/knownhosts.c src/knownhosts.h \
	src/prompt.c src/prompt.h

check_PROGRAMS += tests/unit/test-knownhosts
tests_unit_test_knownhosts_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-knownhosts
EXTRA_DIST += tests/vectors/knownhosts
