/*
 * kex.c - KEXINIT handling, the key exchange method table and key derivation
 * (see kex.h). Methods: curve25519-sha256 (RFC 8731), ecdh-sha2-nistp256/384/521
 * (RFC 5656 §4), diffie-hellman-group14-sha256 / group16-sha512 /
 * group18-sha512 (RFC 8268 with the RFC 3526 primes, taken from OpenSSL's
 * built-in named groups) and diffie-hellman-group-exchange-sha256 (RFC 4419).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "cipher.h"
#include "kex.h"
#include "limits.h"

#define SSH2_MSG_KEXINIT 20

void kexinit_clear(struct kexinit *k)
{
	for (int i = 0; i < KEX_LIST_COUNT; i++) {
		free(k->lists[i]);
		k->lists[i] = NULL;
	}
	k->first_kex_follows = false;
}

int kexinit_build(const char *const lists[KEX_LIST_COUNT], struct buf *out)
{
	uint8_t cookie[16];
	int r;

	if (RAND_bytes(cookie, sizeof(cookie)) != 1)
		return ERR_LIBCRYPTO;
	if ((r = buf_put_u8(out, SSH2_MSG_KEXINIT)) != 0 || (r = buf_put(out, cookie, sizeof(cookie))) != 0)
		return r;
	for (int i = 0; i < KEX_LIST_COUNT; i++) {
		if ((r = buf_put_cstring(out, lists[i] != NULL ? lists[i] : "")) != 0)
			return r;
	}
	/* first_kex_packet_follows = FALSE, reserved uint32 0 (RFC 4253 §7.1). */
	if ((r = buf_put_u8(out, 0)) != 0 || (r = buf_put_u32(out, 0)) != 0)
		return r;
	return 0;
}

/* A name-list (RFC 4251 §5): bounded, names non-empty printable US-ASCII without commas. */
static int namelist_check(const char *s, size_t len)
{
	size_t names = 0, cur = 0;

	if (len > SSH_NAMELIST_MAX)
		return ERR_LIMIT_EXCEEDED;
	if (len == 0)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == ',') {
			if (cur == 0)
				return ERR_INVALID_FORMAT;
			if (++names > SSH_NAMELIST_NAMES_MAX)
				return ERR_LIMIT_EXCEEDED;
			cur = 0;
			continue;
		}
		if (s[i] <= ' ' || s[i] > '~')
			return ERR_INVALID_FORMAT;
		cur++;
	}
	return 0;
}

int kexinit_parse(const uint8_t *payload, size_t len, struct kexinit *out)
{
	struct buf *b = buf_from(payload, len);
	uint8_t type, cookie[16];
	uint32_t reserved;
	size_t slen;
	int r = ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (b == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_get_u8(b, &type)) != 0 || (r = buf_get(b, cookie, sizeof(cookie))) != 0)
		goto out;
	if (type != SSH2_MSG_KEXINIT) {
		r = ERR_PROTOCOL;
		goto out;
	}
	for (int i = 0; i < KEX_LIST_COUNT; i++) {
		if ((r = buf_get_cstring(b, &out->lists[i], &slen)) != 0 || (r = namelist_check(out->lists[i], slen)) != 0)
			goto out;
	}
	if ((r = buf_get_bool(b, &out->first_kex_follows)) != 0 || (r = buf_get_u32(b, &reserved)) != 0)
		goto out;
	/* RFC 4253 §7.1 defines no data after the reserved field. */
	if ((r = buf_expect_end(b)) != 0)
		goto out;
	r = 0;
out:
	if (r != 0)
		kexinit_clear(out);
	buf_free(b);
	return r;
}

bool namelist_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);

		if (l == n && strncmp(p, name, n) == 0)
			return true;
		p = e != NULL ? e + 1 : NULL;
	}
	return false;
}

int namelist_choose(const char *client, const char *server, char **out)
{
	const char *p = client;

	*out = NULL;
	while (p != NULL && *p != '\0') {
		const char *e = strchr(p, ',');
		size_t l = e != NULL ? (size_t)(e - p) : strlen(p);
		char *name = strndup(p, l);

		if (name == NULL)
			return ERR_ALLOC_FAIL;
		if (namelist_has(server, name)) {
			*out = name;
			return 0;
		}
		free(name);
		p = e != NULL ? e + 1 : NULL;
	}
	return ERR_NO_MATCH;
}

/* ---- X25519 (RFC 8731) and NIST ECDH (RFC 5656 §4) ---- */

struct ecdh_state {
	EVP_PKEY *key;
};

static void ecdh_free(void *state)
{
	struct ecdh_state *s = state;

	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
	free(s);
}

static int ecdh_init(const struct kex_method *m, void **state, struct buf *client_value)
{
	const char *curve = m->param;
	struct ecdh_state *s = NULL;
	uint8_t pub[160];
	size_t publen = sizeof(pub);
	int r = ERR_LIBCRYPTO;

	*state = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ERR_ALLOC_FAIL;
	if (strcmp(curve, "X25519") == 0) {
		if ((s->key = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL ||
		    EVP_PKEY_get_raw_public_key(s->key, pub, &publen) != 1)
			goto out;
	} else {
		if ((s->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve)) == NULL ||
		    EVP_PKEY_get_octet_string_param(s->key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pub, sizeof(pub),
						    &publen) != 1)
			goto out;
	}
	if ((r = buf_put(client_value, pub, publen)) != 0)
		goto out;
	*state = s;
	s = NULL;
	r = 0;
out:
	ecdh_free(s);
	return r;
}

static int derive_secret(EVP_PKEY *mine, EVP_PKEY *peer, uint8_t *out, size_t cap, size_t *outlen)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
	size_t len = cap;
	int r = ERR_LIBCRYPTO;

	*outlen = 0;
	if (ctx == NULL)
		return ERR_ALLOC_FAIL;
	if (EVP_PKEY_derive_init(ctx) != 1 || EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) != 1 ||
	    EVP_PKEY_derive(ctx, out, &len) != 1)
		goto out;
	*outlen = len;
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int ecdh_finish(const struct kex_method *m, void *state, const uint8_t *sv, size_t svlen, struct buf *k)
{
	struct ecdh_state *s = state;
	const char *curve = m->param;
	EVP_PKEY *peer = NULL;
	OSSL_PARAM params[3];
	uint8_t secret[80], acc = 0;
	size_t slen = 0;
	int r = ERR_SIGNATURE_INVALID;

	if (strcmp(curve, "X25519") == 0) {
		/* RFC 8731 §3: the server's public key is exactly 32 bytes. */
		if (svlen != 32)
			return ERR_PROTOCOL;
		if ((peer = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, sv, svlen)) == NULL)
			return ERR_LIBCRYPTO;
	} else {
		EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
		EVP_PKEY_CTX *chk = NULL;

		if (svlen == 0 || svlen > 133 || sv[0] != 0x04) /* uncompressed point (RFC 5656 §3.1) */
			r = ERR_PROTOCOL;
		else {
			params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
			params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)sv, svlen);
			params[2] = OSSL_PARAM_construct_end();
			r = ERR_PROTOCOL;
			if (pctx != NULL && EVP_PKEY_fromdata_init(pctx) == 1 &&
			    EVP_PKEY_fromdata(pctx, &peer, EVP_PKEY_PUBLIC_KEY, params) == 1 &&
			    (chk = EVP_PKEY_CTX_new_from_pkey(NULL, peer, NULL)) != NULL &&
			    EVP_PKEY_public_check(chk) == 1) /* RFC 5656 §4: validate the point */
				r = 0;
		}
		EVP_PKEY_CTX_free(chk);
		EVP_PKEY_CTX_free(pctx);
		if (r != 0)
			goto out;
	}
	if ((r = derive_secret(s->key, peer, secret, sizeof(secret), &slen)) != 0)
		goto out;
	/* RFC 8731 §3: an all-zero X25519 result must be rejected. */
	for (size_t i = 0; i < slen; i++)
		acc |= secret[i];
	if (acc == 0) {
		r = ERR_PROTOCOL;
		goto out;
	}
	/* The shared secret's bytes are the big-endian magnitude of mpint K. */
	r = buf_put_mpint(k, secret, slen);
out:
	wipe(secret, sizeof(secret));
	EVP_PKEY_free(peer);
	return r;
}

/* ---- finite-field Diffie-Hellman (RFC 4253 §8, RFC 8268, RFC 4419) ---- */

struct dh_state {
	EVP_PKEY *params; /* gex: the server's group; NULL for named groups */
	EVP_PKEY *key;
	BIGNUM *p;
};

static void dh_free(void *state)
{
	struct dh_state *s = state;

	if (s == NULL)
		return;
	EVP_PKEY_free(s->params);
	EVP_PKEY_free(s->key);
	BN_free(s->p);
	free(s);
}

int kex_gex_set_group(const struct kex_method *m, void **state, const uint8_t *p, size_t plen, const uint8_t *g,
		      size_t glen)
{
	struct dh_state *s = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *bp = NULL, *bg = NULL;
	int bits, r = ERR_LIBCRYPTO;

	*state = NULL;
	if (!m->gex)
		return ERR_INTERNAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ERR_ALLOC_FAIL;
	if ((bp = BN_bin2bn(p, (int)plen, NULL)) == NULL || (bg = BN_bin2bn(g, (int)glen, NULL)) == NULL)
		goto out;
	bits = BN_num_bits(bp);
	/* RFC 4419 §3 / RFC 8270: the group must be within the bounds we asked for; g > 1. */
	if (bits < SSH_DH_GEX_MIN_BITS || bits > SSH_DH_GEX_MAX_BITS || !BN_is_odd(bp) || BN_cmp(bg, BN_value_one()) <= 0 ||
	    BN_cmp(bg, bp) >= 0) {
		r = ERR_PROTOCOL;
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, bp) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, bg) != 1 ||
	    OSSL_PARAM_BLD_push_int(bld, OSSL_PKEY_PARAM_DH_PRIV_LEN, 512) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &s->params, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		goto out;
	*state = s;
	s = NULL;
	r = 0;
out:
	BN_free(bp);
	BN_free(bg);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	dh_free(s);
	return r;
}

static int dh_init(const struct kex_method *m, void **state, struct buf *client_value)
{
	struct dh_state *s = *state;
	EVP_PKEY_CTX *ctx = NULL;
	BIGNUM *pub = NULL;
	uint8_t *mag = NULL;
	int n, r = ERR_LIBCRYPTO;

	if (m->gex) {
		if (s == NULL)
			return ERR_INTERNAL;
		ctx = EVP_PKEY_CTX_new_from_pkey(NULL, s->params, NULL);
		if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1)
			goto out;
	} else {
		OSSL_PARAM params[2];

		if ((s = calloc(1, sizeof(*s))) == NULL)
			return ERR_ALLOC_FAIL;
		*state = s;
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)m->param, 0);
		params[1] = OSSL_PARAM_construct_end();
		if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
		    EVP_PKEY_CTX_set_params(ctx, params) != 1)
			goto out;
	}
	if (EVP_PKEY_keygen(ctx, &s->key) != 1 || EVP_PKEY_get_bn_param(s->key, OSSL_PKEY_PARAM_FFC_P, &s->p) != 1 ||
	    EVP_PKEY_get_bn_param(s->key, OSSL_PKEY_PARAM_PUB_KEY, &pub) != 1)
		goto out;
	n = BN_num_bytes(pub);
	if ((mag = malloc((size_t)n + 1)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	BN_bn2bin(pub, mag);
	r = buf_put(client_value, mag, (size_t)n);
out:
	free(mag);
	BN_free(pub);
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static int dh_finish(const struct kex_method *m, void *state, const uint8_t *sv, size_t svlen, struct buf *k)
{
	struct dh_state *s = state;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *peer = NULL;
	BIGNUM *f = NULL, *pm1 = NULL, *g = NULL;
	uint8_t *secret = NULL;
	size_t slen = 0, cap = 0;
	int r = ERR_LIBCRYPTO;

	if (s == NULL || s->key == NULL)
		return ERR_INTERNAL;
	if ((f = BN_bin2bn(sv, (int)svlen, NULL)) == NULL || (pm1 = BN_dup(s->p)) == NULL || BN_sub_word(pm1, 1) != 1)
		goto out;
	/* RFC 4253 §8: f must be in [2, p-2]. */
	if (BN_cmp(f, BN_value_one()) <= 0 || BN_cmp(f, pm1) >= 0) {
		r = ERR_PROTOCOL;
		goto out;
	}
	if (EVP_PKEY_get_bn_param(s->key, OSSL_PKEY_PARAM_FFC_G, &g) != 1)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_P, s->p) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_FFC_G, g) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PUB_KEY, f) != 1 || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	cap = (size_t)BN_num_bytes(s->p);
	if ((secret = malloc(cap)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if ((r = derive_secret(s->key, peer, secret, cap, &slen)) != 0)
		goto out;
	r = buf_put_mpint(k, secret, slen);
out:
	if (secret != NULL) {
		wipe(secret, cap);
		free(secret);
	}
	BN_free(f);
	BN_free(pm1);
	BN_free(g);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return r;
}

static const struct kex_method kex_methods[] = {
	{.name = "curve25519-sha256", .hash = "SHA256", .value_enc = KEX_VALUE_STRING, .param = "X25519",
	 .client_init = ecdh_init, .client_finish = ecdh_finish, .free_state = ecdh_free},
	{.name = "curve25519-sha256@libssh.org", .hash = "SHA256", .value_enc = KEX_VALUE_STRING, .param = "X25519",
	 .client_init = ecdh_init, .client_finish = ecdh_finish, .free_state = ecdh_free},
	{.name = "ecdh-sha2-nistp256", .hash = "SHA256", .value_enc = KEX_VALUE_STRING, .param = "P-256",
	 .client_init = ecdh_init, .client_finish = ecdh_finish, .free_state = ecdh_free},
	{.name = "ecdh-sha2-nistp384", .hash = "SHA384", .value_enc = KEX_VALUE_STRING, .param = "P-384",
	 .client_init = ecdh_init, .client_finish = ecdh_finish, .free_state = ecdh_free},
	{.name = "ecdh-sha2-nistp521", .hash = "SHA512", .value_enc = KEX_VALUE_STRING, .param = "P-521",
	 .client_init = ecdh_init, .client_finish = ecdh_finish, .free_state = ecdh_free},
	{.name = "diffie-hellman-group-exchange-sha256", .hash = "SHA256", .value_enc = KEX_VALUE_MPINT, .gex = true,
	 .client_init = dh_init, .client_finish = dh_finish, .free_state = dh_free},
	{.name = "diffie-hellman-group16-sha512", .hash = "SHA512", .value_enc = KEX_VALUE_MPINT, .param = "modp_4096",
	 .client_init = dh_init, .client_finish = dh_finish, .free_state = dh_free},
	{.name = "diffie-hellman-group18-sha512", .hash = "SHA512", .value_enc = KEX_VALUE_MPINT, .param = "modp_8192",
	 .client_init = dh_init, .client_finish = dh_finish, .free_state = dh_free},
	{.name = "diffie-hellman-group14-sha256", .hash = "SHA256", .value_enc = KEX_VALUE_MPINT, .param = "modp_2048",
	 .client_init = dh_init, .client_finish = dh_finish, .free_state = dh_free},
};

const struct kex_method *kex_method_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(kex_methods) / sizeof(kex_methods[0]); i++) {
		if (strcmp(kex_methods[i].name, name) == 0)
			return &kex_methods[i];
	}
	return NULL;
}

const struct kex_method *kex_method_at(size_t i)
{
	return i < sizeof(kex_methods) / sizeof(kex_methods[0]) ? &kex_methods[i] : NULL;
}

int kex_derive(const char *hash, const uint8_t *k, size_t klen, const uint8_t *h, size_t hlen,
	       const uint8_t *session_id, size_t sidlen, char letter, uint8_t *out, size_t need)
{
	EVP_MD *md = EVP_MD_fetch(NULL, hash, NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t digest[EVP_MAX_MD_SIZE * 4];
	size_t have = 0, mdlen;
	unsigned int l;
	uint8_t c = (uint8_t)letter;
	int r = ERR_LIBCRYPTO;

	if (md == NULL || ctx == NULL)
		goto out;
	mdlen = (size_t)EVP_MD_get_size(md);
	if (need > sizeof(digest) || mdlen == 0) {
		r = ERR_INTERNAL;
		goto out;
	}
	/* K1 = HASH(K || H || X || session_id) */
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, k, klen) != 1 ||
	    EVP_DigestUpdate(ctx, h, hlen) != 1 || EVP_DigestUpdate(ctx, &c, 1) != 1 ||
	    EVP_DigestUpdate(ctx, session_id, sidlen) != 1 || EVP_DigestFinal_ex(ctx, digest, &l) != 1)
		goto out;
	have = l;
	/* Kn = HASH(K || H || K1 || ... || Kn-1), until enough bytes. */
	while (have < need) {
		if (have + mdlen > sizeof(digest)) {
			r = ERR_INTERNAL;
			goto out;
		}
		if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, k, klen) != 1 ||
		    EVP_DigestUpdate(ctx, h, hlen) != 1 || EVP_DigestUpdate(ctx, digest, have) != 1 ||
		    EVP_DigestFinal_ex(ctx, digest + have, &l) != 1)
			goto out;
		have += l;
	}
	memcpy(out, digest, need);
	r = 0;
out:
	wipe(digest, sizeof(digest));
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	return r;
}
