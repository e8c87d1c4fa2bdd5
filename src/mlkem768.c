/*
 * mlkem768.c - ML-KEM-768 written from FIPS 203 (August 2024):
 *   §4.1 H, J, G, PRF, XOF (through src/pqhash.c: SHA3-256, SHAKE256,
 *        SHA3-512, SHAKE256, SHAKE128);
 *   §4.2.1 Compress_d / Decompress_d; Algorithms 5 and 6 ByteEncode_d /
 *        ByteDecode_d;
 *   §4.2.2 Algorithm 7 SampleNTT, Algorithm 8 SamplePolyCBD_eta;
 *   §4.3 Algorithms 9 and 10 NTT / NTT^-1, Algorithms 11 and 12
 *        MultiplyNTTs / BaseCaseMultiply;
 *   §5 Algorithms 13-15 K-PKE.KeyGen / Encrypt / Decrypt;
 *   §6 Algorithms 16-18 ML-KEM.KeyGen_internal / Encaps_internal /
 *        Decaps_internal;
 *   §7 Algorithms 19-21 ML-KEM.KeyGen / Encaps / Decaps with the §7.2
 *        encapsulation key (modulus) check and the §7.3 decapsulation key
 *        hash check.
 *
 * Coefficients are kept fully reduced in [0, q) as uint16_t. Everything that
 * touches secret data is constant time: reductions use multiply-and-shift
 * and masks (no division, no data-dependent branch), table indexes depend on
 * loop counters only, and decapsulation selects between the derived key and
 * the rejection key with a mask. Only SampleNTT branches on its input, which
 * is the public seed rho. Secret intermediates are wiped before returning.
 */
#include "config.h"

#include <string.h>

#include <openssl/rand.h>

#include "buf.h"
#include "mlkem768.h"
#include "pqhash.h"

#define N 256
#define Q 3329
#define K 3
#define ETA1 2
#define ETA2 2
#define DU 10
#define DV 4
#define POLYBYTES 384 /* ByteEncode_12 of one polynomial */
#define EK_PKE_BYTES (POLYBYTES * K + 32)
#define DK_PKE_BYTES (POLYBYTES * K)
#define C1_BYTES (32 * DU * K)
#define C2_BYTES (32 * DV)
#define XOF_BLOCK 168 /* SHAKE128 rate */
#define XOF_MAX_BLOCKS 32

struct poly {
	uint16_t c[N];
};

struct polyvec {
	struct poly p[K];
};

/* zeta^BitRev7(i) mod q for zeta = 17 (FIPS 203 §4.3, Appendix A). */
static const uint16_t zetas[128] = {
	1, 1729, 2580, 3289, 2642, 630, 1897, 848, 1062, 1919, 193, 797, 2786, 3260, 569, 1746,
	296, 2447, 1339, 1476, 3046, 56, 2240, 1333, 1426, 2094, 535, 2882, 2393, 2879, 1974, 821,
	289, 331, 3253, 1756, 1197, 2304, 2277, 2055, 650, 1977, 2513, 632, 2865, 33, 1320, 1915,
	2319, 1435, 807, 452, 1438, 2868, 1534, 2402, 2647, 2617, 1481, 648, 2474, 3110, 1227, 910,
	17, 2761, 583, 2649, 1637, 723, 2288, 1100, 1409, 2662, 3281, 233, 756, 2156, 3015, 3050,
	1703, 1651, 2789, 1789, 1847, 952, 1461, 2687, 939, 2308, 2437, 2388, 733, 2337, 268, 641,
	1584, 2298, 2037, 3220, 375, 2549, 2090, 1645, 1063, 319, 2773, 757, 2099, 561, 2466, 2594,
	2804, 1092, 403, 1026, 1143, 2150, 2775, 886, 1722, 1212, 1874, 1029, 2110, 2935, 885, 2154,
};

/* zeta^(2 BitRev7(i) + 1) mod q, the gamma of Algorithm 11 (Appendix A). */
static const uint16_t gammas[128] = {
	17, 3312, 2761, 568, 583, 2746, 2649, 680, 1637, 1692, 723, 2606, 2288, 1041, 1100, 2229,
	1409, 1920, 2662, 667, 3281, 48, 233, 3096, 756, 2573, 2156, 1173, 3015, 314, 3050, 279,
	1703, 1626, 1651, 1678, 2789, 540, 1789, 1540, 1847, 1482, 952, 2377, 1461, 1868, 2687, 642,
	939, 2390, 2308, 1021, 2437, 892, 2388, 941, 733, 2596, 2337, 992, 268, 3061, 641, 2688,
	1584, 1745, 2298, 1031, 2037, 1292, 3220, 109, 375, 2954, 2549, 780, 2090, 1239, 1645, 1684,
	1063, 2266, 319, 3010, 2773, 556, 757, 2572, 2099, 1230, 561, 2768, 2466, 863, 2594, 735,
	2804, 525, 1092, 2237, 403, 2926, 1026, 2303, 1143, 2186, 2150, 1179, 2775, 554, 886, 2443,
	1722, 1607, 1212, 2117, 1874, 1455, 1029, 2300, 2110, 1219, 2935, 394, 885, 2444, 2154, 1175,
};

/* a mod q for a < 2q, without a branch. */
static uint16_t csubq(uint32_t a)
{
	uint32_t r = a - Q;
	uint32_t mask = 0u - (r >> 31); /* all ones when a < q */

	return (uint16_t)(r + (mask & Q));
}

/* floor(a / q) for any 32-bit a: Barrett estimate, then one masked correction. */
static uint32_t divq(uint32_t a)
{
	uint32_t t = (uint32_t)(((uint64_t)a * 1290167u) >> 32); /* 1290167 = floor(2^32 / q) */
	uint32_t r = a - t * Q;                                   /* in [0, 2q) */

	return t + (((r - Q) >> 31) ^ 1u);
}

/* a mod q for any 32-bit a. */
static uint16_t reduce(uint32_t a)
{
	return (uint16_t)(a - divq(a) * Q);
}

static uint16_t fqmul(uint16_t a, uint16_t b)
{
	return reduce((uint32_t)a * b);
}

/* §4.2.1 Compress_d(x) = round(2^d x / q) mod 2^d; q is odd, so no ties. */
static uint16_t compress(uint16_t x, unsigned d)
{
	return (uint16_t)(divq(((uint32_t)x << d) + Q / 2) & ((1u << d) - 1));
}

/* §4.2.1 Decompress_d(y) = round(q y / 2^d). */
static uint16_t decompress(uint16_t y, unsigned d)
{
	return (uint16_t)(((uint32_t)y * Q + (1u << (d - 1))) >> d);
}

/* Algorithm 5 ByteEncode_d: 256 d-bit integers, little-endian bit order. */
static void byte_encode(uint8_t *out, const struct poly *f, unsigned d)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < N; i++) {
		acc |= (uint32_t)f->c[i] << bits;
		bits += d;
		while (bits >= 8) {
			out[o++] = (uint8_t)acc;
			acc >>= 8;
			bits -= 8;
		}
	}
	wipe(&acc, sizeof(acc));
}

/* Algorithm 6 ByteDecode_d without the mod-q step (callers reduce or check). */
static void byte_decode(struct poly *f, const uint8_t *in, unsigned d)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < N; i++) {
		while (bits < d) {
			acc |= (uint32_t)in[o++] << bits;
			bits += 8;
		}
		f->c[i] = (uint16_t)(acc & ((1u << d) - 1));
		acc >>= d;
		bits -= d;
	}
	wipe(&acc, sizeof(acc));
}

/* Algorithm 6 ByteDecode_12, reduced modulo q (m = q for d = 12). */
static void byte_decode12(struct poly *f, const uint8_t *in)
{
	byte_decode(f, in, 12);
	for (size_t i = 0; i < N; i++)
		f->c[i] = csubq(f->c[i]); /* < 4096 < 2q */
}

/*
 * Algorithm 7 SampleNTT(B): rejection sampling of 12-bit candidates from
 * XOF(B) = SHAKE128(rho || b1 || b2). B is public, so branching is fine. The
 * XOF is re-run with a longer output when the first blocks run out.
 */
static int sample_ntt(struct poly *a, const uint8_t rho[32], uint8_t b1, uint8_t b2)
{
	uint8_t stream[XOF_BLOCK * XOF_MAX_BLOCKS];
	uint8_t idx[2] = { b1, b2 };
	const struct pqhash_seg in[] = { { rho, 32 }, { idx, 2 }, { NULL, 0 } };
	size_t have = XOF_BLOCK * 4, pos = 0, j = 0;
	int r;

	if ((r = pqhash(PQHASH_SHAKE128, in, stream, have)) != 0)
		return r;
	while (j < N) {
		uint16_t d1, d2;

		if (have - pos < 3) {
			if (have == sizeof(stream))
				return ERR_INTERNAL; /* probability far below 2^-1000 */
			have *= 2;
			if ((r = pqhash(PQHASH_SHAKE128, in, stream, have)) != 0)
				return r;
		}
		d1 = (uint16_t)(stream[pos] | ((stream[pos + 1] & 0x0f) << 8));
		d2 = (uint16_t)((stream[pos + 1] >> 4) | (stream[pos + 2] << 4));
		pos += 3;
		if (d1 < Q)
			a->c[j++] = d1;
		if (d2 < Q && j < N)
			a->c[j++] = d2;
	}
	return 0;
}

/* Algorithm 8 SamplePolyCBD_2 over PRF_2(s, b) = SHAKE256(s || b, 128 bytes). */
static int sample_cbd2(struct poly *f, const uint8_t s[32], uint8_t b)
{
	uint8_t prf[64 * ETA1];
	const struct pqhash_seg in[] = { { s, 32 }, { &b, 1 }, { NULL, 0 } };
	int r;

	if ((r = pqhash(PQHASH_SHAKE256, in, prf, sizeof(prf))) != 0)
		goto out;
	for (size_t i = 0; i < N / 2; i++) {
		uint32_t v = prf[i];
		uint32_t x0 = (v & 1) + ((v >> 1) & 1), y0 = ((v >> 2) & 1) + ((v >> 3) & 1);
		uint32_t x1 = ((v >> 4) & 1) + ((v >> 5) & 1), y1 = ((v >> 6) & 1) + ((v >> 7) & 1);

		f->c[2 * i] = csubq(x0 + Q - y0);
		f->c[2 * i + 1] = csubq(x1 + Q - y1);
	}
out:
	wipe(prf, sizeof(prf));
	return r;
}

/* Algorithm 9 NTT, in place. */
static void ntt(struct poly *f)
{
	size_t i = 1;

	for (size_t len = 128; len >= 2; len /= 2) {
		for (size_t start = 0; start < N; start += 2 * len) {
			uint16_t zeta = zetas[i++];

			for (size_t j = start; j < start + len; j++) {
				uint16_t t = fqmul(zeta, f->c[j + len]);

				f->c[j + len] = csubq((uint32_t)f->c[j] + Q - t);
				f->c[j] = csubq((uint32_t)f->c[j] + t);
			}
		}
	}
}

/* Algorithm 10 NTT^-1, in place; 3303 = 128^-1 mod q. */
static void ntt_inverse(struct poly *f)
{
	size_t i = 127;

	for (size_t len = 2; len <= 128; len *= 2) {
		for (size_t start = 0; start < N; start += 2 * len) {
			uint16_t zeta = zetas[i--];

			for (size_t j = start; j < start + len; j++) {
				uint16_t t = f->c[j];

				f->c[j] = csubq((uint32_t)t + f->c[j + len]);
				f->c[j + len] = fqmul(zeta, csubq((uint32_t)f->c[j + len] + Q - t));
			}
		}
	}
	for (size_t j = 0; j < N; j++)
		f->c[j] = fqmul(f->c[j], 3303);
}

/* Algorithms 11 and 12: h += f (x) g in the NTT domain. */
static void multiply_ntts_acc(struct poly *h, const struct poly *f, const struct poly *g)
{
	for (size_t i = 0; i < N / 2; i++) {
		uint32_t a0 = f->c[2 * i], a1 = f->c[2 * i + 1];
		uint32_t b0 = g->c[2 * i], b1 = g->c[2 * i + 1];
		uint16_t c0 = reduce(a0 * b0 + fqmul(reduce(a1 * b1), gammas[i]));
		uint16_t c1 = reduce(a0 * b1 + a1 * b0);

		h->c[2 * i] = csubq((uint32_t)h->c[2 * i] + c0);
		h->c[2 * i + 1] = csubq((uint32_t)h->c[2 * i + 1] + c1);
	}
}

static void poly_add(struct poly *h, const struct poly *f)
{
	for (size_t i = 0; i < N; i++)
		h->c[i] = csubq((uint32_t)h->c[i] + f->c[i]);
}

/*
 * A_hat of Algorithms 13 and 14: entry (i, j) is SampleNTT(rho || j || i);
 * the transpose, needed by K-PKE.Encrypt, swaps the two index bytes.
 */
static int gen_matrix(struct polyvec a[K], const uint8_t rho[32], int transposed)
{
	int r;

	for (size_t i = 0; i < K; i++) {
		for (size_t j = 0; j < K; j++) {
			r = transposed ? sample_ntt(&a[i].p[j], rho, (uint8_t)i, (uint8_t)j)
			               : sample_ntt(&a[i].p[j], rho, (uint8_t)j, (uint8_t)i);
			if (r != 0)
				return r;
		}
	}
	return 0;
}

/*
 * Algorithm 13 K-PKE.KeyGen from line 2 on, given (rho, sigma) = G(d || k):
 * ek_pke (1184 bytes) and dk_pke (1152 bytes).
 */
static int kpke_keygen_seeds(uint8_t ek[EK_PKE_BYTES], uint8_t dk[DK_PKE_BYTES],
                             const uint8_t rhosigma[64])
{
	struct polyvec a[K], s, e, t;
	const uint8_t *rho = rhosigma, *sigma = rhosigma + 32;
	uint8_t n = 0;
	int r;

	if ((r = gen_matrix(a, rho, 0)) != 0)
		goto out;
	for (size_t i = 0; i < K; i++)
		if ((r = sample_cbd2(&s.p[i], sigma, n++)) != 0)
			goto out;
	for (size_t i = 0; i < K; i++)
		if ((r = sample_cbd2(&e.p[i], sigma, n++)) != 0)
			goto out;
	for (size_t i = 0; i < K; i++) {
		ntt(&s.p[i]);
		ntt(&e.p[i]);
	}
	/* t_hat = A_hat s_hat + e_hat */
	for (size_t i = 0; i < K; i++) {
		t.p[i] = e.p[i];
		for (size_t j = 0; j < K; j++)
			multiply_ntts_acc(&t.p[i], &a[i].p[j], &s.p[j]);
	}
	for (size_t i = 0; i < K; i++) {
		byte_encode(ek + POLYBYTES * i, &t.p[i], 12);
		byte_encode(dk + POLYBYTES * i, &s.p[i], 12);
	}
	memcpy(ek + POLYBYTES * K, rho, 32);
out:
	wipe(&s, sizeof(s));
	wipe(&e, sizeof(e));
	wipe(&t, sizeof(t));
	return r;
}

/* Algorithm 14 K-PKE.Encrypt(ek_pke, m, r). */
static int kpke_encrypt(uint8_t c[MLKEM768_CIPHERTEXTBYTES], const uint8_t ek[EK_PKE_BYTES],
                        const uint8_t m[32], const uint8_t coins[32])
{
	struct polyvec at[K], t, y, e1, u;
	struct poly e2, mu, v;
	uint8_t n = 0;
	int r;

	for (size_t i = 0; i < K; i++)
		byte_decode12(&t.p[i], ek + POLYBYTES * i);
	if ((r = gen_matrix(at, ek + POLYBYTES * K, 1)) != 0)
		goto out;
	for (size_t i = 0; i < K; i++)
		if ((r = sample_cbd2(&y.p[i], coins, n++)) != 0)
			goto out;
	for (size_t i = 0; i < K; i++)
		if ((r = sample_cbd2(&e1.p[i], coins, n++)) != 0)
			goto out;
	if ((r = sample_cbd2(&e2, coins, n++)) != 0)
		goto out;
	for (size_t i = 0; i < K; i++)
		ntt(&y.p[i]);
	/* u = NTT^-1(A_hat^T y_hat) + e1 */
	for (size_t i = 0; i < K; i++) {
		memset(&u.p[i], 0, sizeof(u.p[i]));
		for (size_t j = 0; j < K; j++)
			multiply_ntts_acc(&u.p[i], &at[i].p[j], &y.p[j]);
		ntt_inverse(&u.p[i]);
		poly_add(&u.p[i], &e1.p[i]);
	}
	/* mu = Decompress_1(ByteDecode_1(m)); v = NTT^-1(t_hat^T y_hat) + e2 + mu */
	byte_decode(&mu, m, 1);
	for (size_t i = 0; i < N; i++)
		mu.c[i] = decompress(mu.c[i], 1);
	memset(&v, 0, sizeof(v));
	for (size_t j = 0; j < K; j++)
		multiply_ntts_acc(&v, &t.p[j], &y.p[j]);
	ntt_inverse(&v);
	poly_add(&v, &e2);
	poly_add(&v, &mu);
	/* c1 = ByteEncode_du(Compress_du(u)), c2 = ByteEncode_dv(Compress_dv(v)) */
	for (size_t i = 0; i < K; i++) {
		for (size_t j = 0; j < N; j++)
			u.p[i].c[j] = compress(u.p[i].c[j], DU);
		byte_encode(c + 32 * DU * i, &u.p[i], DU);
	}
	for (size_t j = 0; j < N; j++)
		v.c[j] = compress(v.c[j], DV);
	byte_encode(c + C1_BYTES, &v, DV);
out:
	wipe(&y, sizeof(y));
	wipe(&e1, sizeof(e1));
	wipe(&e2, sizeof(e2));
	wipe(&mu, sizeof(mu));
	wipe(&u, sizeof(u));
	wipe(&v, sizeof(v));
	return r;
}

/* Algorithm 15 K-PKE.Decrypt(dk_pke, c). */
static void kpke_decrypt(uint8_t m[32], const uint8_t dk[DK_PKE_BYTES],
                         const uint8_t c[MLKEM768_CIPHERTEXTBYTES])
{
	struct polyvec u, s;
	struct poly v, w;

	for (size_t i = 0; i < K; i++) {
		byte_decode(&u.p[i], c + 32 * DU * i, DU);
		for (size_t j = 0; j < N; j++)
			u.p[i].c[j] = decompress(u.p[i].c[j], DU);
		ntt(&u.p[i]);
		byte_decode12(&s.p[i], dk + POLYBYTES * i);
	}
	byte_decode(&v, c + C1_BYTES, DV);
	for (size_t j = 0; j < N; j++)
		v.c[j] = decompress(v.c[j], DV);
	/* w = v' - NTT^-1(s_hat^T NTT(u')) */
	memset(&w, 0, sizeof(w));
	for (size_t i = 0; i < K; i++)
		multiply_ntts_acc(&w, &s.p[i], &u.p[i]);
	ntt_inverse(&w);
	for (size_t j = 0; j < N; j++)
		w.c[j] = compress(csubq((uint32_t)v.c[j] + Q - w.c[j]), 1);
	byte_encode(m, &w, 1);
	wipe(&s, sizeof(s));
	wipe(&u, sizeof(u));
	wipe(&v, sizeof(v));
	wipe(&w, sizeof(w));
}

int mlkem768_keypair_from_seeds(uint8_t pk[static MLKEM768_PUBLICKEYBYTES],
                                uint8_t sk[static MLKEM768_SECRETKEYBYTES],
                                const uint8_t rhosigma[static 64], const uint8_t z[static 32])
{
	const struct pqhash_seg hin[] = { { pk, MLKEM768_PUBLICKEYBYTES }, { NULL, 0 } };
	int r;

	/* Algorithm 16: dk = dk_pke || ek || H(ek) || z */
	if ((r = kpke_keygen_seeds(pk, sk, rhosigma)) != 0)
		goto out;
	memcpy(sk + DK_PKE_BYTES, pk, MLKEM768_PUBLICKEYBYTES);
	if ((r = pqhash(PQHASH_SHA3_256, hin, sk + DK_PKE_BYTES + EK_PKE_BYTES, 32)) != 0)
		goto out;
	memcpy(sk + DK_PKE_BYTES + EK_PKE_BYTES + 32, z, 32);
out:
	if (r != 0) {
		wipe(pk, MLKEM768_PUBLICKEYBYTES);
		wipe(sk, MLKEM768_SECRETKEYBYTES);
	}
	return r;
}

int mlkem768_keypair_derand(uint8_t pk[static MLKEM768_PUBLICKEYBYTES],
                            uint8_t sk[static MLKEM768_SECRETKEYBYTES],
                            const uint8_t coins[static MLKEM768_KEYGEN_SEEDBYTES])
{
	uint8_t rhosigma[64], kbyte = K;
	const struct pqhash_seg gin[] = { { coins, 32 }, { &kbyte, 1 }, { NULL, 0 } };
	int r;

	/* Algorithm 13 line 1: (rho, sigma) <- G(d || k), the k byte being FIPS 203's
	 * domain separation between parameter sets (absent from the ipd draft). */
	if ((r = pqhash(PQHASH_SHA3_512, gin, rhosigma, sizeof(rhosigma))) != 0) {
		wipe(pk, MLKEM768_PUBLICKEYBYTES);
		wipe(sk, MLKEM768_SECRETKEYBYTES);
	} else
		r = mlkem768_keypair_from_seeds(pk, sk, rhosigma, coins + 32);
	wipe(rhosigma, sizeof(rhosigma));
	return r;
}

int mlkem768_keypair(uint8_t pk[static MLKEM768_PUBLICKEYBYTES],
                     uint8_t sk[static MLKEM768_SECRETKEYBYTES])
{
	uint8_t coins[MLKEM768_KEYGEN_SEEDBYTES];
	int r = ERR_LIBCRYPTO;

	if (RAND_bytes(coins, sizeof(coins)) == 1)
		r = mlkem768_keypair_derand(pk, sk, coins);
	else {
		wipe(pk, MLKEM768_PUBLICKEYBYTES);
		wipe(sk, MLKEM768_SECRETKEYBYTES);
	}
	wipe(coins, sizeof(coins));
	return r;
}

/* §7.2 modulus check: ByteEncode_12(ByteDecode_12(ek[0:384k])) == ek[0:384k]. */
static int ek_check(const uint8_t pk[MLKEM768_PUBLICKEYBYTES])
{
	struct poly t;

	for (size_t i = 0; i < K; i++) {
		byte_decode(&t, pk + POLYBYTES * i, 12);
		for (size_t j = 0; j < N; j++)
			if (t.c[j] >= Q)
				return ERR_INVALID_FORMAT;
	}
	return 0;
}

int mlkem768_encaps_derand(uint8_t ct[static MLKEM768_CIPHERTEXTBYTES],
                           uint8_t ss[static MLKEM768_SSBYTES],
                           const uint8_t pk[static MLKEM768_PUBLICKEYBYTES],
                           const uint8_t m[static MLKEM768_ENCAPS_SEEDBYTES])
{
	uint8_t h[32], kr[64];
	const struct pqhash_seg hin[] = { { pk, MLKEM768_PUBLICKEYBYTES }, { NULL, 0 } };
	const struct pqhash_seg gin[] = { { m, 32 }, { h, 32 }, { NULL, 0 } };
	int r;

	if ((r = ek_check(pk)) != 0)
		goto out;
	/* Algorithm 17: (K, r) <- G(m || H(ek)); c <- K-PKE.Encrypt(ek, m, r) */
	if ((r = pqhash(PQHASH_SHA3_256, hin, h, sizeof(h))) != 0)
		goto out;
	if ((r = pqhash(PQHASH_SHA3_512, gin, kr, sizeof(kr))) != 0)
		goto out;
	if ((r = kpke_encrypt(ct, pk, m, kr + 32)) != 0)
		goto out;
	memcpy(ss, kr, MLKEM768_SSBYTES);
out:
	if (r != 0) {
		wipe(ct, MLKEM768_CIPHERTEXTBYTES);
		wipe(ss, MLKEM768_SSBYTES);
	}
	wipe(kr, sizeof(kr));
	return r;
}

int mlkem768_encaps(uint8_t ct[static MLKEM768_CIPHERTEXTBYTES],
                    uint8_t ss[static MLKEM768_SSBYTES],
                    const uint8_t pk[static MLKEM768_PUBLICKEYBYTES])
{
	uint8_t m[MLKEM768_ENCAPS_SEEDBYTES];
	int r = ERR_LIBCRYPTO;

	if (RAND_bytes(m, sizeof(m)) == 1)
		r = mlkem768_encaps_derand(ct, ss, pk, m);
	else {
		wipe(ct, MLKEM768_CIPHERTEXTBYTES);
		wipe(ss, MLKEM768_SSBYTES);
	}
	wipe(m, sizeof(m));
	return r;
}

int mlkem768_decaps(uint8_t ss[static MLKEM768_SSBYTES],
                    const uint8_t ct[static MLKEM768_CIPHERTEXTBYTES],
                    const uint8_t sk[static MLKEM768_SECRETKEYBYTES])
{
	const uint8_t *dk_pke = sk;
	const uint8_t *ek = sk + DK_PKE_BYTES;
	const uint8_t *h = ek + EK_PKE_BYTES;
	const uint8_t *z = h + 32;
	uint8_t hcheck[32], mprime[32], kr[64], kbar[32], cprime[MLKEM768_CIPHERTEXTBYTES];
	const struct pqhash_seg hin[] = { { ek, EK_PKE_BYTES }, { NULL, 0 } };
	const struct pqhash_seg gin[] = { { mprime, 32 }, { h, 32 }, { NULL, 0 } };
	const struct pqhash_seg jin[] = { { z, 32 }, { ct, MLKEM768_CIPHERTEXTBYTES }, { NULL, 0 } };
	uint32_t diff = 0, mask;
	int r;

	/* §7.3 hash check: H(dk[384k : 768k + 32]) == h (public data). */
	if ((r = pqhash(PQHASH_SHA3_256, hin, hcheck, sizeof(hcheck))) != 0)
		goto out;
	if (memcmp(hcheck, h, 32) != 0) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	/* Algorithm 18 */
	kpke_decrypt(mprime, dk_pke, ct);
	if ((r = pqhash(PQHASH_SHA3_512, gin, kr, sizeof(kr))) != 0)
		goto out;
	if ((r = pqhash(PQHASH_SHAKE256, jin, kbar, sizeof(kbar))) != 0)
		goto out;
	if ((r = kpke_encrypt(cprime, ek, mprime, kr + 32)) != 0)
		goto out;
	for (size_t i = 0; i < MLKEM768_CIPHERTEXTBYTES; i++)
		diff |= (uint32_t)(ct[i] ^ cprime[i]);
	/* mask = all ones when c == c', else zero; no branch on the comparison. */
	mask = ((diff | (0u - diff)) >> 31) - 1u;
	for (size_t i = 0; i < MLKEM768_SSBYTES; i++)
		ss[i] = (uint8_t)((kr[i] & mask) | (kbar[i] & ~mask));
out:
	if (r != 0)
		wipe(ss, MLKEM768_SSBYTES);
	wipe(mprime, sizeof(mprime));
	wipe(kr, sizeof(kr));
	wipe(kbar, sizeof(kbar));
	wipe(cprime, sizeof(cprime));
	wipe(&diff, sizeof(diff));
	wipe(&mask, sizeof(mask));
	return r;
}
