/*
 * test-knownhosts.c - known_hosts parsing, host matching (patterns,
 * negation, [host]:port, hashed names made by ssh-keygen -H), the
 * OK/NEW/CHANGED/REVOKED decisions including @cert-authority host
 * certificates, safe appending, and the StrictHostKeyChecking policy of
 * knownhosts_verify. Keys and the hashed line are vectors made by OpenSSH's
 * ssh-keygen (tests/vectors/knownhosts/README).
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "keyfile.h"
#include "knownhosts.h"
#include "sshconfig.h"
#include "sshkey.h"

static char *vector_path(const char *name)
{
	const char *top = g_getenv("top_srcdir");

	return g_build_filename(top != NULL ? top : "..", "tests", "vectors", "knownhosts", name, NULL);
}

static struct sshkey *load_key(const char *name)
{
	char *p = vector_path(name);
	struct sshkey *k = NULL;

	g_assert_cmpint(keyfile_load_public(p, &k), ==, 0);
	g_free(p);
	return k;
}

/* "type base64" of a .pub vector. */
static char *key_text(const char *name)
{
	char *p = vector_path(name), *text = NULL, **f;
	char *s;

	g_assert_true(g_file_get_contents(p, &text, NULL, NULL));
	f = g_strsplit(text, " ", 3);
	s = g_strdup_printf("%s %s", f[0], f[1]);
	g_strfreev(f);
	g_free(text);
	g_free(p);
	return s;
}

struct fixture {
	char *dir;
	char *file;
};

static void fixture_set_up(struct fixture *fx, gconstpointer unused)
{
	fx->dir = g_dir_make_tmp("kh-XXXXXX", NULL);
	g_assert_nonnull(fx->dir);
	fx->file = g_build_filename(fx->dir, "known_hosts", NULL);
}

static void fixture_tear_down(struct fixture *fx, gconstpointer unused)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", fx->dir);

	g_assert_cmpint(system(cmd), ==, 0);
	g_free(cmd);
	g_free(fx->file);
	g_free(fx->dir);
}

static void write_file(const char *path, const char *text)
{
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void test_parse(void)
{
	struct knownhosts_entry e;
	char *a = key_text("host_a.pub");
	char *line;

	line = g_strdup_printf("example.com,10.0.0.1 %s comment here", a);
	g_assert_cmpint(knownhosts_parse_line(line, strlen(line), &e), ==, 0);
	g_assert_cmpstr(e.hosts, ==, "example.com,10.0.0.1");
	g_assert_cmpstr(e.key_type, ==, "ssh-ed25519");
	g_assert_cmpint(e.marker, ==, KNOWNHOSTS_MARKER_NONE);
	g_assert_cmpuint(e.blob_len, ==, 51);
	knownhosts_entry_clear(&e);
	g_free(line);

	line = g_strdup_printf("  @cert-authority *.example.com %s\n", a);
	g_assert_cmpint(knownhosts_parse_line(line, strlen(line), &e), ==, 0);
	g_assert_cmpint(e.marker, ==, KNOWNHOSTS_MARKER_CERT_AUTHORITY);
	knownhosts_entry_clear(&e);
	g_free(line);

	line = g_strdup_printf("@revoked * %s", a);
	g_assert_cmpint(knownhosts_parse_line(line, strlen(line), &e), ==, 0);
	g_assert_cmpint(e.marker, ==, KNOWNHOSTS_MARKER_REVOKED);
	knownhosts_entry_clear(&e);
	g_free(line);

	/* Blank and comment lines: success, no entry. */
	g_assert_cmpint(knownhosts_parse_line("", 0, &e), ==, 0);
	g_assert_null(e.hosts);
	g_assert_cmpint(knownhosts_parse_line("   # comment", 12, &e), ==, 0);
	g_assert_null(e.hosts);
	/* Malformed lines. */
	const char *bad[] = {
		"@unknown host ssh-ed25519 AAAA",
		"hostonly",
		"host ssh-ed25519",
		"host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI!!!",
		"host ssh-ed25519 AAA",
		"host ssh-ed25519 AA==AA==",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(knownhosts_parse_line(bad[i], strlen(bad[i]), &e), ==, ERR_INVALID_FORMAT);
	/* Embedded NUL. */
	g_assert_cmpint(knownhosts_parse_line("host\0x ssh-ed25519 AAAA", 23, &e), ==, ERR_INVALID_FORMAT);
	g_free(a);
}

static void test_parse_truncations(void)
{
	char *a = key_text("host_a.pub");
	char *line = g_strdup_printf("@cert-authority host1,[host2]:2222 %s comment", a);

	/* Every prefix parses or fails cleanly; entries from prefixes never
	 * carry a blob that did not decode. */
	for (size_t cut = 0; cut <= strlen(line); cut++) {
		struct knownhosts_entry e;
		int r = knownhosts_parse_line(line, cut, &e);

		g_assert_true(r == 0 || r == ERR_INVALID_FORMAT);
		if (r == 0 && e.hosts != NULL)
			g_assert_nonnull(e.blob);
		knownhosts_entry_clear(&e);
	}
	g_free(line);
	g_free(a);
}

static void test_match(void)
{
	char *hashed_path = vector_path("hashed"), *hashed = NULL, *name, *h;

	g_assert_cmpint(knownhosts_match_hosts("example.com", "example.com"), ==, 1);
	g_assert_cmpint(knownhosts_match_hosts("EXAMPLE.com", "example.com"), ==, 1);
	g_assert_cmpint(knownhosts_match_hosts("a.com,example.com", "example.com"), ==, 1);
	g_assert_cmpint(knownhosts_match_hosts("*.example.com", "www.example.com"), ==, 1);
	g_assert_cmpint(knownhosts_match_hosts("*.example.com,!bad.example.com", "bad.example.com"), ==, -1);
	g_assert_cmpint(knownhosts_match_hosts("web?", "web1"), ==, 1);
	g_assert_cmpint(knownhosts_match_hosts("web?", "web12"), ==, 0);
	g_assert_cmpint(knownhosts_match_hosts("[example.com]:2222", "[example.com]:2222"), ==, 1);
	g_assert_cmpint(knownhosts_match_hosts("example.com", "[example.com]:2222"), ==, 0);
	g_assert_cmpint(knownhosts_match_hosts("[example.com]:2222", "example.com"), ==, 0);

	name = knownhosts_lookup_name("Example.COM", 22);
	g_assert_cmpstr(name, ==, "example.com");
	g_free(name);
	name = knownhosts_lookup_name("Example.COM", 2222);
	g_assert_cmpstr(name, ==, "[example.com]:2222");
	g_free(name);

	/* A line hashed by ssh-keygen -H matches the name and nothing else. */
	g_assert_true(g_file_get_contents(hashed_path, &hashed, NULL, NULL));
	*strchr(hashed, ' ') = '\0';
	g_assert_cmpint(knownhosts_match_hosts(hashed, "example.com"), ==, 1);
	g_assert_cmpint(knownhosts_match_hosts(hashed, "example.org"), ==, 0);
	/* Damaged hashes never match. */
	g_assert_cmpint(knownhosts_match_hosts("|1|abc|def", "example.com"), ==, 0);
	g_assert_cmpint(knownhosts_match_hosts("|1|", "example.com"), ==, 0);

	/* Our own hashing round-trips, with a fresh salt each time. */
	g_assert_cmpint(knownhosts_hash_name("[h.example]:2200", &h), ==, 0);
	g_assert_true(g_str_has_prefix(h, "|1|"));
	g_assert_cmpint(knownhosts_match_hosts(h, "[h.example]:2200"), ==, 1);
	g_assert_cmpint(knownhosts_match_hosts(h, "h.example"), ==, 0);
	{
		char *h2;

		g_assert_cmpint(knownhosts_hash_name("[h.example]:2200", &h2), ==, 0);
		g_assert_cmpstr(h, !=, h2);
		free(h2);
	}
	free(h);
	g_free(hashed);
	g_free(hashed_path);
}

static void check(const char *file, const char *host, uint16_t port, const struct sshkey *key,
                  enum knownhosts_status want, unsigned want_line)
{
	const char *files[] = { file };
	struct knownhosts_result res;

	g_assert_cmpint(knownhosts_check(files, 1, host, port, key, (uint64_t)time(NULL), &res), ==, 0);
	g_assert_cmpint(res.status, ==, want);
	if (want_line != 0) {
		g_assert_cmpstr(res.file, ==, file);
		g_assert_cmpuint(res.line, ==, want_line);
	}
	knownhosts_result_clear(&res);
}

static void test_check(struct fixture *fx, gconstpointer unused)
{
	struct sshkey *a = load_key("host_a.pub"), *b = load_key("host_b.pub"), *ec = load_key("host_ecdsa.pub");
	char *ta = key_text("host_a.pub"), *tb = key_text("host_b.pub"), *tec = key_text("host_ecdsa.pub");
	char *hashed_path = vector_path("hashed"), *hashed = NULL, *text;

	g_assert_true(g_file_get_contents(hashed_path, &hashed, NULL, NULL));
	text = g_strdup_printf("# known hosts\n"
	                       "garbage line\n"
	                       "alpha,beta %s\n"                 /* 3 */
	                       "[alpha]:2222 %s\n"               /* 4 */
	                       "*.corp,!evil.corp %s\n"          /* 5 */
	                       "gamma %s\n"                      /* 6 */
	                       "%s",                             /* 7: hashed example.com → a */
	                       ta, tb, ta, tec, hashed);
	write_file(fx->file, text);

	check(fx->file, "alpha", 22, a, KNOWNHOSTS_OK, 3);
	check(fx->file, "BETA", 22, a, KNOWNHOSTS_OK, 3);
	check(fx->file, "alpha", 22, b, KNOWNHOSTS_CHANGED, 3);
	check(fx->file, "alpha", 2222, b, KNOWNHOSTS_OK, 4);
	check(fx->file, "alpha", 2222, a, KNOWNHOSTS_CHANGED, 4);
	check(fx->file, "alpha", 2200, a, KNOWNHOSTS_NEW, 0);
	check(fx->file, "www.corp", 22, a, KNOWNHOSTS_OK, 5);
	check(fx->file, "evil.corp", 22, a, KNOWNHOSTS_NEW, 0);
	check(fx->file, "example.com", 22, a, KNOWNHOSTS_OK, 7);
	check(fx->file, "example.com", 22, b, KNOWNHOSTS_CHANGED, 7);
	/* Known only with another type: new, and said so. */
	{
		const char *files[] = { fx->file };
		struct knownhosts_result res;

		g_assert_cmpint(knownhosts_check(files, 1, "gamma", 22, a, 0, &res), ==, 0);
		g_assert_cmpint(res.status, ==, KNOWNHOSTS_NEW);
		g_assert_true(res.other_types_known);
		knownhosts_result_clear(&res);
	}
	/* Several keys for one host: each matches. */
	g_free(text);
	text = g_strdup_printf("multi %s\nmulti %s\n", tb, tec);
	write_file(fx->file, text);
	check(fx->file, "multi", 22, b, KNOWNHOSTS_OK, 1);
	check(fx->file, "multi", 22, ec, KNOWNHOSTS_OK, 2);
	/* A later matching line wins over an earlier conflicting one. */
	g_free(text);
	text = g_strdup_printf("dup %s\ndup %s\n", ta, tb);
	write_file(fx->file, text);
	check(fx->file, "dup", 22, b, KNOWNHOSTS_OK, 2);
	/* @revoked wins over a match. */
	g_free(text);
	text = g_strdup_printf("rev %s\n@revoked * %s\n", ta, ta);
	write_file(fx->file, text);
	check(fx->file, "rev", 22, a, KNOWNHOSTS_REVOKED, 2);
	/* Missing files are skipped. */
	{
		const char *files[] = { "/nonexistent/known_hosts", fx->file };
		struct knownhosts_result res;

		g_assert_cmpint(knownhosts_check(files, 2, "rev", 22, b, 0, &res), ==, 0);
		g_assert_cmpint(res.status, ==, KNOWNHOSTS_CHANGED);
		g_assert_cmpstr(res.file, ==, fx->file);
		g_assert_cmpuint(res.line, ==, 1);
		knownhosts_result_clear(&res);
	}
	sshkey_free(a);
	sshkey_free(b);
	sshkey_free(ec);
	g_free(ta);
	g_free(tb);
	g_free(tec);
	g_free(text);
	g_free(hashed);
	g_free(hashed_path);
}

static void test_cert_authority(struct fixture *fx, gconstpointer unused)
{
	struct sshkey *cert = load_key("host_a-cert.pub"), *expired = load_key("host_b-expired-cert.pub");
	char *tca = key_text("ca.pub"), *ta = key_text("host_a.pub"), *text;

	text = g_strdup_printf("@cert-authority *.example.com %s\n", tca);
	write_file(fx->file, text);
	check(fx->file, "cert.example.com", 22, cert, KNOWNHOSTS_OK, 1);
	/* Principal mismatch: the CA cannot vouch; the plain key is unknown. */
	check(fx->file, "other.example.com", 22, cert, KNOWNHOSTS_NEW, 0);
	/* Expired certificate: not accepted through the CA. */
	check(fx->file, "cert.example.com", 22, expired, KNOWNHOSTS_NEW, 0);
	/* CA not trusted for that host pattern. */
	check(fx->file, "cert.example.org", 22, cert, KNOWNHOSTS_NEW, 0);
	/* A plain entry for the certified key still matches (ssh's fallback). */
	g_free(text);
	text = g_strdup_printf("other.example.com %s\n", ta);
	write_file(fx->file, text);
	check(fx->file, "other.example.com", 22, cert, KNOWNHOSTS_OK, 1);
	/* A revoked CA revokes its certificates. */
	g_free(text);
	text = g_strdup_printf("@cert-authority * %s\n@revoked * %s\n", tca, tca);
	write_file(fx->file, text);
	check(fx->file, "cert.example.com", 22, cert, KNOWNHOSTS_REVOKED, 2);
	sshkey_free(cert);
	sshkey_free(expired);
	g_free(tca);
	g_free(ta);
	g_free(text);
}

static void test_add(struct fixture *fx, gconstpointer unused)
{
	struct sshkey *a = load_key("host_a.pub"), *b = load_key("host_b.pub"), *cert = load_key("host_a-cert.pub");
	char *nested = g_build_filename(fx->dir, "sub", "dir", "known_hosts", NULL);
	char *text = NULL;
	struct stat st;

	/* Creates the directory 0700 and appends a plain line. */
	g_assert_cmpint(knownhosts_add(nested, "NewHost", 22, a, false), ==, 0);
	check(nested, "newhost", 22, a, KNOWNHOSTS_OK, 1);
	{
		char *dir = g_path_get_dirname(nested);

		g_assert_cmpint(stat(dir, &st), ==, 0);
		g_assert_cmpint(st.st_mode & 0777, ==, 0700);
		g_free(dir);
	}
	/* Hashed, with a port; earlier lines untouched. */
	g_assert_cmpint(knownhosts_add(nested, "newhost", 2222, b, true), ==, 0);
	check(nested, "newhost", 2222, b, KNOWNHOSTS_OK, 2);
	check(nested, "newhost", 22, a, KNOWNHOSTS_OK, 1);
	g_assert_true(g_file_get_contents(nested, &text, NULL, NULL));
	g_assert_true(g_str_has_prefix(text, "newhost ssh-ed25519 "));
	g_assert_nonnull(strstr(text, "\n|1|"));
	g_assert_null(strstr(text, "2222"));
	g_free(text);
	/* A file without a final newline gets one before the new line. */
	write_file(fx->file, "# no newline at end");
	g_assert_cmpint(knownhosts_add(fx->file, "h", 22, a, false), ==, 0);
	check(fx->file, "h", 22, a, KNOWNHOSTS_OK, 2);
	/* A certificate is recorded as its plain key. */
	g_assert_cmpint(knownhosts_add(fx->file, "certhost", 22, cert, false), ==, 0);
	check(fx->file, "certhost", 22, a, KNOWNHOSTS_OK, 3);
	sshkey_free(a);
	sshkey_free(b);
	sshkey_free(cert);
	g_free(nested);
}

struct answers {
	const char *const *a;
	int n;
	int asked;
	char *last_question;
};

static int scripted_ask(void *ctx, const char *question, char **answer)
{
	struct answers *s = ctx;

	g_free(s->last_question);
	s->last_question = g_strdup(question);
	if (s->asked >= s->n)
		return ERR_CANCELLED;
	*answer = strdup(s->a[s->asked++]);
	return 0;
}

static int verify(const char *file, int strict, bool batch, bool hash, struct answers *ans,
                  const char *host, uint16_t port, const struct sshkey *key, char **message)
{
	const char *files[] = { file };
	struct knownhosts_verifier v = {
		.user_files = files, .n_user_files = 1, .strict = strict, .batch_mode = batch,
		.hash_known_hosts = hash, .ask = scripted_ask, .ask_ctx = ans,
	};
	int r = knownhosts_verify(&v, host, port, key);

	if (message != NULL)
		*message = g_strdup(v.message);
	knownhosts_verifier_clear(&v);
	return r;
}

static void test_policy(struct fixture *fx, gconstpointer unused)
{
	struct sshkey *a = load_key("host_a.pub"), *b = load_key("host_b.pub");
	struct answers none = { .n = 0 };
	char *msg = NULL, *fp = NULL;

	/* yes: unknown refused, nothing written. */
	g_assert_cmpint(verify(fx->file, SSHCONFIG_STRICT_YES, false, false, &none, "h", 22, a, &msg), ==,
	                ERR_HOSTKEY_UNKNOWN);
	g_assert_nonnull(strstr(msg, "strict checking"));
	g_free(msg);
	g_assert_false(g_file_test(fx->file, G_FILE_TEST_EXISTS));
	/* accept-new: added (hashed), then known. */
	g_assert_cmpint(verify(fx->file, SSHCONFIG_STRICT_ACCEPT_NEW, false, true, &none, "h", 2022, a, NULL), ==, 0);
	check(fx->file, "h", 2022, a, KNOWNHOSTS_OK, 1);
	g_assert_cmpint(verify(fx->file, SSHCONFIG_STRICT_YES, false, false, &none, "h", 2022, a, NULL), ==, 0);
	/* Changed: refused under every policy, with file:line in the message. */
	int policies[] = { SSHCONFIG_STRICT_ACCEPT_NEW, SSHCONFIG_STRICT_NO, SSHCONFIG_STRICT_ASK, SSHCONFIG_STRICT_YES };
	for (size_t i = 0; i < G_N_ELEMENTS(policies); i++) {
		struct answers yes = { .a = (const char *[]){ "yes" }, .n = 1 };

		g_assert_cmpint(verify(fx->file, policies[i], false, false, &yes, "h", 2022, b, &msg), ==,
		                ERR_HOSTKEY_CHANGED);
		g_assert_cmpint(yes.asked, ==, 0);
		{
			char *where = g_strdup_printf("%s:1", fx->file);

			g_assert_nonnull(strstr(msg, where));
			g_free(where);
		}
		g_free(msg);
		g_free(yes.last_question);
	}
	check(fx->file, "h", 2022, b, KNOWNHOSTS_CHANGED, 1);
	/* ask: "no" refuses; junk then the fingerprint accepts and records. */
	{
		struct answers no = { .a = (const char *[]){ "no" }, .n = 1 };

		g_assert_cmpint(verify(fx->file, SSHCONFIG_STRICT_ASK, false, false, &no, "asked", 22, a, NULL), ==,
		                ERR_HOSTKEY_UNKNOWN);
		g_assert_nonnull(strstr(no.last_question, "(yes/no/[fingerprint])?"));
		g_free(no.last_question);
	}
	g_assert_cmpint(sshkey_fingerprint(a, &fp), ==, 0);
	{
		struct answers fpans = { .a = (const char *[]){ "maybe", fp }, .n = 2 };

		g_assert_cmpint(verify(fx->file, SSHCONFIG_STRICT_ASK, false, false, &fpans, "asked", 22, a, NULL), ==, 0);
		g_assert_cmpint(fpans.asked, ==, 2);
		g_assert_nonnull(strstr(fpans.last_question, "Please type 'yes', 'no' or the fingerprint"));
		g_free(fpans.last_question);
	}
	check(fx->file, "asked", 22, a, KNOWNHOSTS_OK, 2);
	/* The question shows the SHA256 fingerprint. */
	{
		struct answers yes = { .a = (const char *[]){ "YES" }, .n = 1 };

		g_assert_cmpint(verify(fx->file, SSHCONFIG_STRICT_ASK, false, false, &yes, "other", 22, b, NULL), ==, 0);
		g_assert_nonnull(strstr(yes.last_question, "ED25519 key fingerprint is SHA256:"));
		g_free(yes.last_question);
	}
	/* Batch mode never asks. */
	{
		struct answers yes = { .a = (const char *[]){ "yes" }, .n = 1 };

		g_assert_cmpint(verify(fx->file, SSHCONFIG_STRICT_ASK, true, false, &yes, "batch", 22, a, NULL), ==,
		                ERR_HOSTKEY_UNKNOWN);
		g_assert_cmpint(yes.asked, ==, 0);
	}
	/* Cannot ask (no terminal): refused. */
	g_assert_cmpint(verify(fx->file, SSHCONFIG_STRICT_ASK, false, false, &none, "noterm", 22, a, NULL), ==,
	                ERR_HOSTKEY_UNKNOWN);
	/* no: accepted and recorded. */
	g_assert_cmpint(verify(fx->file, SSHCONFIG_STRICT_NO, false, false, &none, "lax", 22, a, NULL), ==, 0);
	check(fx->file, "lax", 22, a, KNOWNHOSTS_OK, 0);
	g_free(none.last_question);
	free(fp);
	sshkey_free(a);
	sshkey_free(b);
}

static void test_verifier_from_config(struct fixture *fx, gconstpointer unused)
{
	char *opt_files = g_strdup_printf("UserKnownHostsFile=%s /second", fx->file);
	const char *opts[] = { opt_files, "StrictHostKeyChecking=accept-new", "HashKnownHosts=yes",
	                       "GlobalKnownHostsFile=/etc/none", "BatchMode=yes" };
	struct sshconfig_args a = { .config_file = "none", .options = opts, .n_options = G_N_ELEMENTS(opts) };
	struct sshconfig *c = NULL;
	struct knownhosts_verifier v;
	struct sshkey *k = load_key("host_a.pub");
	char *text = NULL;

	g_assert_cmpint(sshconfig_resolve("cfg-host", &a, &c, NULL), ==, 0);
	knownhosts_verifier_init(&v, c);
	g_assert_cmpuint(v.n_user_files, ==, 2);
	g_assert_cmpstr(v.user_files[0], ==, fx->file);
	g_assert_cmpstr(v.global_files[0], ==, "/etc/none");
	g_assert_cmpint(v.strict, ==, SSHCONFIG_STRICT_ACCEPT_NEW);
	g_assert_true(v.hash_known_hosts);
	g_assert_true(v.batch_mode);
	g_assert_cmpint(knownhosts_verify(&v, c->hostname, (uint16_t)c->port, k), ==, 0);
	knownhosts_verifier_clear(&v);
	g_assert_true(g_file_get_contents(fx->file, &text, NULL, NULL));
	g_assert_true(g_str_has_prefix(text, "|1|"));
	check(fx->file, "cfg-host", 22, k, KNOWNHOSTS_OK, 1);
	g_free(text);
	sshkey_free(k);
	sshconfig_free(c);
	g_free(opt_files);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/knownhosts/parse", test_parse);
	g_test_add_func("/knownhosts/parse-truncations", test_parse_truncations);
	g_test_add_func("/knownhosts/match", test_match);
	g_test_add("/knownhosts/check", struct fixture, NULL, fixture_set_up, test_check, fixture_tear_down);
	g_test_add("/knownhosts/cert-authority", struct fixture, NULL, fixture_set_up, test_cert_authority,
	           fixture_tear_down);
	g_test_add("/knownhosts/add", struct fixture, NULL, fixture_set_up, test_add, fixture_tear_down);
	g_test_add("/knownhosts/policy", struct fixture, NULL, fixture_set_up, test_policy, fixture_tear_down);
	g_test_add("/knownhosts/verifier-from-config", struct fixture, NULL, fixture_set_up,
	           test_verifier_from_config, fixture_tear_down);
	return g_test_run();
}
