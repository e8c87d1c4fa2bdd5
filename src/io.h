/*
 * io.h - the only code in src/ that touches sockets: name resolution and
 * connecting (AddressFamily, BindAddress, ConnectTimeout), and non-blocking
 * reads and writes between a socket and a struct buf.
 */
#ifndef SFTPFS_IO_H
#define SFTPFS_IO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/*
 * Resolve host and connect a TCP socket, trying each address in turn.
 * family: AF_UNSPEC, AF_INET or AF_INET6. bind_address may be NULL.
 * timeout_s 0 means the system's own. The socket is returned non-blocking,
 * close-on-exec, with TCP_NODELAY. ERR_RESOLVE, ERR_CONNECT or ERR_TIMEOUT.
 */
int io_connect(const char *host, uint16_t port, int family, const char *bind_address, unsigned timeout_s,
	       int *fd_out) MUST_CHECK;
/* Make an existing descriptor non-blocking and close-on-exec. */
int io_prepare_fd(int fd) MUST_CHECK;
/* Write as much of out as the socket takes now and consume it. ERR_CONN_CLOSED / ERR_SYSTEM. */
int io_write_some(int fd, struct buf *out) MUST_CHECK;
/*
 * Read what is available (at most cap bytes) into dst; *got = 0 with result 0
 * means nothing available now. End of stream is ERR_CONN_CLOSED.
 */
int io_read_some(int fd, uint8_t *dst, size_t cap, size_t *got) MUST_CHECK;
/* Seconds from a monotonic clock, and milliseconds. */
uint64_t io_now(void);
uint64_t io_now_ms(void);

#endif
