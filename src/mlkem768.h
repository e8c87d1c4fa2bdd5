/*
 * mlkem768.h - ML-KEM-768 (FIPS 203, parameter set k=3, eta1=eta2=2, du=10,
 * dv=4): key generation, encapsulation and decapsulation with implicit
 * rejection. Used by the mlkem768x25519-sha256 hybrid key exchange.
 *
 * The _derand functions take their randomness as arguments (FIPS 203
 * Algorithms 16 and 17, the "internal" functions) so known-answer tests can
 * drive them; the others draw it from RAND_bytes (Algorithms 19 and 20).
 * Every output is cleared on failure; secret intermediates are wiped.
 */
#ifndef SFTPFS_MLKEM768_H
#define SFTPFS_MLKEM768_H

#include <stdint.h>

#include "err.h"

#define MLKEM768_PUBLICKEYBYTES 1184 /* encapsulation key ek: 384k + 32 */
#define MLKEM768_SECRETKEYBYTES 2400 /* decapsulation key dk: 768k + 96 */
#define MLKEM768_CIPHERTEXTBYTES 1088 /* 32(du*k + dv) */
#define MLKEM768_SSBYTES 32
#define MLKEM768_KEYGEN_SEEDBYTES 64 /* d || z */
#define MLKEM768_ENCAPS_SEEDBYTES 32 /* m */

/* FIPS 203 Algorithm 16 ML-KEM.KeyGen_internal(d, z), coins = d || z. */
int mlkem768_keypair_derand(uint8_t pk[static MLKEM768_PUBLICKEYBYTES],
                            uint8_t sk[static MLKEM768_SECRETKEYBYTES],
                            const uint8_t coins[static MLKEM768_KEYGEN_SEEDBYTES]) MUST_CHECK;
/*
 * Algorithm 16 with line 1 of Algorithm 13 already done: rhosigma is
 * (rho, sigma) = G(d || k). Exposed so tests can also check K-PKE.KeyGen
 * against vectors of the FIPS 203 ipd draft, which used G(d).
 */
int mlkem768_keypair_from_seeds(uint8_t pk[static MLKEM768_PUBLICKEYBYTES],
                                uint8_t sk[static MLKEM768_SECRETKEYBYTES],
                                const uint8_t rhosigma[static 64], const uint8_t z[static 32]) MUST_CHECK;
/* FIPS 203 Algorithm 19 ML-KEM.KeyGen with d, z from RAND_bytes. */
int mlkem768_keypair(uint8_t pk[static MLKEM768_PUBLICKEYBYTES],
                     uint8_t sk[static MLKEM768_SECRETKEYBYTES]) MUST_CHECK;

/*
 * FIPS 203 Algorithm 17 ML-KEM.Encaps_internal(ek, m), preceded by the
 * §7.2 encapsulation key check: ERR_INVALID_FORMAT when a coefficient of ek
 * is not reduced modulo q (the modulus check).
 */
int mlkem768_encaps_derand(uint8_t ct[static MLKEM768_CIPHERTEXTBYTES],
                           uint8_t ss[static MLKEM768_SSBYTES],
                           const uint8_t pk[static MLKEM768_PUBLICKEYBYTES],
                           const uint8_t m[static MLKEM768_ENCAPS_SEEDBYTES]) MUST_CHECK;
/* FIPS 203 Algorithm 20 ML-KEM.Encaps with m from RAND_bytes. */
int mlkem768_encaps(uint8_t ct[static MLKEM768_CIPHERTEXTBYTES],
                    uint8_t ss[static MLKEM768_SSBYTES],
                    const uint8_t pk[static MLKEM768_PUBLICKEYBYTES]) MUST_CHECK;

/*
 * FIPS 203 Algorithm 21 ML-KEM.Decaps (Algorithm 18 after the §7.3 hash
 * check of dk, ERR_INVALID_FORMAT if it fails). An invalid ciphertext is not
 * an error: it yields the implicit-rejection key J(z || c), in constant time.
 */
int mlkem768_decaps(uint8_t ss[static MLKEM768_SSBYTES],
                    const uint8_t ct[static MLKEM768_CIPHERTEXTBYTES],
                    const uint8_t sk[static MLKEM768_SECRETKEYBYTES]) MUST_CHECK;

#endif
