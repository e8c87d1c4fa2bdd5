/*
 * sftp_pipe.c - the file-descriptor driver of the SFTP client (sftp_pipe.h).
 *
 * Threads: the reader polls rfd and a stop pipe, and passes what it reads to
 * sftp_client_input (it is the client's I/O thread: async callbacks run on
 * it). The writer takes chunks from a queue and writes them whole. The send
 * function only appends to the queue, so it never blocks on the peer. Either
 * thread shuts the client down when its fd fails or reaches end of file.
 * Both also poll a stop pipe that cleanup makes readable (and nobody drains),
 * so neither can block cleanup on a peer that stops reading or writing.
 *
 * Locking: p->lock protects the queue, stopping and failed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sftp_pipe.h"

#define PIPE_READ_CHUNK (256u * 1024)

struct sftp_pipe {
	struct sftp_client *client;
	int rfd, wfd;
	int stop[2]; /* the reader polls stop[0]; cleanup writes stop[1] */
	pid_t child; /* spawned server, or -1 */
	GThread *reader, *writer;

	GMutex lock;
	GCond cond;
	/* protected by lock */
	GQueue queue; /* GBytes* to write, in order */
	bool stopping;
	bool failed;
};

static int pipe_send(void *ctx, const uint8_t *data, size_t len, const uint8_t *tail, size_t tlen)
{
	struct sftp_pipe *p = ctx;
	int r = 0;

	g_mutex_lock(&p->lock);
	if (p->failed || p->stopping) {
		r = ERR_CONN_CLOSED;
	} else {
		uint8_t *msg = g_malloc(len + tlen);

		memcpy(msg, data, len);
		if (tlen > 0)
			memcpy(msg + len, tail, tlen);
		g_queue_push_tail(&p->queue, g_bytes_new_take(msg, len + tlen));
		g_cond_signal(&p->cond);
	}
	g_mutex_unlock(&p->lock);
	return r;
}

/*
 * Writes all of data unless stopped. Sockets are written with MSG_DONTWAIT
 * after POLLOUT (and MSG_NOSIGNAL: a dead peer is an error, not SIGPIPE), so
 * a peer that stops reading cannot wedge cleanup; pipes fall back to write().
 */
static int write_all(struct sftp_pipe *p, const uint8_t *data, size_t len)
{
	while (len > 0) {
		struct pollfd pfd[2] = {{.fd = p->wfd, .events = POLLOUT}, {.fd = p->stop[0], .events = POLLIN}};
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return ERR_SYSTEM;
		}
		if (pfd[1].revents != 0)
			return ERR_CANCELLED;
		n = send(p->wfd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == ENOTSOCK)
			n = write(p->wfd, data, len);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return ERR_CONN_CLOSED;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static gpointer writer_main(gpointer arg)
{
	struct sftp_pipe *p = arg;

	for (;;) {
		GBytes *chunk;
		const uint8_t *d;
		size_t len;
		int r;

		g_mutex_lock(&p->lock);
		while (g_queue_is_empty(&p->queue) && !p->stopping)
			g_cond_wait(&p->cond, &p->lock);
		/* Once stopping, what is left is dropped: every request has failed. */
		chunk = p->stopping ? NULL : g_queue_pop_head(&p->queue);
		g_mutex_unlock(&p->lock);
		if (chunk == NULL)
			return NULL;
		d = g_bytes_get_data(chunk, &len);
		r = write_all(p, d, len);
		g_bytes_unref(chunk);
		if (r != 0) {
			g_mutex_lock(&p->lock);
			p->failed = true;
			g_mutex_unlock(&p->lock);
			log_debug(LOG_CAT_SFTP, "sftp pipe: write failed: %s", err_str(r));
			sftp_client_shutdown(p->client, ERR_CONN_CLOSED);
			return NULL;
		}
	}
}

static gpointer reader_main(gpointer arg)
{
	struct sftp_pipe *p = arg;
	uint8_t *chunk = malloc(PIPE_READ_CHUNK);
	int err = ERR_CONN_CLOSED;

	if (chunk == NULL) {
		sftp_client_shutdown(p->client, ERR_ALLOC_FAIL);
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[2] = {{.fd = p->rfd, .events = POLLIN}, {.fd = p->stop[0], .events = POLLIN}};
		ssize_t n;
		int r;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = ERR_SYSTEM;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		n = read(p->rfd, chunk, PIPE_READ_CHUNK);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			log_debug(LOG_CAT_SFTP, "sftp pipe: %s", n == 0 ? "end of stream" : g_strerror(errno));
			break;
		}
		if ((r = sftp_client_input(p->client, chunk, (size_t)n)) != 0) {
			log_error(LOG_CAT_SFTP, "sftp pipe: closing corrupt stream: %s", err_str(r));
			err = r;
			break;
		}
	}
	free(chunk);
	g_mutex_lock(&p->lock);
	p->failed = true;
	g_mutex_unlock(&p->lock);
	sftp_client_shutdown(p->client, err);
	return NULL;
}

static void pipe_cleanup(void *ctx)
{
	struct sftp_pipe *p = ctx;
	ssize_t n;

	g_mutex_lock(&p->lock);
	p->stopping = true;
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->lock);
	do {
		n = write(p->stop[1], "x", 1);
	} while (n < 0 && errno == EINTR);
	if (p->writer != NULL)
		g_thread_join(p->writer);
	if (p->reader != NULL)
		g_thread_join(p->reader);
	/* The server sees end of file on its stdin and exits. */
	if (p->wfd != p->rfd)
		close(p->wfd);
	close(p->rfd);
	close(p->stop[0]);
	close(p->stop[1]);
	if (p->child > 0) {
		/* It exits on end of file; one that does not is killed after ~2 s. */
		for (int i = 0; i < 200 && waitpid(p->child, NULL, WNOHANG) == 0; i++)
			g_usleep(10000);
		if (waitpid(p->child, NULL, WNOHANG) == 0) {
			kill(p->child, SIGKILL);
			while (waitpid(p->child, NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
	g_queue_clear_full(&p->queue, (GDestroyNotify)g_bytes_unref);
	g_cond_clear(&p->cond);
	g_mutex_clear(&p->lock);
	free(p);
}

static int start(int rfd, int wfd, pid_t child, struct sftp_client **out)
{
	struct sftp_pipe *p;
	struct sftp_client *c;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return ERR_ALLOC_FAIL;
	if (pipe2(p->stop, O_CLOEXEC) != 0) {
		free(p);
		return ERR_SYSTEM;
	}
	if ((c = sftp_client_new(pipe_send, p)) == NULL) {
		close(p->stop[0]);
		close(p->stop[1]);
		free(p);
		return ERR_ALLOC_FAIL;
	}
	p->client = c;
	p->rfd = rfd;
	p->wfd = wfd;
	p->child = child;
	g_mutex_init(&p->lock);
	g_cond_init(&p->cond);
	g_queue_init(&p->queue);
	sftp_client_set_cleanup(c, pipe_cleanup, p);
	p->writer = g_thread_new("sftp-pipe-w", writer_main, p);
	p->reader = g_thread_new("sftp-pipe-r", reader_main, p);
	*out = c;
	return 0;
}

int sftp_client_start_fds(int rfd, int wfd, struct sftp_client **out)
{
	*out = NULL;
	if (rfd < 0 || wfd < 0)
		return ERR_INVALID_ARGUMENT;
	return start(rfd, wfd, -1, out);
}

int sftp_client_spawn(const char *const argv[], struct sftp_client **out, pid_t *pidp)
{
	int sv[2];
	pid_t pid;
	int r;

	*out = NULL;
	if (pidp != NULL)
		*pidp = -1;
	if (argv == NULL || argv[0] == NULL)
		return ERR_INVALID_ARGUMENT;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return ERR_SYSTEM;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return ERR_SYSTEM;
	}
	if (pid == 0) {
		/* Child: only async-signal-safe calls until exec. */
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(sv[1]);
	if ((r = start(sv[0], sv[0], pid, out)) != 0) {
		close(sv[0]);
		kill(pid, SIGTERM);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		return r;
	}
	if (pidp != NULL)
		*pidp = pid;
	return 0;
}
