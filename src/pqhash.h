/*
 * pqhash.h - the fixed-output hashes and extendable-output functions the
 * post-quantum KEMs need (FIPS 202 SHA3-256, SHA3-512, SHAKE128, SHAKE256 and
 * FIPS 180-4 SHA-512), computed through libcrypto's EVP interface over a list
 * of input segments so callers never build concatenations by hand.
 *
 * OpenSSL 3.0 finalises an XOF once, so an XOF call produces all the output
 * the caller asks for in one go; asking again with a longer length yields the
 * same prefix (FIPS 202 §6.2), which rejection samplers rely on.
 */
#ifndef SFTPFS_PQHASH_H
#define SFTPFS_PQHASH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum pqhash_alg {
	PQHASH_SHA3_256,
	PQHASH_SHA3_512,
	PQHASH_SHAKE128,
	PQHASH_SHAKE256,
	PQHASH_SHA512,
};

/* One input segment; a NULL data pointer ends a list. */
struct pqhash_seg {
	const void *data;
	size_t len;
};

/*
 * Hashes the segments of in (terminated by a {NULL, 0} entry) into out.
 * For fixed-output hashes outlen must equal the digest size; for XOFs any
 * positive length. Returns 0 or ERR_LIBCRYPTO / ERR_INVALID_ARGUMENT.
 */
int pqhash(enum pqhash_alg alg, const struct pqhash_seg *in, uint8_t *out, size_t outlen) MUST_CHECK;

#endif
