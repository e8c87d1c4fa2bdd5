/*
 * test-bcrypt-pbkdf.c - known-answer tests for src/bcrypt_pbkdf.c.
 *
 * Blowfish: Eric Young's published ECB vectors (the "Blowfish test data"
 * set on Schneier's page), and a cross-check against OpenSSL's legacy
 * provider BF-ECB on pseudo-random keys. bcrypt_pbkdf: the vectors of
 * OpenBSD's regress test for bcrypt_pbkdf(3) (as republished with the
 * RustCrypto bcrypt-pbkdf crate). Sources: tests/vectors/README.keys.md.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/provider.h>

#include "bcrypt_pbkdf.h"
#include "err.h"

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2;

	g_assert_cmpuint(strlen(hex) % 2, ==, 0);
	g_assert_cmpuint(n, <=, max);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		g_assert_true(sscanf(hex + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static const struct {
	const char *key, *plain, *cipher;
} bf_vectors[] = {
	{.key = "0000000000000000", .plain = "0000000000000000", .cipher = "4ef997456198dd78"},
	{.key = "ffffffffffffffff", .plain = "ffffffffffffffff", .cipher = "51866fd5b85ecb8a"},
	{.key = "3000000000000000", .plain = "1000000000000001", .cipher = "7d856f9a613063f2"},
	{.key = "1111111111111111", .plain = "1111111111111111", .cipher = "2466dd878b963c9d"},
	{.key = "0123456789abcdef", .plain = "1111111111111111", .cipher = "61f9c3802281b096"},
	{.key = "fedcba9876543210", .plain = "0123456789abcdef", .cipher = "0aceab0fc6a0a28d"},
};

static void test_blowfish_vectors(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(bf_vectors); i++) {
		uint8_t key[8], in[8], want[8], got[8];

		unhex(bf_vectors[i].key, key, sizeof(key));
		unhex(bf_vectors[i].plain, in, sizeof(in));
		unhex(bf_vectors[i].cipher, want, sizeof(want));
		g_assert_cmpint(blowfish_encrypt_block(key, sizeof(key), in, got), ==, 0);
		g_assert_cmpmem(got, 8, want, 8);
	}
}

/* Our Blowfish against libcrypto's (legacy provider) for many key lengths. */
static void test_blowfish_vs_openssl(void)
{
	/* A library context of its own, so the default context keeps its providers. */
	OSSL_LIB_CTX *lctx = OSSL_LIB_CTX_new();
	OSSL_PROVIDER *legacy = OSSL_PROVIDER_load(lctx, "legacy");
	OSSL_PROVIDER *deflt = OSSL_PROVIDER_load(lctx, "default");
	EVP_CIPHER *bf;
	GRand *rng = g_rand_new_with_seed(42);

	g_assert_nonnull(legacy); /* part of libssl3: a missing provider is a failure */
	g_assert_nonnull(deflt);
	bf = EVP_CIPHER_fetch(lctx, "BF-ECB", "provider=legacy");
	g_assert_nonnull(bf);
	for (size_t keylen = 4; keylen <= 56; keylen++) {
		uint8_t key[56], in[8], ours[8], theirs[16];
		EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
		int outl = 0;

		for (size_t i = 0; i < keylen; i++)
			key[i] = (uint8_t)g_rand_int(rng);
		for (size_t i = 0; i < 8; i++)
			in[i] = (uint8_t)g_rand_int(rng);
		g_assert_cmpint(blowfish_encrypt_block(key, keylen, in, ours), ==, 0);
		g_assert_cmpint(EVP_EncryptInit_ex(ctx, bf, NULL, NULL, NULL), ==, 1);
		g_assert_cmpint(EVP_CIPHER_CTX_set_key_length(ctx, (int)keylen), ==, 1);
		g_assert_cmpint(EVP_EncryptInit_ex(ctx, NULL, NULL, key, NULL), ==, 1);
		g_assert_cmpint(EVP_CIPHER_CTX_set_padding(ctx, 0), ==, 1);
		g_assert_cmpint(EVP_EncryptUpdate(ctx, theirs, &outl, in, 8), ==, 1);
		g_assert_cmpint(outl, ==, 8);
		g_assert_cmpmem(ours, 8, theirs, 8);
		EVP_CIPHER_CTX_free(ctx);
	}
	EVP_CIPHER_free(bf);
	g_rand_free(rng);
	OSSL_PROVIDER_unload(legacy);
	OSSL_PROVIDER_unload(deflt);
	OSSL_LIB_CTX_free(lctx);
}

static const struct {
	const char *pass;
	size_t passlen;
	const char *salt;
	size_t saltlen;
	unsigned rounds;
	const char *out;
} pbkdf_vectors[] = {
	{"password", 8, "salt", 4, 4, "5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9"},
	{"password", 8, "\0", 1, 4, "c12b566235eee04c212598970a579a67"},
	{"\0", 1, "salt", 4, 4, "6051be18c2f4f82cbf0efee5471b4bb9"},
	{"password\0", 9, "salt\0", 5, 4, "7410e44cf4fa07bfaac8a928b1727fac001375e7bf7384370f48efd121743050"},
	{"pass\0wor", 8, "sa\0l", 4, 4, "c2bffd9db38f6569efef4372f4de83c0"},
	{"pass\0word", 9, "sa\0lt", 5, 4, "4ba4ac3925c0e8d7f0cdb6bb1684a56f"},
	{"password", 8, "salt", 4, 8,
	 "e1367ec5151a33faac4cc1c144cd23fa15d5548493ecc99b9b5d9c0d3b27bec76227ea66088b849b20ab7aa478010246e74bba51723fefa9f9474d6508845e8d"},
	{"password", 8, "salt", 4, 42, "833cf0dcf56db65608e8f0dc0ce882bd"},
};

static void test_pbkdf_vectors(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(pbkdf_vectors); i++) {
		uint8_t want[128], got[128];
		size_t n = unhex(pbkdf_vectors[i].out, want, sizeof(want));

		memset(got, 0xaa, sizeof(got));
		g_assert_cmpint(bcrypt_pbkdf(pbkdf_vectors[i].pass, pbkdf_vectors[i].passlen,
					     (const uint8_t *)pbkdf_vectors[i].salt, pbkdf_vectors[i].saltlen, got, n,
					     pbkdf_vectors[i].rounds),
				==, 0);
		g_assert_cmpmem(got, n, want, n);
		g_assert_cmpuint(got[n], ==, 0xaa); /* nothing written past keylen */
	}
}

/* The long-password vector (OpenBSD regress) exercises a password longer than the SHA-512 block. */
static void test_pbkdf_long_password(void)
{
	static const char pass[] =
		"Lorem ipsum dolor sit amet, consectetur adipisicing elit, "
		"sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. "
		"Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris "
		"nisi ut aliquip ex ea commodo consequat. "
		"Duis aute irure dolor in reprehenderit in voluptate velit esse cillum "
		"dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non "
		"proident, sunt in culpa qui officia deserunt mollit anim id est laborum.";
	uint8_t want[16], got[16];

	unhex("10978b07253df57f71a162eb0e8ad30a", want, sizeof(want));
	g_assert_cmpint(bcrypt_pbkdf(pass, strlen(pass), (const uint8_t *)"salis\0", 6, got, sizeof(got), 8), ==, 0);
	g_assert_cmpmem(got, 16, want, 16);
}

static void test_pbkdf_arguments(void)
{
	uint8_t out[32];

	g_assert_cmpint(bcrypt_pbkdf("", 0, (const uint8_t *)"s", 1, out, 16, 1), ==, ERR_INVALID_ARGUMENT);
	g_assert_cmpint(bcrypt_pbkdf("p", 1, (const uint8_t *)"", 0, out, 16, 1), ==, ERR_INVALID_ARGUMENT);
	g_assert_cmpint(bcrypt_pbkdf("p", 1, (const uint8_t *)"s", 1, out, 16, 0), ==, ERR_INVALID_ARGUMENT);
	g_assert_cmpint(bcrypt_pbkdf("p", 1, (const uint8_t *)"s", 1, out, 0, 1), ==, ERR_INVALID_ARGUMENT);
	g_assert_cmpint(bcrypt_pbkdf("p", 1, (const uint8_t *)"s", 1, out, BCRYPT_PBKDF_KEY_MAX + 1, 1), ==,
			ERR_INVALID_ARGUMENT);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/bcrypt-pbkdf/blowfish-vectors", test_blowfish_vectors);
	g_test_add_func("/bcrypt-pbkdf/blowfish-vs-openssl", test_blowfish_vs_openssl);
	g_test_add_func("/bcrypt-pbkdf/openbsd-vectors", test_pbkdf_vectors);
	g_test_add_func("/bcrypt-pbkdf/long-password", test_pbkdf_long_password);
	g_test_add_func("/bcrypt-pbkdf/arguments", test_pbkdf_arguments);
	return g_test_run();
}
