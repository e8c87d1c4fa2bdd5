/*
 * io.c - sockets (see io.h). Everything else in src/ works on buffers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"

uint64_t io_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t io_now(void)
{
	return io_now_ms() / 1000;
}

int io_prepare_fd(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return ERR_SYSTEM;
	return 0;
}

static int bind_local(int fd, const char *bind_address, int family)
{
	struct addrinfo hints, *res = NULL;
	int r = ERR_CONNECT;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if (getaddrinfo(bind_address, "0", &hints, &res) != 0 || res == NULL)
		return ERR_RESOLVE;
	if (bind(fd, res->ai_addr, res->ai_addrlen) == 0)
		r = 0;
	freeaddrinfo(res);
	return r;
}

/* Non-blocking connect bounded by timeout_ms (negative: no bound). */
static int connect_one(const struct addrinfo *ai, const char *bind_address, int timeout_ms, int *fd_out)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int fd, err = 0, one = 1, r;

	*fd_out = -1;
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
	if (fd < 0)
		return ERR_SYSTEM;
	if (bind_address != NULL && (r = bind_local(fd, bind_address, ai->ai_family)) != 0)
		goto fail;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			r = ERR_CONNECT;
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			r = poll(&pfd, 1, timeout_ms);
		while (r < 0 && errno == EINTR);
		if (r == 0) {
			r = ERR_TIMEOUT;
			goto fail;
		}
		if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0 || err != 0) {
			r = ERR_CONNECT;
			goto fail;
		}
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fd_out = fd;
	return 0;
fail:
	close(fd);
	return r;
}

int io_connect(const char *host, uint16_t port, int family, const char *bind_address, unsigned timeout_s, int *fd_out)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[8];
	int r = ERR_CONNECT, gr;

	*fd_out = -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	snprintf(portstr, sizeof(portstr), "%u", (unsigned)port);
	if ((gr = getaddrinfo(host, portstr, &hints, &res)) != 0) {
		log_error(LOG_CAT_IO, "could not resolve %s: %s", host, gai_strerror(gr));
		return ERR_RESOLVE;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		r = connect_one(ai, bind_address, timeout_s > 0 ? (int)timeout_s * 1000 : -1, fd_out);
		if (r == 0)
			break;
		log_debug(LOG_CAT_IO, "connect to %s port %u: %s", host, (unsigned)port, err_str(r));
	}
	freeaddrinfo(res);
	if (r != 0)
		log_error(LOG_CAT_IO, "could not connect to %s port %u: %s", host, (unsigned)port, err_str(r));
	return r;
}

int io_write_some(int fd, struct buf *out)
{
	while (buf_len(out) > 0) {
		ssize_t n = send(fd, buf_peek(out), buf_len(out), MSG_NOSIGNAL);
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == ENOTSOCK) {
				/* A pipe (ProxyCommand) rather than a socket. */
				n = write(fd, buf_peek(out), buf_len(out));
				if (n < 0 && (errno == EAGAIN || errno == EINTR))
					return 0;
			}
			if (n < 0)
				return errno == EPIPE || errno == ECONNRESET ? ERR_CONN_CLOSED : ERR_SYSTEM;
		}
		if ((r = buf_consume(out, (size_t)n)) != 0)
			return r;
	}
	return 0;
}

int io_read_some(int fd, uint8_t *dst, size_t cap, size_t *got)
{
	ssize_t n;

	*got = 0;
	do
		n = read(fd, dst, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return errno == ECONNRESET ? ERR_CONN_CLOSED : ERR_SYSTEM;
	}
	if (n == 0)
		return ERR_CONN_CLOSED;
	*got = (size_t)n;
	return 0;
}
