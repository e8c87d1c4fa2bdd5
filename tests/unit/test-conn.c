/*
 * test-conn.c - conn_open (src/conn.c) against the scripted peer of
 * ssh-peer.c served over a socketpair by a thread, for what only the whole
 * connection shows: the server's first connection-protocol message arriving
 * in the same read as USERAUTH_SUCCESS (OpenSSH sends its
 * hostkeys-00@openssh.com global request right after it; through a slow or
 * batching link both land together).
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
		if (s->authed)
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

static void test_global_request_with_auth_success(void)
{
	struct server s;
	struct conn_params cp = { .host = "peer", .user = "u", .verify_host_key = accept_any };
	struct conn *c = NULL;
	GThread *t;
	int sv[2];

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	peer_init(&s.p, true, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	s.p.send_ext_info = true;
	s.p.on_app = on_app;
	s.p.app_ctx = &s;
	s.authed = false;
	s.fd = sv[1];
	t = g_thread_new("peer", serve, &s);
	cp.fd = sv[0];
	g_assert_cmpint(conn_open(&cp, &c), ==, 0);
	conn_close(c);
	g_thread_join(t);
	close(sv[1]);
	peer_free(&s.p);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/conn/global-request-with-auth-success", test_global_request_with_auth_success);
	return g_test_run();
}
