/*
 * test-session.c - user authentication (src/userauth.c, RFC 4252/4256) and
 * the connection protocol (src/channel.c, RFC 4254) against the scripted
 * in-memory server of ssh-peer.c: the none probe, keyboard-interactive
 * prompts and answers, partial success into password, failure when methods
 * run out, a key that cannot sign after PK_OK skipped for the next one; channel open, data within the peer's window and max packet,
 * WINDOW_ADJUST, our window topped up early, window overflow and data past
 * the window refused, exit-status/EOF/CLOSE, global requests answered,
 * server channel opens refused.
 */
#include "config.h"

#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

#include "buf.h"
#include "channel.h"
#include "conn.h"
#include "limits.h"
#include "ssh-peer.h"
#include "ssh2.h"
#include "sshkey.h"
#include "transport.h"
#include "userauth.h"

/* ---- client-side routing, as conn.c does ---- */

struct session {
	struct userauth *ua;
	struct chanmgr *cm;
};

static int route(void *ctx, const uint8_t *p, size_t len)
{
	struct session *s = ctx;

	if (p[0] < SSH2_MSG_GLOBAL_REQUEST)
		return userauth_input(s->ua, p, len);
	return chanmgr_input(s->cm, p, len);
}

static char *get_string(struct buf *b)
{
	char *s = NULL;
	size_t l;

	g_assert_cmpint(buf_get_cstring(b, &s, &l), ==, 0);
	return s;
}

static void expect_string(struct buf *b, const char *want)
{
	char *s = get_string(b);

	g_assert_cmpstr(s, ==, want);
	free(s);
}

/* ---- userauth ---- */

struct auth_script {
	unsigned step;
	bool done;
};

static void send_failure(struct peer *p, const char *methods, bool partial)
{
	struct buf *m = buf_new(0);

	g_assert_cmpint(buf_put_u8(m, SSH2_MSG_USERAUTH_FAILURE), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, methods), ==, 0);
	g_assert_cmpint(buf_put_u8(m, partial), ==, 0);
	peer_send(p, m);
	buf_free(m);
}

static void auth_server(struct peer *p, void *ctx, struct buf *msg)
{
	struct auth_script *a = ctx;
	uint8_t type;
	struct buf *m = buf_new(0);

	g_assert_cmpint(buf_get_u8(msg, &type), ==, 0);
	switch (a->step++) {
	case 0: /* none probe */
		g_assert_cmpuint(type, ==, SSH2_MSG_USERAUTH_REQUEST);
		expect_string(msg, "alice");
		expect_string(msg, "ssh-connection");
		expect_string(msg, "none");
		send_failure(p, "keyboard-interactive,password", false);
		break;
	case 1: /* keyboard-interactive request (RFC 4256 §3.1) */
		g_assert_cmpuint(type, ==, SSH2_MSG_USERAUTH_REQUEST);
		expect_string(msg, "alice");
		expect_string(msg, "ssh-connection");
		expect_string(msg, "keyboard-interactive");
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_USERAUTH_INFO_REQUEST), ==, 0);
		g_assert_cmpint(buf_put_cstring(m, "name"), ==, 0);
		g_assert_cmpint(buf_put_cstring(m, "instruction"), ==, 0);
		g_assert_cmpint(buf_put_cstring(m, ""), ==, 0);
		g_assert_cmpint(buf_put_u32(m, 2), ==, 0);
		g_assert_cmpint(buf_put_cstring(m, "Code: "), ==, 0);
		g_assert_cmpint(buf_put_u8(m, 1), ==, 0);
		g_assert_cmpint(buf_put_cstring(m, "PIN: "), ==, 0);
		g_assert_cmpint(buf_put_u8(m, 0), ==, 0);
		peer_send(p, m);
		break;
	case 2: { /* INFO_RESPONSE */
		uint32_t n;

		g_assert_cmpuint(type, ==, SSH2_MSG_USERAUTH_INFO_RESPONSE);
		g_assert_cmpint(buf_get_u32(msg, &n), ==, 0);
		g_assert_cmpuint(n, ==, 2);
		expect_string(msg, "answer-Code: ");
		expect_string(msg, "answer-PIN: ");
		g_assert_cmpint(buf_expect_end(msg), ==, 0);
		/* RFC 4252 §5.1: partial success, password still required. */
		send_failure(p, "password", true);
		break;
	}
	case 3: /* password (RFC 4252 §8) */
		g_assert_cmpuint(type, ==, SSH2_MSG_USERAUTH_REQUEST);
		expect_string(msg, "alice");
		expect_string(msg, "ssh-connection");
		expect_string(msg, "password");
		{
			bool change;

			g_assert_cmpint(buf_get_bool(msg, &change), ==, 0);
			g_assert_false(change);
		}
		expect_string(msg, "s3cret");
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_USERAUTH_SUCCESS), ==, 0);
		peer_send(p, m);
		a->done = true;
		break;
	default:
		g_assert_not_reached();
	}
	buf_free(m);
}

static int password_cb(void *ctx, const char *user, const char *host, char **out)
{
	unsigned *calls = ctx;

	(*calls)++;
	g_assert_cmpstr(user, ==, "alice");
	*out = strdup("s3cret");
	return 0;
}

static int kbdint_cb(void *ctx, const char *name, const char *instruction, uint32_t n, const char *const *prompts,
		     const bool *echo, char **answers)
{
	g_assert_cmpstr(name, ==, "name");
	g_assert_cmpstr(instruction, ==, "instruction");
	g_assert_cmpuint(n, ==, 2);
	g_assert_true(echo[0]);
	g_assert_false(echo[1]);
	for (uint32_t i = 0; i < n; i++)
		answers[i] = g_strdup_printf("answer-%s", prompts[i]);
	return 0;
}

static void test_auth_kbdint_then_password(void)
{
	struct peer p;
	struct session s = {0};
	struct auth_script a = {0};
	unsigned pw_calls = 0;
	struct conn_params params = {
		.host = "example",
		.user = "alice",
		.password = password_cb,
		.password_ctx = &pw_calls,
		.kbdint = kbdint_cb,
		.preferred_auth = "publickey,keyboard-interactive,password",
		.fd = -1,
	};
	struct transport *t = client_ready(&p, route, &s);

	g_assert_cmpint(userauth_new(&params, t, &s.ua), ==, 0);
	g_assert_cmpint(chanmgr_new(t, &s.cm), ==, 0);
	p.on_app = auth_server;
	p.app_ctx = &a;
	g_assert_cmpint(userauth_start(s.ua), ==, 0);
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_true(a.done);
	g_assert_true(userauth_done(s.ua));
	g_assert_cmpstr(userauth_method(s.ua), ==, "password");
	g_assert_cmpuint(pw_calls, ==, 1);
	userauth_free(s.ua);
	chanmgr_free(s.cm);
	transport_free(t);
	peer_free(&p);
}

static void refuse_all(struct peer *p, void *ctx, struct buf *msg)
{
	unsigned *n = ctx;

	(*n)++;
	send_failure(p, "publickey,hostbased", false);
}

static void test_auth_runs_out(void)
{
	struct peer p;
	struct session s = {0};
	unsigned requests = 0;
	struct conn_params params = {.host = "example", .user = "bob", .fd = -1};
	struct transport *t = client_ready(&p, route, &s);

	g_assert_cmpint(userauth_new(&params, t, &s.ua), ==, 0);
	p.on_app = refuse_all;
	p.app_ctx = &requests;
	g_assert_cmpint(userauth_start(s.ua), ==, 0);
	/* No identities and no prompts: nothing left after the probe. */
	g_assert_cmpint(pump(t, &p), ==, ERR_AUTH_FAILED);
	g_assert_cmpuint(requests, ==, 1);
	userauth_free(s.ua);
	transport_free(t);
	peer_free(&p);
}

/* A fresh Ed25519 private key. */
static struct sshkey *new_ed25519(void)
{
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct sshkey *k = NULL;

	g_assert_nonnull(pk);
	g_assert_cmpint(sshkey_from_evp(pk, true, &k), ==, 0);
	EVP_PKEY_free(pk);
	return k;
}

struct skip_script {
	struct sshkey *second; /* the key that must end up signing */
	unsigned step;
	bool done;
};

/* The blob of the key in a publickey request (after the boolean and algorithm). */
static void expect_pk_request(struct buf *msg, bool signed_req, const struct sshkey *want)
{
	struct buf *blob = buf_new(0);
	const uint8_t *b;
	size_t blen;
	bool has_sig;

	expect_string(msg, "bob");
	expect_string(msg, "ssh-connection");
	expect_string(msg, "publickey");
	g_assert_cmpint(buf_get_bool(msg, &has_sig), ==, 0);
	g_assert_true(has_sig == signed_req);
	expect_string(msg, "ssh-ed25519");
	g_assert_cmpint(buf_get_string_direct(msg, &b, &blen), ==, 0);
	if (want != NULL) {
		g_assert_cmpint(sshkey_to_blob(want, blob), ==, 0);
		g_assert_cmpmem(b, blen, buf_peek(blob), buf_len(blob));
	}
	buf_free(blob);
}

static void send_pk_ok(struct peer *p, struct buf *m)
{
	g_assert_cmpint(buf_put_u8(m, SSH2_MSG_USERAUTH_PK_OK), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, "ssh-ed25519"), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, "blob"), ==, 0);
	peer_send(p, m);
}

static void skip_server(struct peer *p, void *ctx, struct buf *msg)
{
	struct skip_script *a = ctx;
	uint8_t type;
	struct buf *m = buf_new(0);

	g_assert_cmpint(buf_get_u8(msg, &type), ==, 0);
	g_assert_cmpuint(type, ==, SSH2_MSG_USERAUTH_REQUEST);
	switch (a->step++) {
	case 0: /* none probe */
		send_failure(p, "publickey", false);
		break;
	case 1: /* the first key is acceptable (PK_OK), but cannot sign */
		expect_pk_request(msg, false, NULL);
		send_pk_ok(p, m);
		break;
	case 2: /* so the client goes on with the second key */
		expect_pk_request(msg, false, a->second);
		send_pk_ok(p, m);
		break;
	case 3: /* and signs with it */
		expect_pk_request(msg, true, a->second);
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_USERAUTH_SUCCESS), ==, 0);
		peer_send(p, m);
		a->done = true;
		break;
	default:
		g_assert_not_reached();
	}
	buf_free(m);
}

static int cannot_sign(void *ctx, const struct sshkey *pub, const char *alg, const uint8_t *data, size_t len,
		       struct buf *out)
{
	unsigned *calls = ctx;

	(*calls)++;
	return ERR_CANCELLED; /* e.g. the passphrase prompt was cancelled */
}

static void test_auth_skip_key_that_cannot_sign(void)
{
	struct peer p;
	struct session s = {0};
	struct sshkey *k1 = new_ed25519(), *k2 = new_ed25519();
	struct skip_script a = {.second = k2};
	unsigned calls = 0;
	struct conn_identity ids[2] = {
		{.pub = k1, .sign = cannot_sign, .sign_ctx = &calls},
		{.pub = k2, .sign = conn_sign_with_key, .sign_ctx = k2},
	};
	struct conn_params params = {.host = "example", .user = "bob", .identities = ids, .n_identities = 2, .fd = -1};
	struct transport *t = client_ready(&p, route, &s);

	g_assert_cmpint(userauth_new(&params, t, &s.ua), ==, 0);
	p.on_app = skip_server;
	p.app_ctx = &a;
	g_assert_cmpint(userauth_start(s.ua), ==, 0);
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_true(a.done);
	g_assert_cmpuint(calls, ==, 1);
	g_assert_cmpstr(userauth_method(s.ua), ==, "publickey");
	userauth_free(s.ua);
	transport_free(t);
	peer_free(&p);
	sshkey_free(k1);
	sshkey_free(k2);
}

/* ---- channels ---- */

struct chan_server {
	uint32_t client_id;
	uint32_t window;    /* what the server grants */
	uint32_t maxpacket;
	size_t data_bytes;  /* CHANNEL_DATA received */
	size_t max_chunk;
	unsigned requests, eofs, closes, global_failures, open_failures, adjusts;
	uint64_t adjusted;
	char last_request[32];
};

static void chan_server(struct peer *p, void *ctx, struct buf *msg)
{
	struct chan_server *cs = ctx;
	struct buf *m = buf_new(0);
	uint8_t type;
	uint32_t id, v;

	g_assert_cmpint(buf_get_u8(msg, &type), ==, 0);
	switch (type) {
	case SSH2_MSG_CHANNEL_OPEN:
		expect_string(msg, "session");
		g_assert_cmpint(buf_get_u32(msg, &cs->client_id), ==, 0);
		g_assert_cmpint(buf_get_u32(msg, &v), ==, 0);
		g_assert_cmpuint(v, ==, SSH_CHANNEL_WINDOW_DEFAULT);
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_CHANNEL_OPEN_CONFIRMATION), ==, 0);
		g_assert_cmpint(buf_put_u32(m, cs->client_id), ==, 0);
		g_assert_cmpint(buf_put_u32(m, 77), ==, 0);
		g_assert_cmpint(buf_put_u32(m, cs->window), ==, 0);
		g_assert_cmpint(buf_put_u32(m, cs->maxpacket), ==, 0);
		peer_send(p, m);
		break;
	case SSH2_MSG_CHANNEL_REQUEST: {
		char *req;
		bool want;

		g_assert_cmpint(buf_get_u32(msg, &id), ==, 0);
		g_assert_cmpuint(id, ==, 77);
		req = get_string(msg);
		g_snprintf(cs->last_request, sizeof(cs->last_request), "%s", req);
		free(req);
		g_assert_cmpint(buf_get_bool(msg, &want), ==, 0);
		g_assert_true(want);
		cs->requests++;
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_CHANNEL_SUCCESS), ==, 0);
		g_assert_cmpint(buf_put_u32(m, cs->client_id), ==, 0);
		peer_send(p, m);
		break;
	}
	case SSH2_MSG_CHANNEL_DATA: {
		const uint8_t *d;
		size_t n;

		g_assert_cmpint(buf_get_u32(msg, &id), ==, 0);
		g_assert_cmpint(buf_get_string_direct(msg, &d, &n), ==, 0);
		cs->data_bytes += n;
		if (n > cs->max_chunk)
			cs->max_chunk = n;
		break;
	}
	case SSH2_MSG_CHANNEL_WINDOW_ADJUST:
		g_assert_cmpint(buf_get_u32(msg, &id), ==, 0);
		g_assert_cmpint(buf_get_u32(msg, &v), ==, 0);
		cs->adjusts++;
		cs->adjusted += v;
		break;
	case SSH2_MSG_CHANNEL_EOF:
		cs->eofs++;
		break;
	case SSH2_MSG_CHANNEL_CLOSE:
		cs->closes++;
		break;
	case SSH2_MSG_REQUEST_FAILURE:
		cs->global_failures++;
		break;
	case SSH2_MSG_CHANNEL_OPEN_FAILURE:
		cs->open_failures++;
		break;
	default:
		g_assert_not_reached();
	}
	buf_free(m);
}

struct chan_client {
	int opened, requested;
	size_t got;
	unsigned eof, closed;
	uint32_t status;
	int close_err;
};

static void cc_open(void *ctx, int r)
{
	((struct chan_client *)ctx)->opened = r == 0 ? 1 : -1;
}

static void cc_request(void *ctx, int r)
{
	((struct chan_client *)ctx)->requested = r == 0 ? 1 : -1;
}

static int cc_data(void *ctx, const uint8_t *d, size_t n)
{
	((struct chan_client *)ctx)->got += n;
	return 0;
}

static void cc_eof(void *ctx)
{
	((struct chan_client *)ctx)->eof++;
}

static void cc_status(void *ctx, uint32_t st)
{
	((struct chan_client *)ctx)->status = st;
}

static void cc_close(void *ctx, int err)
{
	((struct chan_client *)ctx)->closed++;
	((struct chan_client *)ctx)->close_err = err;
}

static const struct chan_callbacks cc_callbacks = {
	.on_open = cc_open,
	.on_request = cc_request,
	.on_data = cc_data,
	.on_eof = cc_eof,
	.on_exit_status = cc_status,
	.on_close = cc_close,
};

static void server_msg(struct peer *p, uint8_t type, uint32_t id, const void *data, size_t n)
{
	struct buf *m = buf_new(0);

	g_assert_cmpint(buf_put_u8(m, type), ==, 0);
	g_assert_cmpint(buf_put_u32(m, id), ==, 0);
	if (type == SSH2_MSG_CHANNEL_DATA)
		g_assert_cmpint(buf_put_string(m, data, n), ==, 0);
	else if (type == SSH2_MSG_CHANNEL_WINDOW_ADJUST)
		g_assert_cmpint(buf_put_u32(m, (uint32_t)n), ==, 0);
	peer_send(p, m);
	buf_free(m);
}

static struct transport *session_with_channel(struct peer *p, struct session *s, struct chan_server *cs,
					      struct chan_client *cc, struct chan **ch)
{
	struct transport *t = client_ready(p, route, s);

	g_assert_cmpint(chanmgr_new(t, &s->cm), ==, 0);
	p->on_app = chan_server;
	p->app_ctx = cs;
	g_assert_cmpint(chan_open_session(s->cm, &cc_callbacks, cc, ch), ==, 0);
	g_assert_cmpint(pump(t, p), ==, 0);
	g_assert_cmpint(cc->opened, ==, 1);
	g_assert_cmpint(chan_request_subsystem(*ch, "sftp"), ==, 0);
	g_assert_cmpint(pump(t, p), ==, 0);
	g_assert_cmpint(cc->requested, ==, 1);
	g_assert_cmpstr(cs->last_request, ==, "subsystem");
	return t;
}

static void test_channel_flow(void)
{
	struct peer p;
	struct session s = {0};
	struct chan_server cs = {.window = 100, .maxpacket = 40};
	struct chan_client cc = {0};
	struct chan *ch;
	struct transport *t = session_with_channel(&p, &s, &cs, &cc, &ch);
	uint8_t data[250], big[SSH_CHANNEL_PACKET_DEFAULT];
	struct buf *m = buf_new(0);

	memset(data, 'x', sizeof(data));
	/* Only the peer's window leaves, in chunks of at most its max packet. */
	g_assert_cmpint(chan_write(ch, data, sizeof(data)), ==, 0);
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_cmpuint(cs.data_bytes, ==, 100);
	g_assert_cmpuint(cs.max_chunk, <=, 40);
	g_assert_cmpuint(chan_queued(ch), ==, 150);
	server_msg(&p, SSH2_MSG_CHANNEL_WINDOW_ADJUST, cs.client_id, NULL, 1000);
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_cmpuint(cs.data_bytes, ==, 250);
	g_assert_cmpuint(chan_queued(ch), ==, 0);
	/* Incoming data: our window is topped up after a quarter is used. */
	memset(big, 'y', sizeof(big));
	for (size_t sent = 0; sent < SSH_CHANNEL_WINDOW_DEFAULT / 4 + sizeof(big); sent += sizeof(big))
		server_msg(&p, SSH2_MSG_CHANNEL_DATA, cs.client_id, big, sizeof(big));
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_cmpuint(cc.got, >=, SSH_CHANNEL_WINDOW_DEFAULT / 4);
	g_assert_cmpuint(cs.adjusts, ==, 1);
	g_assert_cmpuint(cs.adjusted, >=, SSH_CHANNEL_WINDOW_DEFAULT / 4);
	/* Global request with want-reply (keepalive@openssh.com): REQUEST_FAILURE. */
	g_assert_cmpint(buf_put_u8(m, SSH2_MSG_GLOBAL_REQUEST), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, "keepalive@openssh.com"), ==, 0);
	g_assert_cmpint(buf_put_u8(m, 1), ==, 0);
	peer_send(&p, m);
	/* A channel open from the server is refused. */
	buf_reset(m);
	g_assert_cmpint(buf_put_u8(m, SSH2_MSG_CHANNEL_OPEN), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, "x11"), ==, 0);
	g_assert_cmpint(buf_put_u32(m, 5), ==, 0);
	g_assert_cmpint(buf_put_u32(m, 1000), ==, 0);
	g_assert_cmpint(buf_put_u32(m, 1000), ==, 0);
	peer_send(&p, m);
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_cmpuint(cs.global_failures, ==, 1);
	g_assert_cmpuint(cs.open_failures, ==, 1);
	/* exit-status, EOF, CLOSE: callbacks, and our CLOSE in reply. */
	buf_reset(m);
	g_assert_cmpint(buf_put_u8(m, SSH2_MSG_CHANNEL_REQUEST), ==, 0);
	g_assert_cmpint(buf_put_u32(m, cs.client_id), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, "exit-status"), ==, 0);
	g_assert_cmpint(buf_put_u8(m, 0), ==, 0);
	g_assert_cmpint(buf_put_u32(m, 42), ==, 0);
	peer_send(&p, m);
	server_msg(&p, SSH2_MSG_CHANNEL_EOF, cs.client_id, NULL, 0);
	server_msg(&p, SSH2_MSG_CHANNEL_CLOSE, cs.client_id, NULL, 0);
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_cmpuint(cc.status, ==, 42);
	g_assert_cmpuint(cc.eof, ==, 1);
	g_assert_cmpuint(cc.closed, ==, 1);
	g_assert_cmpint(cc.close_err, ==, 0);
	g_assert_cmpuint(cs.closes, ==, 1);
	g_assert_cmpuint(chanmgr_count(s.cm), ==, 0);
	buf_free(m);
	chanmgr_free(s.cm);
	transport_free(t);
	peer_free(&p);
}

static void test_window_adjust_overflow(void)
{
	struct peer p;
	struct session s = {0};
	struct chan_server cs = {.window = 100, .maxpacket = 40};
	struct chan_client cc = {0};
	struct chan *ch;
	struct transport *t = session_with_channel(&p, &s, &cs, &cc, &ch);

	/* RFC 4254 §5.2: the window may not exceed 2^32 - 1. */
	server_msg(&p, SSH2_MSG_CHANNEL_WINDOW_ADJUST, cs.client_id, NULL, UINT32_MAX - 50);
	g_assert_cmpint(pump(t, &p), ==, ERR_PROTOCOL);
	chanmgr_free(s.cm);
	transport_free(t);
	peer_free(&p);
}

static void test_data_beyond_window(void)
{
	struct peer p;
	struct session s = {0};
	struct chan_server cs = {.window = 100, .maxpacket = 40};
	struct chan_client cc = {0};
	struct chan *ch;
	struct transport *t = session_with_channel(&p, &s, &cs, &cc, &ch);
	uint8_t big[SSH_CHANNEL_PACKET_DEFAULT + 1];

	/* Larger than the max packet size we announced. */
	memset(big, 'z', sizeof(big));
	server_msg(&p, SSH2_MSG_CHANNEL_DATA, cs.client_id, big, sizeof(big));
	g_assert_cmpint(pump(t, &p), ==, ERR_PROTOCOL);
	chanmgr_free(s.cm);
	transport_free(t);
	peer_free(&p);
}

static void test_unknown_channel(void)
{
	struct peer p;
	struct session s = {0};
	struct chan_server cs = {.window = 100, .maxpacket = 40};
	struct chan_client cc = {0};
	struct chan *ch;
	struct transport *t = session_with_channel(&p, &s, &cs, &cc, &ch);

	server_msg(&p, SSH2_MSG_CHANNEL_EOF, 9, NULL, 0);
	g_assert_cmpint(pump(t, &p), ==, ERR_PROTOCOL);
	chanmgr_free(s.cm);
	transport_free(t);
	peer_free(&p);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/userauth/kbdint-partial-password", test_auth_kbdint_then_password);
	g_test_add_func("/userauth/methods-exhausted", test_auth_runs_out);
	g_test_add_func("/userauth/skip-key-that-cannot-sign", test_auth_skip_key_that_cannot_sign);
	g_test_add_func("/channel/flow", test_channel_flow);
	g_test_add_func("/channel/window-adjust-overflow", test_window_adjust_overflow);
	g_test_add_func("/channel/data-beyond-window", test_data_beyond_window);
	g_test_add_func("/channel/unknown-channel", test_unknown_channel);
	return g_test_run();
}
