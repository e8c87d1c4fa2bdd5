/*
 * nistdrbg.c - NIST SP 800-90A CTR_DRBG with AES-256 as used by the PQC
 * KAT generator: Update(provided) encrypts V+1, V+2, V+3 into 48 bytes,
 * XORs provided data and splits them into Key || V; Generate encrypts
 * successive V+1 blocks, truncates, then runs Update(NULL).
 */
#include "config.h"

#include <glib.h>
#include <openssl/evp.h>
#include <string.h>

#include "nistdrbg.h"

static void increment_v(uint8_t v[16])
{
	for (int j = 15; j >= 0; j--) {
		if (v[j] == 0xff) {
			v[j] = 0;
		} else {
			v[j]++;
			break;
		}
	}
}

static void aes256_ecb(const uint8_t key[32], const uint8_t in[16], uint8_t out[16])
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0;

	g_assert_nonnull(ctx);
	g_assert_cmpint(EVP_EncryptInit_ex(ctx, EVP_aes_256_ecb(), NULL, key, NULL), ==, 1);
	g_assert_cmpint(EVP_CIPHER_CTX_set_padding(ctx, 0), ==, 1);
	g_assert_cmpint(EVP_EncryptUpdate(ctx, out, &len, in, 16), ==, 1);
	g_assert_cmpint(len, ==, 16);
	EVP_CIPHER_CTX_free(ctx);
}

static void drbg_update(struct nistdrbg *d, const uint8_t *provided)
{
	uint8_t temp[48];

	for (int i = 0; i < 3; i++) {
		increment_v(d->v);
		aes256_ecb(d->key, d->v, temp + 16 * i);
	}
	if (provided != NULL)
		for (int i = 0; i < 48; i++)
			temp[i] ^= provided[i];
	memcpy(d->key, temp, 32);
	memcpy(d->v, temp + 32, 16);
}

void nistdrbg_init(struct nistdrbg *d, const uint8_t entropy[48])
{
	memset(d->key, 0, sizeof(d->key));
	memset(d->v, 0, sizeof(d->v));
	drbg_update(d, entropy);
}

void nistdrbg_randombytes(struct nistdrbg *d, uint8_t *out, size_t len)
{
	uint8_t block[16];

	while (len > 0) {
		size_t n = len < 16 ? len : 16;

		increment_v(d->v);
		aes256_ecb(d->key, d->v, block);
		memcpy(out, block, n);
		out += n;
		len -= n;
	}
	drbg_update(d, NULL);
}
