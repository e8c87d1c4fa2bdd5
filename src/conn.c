/*
 * conn.c - an SSH connection and its I/O thread (see conn.h, conn_chan.h).
 *
 * Threads and locking: before conn_open() returns, its caller's thread drives
 * the protocol; afterwards only the connection's I/O thread touches fd, t, ua,
 * cm and every struct chan. Other threads hand work over through fields
 * "protected by lock" and wake the I/O thread with evfd. The I/O thread never
 * holds lock while it runs callbacks (sftp_client_input may call straight
 * back into conn_stream_send). Lock order: conn.lock only; no other lock is
 * taken while it is held.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "algs.h"
#include "channel.h"
#include "conn.h"
#include "conn_chan.h"
#include "io.h"
#include "limits.h"
#include "log.h"
#include "ssh2.h"
#include "sshkey.h"
#include "transport.h"
#include "userauth.h"

/* Stop moving queued channel data into the transport above this much unsent output. */
#define CONN_OUT_HIGH_WATER (2u * 1024 * 1024)
/* Largest slice moved from a stream's queue at once. */
#define CONN_MOVE_CHUNK (1u * 1024 * 1024)
#define CONN_READ_CHUNK (64u * 1024)
/* How long conn_close waits to flush our DISCONNECT. */
#define CONN_CLOSE_FLUSH_MS 500

struct conn_stream {
	struct conn *c;
	struct conn_stream *next;       /* c->streams; protected by c->lock */
	struct chan *ch;                /* I/O thread only */
	struct conn_stream_ops ops;
	void *ctx;
	char *what;                     /* subsystem name, command, or direct-tcpip host */
	bool is_exec;                   /* conn_exec: run what, collect its output */
	bool exec_stream;               /* exec what, data through ops (conn_stream_open_exec) */
	bool is_tcpip;                  /* direct-tcpip to what:port */
	uint16_t port;
	const uint8_t *in;              /* exec stdin (borrowed until finished) */
	size_t inlen;
	struct buf *out;                /* exec stdout; I/O thread only until finished */
	int status;                     /* exec exit status; I/O thread only until finished */
	bool eof_pending;               /* I/O thread only */
	pthread_mutex_t cb_lock;        /* held by the I/O thread while it runs ops */
	bool detached;                  /* protected by cb_lock: ops must not run */
	bool close_requested;           /* protected by c->lock */
	/* protected by c->lock */
	bool started;                   /* picked up by the I/O thread */
	struct buf *pending;            /* bytes from any thread, not yet in the channel */
	bool ready_done;
	int ready_result;
	bool closed;
	int close_err;
};

struct conn {
	/* Set in conn_open, read-only afterwards. */
	char *host;
	uint16_t port;
	struct conn_params p;
	int fd;
	int evfd;
	pthread_t thread;
	bool thread_started;
	/* Protocol state: conn_open's thread, then the I/O thread only. */
	struct transport *t;
	struct userauth *ua;
	struct chanmgr *cm;
	struct sshkey *hostkey;
	uint8_t *rbuf;
	uint64_t last_rx_ms;
	uint64_t last_keepalive_ms;
	bool auth_done;
	char auth_method[32];
	/* protected by lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct conn_stream *streams;
	bool stop;
	bool dead;
	int dead_err;
	bool rekey_requested;
	struct conn_info info;
	void (*close_cb)(void *ctx, int err);
	void *close_ctx;
	/* Set once by the opener; run by conn_close after c is freed. */
	void (*release)(void *arg);
	void *release_arg;
	struct conn *owned_jump; /* conn_own_jump: closed after c */
};

static void wake(struct conn *c)
{
	uint64_t one = 1;
	ssize_t n;

	do
		n = write(c->evfd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
}

/* ---- host key and payload routing (protocol thread) ---- */

static bool hostkey_type_matches(const char *alg, const char *type)
{
	/* RFC 8332 §3: rsa-sha2-* signatures use "ssh-rsa" keys. */
	if (strcmp(alg, "rsa-sha2-256") == 0 || strcmp(alg, "rsa-sha2-512") == 0)
		return strcmp(type, "ssh-rsa") == 0;
	return strcmp(alg, type) == 0;
}

static int conn_hostkey_check(void *ctx, const char *alg, const uint8_t *blob, size_t bloblen, const uint8_t *sig,
			      size_t siglen, const uint8_t *h, size_t hlen)
{
	struct conn *c = ctx;
	struct sshkey *key = NULL;
	int r;

	if ((r = sshkey_from_blob(blob, bloblen, &key)) != 0)
		return r;
	if (!hostkey_type_matches(alg, sshkey_type_name(key))) {
		r = ERR_HOSTKEY_MISMATCH_TYPE;
		goto out;
	}
	/* RFC 4253 §8: the server proves possession by signing the exchange hash. */
	if ((r = sshkey_verify(key, sig, siglen, h, hlen, alg)) != 0)
		goto out;
	if (c->hostkey == NULL) {
		r = c->p.verify_host_key(c->p.verify_ctx, c->p.host_key_alias != NULL ? c->p.host_key_alias : c->host,
					 c->port, key);
		if (r != 0)
			goto out;
		c->hostkey = key;
		key = NULL;
	} else if (sshkey_equal_public(c->hostkey, key) != 1) {
		/* A re-exchange must present the key verified at connect time. */
		r = ERR_HOSTKEY_CHANGED;
		goto out;
	}
	r = 0;
out:
	sshkey_free(key);
	return r;
}

static int conn_on_payload(void *ctx, const uint8_t *p, size_t len)
{
	struct conn *c = ctx;
	uint8_t type = p[0];
	/* Not c->auth_done alone: that is set when conn_open's loop looks
	 * again, and the server's first connection-protocol message (OpenSSH's
	 * hostkeys-00@openssh.com global request) may arrive in the same read
	 * as USERAUTH_SUCCESS. */
	bool authed = c->auth_done || (c->ua != NULL && userauth_done(c->ua));

	if (type >= SSH2_MSG_USERAUTH_REQUEST && type < SSH2_MSG_GLOBAL_REQUEST) {
		if (authed || c->ua == NULL)
			return ERR_PROTOCOL;
		return userauth_input(c->ua, p, len);
	}
	if (!authed)
		return ERR_PROTOCOL;
	return chanmgr_input(c->cm, p, len);
}

/* ---- one turn of the I/O loop ---- */

static void snapshot_info(struct conn *c)
{
	struct transport_info ti;
	struct conn_info *o = &c->info;

	transport_get_info(c->t, &ti);
	pthread_mutex_lock(&c->lock);
	snprintf(o->server_version, sizeof(o->server_version), "%s", ti.server_version ? ti.server_version : "");
	snprintf(o->kex, sizeof(o->kex), "%s", ti.kex ? ti.kex : "");
	snprintf(o->hostkey_alg, sizeof(o->hostkey_alg), "%s", ti.hostkey_alg ? ti.hostkey_alg : "");
	snprintf(o->cipher_c2s, sizeof(o->cipher_c2s), "%s", ti.cipher_c2s);
	snprintf(o->cipher_s2c, sizeof(o->cipher_s2c), "%s", ti.cipher_s2c);
	snprintf(o->mac_c2s, sizeof(o->mac_c2s), "%s", ti.mac_c2s);
	snprintf(o->mac_s2c, sizeof(o->mac_s2c), "%s", ti.mac_s2c);
	snprintf(o->comp_c2s, sizeof(o->comp_c2s), "%s", ti.comp_c2s);
	snprintf(o->comp_s2c, sizeof(o->comp_s2c), "%s", ti.comp_s2c);
	snprintf(o->auth_method, sizeof(o->auth_method), "%s", c->auth_method);
	o->strict_kex = ti.strict_kex;
	o->rekeys = ti.rekeys_by_us + ti.rekeys_by_peer;
	pthread_mutex_unlock(&c->lock);
}

static int pump_read(struct conn *c)
{
	size_t got, total = 0;
	int r;

	/* Bounded per turn so writes keep flowing under a fast sender. */
	while (total < 4 * CONN_READ_CHUNK) {
		if ((r = io_read_some(c->fd, c->rbuf, CONN_READ_CHUNK, &got)) != 0)
			return r;
		if (got == 0)
			break;
		total += got;
		c->last_rx_ms = io_now_ms();
		if (c->cm != NULL)
			chanmgr_reset_keepalives(c->cm);
		if ((r = transport_input(c->t, c->rbuf, got)) != 0)
			return r;
	}
	return 0;
}

/* Keepalive (ServerAliveInterval/CountMax) and time-based rekeying. Returns poll timeout in ms. */
static int timers(struct conn *c, int *timeout_ms)
{
	uint64_t now = io_now_ms(), iv;
	unsigned maxcount = c->p.server_alive_count_max > 0 ? c->p.server_alive_count_max : 3;
	int r;

	*timeout_ms = 1000;
	if ((r = transport_tick(c->t, now / 1000)) != 0)
		return r;
	if (!c->auth_done || c->p.server_alive_interval == 0)
		return 0;
	iv = (uint64_t)c->p.server_alive_interval * 1000;
	uint64_t since = now - (c->last_rx_ms > c->last_keepalive_ms ? c->last_rx_ms : c->last_keepalive_ms);
	if (since >= iv) {
		if (chanmgr_keepalives_outstanding(c->cm) >= maxcount) {
			log_info(LOG_CAT_IO, "timeout, server %s not responding", c->host);
			return ERR_TIMEOUT;
		}
		if ((r = chanmgr_send_keepalive(c->cm)) != 0)
			return r;
		c->last_keepalive_ms = now;
		since = 0;
	}
	if (iv - since < (uint64_t)*timeout_ms)
		*timeout_ms = (int)(iv - since);
	return 0;
}

static int pump_once(struct conn *c, bool use_evfd)
{
	struct pollfd pfd[2];
	int timeout_ms, r, n;

	if ((r = timers(c, &timeout_ms)) != 0)
		return r;
	if ((r = io_write_some(c->fd, transport_output(c->t))) != 0)
		return r;
	pfd[0].fd = c->fd;
	pfd[0].events = POLLIN | (buf_len(transport_output(c->t)) > 0 ? POLLOUT : 0);
	pfd[0].revents = 0;
	pfd[1].fd = c->evfd;
	pfd[1].events = POLLIN;
	pfd[1].revents = 0;
	do
		n = poll(pfd, use_evfd ? 2 : 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return ERR_SYSTEM;
	if (use_evfd && (pfd[1].revents & POLLIN)) {
		uint64_t v;

		if (read(c->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			return ERR_SYSTEM;
	}
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		if ((r = pump_read(c)) != 0)
			return r;
	}
	return io_write_some(c->fd, transport_output(c->t));
}

/* Drive the protocol in the calling thread until done(c) or an error/timeout. */
static int pump_until(struct conn *c, bool (*done)(struct conn *), unsigned silence_s)
{
	int r;

	c->last_rx_ms = io_now_ms();
	while (!done(c)) {
		if ((r = pump_once(c, false)) != 0)
			return r;
		if (silence_s > 0 && io_now_ms() - c->last_rx_ms > (uint64_t)silence_s * 1000) {
			log_error(LOG_CAT_IO, "timed out waiting for %s", c->host);
			return ERR_TIMEOUT;
		}
	}
	return io_write_some(c->fd, transport_output(c->t));
}

static bool transport_is_ready(struct conn *c)
{
	return transport_ready(c->t);
}

static bool auth_is_done(struct conn *c)
{
	return userauth_done(c->ua);
}

/* ---- streams, on the I/O thread ---- */

static void stream_ready(struct conn_stream *s, int result)
{
	struct conn *c = s->c;

	pthread_mutex_lock(&c->lock);
	if (!s->ready_done) {
		s->ready_done = true;
		s->ready_result = result;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
}

static void st_on_open(void *ctx, int result)
{
	struct conn_stream *s = ctx;
	int r = result;

	if (r == 0 && s->is_tcpip) {
		stream_ready(s, 0); /* no request: the channel is the connection */
		return;
	}
	if (r == 0)
		r = s->is_exec || s->exec_stream ? chan_request_exec(s->ch, s->what)
						 : chan_request_subsystem(s->ch, s->what);
	if (r != 0)
		stream_ready(s, r);
}

static int stream_push_eof(struct conn_stream *s)
{
	int r = chan_send_eof(s->ch);

	if (r == ERR_WOULD_BLOCK) {
		s->eof_pending = true;
		return 0;
	}
	s->eof_pending = false;
	return r;
}

static void st_on_request(void *ctx, int result)
{
	struct conn_stream *s = ctx;
	int r = result;

	if (r == 0 && s->is_exec) {
		if (s->inlen > 0)
			r = chan_write(s->ch, s->in, s->inlen);
		if (r == 0)
			r = stream_push_eof(s);
	}
	stream_ready(s, r);
}

static int st_on_data(void *ctx, const uint8_t *data, size_t len)
{
	struct conn_stream *s = ctx;

	int r = 0;

	if (s->is_exec)
		return s->out != NULL && len > 0 ? buf_put(s->out, data, len) : 0;
	pthread_mutex_lock(&s->cb_lock);
	if (!s->detached && s->ops.on_data != NULL)
		r = s->ops.on_data(s->ctx, data, len);
	pthread_mutex_unlock(&s->cb_lock);
	return r;
}

static void st_on_stderr(void *ctx, const uint8_t *data, size_t len)
{
	log_debug(LOG_CAT_CHANNEL, "remote stderr: %.*s", (int)(len > 1024 ? 1024 : len), (const char *)data);
}

static void st_on_eof(void *ctx)
{
	/* exec: the server closes the channel after exit-status (RFC 4254 §6.10). */
	(void)ctx;
}

static void st_on_exit_status(void *ctx, uint32_t status)
{
	struct conn_stream *s = ctx;

	s->status = (int)(status > 255 ? 255 : status);
}

static void st_on_close(void *ctx, int err)
{
	struct conn_stream *s = ctx;
	struct conn *c = s->c;
	/* conn_exec frees an exec stream as soon as it sees closed: after the
	 * unlock below such a stream must not be touched. */
	bool is_exec = s->is_exec;

	s->ch = NULL;
	pthread_mutex_lock(&c->lock);
	if (!s->ready_done) {
		s->ready_done = true;
		s->ready_result = err != 0 ? err : ERR_CHANNEL_FAILED;
	}
	s->closed = true;
	s->close_err = err; /* 0: closed by the protocol; else the connection died */
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (!is_exec) {
		pthread_mutex_lock(&s->cb_lock);
		if (!s->detached && s->ops.on_close != NULL)
			s->ops.on_close(s->ctx, err != 0 ? err : ERR_CONN_CLOSED);
		s->detached = true;
		pthread_mutex_unlock(&s->cb_lock);
	}
}

static const struct chan_callbacks stream_callbacks = {
	.on_open = st_on_open,
	.on_request = st_on_request,
	.on_data = st_on_data,
	.on_stderr = st_on_stderr,
	.on_eof = st_on_eof,
	.on_exit_status = st_on_exit_status,
	.on_close = st_on_close,
};

/* Start new streams, move queued bytes into channels, honour a rekey request. */
static int service_requests(struct conn *c)
{
	struct conn_stream *s, *to_start[SSH_CHANNELS_MAX];
	size_t nstart = 0, room;
	bool rekey;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	rekey = c->rekey_requested;
	c->rekey_requested = false;
	for (s = c->streams; s != NULL; s = s->next) {
		if (!s->started) {
			if (nstart < SSH_CHANNELS_MAX) {
				s->started = true;
				to_start[nstart++] = s;
			}
			continue;
		}
		if (s->ch == NULL || s->closed)
			continue;
		if (s->close_requested) {
			s->close_requested = false;
			r = chan_close(s->ch);
			continue;
		}
		/* Only what the peer's window takes now: the rest waits in
		 * pending (the next loop after a WINDOW_ADJUST moves it),
		 * framed from there without a copy into the channel's queue. */
		while (r == 0 && buf_len(s->pending) > 0 && buf_len(transport_output(c->t)) < CONN_OUT_HIGH_WATER &&
		       (room = chan_sendable(s->ch)) > 0) {
			size_t n = buf_len(s->pending) < CONN_MOVE_CHUNK ? buf_len(s->pending) : CONN_MOVE_CHUNK;

			if (n > room)
				n = room;

			if ((r = chan_write(s->ch, buf_peek(s->pending), n)) == 0)
				r = buf_consume(s->pending, n);
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (r != 0)
		return r;
	for (size_t i = 0; i < nstart; i++) {
		s = to_start[i];
		r = s->is_tcpip ? chan_open_direct_tcpip(c->cm, s->what, s->port, &stream_callbacks, s, &s->ch)
				: chan_open_session(c->cm, &stream_callbacks, s, &s->ch);
		if (r != 0)
			stream_ready(s, r);
	}
	for (s = c->streams; s != NULL; s = s->next) {
		if (s->eof_pending && s->ch != NULL && (r = stream_push_eof(s)) != 0)
			return r;
	}
	if (rekey && (r = transport_rekey(c->t)) != 0)
		return r;
	return 0;
}

static void die(struct conn *c, int err)
{
	void (*cb)(void *, int);
	void *cbctx;
	bool notify;

	chanmgr_fail_all(c->cm, err);
	pthread_mutex_lock(&c->lock);
	c->dead = true;
	c->dead_err = err;
	notify = !c->stop;
	cb = c->close_cb;
	cbctx = c->close_ctx;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (notify && cb != NULL)
		cb(cbctx, err);
}

/* Best effort, bounded: get our DISCONNECT (queued by us or by the transport on an error) out. */
static void flush_output(struct conn *c)
{
	uint64_t until = io_now_ms() + CONN_CLOSE_FLUSH_MS;

	while (buf_len(transport_output(c->t)) > 0 && io_now_ms() < until) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT};

		if (io_write_some(c->fd, transport_output(c->t)) != 0 || poll(&pfd, 1, 50) < 0)
			break;
	}
}

static void *io_thread(void *arg)
{
	struct conn *c = arg;
	int r = 0;

	for (;;) {
		bool stop;

		pthread_mutex_lock(&c->lock);
		stop = c->stop;
		pthread_mutex_unlock(&c->lock);
		if (stop) {
			if (transport_disconnect(c->t, SSH2_DISCONNECT_BY_APPLICATION, "disconnected by user") == 0)
				flush_output(c);
			r = ERR_CONN_CLOSED;
			break;
		}
		if ((r = service_requests(c)) != 0 || (r = pump_once(c, true)) != 0)
			break;
		snapshot_info(c);
		if (buf_len(transport_output(c->t)) < CONN_OUT_HIGH_WATER && (r = chanmgr_flush(c->cm)) != 0)
			break;
	}
	if (r != ERR_CONN_CLOSED && r != ERR_SYSTEM)
		flush_output(c);
	if (r != ERR_CONN_CLOSED || !c->stop)
		log_info(LOG_CAT_IO, "connection to %s closed: %s", c->host, err_str(r));
	die(c, r);
	return NULL;
}

/* ---- public API ---- */

static void stream_free(struct conn_stream *s)
{
	pthread_mutex_destroy(&s->cb_lock);
	buf_free(s->pending);
	free(s->what);
	free(s);
}

static void conn_free(struct conn *c)
{
	struct conn_stream *s, *next;

	if (c == NULL)
		return;
	for (s = c->streams; s != NULL; s = next) {
		next = s->next;
		stream_free(s);
	}
	chanmgr_free(c->cm);
	userauth_free(c->ua);
	transport_free(c->t);
	sshkey_free(c->hostkey);
	if (c->fd >= 0)
		close(c->fd);
	if (c->evfd >= 0)
		close(c->evfd);
	free(c->rbuf);
	free(c->host);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

int conn_open(const struct conn_params *p, struct conn **out)
{
	struct transport_config tc;
	struct conn *c;
	char *kex = NULL, *hk = NULL, *ciph = NULL, *macs = NULL;
	unsigned silence;
	int r = ERR_INTERNAL;

	*out = NULL;
	if (p->host == NULL || p->user == NULL || p->verify_host_key == NULL)
		return ERR_INVALID_ARGUMENT;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ERR_ALLOC_FAIL;
	c->fd = -1;
	c->evfd = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->p = *p;
	c->port = p->port != 0 ? p->port : 22;
	if ((c->host = strdup(p->host)) == NULL || (c->rbuf = malloc(CONN_READ_CHUNK)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	c->p.host = c->host;
	if ((r = algs_resolve(ALG_KEX, p->kex_algorithms, &kex)) != 0 ||
	    (r = algs_resolve(ALG_HOSTKEY, p->host_key_algorithms, &hk)) != 0 ||
	    (r = algs_resolve(ALG_CIPHER, p->ciphers, &ciph)) != 0 || (r = algs_resolve(ALG_MAC, p->macs, &macs)) != 0) {
		log_error(LOG_CAT_CONFIG, "bad algorithm list: %s", err_str(r));
		goto out;
	}
	if ((c->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		r = ERR_SYSTEM;
		goto out;
	}
	if (p->fd >= 0) {
		c->fd = p->fd;
		if ((r = io_prepare_fd(c->fd)) != 0)
			goto out;
	} else if ((r = io_connect(c->host, c->port, p->address_family, p->bind_address, p->connect_timeout, &c->fd)) !=
		   0) {
		goto out;
	}
	if (p->tcp_keepalive) {
		int one = 1;

		/* Not fatal: a ProxyCommand's socketpair has no TCP keepalive. */
		if (setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) != 0)
			log_debug(LOG_CAT_IO, "SO_KEEPALIVE: %s", strerror(errno));
	}
	memset(&tc, 0, sizeof(tc));
	tc.kex_algs = kex;
	tc.hostkey_algs = hk;
	tc.ciphers = ciph;
	tc.macs = macs;
	/* ssh_config Compression=yes: OpenSSH offers zlib@openssh.com,zlib,none. */
	tc.compression = p->compression ? "zlib@openssh.com,zlib,none" : "none";
	tc.rekey_bytes = p->rekey_limit_bytes;
	tc.rekey_seconds = p->rekey_limit_seconds;
	tc.hostkey_check = conn_hostkey_check;
	tc.hostkey_ctx = c;
	tc.on_payload = conn_on_payload;
	tc.payload_ctx = c;
	if ((r = transport_new(&tc, &c->t)) != 0 || (r = chanmgr_new(c->t, &c->cm)) != 0 ||
	    (r = userauth_new(&c->p, c->t, &c->ua)) != 0)
		goto out;
	if ((r = transport_start(c->t, io_now())) != 0)
		goto out;
	silence = p->connect_timeout > 0 ? p->connect_timeout
					 : p->server_alive_interval * (p->server_alive_count_max > 0 ? p->server_alive_count_max : 3);
	if ((r = pump_until(c, transport_is_ready, silence)) != 0)
		goto out;
	if ((r = userauth_start(c->ua)) != 0 || (r = pump_until(c, auth_is_done, silence)) != 0)
		goto out;
	c->auth_done = true;
	snprintf(c->auth_method, sizeof(c->auth_method), "%s", userauth_method(c->ua));
	c->last_rx_ms = c->last_keepalive_ms = io_now_ms();
	/* Identities and prompts are not needed after authentication. */
	c->p.identities = NULL;
	c->p.n_identities = 0;
	c->p.password = NULL;
	c->p.kbdint = NULL;
	snapshot_info(c);
	if (pthread_create(&c->thread, NULL, io_thread, c) != 0) {
		r = ERR_SYSTEM;
		goto out;
	}
	c->thread_started = true;
	*out = c;
	c = NULL;
	r = 0;
out:
	if (c != NULL && c->t != NULL && c->fd >= 0 && r != ERR_DISCONNECTED && r != ERR_CONN_CLOSED) {
		uint32_t reason = r == ERR_AUTH_FAILED ? SSH2_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE
				  : (r == ERR_HOSTKEY_UNKNOWN || r == ERR_HOSTKEY_CHANGED || r == ERR_HOSTKEY_REVOKED)
				      ? SSH2_DISCONNECT_HOST_KEY_NOT_VERIFIABLE
				      : SSH2_DISCONNECT_BY_APPLICATION;

		if (transport_disconnect(c->t, reason, err_str(r)) == 0 &&
		    io_write_some(c->fd, transport_output(c->t)) != 0)
			log_debug(LOG_CAT_IO, "could not send DISCONNECT");
	}
	conn_free(c);
	free(kex);
	free(hk);
	free(ciph);
	free(macs);
	return r;
}

void conn_abort(struct conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_mutex_unlock(&c->lock);
	wake(c);
}

void conn_set_close_callback(struct conn *c, void (*cb)(void *ctx, int err), void *ctx)
{
	pthread_mutex_lock(&c->lock);
	c->close_cb = cb;
	c->close_ctx = ctx;
	pthread_mutex_unlock(&c->lock);
}

void conn_close(struct conn *c)
{
	void (*release)(void *);
	void *arg;
	struct conn *jump;

	if (c == NULL)
		return;
	conn_abort(c);
	if (c->thread_started)
		pthread_join(c->thread, NULL);
	release = c->release;
	arg = c->release_arg;
	jump = c->owned_jump;
	conn_free(c);
	/* The stream under c (a ProxyJump bridge) lets go of its channel
	 * before the connection carrying that channel is closed. */
	if (release != NULL)
		release(arg);
	conn_close(jump);
}

void conn_set_release(struct conn *c, void (*release)(void *arg), void *arg)
{
	c->release = release;
	c->release_arg = arg;
}

void conn_own_jump(struct conn *c, struct conn *jump)
{
	c->owned_jump = jump;
}

void conn_get_info(struct conn *c, struct conn_info *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->info;
	pthread_mutex_unlock(&c->lock);
}

int conn_rekey(struct conn *c)
{
	pthread_mutex_lock(&c->lock);
	c->rekey_requested = true;
	pthread_mutex_unlock(&c->lock);
	wake(c);
	return 0;
}

static int stream_new(struct conn *c, const char *what, bool is_exec, struct conn_stream **out)
{
	struct conn_stream *s;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ERR_ALLOC_FAIL;
	s->c = c;
	s->is_exec = is_exec;
	pthread_mutex_init(&s->cb_lock, NULL);
	s->status = -1;
	if ((s->what = strdup(what)) == NULL || (s->pending = buf_new(BUF_ABSOLUTE_MAX)) == NULL) {
		stream_free(s);
		return ERR_ALLOC_FAIL;
	}
	*out = s;
	return 0;
}

/*
 * Hand s to the I/O thread and wait until its channel is ready (or failed),
 * or closed when wait_close. s belongs to c afterwards (freed here if c is dead).
 */
static int stream_start_and_wait(struct conn *c, struct conn_stream *s, bool wait_close, bool *freed)
{
	int r;

	*freed = false;
	pthread_mutex_lock(&c->lock);
	if (c->dead || c->stop) {
		pthread_mutex_unlock(&c->lock);
		stream_free(s);
		*freed = true;
		return ERR_CONN_CLOSED;
	}
	s->next = c->streams;
	c->streams = s;
	pthread_mutex_unlock(&c->lock);
	wake(c);
	pthread_mutex_lock(&c->lock);
	while (!(wait_close ? (s->closed || (s->ready_done && s->ready_result != 0)) : s->ready_done) && !c->dead)
		pthread_cond_wait(&c->cond, &c->lock);
	r = s->ready_done ? s->ready_result : c->dead_err;
	if (r == 0 && wait_close)
		r = s->closed ? s->close_err : c->dead_err;
	pthread_mutex_unlock(&c->lock);
	return r;
}

enum stream_kind { STREAM_SUBSYSTEM, STREAM_EXEC, STREAM_TCPIP };

/* A data stream (ops get its bytes) on a new channel of c. */
static int stream_open(struct conn *c, enum stream_kind kind, const char *what, uint16_t port,
		       const struct conn_stream_ops *ops, void *ctx, struct conn_stream **out)
{
	struct conn_stream *s;
	bool freed;
	int r;

	*out = NULL;
	if ((r = stream_new(c, what, false, &s)) != 0)
		return r;
	s->exec_stream = kind == STREAM_EXEC;
	s->is_tcpip = kind == STREAM_TCPIP;
	s->port = port;
	s->ops = *ops;
	s->ctx = ctx;
	/* From here s belongs to c: freed by conn_close (or at once if c is dead). */
	if ((r = stream_start_and_wait(c, s, false, &freed)) != 0) {
		/* Refused (say a direct-tcpip the jump host denies): s stays
		 * c's until conn_close, but its ops must never run again - the
		 * caller frees ctx on this failure (conn_open_via's bridge). */
		if (!freed)
			conn_stream_detach(s);
		return r;
	}
	*out = s;
	return 0;
}

int conn_stream_open_subsystem(struct conn *c, const char *name, const struct conn_stream_ops *ops, void *ctx,
			       struct conn_stream **out)
{
	return stream_open(c, STREAM_SUBSYSTEM, name, 0, ops, ctx, out);
}

int conn_stream_open_exec(struct conn *c, const char *command, const struct conn_stream_ops *ops, void *ctx,
			  struct conn_stream **out)
{
	return stream_open(c, STREAM_EXEC, command, 0, ops, ctx, out);
}

int conn_stream_exit_status(struct conn_stream *s)
{
	struct conn *c = s->c;
	int status;

	pthread_mutex_lock(&c->lock);
	status = s->closed ? s->status : -1;
	pthread_mutex_unlock(&c->lock);
	return status;
}

uint32_t conn_stream_peer_window(const struct conn_stream *s)
{
	return s->ch != NULL ? chan_peer_window(s->ch) : 0;
}

int conn_stream_send(struct conn_stream *s, const uint8_t *data, size_t len)
{
	return conn_stream_send2(s, data, len, NULL, 0);
}

int conn_stream_send2(struct conn_stream *s, const uint8_t *data, size_t len, const uint8_t *tail, size_t tlen)
{
	struct conn *c = s->c;
	uint8_t *dst;
	int r = 0;

	pthread_mutex_lock(&c->lock);
	if (s->closed || c->dead || c->stop) {
		r = ERR_CONN_CLOSED;
	} else if (len > SIZE_MAX - tlen) {
		r = ERR_INVALID_ARGUMENT;
	} else if (len + tlen > 0 && (r = buf_reserve(s->pending, len + tlen, &dst)) == 0) {
		if (len > 0)
			memcpy(dst, data, len);
		if (tlen > 0)
			memcpy(dst + len, tail, tlen);
	}
	pthread_mutex_unlock(&c->lock);
	if (r == 0)
		wake(c);
	return r;
}

int conn_stream_open_direct_tcpip(struct conn *c, const char *host, uint16_t port, const struct conn_stream_ops *ops,
				  void *ctx, struct conn_stream **out)
{
	return stream_open(c, STREAM_TCPIP, host, port, ops, ctx, out);
}

void conn_stream_detach(struct conn_stream *s)
{
	struct conn *c = s->c;
	bool on_io_thread = c->thread_started && pthread_equal(pthread_self(), c->thread);

	/* Wait out a callback running on the I/O thread, unless we are inside it. */
	if (!on_io_thread)
		pthread_mutex_lock(&s->cb_lock);
	s->detached = true;
	if (!on_io_thread)
		pthread_mutex_unlock(&s->cb_lock);
	pthread_mutex_lock(&c->lock);
	if (!s->closed)
		s->close_requested = true;
	pthread_mutex_unlock(&c->lock);
	wake(c);
}

int conn_exec(struct conn *c, const char *command, const uint8_t *in, size_t inlen, struct buf *out, int *status)
{
	struct conn_stream *s;
	bool freed;
	int r;

	*status = -1;
	if ((r = stream_new(c, command, true, &s)) != 0)
		return r;
	s->in = in;
	s->inlen = inlen;
	s->out = out;
	r = stream_start_and_wait(c, s, true, &freed);
	if (freed)
		return r;
	if (r == 0)
		*status = s->status;
	/* A closed exec stream is no longer referenced by the I/O thread: free it now. */
	pthread_mutex_lock(&c->lock);
	if (s->closed || c->dead) {
		struct conn_stream **pp;

		for (pp = &c->streams; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == s) {
				*pp = s->next;
				stream_free(s);
				break;
			}
		}
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

int conn_sign_with_key(void *ctx, const struct sshkey *pub, const char *alg, const uint8_t *data, size_t len,
		       struct buf *out)
{
	const struct sshkey *priv = ctx;

	if (priv == NULL)
		return ERR_INVALID_ARGUMENT;
	return sshkey_sign(priv, alg, data, len, out);
}
