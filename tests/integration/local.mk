# bats integration tests: real mounts through /dev/fuse against a private
# sshd started per file by lib/sshd.bash. They need root; scripts/check runs
# them (and make check runs them when bats was found by configure).
noinst_PROGRAMS += tests/tools/free-port
tests_tools_free_port_SOURCES = tests/tools/free-port.c

INTEGRATION_TESTS = \
	tests/integration/harness.bats
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib/sshd.bash tests/integration/lib/fuse.bash
if HAVE_BATS
TESTS += $(INTEGRATION_TESTS)
endif
