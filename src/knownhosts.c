/*
 * knownhosts.c - reading, matching and appending OpenSSH known_hosts files
 * (sshd(8) SSH_KNOWN_HOSTS FILE FORMAT; OpenSSH hostfile.c and sshconnect.c
 * check_host_key for the decisions). A line is parsed into a
 * knownhosts_entry holding the raw key blob; matching works on the host
 * field, comparison on sshkey values. Invalid lines are skipped with a debug
 * note, as ssh does, so one bad line never hides the others.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "buf.h"
#include "knownhosts.h"
#include "limits.h"
#include "log.h"
#include "prompt.h"
#include "sshconfig.h"
#include "sshkey.h"

#define KH_WHITESPACE " \t"
#define KH_HASH_MAGIC "|1|"
#define KH_SALT_LEN 20 /* SHA-1 output size: the format's salt length */

/* Strict base64 (RFC 4648 §4, padding required on the last quantum). */
static int b64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t *d;
	size_t n = 0, pad = 0;
	uint32_t acc = 0;

	*out = NULL;
	*outlen = 0;
	if (len == 0 || len % 4 != 0)
		return ERR_INVALID_FORMAT;
	d = malloc(len / 4 * 3);
	if (d == NULL)
		return ERR_ALLOC_FAIL;
	for (size_t i = 0; i < len; i++) {
		const char *p;
		unsigned v = 0;

		if (s[i] == '=') {
			/* Only one or two '=' and only at the very end. */
			if (i < len - 2)
				goto bad;
			pad++;
		} else {
			if (pad > 0 || s[i] == '\0' || (p = strchr(alphabet, s[i])) == NULL)
				goto bad;
			v = (unsigned)(p - alphabet);
		}
		acc = acc << 6 | v;
		if (i % 4 == 3) {
			d[n++] = (uint8_t)(acc >> 16);
			d[n++] = (uint8_t)(acc >> 8);
			d[n++] = (uint8_t)acc;
			acc = 0;
		}
	}
	*out = d;
	*outlen = n - pad;
	return 0;
bad:
	free(d);
	return ERR_INVALID_FORMAT;
}

void knownhosts_entry_clear(struct knownhosts_entry *e)
{
	if (e == NULL)
		return;
	free(e->hosts);
	free(e->key_type);
	free(e->blob);
	memset(e, 0, sizeof(*e));
}

/* hostfile.c hostkeys_foreach_file + sshkey_read: [marker] hosts type base64 [comment]. */
int knownhosts_parse_line(const char *line, size_t len, struct knownhosts_entry *out)
{
	size_t i = 0, start;
	int r = ERR_INVALID_FORMAT;

	memset(out, 0, sizeof(*out));
	if (len > KNOWN_HOSTS_LINE_MAX || memchr(line, '\0', len) != NULL)
		return ERR_INVALID_FORMAT;
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
#define SKIP_WS() while (i < len && (line[i] == ' ' || line[i] == '\t')) i++
#define WORD_END() while (i < len && line[i] != ' ' && line[i] != '\t') i++
	SKIP_WS();
	if (i == len || line[i] == '#')
		return 0;
	if (line[i] == '@') {
		start = i;
		WORD_END();
		if (i - start == 15 && memcmp(line + start, "@cert-authority", 15) == 0)
			out->marker = KNOWNHOSTS_MARKER_CERT_AUTHORITY;
		else if (i - start == 8 && memcmp(line + start, "@revoked", 8) == 0)
			out->marker = KNOWNHOSTS_MARKER_REVOKED;
		else
			goto out;
		SKIP_WS();
	}
	start = i;
	WORD_END();
	if (i == start)
		goto out;
	out->hosts = g_strndup(line + start, i - start);
	SKIP_WS();
	start = i;
	WORD_END();
	if (i == start)
		goto out;
	out->key_type = g_strndup(line + start, i - start);
	SKIP_WS();
	start = i;
	WORD_END();
	if (i == start)
		goto out;
	if (b64_decode(line + start, i - start, &out->blob, &out->blob_len) != 0 ||
	    out->blob_len > SSH_KEY_BLOB_MAX)
		goto out;
	/* The rest of the line is a comment. */
	r = 0;
out:
#undef SKIP_WS
#undef WORD_END
	if (r != 0)
		knownhosts_entry_clear(out);
	return r;
}

int knownhosts_entry_key(const struct knownhosts_entry *e, struct sshkey **out)
{
	struct sshkey *k = NULL;
	int r;

	*out = NULL;
	if (e->blob == NULL)
		return ERR_INVALID_ARGUMENT;
	r = sshkey_from_blob(e->blob, e->blob_len, &k);
	if (r != 0)
		return r;
	/* sshkey_read: the written type must be the blob's type. */
	if (strcmp(sshkey_type_name(k), e->key_type) != 0) {
		sshkey_free(k);
		return ERR_INVALID_FORMAT;
	}
	*out = k;
	return 0;
}

/* HMAC-SHA1(salt, name): the hashed host name of the |1| format (hostfile.c). */
static int hash_with_salt(const uint8_t *salt, size_t saltlen, const char *name, uint8_t out[20])
{
	unsigned mdlen = 0;

	if (HMAC(EVP_sha1(), salt, (int)saltlen, (const unsigned char *)name, strlen(name), out, &mdlen) == NULL ||
	    mdlen != 20)
		return ERR_LIBCRYPTO;
	return 0;
}

static int match_hashed(const char *field, const char *name)
{
	const char *salt64 = field + strlen(KH_HASH_MAGIC), *bar = strchr(salt64, '|');
	uint8_t *salt = NULL, *hash = NULL, mine[20];
	size_t saltlen = 0, hashlen = 0;
	int m = 0;

	if (bar == NULL)
		return 0;
	if (b64_decode(salt64, (size_t)(bar - salt64), &salt, &saltlen) == 0 &&
	    b64_decode(bar + 1, strlen(bar + 1), &hash, &hashlen) == 0 && saltlen == KH_SALT_LEN &&
	    hashlen == sizeof(mine) && hash_with_salt(salt, saltlen, name, mine) == 0)
		m = ct_memcmp(mine, hash, sizeof(mine)) == 0;
	free(salt);
	free(hash);
	return m;
}

int knownhosts_match_hosts(const char *field, const char *name)
{
	if (strncmp(field, KH_HASH_MAGIC, strlen(KH_HASH_MAGIC)) == 0)
		return match_hashed(field, name);
	/* match.c match_hostname: case-insensitive pattern list with negation. */
	return sshconfig_match_pattern_list(name, field, true);
}

char *knownhosts_lookup_name(const char *host, uint16_t port)
{
	char *lower = g_ascii_strdown(host, -1), *s;

	if (port == 0 || port == 22)
		return lower;
	s = g_strdup_printf("[%s]:%u", lower, (unsigned)port);
	g_free(lower);
	return s;
}

int knownhosts_hash_name(const char *name, char **out)
{
	uint8_t salt[KH_SALT_LEN], hash[20];
	char *s64, *h64;
	int r;

	*out = NULL;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return ERR_LIBCRYPTO;
	r = hash_with_salt(salt, sizeof(salt), name, hash);
	if (r != 0)
		return r;
	s64 = g_base64_encode(salt, sizeof(salt));
	h64 = g_base64_encode(hash, sizeof(hash));
	*out = g_strdup_printf(KH_HASH_MAGIC "%s|%s", s64, h64);
	g_free(s64);
	g_free(h64);
	return 0;
}

void knownhosts_result_clear(struct knownhosts_result *r)
{
	if (r == NULL)
		return;
	free(r->file);
	memset(r, 0, sizeof(*r));
}

/* OpenSSH treats all ECDSA curves as one key type when deciding "changed". */
static bool same_family(const char *a, const char *b)
{
	if (strncmp(a, "ecdsa-sha2-", 11) == 0 && strncmp(b, "ecdsa-sha2-", 11) == 0)
		return true;
	return strcmp(a, b) == 0;
}

struct check_state {
	const char *name;      /* lookup name */
	const char *host;      /* bare host for certificate principals */
	const struct sshkey *key;
	uint64_t now;
	bool found_ok, found_ca, revoked, changed, other_types;
	char *file;
	unsigned line;
};

static void remember(struct check_state *s, const char *file, unsigned line)
{
	g_free(s->file);
	s->file = g_strdup(file);
	s->line = line;
}

static void check_entry(struct check_state *s, const struct knownhosts_entry *e, const char *file,
                        unsigned line)
{
	const struct sshkey *key = s->key;
	struct sshkey *ek = NULL;
	int m = knownhosts_match_hosts(e->hosts, s->name);
	int r;

	/* "@revoked *" style lines apply through the same host matching. */
	if (m != 1)
		return;
	r = knownhosts_entry_key(e, &ek);
	if (r != 0) {
		log_debug(LOG_CAT_AUTH, "%s:%u: skipping entry: %s", file, line, err_str(r));
		return;
	}
	switch (e->marker) {
	case KNOWNHOSTS_MARKER_REVOKED:
		if (sshkey_equal_plain(key, ek) ||
		    (sshkey_is_cert(key) && sshkey_equal_plain(sshkey_cert_signature_key(key), ek))) {
			s->revoked = true;
			remember(s, file, line);
		}
		break;
	case KNOWNHOSTS_MARKER_CERT_AUTHORITY:
		if (sshkey_is_cert(key) && !s->found_ok && sshkey_equal_plain(sshkey_cert_signature_key(key), ek)) {
			if (sshkey_cert_check(key, true, s->host, s->now) == 0) {
				s->found_ca = s->found_ok = true;
				remember(s, file, line);
			} else {
				log_info(LOG_CAT_AUTH, "host certificate for %s signed by the CA at %s:%u is not valid; trying the plain key",
				         s->host, file, line);
			}
		}
		break;
	case KNOWNHOSTS_MARKER_NONE:
		if (s->found_ok || sshkey_is_cert(ek))
			break;
		if (sshkey_equal_plain(key, ek)) {
			s->found_ok = true;
			remember(s, file, line);
		} else if (same_family(sshkey_plain_type_name(key), sshkey_type_name(ek))) {
			if (!s->changed) {
				s->changed = true;
				remember(s, file, line);
			}
		} else {
			s->other_types = true;
		}
		break;
	}
	sshkey_free(ek);
}

/* Reads one file line by line; a missing file is not an error. */
static int check_file(struct check_state *s, const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned ln = 0;

	if (f == NULL) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		log_info(LOG_CAT_AUTH, "cannot read %s: %s", path, strerror(errno));
		return 0; /* ssh carries on with the other files */
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		struct knownhosts_entry e;

		ln++;
		if (knownhosts_parse_line(line, (size_t)n, &e) != 0) {
			log_debug(LOG_CAT_AUTH, "%s:%u: invalid known_hosts line skipped", path, ln);
			continue;
		}
		if (e.hosts != NULL)
			check_entry(s, &e, path, ln);
		knownhosts_entry_clear(&e);
	}
	free(line);
	fclose(f);
	return 0;
}

int knownhosts_check(const char *const *files, size_t nfiles, const char *host, uint16_t port,
                     const struct sshkey *key, uint64_t now, struct knownhosts_result *out)
{
	struct check_state s = { .key = key, .host = host, .now = now };
	char *name;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (host == NULL || key == NULL)
		return ERR_INVALID_ARGUMENT;
	name = knownhosts_lookup_name(host, port);
	s.name = name;
	for (size_t i = 0; i < nfiles && r == 0; i++) {
		if (files[i] != NULL && strcmp(files[i], "none") != 0)
			r = check_file(&s, files[i]);
	}
	g_free(name);
	if (r != 0) {
		g_free(s.file);
		return r;
	}
	/* Revocation wins; then a match; a same-type mismatch is a change. */
	out->status = s.revoked ? KNOWNHOSTS_REVOKED
	              : s.found_ok ? KNOWNHOSTS_OK
	              : s.changed ? KNOWNHOSTS_CHANGED
	                          : KNOWNHOSTS_NEW;
	out->other_types_known = s.other_types;
	if (out->status != KNOWNHOSTS_NEW && s.file != NULL) {
		out->file = strdup(s.file);
		out->line = s.line;
	}
	g_free(s.file);
	return out->file == NULL && out->status != KNOWNHOSTS_NEW ? ERR_ALLOC_FAIL : 0;
}

/* hostfile.c hostfile_create_user_ssh_dir: the parent directory, 0700. */
static int make_parent_dir(const char *path)
{
	char *dir = g_path_get_dirname(path);
	int r = 0;

	if (g_mkdir_with_parents(dir, 0700) != 0)
		r = ERR_SYSTEM;
	g_free(dir);
	return r;
}

int knownhosts_add(const char *path, const char *host, uint16_t port, const struct sshkey *key, bool hash)
{
	struct buf *blob = buf_new(SSH_KEY_BLOB_MAX);
	char *name = NULL, *field = NULL, *b64 = NULL, *line = NULL;
	int fd = -1, r = ERR_INTERNAL;
	struct stat st;

	if (blob == NULL)
		return ERR_ALLOC_FAIL;
	name = knownhosts_lookup_name(host, port);
	if ((r = sshkey_to_plain_blob(key, blob)) != 0)
		goto out;
	if (hash) {
		if ((r = knownhosts_hash_name(name, &field)) != 0)
			goto out;
	} else {
		field = g_strdup(name);
	}
	b64 = g_base64_encode(buf_peek(blob), buf_len(blob));
	line = g_strdup_printf("%s %s %s\n", field, sshkey_plain_type_name(key), b64);
	if ((r = make_parent_dir(path)) != 0)
		goto out;
	/* ssh opens known_hosts with fopen("a"): 0666 minus the umask, following
	 * symlinks (dotfile managers link ~/.ssh/known_hosts). */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0) {
		log_error(LOG_CAT_AUTH, "cannot open %s for appending: %s", path, strerror(errno));
		r = ERR_SYSTEM;
		goto out;
	}
	if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0) {
		r = ERR_SYSTEM;
		goto out;
	}
	if (st.st_size > 0) {
		int rfd = open(path, O_RDONLY | O_CLOEXEC);
		char last = '\n';

		if (rfd >= 0) {
			if (pread(rfd, &last, 1, st.st_size - 1) != 1)
				last = '\n';
			close(rfd);
		}
		if (last != '\n' && write(fd, "\n", 1) != 1) {
			r = ERR_SYSTEM;
			goto out;
		}
	}
	/* One write of the whole line: with O_APPEND and the lock, no interleaving. */
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || fsync(fd) != 0) {
		log_error(LOG_CAT_AUTH, "cannot append to %s: %s", path, strerror(errno));
		r = ERR_SYSTEM;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd); /* releases the lock */
	buf_free(blob);
	g_free(name);
	g_free(field);
	g_free(b64);
	g_free(line);
	return r;
}

void knownhosts_verifier_init(struct knownhosts_verifier *v, const struct sshconfig *c)
{
	memset(v, 0, sizeof(*v));
	v->user_files = (const char *const *)c->user_known_hosts;
	v->n_user_files = c->n_user_known_hosts;
	v->global_files = (const char *const *)c->global_known_hosts;
	v->n_global_files = c->n_global_known_hosts;
	v->strict = c->strict_host_key_checking;
	v->hash_known_hosts = c->hash_known_hosts != 0;
	v->batch_mode = c->batch_mode != 0;
}

void knownhosts_verifier_clear(struct knownhosts_verifier *v)
{
	knownhosts_result_clear(&v->result);
	g_free(v->message);
	v->message = NULL;
}

static void set_message(struct knownhosts_verifier *v, char *msg)
{
	g_free(v->message);
	v->message = msg;
}

/* The terminal question of sshconnect.c, answered yes, no or with the fingerprint. */
static int ask_user(struct knownhosts_verifier *v, const char *host, uint16_t port, const char *type,
                    const char *fp, bool other_types)
{
	char *q, *answer = NULL;
	int r = ERR_HOSTKEY_UNKNOWN;
	char *name = knownhosts_lookup_name(host, port);

	q = g_strdup_printf("The authenticity of host '%s' can't be established.\n"
	                    "%s key fingerprint is %s.\n%s"
	                    "Are you sure you want to continue connecting (yes/no/[fingerprint])? ",
	                    name, type, fp,
	                    other_types ? "Keys of a different type are already known for this host.\n" : "");
	for (int tries = 0; tries < 10; tries++) {
		int a = v->ask != NULL ? v->ask(v->ask_ctx, q, &answer) : prompt_read(q, PROMPT_ECHO, &answer);

		if (a < 0) {
			r = ERR_HOSTKEY_UNKNOWN;
			break;
		}
		g_strstrip(answer);
		if (g_ascii_strcasecmp(answer, "yes") == 0 || strcmp(answer, fp) == 0) {
			r = 0;
			break;
		}
		if (g_ascii_strcasecmp(answer, "no") == 0) {
			r = ERR_HOSTKEY_UNKNOWN;
			break;
		}
		prompt_free(answer);
		answer = NULL;
		g_free(q);
		q = g_strdup("Please type 'yes', 'no' or the fingerprint: ");
	}
	prompt_free(answer);
	g_free(q);
	g_free(name);
	return r;
}

int knownhosts_verify(void *ctx, const char *host, uint16_t port, const struct sshkey *key)
{
	struct knownhosts_verifier *v = ctx;
	const char **files = NULL;
	char *fp = NULL, *type_upper = NULL;
	size_t n = 0;
	int r = ERR_INTERNAL;

	knownhosts_verifier_clear(v);
	files = g_new0(const char *, v->n_user_files + v->n_global_files + 1);
	for (size_t i = 0; i < v->n_user_files; i++)
		files[n++] = v->user_files[i];
	for (size_t i = 0; i < v->n_global_files; i++)
		files[n++] = v->global_files[i];
	if ((r = sshkey_fingerprint(key, &fp)) != 0)
		goto out;
	if ((r = knownhosts_check(files, n, host, port, key, (uint64_t)time(NULL), &v->result)) != 0)
		goto out;
	/* "ED25519", "ECDSA", "RSA" as ssh names key types in its messages. */
	{
		const char *t = sshkey_plain_type_name(key);

		type_upper = g_ascii_strup(strncmp(t, "ssh-", 4) == 0 ? t + 4 : strncmp(t, "ecdsa", 5) == 0 ? "ecdsa" : t, -1);
	}
	switch (v->result.status) {
	case KNOWNHOSTS_OK:
		log_debug(LOG_CAT_AUTH, "host '%s' is known and matches the %s host key (%s:%u)", host, type_upper,
		          v->result.file != NULL ? v->result.file : "?", v->result.line);
		r = 0;
		goto out;
	case KNOWNHOSTS_REVOKED:
		set_message(v, g_strdup_printf("The %s host key for %s is marked as revoked (%s:%u).\n"
		                               "This could mean that a stolen key is being used to impersonate this host.",
		                               type_upper, host, v->result.file, v->result.line));
		r = ERR_HOSTKEY_REVOKED;
		goto out;
	case KNOWNHOSTS_CHANGED:
		/* Refused whatever StrictHostKeyChecking says (ssh only allows it
		 * with auth restrictions that sftpfs has no use for). */
		set_message(v, g_strdup_printf(
			"WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\n"
			"IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\n"
			"The fingerprint for the %s key sent by the remote host %s is\n%s.\n"
			"Offending %s key in %s:%u\n"
			"Host key verification failed.",
			type_upper, host, fp, type_upper, v->result.file, v->result.line));
		r = ERR_HOSTKEY_CHANGED;
		goto out;
	case KNOWNHOSTS_NEW:
		break;
	}
	switch (v->strict) {
	case SSHCONFIG_STRICT_YES:
		r = ERR_HOSTKEY_UNKNOWN;
		break;
	case SSHCONFIG_STRICT_NO:
	case SSHCONFIG_STRICT_ACCEPT_NEW:
		r = 0;
		break;
	default:
		r = v->batch_mode ? ERR_HOSTKEY_UNKNOWN
		                  : ask_user(v, host, port, type_upper, fp, v->result.other_types_known);
		break;
	}
	if (r != 0) {
		set_message(v, g_strdup_printf("No %s host key is known for %s and %s.\n"
		                               "Host key verification failed.",
		                               type_upper, host,
		                               v->strict == SSHCONFIG_STRICT_YES
		                                       ? "you have requested strict checking"
		                                       : "it was not accepted"));
		goto out;
	}
	if (v->n_user_files == 0 || strcmp(v->user_files[0], "none") == 0) {
		log_info(LOG_CAT_AUTH, "Warning: accepted the %s host key for %s without recording it (no UserKnownHostsFile)",
		         type_upper, host);
		goto out;
	}
	r = knownhosts_add(v->user_files[0], host, port, key, v->hash_known_hosts);
	if (r != 0) {
		/* ssh carries on when it cannot record the key; we do too, loudly. */
		log_error(LOG_CAT_AUTH, "Failed to add the host to the list of known hosts (%s): %s",
		          v->user_files[0], err_str(r));
		r = 0;
		goto out;
	}
	log_info(LOG_CAT_AUTH, "Warning: Permanently added '%s' (%s) to the list of known hosts.", host, type_upper);
out:
	if (v->message != NULL)
		log_error(LOG_CAT_AUTH, "%s", v->message);
	g_free(files);
	free(fp);
	g_free(type_upper);
	return r;
}
