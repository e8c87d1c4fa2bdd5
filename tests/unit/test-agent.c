/*
 * test-agent.c - src/agent.c against a real ssh-agent and a hostile one.
 *
 * The test starts its own `ssh-agent -D -a $TMP/sock` (never the user's
 * agent: SSH_AUTH_SOCK is only ever set to that socket), adds keys made by
 * ssh-keygen with ssh-add, lists them, and has the agent sign with every key
 * type, RSA with each SHA-2 flag (draft-miller-ssh-agent §5.5.1); the
 * signatures are checked with our verifier. A scripted fake agent on a second
 * socket sends oversized, truncated and wrong replies, which must fail cleanly.
 * A missing ssh-agent/ssh-add fails the test (scripts/deps/test-keys.txt).
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "buf.h"
#include "err.h"
#include "keyfile.h"
#include "sshkey.h"

static char *tmpdir;
static char *sock;
static GPid agent_pid;

static char *run(const char *const *argv)
{
	GError *err = NULL;
	gchar *out = NULL, *errout = NULL;
	gint status = 0;

	g_assert_true(g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errout, &status,
				   &err));
	g_assert_no_error(err);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("%s failed: %s", argv[0], errout);
	g_free(errout);
	return out;
}

static char *keygen(const char *name, const char *type, const char *bits)
{
	char *path = g_build_filename(tmpdir, name, NULL);
	const char *argv[] = {"ssh-keygen", "-q", "-t", type, "-b", bits, "-N", "", "-C", name, "-f", path, NULL};

	if (bits == NULL) {
		argv[4] = "-N";
		argv[5] = "";
		argv[6] = "-C";
		argv[7] = name;
		argv[8] = "-f";
		argv[9] = path;
		argv[10] = NULL;
	}
	g_free(run(argv));
	return path;
}

static void ssh_add(const char *path)
{
	char *env = g_strconcat("SSH_AUTH_SOCK=", sock, NULL);
	const char *argv[] = {"env", env, "ssh-add", "-q", path, NULL};

	g_free(run(argv));
	g_free(env);
}

/*
 * `ssh-agent -a SOCK cat`: ssh-agent forks, the parent becomes `cat` reading
 * our pipe, and the agent exits once that parent is gone (OpenSSH checks
 * every 10 s). Closing the pipe — or this test dying on a failed assertion —
 * ends cat and so the agent: no agent outlives the test. (ssh-agent is
 * setgid, so a parent-death signal would not survive its exec.)
 */
static int agent_stdin = -1;

static void start_agent(void)
{
	GError *err = NULL;
	const char *argv[] = {"ssh-agent", "-a", sock, "cat", NULL};

	g_assert_true(g_spawn_async_with_pipes(NULL, (gchar **)argv, NULL,
					       G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
						       G_SPAWN_STDOUT_TO_DEV_NULL,
					       NULL, NULL, &agent_pid, &agent_stdin, NULL, NULL, &err));
	g_assert_no_error(err);
	/*
	 * ssh-agent binds (creating the file) before it listens: wait until a
	 * connection succeeds, not just until the socket file exists.
	 */
	for (int i = 0; i < 1000; i++) {
		struct agent *a = NULL;

		if (agent_open(sock, &a) == 0) {
			agent_close(a);
			return;
		}
		g_usleep(10000);
	}
	g_error("ssh-agent did not start listening on %s", sock);
}

static void stop_agent(void)
{
	int status;

	close(agent_stdin);
	waitpid(agent_pid, &status, 0);
	g_spawn_close_pid(agent_pid);
}

static void test_not_present(void)
{
	struct agent *a = NULL;
	char *none = g_build_filename(tmpdir, "no-such-socket", NULL);

	g_assert_cmpint(agent_open(none, &a), ==, ERR_AGENT_NOT_PRESENT);
	g_assert_null(a);
	g_unsetenv("SSH_AUTH_SOCK");
	g_assert_cmpint(agent_open(NULL, &a), ==, ERR_AGENT_NOT_PRESENT);
	g_free(none);
}

static const struct {
	const char *name, *type, *bits, *sshname;
} keys[] = {
	{"ed25519", "ed25519", NULL, "ssh-ed25519"},
	{"ecdsa256", "ecdsa", "256", "ecdsa-sha2-nistp256"},
	{"ecdsa521", "ecdsa", "521", "ecdsa-sha2-nistp521"},
	{"rsa", "rsa", "2048", "ssh-rsa"},
};

static void test_real_agent(void)
{
	struct agent *a = NULL;
	struct agent_identities *ids = NULL;
	struct sshkey *pubs[G_N_ELEMENTS(keys)];
	static const uint8_t data[] = "data the agent signs";

	g_assert_cmpint(agent_open(sock, &a), ==, 0);
	g_assert_cmpint(agent_list_identities(a, &ids), ==, 0);
	g_assert_cmpuint(ids->n, ==, 0);
	agent_identities_free(ids);
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		char *path = keygen(keys[i].name, keys[i].type, keys[i].bits);
		char *pub = g_strconcat(path, ".pub", NULL);

		g_assert_cmpint(keyfile_load_public(pub, &pubs[i]), ==, 0);
		ssh_add(path);
		g_free(pub);
		g_free(path);
	}
	/* Through $SSH_AUTH_SOCK this time: our own agent's socket. */
	agent_close(a);
	g_setenv("SSH_AUTH_SOCK", sock, TRUE);
	g_assert_cmpint(agent_open(NULL, &a), ==, 0);
	g_assert_cmpint(agent_list_identities(a, &ids), ==, 0);
	g_assert_cmpuint(ids->n, ==, G_N_ELEMENTS(keys));
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		g_assert_cmpint(sshkey_equal_public(ids->ids[i].key, pubs[i]), ==, 1);
		g_assert_cmpstr(ids->ids[i].comment, ==, keys[i].name);
		g_assert_cmpstr(sshkey_type_name(ids->ids[i].key), ==, keys[i].sshname);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
		const char *algs[] = {NULL, "rsa-sha2-256", "rsa-sha2-512", "rsa-sha2-512-cert-v01@openssh.com"};
		size_t nalgs = sshkey_is_rsa(pubs[i]) ? G_N_ELEMENTS(algs) : 1;

		for (size_t j = 0; j < nalgs; j++) {
			struct buf *sig = buf_new(0);
			char *name = NULL;
			const char *want = algs[j] != NULL ? sshkey_sig_alg_for(algs[j])
				      : sshkey_is_rsa(pubs[i]) ? "rsa-sha2-512" : keys[i].sshname;

			g_assert_cmpint(agent_sign_cb(a, ids->ids[i].key, algs[j], data, sizeof(data), sig), ==, 0);
			g_assert_cmpint(sshkey_sig_alg_name(buf_peek(sig), buf_len(sig), &name), ==, 0);
			g_assert_cmpstr(name, ==, want);
			g_assert_cmpint(sshkey_verify(pubs[i], buf_peek(sig), buf_len(sig), data, sizeof(data), want), ==, 0);
			free(name);
			buf_free(sig);
		}
	}
	/* A key the agent does not hold: the agent refuses. */
	{
		char *path = keygen("stranger", "ed25519", NULL);
		char *pub = g_strconcat(path, ".pub", NULL);
		struct sshkey *k = NULL;
		struct buf *sig = buf_new(0);

		g_assert_cmpint(keyfile_load_public(pub, &k), ==, 0);
		g_assert_cmpint(agent_sign(a, k, NULL, data, sizeof(data), sig), ==, ERR_AGENT_FAILURE);
		g_assert_cmpuint(buf_len(sig), ==, 0);
		/* An algorithm of another key type is refused before asking. */
		g_assert_cmpint(agent_sign(a, k, "rsa-sha2-256", data, sizeof(data), sig), ==, ERR_NO_MATCH);
		sshkey_free(k);
		buf_free(sig);
		g_free(pub);
		g_free(path);
	}
	/* A certificate added with its key (ssh-add picks up -cert.pub) signs too. */
	{
		char *ca = keygen("agentca", "ed25519", NULL);
		char *path = keygen("certuser", "ed25519", NULL);
		char *pub = g_strconcat(path, ".pub", NULL), *certpath = g_strconcat(path, "-cert.pub", NULL);
		const char *sign[] = {"ssh-keygen", "-q", "-s", ca, "-I", "id", "-n", "alice", pub, NULL};
		struct sshkey *cert = NULL;
		struct agent_identities *ids2 = NULL;
		bool found = false;

		g_free(run(sign));
		g_assert_cmpint(keyfile_load_public(certpath, &cert), ==, 0);
		ssh_add(path);
		g_assert_cmpint(agent_list_identities(a, &ids2), ==, 0);
		for (size_t i = 0; i < ids2->n; i++) {
			struct buf *sig = buf_new(0);

			if (!sshkey_equal_public(ids2->ids[i].key, cert)) {
				buf_free(sig);
				continue;
			}
			found = true;
			g_assert_true(sshkey_is_cert(ids2->ids[i].key));
			g_assert_cmpint(agent_sign(a, ids2->ids[i].key, "ssh-ed25519-cert-v01@openssh.com", data,
						   sizeof(data), sig),
					==, 0);
			g_assert_cmpint(sshkey_verify(cert, buf_peek(sig), buf_len(sig), data, sizeof(data), NULL), ==, 0);
			buf_free(sig);
		}
		g_assert_true(found);
		agent_identities_free(ids2);
		sshkey_free(cert);
		g_free(ca);
		g_free(path);
		g_free(pub);
		g_free(certpath);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(keys); i++)
		sshkey_free(pubs[i]);
	agent_identities_free(ids);
	agent_close(a);
}

/* A fake agent: accepts one connection, reads one request, sends canned bytes, closes. */
struct fake {
	int lfd;
	const uint8_t *reply;
	size_t len;
};

static void *fake_agent(void *arg)
{
	struct fake *f = arg;
	uint8_t req[4096];
	int fd = accept(f->lfd, NULL, NULL);

	g_assert_cmpint(fd, >=, 0);
	g_assert_cmpint(read(fd, req, sizeof(req)), >, 0);
	if (f->len > 0)
		g_assert_cmpint(write(fd, f->reply, f->len), ==, (ssize_t)f->len);
	close(fd);
	return NULL;
}

/* Runs one request against a fake agent sending reply; returns the result code. */
static int with_fake(const uint8_t *reply, size_t len, bool sign, const struct sshkey *key)
{
	char *path = g_build_filename(tmpdir, "fake.sock", NULL);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct fake f = {.reply = reply, .len = len};
	struct agent *a = NULL;
	pthread_t th;
	int r;

	g_unlink(path);
	g_assert_cmpuint(strlen(path), <, sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	g_assert_cmpint(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
	g_assert_cmpint(listen(f.lfd, 1), ==, 0);
	g_assert_cmpint(pthread_create(&th, NULL, fake_agent, &f), ==, 0);
	g_assert_cmpint(agent_open(path, &a), ==, 0);
	if (sign) {
		struct buf *sig = buf_new(0);

		r = agent_sign(a, key, NULL, (const uint8_t *)"x", 1, sig);
		if (r != 0)
			g_assert_cmpuint(buf_len(sig), ==, 0);
		buf_free(sig);
	} else {
		struct agent_identities *ids = NULL;

		r = agent_list_identities(a, &ids);
		if (r != 0)
			g_assert_null(ids);
		agent_identities_free(ids);
	}
	agent_close(a);
	pthread_join(th, NULL);
	close(f.lfd);
	g_unlink(path);
	g_free(path);
	return r;
}

static struct buf *framed(const struct buf *msg)
{
	struct buf *b = buf_new(0);

	g_assert_cmpint(buf_put_stringb(b, msg), ==, 0);
	return b;
}

static void test_hostile_agent(void)
{
	char *path = keygen("hostile", "ed25519", NULL), *other = keygen("hostile2", "ed25519", NULL);
	struct sshkey *k = NULL, *k2 = NULL;
	struct buf *msg = buf_new(0), *blob = buf_new(0), *f, *sig = buf_new(0);
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 12};
	static const uint8_t zero[] = {0, 0, 0, 0};
	static const uint8_t short_reply[] = {0, 0, 0, 100, 12, 0, 0};
	static const uint8_t success[] = {0, 0, 0, 1, 6};
	static const uint8_t failure[] = {0, 0, 0, 1, 5};

	g_assert_cmpint(keyfile_load_private(path, NULL, &k), ==, 0);
	g_assert_cmpint(keyfile_load_private(other, NULL, &k2), ==, 0);
	g_assert_cmpint(with_fake(huge, sizeof(huge), false, NULL), ==, ERR_LIMIT_EXCEEDED);
	g_assert_cmpint(with_fake(zero, sizeof(zero), false, NULL), ==, ERR_LIMIT_EXCEEDED);
	g_assert_cmpint(with_fake(short_reply, sizeof(short_reply), false, NULL), ==, ERR_CONN_CLOSED);
	g_assert_cmpint(with_fake(NULL, 0, false, NULL), ==, ERR_CONN_CLOSED);
	g_assert_cmpint(with_fake(success, sizeof(success), false, NULL), ==, ERR_PROTOCOL);
	g_assert_cmpint(with_fake(failure, sizeof(failure), false, NULL), ==, ERR_AGENT_FAILURE);
	/* Too many identities. */
	g_assert_cmpint(buf_put_u8(msg, 12), ==, 0);
	g_assert_cmpint(buf_put_u32(msg, 100000), ==, 0);
	f = framed(msg);
	g_assert_cmpint(with_fake(buf_peek(f), buf_len(f), false, NULL), ==, ERR_LIMIT_EXCEEDED);
	buf_free(f);
	/* A sign response carrying another key's signature is refused. */
	g_assert_cmpint(sshkey_sign(k2, NULL, (const uint8_t *)"x", 1, sig), ==, 0);
	buf_reset(msg);
	g_assert_cmpint(buf_put_u8(msg, 14), ==, 0);
	g_assert_cmpint(buf_put_stringb(msg, sig), ==, 0);
	f = framed(msg);
	g_assert_cmpint(with_fake(buf_peek(f), buf_len(f), true, k), ==, ERR_SIGNATURE_INVALID);
	buf_free(f);
	/* And with the right key's signature, it passes (the fake is not broken). */
	buf_reset(sig);
	g_assert_cmpint(sshkey_sign(k, NULL, (const uint8_t *)"x", 1, sig), ==, 0);
	buf_reset(msg);
	g_assert_cmpint(buf_put_u8(msg, 14), ==, 0);
	g_assert_cmpint(buf_put_stringb(msg, sig), ==, 0);
	f = framed(msg);
	g_assert_cmpint(with_fake(buf_peek(f), buf_len(f), true, k), ==, 0);
	buf_free(f);
	buf_free(msg);
	buf_free(blob);
	buf_free(sig);
	sshkey_free(k);
	sshkey_free(k2);
	g_free(path);
	g_free(other);
}

/* The identities parser on every truncation and with a trailing byte. */
static void test_parse_identities_strict(void)
{
	char *path = keygen("parse", "ecdsa", "384");
	struct sshkey *k = NULL;
	struct buf *msg = buf_new(0), *blob = buf_new(0);
	struct agent_identities *ids = NULL;
	uint8_t *ext;
	size_t len;

	g_assert_cmpint(keyfile_load_private(path, NULL, &k), ==, 0);
	g_assert_cmpint(sshkey_to_blob(k, blob), ==, 0);
	g_assert_cmpint(buf_put_u8(msg, 12), ==, 0);
	g_assert_cmpint(buf_put_u32(msg, 2), ==, 0);
	g_assert_cmpint(buf_put_stringb(msg, blob), ==, 0);
	g_assert_cmpint(buf_put_cstring(msg, "first"), ==, 0);
	/* An unsupported key type is skipped, not an error. */
	g_assert_cmpint(buf_put_string(msg, "\0\0\0\x07ssh-dss\0\0\0\x01\x01", 16), ==, 0);
	g_assert_cmpint(buf_put_cstring(msg, "dsa"), ==, 0);
	len = buf_len(msg);
	g_assert_cmpint(agent_parse_identities(buf_peek(msg), len, &ids), ==, 0);
	g_assert_cmpuint(ids->n, ==, 1);
	g_assert_cmpstr(ids->ids[0].comment, ==, "first");
	agent_identities_free(ids);
	for (size_t cut = 0; cut < len; cut++) {
		ids = NULL;
		g_assert_cmpint(agent_parse_identities(buf_peek(msg), cut, &ids), <, 0);
		g_assert_null(ids);
	}
	ext = g_malloc(len + 1);
	memcpy(ext, buf_peek(msg), len);
	ext[len] = 0;
	g_assert_cmpint(agent_parse_identities(ext, len + 1, &ids), ==, ERR_TRAILING_DATA);
	g_free(ext);
	buf_free(msg);
	buf_free(blob);
	sshkey_free(k);
	g_free(path);
}

int main(int argc, char **argv)
{
	GError *err = NULL;
	int r;

	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("sftpfs-agent-XXXXXX", &err);
	g_assert_no_error(err);
	sock = g_build_filename(tmpdir, "agent.sock", NULL);
	/* Never talk to the user's agent: only our own socket below. */
	g_unsetenv("SSH_AUTH_SOCK");
	start_agent();
	g_test_add_func("/agent/not-present", test_not_present);
	g_test_add_func("/agent/real-agent", test_real_agent);
	g_test_add_func("/agent/hostile-agent", test_hostile_agent);
	g_test_add_func("/agent/parse-identities-strict", test_parse_identities_strict);
	r = g_test_run();
	stop_agent();
	{
		const char *rm[] = {"rm", "-rf", tmpdir, NULL};

		g_free(run(rm));
	}
	g_free(sock);
	g_free(tmpdir);
	return r;
}
