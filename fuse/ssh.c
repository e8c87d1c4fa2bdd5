/*
 * ssh.c - the daemon's SSH path: resolve the user's OpenSSH configuration for
 * the host (src/sshconfig: -F, -o, ~/.ssh/config, /etc/ssh/ssh_config),
 * collect identities in ssh's order (CertificateFile certificates, ssh-agent
 * keys, IdentityFile keys and their -cert.pub), verify the host key against
 * known_hosts (src/knownhosts, StrictHostKeyChecking as ssh applies it),
 * connect — directly, through a ProxyCommand, or through ProxyJump hops
 * carried as direct-tcpip channels — authenticate (src/conn), and start SFTP
 * (the sftp subsystem, or a server program for -o sftp_server=/path). The
 * first connection is made before the daemon goes to the background, so
 * every failure is a clear message on the user's terminal; later ones
 * (reconnects, max_conns) never prompt and log instead.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "conn.h"
#include "keyfile.h"
#include "knownhosts.h"
#include "log.h"
#include "prompt.h"
#include "sshconfig.h"
#include "sshkey.h"
#include "ssh_session.h"

/* sftpfs's keepalive when nothing is configured (issue 9): a file system
 * must notice a dead link. */
#define SFTPFS_ALIVE_INTERVAL_DEFAULT 15
#define SFTPFS_ALIVE_COUNT_DEFAULT 3
/* Bound on ProxyJump hops (ssh has none; each one is a connection). */
#define SFTPFS_JUMP_HOPS_MAX 16

/* One connection of the session and what serves it. */
struct ssh_link {
	struct conn *conn; /* owns the ProxyJump hop connections it came through */
	pid_t proxy_pid;   /* ProxyCommand child, 0 if none */
	GPtrArray *lanes;  /* extra SFTP clients on conn (write lanes), freed after it */
};

struct ssh_session {
	const struct sftpfs_opts *opts; /* borrowed; NULL in a ProxyJump hop */
	struct sshconfig *cfg;
	GMutex lock;         /* protects links */
	GMutex open_lock;    /* one connection attempt at a time (the verifier is shared) */
	GHashTable *links;   /* struct sftp_client * -> struct ssh_link * */
	bool noninteractive; /* after the mount: never prompt, never ask about keys */
	struct agent *agent;
	struct agent_identities *agent_ids;
	GPtrArray *keys;    /* public keys and certificates offered (sshkey_free) */
	GPtrArray *privs;   /* loaded private keys (sshkey_free: wiped) */
	GPtrArray *signers; /* struct agent_plain_signer (g_free) */
	GPtrArray *lazy;    /* struct lazy_key (lazy_key_free) */
	struct conn_identity *ids;
	size_t n_ids;
	char **global_known; /* expanded GlobalKnownHostsFile */
	struct knownhosts_verifier verifier;
	char *password;      /* password_stdin or a typed one that worked; wiped at free */
	struct ssh_session **hops; /* ProxyJump, first hop first (opts NULL in a hop) */
	size_t n_hops;
};

static bool cmdline_identity(const struct sftpfs_opts *o, const char *raw)
{
	for (guint i = 0; o != NULL && i < o->ssh_options->len; i++) {
		const char *s = g_ptr_array_index(o->ssh_options, i);
		if (g_ascii_strncasecmp(s, "IdentityFile=", 13) == 0 && strcmp(s + 13, raw) == 0)
			return true;
	}
	return false;
}

/* A key held by the session (freed with it); returns k. */
static struct sshkey *own_key(struct ssh_session *s, struct sshkey *k)
{
	g_ptr_array_add(s->keys, k);
	return k;
}

/* Signs for a certificate whose plain key is in the agent: the agent knows
 * the key by its plain blob, not by the certificate. */
struct agent_plain_signer {
	struct agent *agent;
	const struct sshkey *plain; /* the agent's listing */
};

static int agent_plain_sign_cb(void *ctx, const struct sshkey *pub, const char *alg, const uint8_t *data, size_t len,
			       struct buf *out)
{
	struct agent_plain_signer *a = ctx;

	(void)pub;
	return agent_sign(a->agent, a->plain, alg, data, len, out);
}

/* Who can sign for key k: an agent key equal to it (or, for a certificate,
 * to its certified key) or a loaded private key. */
static bool find_signer(struct ssh_session *s, const struct sshkey *k, struct conn_identity *id)
{
	for (size_t j = 0; s->agent_ids != NULL && j < s->agent_ids->n; j++) {
		const struct sshkey *ak = s->agent_ids->ids[j].key;

		if (sshkey_equal_public(ak, k)) {
			id->sign = agent_sign_cb;
			id->sign_ctx = s->agent;
			return true;
		}
	}
	for (size_t j = 0; s->agent_ids != NULL && j < s->agent_ids->n; j++) {
		const struct sshkey *ak = s->agent_ids->ids[j].key;

		if (!sshkey_is_cert(ak) && sshkey_equal_plain(ak, k)) {
			struct agent_plain_signer *a = g_new0(struct agent_plain_signer, 1);

			a->agent = s->agent;
			a->plain = ak;
			g_ptr_array_add(s->signers, a);
			id->sign = agent_plain_sign_cb;
			id->sign_ctx = a;
			return true;
		}
	}
	for (guint j = 0; j < s->privs->len; j++) {
		struct sshkey *priv = g_ptr_array_index(s->privs, j);

		if (sshkey_equal_plain(priv, k)) {
			id->sign = conn_sign_with_key;
			id->sign_ctx = priv;
			return true;
		}
	}
	return false;
}

/*
 * An encrypted IdentityFile key from the configuration whose public part is
 * known: as ssh does, its passphrase is asked only when the server has
 * accepted the key (the conn_identity.sign call after PK_OK, during
 * conn_open, before the daemon goes to the background), once; the unlocked
 * key is kept for reconnections. Calls are serialised by the session's
 * open_lock.
 */
struct lazy_key {
	struct ssh_session *s;
	char *path;
	struct sshkey *priv; /* NULL until unlocked */
	bool failed;         /* asked once and not unlocked: not asked again */
};

static void lazy_key_free(struct lazy_key *k)
{
	sshkey_free(k->priv);
	g_free(k->path);
	g_free(k);
}

static int load_private(struct ssh_session *s, const char *path, struct sshkey **out);

static int lazy_sign_cb(void *ctx, const struct sshkey *pub, const char *alg, const uint8_t *data, size_t len,
			struct buf *out)
{
	struct lazy_key *k = ctx;
	struct sshkey *priv = NULL;
	int r;

	if (k->priv == NULL) {
		/* userauth goes on with the next key on these codes */
		if (k->failed || k->s->noninteractive)
			return ERR_KEY_ENCRYPTED;
		k->failed = true;
		if ((r = load_private(k->s, k->path, &priv)) != 0) {
			log_info(LOG_CAT_AUTH, "identity %s: %s", k->path, err_str(r));
			return r == ERR_KEY_WRONG_PASSPHRASE || r == ERR_CANCELLED ? r : ERR_KEY_ENCRYPTED;
		}
		if (!sshkey_equal_plain(priv, pub)) {
			log_info(LOG_CAT_AUTH, "identity %s: the private key does not match its public key", k->path);
			sshkey_free(priv);
			return ERR_KEY_ENCRYPTED;
		}
		k->priv = priv;
		k->failed = false;
	}
	return sshkey_sign(k->priv, alg, data, len, out);
}

/* A user certificate from path for the key pub (NULL: any key), or NULL. */
static struct sshkey *load_user_cert(const char *path, const struct sshkey *pub)
{
	struct sshkey *cert = NULL;
	int r;

	if (access(path, F_OK) != 0)
		return NULL;
	if ((r = keyfile_load_public(path, &cert)) != 0) {
		log_info(LOG_CAT_AUTH, "certificate %s: %s", path, err_str(r));
		return NULL;
	}
	if (!sshkey_is_cert(cert) || sshkey_cert_type(cert) != SSHKEY_CERT_USER ||
	    (pub != NULL && !sshkey_equal_plain(cert, pub))) {
		log_info(LOG_CAT_AUTH, "%s: not a user certificate for its key, ignored", path);
		sshkey_free(cert);
		return NULL;
	}
	return cert;
}

/* A private key file's private key, asking for its passphrase (terminal or
 * SSH_ASKPASS) when it is encrypted and not in batch mode. */
static int load_private(struct ssh_session *s, const char *path, struct sshkey **out)
{
	char *pass = NULL;
	int r;

	r = keyfile_load_private(path, NULL, out);
	if (r == ERR_KEY_ENCRYPTED && !s->cfg->batch_mode) {
		g_autofree char *q = g_strdup_printf("Enter passphrase for key '%s': ", path);
		if ((r = prompt_read(q, PROMPT_ALLOW_STDIN, &pass)) == 0) {
			r = keyfile_load_private(path, pass, out);
			prompt_free(pass);
		}
	}
	return r;
}

/*
 * One IdentityFile: its public key (from the file or its ".pub") and its
 * "-cert.pub" certificate, as ssh's load_public_identity_files() collects
 * them. The private key is loaded (asking for a passphrase) unless the
 * agent holds the key; it stays loaded in the session so that a later
 * reconnect does not ask again. Missing default files are skipped as ssh
 * skips them; an identity named on the command line must load.
 * Appends up to two entries (key, certificate) to files.
 */
static int load_identity(struct ssh_session *s, const char *raw, GArray *files)
{
	g_autofree char *path = NULL, *certpath = NULL;
	struct sshkey *pub = NULL, *priv = NULL, *cert;
	struct conn_identity id = { 0 };
	bool required = cmdline_identity(s->opts, raw);
	int r;

	if ((r = sshconfig_expand_path(s->cfg, raw, &path)) != 0)
		return r;
	if (access(path, F_OK) != 0 && !required) {
		log_debug(LOG_CAT_AUTH, "identity %s: not present", path);
		return 0;
	}
	if (keyfile_load_public_for(path, &pub) == 0) {
		pub = own_key(s, pub);
		if (find_signer(s, pub, &id))
			log_debug(LOG_CAT_AUTH, "identity %s: signed by the agent or an earlier identity", path);
	}
	if (id.sign == NULL && pub != NULL && !required &&
	    keyfile_load_private(path, NULL, &priv) == ERR_KEY_ENCRYPTED) {
		struct lazy_key *k = g_new0(struct lazy_key, 1);

		k->s = s;
		k->path = g_strdup(path);
		g_ptr_array_add(s->lazy, k);
		id.sign = lazy_sign_cb;
		id.sign_ctx = k;
	}
	if (id.sign == NULL) {
		r = priv != NULL ? 0 : load_private(s, path, &priv);
		if (r == 0 && pub != NULL && !sshkey_equal_plain(priv, pub)) {
			log_info(LOG_CAT_AUTH, "identity %s: its .pub is another key; using the private key", path);
			pub = NULL;
		}
		if (r == 0 && pub == NULL && (r = sshkey_demote(priv, &pub)) == 0)
			pub = own_key(s, pub);
		if (r != 0) {
			sshkey_free(priv);
			if (required) {
				fprintf(stderr, "sftpfs: identity file %s: %s\n", path,
					r == ERR_SYSTEM ? strerror(errno) : err_str(r));
				return r;
			}
			/* ssh's default list names types sftpfs does not have
			 * (id_*_sk, id_xmss, id_dsa): no need to say so each time. */
			if (r == ERR_KEY_TYPE_UNKNOWN)
				log_verbose(LOG_CAT_AUTH, "skipping identity %s: %s", path, err_str(r));
			else
				log_info(LOG_CAT_AUTH, "skipping identity %s: %s", path, err_str(r));
			return 0;
		}
		g_ptr_array_add(s->privs, priv);
		id.sign = conn_sign_with_key;
		id.sign_ctx = priv;
	}
	id.pub = pub;
	g_array_append_val(files, id);
	certpath = g_strdup_printf("%s-cert.pub", path);
	if ((cert = load_user_cert(certpath, pub)) != NULL) {
		struct conn_identity cid = { .pub = own_key(s, cert) };

		/* The agent may hold the certificate itself (ssh-add loads it). */
		if (!find_signer(s, cert, &cid)) {
			cid.sign = id.sign;
			cid.sign_ctx = id.sign_ctx;
		}
		g_array_append_val(files, cid);
	}
	return 0;
}

/* IdentityAgent: unset or "SSH_AUTH_SOCK" is $SSH_AUTH_SOCK, "$NAME" another
 * variable, "none" no agent, else a socket path (already expanded). */
static const char *agent_socket(const struct sshconfig *c, bool *none)
{
	const char *a = c->identity_agent;

	*none = false;
	if (a == NULL || strcmp(a, "SSH_AUTH_SOCK") == 0)
		return getenv("SSH_AUTH_SOCK");
	if (strcmp(a, "none") == 0) {
		*none = true;
		return NULL;
	}
	if (a[0] == '$')
		return getenv(a + 1);
	return a;
}

static void open_agent(struct ssh_session *s)
{
	bool none;
	const char *path = agent_socket(s->cfg, &none);
	int r;

	if (none || path == NULL || *path == '\0') {
		log_debug(LOG_CAT_AUTH, "no ssh-agent%s", none ? " (IdentityAgent none)" : "");
		return;
	}
	if ((r = agent_open(path, &s->agent)) != 0) {
		log_debug(LOG_CAT_AUTH, "ssh-agent at %s: %s", path, err_str(r));
		s->agent = NULL;
		return;
	}
	if ((r = agent_list_identities(s->agent, &s->agent_ids)) != 0) {
		log_info(LOG_CAT_AUTH, "ssh-agent: %s", err_str(r));
		agent_close(s->agent);
		s->agent = NULL;
	}
}

static bool offered(GArray *ids, const struct sshkey *k)
{
	for (guint i = 0; i < ids->len; i++) {
		if (sshkey_equal_public(g_array_index(ids, struct conn_identity, i).pub, k))
			return true;
	}
	return false;
}

static void offer(GArray *ids, const struct conn_identity *id)
{
	if (!offered(ids, id->pub))
		g_array_append_vals(ids, id, 1);
}

/*
 * The keys offered for publickey authentication, in ssh's order
 * (sshconnect2.c pubkey_prepare): CertificateFile certificates; then the
 * agent's keys in the agent's order, where a key that is also an
 * IdentityFile takes that file's place and, with IdentitiesOnly, agent keys
 * that are no IdentityFile are left out; then the remaining IdentityFile
 * keys, each followed by its "-cert.pub" certificate. IdentityFile defaults
 * to ssh's list (~/.ssh/id_rsa, id_ecdsa, id_ecdsa_sk, id_ed25519,
 * id_ed25519_sk, id_xmss, id_dsa) when none is configured (sshconfig.c);
 * key types we do not support are skipped. A key is offered once.
 */
static int build_identities(struct ssh_session *s)
{
	const struct sshconfig *c = s->cfg;
	g_autoptr(GArray) files = g_array_new(FALSE, TRUE, sizeof(struct conn_identity));
	g_autoptr(GArray) ids = g_array_new(FALSE, TRUE, sizeof(struct conn_identity));
	int r;

	if (c->pubkey_authentication == SSHCONFIG_PUBKEY_NO)
		return 0;
	open_agent(s);
	for (size_t i = 0; i < c->n_identity_files; i++) {
		if ((r = load_identity(s, c->identity_files[i], files)) != 0)
			return r;
	}
	for (size_t i = 0; i < c->n_certificate_files; i++) {
		g_autofree char *path = NULL;
		struct conn_identity id = { 0 };
		struct sshkey *cert;

		if ((r = sshconfig_expand_path(s->cfg, c->certificate_files[i], &path)) != 0)
			return r;
		if ((cert = load_user_cert(path, NULL)) == NULL)
			continue;
		id.pub = own_key(s, cert);
		if (!find_signer(s, cert, &id)) {
			log_info(LOG_CAT_AUTH, "certificate %s: no identity or agent key for it, ignored", path);
			continue;
		}
		offer(ids, &id);
	}
	for (size_t j = 0; s->agent_ids != NULL && j < s->agent_ids->n; j++) {
		struct conn_identity id = { .pub = s->agent_ids->ids[j].key, .sign = agent_sign_cb, .sign_ctx = s->agent };
		bool is_file = false;

		for (guint i = 0; i < files->len; i++) {
			struct conn_identity *f = &g_array_index(files, struct conn_identity, i);

			if (f->pub != NULL && sshkey_equal_public(f->pub, id.pub)) {
				offer(ids, f);
				f->pub = NULL; /* taken */
				is_file = true;
				break;
			}
		}
		if (!is_file && !c->identities_only)
			offer(ids, &id);
		else if (!is_file)
			log_debug(LOG_CAT_AUTH, "IdentitiesOnly: agent key %s not offered", s->agent_ids->ids[j].comment);
	}
	for (guint i = 0; i < files->len; i++) {
		const struct conn_identity *f = &g_array_index(files, struct conn_identity, i);

		if (f->pub != NULL)
			offer(ids, f);
	}
	for (guint i = 0; i < ids->len; i++) {
		g_autofree char *fp = NULL;
		const struct conn_identity *id = &g_array_index(ids, struct conn_identity, i);

		if (sshkey_fingerprint(id->pub, &fp) == 0)
			log_debug(LOG_CAT_AUTH, "will offer %s %s (%s)", sshkey_type_name(id->pub), fp,
				  id->sign == conn_sign_with_key ? "key file" : "agent");
	}
	s->n_ids = ids->len;
	s->ids = (struct conn_identity *)g_array_free(g_steal_pointer(&ids), FALSE);
	return 0;
}

/*
 * One connection attempt's view of the password prompts: a password from
 * password_stdin is sent once per connection (repeating a refused one only
 * feeds the server's failure count); a password typed on the terminal for a
 * connection that then authenticates is kept in the session, so that a
 * reconnect in the background does not need to ask again.
 */
struct auth_attempt {
	struct ssh_session *s;
	char *typed;          /* last password typed for this connection */
	unsigned stdin_uses;  /* answers given from the stdin password */
};

static void attempt_clear(struct auth_attempt *a, bool authenticated)
{
	if (a->typed == NULL)
		return;
	if (authenticated && a->s->password == NULL) {
		a->s->password = a->typed;
	} else {
		wipe(a->typed, strlen(a->typed));
		free(a->typed);
	}
	a->typed = NULL;
}

/* The session's password for one answer, or a hidden prompt (never in batch
 * mode or once non-interactive). */
static int password_answer(struct auth_attempt *a, const char *prompt, char **out)
{
	struct ssh_session *s = a->s;
	char *answer = NULL;
	int r;

	*out = NULL;
	if (s->password != NULL) {
		if (a->stdin_uses++ > 0)
			return ERR_AUTH_FAILED; /* it was refused already */
		*out = strdup(s->password);
		return *out != NULL ? 0 : ERR_ALLOC_FAIL;
	}
	if (s->cfg->batch_mode || s->noninteractive)
		return ERR_AUTH_FAILED;
	if ((r = prompt_read(prompt, 0, &answer)) != 0)
		return r;
	*out = strdup(answer);
	if (*out != NULL) {
		attempt_clear(a, false);
		a->typed = strdup(answer);
	}
	prompt_free(answer);
	return *out != NULL ? 0 : ERR_ALLOC_FAIL;
}

static int password_cb(void *ctx, const char *user, const char *host, char **out)
{
	g_autofree char *q = g_strdup_printf("%s@%s's password: ", user, host);

	return password_answer(ctx, q, out);
}

/*
 * Keyboard-interactive (RFC 4256 §3.2): the session's password answers the
 * usual single hidden prompt (once per connection); otherwise prompt_kbdint
 * shows the server's name, instruction and prompts (control characters
 * replaced) and asks with the server's echo flags.
 */
static int kbdint_cb(void *ctx, const char *name, const char *instruction, uint32_t n,
		     const char *const *prompts, const bool *echo, char **answers)
{
	struct auth_attempt *a = ctx;
	struct prompt_ctx pc = { .batch_mode = a->s->cfg->batch_mode || a->s->noninteractive };
	int r;

	if (n == 0)
		return 0;
	if (a->s->password != NULL) {
		if (n != 1 || echo[0])
			return ERR_AUTH_FAILED;
		return password_answer(a, prompts[0], &answers[0]);
	}
	if ((r = prompt_kbdint(&pc, name, instruction, n, prompts, echo, answers)) != 0)
		return r;
	if (n == 1 && !echo[0] && answers[0] != NULL) {
		attempt_clear(a, false);
		a->typed = strdup(answers[0]);
	}
	return 0;
}

/* ProxyCommand: run it with sh -c, its stdin and stdout one end of a
 * socketpair, which becomes the connection's stream. */
static int start_proxy(struct ssh_session *s, int *fdp, pid_t *pidp)
{
	g_autofree char *cmd = NULL;
	int sv[2];
	pid_t pid;
	int r;

	*fdp = -1;
	if ((r = sshconfig_expand_path(s->cfg, s->cfg->proxy_command, &cmd)) != 0)
		return r;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return ERR_SYSTEM;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return ERR_SYSTEM;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	*pidp = pid;
	*fdp = sv[0];
	return 0;
}

static int address_family_of(int af)
{
	switch (af) {
	case SSHCONFIG_AF_INET:
		return AF_INET;
	case SSHCONFIG_AF_INET6:
		return AF_INET6;
	default:
		return AF_UNSPEC;
	}
}

/* A failure to connect: on the terminal while mounting, in the log (syslog
 * when daemonized) when reconnecting later. */
static void G_GNUC_PRINTF(2, 3) say(const struct ssh_session *s, const char *fmt, ...)
{
	g_autofree char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	if (s->noninteractive)
		log_error(LOG_CAT_GENERAL, "%s", msg);
	else
		fprintf(stderr, "sftpfs: %s\n", msg);
}

static void link_free(struct ssh_link *l)
{
	if (l == NULL)
		return;
	if (l->conn != NULL)
		conn_close(l->conn);
	/* The lanes' streams went with the connection; the clients stay
	 * valid, shut down, until freed (conn.h). */
	for (guint i = 0; l->lanes != NULL && i < l->lanes->len; i++)
		sftp_client_free(g_ptr_array_index(l->lanes, i));
	if (l->lanes != NULL)
		g_ptr_array_unref(l->lanes);
	if (l->proxy_pid > 0) {
		int st;
		kill(l->proxy_pid, SIGTERM);
		(void)waitpid(l->proxy_pid, &st, 0);
	}
	g_free(l);
}

void ssh_session_abort_client(struct ssh_session *s, struct sftp_client *client)
{
	struct ssh_link *l;

	g_mutex_lock(&s->lock);
	l = g_hash_table_lookup(s->links, client);
	if (l != NULL)
		conn_abort(l->conn); /* the link is freed only after it leaves the table, under lock */
	g_mutex_unlock(&s->lock);
}

void ssh_session_close_client(struct ssh_session *s, struct sftp_client *client)
{
	struct ssh_link *l = NULL;

	if (client == NULL)
		return;
	g_mutex_lock(&s->lock);
	if (g_hash_table_steal_extended(s->links, client, NULL, (gpointer *)&l) == FALSE)
		l = NULL;
	g_mutex_unlock(&s->lock);
	/* The connection first: its streams stay valid, shut down, until the
	 * client is freed (conn.h). */
	link_free(l);
	sftp_client_free(client);
}

void ssh_session_set_noninteractive(struct ssh_session *s)
{
	s->noninteractive = true;
	s->verifier.batch_mode = true;
	for (size_t i = 0; i < s->n_hops; i++)
		ssh_session_set_noninteractive(s->hops[i]);
}

void ssh_session_free(struct ssh_session *s)
{
	if (s == NULL)
		return;
	if (s->links != NULL) {
		GHashTableIter it;
		gpointer client, l;

		g_hash_table_iter_init(&it, s->links);
		while (g_hash_table_iter_next(&it, &client, &l)) {
			link_free(l);
			sftp_client_free(client);
			g_hash_table_iter_remove(&it);
		}
		g_hash_table_destroy(s->links);
	}
	g_mutex_clear(&s->lock);
	g_mutex_clear(&s->open_lock);
	for (size_t i = 0; i < s->n_hops; i++)
		ssh_session_free(s->hops[i]);
	g_free(s->hops);
	knownhosts_verifier_clear(&s->verifier);
	g_strfreev(s->global_known);
	g_free(s->ids);
	if (s->signers != NULL)
		g_ptr_array_free(s->signers, TRUE);
	if (s->lazy != NULL)
		g_ptr_array_free(s->lazy, TRUE);
	if (s->keys != NULL)
		g_ptr_array_free(s->keys, TRUE);
	if (s->privs != NULL)
		g_ptr_array_free(s->privs, TRUE);
	agent_identities_free(s->agent_ids);
	if (s->agent != NULL)
		agent_close(s->agent);
	if (s->password != NULL) {
		wipe(s->password, strlen(s->password));
		free(s->password);
	}
	sshconfig_free(s->cfg);
	g_free(s);
}

/* Identities and the known_hosts policy of a resolved configuration. */
static int session_prepare(struct ssh_session *s)
{
	int r;

	if ((r = build_identities(s)) != 0)
		return r;
	s->global_known = g_malloc0_n(s->cfg->n_global_known_hosts + 1, sizeof(char *));
	for (size_t i = 0; i < s->cfg->n_global_known_hosts; i++) {
		if ((r = sshconfig_expand_path(s->cfg, s->cfg->global_known_hosts[i], &s->global_known[i])) != 0)
			return r;
	}
	s->verifier.user_files = (const char *const *)s->cfg->user_known_hosts;
	s->verifier.n_user_files = s->cfg->n_user_known_hosts;
	s->verifier.global_files = (const char *const *)s->global_known;
	s->verifier.n_global_files = s->cfg->n_global_known_hosts;
	s->verifier.strict = s->cfg->strict_host_key_checking;
	s->verifier.hash_known_hosts = s->cfg->hash_known_hosts;
	s->verifier.batch_mode = s->cfg->batch_mode;
	return 0;
}

static struct ssh_session *session_alloc(const struct sftpfs_opts *o)
{
	struct ssh_session *s = g_malloc0(sizeof(*s));

	s->opts = o;
	g_mutex_init(&s->lock);
	g_mutex_init(&s->open_lock);
	s->links = g_hash_table_new(g_direct_hash, g_direct_equal);
	s->keys = g_ptr_array_new_with_free_func((GDestroyNotify)sshkey_free);
	s->privs = g_ptr_array_new_with_free_func((GDestroyNotify)sshkey_free);
	s->signers = g_ptr_array_new_with_free_func(g_free);
	s->lazy = g_ptr_array_new_with_free_func((GDestroyNotify)lazy_key_free);
	return s;
}

/*
 * One ProxyJump hop "[user@]host[:port]", resolved as ssh resolves it: ssh
 * turns ProxyJump into "ssh -l user -p port -J <earlier hops> [-F file] host
 * -W ...", so a hop reads the same configuration files (-F or
 * ~/.ssh/config and /etc/ssh/ssh_config) under its own name, with its own
 * identities and known_hosts, but not the -o options of the command line.
 */
static int hop_session_new(const struct sftpfs_opts *o, const char *hop, struct ssh_session **out)
{
	g_autofree char *user = NULL, *host = NULL;
	struct sshconfig_args a = { 0 };
	struct ssh_session *h;
	char *errmsg = NULL;
	int port, r;

	*out = NULL;
	if ((r = sshconfig_parse_hop(hop, &user, &host, &port)) != 0) {
		fprintf(stderr, "sftpfs: ProxyJump: bad hop \"%s\" (want [user@]host[:port])\n", hop);
		return r;
	}
	h = session_alloc(NULL);
	a.config_file = o->config_file;
	a.user = user;
	a.port = port;
	if ((r = sshconfig_resolve(host, &a, &h->cfg, &errmsg)) != 0) {
		fprintf(stderr, "sftpfs: jump host %s: %s\n", host, errmsg != NULL ? errmsg : err_str(r));
		free(errmsg);
		ssh_session_free(h);
		return r;
	}
	/* The hop's place in the chain comes from the -J list; only the first
	 * hop may use its own ProxyCommand (session_connect). */
	if (h->cfg->proxy_jump != NULL)
		log_debug(LOG_CAT_AUTH, "jump host %s: its own ProxyJump is not used", host);
	if ((r = session_prepare(h)) != 0) {
		ssh_session_free(h);
		return r;
	}
	*out = h;
	return 0;
}

static int resolve_jumps(struct ssh_session *s)
{
	g_auto(GStrv) hops = NULL;
	int r;

	if (s->cfg->proxy_jump == NULL)
		return 0;
	hops = g_strsplit(s->cfg->proxy_jump, ",", -1);
	if (g_strv_length(hops) > SFTPFS_JUMP_HOPS_MAX) {
		fprintf(stderr, "sftpfs: ProxyJump: more than %d hops\n", SFTPFS_JUMP_HOPS_MAX);
		return ERR_LIMIT_EXCEEDED;
	}
	s->hops = g_new0(struct ssh_session *, g_strv_length(hops));
	for (size_t i = 0; hops[i] != NULL; i++) {
		if ((r = hop_session_new(s->opts, g_strstrip(hops[i]), &s->hops[s->n_hops])) != 0)
			return r;
		s->n_hops++;
	}
	return 0;
}

int ssh_session_new(const struct sftpfs_opts *o, struct ssh_session **out)
{
	struct ssh_session *s = session_alloc(o);
	struct sshconfig_args a = { 0 };
	char *errmsg = NULL;
	int r;

	*out = NULL;
	a.config_file = o->config_file;
	a.options = (const char *const *)o->ssh_options->pdata;
	a.n_options = o->ssh_options->len;
	a.user = o->user;
	if ((r = sshconfig_resolve(o->host, &a, &s->cfg, &errmsg)) != 0) {
		fprintf(stderr, "sftpfs: %s\n", errmsg != NULL ? errmsg : err_str(r));
		free(errmsg);
		ssh_session_free(s);
		return r;
	}
	if (o->password_stdin) {
		char *pw = NULL;
		if ((r = prompt_read_stdin(&pw)) == 0) {
			s->password = strdup(pw);
			prompt_free(pw);
			if (s->password == NULL)
				r = ERR_ALLOC_FAIL;
		} else {
			fprintf(stderr, "sftpfs: password_stdin: no password on standard input\n");
		}
	}
	if (r == 0)
		r = resolve_jumps(s);
	if (r == 0)
		r = session_prepare(s);
	if (r != 0) {
		ssh_session_free(s);
		return r;
	}
	*out = s;
	return 0;
}

/* The connection parameters of a session's resolved configuration. */
static void session_params(struct ssh_session *s, struct auth_attempt *a, struct conn_params *p)
{
	const struct sshconfig *c = s->cfg;

	*p = (struct conn_params){ .fd = -1 };
	p->host = c->hostname;
	p->port = (uint16_t)c->port;
	p->user = c->user;
	p->identities = s->ids;
	p->n_identities = s->n_ids;
	p->verify_host_key = knownhosts_verify;
	p->verify_ctx = &s->verifier;
	if (c->password_authentication) {
		p->password = password_cb;
		p->password_ctx = a;
	}
	if (c->kbd_interactive_authentication) {
		p->kbdint = kbdint_cb;
		p->kbdint_ctx = a;
	}
	p->preferred_auth = c->preferred_authentications;
	p->kex_algorithms = c->kex_algorithms;
	p->host_key_algorithms = c->host_key_algorithms;
	p->ciphers = c->ciphers;
	p->macs = c->macs;
	p->pubkey_accepted_algorithms = c->pubkey_accepted_algorithms;
	p->compression = c->compression != 0;
	p->rekey_limit_bytes = c->rekey_limit > 0 ? (uint64_t)c->rekey_limit : 0;
	p->rekey_limit_seconds = c->rekey_interval > 0 ? (uint32_t)c->rekey_interval : 0;
	p->server_alive_interval = c->server_alive_interval > 0 ? (unsigned)c->server_alive_interval
								: SFTPFS_ALIVE_INTERVAL_DEFAULT;
	p->server_alive_count_max = c->server_alive_count_max > 0 ? (unsigned)c->server_alive_count_max
								  : SFTPFS_ALIVE_COUNT_DEFAULT;
	p->connect_timeout = c->connect_timeout > 0 ? (unsigned)c->connect_timeout : 0;
	p->tcp_keepalive = c->tcp_keepalive != 0;
	p->address_family = address_family_of(c->address_family);
	p->bind_address = c->bind_address;
}

/*
 * Connects to the session's host, directly (or through its ProxyCommand,
 * whose child goes to *proxy_pid) when via is NULL, else through a
 * direct-tcpip channel of via, which the new connection then owns (closed
 * with it; closed here on failure); via_name is that hop's name for
 * messages. Messages about a ProxyJump hop (is_hop) start with
 * "jump host NAME: ".
 */
static int session_connect(struct ssh_session *s, struct conn *via, const char *via_name, bool is_hop,
			   pid_t *proxy_pid, struct conn **out)
{
	const struct sshconfig *c = s->cfg;
	struct auth_attempt a = { .s = s };
	g_autofree char *what = is_hop ? g_strdup_printf("jump host %s: ", c->host_arg) : g_strdup("");
	struct conn_params p;
	enum log_level saved_level;
	int r;

	*out = NULL;
	session_params(s, &a, &p);
	if (via == NULL && c->proxy_command != NULL && (r = start_proxy(s, &p.fd, proxy_pid)) != 0) {
		say(s, "%sProxyCommand: %s", what, err_str(r));
		return r;
	}
	/* The layers below log their own view of a failure; unless the user
	 * asked for -v or -d, the one line printed here is the message. */
	saved_level = log_get_level();
	if (saved_level <= LOG_LEVEL_INFO)
		log_set_level(LOG_LEVEL_QUIET);
	g_clear_pointer(&s->verifier.message, g_free);
	r = via != NULL ? conn_open_via(via, &p, out) : conn_open(&p, out);
	log_set_level(saved_level);
	if (r == 0 && via != NULL)
		conn_own_jump(*out, via);
	else if (via != NULL)
		conn_close(via);
	if (r == 0) {
		struct conn_info info;

		conn_get_info(*out, &info);
		attempt_clear(&a, strcmp(info.auth_method, "password") == 0 ||
					  strcmp(info.auth_method, "keyboard-interactive") == 0);
		return 0;
	}
	attempt_clear(&a, false);
	*out = NULL;
	if (s->verifier.message != NULL)
		say(s, "%s%s", what, s->verifier.message);
	else if (r == ERR_AUTH_FAILED)
		say(s, "%s%s@%s: permission denied (no identity or password was accepted)", what, c->user, c->hostname);
	else if (via != NULL)
		say(s, "%sssh to %s port %d through jump host %s: %s", what, c->hostname, c->port, via_name, err_str(r));
	else
		say(s, "%sssh to %s port %d: %s", what, c->hostname, c->port, err_str(r));
	return r;
}

/* ProxyJump: the chain of hop connections, each through the one before;
 * *out is the last (NULL when there are no hops). */
static int connect_jumps(struct ssh_session *s, pid_t *proxy_pid, struct conn **out)
{
	struct conn *via = NULL;
	int r;

	*out = NULL;
	for (size_t i = 0; i < s->n_hops; i++) {
		struct conn *next = NULL;

		r = session_connect(s->hops[i], via, i > 0 ? s->hops[i - 1]->cfg->host_arg : NULL, true, proxy_pid,
				    &next);
		if (r != 0)
			return r; /* via was closed */
		via = next;
	}
	*out = via;
	return 0;
}

/*
 * -o sftp_server: like sshfs, a value with a '/' is a server program run
 * with "exec"; otherwise it names the subsystem (only "sftp" exists here).
 */
static int start_sftp(struct ssh_session *s, struct conn *conn, struct sftp_client **out)
{
	const char *server = s->opts->sftp_server;
	int r;

	if (server != NULL && strchr(server, '/') != NULL) {
		if ((r = conn_start_sftp_exec(conn, server, out)) != 0)
			say(s, "%s: cannot run sftp_server %s: %s", s->cfg->hostname, server, err_str(r));
		return r;
	}
	if (server != NULL && strcmp(server, "sftp") != 0) {
		say(s, "sftp_server=%s: only the \"sftp\" subsystem or a server path (with '/') is supported", server);
		return ERR_NOT_SUPPORTED;
	}
	if ((r = conn_start_sftp(conn, out)) != 0)
		say(s, "%s: cannot start the sftp subsystem: %s", s->cfg->hostname, err_str(r));
	return r;
}

static int open_client_locked(struct ssh_session *s, struct sftp_client **out)
{
	const struct sshconfig *c = s->cfg;
	const char *server = s->opts->sftp_server;
	struct sftp_client *client = NULL;
	struct ssh_link *l = g_malloc0(sizeof(*l));
	struct conn *via = NULL;
	int r;

	*out = NULL;
	if ((r = connect_jumps(s, &l->proxy_pid, &via)) != 0 ||
	    (r = session_connect(s, via, s->n_hops > 0 ? s->hops[s->n_hops - 1]->cfg->host_arg : NULL, false,
				 &l->proxy_pid, &l->conn)) != 0) {
		link_free(l);
		return r;
	}
	if ((r = start_sftp(s, l->conn, &client)) != 0) {
		link_free(l);
		return r;
	}
	if ((r = sftp_client_init(client)) != 0) {
		if (server != NULL && strchr(server, '/') != NULL)
			say(s, "%s: sftp_server %s did not start an SFTP session (%s)", c->hostname, server,
			    err_str(r));
		else
			say(s, "%s: SFTP session failed: %s", c->hostname, err_str(r));
		link_free(l);
		sftp_client_free(client);
		return r;
	}
	g_mutex_lock(&s->lock);
	g_hash_table_insert(s->links, client, l);
	g_mutex_unlock(&s->lock);
	*out = client;
	return 0;
}

int ssh_session_open_client(struct ssh_session *s, struct sftp_client **out)
{
	int r;

	g_mutex_lock(&s->open_lock);
	r = open_client_locked(s, out);
	g_mutex_unlock(&s->open_lock);
	return r;
}

/*
 * A write lane: one more SFTP session on client's connection, started the
 * way the first one was (the sftp subsystem, or the sftp_server program),
 * each served by its own server process with its own channel window. The
 * caller holds client (its connection cannot be closed meanwhile); the lane
 * is freed with the connection. Failures are logged at debug level only:
 * the caller goes on without the lane.
 */
int ssh_session_open_lane(struct ssh_session *s, struct sftp_client *client, struct sftp_client **out)
{
	const char *server = s->opts->sftp_server;
	struct sftp_client *lane = NULL;
	struct ssh_link *l;
	struct conn *conn;
	int r;

	*out = NULL;
	g_mutex_lock(&s->lock);
	l = g_hash_table_lookup(s->links, client);
	conn = l != NULL ? l->conn : NULL;
	g_mutex_unlock(&s->lock);
	if (conn == NULL)
		return ERR_CONN_CLOSED;
	if (server != NULL && strchr(server, '/') != NULL)
		r = conn_start_sftp_exec(conn, server, &lane);
	else if (server != NULL && strcmp(server, "sftp") != 0)
		r = ERR_NOT_SUPPORTED;
	else
		r = conn_start_sftp(conn, &lane);
	if (r == 0 && (r = sftp_client_init(lane)) != 0) {
		sftp_client_free(lane);
		lane = NULL;
	}
	if (r != 0) {
		log_debug(LOG_CAT_GENERAL, "no write lane on the connection to %s: %s", s->cfg->hostname, err_str(r));
		return r;
	}
	g_mutex_lock(&s->lock);
	if (l->lanes == NULL)
		l->lanes = g_ptr_array_new();
	g_ptr_array_add(l->lanes, lane);
	g_mutex_unlock(&s->lock);
	*out = lane;
	return 0;
}
