/*
 * kex_hybrid.c - mlkem768x25519-sha256 (draft-ietf-sshm-mlkem-hybrid-kex §2)
 * and sntrup761x25519-sha512[@openssh.com] (draft-josefsson-ntruprime-ssh
 * §2; OpenSSH PROTOCOL "sntrup761x25519-sha512"): the KEM of src/mlkem768.c
 * or src/sntrup761.c combined with X25519 (RFC 7748 via libcrypto EVP).
 *
 *   C_INIT  = kem public key || X25519 client public key (32 bytes)
 *   S_REPLY = kem ciphertext || X25519 server public key (32 bytes)
 *   K       = string(HASH(kem shared secret || X25519 shared secret))
 *
 * The X25519 shared secret enters the hash as its raw 32 bytes; an all-zero
 * X25519 result is refused as in RFC 8731 §3. Reply lengths must match
 * exactly: anything else is a malformed message, reported as an error code.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kex.h"
#include "kex_hybrid.h"
#include "mlkem768.h"
#include "pqhash.h"
#include "sntrup761.h"

#define X25519_BYTES 32
#define KEM_SK_MAX MLKEM768_SECRETKEYBYTES /* the larger of the two (2400 > 1763) */
#define HASH_MAX 64
#define KEM_SS_MAX 32

_Static_assert(SNTRUP761_SECRETKEYBYTES <= KEM_SK_MAX, "state holds either decapsulation key");
_Static_assert(MLKEM768_SSBYTES <= KEM_SS_MAX && SNTRUP761_SSBYTES <= KEM_SS_MAX, "KEM shared secrets fit");

typedef int (*kem_keypair_fn)(uint8_t *pk, uint8_t *sk);
typedef int (*kem_encaps_fn)(uint8_t *ct, uint8_t *ss, const uint8_t *pk);
typedef int (*kem_decaps_fn)(uint8_t *ss, const uint8_t *ct, const uint8_t *sk);

struct kex_hybrid_alg {
	const char *hash;              /* OpenSSL digest name */
	enum pqhash_alg hash_alg;
	size_t hash_len;
	size_t kem_pk_len, kem_sk_len, kem_ct_len, kem_ss_len;
	kem_keypair_fn keypair;
	kem_encaps_fn encaps;
	kem_decaps_fn decaps;
};

struct kex_hybrid_state {
	const struct kex_hybrid_alg *alg;
	uint8_t kem_sk[KEM_SK_MAX];
	EVP_PKEY *x25519;
};

/* Adapters from the fixed-size KEM prototypes to one function type. */
static int mlkem_keypair(uint8_t *pk, uint8_t *sk)
{
	return mlkem768_keypair(pk, sk);
}

static int mlkem_encaps(uint8_t *ct, uint8_t *ss, const uint8_t *pk)
{
	return mlkem768_encaps(ct, ss, pk);
}

static int mlkem_decaps(uint8_t *ss, const uint8_t *ct, const uint8_t *sk)
{
	return mlkem768_decaps(ss, ct, sk);
}

static int sntrup_keypair(uint8_t *pk, uint8_t *sk)
{
	return sntrup761_keypair(pk, sk);
}

static int sntrup_encaps(uint8_t *ct, uint8_t *ss, const uint8_t *pk)
{
	return sntrup761_encaps(ct, ss, pk);
}

static int sntrup_decaps(uint8_t *ss, const uint8_t *ct, const uint8_t *sk)
{
	return sntrup761_decaps(ss, ct, sk);
}

const struct kex_hybrid_alg kex_hybrid_mlkem768x25519_sha256 = {
	.hash = "SHA256",
	.hash_alg = PQHASH_SHA256,
	.hash_len = 32,
	.kem_pk_len = MLKEM768_PUBLICKEYBYTES,
	.kem_sk_len = MLKEM768_SECRETKEYBYTES,
	.kem_ct_len = MLKEM768_CIPHERTEXTBYTES,
	.kem_ss_len = MLKEM768_SSBYTES,
	.keypair = mlkem_keypair,
	.encaps = mlkem_encaps,
	.decaps = mlkem_decaps,
};

const struct kex_hybrid_alg kex_hybrid_sntrup761x25519_sha512 = {
	.hash = "SHA512",
	.hash_alg = PQHASH_SHA512,
	.hash_len = 64,
	.kem_pk_len = SNTRUP761_PUBLICKEYBYTES,
	.kem_sk_len = SNTRUP761_SECRETKEYBYTES,
	.kem_ct_len = SNTRUP761_CIPHERTEXTBYTES,
	.kem_ss_len = SNTRUP761_SSBYTES,
	.keypair = sntrup_keypair,
	.encaps = sntrup_encaps,
	.decaps = sntrup_decaps,
};

static const struct {
	const char *name;
	const struct kex_hybrid_alg *alg;
} kex_hybrid_names[] = {
	{ .name = "mlkem768x25519-sha256", .alg = &kex_hybrid_mlkem768x25519_sha256 },
	{ .name = "sntrup761x25519-sha512", .alg = &kex_hybrid_sntrup761x25519_sha512 },
	{ .name = "sntrup761x25519-sha512@openssh.com", .alg = &kex_hybrid_sntrup761x25519_sha512 },
};

const struct kex_hybrid_alg *kex_hybrid_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(kex_hybrid_names) / sizeof(kex_hybrid_names[0]); i++)
		if (strcmp(kex_hybrid_names[i].name, name) == 0)
			return kex_hybrid_names[i].alg;
	return NULL;
}

const char *kex_hybrid_hash_name(const struct kex_hybrid_alg *alg)
{
	return alg->hash;
}

size_t kex_hybrid_client_pub_len(const struct kex_hybrid_alg *alg)
{
	return alg->kem_pk_len + X25519_BYTES;
}

size_t kex_hybrid_server_reply_len(const struct kex_hybrid_alg *alg)
{
	return alg->kem_ct_len + X25519_BYTES;
}

void kex_hybrid_state_free(struct kex_hybrid_state *state)
{
	if (state == NULL)
		return;
	EVP_PKEY_free(state->x25519);
	wipe(state, sizeof(*state));
	free(state);
}

/* A fresh X25519 key; its public value goes to pub. */
static int x25519_keygen(EVP_PKEY **key, uint8_t pub[X25519_BYTES])
{
	size_t len = X25519_BYTES;

	*key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
	if (*key == NULL)
		return ERR_LIBCRYPTO;
	if (EVP_PKEY_get_raw_public_key(*key, pub, &len) != 1 || len != X25519_BYTES) {
		EVP_PKEY_free(*key);
		*key = NULL;
		return ERR_LIBCRYPTO;
	}
	return 0;
}

/* RFC 7748 X25519(mine, peer) into out; ERR_PROTOCOL for an all-zero result. */
static int x25519_shared(EVP_PKEY *mine, const uint8_t peer_pub[X25519_BYTES], uint8_t out[X25519_BYTES])
{
	EVP_PKEY *peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer_pub, X25519_BYTES);
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = X25519_BYTES;
	uint8_t acc = 0;
	int r = ERR_LIBCRYPTO;

	memset(out, 0, X25519_BYTES);
	if (peer == NULL || (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) != 1)
		goto out;
	/* libcrypto itself fails the derivation when the result is all zero. */
	if (EVP_PKEY_derive(ctx, out, &len) != 1 || len != X25519_BYTES) {
		r = ERR_PROTOCOL;
		goto out;
	}
	for (size_t i = 0; i < X25519_BYTES; i++)
		acc |= out[i];
	/* RFC 8731 §3: an all-zero shared secret means a low-order peer point. */
	r = acc == 0 ? ERR_PROTOCOL : 0;
out:
	if (r != 0)
		wipe(out, X25519_BYTES);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return r;
}

/* Appends string(HASH(kem_ss || x25519_ss)). */
static int put_k(const struct kex_hybrid_alg *alg, const uint8_t *kem_ss, const uint8_t *x_ss,
                 struct buf *shared_secret)
{
	uint8_t h[HASH_MAX];
	const struct pqhash_seg in[] = { { kem_ss, alg->kem_ss_len }, { x_ss, X25519_BYTES }, { NULL, 0 } };
	int r;

	if ((r = pqhash(alg->hash_alg, in, h, alg->hash_len)) == 0)
		r = buf_put_string(shared_secret, h, alg->hash_len);
	wipe(h, sizeof(h));
	return r;
}

int kex_hybrid_client_init(const struct kex_hybrid_alg *alg, struct kex_hybrid_state **state,
                           struct buf *client_pub)
{
	struct kex_hybrid_state *st = NULL;
	uint8_t *dst = NULL;
	int r = ERR_INTERNAL;

	*state = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return ERR_ALLOC_FAIL;
	st->alg = alg;
	if ((r = buf_reserve(client_pub, alg->kem_pk_len + X25519_BYTES, &dst)) != 0)
		goto out;
	if ((r = alg->keypair(dst, st->kem_sk)) != 0)
		goto out;
	if ((r = x25519_keygen(&st->x25519, dst + alg->kem_pk_len)) != 0)
		goto out;
	*state = st;
	st = NULL;
	r = 0;
out:
	/* Take back a partly written C_INIT. */
	if (r != 0 && dst != NULL && buf_consume_end(client_pub, alg->kem_pk_len + X25519_BYTES) != 0)
		r = ERR_INTERNAL;
	kex_hybrid_state_free(st);
	return r;
}

int kex_hybrid_client_finish(const struct kex_hybrid_state *state, const uint8_t *reply, size_t len,
                             struct buf *shared_secret)
{
	const struct kex_hybrid_alg *alg = state->alg;
	uint8_t kem_ss[KEM_SS_MAX], x_ss[X25519_BYTES];
	int r = ERR_INTERNAL;

	/* S_REPLY has one valid length per method; no trailing bytes. */
	if (reply == NULL || len != alg->kem_ct_len + X25519_BYTES)
		return ERR_INVALID_FORMAT;
	if ((r = alg->decaps(kem_ss, reply, state->kem_sk)) != 0)
		goto out;
	if ((r = x25519_shared(state->x25519, reply + alg->kem_ct_len, x_ss)) != 0)
		goto out;
	r = put_k(alg, kem_ss, x_ss, shared_secret);
out:
	wipe(kem_ss, sizeof(kem_ss));
	wipe(x_ss, sizeof(x_ss));
	return r;
}

int kex_hybrid_server_reply(const struct kex_hybrid_alg *alg, const uint8_t *client_pub, size_t len,
                            struct buf *reply, struct buf *shared_secret)
{
	EVP_PKEY *key = NULL;
	uint8_t kem_ss[KEM_SS_MAX], x_ss[X25519_BYTES], *dst = NULL;
	int r = ERR_INTERNAL;

	if (client_pub == NULL || len != alg->kem_pk_len + X25519_BYTES)
		return ERR_INVALID_FORMAT;
	if ((r = buf_reserve(reply, alg->kem_ct_len + X25519_BYTES, &dst)) != 0)
		goto out;
	/* mlkem768_encaps also runs the FIPS 203 §7.2 modulus check on ek. */
	if ((r = alg->encaps(dst, kem_ss, client_pub)) != 0)
		goto out;
	if ((r = x25519_keygen(&key, dst + alg->kem_ct_len)) != 0)
		goto out;
	if ((r = x25519_shared(key, client_pub + alg->kem_pk_len, x_ss)) != 0)
		goto out;
	r = put_k(alg, kem_ss, x_ss, shared_secret);
out:
	/* Take back a partly written S_REPLY. */
	if (r != 0 && dst != NULL && buf_consume_end(reply, alg->kem_ct_len + X25519_BYTES) != 0)
		r = ERR_INTERNAL;
	EVP_PKEY_free(key);
	wipe(kem_ss, sizeof(kem_ss));
	wipe(x_ss, sizeof(x_ss));
	return r;
}

int kex_hybrid_method_init(const struct kex_method *m, void **state, struct buf *client_value)
{
	struct kex_hybrid_state *st = NULL;
	int r = kex_hybrid_client_init(m->param, &st, client_value);

	*state = st;
	return r;
}

int kex_hybrid_method_finish(const struct kex_method *m, void *state, const uint8_t *server_value, size_t len,
                             struct buf *shared_secret)
{
	(void)m;
	return kex_hybrid_client_finish(state, server_value, len, shared_secret);
}

void kex_hybrid_method_free(void *state)
{
	kex_hybrid_state_free(state);
}
