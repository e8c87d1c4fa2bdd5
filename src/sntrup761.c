/*
 * sntrup761.c - Streamlined NTRU Prime sntrup761, written from "NTRU Prime:
 * round 3" (Bernstein, Brumley, Chen, Chuengsatiansup, Lange, Marotzke,
 * Peng, Tuveri, van Vredendaal, Yang; 2020-10-07):
 *   §3.1 parameters p = 761, q = 4591, w = 286; rings R/3 and R/q with
 *        R = Z[x]/(x^p - x - 1);
 *   §3.2 Short (weight-w ternary) and Small polynomials, Round;
 *   §3.3 Streamlined NTRU Prime Core: KeyGen (g invertible in R/3,
 *        h = g/(3f) in R/q), Encrypt (c = Round(h r)), Decrypt (with the
 *        weight check and fixed fallback);
 *   §3.4 encodings: Encode/Decode of R/q and of rounded elements (the radix
 *        scheme with 16384 limbs), Small encoding (2 bits per coefficient);
 *   §3.5 the KEM: Hash_b = first 32 bytes of SHA-512(b || input), Confirm =
 *        Hash_2(Hash_3(r) || Hash_4(pk)), session key Hash_1(Hash_3(r) || C)
 *        on success and Hash_0(Hash_3(rho) || C) on rejection;
 *   random Short generation through a sorting network (§3.2 "Short_fromlist").
 *
 * Constant time: every operation on f, v, r and the decapsulation result is
 * branch-free and indexes tables by loop counters only. Reductions use
 * multiply-and-shift with masks; the sort is a fixed Batcher odd-even merge
 * network with masked compare-exchange; inversion runs a fixed 2p-1 division
 * steps with masked swaps. Decoding of public keys and ciphertexts (public
 * data) uses ordinary division. Secrets are wiped before returning.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "buf.h"
#include "pqhash.h"
#include "sntrup761.h"

#define P 761
#define Q 4591
#define W 286
#define Q12 ((Q - 1) / 2)
#define SMALL_BYTES ((P + 3) / 4) /* 191 */
#define RQ_BYTES 1158
#define ROUNDED_BYTES 1007
#define HASH_BYTES 32
#define SK_F 0
#define SK_V SMALL_BYTES
#define SK_PK (2 * SMALL_BYTES)
#define SK_RHO (SK_PK + SNTRUP761_PUBLICKEYBYTES)
#define SK_CACHE (SK_RHO + SMALL_BYTES)
#define KEYGEN_TRIES_MAX 1000

typedef int8_t small;
typedef int16_t fq;

/* -1 when x != 0, else 0. */
static int32_t nonzero_mask(int32_t x)
{
	uint32_t u = (uint32_t)x;

	return (int32_t)(0u - ((u | (0u - u)) >> 31));
}

/* -1 when x < 0, else 0. */
static int32_t negative_mask(int32_t x)
{
	return (int32_t)(0u - ((uint32_t)x >> 31));
}

/* x mod 3 in {-1, 0, 1} for |x| < 2^21. */
static small f3_freeze(int32_t x)
{
	uint32_t y = (uint32_t)(x + 3 * (1 << 21));
	uint32_t t = (uint32_t)(((uint64_t)y * 0xaaaaaaabu) >> 33); /* exact y / 3 */
	uint32_t r = y - 3 * t;                                     /* 0, 1, 2 */

	return (small)((int32_t)r - 3 * (int32_t)(r >> 1));
}

/* x mod q in [-(q-1)/2, (q-1)/2] for |x| < 2^26. */
static fq fq_freeze(int32_t x)
{
	uint32_t y = (uint32_t)(x + Q * 16384); /* positive, < 2^28 */
	uint32_t t = (uint32_t)(((uint64_t)y * 935519u) >> 32); /* 935519 = floor(2^32 / q) */
	uint32_t r = y - t * Q;                                 /* [0, 2q) */
	int32_t c;

	r -= Q & ~(uint32_t)negative_mask((int32_t)r - Q); /* [0, q) */
	c = (int32_t)r;
	c -= Q & negative_mask(Q12 - c); /* subtract q when c > (q-1)/2 */
	return (fq)c;
}

/* a^(q-2) = 1/a in F_q (a != 0); the exponent is public. */
static fq fq_recip(fq a)
{
	fq result = 1, base = a;

	for (unsigned e = Q - 2; e != 0; e >>= 1) {
		if (e & 1)
			result = fq_freeze((int32_t)result * base);
		base = fq_freeze((int32_t)base * base);
	}
	return result;
}

/* h = f g in R/q, g small: schoolbook product, then x^p = x + 1. */
static void rq_mult_small(fq h[P], const fq f[P], const small g[P])
{
	int32_t fg[2 * P - 1];

	memset(fg, 0, sizeof(fg));
	for (size_t i = 0; i < P; i++)
		for (size_t j = 0; j < P; j++)
			fg[i + j] += (int32_t)f[i] * g[j];
	for (size_t i = 2 * P - 2; i >= P; i--) {
		fg[i - P] += fg[i];
		fg[i - P + 1] += fg[i];
	}
	for (size_t i = 0; i < P; i++)
		h[i] = fq_freeze(fg[i]);
	wipe(fg, sizeof(fg));
}

/* h = f g in R/3. */
static void r3_mult(small h[P], const small f[P], const small g[P])
{
	int32_t fg[2 * P - 1];

	memset(fg, 0, sizeof(fg));
	for (size_t i = 0; i < P; i++)
		for (size_t j = 0; j < P; j++)
			fg[i + j] += (int32_t)f[i] * g[j];
	for (size_t i = 2 * P - 2; i >= P; i--) {
		fg[i - P] += fg[i];
		fg[i - P + 1] += fg[i];
	}
	for (size_t i = 0; i < P; i++)
		h[i] = f3_freeze(fg[i]);
	wipe(fg, sizeof(fg));
}

/*
 * Reciprocal in R/3 by 2p-1 constant-time division steps on the reversed
 * polynomials of x^p - x - 1 and in (the extended-GCD of the round-3
 * specification's reference design, §3.3 "R3_recip"). Returns 0 and
 * out = 1/in when in is invertible, -1 otherwise.
 */
static int r3_recip(small out[P], const small in[P])
{
	small f[P + 1], g[P + 1], v[P + 1], r[P + 1];
	int32_t delta = 1, sign, swap, t;
	int result;

	memset(v, 0, sizeof(v));
	memset(r, 0, sizeof(r));
	r[0] = 1;
	memset(f, 0, sizeof(f));
	f[0] = 1;
	f[P - 1] = f[P] = -1;
	for (size_t i = 0; i < P; i++)
		g[P - 1 - i] = in[i];
	g[P] = 0;
	for (size_t loop = 0; loop < 2 * P - 1; loop++) {
		memmove(v + 1, v, P);
		v[0] = 0;
		sign = -(int32_t)g[0] * f[0];
		swap = negative_mask(-delta) & nonzero_mask(g[0]);
		delta ^= swap & (delta ^ -delta);
		delta += 1;
		for (size_t i = 0; i <= P; i++) {
			t = swap & (f[i] ^ g[i]);
			f[i] = (small)(f[i] ^ t);
			g[i] = (small)(g[i] ^ t);
			t = swap & (v[i] ^ r[i]);
			v[i] = (small)(v[i] ^ t);
			r[i] = (small)(r[i] ^ t);
		}
		for (size_t i = 0; i <= P; i++) {
			g[i] = f3_freeze(g[i] + sign * f[i]);
			r[i] = f3_freeze(r[i] + sign * v[i]);
		}
		memmove(g, g + 1, P);
		g[P] = 0;
	}
	sign = f[0];
	for (size_t i = 0; i < P; i++)
		out[i] = (small)(sign * v[P - 1 - i]);
	result = nonzero_mask(delta);
	wipe(f, sizeof(f));
	wipe(g, sizeof(g));
	wipe(v, sizeof(v));
	wipe(r, sizeof(r));
	wipe(&delta, sizeof(delta));
	return result;
}

/* out = 1/(3 in) in R/q, same division steps over F_q; in must be nonzero. */
static int rq_recip3(fq out[P], const small in[P])
{
	fq f[P + 1], g[P + 1], v[P + 1], r[P + 1];
	int32_t delta = 1, swap, t, f0, g0;
	fq scale;
	int result;

	memset(v, 0, sizeof(v));
	memset(r, 0, sizeof(r));
	r[0] = fq_recip(3);
	memset(f, 0, sizeof(f));
	f[0] = 1;
	f[P - 1] = f[P] = -1;
	for (size_t i = 0; i < P; i++)
		g[P - 1 - i] = in[i];
	g[P] = 0;
	for (size_t loop = 0; loop < 2 * P - 1; loop++) {
		memmove(v + 1, v, P * sizeof(fq));
		v[0] = 0;
		swap = negative_mask(-delta) & nonzero_mask(g[0]);
		delta ^= swap & (delta ^ -delta);
		delta += 1;
		for (size_t i = 0; i <= P; i++) {
			t = swap & (f[i] ^ g[i]);
			f[i] = (fq)(f[i] ^ t);
			g[i] = (fq)(g[i] ^ t);
			t = swap & (v[i] ^ r[i]);
			v[i] = (fq)(v[i] ^ t);
			r[i] = (fq)(r[i] ^ t);
		}
		f0 = f[0];
		g0 = g[0];
		for (size_t i = 0; i <= P; i++) {
			g[i] = fq_freeze(f0 * g[i] - g0 * f[i]);
			r[i] = fq_freeze(f0 * r[i] - g0 * v[i]);
		}
		memmove(g, g + 1, P * sizeof(fq));
		g[P] = 0;
	}
	scale = fq_recip(f[0]);
	for (size_t i = 0; i < P; i++)
		out[i] = fq_freeze((int32_t)scale * v[P - 1 - i]);
	result = nonzero_mask(delta);
	wipe(f, sizeof(f));
	wipe(g, sizeof(g));
	wipe(v, sizeof(v));
	wipe(r, sizeof(r));
	wipe(&scale, sizeof(scale));
	return result;
}

/* Masked compare-exchange: afterwards x[i] <= x[j]. */
static void minmax(uint32_t *x, size_t i, size_t j)
{
	uint32_t a = x[i], b = x[j];
	uint32_t mask = (uint32_t)(0u - (uint32_t)(((uint64_t)b - a) >> 63)); /* b < a */
	uint32_t t = (a ^ b) & mask;

	x[i] = a ^ t;
	x[j] = b ^ t;
}

/*
 * Batcher's odd-even merge sort network for any n: the network for the next
 * power of two with every comparator that touches an index >= n dropped
 * (those positions would hold +infinity and never move). Comparator
 * positions depend only on n.
 */
static void sort_u32(uint32_t *x, size_t n)
{
	for (size_t p = 1; p < n; p *= 2)
		for (size_t k = p; k >= 1; k /= 2)
			for (size_t j = k % p; j + k < n; j += 2 * k)
				for (size_t i = 0; i < k && i + j + k < n; i++)
					if ((i + j) / (2 * p) == (i + j + k) / (2 * p))
						minmax(x, i + j, i + j + k);
}

static uint32_t load_le32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* §3.2 Small: coefficient ((u mod 2^30) * 3) >> 30, minus 1, per random word. */
static void small_from_random(small out[P], const uint8_t rnd[4 * P])
{
	for (size_t i = 0; i < P; i++)
		out[i] = (small)((((load_le32(rnd + 4 * i) & 0x3fffffffu) * 3) >> 30) - 1);
}

/*
 * §3.2 Short_fromlist: w words get their low bits 00/10 (coefficient -1 or
 * +1), the rest 01 (coefficient 0); sorting the words shuffles them.
 */
static void short_from_random(small out[P], const uint8_t rnd[4 * P])
{
	uint32_t l[P];

	for (size_t i = 0; i < P; i++) {
		uint32_t u = load_le32(rnd + 4 * i);

		l[i] = i < W ? (u & ~1u) : ((u & ~3u) | 1u);
	}
	sort_u32(l, P);
	for (size_t i = 0; i < P; i++)
		out[i] = (small)((l[i] & 3) - 1);
	wipe(l, sizeof(l));
}

/* §3.4 Small encoding: four coefficients + 1 per byte, 2 bits each. */
static void small_encode(uint8_t out[SMALL_BYTES], const small f[P])
{
	for (size_t i = 0; i < P / 4; i++) {
		uint8_t x = 0;

		for (size_t j = 0; j < 4; j++)
			x = (uint8_t)(x | (uint8_t)(f[4 * i + j] + 1) << (2 * j));
		out[i] = x;
	}
	out[P / 4] = (uint8_t)(f[P - 1] + 1);
}

static void small_decode(small f[P], const uint8_t in[SMALL_BYTES])
{
	for (size_t i = 0; i < P / 4; i++)
		for (size_t j = 0; j < 4; j++)
			f[4 * i + j] = (small)(((in[i] >> (2 * j)) & 3) - 1);
	f[P - 1] = (small)((in[P / 4] & 3) - 1);
}

/*
 * §3.4 Encode(R, M): pairs (r0, r1) with moduli (m0, m1) merge into
 * r0 + m0 r1 modulo m0 m1, emitting low bytes while the modulus is at least
 * 16384; repeat on the halved list; the last element goes out little-endian.
 * R and M are consumed (overwritten). Returns the number of bytes written.
 */
static size_t encode(uint8_t *out, uint32_t *r, uint32_t *m, size_t len)
{
	size_t o = 0;

	while (len > 1) {
		size_t half = 0;

		for (size_t i = 0; i + 1 < len; i += 2) {
			uint64_t mm = (uint64_t)m[i] * m[i + 1];
			uint64_t rr = r[i] + (uint64_t)m[i] * r[i + 1];

			while (mm >= 16384) {
				out[o++] = (uint8_t)rr;
				rr >>= 8;
				mm = (mm + 255) >> 8;
			}
			r[half] = (uint32_t)rr;
			m[half] = (uint32_t)mm;
			half++;
		}
		if (len & 1) {
			r[half] = r[len - 1];
			m[half] = m[len - 1];
			half++;
		}
		len = half;
	}
	for (uint64_t rr = r[0], mm = m[0]; mm > 1; rr >>= 8, mm = (mm + 255) >> 8)
		out[o++] = (uint8_t)rr;
	return o;
}

/* Levels of the Encode tree for a list of len moduli (p = 761 gives 11). */
#define DECODE_LEVELS_MAX 16

/*
 * §3.4 Decode(S, M), the inverse of encode(); every output is reduced
 * modulo its M. Works on public data only (public keys, ciphertexts).
 */
static void decode(uint32_t *out, const uint8_t *s, const uint32_t *m0, size_t len0)
{
	/* Moduli and values of every level, stored one level after another. */
	uint32_t ms[2 * P + DECODE_LEVELS_MAX], rs[2 * P + DECODE_LEVELS_MAX];
	size_t start[DECODE_LEVELS_MAX], lens[DECODE_LEVELS_MAX], soff[DECODE_LEVELS_MAX];
	size_t levels = 0, pos = 0, off = 0;

	memcpy(ms, m0, len0 * sizeof(uint32_t));
	start[0] = 0;
	lens[0] = len0;
	/* Pass 1: the moduli of each level and where its bytes start. */
	while (lens[levels] > 1) {
		size_t len = lens[levels], base = start[levels], next = base + len, half = 0;

		soff[levels] = off;
		for (size_t i = 0; i + 1 < len; i += 2) {
			uint64_t mm = (uint64_t)ms[base + i] * ms[base + i + 1];

			while (mm >= 16384) {
				off++;
				mm = (mm + 255) >> 8;
			}
			ms[next + half++] = (uint32_t)mm;
		}
		if (len & 1)
			ms[next + half++] = ms[base + len - 1];
		levels++;
		start[levels] = next;
		lens[levels] = half;
	}
	/* The top: one value, little-endian over the remaining bytes. */
	{
		uint64_t v = 0, mm = ms[start[levels]];
		unsigned shift = 0;

		for (pos = off; mm > 1; pos++, shift += 8, mm = (mm + 255) >> 8)
			v |= (uint64_t)s[pos] << shift;
		rs[start[levels]] = (uint32_t)(v % ms[start[levels]]);
	}
	/* Pass 2: back down, splitting each merged value into its pair. */
	while (levels-- > 0) {
		size_t len = lens[levels], base = start[levels], up = start[levels + 1], k = soff[levels];

		for (size_t i = 0; i + 1 < len; i += 2) {
			uint64_t mm = (uint64_t)ms[base + i] * ms[base + i + 1], rr = 0, t = 1;

			while (mm >= 16384) {
				rr += (uint64_t)s[k++] * t;
				t <<= 8;
				mm = (mm + 255) >> 8;
			}
			rr += t * rs[up + i / 2];
			rs[base + i] = (uint32_t)(rr % ms[base + i]);
			rs[base + i + 1] = (uint32_t)((rr / ms[base + i]) % ms[base + i + 1]);
		}
		if (len & 1)
			rs[base + len - 1] = rs[up + len / 2];
	}
	memcpy(out, rs, len0 * sizeof(uint32_t));
}

/* §3.4 R/q encoding: coefficients + (q-1)/2 with modulus q. */
static void rq_encode(uint8_t out[RQ_BYTES], const fq h[P])
{
	uint32_t r[P], m[P];

	for (size_t i = 0; i < P; i++) {
		r[i] = (uint32_t)(h[i] + Q12);
		m[i] = Q;
	}
	(void)encode(out, r, m, P);
}

static void rq_decode(fq h[P], const uint8_t in[RQ_BYTES])
{
	uint32_t r[P], m[P];

	for (size_t i = 0; i < P; i++)
		m[i] = Q;
	decode(r, in, m, P);
	for (size_t i = 0; i < P; i++)
		h[i] = (fq)((int32_t)r[i] - Q12);
}

/* §3.4 rounded encoding: (c + (q-1)/2) / 3 with modulus (q + 2) / 3. */
static void rounded_encode(uint8_t out[ROUNDED_BYTES], const fq c[P])
{
	uint32_t r[P], m[P];

	for (size_t i = 0; i < P; i++) {
		r[i] = (uint32_t)(((c[i] + Q12) * 10923) >> 15); /* exact /3: c + Q12 is a multiple of 3 */
		m[i] = (Q + 2) / 3;
	}
	(void)encode(out, r, m, P);
}

static void rounded_decode(fq c[P], const uint8_t in[ROUNDED_BYTES])
{
	uint32_t r[P], m[P];

	for (size_t i = 0; i < P; i++)
		m[i] = (Q + 2) / 3;
	decode(r, in, m, P);
	for (size_t i = 0; i < P; i++)
		c[i] = (fq)((int32_t)r[i] * 3 - Q12);
}

/* §3.3 Encrypt: c = Round(h r), each coefficient to the nearest multiple of 3. */
static void zencrypt(fq c[P], const small r[P], const fq h[P])
{
	fq hr[P];

	rq_mult_small(hr, h, r);
	for (size_t i = 0; i < P; i++)
		c[i] = (fq)(hr[i] - f3_freeze(hr[i]));
	wipe(hr, sizeof(hr));
}

/*
 * §3.3 Decrypt: e = 3 f c in R/q lifted to R/3, r = e v in R/3; when r does
 * not have weight w the result is the fixed (1, ..., 1, 0, ..., 0) of weight w.
 */
static void zdecrypt(small r[P], const fq c[P], const small f[P], const small v[P])
{
	fq cf[P];
	small e[P], ev[P];
	int32_t weight = 0, mask;

	rq_mult_small(cf, c, f);
	for (size_t i = 0; i < P; i++)
		e[i] = f3_freeze(fq_freeze(3 * (int32_t)cf[i]));
	r3_mult(ev, e, v);
	for (size_t i = 0; i < P; i++)
		weight += ev[i] & 1;
	mask = nonzero_mask(weight - W); /* 0 when the weight is w */
	for (size_t i = 0; i < W; i++)
		r[i] = (small)(((ev[i] ^ 1) & ~mask) ^ 1);
	for (size_t i = W; i < P; i++)
		r[i] = (small)(ev[i] & ~mask);
	wipe(cf, sizeof(cf));
	wipe(e, sizeof(e));
	wipe(ev, sizeof(ev));
	wipe(&weight, sizeof(weight));
	wipe(&mask, sizeof(mask));
}

/* §3.5 Hash_b(x) = first 32 bytes of SHA-512(b || x); x given as two pieces. */
static int hash_prefix(uint8_t out[HASH_BYTES], uint8_t b, const uint8_t *x1, size_t n1,
                       const uint8_t *x2, size_t n2)
{
	uint8_t md[64];
	const struct pqhash_seg in[] = { { &b, 1 }, { x1, n1 }, { x2 != NULL ? x2 : x1, x2 != NULL ? n2 : 0 },
		                         { NULL, 0 } };
	int r;

	if ((r = pqhash(PQHASH_SHA512, in, md, sizeof(md))) == 0)
		memcpy(out, md, HASH_BYTES);
	wipe(md, sizeof(md));
	return r;
}

/* Confirm = Hash_2(Hash_3(r_enc) || Hash_4(pk)). */
static int hash_confirm(uint8_t out[HASH_BYTES], const uint8_t r_enc[SMALL_BYTES],
                        const uint8_t cache[HASH_BYTES])
{
	uint8_t x[HASH_BYTES];
	int r;

	if ((r = hash_prefix(x, 3, r_enc, SMALL_BYTES, NULL, 0)) == 0)
		r = hash_prefix(out, 2, x, sizeof(x), cache, HASH_BYTES);
	wipe(x, sizeof(x));
	return r;
}

/* Session key Hash_b(Hash_3(y) || C). */
static int hash_session(uint8_t out[HASH_BYTES], uint8_t b, const uint8_t y[SMALL_BYTES],
                        const uint8_t ct[SNTRUP761_CIPHERTEXTBYTES])
{
	uint8_t x[HASH_BYTES];
	int r;

	if ((r = hash_prefix(x, 3, y, SMALL_BYTES, NULL, 0)) == 0)
		r = hash_prefix(out, b, x, sizeof(x), ct, SNTRUP761_CIPHERTEXTBYTES);
	wipe(x, sizeof(x));
	return r;
}

struct keygen_work {
	small g[P], f[P], v[P];
	fq finv[P], h[P];
	uint8_t rnd[4 * P];
};

int sntrup761_keypair_rng(uint8_t pk[static SNTRUP761_PUBLICKEYBYTES],
                          uint8_t sk[static SNTRUP761_SECRETKEYBYTES],
                          sntrup761_random_fn rng, void *ctx)
{
	struct keygen_work *w = calloc(1, sizeof(*w));
	int r = ERR_INTERNAL, tries;

	if (w == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	/* §3.3 KeyGen: g Small and invertible in R/3 (retry otherwise; a
	 * rejected g is discarded, so the retry count reveals nothing kept). */
	for (tries = 0; tries < KEYGEN_TRIES_MAX; tries++) {
		if ((r = rng(ctx, w->rnd, sizeof(w->rnd))) != 0)
			goto out;
		small_from_random(w->g, w->rnd);
		if (r3_recip(w->v, w->g) == 0)
			break;
	}
	if (tries == KEYGEN_TRIES_MAX) {
		r = ERR_INTERNAL;
		goto out;
	}
	if ((r = rng(ctx, w->rnd, sizeof(w->rnd))) != 0)
		goto out;
	short_from_random(w->f, w->rnd);
	/* h = g / (3 f); 3f is always invertible in the field R/q. */
	(void)rq_recip3(w->finv, w->f);
	rq_mult_small(w->h, w->finv, w->g);
	rq_encode(pk, w->h);
	small_encode(sk + SK_F, w->f);
	small_encode(sk + SK_V, w->v);
	memcpy(sk + SK_PK, pk, SNTRUP761_PUBLICKEYBYTES);
	if ((r = rng(ctx, sk + SK_RHO, SMALL_BYTES)) != 0)
		goto out;
	r = hash_prefix(sk + SK_CACHE, 4, pk, SNTRUP761_PUBLICKEYBYTES, NULL, 0);
out:
	if (w != NULL) {
		wipe(w, sizeof(*w));
		free(w);
	}
	if (r != 0) {
		wipe(pk, SNTRUP761_PUBLICKEYBYTES);
		wipe(sk, SNTRUP761_SECRETKEYBYTES);
	}
	return r;
}

struct encaps_work {
	small r[P];
	fq h[P], c[P];
	uint8_t rnd[4 * P];
	uint8_t r_enc[SMALL_BYTES];
	uint8_t cache[HASH_BYTES];
};

int sntrup761_encaps_rng(uint8_t ct[static SNTRUP761_CIPHERTEXTBYTES],
                         uint8_t ss[static SNTRUP761_SSBYTES],
                         const uint8_t pk[static SNTRUP761_PUBLICKEYBYTES],
                         sntrup761_random_fn rng, void *ctx)
{
	struct encaps_work *w = calloc(1, sizeof(*w));
	int r = ERR_INTERNAL;

	if (w == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if ((r = hash_prefix(w->cache, 4, pk, SNTRUP761_PUBLICKEYBYTES, NULL, 0)) != 0)
		goto out;
	if ((r = rng(ctx, w->rnd, sizeof(w->rnd))) != 0)
		goto out;
	short_from_random(w->r, w->rnd);
	small_encode(w->r_enc, w->r);
	rq_decode(w->h, pk);
	zencrypt(w->c, w->r, w->h);
	rounded_encode(ct, w->c);
	if ((r = hash_confirm(ct + ROUNDED_BYTES, w->r_enc, w->cache)) != 0)
		goto out;
	r = hash_session(ss, 1, w->r_enc, ct);
out:
	if (w != NULL) {
		wipe(w, sizeof(*w));
		free(w);
	}
	if (r != 0) {
		wipe(ct, SNTRUP761_CIPHERTEXTBYTES);
		wipe(ss, SNTRUP761_SSBYTES);
	}
	return r;
}

struct decaps_work {
	small f[P], v[P], r[P];
	fq c[P], h[P], cnew[P];
	uint8_t r_enc[SMALL_BYTES];
	uint8_t ct2[SNTRUP761_CIPHERTEXTBYTES];
};

int sntrup761_decaps(uint8_t ss[static SNTRUP761_SSBYTES],
                     const uint8_t ct[static SNTRUP761_CIPHERTEXTBYTES],
                     const uint8_t sk[static SNTRUP761_SECRETKEYBYTES])
{
	struct decaps_work *w = calloc(1, sizeof(*w));
	uint32_t diff = 0;
	int32_t mask;
	int r = ERR_INTERNAL;

	if (w == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	small_decode(w->f, sk + SK_F);
	small_decode(w->v, sk + SK_V);
	rounded_decode(w->c, ct);
	zdecrypt(w->r, w->c, w->f, w->v);
	/* Re-encrypt and compare the whole ciphertext, confirmation included. */
	small_encode(w->r_enc, w->r);
	rq_decode(w->h, sk + SK_PK);
	zencrypt(w->cnew, w->r, w->h);
	rounded_encode(w->ct2, w->cnew);
	if ((r = hash_confirm(w->ct2 + ROUNDED_BYTES, w->r_enc, sk + SK_CACHE)) != 0)
		goto out;
	for (size_t i = 0; i < SNTRUP761_CIPHERTEXTBYTES; i++)
		diff |= (uint32_t)(ct[i] ^ w->ct2[i]);
	mask = nonzero_mask((int32_t)diff); /* -1 on mismatch */
	/* On mismatch hash rho instead of r, with prefix 0 instead of 1. */
	for (size_t i = 0; i < SMALL_BYTES; i++)
		w->r_enc[i] = (uint8_t)(w->r_enc[i] ^ (mask & (w->r_enc[i] ^ sk[SK_RHO + i])));
	r = hash_session(ss, (uint8_t)(1 + mask), w->r_enc, ct);
out:
	if (w != NULL) {
		wipe(w, sizeof(*w));
		free(w);
	}
	wipe(&diff, sizeof(diff));
	wipe(&mask, sizeof(mask));
	if (r != 0)
		wipe(ss, SNTRUP761_SSBYTES);
	return r;
}

static int rand_bytes_rng(void *ctx, uint8_t *out, size_t len)
{
	(void)ctx;
	return RAND_bytes(out, (int)len) == 1 ? 0 : ERR_LIBCRYPTO;
}

int sntrup761_keypair(uint8_t pk[static SNTRUP761_PUBLICKEYBYTES],
                      uint8_t sk[static SNTRUP761_SECRETKEYBYTES])
{
	return sntrup761_keypair_rng(pk, sk, rand_bytes_rng, NULL);
}

int sntrup761_encaps(uint8_t ct[static SNTRUP761_CIPHERTEXTBYTES],
                     uint8_t ss[static SNTRUP761_SSBYTES],
                     const uint8_t pk[static SNTRUP761_PUBLICKEYBYTES])
{
	return sntrup761_encaps_rng(ct, ss, pk, rand_bytes_rng, NULL);
}
