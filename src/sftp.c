/*
 * sftp.c - the SFTP v3 client core (draft-ietf-secsh-filexfer-02): the
 * request table keyed by id, the window, INIT/VERSION, input framing and
 * dispatch, and the synchronous and asynchronous v3 operations (the OpenSSH
 * extensions are in sftp_ext.c).
 *
 * Threads: any number of callers build requests and wait on their own
 * condition; one I/O thread at a time feeds sftp_client_input(), which
 * completes requests by id. Async completions run on that I/O thread without
 * the client lock held.
 *
 * Locking: one mutex, c->lock, protects everything marked "protected by
 * lock" below; it is never held while calling the send function, a callback
 * or the shutdown callback. The input buffer belongs to the I/O thread.
 */
#include "config.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "limits.h"
#include "log.h"
#include "sftp.h"
#include "sftp_codec.h"
#include "sftp_int.h"

/* Client states (filexfer-02 §4: INIT must precede every request). */
enum sftp_state {
	SFTP_STATE_NEW,
	SFTP_STATE_AWAIT_VERSION,
	SFTP_STATE_READY,
	SFTP_STATE_CLOSED,
};

struct sftp_req {
	uint32_t id;
	uint8_t type;  /* request packet type, for logs */
	size_t bytes;  /* data bytes charged to the window */
	bool sends;    /* WRITE: bytes go to the server (the write window) */
	bool sync;
	/* sync: protected by lock */
	bool done;
	int err;
	uint8_t reply_type;
	struct buf *reply; /* body after the id, owned */
	GCond cond;
	/* async: owned by the completing thread once out of the table */
	sftp_read_cb read_cb;
	sftp_status_cb status_cb;
	void *ctx;
	size_t max_data; /* READ: requested length */
};

struct sftp_client {
	uint64_t serial; /* unique per client in this process; stamps its handles */
	sftp_send_fn send;
	void *send_ctx;

	GMutex lock;
	GCond window_cond; /* room in the window, or shutdown */
	GCond state_cond;  /* state changes (VERSION received, shutdown) */
	/* protected by lock */
	enum sftp_state state;
	int shutdown_err;
	int init_err;
	GHashTable *reqs; /* id -> struct sftp_req*, every request in flight */
	uint32_t next_id;
	unsigned in_flight;
	size_t bytes_in_flight;
	unsigned max_requests;
	size_t max_bytes;
	size_t write_bytes_in_flight;
	size_t max_write_bytes; /* 0: only max_bytes */
	size_t peer_window;     /* the channel window the server granted, 0 if unknown */
	unsigned open_handles; /* handles the server holds for us, plus opens in flight */
	void (*shutdown_cb)(void *ctx, int err);
	void *shutdown_ctx;
	/* written during sftp_client_init (under lock), read-only after it returns */
	struct sftp_version_info ver;
	struct sftp_limits limits; /* effective */

	void (*cleanup)(void *ctx);
	void *cleanup_ctx;

	/* I/O thread only */
	struct buf *in;
};

/* Status of this thread's last synchronous request. */
static __thread uint32_t tls_status = SFTP_FX_NONE;
static __thread char tls_message[256];

uint32_t sftp_last_status(void)
{
	return tls_status;
}

const char *sftp_last_message(void)
{
	return tls_message;
}

/* The client whose input this thread is processing (callbacks run here):
 * blocking on the window or a reply here would deadlock the I/O thread. */
static __thread const struct sftp_client *tls_in_input;

void sftp_tls_reset(void)
{
	tls_status = SFTP_FX_NONE;
	tls_message[0] = '\0';
}

/* Source of client serials (never 0, so a zeroed handle belongs to no client). */
static uint64_t sftp_client_serials;

struct sftp_client *sftp_client_new(sftp_send_fn send, void *send_ctx)
{
	struct sftp_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	/* One whole packet plus its length always fits after the complete ones are taken out. */
	if ((c->in = buf_new(SFTP_PACKET_MAX + 4)) == NULL ||
	    (c->reqs = g_hash_table_new(g_direct_hash, g_direct_equal)) == NULL) {
		buf_free(c->in);
		free(c);
		return NULL;
	}
	c->serial = __atomic_add_fetch(&sftp_client_serials, 1, __ATOMIC_RELAXED);
	c->send = send;
	c->send_ctx = send_ctx;
	g_mutex_init(&c->lock);
	g_cond_init(&c->window_cond);
	g_cond_init(&c->state_cond);
	c->state = SFTP_STATE_NEW;
	c->next_id = 1;
	c->max_requests = SFTP_WINDOW_REQUESTS_DEFAULT;
	c->max_bytes = SFTP_WINDOW_BYTES_DEFAULT;
	c->limits.packet_length = SFTP_PACKET_MAX;
	c->limits.read_length = SFTP_IO_LEN_DEFAULT;
	c->limits.write_length = SFTP_IO_LEN_DEFAULT;
	c->limits.open_handles = 0;
	return c;
}

void sftp_client_set_shutdown_callback(struct sftp_client *c, void (*cb)(void *ctx, int err), void *ctx)
{
	g_mutex_lock(&c->lock);
	c->shutdown_cb = cb;
	c->shutdown_ctx = ctx;
	g_mutex_unlock(&c->lock);
}

void sftp_client_set_cleanup(struct sftp_client *c, void (*cleanup)(void *ctx), void *ctx)
{
	c->cleanup = cleanup;
	c->cleanup_ctx = ctx;
}

static void window_release(struct sftp_client *c, struct sftp_req *req)
{
	g_assert(c->in_flight > 0 && c->bytes_in_flight >= req->bytes);
	c->in_flight--;
	c->bytes_in_flight -= req->bytes;
	if (req->sends)
		c->write_bytes_in_flight -= req->bytes;
	g_cond_broadcast(&c->window_cond);
}

static void req_free(struct sftp_req *req)
{
	if (req == NULL)
		return;
	buf_free(req->reply);
	if (req->sync)
		g_cond_clear(&req->cond);
	free(req);
}

/* Async completion with an error only. */
static void req_fail_async(struct sftp_req *req, int err)
{
	if (req->read_cb != NULL)
		req->read_cb(req->ctx, err, NULL, 0);
	else if (req->status_cb != NULL)
		req->status_cb(req->ctx, err);
}

void sftp_client_shutdown(struct sftp_client *c, int err)
{
	GHashTableIter it;
	gpointer key, value;
	GSList *async = NULL;
	void (*cb)(void *, int);
	void *cb_ctx;

	if (err == 0)
		err = ERR_CONN_CLOSED;
	g_mutex_lock(&c->lock);
	if (c->state == SFTP_STATE_CLOSED) {
		g_mutex_unlock(&c->lock);
		return;
	}
	c->state = SFTP_STATE_CLOSED;
	c->shutdown_err = err;
	if (c->init_err == 0)
		c->init_err = err;
	g_hash_table_iter_init(&it, c->reqs);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		struct sftp_req *req = value;

		g_hash_table_iter_remove(&it);
		if (req->sync) {
			req->done = true;
			req->err = err;
			g_cond_signal(&req->cond);
		} else {
			async = g_slist_prepend(async, req);
		}
	}
	c->in_flight = 0;
	c->bytes_in_flight = 0;
	c->write_bytes_in_flight = 0;
	g_cond_broadcast(&c->window_cond);
	g_cond_broadcast(&c->state_cond);
	cb = c->shutdown_cb;
	cb_ctx = c->shutdown_ctx;
	c->shutdown_cb = NULL;
	g_mutex_unlock(&c->lock);

	log_debug(LOG_CAT_SFTP, "sftp: shut down: %s", err_str(err));
	for (GSList *l = async; l != NULL; l = l->next) {
		req_fail_async(l->data, err);
		req_free(l->data);
	}
	g_slist_free(async);
	if (cb != NULL)
		cb(cb_ctx, err);
}

void sftp_client_free(struct sftp_client *c)
{
	if (c == NULL)
		return;
	sftp_client_shutdown(c, ERR_CONN_CLOSED);
	if (c->cleanup != NULL)
		c->cleanup(c->cleanup_ctx);
	g_hash_table_destroy(c->reqs);
	buf_free(c->in);
	g_cond_clear(&c->window_cond);
	g_cond_clear(&c->state_cond);
	g_mutex_clear(&c->lock);
	free(c);
}

/* ---- input: framing and dispatch ---- */

static int handle_version(struct sftp_client *c, struct buf *pkt)
{
	struct sftp_version_info v;
	int r;

	g_mutex_lock(&c->lock);
	if (c->state != SFTP_STATE_AWAIT_VERSION) {
		g_mutex_unlock(&c->lock);
		log_error(LOG_CAT_SFTP, "sftp: unexpected VERSION");
		return ERR_PROTOCOL;
	}
	r = sftp_version_decode(pkt, &v);
	if (r == 0 && v.version != 3) {
		/* filexfer-02 §4: the server answers with the lower of the two
		 * versions; below 3 we cannot speak, above 3 it broke the rule. */
		log_error(LOG_CAT_SFTP, "sftp: server speaks version %u, we need 3", v.version);
		r = ERR_NOT_SUPPORTED;
	}
	if (r == 0) {
		c->ver = v;
		c->state = SFTP_STATE_READY;
	} else {
		c->init_err = r;
	}
	g_cond_broadcast(&c->state_cond);
	g_mutex_unlock(&c->lock);
	return r;
}

/* filexfer-02 §6.4: DATA for a READ, or STATUS (EOF or an error). */
static void complete_read(struct sftp_req *req, uint8_t type, struct buf *body)
{
	const uint8_t *data;
	size_t len;
	uint32_t code;
	int r;

	if (type == SSH_FXP_DATA) {
		if ((r = sftp_data_decode(body, req->max_data, &data, &len)) == 0) {
			req->read_cb(req->ctx, 0, data, len);
			return;
		}
	} else if (type == SSH_FXP_STATUS) {
		if ((r = sftp_status_decode(body, &code, NULL, 0)) == 0) {
			if (code == SFTP_FX_EOF) {
				req->read_cb(req->ctx, 0, NULL, 0);
				return;
			}
			r = code == SFTP_FX_OK ? ERR_PROTOCOL : sftp_status_to_err(code);
		}
	} else {
		r = ERR_PROTOCOL;
	}
	if (r == ERR_PROTOCOL || r == ERR_INVALID_FORMAT)
		log_error(LOG_CAT_SFTP, "sftp: bad reply %s to READ", sftp_type_name(type));
	req->read_cb(req->ctx, r, NULL, 0);
}

static void complete_status(struct sftp_req *req, uint8_t type, struct buf *body)
{
	uint32_t code;
	int r = ERR_PROTOCOL;

	if (type == SSH_FXP_STATUS && (r = sftp_status_decode(body, &code, NULL, 0)) == 0)
		r = sftp_status_to_err(code);
	if (r == ERR_PROTOCOL)
		log_error(LOG_CAT_SFTP, "sftp: bad reply %s to %s", sftp_type_name(type), sftp_type_name(req->type));
	req->status_cb(req->ctx, r);
}

static int handle_packet(struct sftp_client *c, struct buf *pkt)
{
	struct sftp_req *req;
	uint8_t type;
	uint32_t id;
	int r;

	if ((r = buf_get_u8(pkt, &type)) != 0)
		return r;
	if (type == SSH_FXP_VERSION)
		return handle_version(c, pkt);
	if ((r = buf_get_u32(pkt, &id)) != 0)
		return ERR_PROTOCOL;
	g_mutex_lock(&c->lock);
	req = g_hash_table_lookup(c->reqs, GUINT_TO_POINTER(id));
	if (req == NULL) {
		g_mutex_unlock(&c->lock);
		/* A reply to nothing: the server's idea of the stream and ours differ. */
		log_error(LOG_CAT_SFTP, "sftp: %s reply with unknown id %u", sftp_type_name(type), id);
		return ERR_PROTOCOL;
	}
	g_hash_table_remove(c->reqs, GUINT_TO_POINTER(id));
	window_release(c, req);
	g_mutex_unlock(&c->lock);
	if (req->sync) {
		/* Out of the table, the request is ours until done is set: copy
		 * the body without the lock (its waiter cannot leave before). An
		 * empty body needs no copy. */
		struct buf *reply = buf_new(buf_len(pkt) + 1);
		int err = 0;

		if (reply == NULL || (buf_len(pkt) > 0 && buf_putb(reply, pkt) != 0))
			err = ERR_ALLOC_FAIL;
		g_mutex_lock(&c->lock);
		req->reply_type = type;
		req->reply = reply;
		req->err = err;
		req->done = true;
		g_cond_signal(&req->cond);
		g_mutex_unlock(&c->lock);
		return 0;
	}
	if (req->read_cb != NULL)
		complete_read(req, type, pkt);
	else
		complete_status(req, type, pkt);
	req_free(req);
	return 0;
}

static int process_packets(struct sftp_client *c)
{
	uint32_t plen;
	int r;

	while (buf_peek_u32(c->in, 0, &plen) == 0) {
		struct buf *pkt;

		/* filexfer-02 §3: uint32 length, byte type, data. The shortest
		 * valid packet is a type plus a uint32 (VERSION or an id). */
		if (plen < 5 || plen > SFTP_PACKET_MAX) {
			log_error(LOG_CAT_SFTP, "sftp: bad packet length %u", plen);
			return ERR_PROTOCOL;
		}
		if (buf_len(c->in) - 4 < plen)
			break;
		if ((pkt = buf_from(buf_peek(c->in) + 4, plen)) == NULL)
			return ERR_ALLOC_FAIL;
		r = handle_packet(c, pkt);
		buf_free(pkt);
		if (r != 0)
			return r;
		if ((r = buf_consume(c->in, 4 + (size_t)plen)) != 0)
			return r;
	}
	return 0;
}

int sftp_client_input(struct sftp_client *c, const uint8_t *data, size_t len)
{
	int r;

	g_mutex_lock(&c->lock);
	r = c->state == SFTP_STATE_CLOSED ? c->shutdown_err : 0;
	g_mutex_unlock(&c->lock);
	if (r != 0)
		return r;
	tls_in_input = c;
	while (len > 0) {
		size_t n = buf_room(c->in);

		if (n > len)
			n = len;
		if (n == 0 || (r = buf_put(c->in, data, n)) != 0) {
			r = r != 0 ? r : ERR_INTERNAL;
			break;
		}
		data += n;
		len -= n;
		if ((r = process_packets(c)) != 0)
			break;
	}
	tls_in_input = NULL;
	if (r != 0)
		sftp_client_shutdown(c, r);
	return r;
}

/* ---- requests ---- */

/* A packet with room for length, type and id (filled in by req_submit). */
struct buf *sftp_pkt_new(uint8_t type)
{
	struct buf *b = buf_new(SFTP_PACKET_MAX + 4);

	if (b == NULL)
		return NULL;
	if (buf_put_u32(b, 0) != 0 || buf_put_u8(b, type) != 0 || buf_put_u32(b, 0) != 0) {
		buf_free(b);
		return NULL;
	}
	return b;
}

int sftp_put_path(struct buf *b, const char *path)
{
	if (path == NULL || strlen(path) > SFTP_PATH_MAX)
		return ERR_INVALID_ARGUMENT;
	return buf_put_cstring(b, path);
}

int sftp_put_handle(const struct sftp_client *c, struct buf *b, const struct sftp_handle *h)
{
	if (h == NULL || h->len == 0 || h->len > SFTP_HANDLE_MAX)
		return ERR_INVALID_ARGUMENT;
	/* A handle from another (earlier) client could name some other file
	 * on this server: refuse it, the caller reopens by path. */
	if (h->owner != c->serial)
		return ERR_STALE;
	return buf_put_string(b, h->data, h->len);
}

bool sftp_handle_belongs(const struct sftp_client *c, const struct sftp_handle *h)
{
	return h != NULL && h->len > 0 && h->owner == c->serial;
}

int sftp_handle_adopt(const struct sftp_client *c, const void *data, size_t len, struct sftp_handle *out)
{
	memset(out, 0, sizeof(*out));
	if (len == 0 || len > SFTP_HANDLE_MAX)
		return ERR_INVALID_ARGUMENT;
	memcpy(out->data, data, len);
	out->len = (uint16_t)len;
	out->owner = c->serial;
	return 0;
}

int sftp_client_error(struct sftp_client *c)
{
	int r;

	g_mutex_lock(&c->lock);
	r = c->state == SFTP_STATE_CLOSED ? c->shutdown_err : 0;
	g_mutex_unlock(&c->lock);
	return r;
}

/* The type byte of a packet built by sftp_pkt_new (0 if none). */
static uint8_t pkt_type(const struct buf *pkt)
{
	uint8_t t;

	if (pkt == NULL || buf_peek_u8(pkt, 4, &t) != 0)
		return 0;
	return t;
}

/* bytes more fit in a window of max bytes of which used are taken. */
static bool window_fits(size_t used, size_t max, size_t bytes)
{
	return used <= max && max - used >= bytes;
}

/*
 * Registers req under a fresh id and sends pkt, then tail (tlen bytes that
 * its length field counts: a WRITE's data, sent from where it lies). Waits
 * for room in the window unless nowait. On failure req is not in the table
 * (and, for async, its callback will not run); on success it is owned by the
 * table until completed.
 */
static int req_submit(struct sftp_client *c, struct sftp_req *req, struct buf *pkt, const uint8_t *tail, size_t tlen,
		      bool nowait)
{
	uint32_t id;
	int r;

	if (tls_in_input == c)
		nowait = true; /* never block the I/O thread */
	g_mutex_lock(&c->lock);
	for (;;) {
		if (c->state != SFTP_STATE_READY) {
			r = c->state == SFTP_STATE_CLOSED ? c->shutdown_err : ERR_INVALID_ARGUMENT;
			g_mutex_unlock(&c->lock);
			return r;
		}
		/* A request bigger than a byte window alone still goes when nothing else is in it. */
		if (c->in_flight < c->max_requests &&
		    (c->in_flight == 0 || window_fits(c->bytes_in_flight, c->max_bytes, req->bytes)) &&
		    (!req->sends || c->max_write_bytes == 0 || c->write_bytes_in_flight == 0 ||
		     window_fits(c->write_bytes_in_flight, c->max_write_bytes, req->bytes)))
			break;
		if (nowait) {
			g_mutex_unlock(&c->lock);
			return ERR_WOULD_BLOCK;
		}
		g_cond_wait(&c->window_cond, &c->lock);
	}
	do {
		id = c->next_id++;
	} while (g_hash_table_contains(c->reqs, GUINT_TO_POINTER(id)));
	req->id = id;
	g_hash_table_insert(c->reqs, GUINT_TO_POINTER(id), req);
	c->in_flight++;
	c->bytes_in_flight += req->bytes;
	if (req->sends)
		c->write_bytes_in_flight += req->bytes;
	g_mutex_unlock(&c->lock);

	if ((r = buf_poke_u32(pkt, 0, (uint32_t)(buf_len(pkt) - 4 + tlen))) != 0 || (r = buf_poke_u32(pkt, 5, id)) != 0 ||
	    (r = c->send(c->send_ctx, buf_peek(pkt), buf_len(pkt), tail, tlen)) != 0) {
		g_mutex_lock(&c->lock);
		if (g_hash_table_lookup(c->reqs, GUINT_TO_POINTER(id)) == req) {
			g_hash_table_remove(c->reqs, GUINT_TO_POINTER(id));
			window_release(c, req);
			g_mutex_unlock(&c->lock);
			return r;
		}
		/* Already completed by a concurrent shutdown: the completion stands. */
		g_mutex_unlock(&c->lock);
	}
	return 0;
}

/*
 * The calling thread's trailing LSTATs (sftp_trail_lstat, sftp_trail_also):
 * armed with up to SFTP_TRAIL_MAX paths and the kinds of request they may
 * follow, sent right behind the first such request in that order, their
 * outcomes kept until sftp_trail_take.
 */
struct trail_slot {
	char *path;
	int err;
	struct sftp_attrs attrs;
};
struct trail {
	struct trail_slot slot[SFTP_TRAIL_MAX]; /* slot[0].path NULL: not armed */
	unsigned n;
	unsigned kinds;
	bool sent;
	const struct sftp_client *client; /* the one they went out on */
};
static __thread struct trail tls_trail;

static bool trail_matches(const struct trail *t, uint8_t type)
{
	switch (type) {
	case SSH_FXP_OPEN:
		return (t->kinds & SFTP_TRAIL_OPEN) != 0;
	case SSH_FXP_MKDIR:
		return (t->kinds & SFTP_TRAIL_MKDIR) != 0;
	case SSH_FXP_SETSTAT:
		return (t->kinds & SFTP_TRAIL_SETSTAT) != 0;
	case SSH_FXP_RENAME:
		return (t->kinds & SFTP_TRAIL_RENAME) != 0;
	case SSH_FXP_REMOVE:
	case SSH_FXP_RMDIR:
		return (t->kinds & SFTP_TRAIL_REMOVE) != 0;
	case SSH_FXP_SYMLINK:
		return (t->kinds & SFTP_TRAIL_LINK) != 0;
	case SSH_FXP_EXTENDED: /* lsetstat@, posix-rename@, hardlink@openssh.com */
		return (t->kinds & (SFTP_TRAIL_SETSTAT | SFTP_TRAIL_RENAME | SFTP_TRAIL_LINK)) != 0;
	default:
		return false;
	}
}

static void trail_clear(struct trail *t)
{
	for (unsigned i = 0; i < SFTP_TRAIL_MAX; i++) {
		g_free(t->slot[i].path);
		sftp_attrs_clear(&t->slot[i].attrs);
	}
	memset(t, 0, sizeof(*t));
}

void sftp_trail_lstat(const char *path, unsigned kinds)
{
	struct trail *t = &tls_trail;

	trail_clear(t);
	t->slot[0].path = g_strdup(path);
	t->slot[0].err = ERR_INVALID_ARGUMENT;
	t->n = path != NULL ? 1 : 0;
	t->kinds = kinds;
}

bool sftp_trail_armed(void)
{
	return tls_trail.n > 0 && !tls_trail.sent;
}

void sftp_trail_also(const char *path)
{
	struct trail *t = &tls_trail;

	if (t->n == 0 || t->n >= SFTP_TRAIL_MAX || t->sent || path == NULL)
		return;
	t->slot[t->n].path = g_strdup(path);
	t->slot[t->n].err = ERR_INVALID_ARGUMENT;
	t->n++;
}

int sftp_trail_take_also(const char *path, struct sftp_attrs *out)
{
	struct trail *t = &tls_trail;
	int r = ERR_INVALID_ARGUMENT;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 1; i < t->n; i++) {
		if (strcmp(t->slot[i].path, path) != 0)
			continue;
		r = t->sent ? t->slot[i].err : ERR_INVALID_ARGUMENT;
		if (r == 0) {
			*out = t->slot[i].attrs;
			memset(&t->slot[i].attrs, 0, sizeof(t->slot[i].attrs));
			t->slot[i].err = ERR_INVALID_ARGUMENT; /* taken */
		}
		break;
	}
	return r;
}

int sftp_trail_take(struct sftp_attrs *out, const struct sftp_client **client)
{
	struct trail *t = &tls_trail;
	int r = t->sent ? t->slot[0].err : ERR_INVALID_ARGUMENT;

	memset(out, 0, sizeof(*out));
	if (client != NULL)
		*client = t->sent ? t->client : NULL;
	if (r == 0) {
		*out = t->slot[0].attrs;
		memset(&t->slot[0].attrs, 0, sizeof(t->slot[0].attrs));
	}
	trail_clear(t);
	return r;
}

static void req_wait(struct sftp_client *c, struct sftp_req *req)
{
	g_mutex_lock(&c->lock);
	while (!req->done)
		g_cond_wait(&req->cond, &c->lock);
	g_mutex_unlock(&c->lock);
	g_cond_clear(&req->cond);
}

/*
 * Sends pkt (consumed) as a synchronous request; sync_finish waits for its
 * reply. Several may be in flight from one thread, in the order sent.
 */
static int sync_submit(struct sftp_client *c, struct sftp_req *req, struct buf *pkt, size_t bytes)
{
	int r;

	memset(req, 0, sizeof(*req));
	req->sync = true;
	req->bytes = bytes;
	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if (tls_in_input == c) {
		/* A synchronous call from a completion callback could never complete. */
		log_error(LOG_CAT_SFTP, "sftp: synchronous request on the I/O thread refused");
		buf_free(pkt);
		return ERR_INVALID_ARGUMENT;
	}
	g_cond_init(&req->cond);
	req->type = pkt_type(pkt);
	r = req_submit(c, req, pkt, NULL, 0, false);
	buf_free(pkt);
	if (r != 0)
		g_cond_clear(&req->cond);
	return r;
}

/* Sends the armed LSTAT of path behind the request just submitted (same
 * client, so the server answers it after that request, filexfer-02 §6.1 in
 * order per handle; OpenSSH's server handles every request in order). */
static bool trail_submit(struct sftp_client *c, struct sftp_req *treq, const char *path)
{
	struct buf *pkt = sftp_pkt_new(SSH_FXP_LSTAT);

	if (pkt != NULL && sftp_put_path(pkt, path) != 0) {
		buf_free(pkt);
		return false;
	}
	return sync_submit(c, treq, pkt, 0) == 0;
}

/* A trailing LSTAT's reply, kept without touching the thread's last status
 * (which belongs to the request it followed). */
static void trail_finish(struct sftp_req *treq, struct trail_slot *s)
{
	char msg[64];
	uint32_t code;

	s->err = treq->err;
	if (s->err == 0 && treq->reply_type == SSH_FXP_ATTRS) {
		if ((s->err = sftp_attrs_decode(treq->reply, &s->attrs)) == 0 &&
		    (s->err = buf_expect_end(treq->reply)) != 0)
			sftp_attrs_clear(&s->attrs);
	} else if (s->err == 0 && treq->reply_type == SSH_FXP_STATUS) {
		s->err = sftp_status_decode(treq->reply, &code, msg, sizeof(msg)) != 0 ? ERR_PROTOCOL
											 : sftp_status_to_err(code);
		if (s->err == 0)
			s->err = ERR_PROTOCOL;
	} else if (s->err == 0) {
		s->err = ERR_PROTOCOL;
	}
	buf_free(treq->reply);
	treq->reply = NULL;
}

/* Waits for a request sync_submit sent; its reply's type and body (after
 * the id) on success. */
static int sync_finish(struct sftp_client *c, struct sftp_req *req, uint8_t *rtype, struct buf **reply)
{
	req_wait(c, req);
	if (req->err != 0) {
		buf_free(req->reply);
		return req->err;
	}
	*rtype = req->reply_type;
	*reply = req->reply;
	return 0;
}

/*
 * One synchronous round trip: sends pkt (consumed), waits for the reply and
 * returns its type and body (after the id).
 */
int sftp_call_raw(struct sftp_client *c, struct buf *pkt, size_t bytes, uint8_t *rtype, struct buf **reply)
{
	struct sftp_req req;
	struct sftp_req treq[SFTP_TRAIL_MAX] = {0};
	bool trailing[SFTP_TRAIL_MAX] = {false};
	struct trail *t = &tls_trail;
	int r;

	*rtype = 0;
	*reply = NULL;
	sftp_tls_reset();
	if ((r = sync_submit(c, &req, pkt, bytes)) != 0)
		return r;
	if (t->n > 0 && !t->sent && trail_matches(t, req.type)) {
		for (unsigned i = 0; i < t->n; i++)
			trailing[i] = trail_submit(c, &treq[i], t->slot[i].path);
		t->sent = true;
		t->client = c;
	}
	r = sync_finish(c, &req, rtype, reply);
	for (unsigned i = 0; i < SFTP_TRAIL_MAX; i++) {
		if (!trailing[i])
			continue;
		req_wait(c, &treq[i]);
		trail_finish(&treq[i], &t->slot[i]);
	}
	return r;
}

/* A STATUS body: records it for sftp_last_status() and maps it. */
int sftp_status_result(struct buf *body, uint8_t req_type)
{
	uint32_t code;
	int r;

	if ((r = sftp_status_decode(body, &code, tls_message, sizeof(tls_message))) != 0)
		return ERR_PROTOCOL;
	tls_status = code;
	if (code != SFTP_FX_OK)
		log_debug(LOG_CAT_SFTP, "sftp: %s: status %u \"%s\"", sftp_type_name(req_type), code, tls_message);
	return sftp_status_to_err(code);
}

/* Request answered by STATUS only. */
int sftp_call_status(struct sftp_client *c, struct buf *pkt)
{
	struct buf *body = NULL;
	uint8_t rtype, qtype = 0;
	int r;

	qtype = pkt_type(pkt);
	if ((r = sftp_call_raw(c, pkt, 0, &rtype, &body)) != 0)
		return r;
	r = rtype == SSH_FXP_STATUS ? sftp_status_result(body, qtype) : ERR_PROTOCOL;
	buf_free(body);
	return r;
}

/*
 * Request answered by a reply of type want, or by a STATUS that must not be
 * OK. On success *body holds the reply body (caller frees).
 */
int sftp_call_expect(struct sftp_client *c, struct buf *pkt, size_t bytes, uint8_t want, struct buf **body)
{
	uint8_t rtype, qtype = 0;
	int r;

	*body = NULL;
	qtype = pkt_type(pkt);
	if ((r = sftp_call_raw(c, pkt, bytes, &rtype, body)) != 0)
		return r;
	if (rtype == want)
		return 0;
	if (rtype == SSH_FXP_STATUS) {
		r = sftp_status_result(*body, qtype);
		if (r == 0)
			r = ERR_PROTOCOL; /* OK where a result was due */
	} else {
		log_error(LOG_CAT_SFTP, "sftp: %s reply to %s", sftp_type_name(rtype), sftp_type_name(qtype));
		r = ERR_PROTOCOL;
	}
	buf_free(*body);
	*body = NULL;
	return r;
}

int sftp_client_init_start(struct sftp_client *c)
{
	struct buf *pkt = NULL;
	int r = ERR_INTERNAL;

	g_mutex_lock(&c->lock);
	if (c->state != SFTP_STATE_NEW) {
		r = c->state == SFTP_STATE_CLOSED ? c->shutdown_err : ERR_INVALID_ARGUMENT;
		g_mutex_unlock(&c->lock);
		return r;
	}
	c->state = SFTP_STATE_AWAIT_VERSION;
	g_mutex_unlock(&c->lock);

	/* filexfer-02 §4: uint32 length, byte SSH_FXP_INIT, uint32 version; no id. */
	if ((pkt = buf_new(16)) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_put_u32(pkt, 5)) == 0 && (r = buf_put_u8(pkt, SSH_FXP_INIT)) == 0 &&
	    (r = buf_put_u32(pkt, 3)) == 0)
		r = c->send(c->send_ctx, buf_peek(pkt), buf_len(pkt), NULL, 0);
	buf_free(pkt);
	return r;
}

/* Bounds of the sizes derived from limits@openssh.com. Every READ/WRITE
 * carries at most this much besides its data (id, handle, offset). */
#define SFTP_IO_OVERHEAD 1024
#define SFTP_IO_LEN_MIN 1024

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : (v > hi ? hi : v);
}

/*
 * Effective sizes from a limits@ reply: the server's values, never above our
 * own caps (limits.h), never below SFTP_IO_LEN_MIN (filexfer-02 §3 requires
 * servers to take 34000-byte packets, so smaller claims are not honest). A
 * zero length means "unknown" (use the default); zero handles, "no limit".
 */
static void limits_apply(const struct sftp_limits *server, struct sftp_limits *eff)
{
	uint64_t packet = server->packet_length != 0 ? server->packet_length : SFTP_PACKET_MAX;
	uint64_t room;

	packet = clamp_u64(packet, SFTP_IO_LEN_MIN + SFTP_IO_OVERHEAD, SFTP_PACKET_MAX);
	room = packet - SFTP_IO_OVERHEAD;
	eff->packet_length = packet;
	eff->read_length = clamp_u64(server->read_length != 0 ? server->read_length : SFTP_IO_LEN_DEFAULT,
	                             SFTP_IO_LEN_MIN, room < SFTP_READ_MAX ? room : SFTP_READ_MAX);
	eff->write_length = clamp_u64(server->write_length != 0 ? server->write_length : SFTP_IO_LEN_DEFAULT,
	                              SFTP_IO_LEN_MIN, room);
	eff->open_handles = server->open_handles;
}

int sftp_client_init(struct sftp_client *c)
{
	struct sftp_limits lim;
	int r = ERR_INTERNAL;

	if ((r = sftp_client_init_start(c)) != 0)
		return r;
	g_mutex_lock(&c->lock);
	while (c->state == SFTP_STATE_AWAIT_VERSION && c->init_err == 0)
		g_cond_wait(&c->state_cond, &c->lock);
	r = c->state == SFTP_STATE_READY ? 0 : (c->init_err != 0 ? c->init_err : ERR_PROTOCOL);
	g_mutex_unlock(&c->lock);
	if (r != 0)
		return r;
	log_debug(LOG_CAT_SFTP, "sftp: version 3, extensions 0x%x, SYMLINK order %s", c->ver.exts,
	          c->ver.symlink_reversed ? "target, link (OpenSSH)" : "link, target (filexfer-02)");

	if (c->ver.exts & SFTP_EXT_LIMITS) {
		if ((r = sftp_query_limits(c, &lim)) != 0)
			return r;
		g_mutex_lock(&c->lock);
		limits_apply(&lim, &c->limits);
		if (c->max_bytes < c->limits.read_length)
			c->max_bytes = c->limits.read_length;
		g_mutex_unlock(&c->lock);
		log_debug(LOG_CAT_SFTP, "sftp: limits: read %llu write %llu handles %llu",
		          (unsigned long long)c->limits.read_length, (unsigned long long)c->limits.write_length,
		          (unsigned long long)c->limits.open_handles);
	}
	return 0;
}

uint32_t sftp_client_version(const struct sftp_client *c)
{
	return c->ver.version;
}

unsigned sftp_client_extensions(const struct sftp_client *c)
{
	return c->ver.exts;
}

bool sftp_client_has(const struct sftp_client *c, enum sftp_ext ext)
{
	return (c->ver.exts & (unsigned)ext) != 0;
}

bool sftp_client_symlink_reversed(const struct sftp_client *c)
{
	return c->ver.symlink_reversed;
}

void sftp_client_limits(const struct sftp_client *c, struct sftp_limits *out)
{
	*out = c->limits;
}

void sftp_client_set_window(struct sftp_client *c, unsigned max_requests, size_t max_bytes)
{
	g_mutex_lock(&c->lock);
	if (max_requests < 1)
		max_requests = 1;
	if (max_requests > SFTP_REQUESTS_IN_FLIGHT_MAX)
		max_requests = SFTP_REQUESTS_IN_FLIGHT_MAX;
	if (max_bytes < c->limits.read_length)
		max_bytes = c->limits.read_length;
	c->max_requests = max_requests;
	c->max_bytes = max_bytes;
	g_cond_broadcast(&c->window_cond);
	g_mutex_unlock(&c->lock);
}

void sftp_client_set_write_window(struct sftp_client *c, size_t max_bytes)
{
	g_mutex_lock(&c->lock);
	c->max_write_bytes = max_bytes;
	g_cond_broadcast(&c->window_cond);
	g_mutex_unlock(&c->lock);
}

void sftp_client_set_peer_window(struct sftp_client *c, size_t bytes)
{
	g_mutex_lock(&c->lock);
	c->peer_window = bytes;
	g_mutex_unlock(&c->lock);
}

size_t sftp_client_peer_window(struct sftp_client *c)
{
	size_t n;

	g_mutex_lock(&c->lock);
	n = c->peer_window;
	g_mutex_unlock(&c->lock);
	return n;
}

unsigned sftp_client_in_flight(struct sftp_client *c)
{
	unsigned n;

	g_mutex_lock(&c->lock);
	n = c->in_flight;
	g_mutex_unlock(&c->lock);
	return n;
}

/* ---- synchronous operations ---- */

/* Path-only requests answered by STATUS (REMOVE, RMDIR). */
static int path_status(struct sftp_client *c, uint8_t type, const char *path)
{
	struct buf *pkt = sftp_pkt_new(type);
	int r;

	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, path)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_status(c, pkt);
}

/* Requests answered by ATTRS (STAT, LSTAT, FSTAT). */
static int call_attrs(struct sftp_client *c, struct buf *pkt, struct sftp_attrs *out)
{
	struct buf *body = NULL;
	int r;

	if ((r = sftp_call_expect(c, pkt, 0, SSH_FXP_ATTRS, &body)) != 0)
		return r;
	if ((r = sftp_attrs_decode(body, out)) == 0 && (r = buf_expect_end(body)) != 0)
		sftp_attrs_clear(out);
	buf_free(body);
	return r;
}

static int stat_common(struct sftp_client *c, uint8_t type, const char *path, struct sftp_attrs *out)
{
	struct buf *pkt = sftp_pkt_new(type);
	int r;

	memset(out, 0, sizeof(*out));
	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, path)) != 0) {
		buf_free(pkt);
		return r;
	}
	return call_attrs(c, pkt, out);
}

int sftp_stat(struct sftp_client *c, const char *path, struct sftp_attrs *out)
{
	return stat_common(c, SSH_FXP_STAT, path, out);
}

int sftp_lstat(struct sftp_client *c, const char *path, struct sftp_attrs *out)
{
	return stat_common(c, SSH_FXP_LSTAT, path, out);
}

int sftp_fstat(struct sftp_client *c, const struct sftp_handle *h, struct sftp_attrs *out)
{
	struct buf *pkt = sftp_pkt_new(SSH_FXP_FSTAT);
	int r;

	memset(out, 0, sizeof(*out));
	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_handle(c, pkt, h)) != 0) {
		buf_free(pkt);
		return r;
	}
	return call_attrs(c, pkt, out);
}

int sftp_setstat(struct sftp_client *c, const char *path, const struct sftp_attrs *a)
{
	struct buf *pkt = sftp_pkt_new(SSH_FXP_SETSTAT);
	int r;

	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, path)) != 0 || (r = sftp_attrs_encode(pkt, a)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_status(c, pkt);
}

int sftp_fsetstat(struct sftp_client *c, const struct sftp_handle *h, const struct sftp_attrs *a)
{
	struct buf *pkt = sftp_pkt_new(SSH_FXP_FSETSTAT);
	int r;

	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_handle(c, pkt, h)) != 0 || (r = sftp_attrs_encode(pkt, a)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_status(c, pkt);
}

/* Reserves one open handle under the limits@ count. */
static int handle_reserve(struct sftp_client *c)
{
	int r = 0;

	g_mutex_lock(&c->lock);
	if (c->limits.open_handles != 0 && c->open_handles >= c->limits.open_handles)
		r = ERR_LIMIT_EXCEEDED;
	else
		c->open_handles++;
	g_mutex_unlock(&c->lock);
	return r;
}

static void handle_release(struct sftp_client *c)
{
	g_mutex_lock(&c->lock);
	g_assert(c->open_handles > 0);
	c->open_handles--;
	g_mutex_unlock(&c->lock);
}

static int call_handle(struct sftp_client *c, struct buf *pkt, struct sftp_handle *out)
{
	struct buf *body = NULL;
	int r;

	if ((r = handle_reserve(c)) != 0) {
		buf_free(pkt);
		return r;
	}
	if ((r = sftp_call_expect(c, pkt, 0, SSH_FXP_HANDLE, &body)) == 0 && (r = sftp_handle_decode(body, out)) == 0)
		out->owner = c->serial;
	buf_free(body);
	if (r != 0)
		handle_release(c);
	return r;
}

int sftp_open(struct sftp_client *c, const char *path, uint32_t pflags, const struct sftp_attrs *attrs,
              struct sftp_handle *out)
{
	struct sftp_attrs none = {0};
	struct buf *pkt = sftp_pkt_new(SSH_FXP_OPEN);
	int r;

	memset(out, 0, sizeof(*out));
	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	/* filexfer-02 §6.3: string filename, uint32 pflags, ATTRS attrs. */
	if ((r = sftp_put_path(pkt, path)) != 0 || (r = buf_put_u32(pkt, pflags)) != 0 ||
	    (r = sftp_attrs_encode(pkt, attrs != NULL ? attrs : &none)) != 0) {
		buf_free(pkt);
		return r;
	}
	return call_handle(c, pkt, out);
}

int sftp_opendir(struct sftp_client *c, const char *path, struct sftp_handle *out)
{
	struct buf *pkt = sftp_pkt_new(SSH_FXP_OPENDIR);
	int r;

	memset(out, 0, sizeof(*out));
	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, path)) != 0) {
		buf_free(pkt);
		return r;
	}
	return call_handle(c, pkt, out);
}

int sftp_close(struct sftp_client *c, const struct sftp_handle *h)
{
	struct buf *pkt = sftp_pkt_new(SSH_FXP_CLOSE);
	int r;

	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_handle(c, pkt, h)) != 0) {
		buf_free(pkt);
		return r;
	}
	r = sftp_call_status(c, pkt);
	/* Whatever the reply, the handle is gone from the server's table or unusable. */
	g_mutex_lock(&c->lock);
	if (c->open_handles > 0)
		c->open_handles--;
	g_mutex_unlock(&c->lock);
	return r;
}

/* One READ of at most the read limit. */
static int read_one(struct sftp_client *c, const struct sftp_handle *h, uint64_t offset, void *dst, size_t len,
                    size_t *got)
{
	struct buf *pkt = sftp_pkt_new(SSH_FXP_READ), *body = NULL;
	const uint8_t *data;
	uint8_t rtype;
	size_t n;
	int r;

	*got = 0;
	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if (len > c->limits.read_length)
		len = c->limits.read_length;
	/* filexfer-02 §6.4: string handle, uint64 offset, uint32 len. */
	if ((r = sftp_put_handle(c, pkt, h)) != 0 || (r = buf_put_u64(pkt, offset)) != 0 ||
	    (r = buf_put_u32(pkt, (uint32_t)len)) != 0) {
		buf_free(pkt);
		return r;
	}
	if ((r = sftp_call_raw(c, pkt, len, &rtype, &body)) != 0)
		return r;
	if (rtype == SSH_FXP_DATA) {
		if ((r = sftp_data_decode(body, len, &data, &n)) == 0) {
			memcpy(dst, data, n);
			*got = n;
		} else {
			r = ERR_PROTOCOL;
		}
	} else if (rtype == SSH_FXP_STATUS) {
		r = sftp_status_result(body, SSH_FXP_READ);
		if (r == ERR_EOF)
			r = 0;
		else if (r == 0)
			r = ERR_PROTOCOL;
	} else {
		r = ERR_PROTOCOL;
	}
	buf_free(body);
	return r;
}

/* A pipelined synchronous read: one chunk per READ, completed on the I/O thread. */
struct read_group {
	GMutex lock;
	GCond cond;
	unsigned pending;
};

struct read_chunk {
	struct read_group *g;
	uint8_t *dst;
	size_t want, got;
	int err;
};

static void read_chunk_done(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct read_chunk *ch = ctx;

	/* len <= want: the async path rejects longer DATA. */
	if (err == 0 && len > 0)
		memcpy(ch->dst, data, len);
	ch->got = len;
	ch->err = err;
	g_mutex_lock(&ch->g->lock);
	ch->g->pending--;
	g_cond_signal(&ch->g->cond);
	g_mutex_unlock(&ch->g->lock);
}

int sftp_read(struct sftp_client *c, const struct sftp_handle *h, uint64_t offset, void *dst, size_t len,
              size_t *got)
{
	size_t max = c->limits.read_length, n, total = 0;
	struct read_group g = {.pending = 0};
	struct read_chunk *chunks;
	int r = 0;

	*got = 0;
	if (len <= max)
		return read_one(c, h, offset, dst, len, got);
	if (tls_in_input == c)
		return ERR_INVALID_ARGUMENT; /* would wait for its own thread */
	/* Larger reads: all chunks in flight at once (bounded by the window);
	 * the result is the contiguous prefix up to the first short chunk. */
	n = len / max + (len % max != 0);
	if ((chunks = calloc(n, sizeof(*chunks))) == NULL)
		return ERR_ALLOC_FAIL;
	sftp_tls_reset();
	g_mutex_init(&g.lock);
	g_cond_init(&g.cond);
	for (size_t i = 0; i < n; i++) {
		size_t want = i + 1 < n ? max : len - i * max;

		chunks[i] = (struct read_chunk){.g = &g, .dst = (uint8_t *)dst + i * max, .want = want};
		g_mutex_lock(&g.lock);
		g.pending++;
		g_mutex_unlock(&g.lock);
		if ((r = sftp_read_async(c, h, offset + i * max, want, 0, read_chunk_done, &chunks[i])) != 0) {
			g_mutex_lock(&g.lock);
			g.pending--;
			g_mutex_unlock(&g.lock);
			chunks[i].err = r;
			n = i + 1;
			break;
		}
	}
	g_mutex_lock(&g.lock);
	while (g.pending > 0)
		g_cond_wait(&g.cond, &g.lock);
	g_mutex_unlock(&g.lock);
	r = 0;
	for (size_t i = 0; i < n; i++) {
		if (chunks[i].err != 0) {
			if (i == 0)
				r = chunks[i].err;
			break;
		}
		total += chunks[i].got;
		if (chunks[i].got < chunks[i].want)
			break;
	}
	if (r == 0)
		*got = total;
	g_cond_clear(&g.cond);
	g_mutex_clear(&g.lock);
	free(chunks);
	return r;
}

/* Completion group for a pipelined synchronous write. */
struct write_group {
	GMutex lock;
	GCond cond;
	unsigned pending;
	int err;
};

static void write_group_done(void *ctx, int err)
{
	struct write_group *g = ctx;

	g_mutex_lock(&g->lock);
	if (err != 0 && g->err == 0)
		g->err = err;
	g->pending--;
	g_cond_signal(&g->cond);
	g_mutex_unlock(&g->lock);
}

int sftp_write(struct sftp_client *c, const struct sftp_handle *h, uint64_t offset, const void *data, size_t len)
{
	struct write_group g = {.pending = 0};
	const uint8_t *p = data;
	size_t max = c->limits.write_length;
	int r = 0;

	sftp_tls_reset();
	if (tls_in_input == c)
		return ERR_INVALID_ARGUMENT; /* would wait for its own thread */
	g_mutex_init(&g.lock);
	g_cond_init(&g.cond);
	do {
		size_t n = len < max ? len : max;

		g_mutex_lock(&g.lock);
		g.pending++;
		g_mutex_unlock(&g.lock);
		if ((r = sftp_write_async(c, h, offset, p, n, 0, write_group_done, &g)) != 0) {
			g_mutex_lock(&g.lock);
			g.pending--;
			g_mutex_unlock(&g.lock);
			break;
		}
		p += n;
		offset += n;
		len -= n;
	} while (len > 0);
	g_mutex_lock(&g.lock);
	while (g.pending > 0)
		g_cond_wait(&g.cond, &g.lock);
	if (r == 0)
		r = g.err;
	g_mutex_unlock(&g.lock);
	g_cond_clear(&g.cond);
	g_mutex_clear(&g.lock);
	return r;
}

/* A READDIR reply (r: how the call went) into out. */
static int readdir_result(int r, uint8_t rtype, struct buf *body, struct sftp_names *out)
{
	if (r != 0)
		return r;
	if (rtype == SSH_FXP_NAME) {
		if ((r = sftp_names_decode(body, SFTP_NAMES_DIRENT, out)) != 0)
			log_error(LOG_CAT_SFTP, "sftp: malformed READDIR reply: %s", err_str(r));
	} else if (rtype == SSH_FXP_STATUS) {
		/* filexfer-02 §6.7: EOF ends the listing. */
		r = sftp_status_result(body, SSH_FXP_READDIR);
		if (r == ERR_EOF)
			r = 0;
		else if (r == 0)
			r = ERR_PROTOCOL;
	} else {
		r = ERR_PROTOCOL;
	}
	buf_free(body);
	return r;
}

int sftp_readdir_many(struct sftp_client *c, const struct sftp_handle *h, unsigned n, struct sftp_names *out,
		      int *res)
{
	struct sftp_req req[SFTP_READDIR_MAX];
	unsigned sent = 0;
	int r = 0;

	if (n == 0 || n > SFTP_READDIR_MAX)
		return ERR_INVALID_ARGUMENT;
	memset(out, 0, n * sizeof(*out));
	sftp_tls_reset();
	for (; sent < n; sent++) {
		struct buf *pkt = sftp_pkt_new(SSH_FXP_READDIR);

		if (pkt != NULL && (r = sftp_put_handle(c, pkt, h)) != 0) {
			buf_free(pkt);
			break;
		}
		if ((r = sync_submit(c, &req[sent], pkt, 0)) != 0)
			break;
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t rtype = 0;
		struct buf *body = NULL;

		if (i < sent) {
			int e = sync_finish(c, &req[i], &rtype, &body);

			res[i] = readdir_result(e, rtype, body, &out[i]);
		} else {
			res[i] = r;
		}
	}
	return 0;
}

int sftp_readdir(struct sftp_client *c, const struct sftp_handle *h, struct sftp_names *out)
{
	int res, r = sftp_readdir_many(c, h, 1, out, &res);

	return r != 0 ? r : res;
}

int sftp_remove(struct sftp_client *c, const char *path)
{
	return path_status(c, SSH_FXP_REMOVE, path);
}

int sftp_rmdir(struct sftp_client *c, const char *path)
{
	return path_status(c, SSH_FXP_RMDIR, path);
}

int sftp_mkdir(struct sftp_client *c, const char *path, const struct sftp_attrs *attrs)
{
	struct sftp_attrs none = {0};
	struct buf *pkt = sftp_pkt_new(SSH_FXP_MKDIR);
	int r;

	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, path)) != 0 || (r = sftp_attrs_encode(pkt, attrs != NULL ? attrs : &none)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_status(c, pkt);
}

/* Requests answered by a NAME with exactly one path (REALPATH, READLINK, extensions). */
int sftp_call_name(struct sftp_client *c, struct buf *pkt, char **out)
{
	struct sftp_names names = {0};
	struct buf *body = NULL;
	int r;

	*out = NULL;
	if ((r = sftp_call_expect(c, pkt, 0, SSH_FXP_NAME, &body)) != 0)
		return r;
	if ((r = sftp_names_decode(body, SFTP_NAMES_PATH, &names)) == 0) {
		*out = names.v[0].name;
		names.v[0].name = NULL;
	}
	sftp_names_clear(&names);
	buf_free(body);
	return r;
}

static int path_name(struct sftp_client *c, uint8_t type, const char *path, char **out)
{
	struct buf *pkt = sftp_pkt_new(type);
	int r;

	*out = NULL;
	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, path)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_name(c, pkt, out);
}

int sftp_realpath(struct sftp_client *c, const char *path, char **out)
{
	return path_name(c, SSH_FXP_REALPATH, path, out);
}

int sftp_readlink(struct sftp_client *c, const char *path, char **out)
{
	return path_name(c, SSH_FXP_READLINK, path, out);
}

static int two_paths(struct sftp_client *c, uint8_t type, const char *a, const char *b)
{
	struct buf *pkt = sftp_pkt_new(type);
	int r;

	if (pkt == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, a)) != 0 || (r = sftp_put_path(pkt, b)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_status(c, pkt);
}

int sftp_rename(struct sftp_client *c, const char *oldpath, const char *newpath)
{
	return two_paths(c, SSH_FXP_RENAME, oldpath, newpath);
}

int sftp_symlink(struct sftp_client *c, const char *target, const char *linkpath)
{
	/* filexfer-02 §6.10 says (linkpath, targetpath); OpenSSH's sftp-server
	 * takes (targetpath, linkpath) (OpenSSH PROTOCOL §4.1); see
	 * sftp_version_decode for how the order is chosen. */
	if (c->ver.symlink_reversed)
		return two_paths(c, SSH_FXP_SYMLINK, target, linkpath);
	return two_paths(c, SSH_FXP_SYMLINK, linkpath, target);
}

/* ---- asynchronous bulk data ---- */

static int async_submit(struct sftp_client *c, struct buf *pkt, const uint8_t *tail, size_t tlen, struct sftp_req *req,
			unsigned flags)
{
	int r;

	if ((r = req_submit(c, req, pkt, tail, tlen, (flags & SFTP_ASYNC_NOWAIT) != 0)) != 0)
		free(req);
	buf_free(pkt);
	return r;
}

int sftp_read_async(struct sftp_client *c, const struct sftp_handle *h, uint64_t offset, size_t len,
                    unsigned flags, sftp_read_cb cb, void *ctx)
{
	struct sftp_req *req;
	struct buf *pkt;
	int r;

	if (cb == NULL)
		return ERR_INVALID_ARGUMENT;
	if (len > c->limits.read_length)
		len = c->limits.read_length;
	if ((pkt = sftp_pkt_new(SSH_FXP_READ)) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_handle(c, pkt, h)) != 0 || (r = buf_put_u64(pkt, offset)) != 0 ||
	    (r = buf_put_u32(pkt, (uint32_t)len)) != 0) {
		buf_free(pkt);
		return r;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		buf_free(pkt);
		return ERR_ALLOC_FAIL;
	}
	req->type = SSH_FXP_READ;
	req->bytes = len;
	req->max_data = len;
	req->read_cb = cb;
	req->ctx = ctx;
	return async_submit(c, pkt, NULL, 0, req, flags);
}

int sftp_fsetstat_async(struct sftp_client *c, const struct sftp_handle *h, const struct sftp_attrs *a, unsigned flags,
                        sftp_status_cb cb, void *ctx)
{
	struct sftp_req *req;
	struct buf *pkt;
	int r;

	if (cb == NULL)
		return ERR_INVALID_ARGUMENT;
	if ((pkt = sftp_pkt_new(SSH_FXP_FSETSTAT)) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_handle(c, pkt, h)) != 0 || (r = sftp_attrs_encode(pkt, a)) != 0) {
		buf_free(pkt);
		return r;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		buf_free(pkt);
		return ERR_ALLOC_FAIL;
	}
	req->type = SSH_FXP_FSETSTAT;
	req->status_cb = cb;
	req->ctx = ctx;
	return async_submit(c, pkt, NULL, 0, req, flags);
}

int sftp_write_async(struct sftp_client *c, const struct sftp_handle *h, uint64_t offset, const void *data,
                     size_t len, unsigned flags, sftp_status_cb cb, void *ctx)
{
	struct sftp_req *req;
	struct buf *pkt;
	int r;

	if (cb == NULL || len > c->limits.write_length)
		return ERR_INVALID_ARGUMENT;
	if ((pkt = sftp_pkt_new(SSH_FXP_WRITE)) == NULL)
		return ERR_ALLOC_FAIL;
	/* filexfer-02 §6.4: string handle, uint64 offset, string data; the
	 * data's length here, its bytes sent from where they lie. */
	if ((r = sftp_put_handle(c, pkt, h)) != 0 || (r = buf_put_u64(pkt, offset)) != 0 ||
	    (r = buf_put_u32(pkt, (uint32_t)len)) != 0) {
		buf_free(pkt);
		return r;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		buf_free(pkt);
		return ERR_ALLOC_FAIL;
	}
	req->type = SSH_FXP_WRITE;
	req->bytes = len;
	req->sends = true;
	req->status_cb = cb;
	req->ctx = ctx;
	return async_submit(c, pkt, data, len, req, flags);
}
