# fuse/local.mk - the sftpfs daemon (issue 6): command line, FUSE ops table,
# transports, its man page, unit tests and bats integration tests.

# The option parser is built into the daemon and into its unit test.
DAEMON_OPTIONS_SOURCES = fuse/options.c fuse/options.h

check_PROGRAMS += tests/unit/test-options
tests_unit_test_options_SOURCES = tests/unit/test-options.c $(DAEMON_OPTIONS_SOURCES)
tests_unit_test_options_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fuse
tests_unit_test_options_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-options
