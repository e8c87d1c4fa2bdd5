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

noinst_PROGRAMS += tests/tools/knownhosts-tool
tests_tools_knownhosts_tool_SOURCES = tests/tools/knownhosts-tool.c
tests_tools_knownhosts_tool_LDADD = $(CORE_LIBS)

# Own list (tests/integration/local.mk assigns INTEGRATION_TESTS after us).
AUTH_INTEGRATION_TESTS = tests/integration/auth-knownhosts.bats tests/integration/auth-prompt.bats \
	tests/integration/auth-identities.bats tests/integration/auth-password.bats tests/integration/auth-kbdint.bats \
	tests/integration/auth-jump.bats
if HAVE_BATS
TESTS += $(AUTH_INTEGRATION_TESTS)
endif
EXTRA_DIST += $(AUTH_INTEGRATION_TESTS) tests/integration/lib/password.bash

noinst_PROGRAMS += tests/tools/prompt-tool
tests_tools_prompt_tool_SOURCES = tests/tools/prompt-tool.c
tests_tools_prompt_tool_LDADD = $(CORE_LIBS)

# Fuzz targets (one per parser); corpora replayed in make check.
check_PROGRAMS += tests/fuzz/fuzz-sshconfig tests/fuzz/fuzz-knownhosts
tests_fuzz_fuzz_sshconfig_SOURCES = tests/fuzz/fuzz-sshconfig.c $(FUZZ_MAIN)
tests_fuzz_fuzz_sshconfig_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_sshconfig_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_sshconfig_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_knownhosts_SOURCES = tests/fuzz/fuzz-knownhosts.c $(FUZZ_MAIN)
tests_fuzz_fuzz_knownhosts_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_knownhosts_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_knownhosts_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-sshconfig.sh tests/fuzz/fuzz-knownhosts.sh
EXTRA_DIST += tests/fuzz/fuzz-sshconfig.sh tests/fuzz/fuzz-knownhosts.sh

check_PROGRAMS += tests/unit/test-sshconfig
tests_unit_test_sshconfig_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-sshconfig
