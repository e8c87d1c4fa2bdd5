/*
 * conn_sftp.c - conn_start_sftp(): an SFTP client (sftp.h) wired to a
 * "subsystem sftp" session channel (RFC 4254 §6.5) of a connection, or
 * (conn_start_sftp_exec) to an "exec" channel running an SFTP server
 * program, as sshfs's -o sftp_server=/path does.
 *
 * The link between the two lives as long as either side needs it: channel
 * data goes to sftp_client_input on the I/O thread; the SFTP client's sends
 * are queued on the stream; when the channel or connection dies the client
 * is shut down; when the client is freed first, the stream is detached and
 * its channel closed (sftp_client_set_cleanup).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "conn.h"
#include "conn_chan.h"
#include "log.h"
#include "sftp.h"

struct sftp_link {
	pthread_mutex_t lock;       /* protects stream */
	struct conn_stream *stream; /* NULL once the channel is gone */
	struct sftp_client *sftp;
	bool window_noted;          /* I/O thread only */
};

static int link_send(void *ctx, const uint8_t *data, size_t len, const uint8_t *tail, size_t tlen)
{
	struct sftp_link *l = ctx;
	int r = ERR_CONN_CLOSED;

	pthread_mutex_lock(&l->lock);
	if (l->stream != NULL)
		r = conn_stream_send2(l->stream, data, len, tail, tlen);
	pthread_mutex_unlock(&l->lock);
	return r;
}

static int link_on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct sftp_link *l = ctx;
	int r;

	/* By its first bytes (VERSION) the server has granted its window. */
	if (!l->window_noted) {
		pthread_mutex_lock(&l->lock);
		if (l->stream != NULL) {
			sftp_client_set_peer_window(l->sftp, conn_stream_peer_window(l->stream));
			l->window_noted = true;
		}
		pthread_mutex_unlock(&l->lock);
	}
	r = sftp_client_input(l->sftp, data, len);

	if (r != 0)
		log_error(LOG_CAT_SFTP, "SFTP stream corrupt: %s", err_str(r));
	return r;
}

/*
 * An exec'd server program that ended: the shell's 127 (not found) and 126
 * (not executable) become the error SFTP requests fail with.
 */
static int exit_status_err(int status)
{
	switch (status) {
	case 127:
		return ERR_NO_SUCH_FILE;
	case 126:
		return ERR_PERMISSION_DENIED;
	default:
		return ERR_CONN_CLOSED;
	}
}

static void link_on_close(void *ctx, int err)
{
	struct sftp_link *l = ctx;
	struct conn_stream *s;
	int status = -1;

	pthread_mutex_lock(&l->lock);
	s = l->stream;
	l->stream = NULL;
	pthread_mutex_unlock(&l->lock);
	if (s != NULL && (status = conn_stream_exit_status(s)) >= 0)
		log_debug(LOG_CAT_SFTP, "the SFTP server program exited with status %d", status);
	if (err == 0 || err == ERR_CONN_CLOSED)
		err = exit_status_err(status);
	sftp_client_shutdown(l->sftp, err);
}

/* sftp_client_free: the client goes first; cut the stream loose. */
static void link_cleanup(void *ctx)
{
	struct sftp_link *l = ctx;
	struct conn_stream *s;

	pthread_mutex_lock(&l->lock);
	s = l->stream;
	l->stream = NULL;
	pthread_mutex_unlock(&l->lock);
	if (s != NULL)
		conn_stream_detach(s);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

static const struct conn_stream_ops link_ops = {
	.on_data = link_on_data,
	.on_close = link_on_close,
};

/* A new SFTP client on a subsystem (command NULL: "sftp") or exec channel. */
static int start_sftp(struct conn *c, const char *command, struct sftp_client **out)
{
	struct sftp_link *l;
	struct conn_stream *s = NULL;
	int r;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return ERR_ALLOC_FAIL;
	pthread_mutex_init(&l->lock, NULL);
	if ((l->sftp = sftp_client_new(link_send, l)) == NULL) {
		pthread_mutex_destroy(&l->lock);
		free(l);
		return ERR_ALLOC_FAIL;
	}
	sftp_client_set_cleanup(l->sftp, link_cleanup, l);
	r = command != NULL ? conn_stream_open_exec(c, command, &link_ops, l, &s)
			    : conn_stream_open_subsystem(c, "sftp", &link_ops, l, &s);
	if (r != 0) {
		/* The stream (if any) saw on_close; freeing the client frees l. */
		sftp_client_shutdown(l->sftp, r);
		sftp_client_free(l->sftp);
		return r;
	}
	pthread_mutex_lock(&l->lock);
	l->stream = s;
	pthread_mutex_unlock(&l->lock);
	*out = l->sftp;
	return 0;
}

int conn_start_sftp(struct conn *c, struct sftp_client **out)
{
	return start_sftp(c, NULL, out);
}

int conn_start_sftp_exec(struct conn *c, const char *command, struct sftp_client **out)
{
	*out = NULL;
	if (command == NULL || *command == '\0')
		return ERR_INVALID_ARGUMENT;
	return start_sftp(c, command, out);
}
