/*
 * sshconfig.c - OpenSSH client configuration resolution (ssh_config(5) as
 * implemented by OpenSSH 9.2's readconf.c and ssh.c). One reader applies
 * lines to a struct sshconfig for one host: Host and Match decide whether a
 * line is active, the first value obtained for a keyword wins, IdentityFile
 * and CertificateFile accumulate. Include recurses into the same reader with
 * the including line's active state, as OpenSSH does. After the files, the
 * defaults `ssh -G` prints are filled in. sftpfs only acts on the keywords it
 * implements; every other keyword OpenSSH knows is accepted and ignored with
 * a debug note, and unknown keywords are ignored with a debug note too (the
 * one deliberate deviation: ssh refuses them unless IgnoreUnknown lists them).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>

#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/evp.h>

#include "limits.h"
#include "log.h"
#include "sshconfig.h"

#define WHITESPACE " \t\r\n"
/* src/limits.h shadows the system <limits.h> on our include path, so INT_MAX
 * is spelled through <stdint.h>. */
#define CONFIG_INT_MAX INT32_MAX
_Static_assert(sizeof(int) == 4, "int is 32 bits");
#define SSHCONFIG_ARGS_MAX 256 /* words on one line */

/* Where a file comes from decides how relative Include paths resolve. */
enum {
	FILE_USERCONF = 1u << 0,   /* ~/.ssh/config, -F file, and files they include */
	FILE_NEVERMATCH = 1u << 1, /* included from an inactive block: syntax only */
	FILE_CHECKPERM = 1u << 2,
	FILE_CMDLINE = 1u << 3,    /* a -o entry: no Host, Match or Include */
};

struct sshconfig_reader {
	struct sshconfig *cfg;
	char *host;          /* what Host patterns match */
	bool final_pass;     /* Match canonical/final are true */
	bool want_final_pass;
	bool active;         /* top-level active state for sshconfig_read_line */
	unsigned flags;
	char err[512];
};

/* ---- errors ---------------------------------------------------------- */

static int config_error(struct sshconfig_reader *r, const char *file, unsigned linenum,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int config_error(struct sshconfig_reader *r, const char *file, unsigned linenum,
                        const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (linenum == 0)
		snprintf(r->err, sizeof(r->err), "%s: %s", file, msg);
	else
		snprintf(r->err, sizeof(r->err), "%s line %u: %s", file, linenum, msg);
	log_error(LOG_CAT_CONFIG, "%s", r->err);
	return ERR_CONFIG;
}

const char *sshconfig_reader_error(const struct sshconfig_reader *r)
{
	return r->err;
}

/* ---- pattern matching (OpenSSH match.c semantics) --------------------- */

/* '*' and '?' globbing; iterative with one backtrack point, so linear-ish. */
bool sshconfig_match_pattern(const char *s, const char *p)
{
	const char *star = NULL, *resume = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			resume = s;
		} else if (*p == '?' || (*p != '\0' && *p == *s)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int sshconfig_match_pattern_list(const char *s, const char *list, bool dolower)
{
	char sub[1024];
	int got_positive = 0;
	size_t i = 0, len = strlen(list);

	while (i < len) {
		bool negated = false;
		size_t n = 0;

		if (list[i] == '!') {
			negated = true;
			i++;
		}
		while (i < len && list[i] != ',') {
			if (n + 1 >= sizeof(sub))
				return 0; /* subpattern too long: no match, as OpenSSH */
			sub[n++] = dolower ? (char)tolower((unsigned char)list[i]) : list[i];
			i++;
		}
		sub[n] = '\0';
		if (i < len)
			i++; /* the comma */
		if (sshconfig_match_pattern(s, sub)) {
			if (negated)
				return -1;
			got_positive = 1;
		}
	}
	return got_positive;
}

/* ---- words -------------------------------------------------------------- */

struct words {
	char *v[SSHCONFIG_ARGS_MAX];
	size_t n;
	size_t next;
};

static void words_clear(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	w->n = w->next = 0;
}

/* misc.c argv_split(terminate_on_comment=1): whitespace separated words with
 * '' and "" quoting and backslash escapes of quotes, backslash and space. */
static int words_split(const char *s, struct words *w)
{
	size_t i = 0;

	w->n = w->next = 0;
	while (s[i] != '\0') {
		char quote = 0, *arg;
		size_t j = 0;

		if (s[i] == ' ' || s[i] == '\t') {
			i++;
			continue;
		}
		if (s[i] == '#')
			break;
		if (w->n >= SSHCONFIG_ARGS_MAX)
			return ERR_LIMIT_EXCEEDED;
		arg = calloc(1, strlen(s + i) + 1);
		if (arg == NULL)
			return ERR_ALLOC_FAIL;
		w->v[w->n++] = arg;
		for (; s[i] != '\0'; i++) {
			if (s[i] == '\\') {
				char nx = s[i + 1];

				if (nx == '\'' || nx == '"' || nx == '\\' || (quote == 0 && nx == ' ')) {
					i++;
					arg[j++] = s[i];
				} else {
					arg[j++] = s[i];
				}
			} else if (quote == 0 && (s[i] == ' ' || s[i] == '\t')) {
				break;
			} else if (quote == 0 && (s[i] == '"' || s[i] == '\'')) {
				quote = s[i];
			} else if (quote != 0 && s[i] == quote) {
				quote = 0;
			} else {
				arg[j++] = s[i];
			}
		}
		if (quote != 0)
			return ERR_INVALID_FORMAT;
	}
	return 0;
}

static const char *words_next(struct words *w)
{
	if (w->next >= w->n)
		return NULL;
	return w->v[w->next++];
}

static size_t words_left(const struct words *w)
{
	return w->n - w->next;
}

/* ---- value parsers -------------------------------------------------------- */

struct name_value {
	const char *name;
	int value;
};

static const struct name_value flag_names[] = {
	{ "true", 1 }, { "false", 0 }, { "yes", 1 }, { "no", 0 }, { NULL, 0 },
};
static const struct name_value strict_names[] = {
	{ "true", SSHCONFIG_STRICT_YES }, { "false", SSHCONFIG_STRICT_NO },
	{ "yes", SSHCONFIG_STRICT_YES },  { "no", SSHCONFIG_STRICT_NO },
	{ "ask", SSHCONFIG_STRICT_ASK },  { "off", SSHCONFIG_STRICT_NO },
	{ "accept-new", SSHCONFIG_STRICT_ACCEPT_NEW }, { NULL, 0 },
};
static const struct name_value pubkey_names[] = {
	{ "true", SSHCONFIG_PUBKEY_YES }, { "false", SSHCONFIG_PUBKEY_NO },
	{ "yes", SSHCONFIG_PUBKEY_YES },  { "no", SSHCONFIG_PUBKEY_NO },
	{ "unbound", SSHCONFIG_PUBKEY_UNBOUND }, { "host-bound", SSHCONFIG_PUBKEY_HOST_BOUND },
	{ NULL, 0 },
};
static const struct name_value update_hostkeys_names[] = {
	{ "true", SSHCONFIG_UPDATE_HOSTKEYS_YES }, { "false", SSHCONFIG_UPDATE_HOSTKEYS_NO },
	{ "yes", SSHCONFIG_UPDATE_HOSTKEYS_YES },  { "no", SSHCONFIG_UPDATE_HOSTKEYS_NO },
	{ "ask", SSHCONFIG_UPDATE_HOSTKEYS_ASK },  { NULL, 0 },
};
static const struct name_value address_family_names[] = {
	{ "inet", SSHCONFIG_AF_INET }, { "inet6", SSHCONFIG_AF_INET6 }, { "any", SSHCONFIG_AF_ANY },
	{ NULL, 0 },
};

static int lookup_name(const struct name_value *t, const char *s, int *out)
{
	for (; t->name != NULL; t++) {
		if (strcasecmp(t->name, s) == 0) {
			*out = t->value;
			return 0;
		}
	}
	return ERR_CONFIG;
}

/* misc.c a2port: 1..65535. */
static int parse_port(const char *s, int *out)
{
	char *end;
	long v;

	*out = 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v <= 0 || v > 65535)
		return ERR_CONFIG;
	*out = (int)v;
	return 0;
}

static int parse_int(const char *s, int *out)
{
	char *end;
	long v;

	*out = 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > CONFIG_INT_MAX)
		return ERR_CONFIG;
	*out = (int)v;
	return 0;
}

/* misc.c convtime: "90", "1h30m", units s m h d w in either case. */
static int parse_time(const char *s, int *out)
{
	long long total = 0;

	*out = -1;
	if (*s == '\0')
		return ERR_CONFIG;
	while (*s != '\0') {
		long long secs, mult = 1;
		char *end;

		if (!isdigit((unsigned char)*s))
			return ERR_CONFIG;
		errno = 0;
		secs = strtoll(s, &end, 10);
		if (errno != 0 || secs < 0 || secs > CONFIG_INT_MAX)
			return ERR_CONFIG;
		switch (*end) {
		case '\0':
			break;
		case 's': case 'S':
			end++;
			break;
		case 'm': case 'M':
			mult = 60;
			end++;
			break;
		case 'h': case 'H':
			mult = 3600;
			end++;
			break;
		case 'd': case 'D':
			mult = 86400;
			end++;
			break;
		case 'w': case 'W':
			mult = 604800;
			end++;
			break;
		default:
			return ERR_CONFIG;
		}
		if (secs > (CONFIG_INT_MAX - total) / mult)
			return ERR_CONFIG;
		total += secs * mult;
		s = end;
	}
	*out = (int)total;
	return 0;
}

/* OpenBSD scan_scaled: "4096", "500K", "1.5G" (units B K M G T P E, either
 * case). A fraction is scaled and truncated; without a unit it is dropped
 * (ssh reads "1.5" as 1). */
static int parse_scaled(const char *s, int64_t *out)
{
	static const char units[] = "BKMGTPE";
	unsigned long long whole, fpart = 0, fdiv = 1, scale = 1;
	char *end;
	const char *u;

	*out = 0;
	if (!isdigit((unsigned char)*s))
		return ERR_CONFIG;
	errno = 0;
	whole = strtoull(s, &end, 10);
	if (errno != 0 || whole > INT64_MAX)
		return ERR_CONFIG;
	if (*end == '.') {
		for (end++; isdigit((unsigned char)*end); end++) {
			if (fdiv < 1000000000ULL) { /* further digits cannot change the result */
				fpart = fpart * 10 + (unsigned)(*end - '0');
				fdiv *= 10;
			}
		}
	}
	if (*end != '\0') {
		if (end[1] != '\0')
			return ERR_CONFIG;
		u = strchr(units, toupper((unsigned char)*end));
		if (u == NULL)
			return ERR_CONFIG;
		for (long i = 0; i < u - units; i++)
			scale *= 1024;
	} else {
		fpart = 0;
	}
	if (whole > (unsigned long long)INT64_MAX / scale)
		return ERR_CONFIG;
	whole *= scale;
	/* fpart < 10^9 and scale <= 2^60: the product needs 128 bits. */
	whole += (unsigned long long)((unsigned __int128)fpart * scale / fdiv);
	if (whole > (unsigned long long)INT64_MAX)
		return ERR_CONFIG;
	*out = (int64_t)whole;
	return 0;
}

/* ---- algorithm lists ------------------------------------------------------ */

#define OPENSSH_KEY_ALL                                                                     \
	"ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,sk-ssh-ed25519@openssh.com,"          \
	"sk-ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256,"                          \
	"ecdsa-sha2-nistp256-cert-v01@openssh.com,ecdsa-sha2-nistp384,"                     \
	"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521,"                     \
	"ecdsa-sha2-nistp521-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,"      \
	"sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,webauthn-sk-ecdsa-sha2-nistp256@openssh.com," \
	"ssh-dss,ssh-dss-cert-v01@openssh.com,ssh-rsa,ssh-rsa-cert-v01@openssh.com,"        \
	"rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512,"                      \
	"rsa-sha2-512-cert-v01@openssh.com"
#define OPENSSH_KEY_DEFAULT                                                                 \
	"ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,"        \
	"ecdsa-sha2-nistp384-cert-v01@openssh.com,ecdsa-sha2-nistp521-cert-v01@openssh.com," \
	"sk-ssh-ed25519-cert-v01@openssh.com,sk-ecdsa-sha2-nistp256-cert-v01@openssh.com,"  \
	"rsa-sha2-512-cert-v01@openssh.com,rsa-sha2-256-cert-v01@openssh.com,"              \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"          \
	"sk-ssh-ed25519@openssh.com,sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"

/* OpenSSH 9.2 (Debian 12) lists: `ssh -Q cipher|mac|kex|key-sig` and the
 * defaults `ssh -G` prints (myproposal.h filtered by what is compiled in). */
static const struct {
	const char *def;
	const char *all;
} openssh_algs[SSHCONFIG_ALG_KIND_COUNT] = {
	[SSHCONFIG_ALG_CIPHERS] = {
		.def = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
		       "aes128-gcm@openssh.com,aes256-gcm@openssh.com",
		.all = "3des-cbc,aes128-cbc,aes192-cbc,aes256-cbc,aes128-ctr,aes192-ctr,aes256-ctr,"
		       "aes128-gcm@openssh.com,aes256-gcm@openssh.com,chacha20-poly1305@openssh.com",
	},
	[SSHCONFIG_ALG_MACS] = {
		.def = "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
		       "hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,"
		       "umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
		.all = "hmac-sha1,hmac-sha1-96,hmac-sha2-256,hmac-sha2-512,hmac-md5,hmac-md5-96,"
		       "umac-64@openssh.com,umac-128@openssh.com,hmac-sha1-etm@openssh.com,"
		       "hmac-sha1-96-etm@openssh.com,hmac-sha2-256-etm@openssh.com,"
		       "hmac-sha2-512-etm@openssh.com,hmac-md5-etm@openssh.com,"
		       "hmac-md5-96-etm@openssh.com,umac-64-etm@openssh.com,umac-128-etm@openssh.com",
	},
	[SSHCONFIG_ALG_KEX] = {
		.def = "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
		       "curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
		       "ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,"
		       "diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
		       "diffie-hellman-group14-sha256",
		.all = "diffie-hellman-group1-sha1,diffie-hellman-group14-sha1,"
		       "diffie-hellman-group14-sha256,diffie-hellman-group16-sha512,"
		       "diffie-hellman-group18-sha512,diffie-hellman-group-exchange-sha1,"
		       "diffie-hellman-group-exchange-sha256,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
		       "ecdh-sha2-nistp521,curve25519-sha256,curve25519-sha256@libssh.org,"
		       "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com",
	},
	[SSHCONFIG_ALG_HOSTKEY] = { .def = OPENSSH_KEY_DEFAULT, .all = OPENSSH_KEY_ALL },
	[SSHCONFIG_ALG_PUBKEY] = { .def = OPENSSH_KEY_DEFAULT, .all = OPENSSH_KEY_ALL },
};

void sshconfig_openssh_algs(enum sshconfig_alg_kind kind, const char **def, const char **all)
{
	*def = openssh_algs[kind].def;
	*all = openssh_algs[kind].all;
}

static bool list_has(const char *list, const char *name, size_t namelen)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *c = strchr(p, ',');
		size_t n = c != NULL ? (size_t)(c - p) : strlen(p);

		if (n == namelen && memcmp(p, name, n) == 0)
			return true;
		p = c != NULL ? c + 1 : NULL;
	}
	return false;
}

/* Appends each name of add not already in acc (kex.c kex_names_cat). */
static void names_cat(GString *acc, const char *add, size_t addlen)
{
	size_t i = 0;

	while (i < addlen) {
		const char *p = add + i;
		const char *c = memchr(p, ',', addlen - i);
		size_t n = c != NULL ? (size_t)(c - p) : addlen - i;

		if (n > 0 && !list_has(acc->str, p, n)) {
			if (acc->len > 0)
				g_string_append_c(acc, ',');
			g_string_append_len(acc, p, (gssize)n);
		}
		i += n + 1;
	}
}

/* Names of all matching (keep != 0) or not matching (keep == 0) the pattern
 * list, in all's order (match.c match_filter_allowlist/denylist). */
static void names_filter(GString *acc, const char *all, const char *patterns, bool keep)
{
	const char *p = all;

	while (*p != '\0') {
		const char *c = strchr(p, ',');
		size_t n = c != NULL ? (size_t)(c - p) : strlen(p);
		char *name = g_strndup(p, n);
		bool m = sshconfig_match_pattern_list(name, patterns, false) == 1;

		if (n > 0 && m == keep && !list_has(acc->str, p, n)) {
			if (acc->len > 0)
				g_string_append_c(acc, ',');
			g_string_append_len(acc, p, (gssize)n);
		}
		g_free(name);
		if (c == NULL)
			break;
		p = c + 1;
	}
}

int sshconfig_assemble_algs(const char *spec, const char *def, const char *all, char **out)
{
	GString *list = NULL, *ret = NULL;
	char **elems = NULL;
	int r = ERR_INTERNAL;

	*out = NULL;
	if (spec == NULL || *spec == '\0') {
		*out = g_strdup(def);
		return 0;
	}
	ret = g_string_new("");
	if (*spec == '-') {
		/* Removal: patterns already applied to the default list. */
		names_filter(ret, def, spec + 1, false);
		goto done;
	}
	list = g_string_new("");
	if (*spec == '+') {
		names_cat(list, def, strlen(def));
		names_cat(list, spec + 1, strlen(spec + 1));
	} else if (*spec == '^') {
		names_cat(list, spec + 1, strlen(spec + 1));
		names_cat(list, def, strlen(def));
	} else {
		g_string_assign(list, spec);
	}
	/* Each name or pattern selects from all, in all's order. */
	elems = g_strsplit(list->str, ",", -1);
	for (size_t i = 0; elems[i] != NULL; i++) {
		if (elems[i][0] == '!') {
			r = ERR_CONFIG;
			goto out;
		}
		names_filter(ret, all, elems[i], true);
	}
	if (ret->len == 0) {
		r = ERR_CONFIG;
		goto out;
	}
done:
	*out = g_string_free(ret, FALSE);
	ret = NULL;
	r = 0;
out:
	g_strfreev(elems);
	if (list != NULL)
		g_string_free(list, TRUE);
	if (ret != NULL)
		g_string_free(ret, TRUE);
	return r;
}

/* Validates an algorithm keyword's value as readconf.c does: "-" lists are not
 * checked; otherwise every name must be supported, or, where wildcards are
 * allowed (key types), match at least one supported name. */
static bool algs_valid(const char *spec, enum sshconfig_alg_kind kind)
{
	const char *all = openssh_algs[kind].all;
	bool wildcard = kind == SSHCONFIG_ALG_HOSTKEY || kind == SSHCONFIG_ALG_PUBKEY;
	char **elems;
	bool ok = true;

	if (*spec == '-')
		return true;
	if (*spec == '+' || *spec == '^')
		spec++;
	elems = g_strsplit(spec, ",", -1);
	for (size_t i = 0; ok && elems[i] != NULL && elems[i][0] != '\0'; i++) {
		if (list_has(all, elems[i], strlen(elems[i])))
			continue;
		ok = false;
		if (!wildcard)
			break;
		for (const char *p = all; *p != '\0';) {
			const char *c = strchr(p, ',');
			char *name = g_strndup(p, c != NULL ? (size_t)(c - p) : strlen(p));

			if (sshconfig_match_pattern_list(name, elems[i], false) != 0)
				ok = true;
			g_free(name);
			if (ok || c == NULL)
				break;
			p = c + 1;
		}
	}
	if (elems[0] == NULL || elems[0][0] == '\0')
		ok = false;
	g_strfreev(elems);
	return ok;
}

/* ---- expansion ------------------------------------------------------------ */

struct token {
	char key;
	const char *value;
};

/* misc.c percent_expand / dollar_expand: %x from the table, %% and, when
 * dollar, ${NAME} from the environment. Unknown tokens are errors. */
static int expand_tokens(const char *in, const struct token *t, size_t nt, bool dollar, char **out)
{
	GString *s = g_string_new("");
	int r = ERR_CONFIG;

	*out = NULL;
	for (const char *p = in; *p != '\0'; p++) {
		if (dollar && p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p + 2, '}');
			char *name;
			const char *val;

			if (end == NULL || end == p + 2)
				goto out;
			name = g_strndup(p + 2, (size_t)(end - p - 2));
			val = getenv(name);
			g_free(name);
			if (val == NULL)
				goto out;
			g_string_append(s, val);
			p = end;
			continue;
		}
		if (*p != '%') {
			g_string_append_c(s, *p);
			continue;
		}
		p++;
		if (*p == '%') {
			g_string_append_c(s, '%');
			continue;
		}
		if (*p == '\0')
			goto out;
		size_t i;
		for (i = 0; i < nt; i++) {
			if (t[i].key == *p)
				break;
		}
		if (i == nt)
			goto out;
		g_string_append(s, t[i].value);
	}
	*out = g_string_free(s, FALSE);
	s = NULL;
	r = 0;
out:
	if (s != NULL)
		g_string_free(s, TRUE);
	return r;
}

/* misc.c tilde_expand_filename: "~/x" is the user's passwd home directory
 * (not $HOME), "~name/x" that user's. */
static int tilde_expand(const char *in, const char *home, char **out)
{
	const char *rest, *slash, *dir = home;
	struct passwd *pw = NULL;
	char *user = NULL;
	size_t dlen;

	*out = NULL;
	if (in[0] != '~') {
		*out = g_strdup(in);
		return 0;
	}
	rest = in + 1;
	slash = strchr(rest, '/');
	if (slash != NULL && slash > rest) {
		user = g_strndup(rest, (size_t)(slash - rest));
		pw = getpwnam(user);
		g_free(user);
		if (pw == NULL)
			return ERR_CONFIG;
		dir = pw->pw_dir;
	}
	if (slash != NULL)
		rest = slash + 1;
	dlen = strlen(dir);
	*out = g_strdup_printf("%s%s%s", dir, dlen == 0 || dir[dlen - 1] != '/' ? "/" : "", rest);
	return 0;
}

/* %C: hex SHA-1 of %l%h%p%r. SHA-1 here is OpenSSH's definition of the token
 * (ssh.c ssh_connection_hash), used only to name files, never for security. */
static char *connection_hash(const char *l, const char *h, const char *p, const char *u)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	GString *hex;

	if (ctx == NULL)
		return NULL;
	if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 || EVP_DigestUpdate(ctx, l, strlen(l)) != 1 ||
	    EVP_DigestUpdate(ctx, h, strlen(h)) != 1 || EVP_DigestUpdate(ctx, p, strlen(p)) != 1 ||
	    EVP_DigestUpdate(ctx, u, strlen(u)) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		EVP_MD_CTX_free(ctx);
		return NULL;
	}
	EVP_MD_CTX_free(ctx);
	hex = g_string_new("");
	for (unsigned i = 0; i < mdlen; i++)
		g_string_append_printf(hex, "%02x", md[i]);
	return g_string_free(hex, FALSE);
}

int sshconfig_expand_path(const struct sshconfig *c, const char *in, char **out)
{
	char thishost[256], shorthost[256], portstr[16], uidstr[24];
	char *tilde = NULL, *chash = NULL;
	int r = ERR_INTERNAL;

	*out = NULL;
	if (gethostname(thishost, sizeof(thishost)) != 0)
		return ERR_SYSTEM;
	thishost[sizeof(thishost) - 1] = '\0';
	g_strlcpy(shorthost, thishost, sizeof(shorthost));
	shorthost[strcspn(shorthost, ".")] = '\0';
	snprintf(portstr, sizeof(portstr), "%d", c->port);
	snprintf(uidstr, sizeof(uidstr), "%u", c->local_uid);
	chash = connection_hash(thishost, c->hostname, portstr, c->user);
	if (chash == NULL)
		return ERR_LIBCRYPTO;
	const struct token t[] = {
		{ 'C', chash },      { 'L', shorthost },  { 'i', uidstr },
		{ 'k', c->host_arg }, /* no HostKeyAlias: the host as given */
		{ 'l', thishost },   { 'n', c->host_arg }, { 'p', portstr },
		{ 'd', c->home_dir }, { 'h', c->hostname }, { 'r', c->user },
		{ 'u', c->local_user },
	};
	r = tilde_expand(in, c->home_dir, &tilde);
	if (r == 0)
		r = expand_tokens(tilde, t, sizeof(t) / sizeof(t[0]), true, out);
	g_free(tilde);
	g_free(chash);
	return r;
}

/* ---- keywords ------------------------------------------------------------- */

enum op {
	OP_UNKNOWN = 0,
	OP_IGNORED, /* an OpenSSH keyword sftpfs does not act on */
	OP_HOST,
	OP_MATCH,
	OP_INCLUDE,
	OP_HOSTNAME,
	OP_USER,
	OP_PORT,
	OP_IDENTITY_FILE,
	OP_CERTIFICATE_FILE,
	OP_IDENTITIES_ONLY,
	OP_IDENTITY_AGENT,
	OP_USER_KNOWN_HOSTS,
	OP_GLOBAL_KNOWN_HOSTS,
	OP_STRICT,
	OP_HASH_KNOWN_HOSTS,
	OP_UPDATE_HOSTKEYS,
	OP_PREFERRED_AUTH,
	OP_PUBKEY_AUTH,
	OP_PASSWORD_AUTH,
	OP_KBDINT_AUTH,
	OP_BATCH_MODE,
	OP_CONNECT_TIMEOUT,
	OP_SERVER_ALIVE_INTERVAL,
	OP_SERVER_ALIVE_COUNT_MAX,
	OP_TCP_KEEPALIVE,
	OP_COMPRESSION,
	OP_CIPHERS,
	OP_KEX,
	OP_MACS,
	OP_HOSTKEY_ALGS,
	OP_PUBKEY_ALGS,
	OP_REKEY_LIMIT,
	OP_ADDRESS_FAMILY,
	OP_BIND_ADDRESS,
	OP_PROXY_COMMAND,
	OP_PROXY_JUMP,
	OP_LOG_LEVEL,
	OP_IGNORE_UNKNOWN,
};

/* Keywords (lowercase) as OpenSSH 9.2 readconf.c knows them, aliases included. */
static const struct {
	const char *name;
	enum op op;
} keywords[] = {
	{ "host", OP_HOST },
	{ "match", OP_MATCH },
	{ "include", OP_INCLUDE },
	{ "hostname", OP_HOSTNAME },
	{ "user", OP_USER },
	{ "port", OP_PORT },
	{ "identityfile", OP_IDENTITY_FILE },
	{ "certificatefile", OP_CERTIFICATE_FILE },
	{ "identitiesonly", OP_IDENTITIES_ONLY },
	{ "identityagent", OP_IDENTITY_AGENT },
	{ "userknownhostsfile", OP_USER_KNOWN_HOSTS },
	{ "globalknownhostsfile", OP_GLOBAL_KNOWN_HOSTS },
	{ "stricthostkeychecking", OP_STRICT },
	{ "hashknownhosts", OP_HASH_KNOWN_HOSTS },
	{ "updatehostkeys", OP_UPDATE_HOSTKEYS },
	{ "preferredauthentications", OP_PREFERRED_AUTH },
	{ "pubkeyauthentication", OP_PUBKEY_AUTH },
	{ "dsaauthentication", OP_PUBKEY_AUTH },
	{ "passwordauthentication", OP_PASSWORD_AUTH },
	{ "kbdinteractiveauthentication", OP_KBDINT_AUTH },
	{ "challengeresponseauthentication", OP_KBDINT_AUTH },
	{ "skeyauthentication", OP_KBDINT_AUTH },
	{ "tisauthentication", OP_KBDINT_AUTH },
	{ "batchmode", OP_BATCH_MODE },
	{ "connecttimeout", OP_CONNECT_TIMEOUT },
	{ "serveraliveinterval", OP_SERVER_ALIVE_INTERVAL },
	{ "serveralivecountmax", OP_SERVER_ALIVE_COUNT_MAX },
	{ "tcpkeepalive", OP_TCP_KEEPALIVE },
	{ "keepalive", OP_TCP_KEEPALIVE },
	{ "compression", OP_COMPRESSION },
	{ "ciphers", OP_CIPHERS },
	{ "kexalgorithms", OP_KEX },
	{ "macs", OP_MACS },
	{ "hostkeyalgorithms", OP_HOSTKEY_ALGS },
	{ "pubkeyacceptedalgorithms", OP_PUBKEY_ALGS },
	{ "pubkeyacceptedkeytypes", OP_PUBKEY_ALGS },
	{ "rekeylimit", OP_REKEY_LIMIT },
	{ "addressfamily", OP_ADDRESS_FAMILY },
	{ "bindaddress", OP_BIND_ADDRESS },
	{ "proxycommand", OP_PROXY_COMMAND },
	{ "proxyjump", OP_PROXY_JUMP },
	{ "loglevel", OP_LOG_LEVEL },
	{ "ignoreunknown", OP_IGNORE_UNKNOWN },
	/* Known to OpenSSH, no effect in sftpfs. */
	{ "addkeystoagent", OP_IGNORED },          { "bindinterface", OP_IGNORED },
	{ "canonicaldomains", OP_IGNORED },        { "canonicalizefallbacklocal", OP_IGNORED },
	{ "canonicalizehostname", OP_IGNORED },    { "canonicalizemaxdots", OP_IGNORED },
	{ "canonicalizepermittedcnames", OP_IGNORED }, { "casignaturealgorithms", OP_IGNORED },
	{ "checkhostip", OP_IGNORED },             { "cipher", OP_IGNORED },
	{ "clearallforwardings", OP_IGNORED },     { "compressionlevel", OP_IGNORED },
	{ "connectionattempts", OP_IGNORED },      { "controlmaster", OP_IGNORED },
	{ "controlpath", OP_IGNORED },             { "controlpersist", OP_IGNORED },
	{ "dynamicforward", OP_IGNORED },          { "enableescapecommandline", OP_IGNORED },
	{ "enablesshkeysign", OP_IGNORED },        { "escapechar", OP_IGNORED },
	{ "exitonforwardfailure", OP_IGNORED },    { "fingerprinthash", OP_IGNORED },
	{ "forkafterauthentication", OP_IGNORED }, { "forwardagent", OP_IGNORED },
	{ "forwardx11", OP_IGNORED },              { "forwardx11timeout", OP_IGNORED },
	{ "forwardx11trusted", OP_IGNORED },       { "gatewayports", OP_IGNORED },
	{ "gssapiauthentication", OP_IGNORED },    { "gssapidelegatecredentials", OP_IGNORED },
	{ "gssapikeyexchange", OP_IGNORED },       { "gssapiclientidentity", OP_IGNORED },
	{ "gssapiserveridentity", OP_IGNORED },    { "gssapirenewalforcesrekey", OP_IGNORED },
	{ "gssapitrustdns", OP_IGNORED },          { "gssapikexalgorithms", OP_IGNORED },
	{ "hostbasedacceptedalgorithms", OP_IGNORED }, { "hostbasedkeytypes", OP_IGNORED },
	{ "hostbasedauthentication", OP_IGNORED }, { "hostkeyalias", OP_IGNORED },
	{ "ipqos", OP_IGNORED },                   { "kbdinteractivedevices", OP_IGNORED },
	{ "knownhostscommand", OP_IGNORED },       { "localcommand", OP_IGNORED },
	{ "localforward", OP_IGNORED },            { "logverbose", OP_IGNORED },
	{ "nohostauthenticationforlocalhost", OP_IGNORED }, { "numberofpasswordprompts", OP_IGNORED },
	{ "permitlocalcommand", OP_IGNORED },      { "permitremoteopen", OP_IGNORED },
	{ "pkcs11provider", OP_IGNORED },          { "protocol", OP_IGNORED },
	{ "proxyusefdpass", OP_IGNORED },          { "remotecommand", OP_IGNORED },
	{ "remoteforward", OP_IGNORED },           { "requesttty", OP_IGNORED },
	{ "requiredrsasize", OP_IGNORED },         { "revokedhostkeys", OP_IGNORED },
	{ "securitykeyprovider", OP_IGNORED },     { "sendenv", OP_IGNORED },
	{ "sessiontype", OP_IGNORED },             { "setenv", OP_IGNORED },
	{ "stdinnull", OP_IGNORED },               { "streamlocalbindmask", OP_IGNORED },
	{ "streamlocalbindunlink", OP_IGNORED },   { "syslogfacility", OP_IGNORED },
	{ "tunnel", OP_IGNORED },                  { "tunneldevice", OP_IGNORED },
	{ "useprivilegedport", OP_IGNORED },       { "useroaming", OP_IGNORED },
	{ "verifyhostkeydns", OP_IGNORED },        { "visualhostkey", OP_IGNORED },
	{ "xauthlocation", OP_IGNORED },
};

static enum op keyword_op(const char *kw)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		if (strcmp(keywords[i].name, kw) == 0)
			return keywords[i].op;
	}
	return OP_UNKNOWN;
}

/* LogLevel names (OpenSSH log.c); ssh -G prints the first name of a level. */
static const struct name_value log_level_names[] = {
	{ "SILENT", LOG_LEVEL_QUIET },  { "QUIET", LOG_LEVEL_QUIET },   { "FATAL", LOG_LEVEL_FATAL },
	{ "ERROR", LOG_LEVEL_ERROR },   { "INFO", LOG_LEVEL_INFO },
	{ "VERBOSE", LOG_LEVEL_VERBOSE }, { "DEBUG", LOG_LEVEL_DEBUG1 },
	{ "DEBUG1", LOG_LEVEL_DEBUG1 }, { "DEBUG2", LOG_LEVEL_DEBUG2 },
	{ "DEBUG3", LOG_LEVEL_DEBUG3 }, { NULL, 0 },
};

/* ---- configuration object --------------------------------------------------- */

static struct sshconfig *config_new(const char *host)
{
	struct sshconfig *c = calloc(1, sizeof(struct sshconfig));
	struct passwd *pw = getpwuid(getuid());

	if (c == NULL)
		return NULL;
	c->host_arg = g_strdup(host);
	c->port = -1;
	c->identities_only = -1;
	c->strict_host_key_checking = SSHCONFIG_STRICT_UNSET;
	c->hash_known_hosts = -1;
	c->update_host_keys = SSHCONFIG_UPDATE_HOSTKEYS_UNSET;
	c->pubkey_authentication = SSHCONFIG_PUBKEY_UNSET;
	c->password_authentication = -1;
	c->kbd_interactive_authentication = -1;
	c->batch_mode = -1;
	c->connect_timeout = -1;
	c->server_alive_interval = -1;
	c->server_alive_count_max = -1;
	c->tcp_keepalive = -1;
	c->compression = -1;
	c->rekey_limit = -1;
	c->rekey_interval = -1;
	c->address_family = SSHCONFIG_AF_UNSET;
	c->log_level = -1;
	c->local_uid = (unsigned)getuid();
	c->local_user = g_strdup(pw != NULL ? pw->pw_name : "unknown");
	c->home_dir = g_strdup(pw != NULL ? pw->pw_dir : "/");
	return c;
}

static void free_array(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		g_free(v[i]);
}

void sshconfig_free(struct sshconfig *c)
{
	if (c == NULL)
		return;
	g_free(c->host_arg);
	g_free(c->hostname);
	g_free(c->user);
	free_array(c->identity_files, c->n_identity_files);
	free_array(c->certificate_files, c->n_certificate_files);
	g_free(c->identity_agent);
	free_array(c->user_known_hosts, c->n_user_known_hosts);
	free_array(c->global_known_hosts, c->n_global_known_hosts);
	g_free(c->preferred_authentications);
	g_free(c->ciphers);
	g_free(c->kex_algorithms);
	g_free(c->macs);
	g_free(c->host_key_algorithms);
	g_free(c->pubkey_accepted_algorithms);
	g_free(c->bind_address);
	g_free(c->proxy_command);
	g_free(c->proxy_jump);
	g_free(c->ignore_unknown);
	g_free(c->local_user);
	g_free(c->home_dir);
	free(c);
}

int sshconfig_reader_new(const char *host, unsigned flags, struct sshconfig_reader **out)
{
	struct sshconfig_reader *r;

	*out = NULL;
	if (host == NULL)
		return ERR_INVALID_ARGUMENT;
	r = calloc(1, sizeof(struct sshconfig_reader));
	if (r == NULL)
		return ERR_ALLOC_FAIL;
	r->cfg = config_new(host);
	if (r->cfg == NULL) {
		free(r);
		return ERR_ALLOC_FAIL;
	}
	r->host = g_strdup(host);
	r->active = true;
	r->flags = flags;
	*out = r;
	return 0;
}

void sshconfig_reader_free(struct sshconfig_reader *r)
{
	if (r == NULL)
		return;
	sshconfig_free(r->cfg);
	g_free(r->host);
	free(r);
}

/* ---- Match ------------------------------------------------------------------- */

/* Runs a Match exec command through the shell; 1 when it exits 0. */
static int match_exec(const char *cmd)
{
	const char *shell = getenv("SHELL");
	pid_t pid;
	int status;

	if (shell == NULL || *shell == '\0')
		shell = "/bin/sh";
	pid = fork();
	if (pid < 0)
		return ERR_SYSTEM;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		/* readconf.c execute_in_shell: stdin and stdout to /dev/null, stderr kept. */
		if (devnull >= 0) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			if (devnull > STDERR_FILENO)
				close(devnull);
		}
		execl(shell, shell, "-c", cmd, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return ERR_SYSTEM;
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 1 : 0;
}

/*
 * readconf.c match_cfg_line: criteria are ANDed; "!" negates one; all must
 * stand alone; canonical and final are true only in the final pass (sftpfs
 * never canonicalises, so that pass happens only when Match final appears);
 * host matches the HostName-so-far, originalhost the host as given.
 */
static int match_line(struct sshconfig_reader *r, struct words *w, const char *file, unsigned ln,
                      int *matched)
{
	struct sshconfig *c = r->cfg;
	int result = 1, attributes = 0, rr;
	const char *attrib;
	char *host = NULL, *orighost = NULL;

	*matched = 0;
	if (c->hostname != NULL) {
		const struct token t[] = { { 'h', c->host_arg } };

		if (expand_tokens(c->hostname, t, 1, false, &host) != 0)
			return config_error(r, file, ln, "bad HostName token in Match");
	} else {
		host = g_strdup(c->host_arg);
	}
	/* match.c match_hostname lowercases the name (and the patterns). */
	orighost = g_ascii_strdown(c->host_arg, -1);
	for (char *p = host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	while ((attrib = words_next(w)) != NULL) {
		bool negate = attrib[0] == '!';
		const char *arg;
		int m;

		if (negate)
			attrib++;
		if (strcasecmp(attrib, "all") == 0) {
			if (attributes > 1 || words_left(w) > 0) {
				rr = config_error(r, file, ln, "'all' cannot be combined with other Match attributes");
				goto fail;
			}
			if (result)
				result = negate ? 0 : 1;
			goto done;
		}
		attributes++;
		if (strcasecmp(attrib, "canonical") == 0 || strcasecmp(attrib, "final") == 0) {
			if (strcasecmp(attrib, "final") == 0)
				r->want_final_pass = true;
			m = r->final_pass;
			if (m == (negate ? 1 : 0))
				result = 0;
			continue;
		}
		arg = words_next(w);
		if (arg == NULL || *arg == '\0') {
			rr = config_error(r, file, ln, "Missing Match criteria for %s", attrib);
			goto fail;
		}
		if (strcasecmp(attrib, "host") == 0) {
			m = sshconfig_match_pattern_list(host, arg, true) == 1;
		} else if (strcasecmp(attrib, "originalhost") == 0) {
			m = sshconfig_match_pattern_list(orighost, arg, true) == 1;
		} else if (strcasecmp(attrib, "user") == 0) {
			m = sshconfig_match_pattern_list(c->user != NULL ? c->user : c->local_user, arg, false) == 1;
		} else if (strcasecmp(attrib, "localuser") == 0) {
			m = sshconfig_match_pattern_list(c->local_user, arg, false) == 1;
		} else if (strcasecmp(attrib, "exec") == 0) {
			struct sshconfig tmp = *c;
			char *cmd = NULL;

			if (result != 1 || (r->flags & SSHCONFIG_NO_SIDE_EFFECTS) != 0) {
				/* Skipped after a failed criterion, as ssh; never run when fuzzing. */
				m = !negate;
				if ((r->flags & SSHCONFIG_NO_SIDE_EFFECTS) != 0)
					m = 0;
			} else {
				tmp.hostname = host;
				tmp.user = c->user != NULL ? c->user : c->local_user;
				tmp.port = c->port > 0 ? c->port : 22;
				if (sshconfig_expand_path(&tmp, arg, &cmd) != 0) {
					rr = config_error(r, file, ln, "bad token in Match exec");
					goto fail;
				}
				m = match_exec(cmd);
				g_free(cmd);
				if (m < 0) {
					rr = config_error(r, file, ln, "Match exec failed to run");
					goto fail;
				}
			}
		} else {
			rr = config_error(r, file, ln, "Unsupported Match attribute %s", attrib);
			goto fail;
		}
		if (m == (negate ? 1 : 0))
			result = 0;
	}
	if (attributes == 0) {
		rr = config_error(r, file, ln, "One or more attributes required for Match");
		goto fail;
	}
done:
	log_debug2(LOG_CAT_CONFIG, "%s line %u: match %sfound", file, ln, result ? "" : "not ");
	*matched = result;
	g_free(host);
	g_free(orighost);
	return 0;
fail:
	g_free(host);
	g_free(orighost);
	return rr;
}

/* ---- one line ------------------------------------------------------------------ */

static int read_file(struct sshconfig_reader *r, const char *path, unsigned fflags, bool *activep,
                     int depth);

/* misc.c strdelim(split_equals): cuts the first word of *s (whitespace, one
 * '=', or a "quoted" word) and advances *s past the separators. */
static char *strdelim_eq(char **s)
{
	char *old = *s, *p;
	bool wspace = false;

	if (old == NULL)
		return NULL;
	p = strpbrk(old, WHITESPACE "\"=");
	if (p == NULL) {
		*s = NULL;
		return old;
	}
	if (*p == '"') {
		memmove(p, p + 1, strlen(p));
		p = strchr(p, '"');
		if (p == NULL) {
			*s = NULL;
			return NULL;
		}
		*p = '\0';
		*s = p + 1 + strspn(p + 1, WHITESPACE);
		return old;
	}
	if (*p == '=')
		wspace = true;
	*p = '\0';
	p += strspn(p + 1, WHITESPACE) + 1;
	if (*p == '=' && !wspace)
		p += strspn(p + 1, WHITESPACE) + 1;
	*s = p;
	return old;
}

static int set_string(char **dst, const char *v, bool active)
{
	if (active && *dst == NULL)
		*dst = g_strdup(v);
	return 0;
}

static void set_int(int *dst, int v, bool active)
{
	if (active && *dst == -1)
		*dst = v;
}

/* readconf.c add_identity_file: append unless already listed. */
static void add_file(char **v, size_t *n, const char *path)
{
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(v[i], path) == 0)
			return;
	}
	v[(*n)++] = g_strdup(path);
}

/* "[user@]host[:port]" with [v6]:port (misc.c parse_user_host_port), or
 * an ssh:// URI (misc.c parse_ssh_uri, no path allowed). */
int sshconfig_parse_hop(const char *hop, char **user, char **host, int *port)
{
	const char *s = hop, *at, *hp, *colon;
	char *h = NULL;
	int p = 0;

	*user = *host = NULL;
	*port = 0;
	if (g_ascii_strncasecmp(s, "ssh://", 6) == 0) {
		s += 6;
		if (strchr(s, '/') != NULL && s[strcspn(s, "/")] == '/' && s[strcspn(s, "/") + 1] != '\0')
			return ERR_CONFIG;
	}
	at = strrchr(s, '@');
	hp = at != NULL ? at + 1 : s;
	if (at != NULL && at == s)
		return ERR_CONFIG;
	if (*hp == '[') {
		const char *end = strchr(hp, ']');

		if (end == NULL || end == hp + 1)
			return ERR_CONFIG;
		h = g_strndup(hp + 1, (size_t)(end - hp - 1));
		colon = end[1] == ':' ? end + 1 : NULL;
		if (colon == NULL && end[1] != '\0' && strcmp(end + 1, "/") != 0)
			goto bad;
	} else {
		size_t n = strcspn(hp, ":/");

		if (n == 0)
			return ERR_CONFIG;
		h = g_strndup(hp, n);
		colon = hp[n] == ':' ? hp + n : NULL;
		if (colon == NULL && hp[n] != '\0' && strcmp(hp + n, "/") != 0)
			goto bad;
	}
	if (colon != NULL) {
		char *ps = g_strndup(colon + 1, strcspn(colon + 1, "/"));
		int rr = parse_port(ps, &p);

		g_free(ps);
		if (rr != 0)
			goto bad;
	}
	if (at != NULL)
		*user = g_strndup(s, (size_t)(at - s));
	*host = h;
	*port = p;
	return 0;
bad:
	g_free(h);
	return ERR_CONFIG;
}

/* readconf.c parse_jump: every hop must parse; the last one is connected to
 * first. Sets ProxyJump only when neither ProxyCommand nor ProxyJump is set. */
static int parse_jump(struct sshconfig *c, const char *s, bool active)
{
	char *list = g_strdup(s), *cp;
	char **hops;
	int r = 0;

	if ((cp = strchr(list, '#')) != NULL)
		*cp = '\0';
	g_strchomp(list);
	active = active && c->proxy_command == NULL && c->proxy_jump == NULL;
	if (strcasecmp(list, "none") == 0) {
		if (active)
			c->proxy_jump = g_strdup("none");
		g_free(list);
		return 0;
	}
	hops = g_strsplit(list, ",", -1);
	for (size_t i = 0; hops[i] != NULL; i++) {
		char *u, *h;
		int p;

		if (sshconfig_parse_hop(hops[i], &u, &h, &p) != 0) {
			r = ERR_CONFIG;
			break;
		}
		g_free(u);
		g_free(h);
	}
	g_strfreev(hops);
	if (r == 0 && active) {
		c->proxy_jump = list;
		list = NULL;
		g_free(c->proxy_command);
		c->proxy_command = g_strdup("none");
	}
	g_free(list);
	return r;
}

static int known_hosts_files(struct sshconfig_reader *r, struct words *w, char **v, size_t *n,
                             bool active, const char *kw, const char *file, unsigned ln)
{
	bool was_empty = *n == 0;
	size_t i = 0;
	const char *arg;

	while ((arg = words_next(w)) != NULL) {
		if (*arg == '\0')
			return config_error(r, file, ln, "keyword %s empty argument", kw);
		if (strcasecmp(arg, "none") == 0 && (i > 0 || words_left(w) > 0))
			return config_error(r, file, ln, "keyword %s \"none\" argument must appear alone.", kw);
		i++;
		if (active && was_empty) {
			if (*n >= SSHCONFIG_HOSTS_FILES_MAX)
				return config_error(r, file, ln, "too many %s entries.", kw);
			v[(*n)++] = g_strdup(arg);
		}
	}
	return 0;
}

static int include_files(struct sshconfig_reader *r, struct words *w, unsigned fflags, bool *activep,
                         int depth, const char *file, unsigned ln)
{
	const char *arg;

	while ((arg = words_next(w)) != NULL) {
		char *path;
		glob_t gl;
		int gr;
		bool oactive = *activep;

		if (*arg == '\0')
			return config_error(r, file, ln, "keyword include empty argument");
		if ((r->flags & SSHCONFIG_NO_SIDE_EFFECTS) != 0)
			continue;
		/* User files may say "~/", system ones must be anchored; relative
		 * paths live in ~/.ssh (user) or /etc/ssh (system). GLOB_TILDE
		 * expands "~" from $HOME, exactly as ssh's glob() call does. */
		if (*arg == '~' && (fflags & FILE_USERCONF) == 0)
			return config_error(r, file, ln, "bad include path %s.", arg);
		if (*arg != '/' && *arg != '~')
			path = g_strdup_printf("%s/%s", (fflags & FILE_USERCONF) ? "~/.ssh" : "/etc/ssh", arg);
		else
			path = g_strdup(arg);
		memset(&gl, 0, sizeof(gl));
		gr = glob(path, GLOB_TILDE, NULL, &gl);
		if (gr == GLOB_NOMATCH) {
			log_debug(LOG_CAT_CONFIG, "%s line %u: include %s matched no files", file, ln, path);
			g_free(path);
			continue;
		}
		if (gr != 0) {
			g_free(path);
			return config_error(r, file, ln, "include \"%s\" glob failed", arg);
		}
		for (size_t i = 0; i < gl.gl_pathc; i++) {
			int rr = read_file(r, gl.gl_pathv[i],
			                   fflags | FILE_CHECKPERM | (oactive ? 0 : FILE_NEVERMATCH), activep,
			                   depth + 1);
			/* A Match in the included file does not leak out of it. */
			*activep = oactive;
			if (rr != 0 && rr != ERR_NO_SUCH_FILE) {
				globfree(&gl);
				g_free(path);
				return rr;
			}
		}
		globfree(&gl);
		g_free(path);
	}
	return 0;
}

/* readconf.c process_config_line_depth. activep is NULL for -o entries. */
static int process_line(struct sshconfig_reader *r, const char *line_in, const char *file,
                        unsigned ln, bool *activep, unsigned fflags, int depth)
{
	struct sshconfig *c = r->cfg;
	struct words w = { .n = 0 };
	char *line = NULL, *str, *keyword;
	const char *arg;
	bool active = activep == NULL || *activep;
	bool cmdline = activep == NULL;
	size_t len;
	enum op op;
	int v, rr = ERR_CONFIG;

	len = strlen(line_in);
	if (len > CONFIG_LINE_MAX)
		return config_error(r, file, ln, "line too long");
	line = g_strdup(line_in);
	/* Strip trailing whitespace; \f at the end of a line is allowed. */
	while (len > 0 && strchr(WHITESPACE "\f", line[len - 1]) != NULL)
		line[--len] = '\0';
	str = line;
	keyword = strdelim_eq(&str);
	if (keyword != NULL && *keyword == '\0')
		keyword = strdelim_eq(&str);
	if (keyword == NULL || *keyword == '\0' || *keyword == '#') {
		rr = keyword == NULL && str == NULL && strchr(line_in, '"') != NULL
		             ? config_error(r, file, ln, "invalid quotes")
		             : 0;
		goto out;
	}
	for (char *k = keyword; *k != '\0'; k++)
		*k = (char)tolower((unsigned char)*k);
	if (str != NULL)
		str += strspn(str, WHITESPACE);
	if (str == NULL || *str == '\0') {
		rr = config_error(r, file, ln, "no argument after keyword \"%s\"", keyword);
		goto out;
	}
	op = keyword_op(keyword);
	if (op != OP_PROXY_COMMAND && op != OP_PROXY_JUMP) {
		int sr = words_split(str, &w);

		if (sr != 0) {
			rr = config_error(r, file, ln, sr == ERR_INVALID_FORMAT ? "invalid quotes"
			                                                      : "too many arguments");
			goto out;
		}
	}
	switch (op) {
	case OP_UNKNOWN:
		if (c->ignore_unknown != NULL && sshconfig_match_pattern_list(keyword, c->ignore_unknown, true) == 1)
			log_debug(LOG_CAT_CONFIG, "%s line %u: ignored unknown option \"%s\"", file, ln, keyword);
		else
			log_debug(LOG_CAT_CONFIG, "%s line %u: ignoring unknown option \"%s\"", file, ln, keyword);
		w.next = w.n;
		break;
	case OP_IGNORED:
		log_debug(LOG_CAT_CONFIG, "%s line %u: option \"%s\" has no effect in sftpfs", file, ln, keyword);
		w.next = w.n;
		break;
	case OP_HOST:
		if (cmdline) {
			rr = config_error(r, file, ln, "Host directive not supported as a command-line option");
			goto out;
		}
		*activep = false;
		while ((arg = words_next(&w)) != NULL) {
			bool negated;

			if (*arg == '\0') {
				rr = config_error(r, file, ln, "keyword host empty argument");
				goto out;
			}
			if ((fflags & FILE_NEVERMATCH) != 0) {
				w.next = w.n;
				break;
			}
			negated = *arg == '!';
			if (negated)
				arg++;
			if (sshconfig_match_pattern(r->host, arg)) {
				if (negated) {
					log_debug(LOG_CAT_CONFIG, "%s line %u: skipping Host block because of negated match for %s",
					          file, ln, arg);
					*activep = false;
					w.next = w.n;
					break;
				}
				*activep = true;
			}
		}
		break;
	case OP_MATCH:
		if (cmdline) {
			rr = config_error(r, file, ln, "Match directive not supported as a command-line option");
			goto out;
		}
		if (match_line(r, &w, file, ln, &v) != 0) {
			rr = config_error(r, file, ln, "Bad Match condition");
			goto out;
		}
		*activep = (fflags & FILE_NEVERMATCH) != 0 ? false : v != 0;
		w.next = w.n;
		break;
	case OP_INCLUDE:
		if (cmdline) {
			rr = config_error(r, file, ln, "Include directive not supported as a command-line option");
			goto out;
		}
		rr = include_files(r, &w, fflags, activep, depth, file, ln);
		if (rr != 0)
			goto out;
		break;
	case OP_HOSTNAME:
	case OP_USER:
	case OP_PREFERRED_AUTH:
	case OP_BIND_ADDRESS:
	case OP_IGNORE_UNKNOWN: {
		char **dst = op == OP_HOSTNAME ? &c->hostname
		             : op == OP_USER ? &c->user
		             : op == OP_PREFERRED_AUTH ? &c->preferred_authentications
		             : op == OP_BIND_ADDRESS ? &c->bind_address
		                                     : &c->ignore_unknown;

		arg = words_next(&w);
		if (arg == NULL || *arg == '\0') {
			rr = config_error(r, file, ln, "Missing argument.");
			goto out;
		}
		set_string(dst, arg, active);
		break;
	}
	case OP_PORT:
		arg = words_next(&w);
		if (arg == NULL || parse_port(arg, &v) != 0) {
			rr = config_error(r, file, ln, "Bad port '%s'.", arg != NULL ? arg : "");
			goto out;
		}
		set_int(&c->port, v, active);
		break;
	case OP_IDENTITY_FILE:
	case OP_CERTIFICATE_FILE: {
		bool id = op == OP_IDENTITY_FILE;
		size_t *n = id ? &c->n_identity_files : &c->n_certificate_files;
		size_t max = id ? SSHCONFIG_IDENTITY_FILES_MAX : SSHCONFIG_CERTIFICATE_FILES_MAX;

		arg = words_next(&w);
		if (arg == NULL || *arg == '\0') {
			rr = config_error(r, file, ln, "Missing argument.");
			goto out;
		}
		if (active) {
			if (*n >= max) {
				rr = config_error(r, file, ln, "Too many %s files specified (max %zu).",
				                  id ? "identity" : "certificate", max);
				goto out;
			}
			add_file(id ? c->identity_files : c->certificate_files, n, arg);
		}
		break;
	}
	case OP_IDENTITIES_ONLY:
	case OP_HASH_KNOWN_HOSTS:
	case OP_PASSWORD_AUTH:
	case OP_KBDINT_AUTH:
	case OP_BATCH_MODE:
	case OP_TCP_KEEPALIVE:
	case OP_COMPRESSION:
	case OP_STRICT:
	case OP_PUBKEY_AUTH:
	case OP_UPDATE_HOSTKEYS:
	case OP_ADDRESS_FAMILY: {
		const struct name_value *t = op == OP_STRICT ? strict_names
		                             : op == OP_PUBKEY_AUTH ? pubkey_names
		                             : op == OP_UPDATE_HOSTKEYS ? update_hostkeys_names
		                             : op == OP_ADDRESS_FAMILY ? address_family_names
		                                                       : flag_names;
		int *dst = op == OP_IDENTITIES_ONLY ? &c->identities_only
		           : op == OP_HASH_KNOWN_HOSTS ? &c->hash_known_hosts
		           : op == OP_PASSWORD_AUTH ? &c->password_authentication
		           : op == OP_KBDINT_AUTH ? &c->kbd_interactive_authentication
		           : op == OP_BATCH_MODE ? &c->batch_mode
		           : op == OP_TCP_KEEPALIVE ? &c->tcp_keepalive
		           : op == OP_COMPRESSION ? &c->compression
		           : op == OP_STRICT ? &c->strict_host_key_checking
		           : op == OP_PUBKEY_AUTH ? &c->pubkey_authentication
		           : op == OP_UPDATE_HOSTKEYS ? &c->update_host_keys
		                                      : &c->address_family;

		arg = words_next(&w);
		if (arg == NULL || *arg == '\0') {
			rr = config_error(r, file, ln, "missing argument.");
			goto out;
		}
		if (lookup_name(t, arg, &v) != 0) {
			rr = config_error(r, file, ln, "unsupported option \"%s\".", arg);
			goto out;
		}
		if (op == OP_UPDATE_HOSTKEYS && active)
			log_debug(LOG_CAT_CONFIG, "%s line %u: UpdateHostKeys is accepted but sftpfs never updates known_hosts from the server",
			          file, ln);
		set_int(dst, v, active);
		break;
	}
	case OP_IDENTITY_AGENT: {
		char *chk = NULL;
		static const struct token none[] = { { '\0', "" } };

		arg = words_next(&w);
		if (arg == NULL || *arg == '\0') {
			rr = config_error(r, file, ln, "Missing argument.");
			goto out;
		}
		/* Only ${ENV} is checked here; "%" tokens are expanded later. */
		if (strstr(arg, "${") != NULL) {
			GString *d = g_string_new("");

			for (const char *p = arg; *p != '\0'; p++) {
				if (*p == '%')
					g_string_append_c(d, '%');
				g_string_append_c(d, *p);
			}
			v = expand_tokens(d->str, none, 0, true, &chk);
			g_string_free(d, TRUE);
			g_free(chk);
			if (v != 0) {
				rr = config_error(r, file, ln, "Invalid environment expansion %s.", arg);
				goto out;
			}
		}
		if (arg[0] == '$' && arg[1] != '{') {
			bool ok = arg[1] != '\0' && !isdigit((unsigned char)arg[1]);

			for (const char *p = arg + 1; ok && *p != '\0'; p++)
				ok = isalnum((unsigned char)*p) || *p == '_';
			if (!ok) {
				rr = config_error(r, file, ln, "Invalid environment name %s.", arg);
				goto out;
			}
		}
		set_string(&c->identity_agent, arg, active);
		break;
	}
	case OP_USER_KNOWN_HOSTS:
		rr = known_hosts_files(r, &w, c->user_known_hosts, &c->n_user_known_hosts, active,
		                       "userknownhostsfile", file, ln);
		if (rr != 0)
			goto out;
		break;
	case OP_GLOBAL_KNOWN_HOSTS:
		rr = known_hosts_files(r, &w, c->global_known_hosts, &c->n_global_known_hosts, active,
		                       "globalknownhostsfile", file, ln);
		if (rr != 0)
			goto out;
		break;
	case OP_CONNECT_TIMEOUT:
	case OP_SERVER_ALIVE_INTERVAL:
		arg = words_next(&w);
		if (arg == NULL || parse_time(arg, &v) != 0) {
			rr = config_error(r, file, ln, "invalid time value.");
			goto out;
		}
		set_int(op == OP_CONNECT_TIMEOUT ? &c->connect_timeout : &c->server_alive_interval, v, active);
		break;
	case OP_SERVER_ALIVE_COUNT_MAX:
		arg = words_next(&w);
		if (arg == NULL || parse_int(arg, &v) != 0) {
			rr = config_error(r, file, ln, "invalid integer value.");
			goto out;
		}
		set_int(&c->server_alive_count_max, v, active);
		break;
	case OP_CIPHERS:
	case OP_KEX:
	case OP_MACS:
	case OP_HOSTKEY_ALGS:
	case OP_PUBKEY_ALGS: {
		enum sshconfig_alg_kind kind = op == OP_CIPHERS ? SSHCONFIG_ALG_CIPHERS
		                               : op == OP_KEX ? SSHCONFIG_ALG_KEX
		                               : op == OP_MACS ? SSHCONFIG_ALG_MACS
		                               : op == OP_HOSTKEY_ALGS ? SSHCONFIG_ALG_HOSTKEY
		                                                       : SSHCONFIG_ALG_PUBKEY;
		char **dst = op == OP_CIPHERS ? &c->ciphers
		             : op == OP_KEX ? &c->kex_algorithms
		             : op == OP_MACS ? &c->macs
		             : op == OP_HOSTKEY_ALGS ? &c->host_key_algorithms
		                                     : &c->pubkey_accepted_algorithms;

		arg = words_next(&w);
		if (arg == NULL || *arg == '\0') {
			rr = config_error(r, file, ln, "Missing argument.");
			goto out;
		}
		if (!algs_valid(arg, kind)) {
			rr = config_error(r, file, ln, "Bad %s spec '%s'.", keyword, arg);
			goto out;
		}
		set_string(dst, arg, active);
		break;
	}
	case OP_REKEY_LIMIT: {
		int64_t bytes = 0;

		arg = words_next(&w);
		if (arg == NULL || *arg == '\0') {
			rr = config_error(r, file, ln, "Missing argument.");
			goto out;
		}
		if (strcmp(arg, "default") != 0) {
			if (parse_scaled(arg, &bytes) != 0) {
				rr = config_error(r, file, ln, "Bad number '%s'", arg);
				goto out;
			}
			if (bytes != 0 && bytes < 16) {
				rr = config_error(r, file, ln, "RekeyLimit too small");
				goto out;
			}
		}
		if (active && c->rekey_limit == -1)
			c->rekey_limit = bytes;
		arg = words_next(&w);
		if (arg != NULL && strcmp(arg, "none") != 0) {
			if (parse_time(arg, &v) != 0) {
				rr = config_error(r, file, ln, "invalid time value.");
				goto out;
			}
			set_int(&c->rekey_interval, v, active);
		}
		break;
	}
	case OP_PROXY_COMMAND: {
		/* The rest of the line, verbatim (quotes kept), as ssh stores it. */
		const char *rest = str + strspn(str, WHITESPACE "=");

		/* A ProxyJump hop list wins over a later ProxyCommand; "ProxyJump
		 * none" does not (observed with ssh -G 9.2). */
		if (active && c->proxy_command == NULL &&
		    (c->proxy_jump == NULL || strcmp(c->proxy_jump, "none") == 0))
			c->proxy_command = g_strdup(rest);
		break;
	}
	case OP_PROXY_JUMP:
		if (parse_jump(c, str + strspn(str, WHITESPACE "="), active) != 0) {
			rr = config_error(r, file, ln, "Invalid ProxyJump \"%s\"", str);
			goto out;
		}
		break;
	case OP_LOG_LEVEL:
		arg = words_next(&w);
		if (arg == NULL || lookup_name(log_level_names, arg, &v) != 0) {
			rr = config_error(r, file, ln, "unsupported log level '%s'", arg != NULL ? arg : "");
			goto out;
		}
		set_int(&c->log_level, v, active);
		break;
	}
	if (words_left(&w) > 0) {
		rr = config_error(r, file, ln, "keyword %s extra arguments at end of line", keyword);
		goto out;
	}
	rr = 0;
out:
	words_clear(&w);
	g_free(line);
	return rr;
}

int sshconfig_read_line(struct sshconfig_reader *r, const char *line, const char *file, unsigned linenum)
{
	return process_line(r, line, file, linenum, &r->active, FILE_USERCONF, 0);
}

/* readconf.c read_config_file_depth. ERR_NO_SUCH_FILE when it does not exist. */
static int read_file(struct sshconfig_reader *r, const char *path, unsigned fflags, bool *activep,
                     int depth)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	unsigned ln = 0;
	int rr = 0;

	if (depth < 0 || depth > CONFIG_INCLUDE_DEPTH_MAX)
		return config_error(r, path, 0, "Too many recursive configuration includes");
	f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? ERR_NO_SUCH_FILE : config_error(r, path, 0, "cannot open: %s", strerror(errno));
	if ((fflags & FILE_CHECKPERM) != 0 && (r->flags & SSHCONFIG_NO_PERM_CHECK) == 0) {
		struct stat st;

		if (fstat(fileno(f), &st) != 0 || (st.st_uid != 0 && st.st_uid != getuid()) ||
		    (st.st_mode & 022) != 0) {
			fclose(f);
			return config_error(r, path, 0, "Bad owner or permissions on %s", path);
		}
	}
	log_debug(LOG_CAT_CONFIG, "Reading configuration data %s", path);
	while ((n = getline(&line, &cap, f)) != -1) {
		ln++;
		if (n > 0 && line[n - 1] == '\n')
			line[n - 1] = '\0';
		if (strlen(line) != (size_t)(n > 0 && line[n - 1] == '\0' ? n - 1 : n)) {
			rr = config_error(r, path, ln, "embedded NUL");
			break;
		}
		rr = process_line(r, line, path, ln, activep, fflags, depth);
		if (rr != 0)
			break;
	}
	free(line);
	fclose(f);
	return rr;
}

/* ---- resolution ---------------------------------------------------------------- */

static int read_files(struct sshconfig_reader *r, const struct sshconfig_args *a)
{
	bool active;
	char *user_config;
	int rr;

	if (a->config_file != NULL) {
		if (strcasecmp(a->config_file, "none") == 0)
			return 0;
		active = true;
		rr = read_file(r, a->config_file, FILE_USERCONF, &active, 0);
		if (rr == ERR_NO_SUCH_FILE)
			return config_error(r, a->config_file, 0, "Can't open user config file: %s", strerror(ENOENT));
		return rr;
	}
	user_config = g_strdup_printf("%s/.ssh/config", r->cfg->home_dir);
	active = true;
	rr = read_file(r, user_config, FILE_USERCONF | FILE_CHECKPERM, &active, 0);
	g_free(user_config);
	if (rr != 0 && rr != ERR_NO_SUCH_FILE)
		return rr;
	active = true;
	rr = read_file(r, a->system_config != NULL ? a->system_config : "/etc/ssh/ssh_config", 0, &active, 0);
	return rr == ERR_NO_SUCH_FILE ? 0 : rr;
}

static int expand_user_paths(struct sshconfig_reader *r)
{
	struct sshconfig *c = r->cfg;
	char *x;

	for (size_t i = 0; i < c->n_user_known_hosts; i++) {
		if (sshconfig_expand_path(c, c->user_known_hosts[i], &x) != 0)
			return config_error(r, "UserKnownHostsFile", 0, "cannot expand \"%s\"", c->user_known_hosts[i]);
		g_free(c->user_known_hosts[i]);
		c->user_known_hosts[i] = x;
	}
	/* "none", "SSH_AUTH_SOCK" and the legacy "$NAME" form are kept for the
	 * agent code; paths (with ~, %tokens and ${NAME}) are expanded now. */
	if (c->identity_agent != NULL && strcmp(c->identity_agent, "none") != 0 &&
	    strcmp(c->identity_agent, "SSH_AUTH_SOCK") != 0 &&
	    !(c->identity_agent[0] == '$' && c->identity_agent[1] != '{')) {
		if (sshconfig_expand_path(c, c->identity_agent, &x) != 0)
			return config_error(r, "IdentityAgent", 0, "cannot expand \"%s\"", c->identity_agent);
		g_free(c->identity_agent);
		c->identity_agent = x;
	}
	return 0;
}

/* readconf.c fill_default_options and ssh.c main(), for the keywords we keep. */
static void fill_defaults(struct sshconfig *c)
{
	static const char *const default_ids[] = {
		"~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
		"~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa",
	};

	if (c->n_identity_files == 0) {
		for (size_t i = 0; i < sizeof(default_ids) / sizeof(default_ids[0]); i++)
			c->identity_files[c->n_identity_files++] = g_strdup(default_ids[i]);
	}
	if (c->update_host_keys == SSHCONFIG_UPDATE_HOSTKEYS_UNSET) {
		bool default_files = c->n_user_known_hosts == 0 ||
		                     (c->n_user_known_hosts == 1 &&
		                      strcmp(c->user_known_hosts[0], "~/.ssh/known_hosts") == 0);

		c->update_host_keys = default_files ? SSHCONFIG_UPDATE_HOSTKEYS_YES : SSHCONFIG_UPDATE_HOSTKEYS_NO;
	}
	if (c->n_user_known_hosts == 0) {
		c->user_known_hosts[c->n_user_known_hosts++] = g_strdup("~/.ssh/known_hosts");
		c->user_known_hosts[c->n_user_known_hosts++] = g_strdup("~/.ssh/known_hosts2");
	}
	if (c->n_global_known_hosts == 0) {
		c->global_known_hosts[c->n_global_known_hosts++] = g_strdup("/etc/ssh/ssh_known_hosts");
		c->global_known_hosts[c->n_global_known_hosts++] = g_strdup("/etc/ssh/ssh_known_hosts2");
	}
	if (c->port <= 0)
		c->port = 22;
	if (c->user == NULL)
		c->user = g_strdup(c->local_user);
	if (c->identities_only == -1)
		c->identities_only = 0;
	if (c->strict_host_key_checking == SSHCONFIG_STRICT_UNSET)
		c->strict_host_key_checking = SSHCONFIG_STRICT_ASK;
	if (c->hash_known_hosts == -1)
		c->hash_known_hosts = 0;
	if (c->pubkey_authentication == SSHCONFIG_PUBKEY_UNSET)
		c->pubkey_authentication = SSHCONFIG_PUBKEY_YES;
	if (c->password_authentication == -1)
		c->password_authentication = 1;
	if (c->kbd_interactive_authentication == -1)
		c->kbd_interactive_authentication = 1;
	if (c->batch_mode == -1)
		c->batch_mode = 0;
	if (c->server_alive_interval == -1)
		c->server_alive_interval = c->batch_mode == 1 ? 300 : 0; /* 5 minutes in batch mode */
	if (c->server_alive_count_max == -1)
		c->server_alive_count_max = 3;
	if (c->tcp_keepalive == -1)
		c->tcp_keepalive = 1;
	if (c->compression == -1)
		c->compression = 0;
	if (c->rekey_limit == -1)
		c->rekey_limit = 0;
	if (c->rekey_interval == -1)
		c->rekey_interval = 0;
	if (c->address_family == SSHCONFIG_AF_UNSET)
		c->address_family = SSHCONFIG_AF_ANY;
	if (c->log_level == -1)
		c->log_level = LOG_LEVEL_INFO;
	if (c->proxy_command != NULL && strcmp(c->proxy_command, "none") == 0) {
		g_free(c->proxy_command);
		c->proxy_command = NULL;
	}
	if (c->proxy_jump != NULL && strcasecmp(c->proxy_jump, "none") == 0) {
		g_free(c->proxy_jump);
		c->proxy_jump = NULL;
	}
}

/* HostName with %h, lowercased (addresses with ':' are left alone). */
static int resolve_hostname(struct sshconfig_reader *r)
{
	struct sshconfig *c = r->cfg;
	const struct token t[] = { { 'h', c->host_arg } };
	char *h = NULL;

	if (c->hostname != NULL) {
		if (expand_tokens(c->hostname, t, 1, false, &h) != 0)
			return config_error(r, "HostName", 0, "bad token in \"%s\" (only %%h and %%%% are allowed)",
			                    c->hostname);
	} else {
		h = g_strdup(c->host_arg);
	}
	if (strchr(h, ':') == NULL) {
		for (char *p = h; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	g_free(c->hostname);
	c->hostname = h;
	return 0;
}

int sshconfig_resolve(const char *host, const struct sshconfig_args *a, struct sshconfig **out, char **errmsg)
{
	struct sshconfig_reader *r = NULL;
	int rr = ERR_INTERNAL;

	*out = NULL;
	if (errmsg != NULL)
		*errmsg = NULL;
	if (host == NULL || *host == '\0' || a == NULL || a->n_options > SSHCONFIG_CMDLINE_OPTIONS_MAX)
		return ERR_INVALID_ARGUMENT;
	rr = sshconfig_reader_new(host, a->flags, &r);
	if (rr != 0)
		return rr;
	/* -o entries are read first (ssh handles them while parsing argv), then
	 * -l/-p and user@host, which only fill what -o left unset. */
	for (size_t i = 0; i < a->n_options; i++) {
		rr = process_line(r, a->options[i], "command-line", (unsigned)i + 1, NULL, FILE_USERCONF | FILE_CMDLINE, 0);
		if (rr != 0)
			goto out;
	}
	if (a->user != NULL && r->cfg->user == NULL)
		r->cfg->user = g_strdup(a->user);
	if (a->port > 0 && r->cfg->port == -1)
		r->cfg->port = a->port;
	rr = read_files(r, a);
	if (rr != 0)
		goto out;
	rr = resolve_hostname(r);
	if (rr != 0)
		goto out;
	if (r->want_final_pass) {
		/* Match final: re-read with Host matching the resolved name. */
		log_debug(LOG_CAT_CONFIG, "re-parsing configuration");
		g_free(r->host);
		r->host = g_strdup(r->cfg->hostname);
		r->final_pass = true;
		rr = read_files(r, a);
		if (rr != 0)
			goto out;
	}
	fill_defaults(r->cfg);
	rr = expand_user_paths(r);
	if (rr != 0)
		goto out;
	*out = r->cfg;
	r->cfg = NULL;
	rr = 0;
out:
	if (rr != 0 && errmsg != NULL && r->err[0] != '\0')
		*errmsg = g_strdup(r->err);
	sshconfig_reader_free(r);
	return rr;
}
