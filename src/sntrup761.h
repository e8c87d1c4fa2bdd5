/*
 * sntrup761.h - Streamlined NTRU Prime 761 (p = 761, q = 4591, w = 286) as
 * specified in "NTRU Prime: round 3" (2020-10-07), the KEM used by OpenSSH's
 * sntrup761x25519-sha512 key exchange. Key generation, encapsulation and
 * decapsulation with implicit rejection; byte layouts match the submission.
 *
 * The _rng functions draw their randomness from a caller-supplied function
 * in exactly the pieces the specification's reference implementation asks
 * for (so known-answer tests can drive them from the NIST DRBG); the plain
 * functions use RAND_bytes.
 */
#ifndef SFTPFS_SNTRUP761_H
#define SFTPFS_SNTRUP761_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SNTRUP761_PUBLICKEYBYTES 1158
#define SNTRUP761_SECRETKEYBYTES 1763
#define SNTRUP761_CIPHERTEXTBYTES 1039
#define SNTRUP761_SSBYTES 32

/*
 * Fills out[0..len) with random bytes; returns 0 or a negative err code.
 * Called with len = 4 * 761 for each list of 32-bit random values (Small
 * and Short polynomials, little-endian words) and len = 191 for rho.
 */
typedef int (*sntrup761_random_fn)(void *ctx, uint8_t *out, size_t len);

/* Round-3 spec §2.4/§2.5 KeyGen and the KEM key format sk = f, v, pk, rho, Hash4(pk). */
int sntrup761_keypair_rng(uint8_t pk[static SNTRUP761_PUBLICKEYBYTES],
                          uint8_t sk[static SNTRUP761_SECRETKEYBYTES],
                          sntrup761_random_fn rng, void *ctx) MUST_CHECK;
int sntrup761_keypair(uint8_t pk[static SNTRUP761_PUBLICKEYBYTES],
                      uint8_t sk[static SNTRUP761_SECRETKEYBYTES]) MUST_CHECK;

/* Encap: ct = Rounded(h r) || Confirm, ss = HashSession(1, r, ct). */
int sntrup761_encaps_rng(uint8_t ct[static SNTRUP761_CIPHERTEXTBYTES],
                         uint8_t ss[static SNTRUP761_SSBYTES],
                         const uint8_t pk[static SNTRUP761_PUBLICKEYBYTES],
                         sntrup761_random_fn rng, void *ctx) MUST_CHECK;
int sntrup761_encaps(uint8_t ct[static SNTRUP761_CIPHERTEXTBYTES],
                     uint8_t ss[static SNTRUP761_SSBYTES],
                     const uint8_t pk[static SNTRUP761_PUBLICKEYBYTES]) MUST_CHECK;

/*
 * Decap: a ciphertext that does not re-encrypt identically is not an error;
 * it yields HashSession(0, rho, ct), selected in constant time.
 */
int sntrup761_decaps(uint8_t ss[static SNTRUP761_SSBYTES],
                     const uint8_t ct[static SNTRUP761_CIPHERTEXTBYTES],
                     const uint8_t sk[static SNTRUP761_SECRETKEYBYTES]) MUST_CHECK;

#endif
