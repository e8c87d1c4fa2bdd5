/*
 * test-mlkem768.c - ML-KEM-768 (src/mlkem768.c) against NIST ACVP vectors
 * (tests/vectors/mlkem768/: FIPS 203 keyGen, encapsulation, decapsulation
 * including a modified ciphertext that must take the implicit-rejection
 * path of Algorithm 18), plus round trips, the §7.2 modulus check and the
 * §7.3 hash check.
 */
#include "config.h"

#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

#include "err.h"
#include "mlkem768.h"
#include "pqvec.h"

static void test_keygen_kat(void)
{
	GHashTable *v = pqvec_load("tests/vectors/mlkem768/keygen.txt");
	uint8_t rhosigma[64], pk[MLKEM768_PUBLICKEYBYTES], sk[MLKEM768_SECRETKEYBYTES];
	unsigned int mdlen = 0;
	size_t n;
	const uint8_t *d = pqvec_get(v, "d", &n);
	const uint8_t *z;
	g_autofree char *ekh = NULL, *dkh = NULL;

	g_assert_cmpuint(n, ==, 32);
	z = pqvec_get(v, "z", &n);
	g_assert_cmpuint(n, ==, 32);
	/* This ACVP revision derives (rho, sigma) = G(d), without the k byte. */
	g_assert_cmpint(EVP_Digest(d, 32, rhosigma, &mdlen, EVP_sha3_512(), NULL), ==, 1);
	g_assert_cmpint(mlkem768_keypair_from_seeds(pk, sk, rhosigma, z), ==, 0);
	ekh = g_strdup(pqvec_sha256_hex(pk, sizeof(pk)));
	dkh = g_strdup(pqvec_sha256_hex(sk, sizeof(sk)));
	{
		g_autoptr(GBytes) want_ek = g_bytes_new(pqvec_get(v, "ek_sha256", &n), n);
		g_autoptr(GBytes) want_dk = g_bytes_new(pqvec_get(v, "dk_sha256", &n), n);
		g_autoptr(GBytes) got_ek = pqvec_unhex(ekh);
		g_autoptr(GBytes) got_dk = pqvec_unhex(dkh);

		g_assert_true(g_bytes_equal(want_ek, got_ek));
		g_assert_true(g_bytes_equal(want_dk, got_dk));
	}
	g_hash_table_unref(v);
}

static void test_encaps_kat(void)
{
	GHashTable *v = pqvec_load("tests/vectors/mlkem768/encap.txt");
	uint8_t ct[MLKEM768_CIPHERTEXTBYTES], ss[MLKEM768_SSBYTES];
	size_t n;
	const uint8_t *ek = pqvec_get(v, "ek", &n);
	const uint8_t *m, *c, *k;

	g_assert_cmpuint(n, ==, MLKEM768_PUBLICKEYBYTES);
	m = pqvec_get(v, "m", &n);
	g_assert_cmpuint(n, ==, 32);
	c = pqvec_get(v, "c", &n);
	g_assert_cmpuint(n, ==, MLKEM768_CIPHERTEXTBYTES);
	k = pqvec_get(v, "k", &n);
	g_assert_cmpuint(n, ==, 32);
	g_assert_cmpint(mlkem768_encaps_derand(ct, ss, ek, m), ==, 0);
	g_assert_cmpmem(ct, sizeof(ct), c, MLKEM768_CIPHERTEXTBYTES);
	g_assert_cmpmem(ss, sizeof(ss), k, 32);
	g_hash_table_unref(v);
}

static void test_decaps_kat(void)
{
	GHashTable *v = pqvec_load("tests/vectors/mlkem768/decap.txt");
	uint8_t ss[MLKEM768_SSBYTES];
	size_t n;
	const uint8_t *dk = pqvec_get(v, "dk", &n);
	static const char *const cases[][2] = { { "c86", "k86" }, { "c88", "k88" } };

	g_assert_cmpuint(n, ==, MLKEM768_SECRETKEYBYTES);
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		const uint8_t *c = pqvec_get(v, cases[i][0], &n);
		const uint8_t *k;

		g_assert_cmpuint(n, ==, MLKEM768_CIPHERTEXTBYTES);
		k = pqvec_get(v, cases[i][1], &n);
		g_assert_cmpint(mlkem768_decaps(ss, c, dk), ==, 0);
		g_assert_cmpmem(ss, sizeof(ss), k, n);
	}
	g_hash_table_unref(v);
}

/* Implicit rejection must give J(z || c) (FIPS 203 Algorithm 18 line 4). */
static void expect_rejection_key(const uint8_t *sk, const uint8_t *ct, const uint8_t *ss)
{
	uint8_t j[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	g_assert_nonnull(ctx);
	g_assert_cmpint(EVP_DigestInit_ex(ctx, EVP_shake256(), NULL), ==, 1);
	g_assert_cmpint(EVP_DigestUpdate(ctx, sk + MLKEM768_SECRETKEYBYTES - 32, 32), ==, 1);
	g_assert_cmpint(EVP_DigestUpdate(ctx, ct, MLKEM768_CIPHERTEXTBYTES), ==, 1);
	g_assert_cmpint(EVP_DigestFinalXOF(ctx, j, sizeof(j)), ==, 1);
	EVP_MD_CTX_free(ctx);
	g_assert_cmpmem(ss, 32, j, 32);
}

static void test_roundtrip(void)
{
	for (int round = 0; round < 20; round++) {
		uint8_t pk[MLKEM768_PUBLICKEYBYTES], sk[MLKEM768_SECRETKEYBYTES];
		uint8_t ct[MLKEM768_CIPHERTEXTBYTES], ss1[32], ss2[32];

		g_assert_cmpint(mlkem768_keypair(pk, sk), ==, 0);
		g_assert_cmpint(mlkem768_encaps(ct, ss1, pk), ==, 0);
		g_assert_cmpint(mlkem768_decaps(ss2, ct, sk), ==, 0);
		g_assert_cmpmem(ss1, 32, ss2, 32);
		/* Flip one bit at a position that varies per round. */
		ct[(round * 53) % MLKEM768_CIPHERTEXTBYTES] ^= (uint8_t)(1u << (round % 8));
		g_assert_cmpint(mlkem768_decaps(ss2, ct, sk), ==, 0);
		g_assert_true(memcmp(ss1, ss2, 32) != 0);
		expect_rejection_key(sk, ct, ss2);
	}
}

/* §7.2: every 12-bit coefficient of ek must be < q; q..4095 are rejected. */
static void test_modulus_check(void)
{
	uint8_t pk[MLKEM768_PUBLICKEYBYTES], sk[MLKEM768_SECRETKEYBYTES];
	uint8_t ct[MLKEM768_CIPHERTEXTBYTES], ss[32], m[32] = { 1 };
	static const unsigned bad[] = { 3329, 3330, 4095 };

	g_assert_cmpint(mlkem768_keypair(pk, sk), ==, 0);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		uint8_t epk[MLKEM768_PUBLICKEYBYTES];

		/* Coefficient 1 of the last polynomial: high nibble of byte 1 and byte 2. */
		memcpy(epk, pk, sizeof(epk));
		epk[2 * 384 + 1] = (uint8_t)((epk[2 * 384 + 1] & 0x0f) | ((bad[i] & 0x0f) << 4));
		epk[2 * 384 + 2] = (uint8_t)(bad[i] >> 4);
		memset(ct, 0xaa, sizeof(ct));
		memset(ss, 0xaa, sizeof(ss));
		g_assert_cmpint(mlkem768_encaps_derand(ct, ss, epk, m), ==, ERR_INVALID_FORMAT);
		for (size_t j = 0; j < sizeof(ss); j++)
			g_assert_cmpuint(ss[j], ==, 0);
	}
	/* q - 1 is a valid coefficient. */
	pk[1] = (uint8_t)((pk[1] & 0x0f) | ((3328 & 0x0f) << 4));
	pk[2] = (uint8_t)(3328 >> 4);
	g_assert_cmpint(mlkem768_encaps_derand(ct, ss, pk, m), ==, 0);
}

/* §7.3: a decapsulation key whose H(ek) field is wrong is refused. */
static void test_hash_check(void)
{
	uint8_t pk[MLKEM768_PUBLICKEYBYTES], sk[MLKEM768_SECRETKEYBYTES];
	uint8_t ct[MLKEM768_CIPHERTEXTBYTES], ss[32];

	g_assert_cmpint(mlkem768_keypair(pk, sk), ==, 0);
	g_assert_cmpint(mlkem768_encaps(ct, ss, pk), ==, 0);
	sk[MLKEM768_SECRETKEYBYTES - 64] ^= 1;
	g_assert_cmpint(mlkem768_decaps(ss, ct, sk), ==, ERR_INVALID_FORMAT);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/mlkem768/kat/keygen", test_keygen_kat);
	g_test_add_func("/mlkem768/kat/encaps", test_encaps_kat);
	g_test_add_func("/mlkem768/kat/decaps", test_decaps_kat);
	g_test_add_func("/mlkem768/roundtrip", test_roundtrip);
	g_test_add_func("/mlkem768/modulus-check", test_modulus_check);
	g_test_add_func("/mlkem768/hash-check", test_hash_check);
	return g_test_run();
}
