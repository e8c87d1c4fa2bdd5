/*
 * ct-decaps.c - constant-time check driver, run under valgrind memcheck by
 * tests/unit/ct-valgrind.sh. It makes an ML-KEM-768 and an sntrup761 key,
 * marks the secret parts of each decapsulation key undefined with
 * VALGRIND_MAKE_MEM_UNDEFINED, and decapsulates a valid and a modified
 * ciphertext. Memcheck then reports every branch ("Conditional jump or move
 * depends on uninitialised value") and every memory index ("Use of
 * uninitialised value") that depends on the secret. The shared secrets are
 * marked defined again before they are compared.
 *
 * Secret parts: ML-KEM dk_pke (s_hat) and z (FIPS 203 §7.3 layout
 * dk_pke || ek || H(ek) || z); sntrup761 f, 1/g and rho (sk = f || v || pk ||
 * rho || Hash4(pk)). The embedded public key and its hash are public.
 * Encapsulation is checked too, with its random r (sntrup761) or m (ML-KEM)
 * marked secret. Key generation is not: its retry on a non-invertible g is a
 * deliberate, harmless branch (the rejected g is discarded).
 * "ct-decaps selftest" instead branches on a marked byte on purpose, so the
 * wrapper can show that memcheck does report such a branch.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "mlkem768.h"
#include "sntrup761.h"

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_MEMCHECK_H 1
#endif
#endif

#ifdef HAVE_MEMCHECK_H
#define SECRET(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define PUBLIC(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#endif

static int check_mlkem(int iterations)
{
	static uint8_t pk[MLKEM768_PUBLICKEYBYTES], sk[MLKEM768_SECRETKEYBYTES];
	static uint8_t ct[MLKEM768_CIPHERTEXTBYTES];
	uint8_t ss1[32], ss2[32];

	for (int i = 0; i < iterations; i++) {
		if (mlkem768_keypair(pk, sk) != 0 || mlkem768_encaps(ct, ss1, pk) != 0)
			return 1;
		if (i % 2 == 1)
			ct[i % sizeof(ct)] ^= 1; /* implicit-rejection path */
		SECRET(sk, 1152);
		SECRET(sk + MLKEM768_SECRETKEYBYTES - 32, 32);
		if (mlkem768_decaps(ss2, ct, sk) != 0)
			return 1;
		PUBLIC(ss2, sizeof(ss2));
		PUBLIC(sk, sizeof(sk));
		if ((memcmp(ss1, ss2, 32) == 0) != (i % 2 == 0)) {
			fprintf(stderr, "ct-decaps: ML-KEM-768 decapsulation gave a wrong key\n");
			return 1;
		}
	}
	return 0;
}

static int check_sntrup(int iterations)
{
	static uint8_t pk[SNTRUP761_PUBLICKEYBYTES], sk[SNTRUP761_SECRETKEYBYTES];
	static uint8_t ct[SNTRUP761_CIPHERTEXTBYTES];
	uint8_t ss1[32], ss2[32];

	for (int i = 0; i < iterations; i++) {
		if (sntrup761_keypair(pk, sk) != 0 || sntrup761_encaps(ct, ss1, pk) != 0)
			return 1;
		if (i % 2 == 1)
			ct[i % sizeof(ct)] ^= 1;
		SECRET(sk, 2 * 191);                                  /* f, 1/g */
		SECRET(sk + 2 * 191 + SNTRUP761_PUBLICKEYBYTES, 191); /* rho */
		if (sntrup761_decaps(ss2, ct, sk) != 0)
			return 1;
		PUBLIC(ss2, sizeof(ss2));
		PUBLIC(sk, sizeof(sk));
		if ((memcmp(ss1, ss2, 32) == 0) != (i % 2 == 0)) {
			fprintf(stderr, "ct-decaps: sntrup761 decapsulation gave a wrong key\n");
			return 1;
		}
	}
	return 0;
}

#ifdef HAVE_MEMCHECK_H
/* Random bytes that memcheck treats as secret (for encapsulation's r and m). */
static int secret_rng(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	if (RAND_bytes(out, (int)len) != 1)
		return -1;
	SECRET(out, len);
	return 0;
}

/* Encapsulation with its randomness secret: r (sntrup761) and m (ML-KEM). */
static int check_encaps(void)
{
	static uint8_t pk[SNTRUP761_PUBLICKEYBYTES], sk[SNTRUP761_SECRETKEYBYTES];
	static uint8_t ct[SNTRUP761_CIPHERTEXTBYTES];
	static uint8_t mpk[MLKEM768_PUBLICKEYBYTES], msk[MLKEM768_SECRETKEYBYTES];
	static uint8_t mct[MLKEM768_CIPHERTEXTBYTES];
	uint8_t ss[32], ss2[32], m[32];

	if (sntrup761_keypair(pk, sk) != 0 || sntrup761_encaps_rng(ct, ss, pk, secret_rng, NULL) != 0)
		return 1;
	PUBLIC(ct, sizeof(ct));
	PUBLIC(ss, sizeof(ss));
	if (sntrup761_decaps(ss2, ct, sk) != 0 || memcmp(ss, ss2, 32) != 0)
		return 1;
	if (mlkem768_keypair(mpk, msk) != 0 || secret_rng(NULL, m, sizeof(m)) != 0 ||
	    mlkem768_encaps_derand(mct, ss, mpk, m) != 0)
		return 1;
	PUBLIC(mct, sizeof(mct));
	PUBLIC(ss, sizeof(ss));
	if (mlkem768_decaps(ss2, mct, msk) != 0 || memcmp(ss, ss2, 32) != 0)
		return 1;
	return 0;
}
#endif

/* A deliberate secret-dependent branch: proves memcheck sees the marking. */
static int selftest(void)
{
	volatile uint8_t secret = 1;
	uint8_t copy;

	SECRET((void *)&secret, 1);
	copy = secret;
	if (copy == 1)
		printf("branch on a secret byte taken\n");
	return 0;
}

int main(int argc, char **argv)
{
#ifndef HAVE_MEMCHECK_H
	(void)argc;
	(void)argv;
	fprintf(stderr, "ct-decaps: <valgrind/memcheck.h> was missing at build time (Debian package valgrind)\n");
	return 1;
#else
	if (!RUNNING_ON_VALGRIND) {
		fprintf(stderr, "ct-decaps: must run under valgrind --tool=memcheck\n");
		return 1;
	}
	if (argc > 1 && strcmp(argv[1], "selftest") == 0)
		return selftest();
	if (check_mlkem(2) != 0 || check_sntrup(2) != 0 || check_encaps() != 0)
		return 1;
	printf("decapsulations and encapsulations done\n");
	return 0;
#endif
}
