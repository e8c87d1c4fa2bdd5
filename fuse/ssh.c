/*
 * ssh.c - the daemon's SSH path: resolve the user's OpenSSH configuration for
 * the host (src/sshconfig: -F, -o, ~/.ssh/config, /etc/ssh/ssh_config),
 * collect identities (ssh-agent keys, then IdentityFile keys), verify the
 * host key against known_hosts (src/knownhosts, StrictHostKeyChecking as
 * ssh applies it), connect and authenticate (src/conn), and start the SFTP
 * subsystem. Everything here runs before the daemon goes to the background,
 * so every failure is a clear message on the user's terminal.
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

/* One connection of the session and what serves it. */
struct ssh_link {
	struct conn *conn;
	pid_t proxy_pid; /* ProxyCommand child, 0 if none */
};

struct ssh_session {
	const struct sftpfs_opts *opts; /* borrowed */
	struct sshconfig *cfg;
	GMutex lock;         /* protects links */
	GMutex open_lock;    /* one connection attempt at a time (the verifier is shared) */
	GHashTable *links;   /* struct sftp_client * -> struct ssh_link * */
	bool noninteractive; /* after the mount: never prompt, never ask about keys */
	struct agent *agent;
	struct agent_identities *agent_ids;
	struct sshkey *priv[SSHCONFIG_IDENTITY_FILES_MAX]; /* loaded file keys */
	struct sshkey *pub[SSHCONFIG_IDENTITY_FILES_MAX];
	size_t n_keys;
	struct conn_identity *ids;
	size_t n_ids;
	char **global_known; /* expanded GlobalKnownHostsFile */
	struct knownhosts_verifier verifier;
	char *password;      /* password_stdin: read once, wiped at free */
};

static bool cmdline_identity(const struct sftpfs_opts *o, const char *raw)
{
	for (guint i = 0; i < o->ssh_options->len; i++) {
		const char *s = g_ptr_array_index(o->ssh_options, i);
		if (g_ascii_strncasecmp(s, "IdentityFile=", 13) == 0 && strcmp(s + 13, raw) == 0)
			return true;
	}
	return false;
}

/* One IdentityFile: the private key (asking for a passphrase on the
 * terminal if it is encrypted). Missing default files are skipped as ssh
 * skips them; an identity named on the command line must load. */
static int load_identity(struct ssh_session *s, const char *raw)
{
	g_autofree char *path = NULL;
	struct sshkey *priv = NULL, *pub = NULL;
	char *pass = NULL;
	bool required = cmdline_identity(s->opts, raw);
	int r;

	if ((r = sshconfig_expand_path(s->cfg, raw, &path)) != 0)
		return r;
	if (access(path, F_OK) != 0 && !required) {
		log_debug(LOG_CAT_AUTH, "identity %s: not present", path);
		return 0;
	}
	r = keyfile_load_private(path, NULL, &priv);
	if (r == ERR_KEY_ENCRYPTED && !s->cfg->batch_mode) {
		g_autofree char *q = g_strdup_printf("Enter passphrase for key '%s': ", path);
		if ((r = prompt_read(q, PROMPT_ALLOW_STDIN, &pass)) == 0) {
			r = keyfile_load_private(path, pass, &priv);
			prompt_free(pass);
		}
	}
	if (r != 0) {
		if (required) {
			fprintf(stderr, "sftpfs: identity file %s: %s\n", path,
				r == ERR_SYSTEM ? strerror(errno) : err_str(r));
			return r;
		}
		log_info(LOG_CAT_AUTH, "skipping identity %s: %s", path, err_str(r));
		return 0;
	}
	if ((r = sshkey_demote(priv, &pub)) != 0) {
		sshkey_free(priv);
		return r;
	}
	s->priv[s->n_keys] = priv;
	s->pub[s->n_keys] = pub;
	s->n_keys++;
	return 0;
}

static int build_identities(struct ssh_session *s)
{
	const struct sshconfig *c = s->cfg;
	size_t n = 0;
	int r;

	if (c->pubkey_authentication == SSHCONFIG_PUBKEY_NO)
		return 0;
	for (size_t i = 0; i < c->n_identity_files && s->n_keys < SSHCONFIG_IDENTITY_FILES_MAX; i++) {
		if ((r = load_identity(s, c->identity_files[i])) != 0)
			return r;
	}
	/* The agent's keys come first (as ssh tries them), unless the user
	 * asked for the configured identities only or for no agent. */
	if (!c->identities_only && (c->identity_agent == NULL || strcmp(c->identity_agent, "none") != 0)) {
		r = agent_open(c->identity_agent, &s->agent);
		if (r == 0 && (r = agent_list_identities(s->agent, &s->agent_ids)) != 0) {
			log_info(LOG_CAT_AUTH, "ssh-agent: %s", err_str(r));
			agent_close(s->agent);
			s->agent = NULL;
		} else if (r != 0) {
			log_debug(LOG_CAT_AUTH, "ssh-agent: %s", err_str(r));
			s->agent = NULL;
		}
	}
	s->ids = g_malloc0_n((s->agent_ids != NULL ? s->agent_ids->n : 0) + s->n_keys + 1, sizeof(*s->ids));
	for (size_t i = 0; s->agent_ids != NULL && i < s->agent_ids->n; i++) {
		s->ids[n].pub = s->agent_ids->ids[i].key;
		s->ids[n].sign = agent_sign_cb;
		s->ids[n].sign_ctx = s->agent;
		n++;
	}
	for (size_t i = 0; i < s->n_keys; i++) {
		s->ids[n].pub = s->pub[i];
		s->ids[n].sign = conn_sign_with_key;
		s->ids[n].sign_ctx = s->priv[i];
		n++;
	}
	s->n_ids = n;
	return 0;
}

static int password_cb(void *ctx, const char *user, const char *host, char **out)
{
	struct ssh_session *s = ctx;
	g_autofree char *q = NULL;
	char *answer = NULL;
	int r;

	*out = NULL;
	if (s->password != NULL) {
		*out = strdup(s->password);
		return *out != NULL ? 0 : ERR_ALLOC_FAIL;
	}
	if (s->cfg->batch_mode || s->noninteractive)
		return ERR_AUTH_FAILED;
	q = g_strdup_printf("%s@%s's password: ", user, host);
	if ((r = prompt_read(q, 0, &answer)) != 0)
		return r;
	*out = strdup(answer);
	prompt_free(answer);
	return *out != NULL ? 0 : ERR_ALLOC_FAIL;
}

static int kbdint_cb(void *ctx, const char *name, const char *instruction, uint32_t n,
		     const char *const *prompts, const bool *echo, char **answers)
{
	struct ssh_session *s = ctx;
	int r;

	if (instruction != NULL && *instruction != '\0' && n > 0)
		fprintf(stderr, "%s\n", instruction);
	for (uint32_t i = 0; i < n; i++) {
		char *a = NULL;

		/* A stdin password answers the usual single password prompt. */
		if (s->password != NULL && n == 1 && !echo[i]) {
			answers[i] = strdup(s->password);
			if (answers[i] == NULL)
				return ERR_ALLOC_FAIL;
			continue;
		}
		if (s->cfg->batch_mode || s->noninteractive)
			return ERR_AUTH_FAILED;
		if ((r = prompt_read(prompts[i], echo[i] ? PROMPT_ECHO : 0, &a)) != 0)
			return r;
		answers[i] = strdup(a);
		prompt_free(a);
		if (answers[i] == NULL)
			return ERR_ALLOC_FAIL;
	}
	(void)name;
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
	if (l->proxy_pid > 0) {
		int st;
		kill(l->proxy_pid, SIGTERM);
		(void)waitpid(l->proxy_pid, &st, 0);
	}
	g_free(l);
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
	knownhosts_verifier_clear(&s->verifier);
	g_strfreev(s->global_known);
	g_free(s->ids);
	agent_identities_free(s->agent_ids);
	if (s->agent != NULL)
		agent_close(s->agent);
	for (size_t i = 0; i < s->n_keys; i++) {
		sshkey_free(s->pub[i]);
		sshkey_free(s->priv[i]);
	}
	if (s->password != NULL) {
		wipe(s->password, strlen(s->password));
		free(s->password);
	}
	sshconfig_free(s->cfg);
	g_free(s);
}

int ssh_session_new(const struct sftpfs_opts *o, struct ssh_session **out)
{
	struct ssh_session *s = g_malloc0(sizeof(*s));
	struct sshconfig_args a = { 0 };
	char *errmsg = NULL;
	int r;

	*out = NULL;
	s->opts = o;
	g_mutex_init(&s->lock);
	g_mutex_init(&s->open_lock);
	s->links = g_hash_table_new(g_direct_hash, g_direct_equal);
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
	if (s->cfg->proxy_jump != NULL) {
		fprintf(stderr, "sftpfs: ProxyJump is not supported yet; use ProxyCommand=\"ssh -W %%h:%%p %s\"\n",
			s->cfg->proxy_jump);
		ssh_session_free(s);
		return ERR_NOT_SUPPORTED;
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
		r = build_identities(s);
	if (r != 0) {
		ssh_session_free(s);
		return r;
	}
	s->global_known = g_malloc0_n(s->cfg->n_global_known_hosts + 1, sizeof(char *));
	for (size_t i = 0; i < s->cfg->n_global_known_hosts; i++) {
		if ((r = sshconfig_expand_path(s->cfg, s->cfg->global_known_hosts[i], &s->global_known[i])) != 0) {
			ssh_session_free(s);
			return r;
		}
	}
	s->verifier.user_files = (const char *const *)s->cfg->user_known_hosts;
	s->verifier.n_user_files = s->cfg->n_user_known_hosts;
	s->verifier.global_files = (const char *const *)s->global_known;
	s->verifier.n_global_files = s->cfg->n_global_known_hosts;
	s->verifier.strict = s->cfg->strict_host_key_checking;
	s->verifier.hash_known_hosts = s->cfg->hash_known_hosts;
	s->verifier.batch_mode = s->cfg->batch_mode;
	*out = s;
	return 0;
}

static int open_client_locked(struct ssh_session *s, struct sftp_client **out)
{
	const struct sshconfig *c = s->cfg;
	struct conn_params p = { .fd = -1 };
	struct sftp_client *client = NULL;
	struct ssh_link *l = g_malloc0(sizeof(*l));
	enum log_level saved_level;
	int r;

	*out = NULL;
	if (s->opts->sftp_server != NULL && strcmp(s->opts->sftp_server, "sftp") != 0) {
		say(s, "sftp_server=%s over SSH is not supported yet (only the sftp subsystem)", s->opts->sftp_server);
		link_free(l);
		return ERR_NOT_SUPPORTED;
	}
	p.host = c->hostname;
	p.port = (uint16_t)c->port;
	p.user = c->user;
	p.identities = s->ids;
	p.n_identities = s->n_ids;
	p.verify_host_key = knownhosts_verify;
	p.verify_ctx = &s->verifier;
	if (c->password_authentication) {
		p.password = password_cb;
		p.password_ctx = s;
	}
	if (c->kbd_interactive_authentication) {
		p.kbdint = kbdint_cb;
		p.kbdint_ctx = s;
	}
	p.preferred_auth = c->preferred_authentications;
	p.kex_algorithms = c->kex_algorithms;
	p.host_key_algorithms = c->host_key_algorithms;
	p.ciphers = c->ciphers;
	p.macs = c->macs;
	p.pubkey_accepted_algorithms = c->pubkey_accepted_algorithms;
	p.compression = c->compression != 0;
	p.rekey_limit_bytes = c->rekey_limit > 0 ? (uint64_t)c->rekey_limit : 0;
	p.rekey_limit_seconds = c->rekey_interval > 0 ? (uint32_t)c->rekey_interval : 0;
	p.server_alive_interval = c->server_alive_interval > 0 ? (unsigned)c->server_alive_interval
							       : SFTPFS_ALIVE_INTERVAL_DEFAULT;
	p.server_alive_count_max = c->server_alive_count_max > 0 ? (unsigned)c->server_alive_count_max
								 : SFTPFS_ALIVE_COUNT_DEFAULT;
	p.connect_timeout = c->connect_timeout > 0 ? (unsigned)c->connect_timeout : 0;
	p.tcp_keepalive = c->tcp_keepalive != 0;
	p.address_family = address_family_of(c->address_family);
	p.bind_address = c->bind_address;
	if (c->proxy_command != NULL && strcmp(c->proxy_command, "none") != 0 &&
	    (r = start_proxy(s, &p.fd, &l->proxy_pid)) != 0) {
		log_error(LOG_CAT_GENERAL, "ProxyCommand: %s", err_str(r));
		link_free(l);
		return r;
	}
	/* The layers below log their own view of a failure; unless the user
	 * asked for -v or -d, the one line printed here is the message. */
	saved_level = log_get_level();
	if (saved_level <= LOG_LEVEL_INFO)
		log_set_level(LOG_LEVEL_QUIET);
	g_clear_pointer(&s->verifier.message, g_free);
	r = conn_open(&p, &l->conn);
	log_set_level(saved_level);
	if (r != 0) {
		l->conn = NULL;
		if (s->verifier.message != NULL)
			say(s, "%s", s->verifier.message);
		else if (r == ERR_AUTH_FAILED)
			say(s, "%s@%s: permission denied (no identity or password was accepted)", c->user, c->hostname);
		else
			say(s, "ssh to %s port %d: %s", c->hostname, c->port, err_str(r));
		link_free(l);
		return r;
	}
	if ((r = conn_start_sftp(l->conn, &client)) != 0) {
		say(s, "%s: cannot start the sftp subsystem: %s", c->hostname, err_str(r));
		link_free(l);
		return r;
	}
	if ((r = sftp_client_init(client)) != 0) {
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
