# fuse/local.mk - the sftpfs daemon (issue 6): command line, FUSE ops table,
# transports, its man page, unit tests and bats integration tests.

# The option parser is built into the daemon and into its unit test.
DAEMON_OPTIONS_SOURCES = fuse/options.c fuse/options.h

check_PROGRAMS += tests/unit/test-options
tests_unit_test_options_SOURCES = tests/unit/test-options.c $(DAEMON_OPTIONS_SOURCES)
tests_unit_test_options_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fuse
tests_unit_test_options_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-options

bin_PROGRAMS += fuse/sftpfs
fuse_sftpfs_SOURCES = \
	fuse/main.c fuse/sftpfs.h \
	fuse/ops.c fuse/errmap.c fuse/idmap.c fuse/remote.c \
	fuse/ssh.c fuse/ssh_session.h \
	fuse/links.c fuse/files.c fuse/opwrap.c \
	$(DAEMON_OPTIONS_SOURCES)
fuse_sftpfs_SOURCES += fuse/cache.c fuse/cache.h
fuse_sftpfs_SOURCES += fuse/readahead.c fuse/readahead.h
fuse_sftpfs_SOURCES += fuse/pipeline.c
fuse_sftpfs_SOURCES += fuse/dirlist.c
fuse_sftpfs_SOURCES += fuse/fileahead.c
fuse_sftpfs_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fuse
fuse_sftpfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
fuse_sftpfs_LDADD = $(CORE_LIBS) $(FUSE_LIBS)

# The read-ahead engine against a real sftp-server (issue 7).
check_PROGRAMS += tests/unit/test-readahead
tests_unit_test_readahead_SOURCES = tests/unit/test-readahead.c fuse/readahead.c fuse/readahead.h \
	$(DAEMON_OPTIONS_SOURCES)
tests_unit_test_readahead_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fuse
tests_unit_test_readahead_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-readahead
READAHEAD_INTEGRATION_TESTS = tests/integration/daemon-read.bats
EXTRA_DIST += $(READAHEAD_INTEGRATION_TESTS)
if HAVE_BATS
TESTS += $(READAHEAD_INTEGRATION_TESTS)
endif

# Test tools and bats integration tests (real mounts through /dev/fuse).
noinst_PROGRAMS += tests/tools/fsop
tests_tools_fsop_SOURCES = tests/tools/fsop.c
# (tests/integration/local.mk sets INTEGRATION_TESTS with '=' after this
# fragment is included, so the daemon's bats files have their own list.)
DAEMON_INTEGRATION_TESTS = \
	tests/integration/daemon-ops.bats \
	tests/integration/daemon-ssh.bats \
	tests/integration/daemon-cli.bats \
	tests/integration/daemon-tools.bats
EXTRA_DIST += $(DAEMON_INTEGRATION_TESTS) tests/integration/lib/daemon.bash
if HAVE_BATS
TESTS += $(DAEMON_INTEGRATION_TESTS)
endif

# Round trips saved on tree walks, untar and checkouts (issue 7).
PREFETCH_INTEGRATION_TESTS = tests/integration/daemon-prefetch.bats \
	tests/integration/daemon-dirattrs.bats tests/integration/daemon-fileahead.bats
EXTRA_DIST += $(PREFETCH_INTEGRATION_TESTS)
if HAVE_BATS
TESTS += $(PREFETCH_INTEGRATION_TESTS)
endif

# Fault injection (issue 9): reconnects through tests/tools/fault-proxy.
RECONNECT_INTEGRATION_TESTS = tests/integration/daemon-reconnect.bats
EXTRA_DIST += $(RECONNECT_INTEGRATION_TESTS)
if HAVE_BATS
TESTS += $(RECONNECT_INTEGRATION_TESTS)
endif

# Manual page (installed by make install) and its check against --help.
dist_man_MANS += man/sftpfs.1
TESTS += tests/unit/daemon-docs.sh
EXTRA_DIST += tests/unit/daemon-docs.sh scripts/demo-mount

# Fuzz target for the command-line parser; its corpus is replayed by make check.
check_PROGRAMS += tests/fuzz/fuzz-options
tests_fuzz_fuzz_options_SOURCES = tests/fuzz/fuzz-options.c $(DAEMON_OPTIONS_SOURCES) $(FUZZ_MAIN)
tests_fuzz_fuzz_options_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fuse
tests_fuzz_fuzz_options_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_options_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_options_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-options.sh
EXTRA_DIST += tests/fuzz/fuzz-options.sh tests/fuzz/corpus/options

# The attribute/listing/symlink cache (issue 7): unit test with a fake clock,
# and bats tests on real mounts.
check_PROGRAMS += tests/unit/test-cache
tests_unit_test_cache_SOURCES = tests/unit/test-cache.c fuse/cache.c fuse/cache.h $(DAEMON_OPTIONS_SOURCES)
tests_unit_test_cache_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fuse
tests_unit_test_cache_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS)
tests_unit_test_cache_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-cache
EXTRA_DIST += tests/integration/daemon-cache.bats
EXTRA_DIST += tests/integration/daemon-pipeline.bats
if HAVE_BATS
TESTS += tests/integration/daemon-cache.bats
TESTS += tests/integration/daemon-pipeline.bats
endif
# Write lanes (files.c): large sequential writes over several SFTP sessions.
EXTRA_DIST += tests/integration/daemon-lanes.bats
if HAVE_BATS
TESTS += tests/integration/daemon-lanes.bats
endif
