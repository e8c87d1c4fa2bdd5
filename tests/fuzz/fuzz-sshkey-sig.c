/*
 * fuzz-sshkey-sig.c - the signature blob parsers behind sshkey_verify.
 * Input: one byte choosing the key (ed25519 = RFC 8032 §7.1 TEST 1 key,
 * ECDSA P-256/384/521, RSA 2048 made once at start), then the signature
 * blob; the signed data is empty, so the RFC 8032 TEST 1 signature is a
 * valid seed. Verification must return 0 or a negative code, never crash.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "fuzz.h"
#include "sshkey.h"

static struct sshkey *keys[5];

static void init_keys(void)
{
	static const uint8_t seed[32] = {0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60, 0xba, 0x84, 0x4a,
					 0xf4, 0x92, 0xec, 0x2c, 0xc4, 0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32,
					 0x69, 0x19, 0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60};
	EVP_PKEY *p[5];

	p[0] = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof(seed));
	p[1] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p[2] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	p[3] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	p[4] = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	for (int i = 0; i < 5; i++) {
		if (p[i] == NULL || sshkey_from_evp(p[i], false, &keys[i]) != 0)
			abort();
		EVP_PKEY_free(p[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const algs[] = {NULL, "ssh-rsa", "rsa-sha2-256", "ecdsa-sha2-nistp256"};
	int r;

	if (keys[0] == NULL)
		init_keys();
	if (size < 2)
		return 0;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		r = sshkey_verify(keys[data[0] % 5], data + 1, size - 1, (const uint8_t *)"", 0,
				  (data[0] & 0x80) != 0 ? algs[i] : NULL);
		if (r > 0)
			abort();
	}
	return 0;
}
