/*
 * pqhash.c - SHA-3 family and SHA-512 over segment lists via libcrypto EVP,
 * for src/mlkem768.c (FIPS 203 §4.1: H, J, G, PRF, XOF) and src/sntrup761.c
 * (NTRU Prime round-3 specification §3.3: Hash = SHA-512 with prefixes).
 */
#include "config.h"

#include <openssl/evp.h>

#include "pqhash.h"

static const EVP_MD *pqhash_md(enum pqhash_alg alg, int *is_xof)
{
	*is_xof = 0;
	switch (alg) {
	case PQHASH_SHA3_256:
		return EVP_sha3_256();
	case PQHASH_SHA3_512:
		return EVP_sha3_512();
	case PQHASH_SHAKE128:
		*is_xof = 1;
		return EVP_shake128();
	case PQHASH_SHAKE256:
		*is_xof = 1;
		return EVP_shake256();
	case PQHASH_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

int pqhash(enum pqhash_alg alg, const struct pqhash_seg *in, uint8_t *out, size_t outlen)
{
	int r = ERR_INTERNAL;
	int is_xof;
	const EVP_MD *md = pqhash_md(alg, &is_xof);
	EVP_MD_CTX *ctx = NULL;
	unsigned int dlen = 0;

	if (md == NULL || out == NULL || outlen == 0)
		return ERR_INVALID_ARGUMENT;
	if (!is_xof && outlen != (size_t)EVP_MD_get_size(md))
		return ERR_INVALID_ARGUMENT;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return ERR_ALLOC_FAIL;
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1) {
		r = ERR_LIBCRYPTO;
		goto out;
	}
	for (; in != NULL && in->data != NULL; in++) {
		if (in->len > 0 && EVP_DigestUpdate(ctx, in->data, in->len) != 1) {
			r = ERR_LIBCRYPTO;
			goto out;
		}
	}
	if (is_xof) {
		if (EVP_DigestFinalXOF(ctx, out, outlen) != 1) {
			r = ERR_LIBCRYPTO;
			goto out;
		}
	} else if (EVP_DigestFinal_ex(ctx, out, &dlen) != 1 || dlen != outlen) {
		r = ERR_LIBCRYPTO;
		goto out;
	}
	r = 0;
out:
	/* EVP_MD_CTX_free cleanses the Keccak / SHA-512 state it held. */
	EVP_MD_CTX_free(ctx);
	return r;
}
