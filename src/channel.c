/*
 * channel.c - RFC 4254 connection protocol, client side (see channel.h).
 *
 * Channel states: CHAN_OPENING (OPEN sent) -> CHAN_OPEN -> CHAN_CLOSING (our
 * CLOSE sent) -> freed when both CLOSEs are seen. Local channel ids index
 * the fixed table (SSH_CHANNELS_MAX); the peer's ids are only echoed back.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "channel.h"
#include "limits.h"
#include "log.h"
#include "ssh2.h"

enum chan_state { CHAN_OPENING, CHAN_OPEN, CHAN_CLOSING };

struct chan {
	struct chanmgr *cm;
	uint32_t local_id;
	uint32_t remote_id;
	enum chan_state state;
	bool eof_sent, eof_received, close_received, close_sent;
	uint32_t local_window;    /* bytes the peer may still send us */
	uint32_t local_consumed;  /* received since our last WINDOW_ADJUST */
	uint32_t remote_window;   /* bytes we may still send */
	uint32_t remote_window_peak; /* the largest remote_window so far */
	uint32_t remote_maxpacket;
	unsigned requests_pending;
	struct buf *txq;
	struct chan_callbacks cb;
	void *ctx;
};

struct chanmgr {
	struct transport *t;
	struct chan *chans[SSH_CHANNELS_MAX];
	unsigned keepalives;
	struct buf *msg;
};

int chanmgr_new(struct transport *t, struct chanmgr **out)
{
	struct chanmgr *cm;

	*out = NULL;
	if ((cm = calloc(1, sizeof(*cm))) == NULL)
		return ERR_ALLOC_FAIL;
	cm->t = t;
	if ((cm->msg = buf_new(SSH_PACKET_MAX)) == NULL) {
		free(cm);
		return ERR_ALLOC_FAIL;
	}
	*out = cm;
	return 0;
}

static void chan_free(struct chan *ch)
{
	if (ch == NULL)
		return;
	ch->cm->chans[ch->local_id] = NULL;
	buf_free(ch->txq);
	free(ch);
}

void chanmgr_free(struct chanmgr *cm)
{
	if (cm == NULL)
		return;
	for (unsigned i = 0; i < SSH_CHANNELS_MAX; i++)
		chan_free(cm->chans[i]);
	buf_free(cm->msg);
	free(cm);
}

unsigned chanmgr_count(const struct chanmgr *cm)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SSH_CHANNELS_MAX; i++)
		n += cm->chans[i] != NULL;
	return n;
}

static int send_msg(struct chanmgr *cm)
{
	return transport_send(cm->t, buf_peek(cm->msg), buf_len(cm->msg));
}

static void finish_close(struct chan *ch, int err)
{
	struct chan_callbacks cb = ch->cb;
	void *ctx = ch->ctx;

	chan_free(ch);
	if (cb.on_close != NULL)
		cb.on_close(ctx, err);
}

void chanmgr_fail_all(struct chanmgr *cm, int err)
{
	for (unsigned i = 0; i < SSH_CHANNELS_MAX; i++) {
		struct chan *ch = cm->chans[i];

		if (ch == NULL)
			continue;
		if (ch->state == CHAN_OPENING && ch->cb.on_open != NULL)
			ch->cb.on_open(ch->ctx, err);
		else if (ch->requests_pending > 0 && ch->cb.on_request != NULL)
			ch->cb.on_request(ch->ctx, err);
		finish_close(ch, err);
	}
}

/* RFC 4254 §5.1 CHANNEL_OPEN of type; for "direct-tcpip" host/port follow (§7.2). */
static int chan_open(struct chanmgr *cm, const char *type, const char *host, uint16_t port,
		     const struct chan_callbacks *cb, void *ctx, struct chan **out)
{
	struct chan *ch;
	unsigned id;
	int r;

	*out = NULL;
	for (id = 0; id < SSH_CHANNELS_MAX && cm->chans[id] != NULL; id++)
		;
	if (id == SSH_CHANNELS_MAX)
		return ERR_LIMIT_EXCEEDED;
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return ERR_ALLOC_FAIL;
	if ((ch->txq = buf_new(BUF_ABSOLUTE_MAX)) == NULL) {
		free(ch);
		return ERR_ALLOC_FAIL;
	}
	ch->cm = cm;
	ch->local_id = id;
	ch->state = CHAN_OPENING;
	ch->local_window = SSH_CHANNEL_WINDOW_DEFAULT;
	ch->cb = *cb;
	ch->ctx = ctx;
	cm->chans[id] = ch;
	buf_reset(cm->msg);
	if ((r = buf_put_u8(cm->msg, SSH2_MSG_CHANNEL_OPEN)) != 0 || (r = buf_put_cstring(cm->msg, type)) != 0 ||
	    (r = buf_put_u32(cm->msg, id)) != 0 || (r = buf_put_u32(cm->msg, SSH_CHANNEL_WINDOW_DEFAULT)) != 0 ||
	    (r = buf_put_u32(cm->msg, SSH_CHANNEL_PACKET_DEFAULT)) != 0)
		goto fail;
	/* §7.2: host and port to connect, originator address and port (we have none: loopback, 0). */
	if (host != NULL &&
	    ((r = buf_put_cstring(cm->msg, host)) != 0 || (r = buf_put_u32(cm->msg, port)) != 0 ||
	     (r = buf_put_cstring(cm->msg, "127.0.0.1")) != 0 || (r = buf_put_u32(cm->msg, 0)) != 0))
		goto fail;
	if ((r = send_msg(cm)) != 0)
		goto fail;
	*out = ch;
	return 0;
fail:
	chan_free(ch);
	return r;
}

int chan_open_session(struct chanmgr *cm, const struct chan_callbacks *cb, void *ctx, struct chan **out)
{
	return chan_open(cm, "session", NULL, 0, cb, ctx, out);
}

int chan_open_direct_tcpip(struct chanmgr *cm, const char *host, uint16_t port, const struct chan_callbacks *cb,
			   void *ctx, struct chan **out)
{
	if (host == NULL)
		return ERR_INVALID_ARGUMENT;
	return chan_open(cm, "direct-tcpip", host, port, cb, ctx, out);
}

static int chan_request(struct chan *ch, const char *type, const char *arg)
{
	struct chanmgr *cm = ch->cm;
	int r;

	if (ch->state != CHAN_OPEN)
		return ERR_CHANNEL_FAILED;
	buf_reset(cm->msg);
	if ((r = buf_put_u8(cm->msg, SSH2_MSG_CHANNEL_REQUEST)) != 0 || (r = buf_put_u32(cm->msg, ch->remote_id)) != 0 ||
	    (r = buf_put_cstring(cm->msg, type)) != 0 || (r = buf_put_u8(cm->msg, 1)) != 0 ||
	    (r = buf_put_cstring(cm->msg, arg)) != 0 || (r = send_msg(cm)) != 0)
		return r;
	ch->requests_pending++;
	return 0;
}

int chan_request_subsystem(struct chan *ch, const char *name)
{
	return chan_request(ch, "subsystem", name);
}

int chan_request_exec(struct chan *ch, const char *command)
{
	return chan_request(ch, "exec", command);
}

size_t chan_queued(const struct chan *ch)
{
	return buf_len(ch->txq);
}

size_t chanmgr_queued(const struct chanmgr *cm)
{
	size_t n = 0;

	for (unsigned i = 0; i < SSH_CHANNELS_MAX; i++) {
		if (cm->chans[i] != NULL)
			n += buf_len(cm->chans[i]->txq);
	}
	return n;
}

/*
 * Sends CHANNEL_DATA packets from data, as much of len as the peer's window
 * and max packet size allow (RFC 4254 §5.2); *sent says how much. The data is
 * framed where it lies (transport_send2), not copied into a message first.
 */
static int chan_send_data(struct chan *ch, const uint8_t *data, size_t len, size_t *sent)
{
	struct chanmgr *cm = ch->cm;
	int r;

	*sent = 0;
	while (ch->state == CHAN_OPEN && !ch->eof_sent && *sent < len && ch->remote_window > 0) {
		size_t n = len - *sent;

		if (n > ch->remote_window)
			n = ch->remote_window;
		if (n > ch->remote_maxpacket)
			n = ch->remote_maxpacket;
		if (n > SSH_CHANNEL_PACKET_DEFAULT)
			n = SSH_CHANNEL_PACKET_DEFAULT;
		buf_reset(cm->msg);
		if ((r = buf_put_u8(cm->msg, SSH2_MSG_CHANNEL_DATA)) != 0 || (r = buf_put_u32(cm->msg, ch->remote_id)) != 0 ||
		    (r = buf_put_u32(cm->msg, (uint32_t)n)) != 0 ||
		    (r = transport_send2(cm->t, buf_peek(cm->msg), buf_len(cm->msg), data + *sent, n)) != 0)
			return r;
		*sent += n;
		ch->remote_window -= (uint32_t)n;
	}
	return 0;
}

/* Send what the window allows of the queue. */
static int chan_flush(struct chan *ch)
{
	size_t sent;
	int r;

	if (buf_len(ch->txq) == 0)
		return 0;
	r = chan_send_data(ch, buf_peek(ch->txq), buf_len(ch->txq), &sent);
	if (sent > 0 && buf_consume(ch->txq, sent) != 0)
		return ERR_INTERNAL;
	return r;
}

uint32_t chan_peer_window(const struct chan *ch)
{
	return ch->remote_window_peak;
}

size_t chan_sendable(const struct chan *ch)
{
	if (ch->state != CHAN_OPEN || ch->eof_sent || buf_len(ch->txq) >= ch->remote_window)
		return 0;
	return ch->remote_window - buf_len(ch->txq);
}

int chanmgr_flush(struct chanmgr *cm)
{
	int r;

	for (unsigned i = 0; i < SSH_CHANNELS_MAX; i++) {
		if (cm->chans[i] != NULL && (r = chan_flush(cm->chans[i])) != 0)
			return r;
	}
	return 0;
}

int chan_write(struct chan *ch, const uint8_t *data, size_t len)
{
	int r;

	if (ch->state == CHAN_CLOSING || ch->eof_sent)
		return ERR_CONN_CLOSED;
	if (len == 0)
		return 0;
	/* Nothing queued: what the window takes goes straight from data. */
	if (buf_len(ch->txq) == 0) {
		size_t sent;

		if ((r = chan_send_data(ch, data, len, &sent)) != 0)
			return r;
		data += sent;
		len -= sent;
		if (len == 0)
			return 0;
	}
	if ((r = buf_put(ch->txq, data, len)) != 0)
		return r;
	return chan_flush(ch);
}

static int send_simple(struct chan *ch, uint8_t type)
{
	struct chanmgr *cm = ch->cm;
	int r;

	buf_reset(cm->msg);
	if ((r = buf_put_u8(cm->msg, type)) != 0 || (r = buf_put_u32(cm->msg, ch->remote_id)) != 0)
		return r;
	return send_msg(cm);
}

int chan_send_eof(struct chan *ch)
{
	int r;

	if (ch->state != CHAN_OPEN || ch->eof_sent)
		return 0;
	/* Queued data goes first; EOF is sent once the queue drains. */
	if ((r = chan_flush(ch)) != 0)
		return r;
	if (buf_len(ch->txq) > 0)
		return ERR_WOULD_BLOCK;
	ch->eof_sent = true;
	return send_simple(ch, SSH2_MSG_CHANNEL_EOF);
}

int chan_close(struct chan *ch)
{
	int r;

	if (ch->close_sent)
		return 0;
	if (ch->state == CHAN_OPENING) {
		/* Cannot CLOSE before the peer's id is known; close on confirmation. */
		ch->state = CHAN_CLOSING;
		return 0;
	}
	ch->state = CHAN_CLOSING;
	ch->close_sent = true;
	if ((r = send_simple(ch, SSH2_MSG_CHANNEL_CLOSE)) != 0)
		return r;
	if (ch->close_received)
		finish_close(ch, 0);
	return 0;
}

/* Top the peer's window back up early: after a quarter of it is used. */
static int maybe_adjust(struct chan *ch)
{
	struct chanmgr *cm = ch->cm;
	int r;

	if (ch->local_consumed < SSH_CHANNEL_WINDOW_DEFAULT / 4 || ch->state != CHAN_OPEN)
		return 0;
	buf_reset(cm->msg);
	if ((r = buf_put_u8(cm->msg, SSH2_MSG_CHANNEL_WINDOW_ADJUST)) != 0 ||
	    (r = buf_put_u32(cm->msg, ch->remote_id)) != 0 || (r = buf_put_u32(cm->msg, ch->local_consumed)) != 0 ||
	    (r = send_msg(cm)) != 0)
		return r;
	ch->local_window += ch->local_consumed; /* cannot overflow: sum <= SSH_CHANNEL_WINDOW_DEFAULT */
	ch->local_consumed = 0;
	return 0;
}

static int send_global_failure(struct chanmgr *cm)
{
	int r;

	buf_reset(cm->msg);
	if ((r = buf_put_u8(cm->msg, SSH2_MSG_REQUEST_FAILURE)) != 0)
		return r;
	return send_msg(cm);
}

int chanmgr_send_keepalive(struct chanmgr *cm)
{
	int r;

	buf_reset(cm->msg);
	if ((r = buf_put_u8(cm->msg, SSH2_MSG_GLOBAL_REQUEST)) != 0 ||
	    (r = buf_put_cstring(cm->msg, "keepalive@openssh.com")) != 0 || (r = buf_put_u8(cm->msg, 1)) != 0 ||
	    (r = send_msg(cm)) != 0)
		return r;
	cm->keepalives++;
	return 0;
}

unsigned chanmgr_keepalives_outstanding(const struct chanmgr *cm)
{
	return cm->keepalives;
}

void chanmgr_reset_keepalives(struct chanmgr *cm)
{
	cm->keepalives = 0;
}

static int handle_global_request(struct chanmgr *cm, struct buf *b)
{
	const uint8_t *name;
	size_t nlen;
	bool want_reply;
	int r;

	/* RFC 4254 §4: request-specific data may follow; it is not ours to parse. */
	if ((r = buf_get_string_direct(b, &name, &nlen)) != 0 || (r = buf_get_bool(b, &want_reply)) != 0)
		return r;
	log_debug(LOG_CAT_CHANNEL, "server global request %.*s", (int)(nlen > 64 ? 64 : nlen), (const char *)name);
	/* Unknown requests, keepalive@openssh.com included, are answered with failure (as OpenSSH's client does). */
	return want_reply ? send_global_failure(cm) : 0;
}

static int handle_open_confirmation(struct chan *ch, struct buf *b)
{
	uint32_t remote_id, window, maxpacket;
	int r;

	if ((r = buf_get_u32(b, &remote_id)) != 0 || (r = buf_get_u32(b, &window)) != 0 ||
	    (r = buf_get_u32(b, &maxpacket)) != 0 || (r = buf_expect_end(b)) != 0)
		return r;
	if (maxpacket == 0)
		return ERR_PROTOCOL;
	ch->remote_id = remote_id;
	ch->remote_window = window;
	ch->remote_window_peak = window;
	ch->remote_maxpacket = maxpacket;
	if (ch->state == CHAN_CLOSING) {
		/* Closed by us while opening. */
		ch->close_sent = true;
		if (ch->cb.on_open != NULL)
			ch->cb.on_open(ch->ctx, ERR_CHANNEL_FAILED);
		return send_simple(ch, SSH2_MSG_CHANNEL_CLOSE);
	}
	ch->state = CHAN_OPEN;
	if (ch->cb.on_open != NULL)
		ch->cb.on_open(ch->ctx, 0);
	return 0;
}

static int handle_channel_request(struct chan *ch, struct buf *b)
{
	char *type = NULL;
	size_t tlen;
	bool want_reply;
	int r;

	if ((r = buf_get_cstring(b, &type, &tlen)) != 0 || (r = buf_get_bool(b, &want_reply)) != 0)
		goto out;
	if (strcmp(type, "exit-status") == 0) {
		uint32_t status;

		if ((r = buf_get_u32(b, &status)) != 0 || (r = buf_expect_end(b)) != 0)
			goto out;
		if (ch->cb.on_exit_status != NULL)
			ch->cb.on_exit_status(ch->ctx, status);
	} else if (strcmp(type, "exit-signal") == 0) {
		/* RFC 4254 §6.10: the shell convention is 128 + signal; the number is unknown here. */
		if (ch->cb.on_exit_status != NULL)
			ch->cb.on_exit_status(ch->ctx, 255);
	}
	/* Anything wanting a reply (keepalive@openssh.com, ...) gets CHANNEL_FAILURE. */
	r = want_reply ? send_simple(ch, SSH2_MSG_CHANNEL_FAILURE) : 0;
out:
	free(type);
	return r;
}

static int handle_data(struct chan *ch, struct buf *b, bool extended)
{
	const uint8_t *d;
	size_t len;
	uint32_t code = 0;
	int r;

	if (extended && (r = buf_get_u32(b, &code)) != 0)
		return r;
	if ((r = buf_get_string_direct(b, &d, &len)) != 0 || (r = buf_expect_end(b)) != 0)
		return r;
	/* RFC 4254 §5.2: the peer must stay within our window and packet size. */
	if (len > ch->local_window || len > SSH_CHANNEL_PACKET_DEFAULT) {
		log_error(LOG_CAT_CHANNEL, "channel %u: peer sent %zu bytes beyond window %u", ch->local_id, len,
			  ch->local_window);
		return ERR_PROTOCOL;
	}
	ch->local_window -= (uint32_t)len;
	ch->local_consumed += (uint32_t)len;
	if (ch->state == CHAN_OPEN && !ch->eof_received) {
		if (!extended && ch->cb.on_data != NULL) {
			if (ch->cb.on_data(ch->ctx, d, len) != 0)
				return chan_close(ch);
		} else if (extended && code == 1 && ch->cb.on_stderr != NULL) {
			ch->cb.on_stderr(ch->ctx, d, len);
		}
	}
	return maybe_adjust(ch);
}

int chanmgr_input(struct chanmgr *cm, const uint8_t *p, size_t len)
{
	struct buf *b = buf_from(p, len);
	struct chan *ch = NULL;
	uint8_t type;
	uint32_t id;
	int r;

	if (b == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_get_u8(b, &type)) != 0)
		goto out;
	/* Any reply proves the server alive. */
	if (type == SSH2_MSG_REQUEST_SUCCESS || type == SSH2_MSG_REQUEST_FAILURE) {
		if (cm->keepalives > 0)
			cm->keepalives--;
		r = 0;
		goto out;
	}
	if (type == SSH2_MSG_GLOBAL_REQUEST) {
		r = handle_global_request(cm, b);
		goto out;
	}
	if (type == SSH2_MSG_CHANNEL_OPEN) {
		/* RFC 4254 §5.1: we accept no channels from the server. */
		const uint8_t *ctype;
		size_t clen;
		uint32_t sender;

		if ((r = buf_get_string_direct(b, &ctype, &clen)) != 0 || (r = buf_get_u32(b, &sender)) != 0)
			goto out;
		buf_reset(cm->msg);
		if ((r = buf_put_u8(cm->msg, SSH2_MSG_CHANNEL_OPEN_FAILURE)) != 0 || (r = buf_put_u32(cm->msg, sender)) != 0 ||
		    (r = buf_put_u32(cm->msg, SSH2_OPEN_ADMINISTRATIVELY_PROHIBITED)) != 0 ||
		    (r = buf_put_cstring(cm->msg, "open refused by client")) != 0 || (r = buf_put_cstring(cm->msg, "")) != 0)
			goto out;
		r = send_msg(cm);
		goto out;
	}
	if (type < SSH2_MSG_CHANNEL_OPEN_CONFIRMATION || type > SSH2_MSG_CHANNEL_FAILURE) {
		r = ERR_NOT_SUPPORTED;
		goto out;
	}
	if ((r = buf_get_u32(b, &id)) != 0)
		goto out;
	if (id >= SSH_CHANNELS_MAX || (ch = cm->chans[id]) == NULL) {
		log_error(LOG_CAT_CHANNEL, "message %u for unknown channel %u", type, id);
		r = ERR_PROTOCOL;
		goto out;
	}
	if (ch->state == CHAN_OPENING && type != SSH2_MSG_CHANNEL_OPEN_CONFIRMATION &&
	    type != SSH2_MSG_CHANNEL_OPEN_FAILURE) {
		r = ERR_PROTOCOL;
		goto out;
	}
	switch (type) {
	case SSH2_MSG_CHANNEL_OPEN_CONFIRMATION:
		r = ch->state == CHAN_OPENING || (ch->state == CHAN_CLOSING && !ch->close_sent)
			    ? handle_open_confirmation(ch, b)
			    : ERR_PROTOCOL;
		break;
	case SSH2_MSG_CHANNEL_OPEN_FAILURE: {
		uint32_t reason;
		const uint8_t *desc;
		size_t dlen;

		if (!(ch->state == CHAN_OPENING || (ch->state == CHAN_CLOSING && !ch->close_sent))) {
			r = ERR_PROTOCOL;
			break;
		}
		if ((r = buf_get_u32(b, &reason)) != 0 || (r = buf_get_string_direct(b, &desc, &dlen)) != 0)
			break;
		log_error(LOG_CAT_CHANNEL, "channel open failed (%u): %.*s", reason,
			  (int)(dlen > SSH_MESSAGE_TEXT_MAX ? SSH_MESSAGE_TEXT_MAX : dlen), (const char *)desc);
		if (ch->cb.on_open != NULL)
			ch->cb.on_open(ch->ctx, ERR_CHANNEL_FAILED);
		ch->cb.on_open = NULL;
		finish_close(ch, ERR_CHANNEL_FAILED);
		r = 0;
		break;
	}
	case SSH2_MSG_CHANNEL_WINDOW_ADJUST: {
		uint32_t add;

		if ((r = buf_get_u32(b, &add)) != 0 || (r = buf_expect_end(b)) != 0)
			break;
		/* RFC 4254 §5.2: the window may not exceed 2^32 - 1. */
		if (add > UINT32_MAX - ch->remote_window) {
			r = ERR_PROTOCOL;
			break;
		}
		ch->remote_window += add;
		if (ch->remote_window > ch->remote_window_peak)
			ch->remote_window_peak = ch->remote_window;
		r = chan_flush(ch);
		break;
	}
	case SSH2_MSG_CHANNEL_DATA:
	case SSH2_MSG_CHANNEL_EXTENDED_DATA:
		r = handle_data(ch, b, type == SSH2_MSG_CHANNEL_EXTENDED_DATA);
		break;
	case SSH2_MSG_CHANNEL_EOF:
		if ((r = buf_expect_end(b)) != 0)
			break;
		ch->eof_received = true;
		if (ch->cb.on_eof != NULL)
			ch->cb.on_eof(ch->ctx);
		break;
	case SSH2_MSG_CHANNEL_CLOSE:
		if ((r = buf_expect_end(b)) != 0)
			break;
		ch->close_received = true;
		if (!ch->close_sent) {
			ch->close_sent = true;
			ch->state = CHAN_CLOSING;
			if ((r = send_simple(ch, SSH2_MSG_CHANNEL_CLOSE)) != 0)
				break;
		}
		finish_close(ch, 0);
		r = 0;
		break;
	case SSH2_MSG_CHANNEL_REQUEST:
		r = handle_channel_request(ch, b);
		break;
	case SSH2_MSG_CHANNEL_SUCCESS:
	case SSH2_MSG_CHANNEL_FAILURE:
		if ((r = buf_expect_end(b)) != 0)
			break;
		if (ch->requests_pending == 0) {
			r = ERR_PROTOCOL;
			break;
		}
		ch->requests_pending--;
		if (ch->cb.on_request != NULL)
			ch->cb.on_request(ch->ctx, type == SSH2_MSG_CHANNEL_SUCCESS ? 0 : ERR_CHANNEL_FAILED);
		r = 0;
		break;
	default:
		r = ERR_PROTOCOL;
	}
out:
	buf_free(b);
	return r;
}
