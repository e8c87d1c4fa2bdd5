/*
 * test-conn.c - conn_open (src/conn.c) against the scripted peer of
 * ssh-peer.c served over a socketpair by a thread, for what only the whole
 * connection shows: the server's first connection-protocol message arriving
 * in the same read as USERAUTH_SUCCESS (OpenSSH sends its
 * hostkeys-00@openssh.com global request right after it; through a slow or
 * batching link both land together); and conn_exec run many times in a row,
 * where the caller frees each finished exec stream while the I/O thread is
 * still returning from the stream's close callback (a use-after-free that
 * AddressSanitizer reports when the callback touches the stream after
 * waking the caller).
 */
#include "config.h"

#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "conn.h"
#include "ssh-peer.h"
#include "ssh2.h"

struct server {
	int fd;
	struct peer p;
	bool authed; /* after that only the client's DISCONNECT comes: not parsed */
	bool serve_exec; /* keep parsing after auth: answer session channels and exec */
	bool keep_parsing; /* keep parsing after auth (on_app decides what to answer) */
	gint opens;      /* CHANNEL_OPENs seen by on_app_silent */
	unsigned execs;  /* exec requests answered */
	gint closing;    /* set before conn_close: the client's DISCONNECT is not parsed */
};

/* Every USERAUTH_REQUEST ("none" first) succeeds, and the global request
 * follows in the same write. */
static void on_app(struct peer *p, void *ctx, struct buf *msg)
{
	struct buf *m = buf_new(0);
	uint8_t type;

	g_assert_cmpint(buf_peek_u8(msg, 0, &type), ==, 0);
	if (type == SSH2_MSG_USERAUTH_REQUEST) {
		((struct server *)ctx)->authed = true;
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_USERAUTH_SUCCESS), ==, 0);
		peer_send(p, m);
		buf_reset(m);
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_GLOBAL_REQUEST), ==, 0);
		g_assert_cmpint(buf_put_cstring(m, "hostkeys-00@openssh.com"), ==, 0);
		g_assert_cmpint(buf_put_u8(m, 0), ==, 0); /* want_reply false */
		peer_send(p, m);
	}
	buf_free(m);
}

/* Session channels running "exec": open confirmed, the request answered,
 * then exit-status 0, EOF and CLOSE at once (RFC 4254 §5.1, §6.5, §6.10);
 * each channel gets the client's number back as ours. */
static void on_app_exec(struct peer *p, void *ctx, struct buf *msg)
{
	struct server *s = ctx;
	struct buf *m = buf_new(0);
	uint32_t id;
	uint8_t type;

	g_assert_cmpint(buf_peek_u8(msg, 0, &type), ==, 0);
	if (type == SSH2_MSG_USERAUTH_REQUEST) {
		s->authed = true;
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_USERAUTH_SUCCESS), ==, 0);
		peer_send(p, m);
	} else if (type == SSH2_MSG_CHANNEL_OPEN) {
		uint32_t window, maxpacket;
		char *ctype = NULL;

		g_assert_cmpint(buf_get_u8(msg, &type), ==, 0);
		g_assert_cmpint(buf_get_cstring(msg, &ctype, NULL), ==, 0);
		g_assert_cmpstr(ctype, ==, "session");
		free(ctype);
		g_assert_cmpint(buf_get_u32(msg, &id), ==, 0);
		g_assert_cmpint(buf_get_u32(msg, &window), ==, 0);
		g_assert_cmpint(buf_get_u32(msg, &maxpacket), ==, 0);
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_CHANNEL_OPEN_CONFIRMATION), ==, 0);
		g_assert_cmpint(buf_put_u32(m, id), ==, 0);
		g_assert_cmpint(buf_put_u32(m, id), ==, 0);
		g_assert_cmpint(buf_put_u32(m, 1u << 20), ==, 0);
		g_assert_cmpint(buf_put_u32(m, 32768), ==, 0);
		peer_send(p, m);
	} else if (type == SSH2_MSG_CHANNEL_REQUEST) {
		char *req = NULL;
		uint8_t want_reply;

		g_assert_cmpint(buf_get_u8(msg, &type), ==, 0);
		g_assert_cmpint(buf_get_u32(msg, &id), ==, 0);
		g_assert_cmpint(buf_get_cstring(msg, &req, NULL), ==, 0);
		g_assert_cmpstr(req, ==, "exec");
		free(req);
		g_assert_cmpint(buf_get_u8(msg, &want_reply), ==, 0);
		s->execs++;
		if (want_reply) {
			g_assert_cmpint(buf_put_u8(m, SSH2_MSG_CHANNEL_SUCCESS), ==, 0);
			g_assert_cmpint(buf_put_u32(m, id), ==, 0);
			peer_send(p, m);
			buf_reset(m);
		}
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_CHANNEL_REQUEST), ==, 0);
		g_assert_cmpint(buf_put_u32(m, id), ==, 0);
		g_assert_cmpint(buf_put_cstring(m, "exit-status"), ==, 0);
		g_assert_cmpint(buf_put_u8(m, 0), ==, 0);
		g_assert_cmpint(buf_put_u32(m, 0), ==, 0);
		peer_send(p, m);
		buf_reset(m);
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_CHANNEL_EOF), ==, 0);
		g_assert_cmpint(buf_put_u32(m, id), ==, 0);
		peer_send(p, m);
		buf_reset(m);
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_CHANNEL_CLOSE), ==, 0);
		g_assert_cmpint(buf_put_u32(m, id), ==, 0);
		peer_send(p, m);
	}
	/* The client's EOF, CLOSE, WINDOW_ADJUST and DISCONNECT need no answer. */
	buf_free(m);
}

/* Authentication succeeds; CHANNEL_OPENs are counted and never answered. */
static void on_app_silent(struct peer *p, void *ctx, struct buf *msg)
{
	struct server *s = ctx;
	uint8_t type;

	g_assert_cmpint(buf_peek_u8(msg, 0, &type), ==, 0);
	if (type == SSH2_MSG_USERAUTH_REQUEST) {
		struct buf *m = buf_new(0);

		s->authed = true;
		g_assert_cmpint(buf_put_u8(m, SSH2_MSG_USERAUTH_SUCCESS), ==, 0);
		peer_send(p, m);
		buf_free(m);
	} else if (type == SSH2_MSG_CHANNEL_OPEN) {
		g_atomic_int_inc(&s->opens);
	}
}

static void flush_out(struct server *s)
{
	while (buf_len(s->p.out) > 0) {
		ssize_t n = write(s->fd, buf_peek(s->p.out), buf_len(s->p.out));

		if (n <= 0)
			return;
		g_assert_cmpint(buf_consume(s->p.out, (size_t)n), ==, 0);
	}
}

static gpointer serve(gpointer data)
{
	struct server *s = data;
	static const char version[] = SERVER_VERSION "\r\n";
	uint8_t chunk[65536];

	g_assert_cmpint(write(s->fd, version, strlen(version)), ==, (ssize_t)strlen(version));
	for (;;) {
		struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
		ssize_t n;

		flush_out(s);
		if (poll(&pfd, 1, 10000) <= 0)
			break;
		n = read(s->fd, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		if (s->authed && ((!s->serve_exec && !s->keep_parsing) || g_atomic_int_get(&s->closing)))
			continue;
		g_assert_cmpint(buf_put(s->p.in, chunk, (size_t)n), ==, 0);
		peer_process(&s->p);
	}
	return NULL;
}

static int accept_any(void *ctx, const char *host, uint16_t port, const struct sshkey *key)
{
	(void)ctx;
	(void)host;
	(void)port;
	(void)key;
	return 0;
}

/* Serves s (answering upper-layer messages with on_app) on one end of a
 * socketpair from a thread and connects to it over the other. */
static struct conn *connect_to(struct server *s, void (*on_app_fn)(struct peer *, void *, struct buf *),
			       GThread **thread)
{
	struct conn_params cp = { .host = "peer", .user = "u", .verify_host_key = accept_any };
	struct conn *c = NULL;
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	peer_init(&s->p, true, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	s->p.send_ext_info = true;
	s->p.on_app = on_app_fn;
	s->p.app_ctx = s;
	s->fd = sv[1];
	*thread = g_thread_new("peer", serve, s);
	cp.fd = sv[0];
	g_assert_cmpint(conn_open(&cp, &c), ==, 0);
	return c;
}

static void disconnect_from(struct server *s, struct conn *c, GThread *thread)
{
	g_atomic_int_set(&s->closing, 1);
	conn_close(c);
	g_thread_join(thread);
	close(s->fd);
	peer_free(&s->p);
}

static void test_global_request_with_auth_success(void)
{
	struct server s = { 0 };
	GThread *t;
	struct conn *c = connect_to(&s, on_app, &t);

	disconnect_from(&s, c, t);
}

/* Each conn_exec frees its stream once it sees the channel closed; the I/O
 * thread must not touch the stream after signalling that. The window is a
 * few instructions wide, so the test runs many execs on one connection
 * (before the fix, about one run in three failed under ASan). */
#define EXEC_ROUNDS 1000

static void test_exec_many(void)
{
	struct server s = { .serve_exec = true };
	struct buf *out = buf_new(0);
	GThread *t;
	struct conn *c = connect_to(&s, on_app_exec, &t);
	unsigned i;

	for (i = 0; i < EXEC_ROUNDS; i++) {
		int status = -1;

		g_assert_cmpint(conn_exec(c, "true", NULL, 0, out, &status), ==, 0);
		g_assert_cmpint(status, ==, 0);
	}
	g_assert_cmpuint(buf_len(out), ==, 0);
	disconnect_from(&s, c, t);
	g_assert_cmpuint(s.execs, ==, EXEC_ROUNDS);
	buf_free(out);
}

/* A stream being opened on a server that never answers its CHANNEL_OPEN
 * waits until conn_abort ends the connection, which fails it without the
 * close callback; the connection is then still conn_close's to free. */
struct start_run {
	struct conn *c;
	struct sftp_client *client;
	int r;
	gint done;
};

static gpointer start_thread(gpointer data)
{
	struct start_run *sr = data;

	sr->r = conn_start_sftp(sr->c, &sr->client);
	g_atomic_int_set(&sr->done, 1);
	return NULL;
}

static void count_close(void *ctx, int err)
{
	(void)err;
	g_atomic_int_inc((gint *)ctx);
}

static void test_abort_unblocks(void)
{
	struct server s = { .keep_parsing = true };
	GThread *t, *opener;
	struct conn *c = connect_to(&s, on_app_silent, &t);
	struct start_run sr = { .c = c, .r = 1 };
	gint closed = 0;
	int i;

	conn_set_close_callback(c, count_close, &closed);
	opener = g_thread_new("opener", start_thread, &sr);
	/* the CHANNEL_OPEN reached the server: the opener waits for its answer */
	for (i = 0; i < 1000 && g_atomic_int_get(&s.opens) == 0; i++)
		g_usleep(10 * 1000);
	g_assert_cmpint(g_atomic_int_get(&s.opens), ==, 1);
	g_usleep(50 * 1000);
	g_assert_cmpint(g_atomic_int_get(&sr.done), ==, 0);
	g_atomic_int_set(&s.closing, 1); /* the DISCONNECT that follows is not parsed */
	conn_abort(c);
	g_thread_join(opener);
	g_assert_cmpint(sr.r, ==, ERR_CONN_CLOSED);
	g_assert_null(sr.client);
	conn_abort(c); /* again: nothing more */
	disconnect_from(&s, c, t);
	/* conn_close joined the I/O thread: the callback had its chance */
	g_assert_cmpint(g_atomic_int_get(&closed), ==, 0);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conn/global-request-with-auth-success", test_global_request_with_auth_success);
	g_test_add_func("/conn/exec-many", test_exec_many);
	g_test_add_func("/conn/abort-unblocks", test_abort_unblocks);
	return g_test_run();
}
