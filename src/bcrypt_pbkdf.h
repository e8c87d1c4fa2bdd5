/*
 * bcrypt_pbkdf.h - the key derivation function of encrypted openssh-key-v1
 * files (OpenSSH PROTOCOL.key, kdf "bcrypt"): OpenBSD's bcrypt_pbkdf, a
 * PBKDF2-like construction whose PRF is a bcrypt-style Blowfish hash of
 * SHA-512 digests. Also exposes the plain Blowfish cipher for its tests.
 */
#ifndef SFTPFS_BCRYPT_PBKDF_H
#define SFTPFS_BCRYPT_PBKDF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* BCRYPT_PBKDF_KEY_MAX: longest output (32 blocks of 32 bytes). */
#define BCRYPT_PBKDF_KEY_MAX 1024

/*
 * Derives keylen bytes from pass and salt with the given number of rounds.
 * Returns 0, or ERR_INVALID_ARGUMENT for an empty password or salt, zero
 * rounds, or keylen outside 1..BCRYPT_PBKDF_KEY_MAX.
 */
int bcrypt_pbkdf(const char *pass, size_t passlen, const uint8_t *salt, size_t saltlen, uint8_t *key,
		 size_t keylen, unsigned rounds) MUST_CHECK;

/* Blowfish (Schneier 1993) ECB encryption of one 64-bit block, for known-answer tests. */
int blowfish_encrypt_block(const uint8_t *key, size_t keylen, const uint8_t in[8], uint8_t out[8]) MUST_CHECK;

#endif
