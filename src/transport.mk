# src/transport.mk - build fragment owned by one module; included from Makefile.am.
src_libsftpfs_a_SOURCES += \
	src/ssh2.h \
	src/cipher.c src/cipher.h \
	src/packet.c src/packet.h \
	src/kex.c src/kex.h \
	src/algs.c src/algs.h \
	src/transport.c src/transport.h
src_libsftpfs_a_SOURCES += \
	src/channel.c src/channel.h \
	src/io.c src/io.h
src_libsftpfs_a_SOURCES += \
	src/userauth.c src/userauth.h \
	src/conn.c src/conn.h src/conn_chan.h src/conn_sftp.c src/conn_jump.c

# Test tool: our own transport end to end (not installed).
noinst_PROGRAMS += tests/tools/ssh-probe
tests_tools_ssh_probe_SOURCES = tests/tools/ssh-probe.c
tests_tools_ssh_probe_LDADD = $(CORE_LIBS)
noinst_PROGRAMS += tests/tools/flip-proxy
tests_tools_flip_proxy_SOURCES = tests/tools/flip-proxy.c
# (tests/integration/local.mk is included after this fragment, so the bats
# file is added to TESTS here, under the same condition.)
EXTRA_DIST += tests/integration/transport.bats
if HAVE_BATS
TESTS += tests/integration/transport.bats
endif

check_PROGRAMS += tests/unit/test-cipher
tests_unit_test_cipher_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-cipher

check_PROGRAMS += tests/unit/test-transport
tests_unit_test_transport_SOURCES = tests/unit/test-transport.c tests/unit/ssh-peer.c tests/unit/ssh-peer.h
tests_unit_test_transport_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-transport
EXTRA_DIST += tests/integration/dropbear.bats
if HAVE_BATS
TESTS += tests/integration/dropbear.bats
endif

# Fuzz targets (pattern of tests/fuzz/local.mk): corpora replayed in make check.
check_PROGRAMS += tests/fuzz/fuzz-packet tests/fuzz/fuzz-kexinit tests/fuzz/fuzz-transport
tests_fuzz_fuzz_packet_SOURCES = tests/fuzz/fuzz-packet.c $(FUZZ_MAIN)
tests_fuzz_fuzz_packet_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_packet_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_packet_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_kexinit_SOURCES = tests/fuzz/fuzz-kexinit.c $(FUZZ_MAIN)
tests_fuzz_fuzz_kexinit_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_kexinit_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_kexinit_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_transport_SOURCES = tests/fuzz/fuzz-transport.c $(FUZZ_MAIN)
tests_fuzz_fuzz_transport_CFLAGS = $(AM_CFLAGS) $(FUZZ_COMPILE_FLAGS)
tests_fuzz_fuzz_transport_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK_FLAGS)
tests_fuzz_fuzz_transport_LDADD = $(CORE_LIBS)
TESTS += tests/fuzz/fuzz-packet.sh tests/fuzz/fuzz-kexinit.sh tests/fuzz/fuzz-transport.sh
EXTRA_DIST += tests/fuzz/fuzz-packet.sh tests/fuzz/fuzz-kexinit.sh tests/fuzz/fuzz-transport.sh

check_PROGRAMS += tests/unit/test-packet
tests_unit_test_packet_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-packet
EXTRA_DIST += tests/vectors/README.transport.md tests/vectors/gen-chachapoly.py
if FUZZING
# Compile the code under test into the targets with the fuzzer's coverage
# instrumentation (the core library itself is built without it).
tests_fuzz_fuzz_packet_SOURCES += src/packet.c src/cipher.c
tests_fuzz_fuzz_kexinit_SOURCES += src/kex.c
tests_fuzz_fuzz_transport_SOURCES += src/transport.c src/packet.c src/cipher.c src/kex.c
endif

check_PROGRAMS += tests/unit/test-session
tests_unit_test_session_SOURCES = tests/unit/test-session.c tests/unit/ssh-peer.c tests/unit/ssh-peer.h
tests_unit_test_session_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-session

check_PROGRAMS += tests/unit/test-algs
tests_unit_test_algs_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-algs

check_PROGRAMS += tests/unit/test-conn
tests_unit_test_conn_SOURCES = tests/unit/test-conn.c tests/unit/ssh-peer.c tests/unit/ssh-peer.h
tests_unit_test_conn_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-conn
