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
	src/conn.c src/conn.h src/conn_chan.h src/conn_sftp.c

# Test tool: our own transport end to end (not installed).
noinst_PROGRAMS += tests/tools/ssh-probe
tests_tools_ssh_probe_SOURCES = tests/tools/ssh-probe.c
tests_tools_ssh_probe_LDADD = $(CORE_LIBS)
