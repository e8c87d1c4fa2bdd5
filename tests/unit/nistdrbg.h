/*
 * nistdrbg.h - the deterministic AES-256 CTR_DRBG of NIST's PQC KAT
 * generator (rng.c: randombytes_init / randombytes, no derivation function,
 * no reseeding), built on EVP AES-256-ECB. Test-only: it reproduces the
 * randomness behind the submissions' known-answer files.
 */
#ifndef SFTPFS_TESTS_NISTDRBG_H
#define SFTPFS_TESTS_NISTDRBG_H

#include <stddef.h>
#include <stdint.h>

struct nistdrbg {
	uint8_t key[32];
	uint8_t v[16];
};

void nistdrbg_init(struct nistdrbg *d, const uint8_t entropy[48]);
void nistdrbg_randombytes(struct nistdrbg *d, uint8_t *out, size_t len);

#endif
