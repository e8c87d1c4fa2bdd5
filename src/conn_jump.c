/*
 * conn_jump.c - conn_open_via(): a connection whose byte stream is a
 * "direct-tcpip" channel (RFC 4254 §7.2) of another connection, the way
 * ssh's ProxyJump carries each hop.
 *
 * The inner connection's I/O code wants a file descriptor, so the channel is
 * bridged to one end of a socketpair: channel data (on the jump host's I/O
 * thread, which must not block) is queued and written by a bridge thread,
 * and the same thread reads the socketpair and queues bytes on the channel.
 * The bridge belongs to the inner connection: conn_close() of it waits for
 * the bridge thread (which lets go of the jump host's channel first), so
 * the jump connection may be closed right after (or owned by the inner one,
 * conn_own_jump).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "conn_chan.h"
#include "limits.h"
#include "log.h"

#define BRIDGE_CHUNK (64u * 1024)

struct bridge {
	int fd;                     /* our end of the socketpair; bridge thread only */
	int wake[2];                /* pipe: data queued or channel closed */
	pthread_t thread;
	struct conn_stream *stream;
	pthread_mutex_t lock;       /* protects q, closed */
	struct buf *q;              /* channel -> socketpair */
	bool closed;                /* on_close ran: no callback will follow */
	bool stop;                  /* the opener gave up: end the thread */
};

static void bridge_wake(struct bridge *b)
{
	char c = 1;
	ssize_t n;

	do
		n = write(b->wake[1], &c, 1);
	while (n < 0 && errno == EINTR);
}

static int bridge_on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct bridge *b = ctx;
	int r;

	pthread_mutex_lock(&b->lock);
	r = buf_put(b->q, data, len);
	pthread_mutex_unlock(&b->lock);
	bridge_wake(b);
	return r;
}

static void bridge_on_close(void *ctx, int err)
{
	struct bridge *b = ctx;

	pthread_mutex_lock(&b->lock);
	b->closed = true;
	bridge_wake(b); /* under the lock: the thread may free b once it sees closed */
	pthread_mutex_unlock(&b->lock);
}

static void *bridge_thread(void *arg)
{
	struct bridge *b = arg;
	uint8_t *chunk = malloc(BRIDGE_CHUNK);

	bool closed = false;

	while (chunk != NULL) {
		struct pollfd p[2] = {{.fd = b->fd, .events = POLLIN}, {.fd = b->wake[0], .events = POLLIN}};
		bool pending;

		pthread_mutex_lock(&b->lock);
		closed = b->closed;
		pending = buf_len(b->q) > 0;
		if (b->stop) {
			pthread_mutex_unlock(&b->lock);
			break;
		}
		pthread_mutex_unlock(&b->lock);
		if (pending)
			p[0].events |= POLLOUT;
		else if (closed)
			break;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents & POLLIN) {
			char drain[64];

			if (read(b->wake[0], drain, sizeof(drain)) < 0 && errno != EAGAIN)
				break;
		}
		if (p[0].revents & POLLOUT) {
			ssize_t n;

			pthread_mutex_lock(&b->lock);
			n = send(b->fd, buf_peek(b->q), buf_len(b->q), MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0 && buf_consume(b->q, (size_t)n) != 0)
				n = -1;
			pthread_mutex_unlock(&b->lock);
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				break;
		}
		if (p[0].revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(b->fd, chunk, BRIDGE_CHUNK, MSG_DONTWAIT);

			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				break; /* the inner connection closed its end */
			if (n > 0 && conn_stream_send(b->stream, chunk, (size_t)n) != 0)
				break;
		}
	}
	free(chunk);
	/* Either side is gone: closing our end ends the inner connection's stream. */
	shutdown(b->fd, SHUT_RDWR);
	pthread_mutex_lock(&b->lock);
	closed = b->closed;
	pthread_mutex_unlock(&b->lock);
	/* Stop the channel's callbacks (the jump connection outlives this one). */
	if (!closed)
		conn_stream_detach(b->stream);
	return NULL;
}

static void bridge_free(struct bridge *b)
{
	if (b == NULL)
		return;
	if (b->fd >= 0)
		close(b->fd);
	if (b->wake[0] >= 0)
		close(b->wake[0]);
	if (b->wake[1] >= 0)
		close(b->wake[1]);
	buf_free(b->q);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* conn_close of the inner connection (its end of the socketpair is closed). */
static void bridge_release(void *arg)
{
	struct bridge *b = arg;

	pthread_join(b->thread, NULL);
	bridge_free(b);
}

static const struct conn_stream_ops bridge_ops = {
	.on_data = bridge_on_data,
	.on_close = bridge_on_close,
};

int conn_open_via(struct conn *jump, const struct conn_params *p, struct conn **out)
{
	struct conn_params inner = *p;
	struct bridge *b;
	int sv[2] = {-1, -1}, r = ERR_INTERNAL;

	*out = NULL;
	if (p->host == NULL)
		return ERR_INVALID_ARGUMENT;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return ERR_ALLOC_FAIL;
	b->fd = b->wake[0] = b->wake[1] = -1;
	pthread_mutex_init(&b->lock, NULL);
	if ((b->q = buf_new(BUF_ABSOLUTE_MAX)) == NULL) {
		bridge_free(b);
		return ERR_ALLOC_FAIL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(b->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		r = ERR_SYSTEM;
		goto fail;
	}
	b->fd = sv[0];
	if ((r = conn_stream_open_direct_tcpip(jump, p->host, p->port != 0 ? p->port : 22, &bridge_ops, b, &b->stream)) !=
	    0) {
		log_error(LOG_CAT_IO, "jump host could not open a channel to %s: %s", p->host, err_str(r));
		goto fail;
	}
	if (pthread_create(&b->thread, NULL, bridge_thread, b) != 0) {
		conn_stream_detach(b->stream);
		r = ERR_SYSTEM;
		goto fail;
	}
	inner.fd = sv[1];
	if ((r = conn_open(&inner, out)) != 0) {
		pthread_mutex_lock(&b->lock);
		b->stop = true;
		bridge_wake(b);
		pthread_mutex_unlock(&b->lock);
		bridge_release(b);
		return r;
	}
	conn_set_release(*out, bridge_release, b);
	return 0;
fail:
	if (sv[1] >= 0)
		close(sv[1]);
	bridge_free(b);
	return r;
}
