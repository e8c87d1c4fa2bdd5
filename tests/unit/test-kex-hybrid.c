/*
 * test-kex-hybrid.c - the hybrid key exchange glue (src/kex_hybrid.c) for
 * mlkem768x25519-sha256 and sntrup761x25519-sha512[@openssh.com]:
 *   - against a server written here from the primitives (KEM encapsulation,
 *     EVP X25519, EVP digest), so K = string(HASH(kem_ss || x25519_ss)) is
 *     checked independently of the module's own server side;
 *   - the module's server side against its client side;
 *   - every wrong S_REPLY length (0 .. exact+1, and the other method's
 *     length) refused with ERR_INVALID_FORMAT and nothing appended;
 *   - low-order X25519 server values (RFC 8731 §3) refused;
 *   - a modified KEM ciphertext: accepted (implicit rejection) but K differs;
 *   - an ML-KEM key failing the FIPS 203 §7.2 modulus check refused;
 *   - the default KexAlgorithms order (OpenSSH 10: the hybrids first).
 */
#include "config.h"

#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

#include "algs.h"
#include "buf.h"
#include "err.h"
#include "kex_hybrid.h"
#include "mlkem768.h"
#include "sntrup761.h"

static const char *const names[] = {
	"mlkem768x25519-sha256",
	"sntrup761x25519-sha512",
	"sntrup761x25519-sha512@openssh.com",
};

struct test_server {
	uint8_t reply[MLKEM768_CIPHERTEXTBYTES + 32]; /* the larger reply (1120 > 1071) */
	size_t reply_len;
	uint8_t k_body[64];
	size_t k_len;
};

/* The server side from the primitives (OpenSSH kex*x25519.c behaviour). */
static void independent_server(const char *name, const uint8_t *cpub, size_t clen, struct test_server *out)
{
	gboolean mlkem = g_str_has_prefix(name, "mlkem");
	size_t pk_len = mlkem ? MLKEM768_PUBLICKEYBYTES : SNTRUP761_PUBLICKEYBYTES;
	size_t ct_len = mlkem ? MLKEM768_CIPHERTEXTBYTES : SNTRUP761_CIPHERTEXTBYTES;
	uint8_t kem_ss[32], x_ss[32];
	size_t len = 32, xlen = 32;
	EVP_PKEY *mine, *peer;
	EVP_PKEY_CTX *ctx;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int hlen = 0;

	g_assert_cmpuint(clen, ==, pk_len + 32);
	if (mlkem)
		g_assert_cmpint(mlkem768_encaps(out->reply, kem_ss, cpub), ==, 0);
	else
		g_assert_cmpint(sntrup761_encaps(out->reply, kem_ss, cpub), ==, 0);
	mine = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	g_assert_nonnull(mine);
	g_assert_cmpint(EVP_PKEY_get_raw_public_key(mine, out->reply + ct_len, &len), ==, 1);
	out->reply_len = ct_len + 32;
	peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, cpub + pk_len, 32);
	g_assert_nonnull(peer);
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	g_assert_cmpint(EVP_PKEY_derive_init(ctx), ==, 1);
	g_assert_cmpint(EVP_PKEY_derive_set_peer(ctx, peer), ==, 1);
	g_assert_cmpint(EVP_PKEY_derive(ctx, x_ss, &xlen), ==, 1);
	g_assert_cmpint(EVP_DigestInit_ex(md, mlkem ? EVP_sha256() : EVP_sha512(), NULL), ==, 1);
	g_assert_cmpint(EVP_DigestUpdate(md, kem_ss, 32), ==, 1);
	g_assert_cmpint(EVP_DigestUpdate(md, x_ss, 32), ==, 1);
	g_assert_cmpint(EVP_DigestFinal_ex(md, out->k_body, &hlen), ==, 1);
	out->k_len = hlen;
	g_assert_cmpuint(out->k_len, ==, mlkem ? 32 : 64);
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	EVP_PKEY_free(mine);
}

/* K must be exactly string(HASH(...)): uint32 length, then the digest. */
static void assert_k_string(struct buf *k, const uint8_t *body, size_t blen)
{
	const uint8_t *p = buf_peek(k);

	g_assert_cmpuint(buf_len(k), ==, 4 + blen);
	g_assert_cmpuint(p[0], ==, 0);
	g_assert_cmpuint(p[1], ==, 0);
	g_assert_cmpuint(p[2], ==, 0);
	g_assert_cmpuint(p[3], ==, blen);
	g_assert_cmpmem(p + 4, blen, body, blen);
}

static void test_against_independent_server(gconstpointer data)
{
	const char *name = data;
	const struct kex_hybrid_alg *alg = kex_hybrid_by_name(name);
	struct kex_hybrid_state *st = NULL;
	struct buf *cpub = buf_new(0), *k = buf_new(0);
	struct test_server srv;

	g_assert_nonnull(alg);
	g_assert_cmpstr(kex_hybrid_hash_name(alg), ==, g_str_has_prefix(name, "mlkem") ? "SHA256" : "SHA512");
	g_assert_cmpint(kex_hybrid_client_init(alg, &st, cpub), ==, 0);
	g_assert_nonnull(st);
	g_assert_cmpuint(buf_len(cpub), ==, kex_hybrid_client_pub_len(alg));
	g_assert_cmpuint(buf_len(cpub), ==, g_str_has_prefix(name, "mlkem") ? 1216 : 1190);
	independent_server(name, buf_peek(cpub), buf_len(cpub), &srv);
	g_assert_cmpuint(srv.reply_len, ==, kex_hybrid_server_reply_len(alg));
	g_assert_cmpint(kex_hybrid_client_finish(st, srv.reply, srv.reply_len, k), ==, 0);
	assert_k_string(k, srv.k_body, srv.k_len);

	/* A modified KEM ciphertext decapsulates (implicit rejection) to another K. */
	buf_reset(k);
	srv.reply[7] ^= 0x10;
	g_assert_cmpint(kex_hybrid_client_finish(st, srv.reply, srv.reply_len, k), ==, 0);
	g_assert_cmpuint(buf_len(k), ==, 4 + srv.k_len);
	g_assert_true(memcmp(buf_peek(k) + 4, srv.k_body, srv.k_len) != 0);

	kex_hybrid_state_free(st);
	buf_free(cpub);
	buf_free(k);
}

static void test_module_server(gconstpointer data)
{
	const struct kex_hybrid_alg *alg = kex_hybrid_by_name(data);
	struct kex_hybrid_state *st = NULL;
	struct buf *cpub = buf_new(0), *reply = buf_new(0), *k1 = buf_new(0), *k2 = buf_new(0);

	g_assert_cmpint(kex_hybrid_client_init(alg, &st, cpub), ==, 0);
	g_assert_cmpint(kex_hybrid_server_reply(alg, buf_peek(cpub), buf_len(cpub), reply, k1), ==, 0);
	g_assert_cmpuint(buf_len(reply), ==, kex_hybrid_server_reply_len(alg));
	g_assert_cmpint(kex_hybrid_client_finish(st, buf_peek(reply), buf_len(reply), k2), ==, 0);
	g_assert_cmpuint(buf_len(k1), ==, buf_len(k2));
	g_assert_cmpmem(buf_peek(k1), buf_len(k1), buf_peek(k2), buf_len(k2));
	/* The server side refuses a truncated C_INIT and appends nothing. */
	buf_reset(reply);
	buf_reset(k1);
	g_assert_cmpint(kex_hybrid_server_reply(alg, buf_peek(cpub), buf_len(cpub) - 1, reply, k1), ==,
	                ERR_INVALID_FORMAT);
	g_assert_cmpuint(buf_len(reply), ==, 0);
	g_assert_cmpuint(buf_len(k1), ==, 0);
	kex_hybrid_state_free(st);
	buf_free(cpub);
	buf_free(reply);
	buf_free(k1);
	buf_free(k2);
}

static void test_bad_lengths(gconstpointer data)
{
	const struct kex_hybrid_alg *alg = kex_hybrid_by_name(data);
	struct kex_hybrid_state *st = NULL;
	struct buf *cpub = buf_new(0), *k = buf_new(0);
	size_t exact = kex_hybrid_server_reply_len(alg);
	uint8_t *reply = g_malloc0(exact + 2);
	size_t other[] = { 1120, 1071 };

	g_assert_cmpint(kex_hybrid_client_init(alg, &st, cpub), ==, 0);
	/* Every truncation and one extra trailing byte. */
	for (size_t len = 0; len <= exact + 1; len++) {
		if (len == exact)
			continue;
		g_assert_cmpint(kex_hybrid_client_finish(st, reply, len, k), ==, ERR_INVALID_FORMAT);
		g_assert_cmpuint(buf_len(k), ==, 0);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(other); i++)
		if (other[i] != exact)
			g_assert_cmpint(kex_hybrid_client_finish(st, reply, other[i], k), ==, ERR_INVALID_FORMAT);
	g_assert_cmpint(kex_hybrid_client_finish(st, NULL, exact, k), ==, ERR_INVALID_FORMAT);
	g_assert_cmpuint(buf_len(k), ==, 0);
	kex_hybrid_state_free(st);
	g_free(reply);
	buf_free(cpub);
	buf_free(k);
}

/* RFC 7748 §6.1 / RFC 8731 §3: X25519 values whose result is all zero. */
static void test_low_order_x25519(gconstpointer data)
{
	const struct kex_hybrid_alg *alg = kex_hybrid_by_name(data);
	struct kex_hybrid_state *st = NULL;
	struct buf *cpub = buf_new(0), *reply = buf_new(0), *k = buf_new(0);
	static const uint8_t low_order[][32] = {
		{ 0 },                                            /* u = 0 */
		{ 1 },                                            /* u = 1 */
		{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* u = p - 1 */
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	};
	size_t ct_len = kex_hybrid_server_reply_len(alg) - 32;

	g_assert_cmpint(kex_hybrid_client_init(alg, &st, cpub), ==, 0);
	g_assert_cmpint(kex_hybrid_server_reply(alg, buf_peek(cpub), buf_len(cpub), reply, k), ==, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(low_order); i++) {
		uint8_t *r = g_memdup2(buf_peek(reply), buf_len(reply));

		memcpy(r + ct_len, low_order[i], 32);
		buf_reset(k);
		g_assert_cmpint(kex_hybrid_client_finish(st, r, buf_len(reply), k), ==, ERR_PROTOCOL);
		g_assert_cmpuint(buf_len(k), ==, 0);
		g_free(r);
	}
	kex_hybrid_state_free(st);
	buf_free(cpub);
	buf_free(reply);
	buf_free(k);
}

static void test_mlkem_modulus_check(void)
{
	const struct kex_hybrid_alg *alg = kex_hybrid_by_name("mlkem768x25519-sha256");
	struct kex_hybrid_state *st = NULL;
	struct buf *cpub = buf_new(0), *reply = buf_new(0), *k = buf_new(0);
	uint8_t *c;

	g_assert_cmpint(kex_hybrid_client_init(alg, &st, cpub), ==, 0);
	c = g_memdup2(buf_peek(cpub), buf_len(cpub));
	c[0] = 0xff; /* first coefficient := 0x?ff | 0xf00 >= q */
	c[1] |= 0x0f;
	g_assert_cmpint(kex_hybrid_server_reply(alg, c, buf_len(cpub), reply, k), ==, ERR_INVALID_FORMAT);
	g_assert_cmpuint(buf_len(reply), ==, 0);
	g_free(c);
	kex_hybrid_state_free(st);
	buf_free(cpub);
	buf_free(reply);
	buf_free(k);
}

/* The client's default list leads with the hybrids in OpenSSH 10's order; "-" removes them. */
static void test_default_order(void)
{
	char *s = NULL;

	g_assert_true(g_str_has_prefix(algs_default(ALG_KEX), "mlkem768x25519-sha256,sntrup761x25519-sha512,"
	                                                      "sntrup761x25519-sha512@openssh.com,curve25519-sha256,"));
	g_assert_cmpint(algs_resolve(ALG_KEX, "-mlkem768*,sntrup761*", &s), ==, 0);
	g_assert_true(g_str_has_prefix(s, "curve25519-sha256,"));
	g_assert_null(strstr(s, "sntrup761"));
	g_assert_null(strstr(s, "mlkem768"));
	free(s);
}

static void test_names(void)
{
	g_assert_null(kex_hybrid_by_name("sntrup761x25519-sha512@openssh.co"));
	g_assert_null(kex_hybrid_by_name("mlkem768x25519-sha512"));
	g_assert_null(kex_hybrid_by_name(""));
	g_assert_true(kex_hybrid_by_name("sntrup761x25519-sha512") ==
	              kex_hybrid_by_name("sntrup761x25519-sha512@openssh.com"));
	g_assert_cmpuint(kex_hybrid_server_reply_len(kex_hybrid_by_name("mlkem768x25519-sha256")), ==, 1120);
	g_assert_cmpuint(kex_hybrid_server_reply_len(kex_hybrid_by_name("sntrup761x25519-sha512")), ==, 1071);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
		g_autofree char *p1 = g_strdup_printf("/kex-hybrid/%s/independent-server", names[i]);
		g_autofree char *p2 = g_strdup_printf("/kex-hybrid/%s/module-server", names[i]);
		g_autofree char *p3 = g_strdup_printf("/kex-hybrid/%s/bad-lengths", names[i]);
		g_autofree char *p4 = g_strdup_printf("/kex-hybrid/%s/low-order-x25519", names[i]);

		g_test_add_data_func(p1, names[i], test_against_independent_server);
		g_test_add_data_func(p2, names[i], test_module_server);
		g_test_add_data_func(p3, names[i], test_bad_lengths);
		g_test_add_data_func(p4, names[i], test_low_order_x25519);
	}
	g_test_add_func("/kex-hybrid/mlkem-modulus-check", test_mlkem_modulus_check);
	g_test_add_func("/kex-hybrid/names", test_names);
	g_test_add_func("/kex-hybrid/default-order", test_default_order);
	return g_test_run();
}
