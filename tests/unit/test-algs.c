/*
 * test-algs.c - algorithm preference lists (src/algs.c): OpenSSH-like
 * defaults without SHA-1, and ssh_config(5) overrides: a plain list
 * replaces (unknown names refused), "+" appends supported names (wildcards
 * allowed), "-" removes, "^" moves to the front; an empty result is an error.
 */
#include "config.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "buf.h"
#include "err.h"
#include "kex.h"

static char *resolve(enum alg_kind kind, const char *spec, int want_r)
{
	char *out = NULL;

	g_assert_cmpint(algs_resolve(kind, spec, &out), ==, want_r);
	return out;
}

static void test_defaults(void)
{
	char *s = resolve(ALG_MAC, NULL, 0);

	g_assert_cmpstr(s, ==, "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512");
	free(s);
	s = resolve(ALG_CIPHER, "", 0);
	g_assert_cmpstr(s, ==, "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
			       "aes256-gcm@openssh.com");
	free(s);
	s = resolve(ALG_HOSTKEY, NULL, 0);
	g_assert_false(namelist_has(s, "ssh-rsa"));
	g_assert_true(namelist_has(s, "rsa-sha2-512"));
	free(s);
	/* Every default kex name is implemented; curve25519 leads the classic ones. */
	s = resolve(ALG_KEX, NULL, 0);
	g_assert_true(namelist_has(s, "curve25519-sha256"));
	g_assert_true(namelist_has(s, "diffie-hellman-group14-sha256"));
	free(s);
}

static void test_overrides(void)
{
	char *s;

	s = resolve(ALG_MAC, "+hmac-sha1", 0);
	g_assert_cmpstr(s, ==,
			"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1");
	free(s);
	s = resolve(ALG_MAC, "-*-etm@openssh.com", 0);
	g_assert_cmpstr(s, ==, "hmac-sha2-256,hmac-sha2-512");
	free(s);
	s = resolve(ALG_CIPHER, "^aes256-gcm@openssh.com", 0);
	g_assert_cmpstr(s, ==, "aes256-gcm@openssh.com,chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
			       "aes128-gcm@openssh.com");
	free(s);
	s = resolve(ALG_HOSTKEY, "+ssh-rsa", 0);
	g_assert_true(namelist_has(s, "ssh-rsa"));
	free(s);
	s = resolve(ALG_CIPHER, "aes128-ctr,aes128-ctr,aes256-ctr", 0);
	g_assert_cmpstr(s, ==, "aes128-ctr,aes256-ctr");
	free(s);
	g_assert_null(resolve(ALG_CIPHER, "3des-cbc", ERR_CONFIG));
	g_assert_null(resolve(ALG_CIPHER, "-*", ERR_CONFIG));
	g_assert_null(resolve(ALG_MAC, "umac-64@openssh.com", ERR_CONFIG));
}

static void test_namelists(void)
{
	char *c = NULL;

	g_assert_true(namelist_has("a,bb,c", "bb"));
	g_assert_false(namelist_has("a,bb,c", "b"));
	g_assert_false(namelist_has("", "a"));
	/* RFC 4253 §7.1: the client's order decides. */
	g_assert_cmpint(namelist_choose("x,y,z", "z,y", &c), ==, 0);
	g_assert_cmpstr(c, ==, "y");
	free(c);
	g_assert_cmpint(namelist_choose("x", "y", &c), ==, ERR_NO_MATCH);
	g_assert_null(c);
}

/* KEXINIT (RFC 4253 §7.1): round trip; every truncation and a trailing byte refused. */
static void test_kexinit_parse(void)
{
	const char *lists[KEX_LIST_COUNT] = {"curve25519-sha256,ext-info-c", "ssh-ed25519", "aes128-ctr", "aes256-ctr",
					     "hmac-sha2-256", "hmac-sha2-512", "none", "zlib", "", ""};
	struct buf *b = buf_new(0);
	struct kexinit k;
	uint8_t extra[2048];

	g_assert_cmpint(kexinit_build(lists, b), ==, 0);
	g_assert_cmpint(kexinit_parse(buf_peek(b), buf_len(b), &k), ==, 0);
	for (int i = 0; i < KEX_LIST_COUNT; i++)
		g_assert_cmpstr(k.lists[i], ==, lists[i]);
	g_assert_false(k.first_kex_follows);
	kexinit_clear(&k);
	for (size_t n = 0; n < buf_len(b); n++) {
		g_assert_cmpint(kexinit_parse(buf_peek(b), n, &k), !=, 0);
		g_assert_null(k.lists[0]);
	}
	memcpy(extra, buf_peek(b), buf_len(b));
	extra[buf_len(b)] = 0;
	g_assert_cmpint(kexinit_parse(extra, buf_len(b) + 1, &k), ==, ERR_TRAILING_DATA);
	buf_free(b);
}

/* Name-lists: empty names, control characters and too many names are refused. */
static void test_kexinit_bad_lists(void)
{
	static const char *const bad[] = {"a,,b", ",a", "a,", "a b", "a\tb"};
	struct kexinit k;

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		const char *lists[KEX_LIST_COUNT] = {bad[i], "x", "x", "x", "x", "x", "none", "none", "", ""};
		struct buf *b = buf_new(0);

		g_assert_cmpint(kexinit_build(lists, b), ==, 0);
		g_assert_cmpint(kexinit_parse(buf_peek(b), buf_len(b), &k), ==, ERR_INVALID_FORMAT);
		buf_free(b);
	}
	{
		GString *many = g_string_new("a");
		const char *lists[KEX_LIST_COUNT] = {NULL, "x", "x", "x", "x", "x", "none", "none", "", ""};
		struct buf *b = buf_new(0);

		for (int i = 0; i < 300; i++)
			g_string_append(many, ",a");
		lists[0] = many->str;
		g_assert_cmpint(kexinit_build(lists, b), ==, 0);
		g_assert_cmpint(kexinit_parse(buf_peek(b), buf_len(b), &k), ==, ERR_LIMIT_EXCEEDED);
		buf_free(b);
		g_string_free(many, TRUE);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/algs/defaults", test_defaults);
	g_test_add_func("/algs/overrides", test_overrides);
	g_test_add_func("/algs/namelists", test_namelists);
	g_test_add_func("/kexinit/parse-truncated-trailing", test_kexinit_parse);
	g_test_add_func("/kexinit/bad-name-lists", test_kexinit_bad_lists);
	return g_test_run();
}
