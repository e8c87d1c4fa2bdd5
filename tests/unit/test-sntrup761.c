/*
 * test-sntrup761.c - sntrup761 (src/sntrup761.c): the NIST-procedure
 * known-answer records count = 0 and 0..99 (tests/vectors/sntrup761/,
 * reproduced through the KAT generator's AES-256 CTR_DRBG), round trips, implicit
 * rejection of modified ciphertexts (round-3 spec §3.5: the session key
 * becomes Hash_0(Hash_3(rho) || C)), and failure of the randomness source.
 */
#include "config.h"

#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

#include "err.h"
#include "nistdrbg.h"
#include "pqvec.h"
#include "sntrup761.h"

static int drbg_rng(void *ctx, uint8_t *out, size_t len)
{
	nistdrbg_randombytes(ctx, out, len);
	return 0;
}

static void append_hex(GString *s, const char *label, const uint8_t *p, size_t n)
{
	g_string_append(s, label);
	for (size_t i = 0; i < n; i++)
		g_string_append_printf(s, "%02X", p[i]);
	g_string_append_c(s, '\n');
}

static void expect_field(GHashTable *v, const char *name, const char *got_hex)
{
	size_t n;
	const uint8_t *want = pqvec_get(v, name, &n);
	g_autoptr(GBytes) got = pqvec_unhex(got_hex);
	g_autoptr(GBytes) w = g_bytes_new(want, n);

	if (!g_bytes_equal(w, got))
		g_test_message("%s differs from the recorded value", name);
	g_assert_true(g_bytes_equal(w, got));
}

static void test_kat(void)
{
	GHashTable *v = pqvec_load("tests/vectors/sntrup761/kat0.txt");
	uint8_t entropy[48], seed[48], ss2[SNTRUP761_SSBYTES];
	uint8_t pk[SNTRUP761_PUBLICKEYBYTES], sk[SNTRUP761_SECRETKEYBYTES];
	uint8_t ct[SNTRUP761_CIPHERTEXTBYTES], ss[SNTRUP761_SSBYTES];
	struct nistdrbg d;
	g_autoptr(GString) block = g_string_new(NULL);
	size_t n;
	const uint8_t *want_seed = pqvec_get(v, "seed", &n);

	for (int i = 0; i < 48; i++)
		entropy[i] = (uint8_t)i;
	nistdrbg_init(&d, entropy);
	nistdrbg_randombytes(&d, seed, sizeof(seed));
	g_assert_cmpmem(seed, sizeof(seed), want_seed, n);
	nistdrbg_init(&d, seed);
	g_assert_cmpint(sntrup761_keypair_rng(pk, sk, drbg_rng, &d), ==, 0);
	g_assert_cmpint(sntrup761_encaps_rng(ct, ss, pk, drbg_rng, &d), ==, 0);
	g_assert_cmpint(sntrup761_decaps(ss2, ct, sk), ==, 0);
	g_assert_cmpmem(ss, sizeof(ss), ss2, sizeof(ss2));

	/* Field by field first, so a failure says which part broke. */
	expect_field(v, "pk_sha256", pqvec_sha256_hex(pk, sizeof(pk)));
	expect_field(v, "sk_sha256", pqvec_sha256_hex(sk, sizeof(sk)));
	expect_field(v, "ct_sha256", pqvec_sha256_hex(ct, sizeof(ct)));
	g_assert_cmpmem(ss, sizeof(ss), pqvec_get(v, "ss", &n), n);

	g_string_append(block, "count = 0\n");
	append_hex(block, "seed = ", seed, sizeof(seed));
	append_hex(block, "pk = ", pk, sizeof(pk));
	append_hex(block, "sk = ", sk, sizeof(sk));
	append_hex(block, "ct = ", ct, sizeof(ct));
	append_hex(block, "ss = ", ss, sizeof(ss));
	expect_field(v, "block_sha256", pqvec_sha256_hex((const uint8_t *)block->str, block->len));
	g_hash_table_unref(v);
}

/* All 100 records of the KAT file, hashed as liboqs' "all" value. */
static void test_kat_all(void)
{
	GHashTable *v = pqvec_load("tests/vectors/sntrup761/kat0.txt");
	uint8_t entropy[48], seed[48], ss2[SNTRUP761_SSBYTES];
	uint8_t pk[SNTRUP761_PUBLICKEYBYTES], sk[SNTRUP761_SECRETKEYBYTES];
	uint8_t ct[SNTRUP761_CIPHERTEXTBYTES], ss[SNTRUP761_SSBYTES];
	struct nistdrbg seeds, d;
	g_autoptr(GString) text = g_string_new(NULL);

	for (int i = 0; i < 48; i++)
		entropy[i] = (uint8_t)i;
	nistdrbg_init(&seeds, entropy);
	for (int count = 0; count < 100; count++) {
		nistdrbg_randombytes(&seeds, seed, sizeof(seed));
		nistdrbg_init(&d, seed);
		g_assert_cmpint(sntrup761_keypair_rng(pk, sk, drbg_rng, &d), ==, 0);
		g_assert_cmpint(sntrup761_encaps_rng(ct, ss, pk, drbg_rng, &d), ==, 0);
		g_assert_cmpint(sntrup761_decaps(ss2, ct, sk), ==, 0);
		g_assert_cmpmem(ss, sizeof(ss), ss2, sizeof(ss2));
		if (count > 0)
			g_string_append_c(text, '\n');
		g_string_append_printf(text, "count = %d\n", count);
		append_hex(text, "seed = ", seed, sizeof(seed));
		append_hex(text, "pk = ", pk, sizeof(pk));
		append_hex(text, "sk = ", sk, sizeof(sk));
		append_hex(text, "ct = ", ct, sizeof(ct));
		append_hex(text, "ss = ", ss, sizeof(ss));
	}
	expect_field(v, "all_sha256", pqvec_sha256_hex((const uint8_t *)text->str, text->len));
	g_hash_table_unref(v);
}

/* Hash_0(Hash_3(rho) || C): the rejection key of the round-3 spec §3.5. */
static void expect_rejection_key(const uint8_t *sk, const uint8_t *ct, const uint8_t *ss)
{
	uint8_t h3[64], k[64], b;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const uint8_t *rho = sk + 2 * 191 + SNTRUP761_PUBLICKEYBYTES;

	g_assert_nonnull(ctx);
	b = 3;
	g_assert_cmpint(EVP_DigestInit_ex(ctx, EVP_sha512(), NULL), ==, 1);
	g_assert_cmpint(EVP_DigestUpdate(ctx, &b, 1), ==, 1);
	g_assert_cmpint(EVP_DigestUpdate(ctx, rho, 191), ==, 1);
	g_assert_cmpint(EVP_DigestFinal_ex(ctx, h3, NULL), ==, 1);
	b = 0;
	g_assert_cmpint(EVP_DigestInit_ex(ctx, EVP_sha512(), NULL), ==, 1);
	g_assert_cmpint(EVP_DigestUpdate(ctx, &b, 1), ==, 1);
	g_assert_cmpint(EVP_DigestUpdate(ctx, h3, 32), ==, 1);
	g_assert_cmpint(EVP_DigestUpdate(ctx, ct, SNTRUP761_CIPHERTEXTBYTES), ==, 1);
	g_assert_cmpint(EVP_DigestFinal_ex(ctx, k, NULL), ==, 1);
	EVP_MD_CTX_free(ctx);
	g_assert_cmpmem(ss, 32, k, 32);
}

static void test_roundtrip_and_rejection(void)
{
	for (int round = 0; round < 5; round++) {
		uint8_t pk[SNTRUP761_PUBLICKEYBYTES], sk[SNTRUP761_SECRETKEYBYTES];
		uint8_t ct[SNTRUP761_CIPHERTEXTBYTES], ss1[32], ss2[32];

		g_assert_cmpint(sntrup761_keypair(pk, sk), ==, 0);
		g_assert_cmpint(sntrup761_encaps(ct, ss1, pk), ==, 0);
		g_assert_cmpint(sntrup761_decaps(ss2, ct, sk), ==, 0);
		g_assert_cmpmem(ss1, 32, ss2, 32);
		/* Modify the rounded part, then the confirmation hash. */
		ct[(round * 101) % 1007] ^= 0x01;
		g_assert_cmpint(sntrup761_decaps(ss2, ct, sk), ==, 0);
		g_assert_true(memcmp(ss1, ss2, 32) != 0);
		expect_rejection_key(sk, ct, ss2);
		ct[(round * 101) % 1007] ^= 0x01;
		ct[SNTRUP761_CIPHERTEXTBYTES - 1 - round] ^= 0x80;
		g_assert_cmpint(sntrup761_decaps(ss2, ct, sk), ==, 0);
		expect_rejection_key(sk, ct, ss2);
	}
}

static int failing_rng(void *ctx, uint8_t *out, size_t len)
{
	int *calls = ctx;

	memset(out, 0x55, len);
	return (*calls)-- > 0 ? 0 : ERR_LIBCRYPTO;
}

static void test_rng_failure(void)
{
	uint8_t pk[SNTRUP761_PUBLICKEYBYTES], sk[SNTRUP761_SECRETKEYBYTES];
	uint8_t ct[SNTRUP761_CIPHERTEXTBYTES], ss[32];

	for (int allowed = 0; allowed < 3; allowed++) {
		int calls = allowed;

		memset(sk, 0xaa, sizeof(sk));
		g_assert_cmpint(sntrup761_keypair_rng(pk, sk, failing_rng, &calls), ==, ERR_LIBCRYPTO);
		for (size_t i = 0; i < sizeof(sk); i++)
			g_assert_cmpuint(sk[i], ==, 0);
	}
	g_assert_cmpint(sntrup761_keypair(pk, sk), ==, 0);
	{
		int calls = 0;

		memset(ss, 0xaa, sizeof(ss));
		g_assert_cmpint(sntrup761_encaps_rng(ct, ss, pk, failing_rng, &calls), ==, ERR_LIBCRYPTO);
		for (size_t i = 0; i < sizeof(ss); i++)
			g_assert_cmpuint(ss[i], ==, 0);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sntrup761/kat/count0", test_kat);
	g_test_add_func("/sntrup761/kat/count0-99", test_kat_all);
	g_test_add_func("/sntrup761/roundtrip-rejection", test_roundtrip_and_rejection);
	g_test_add_func("/sntrup761/rng-failure", test_rng_failure);
	return g_test_run();
}
