/*
 * cipher.c - packet ciphers and MACs for the SSH transport over OpenSSL EVP
 * (see cipher.h). Algorithm tables are static const; contexts keep only what
 * one direction needs and wipe their key material on free.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "buf.h"
#include "cipher.h"

static const struct cipher_alg cipher_none = {
	.name = "none", .kind = CIPHER_NONE, .key_len = 0, .iv_len = 0, .block_size = 8, .tag_len = 0,
};

static const struct cipher_alg cipher_algs[] = {
	{.name = "chacha20-poly1305@openssh.com", .kind = CIPHER_CHACHAPOLY, .key_len = 64, .iv_len = 0,
	 .block_size = 8, .tag_len = 16, .evp_name = "ChaCha20"},
	{.name = "aes128-gcm@openssh.com", .kind = CIPHER_AES_GCM, .key_len = 16, .iv_len = 12,
	 .block_size = 16, .tag_len = 16, .evp_name = "AES-128-GCM"},
	{.name = "aes256-gcm@openssh.com", .kind = CIPHER_AES_GCM, .key_len = 32, .iv_len = 12,
	 .block_size = 16, .tag_len = 16, .evp_name = "AES-256-GCM"},
	{.name = "aes128-ctr", .kind = CIPHER_AES_CTR, .key_len = 16, .iv_len = 16, .block_size = 16,
	 .evp_name = "AES-128-CTR"},
	{.name = "aes192-ctr", .kind = CIPHER_AES_CTR, .key_len = 24, .iv_len = 16, .block_size = 16,
	 .evp_name = "AES-192-CTR"},
	{.name = "aes256-ctr", .kind = CIPHER_AES_CTR, .key_len = 32, .iv_len = 16, .block_size = 16,
	 .evp_name = "AES-256-CTR"},
};

static const struct mac_alg mac_algs[] = {
	{.name = "hmac-sha2-256-etm@openssh.com", .digest = "SHA256", .key_len = 32, .mac_len = 32, .etm = true},
	{.name = "hmac-sha2-512-etm@openssh.com", .digest = "SHA512", .key_len = 64, .mac_len = 64, .etm = true},
	{.name = "hmac-sha2-256", .digest = "SHA256", .key_len = 32, .mac_len = 32},
	{.name = "hmac-sha2-512", .digest = "SHA512", .key_len = 64, .mac_len = 64},
	{.name = "hmac-sha1-etm@openssh.com", .digest = "SHA1", .key_len = 20, .mac_len = 20, .etm = true},
	{.name = "hmac-sha1", .digest = "SHA1", .key_len = 20, .mac_len = 20},
};

const struct cipher_alg *cipher_alg_none(void)
{
	return &cipher_none;
}

const struct cipher_alg *cipher_alg_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(cipher_algs) / sizeof(cipher_algs[0]); i++) {
		if (strcmp(cipher_algs[i].name, name) == 0)
			return &cipher_algs[i];
	}
	return NULL;
}

const struct mac_alg *mac_alg_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(mac_algs) / sizeof(mac_algs[0]); i++) {
		if (strcmp(mac_algs[i].name, name) == 0)
			return &mac_algs[i];
	}
	return NULL;
}

struct cipher_ctx {
	const struct cipher_alg *alg;
	bool encrypt;
	EVP_CIPHER_CTX *main; /* CTR stream, GCM, or chacha K_2 */
	EVP_CIPHER_CTX *hdr;  /* chacha K_1 (length) */
	EVP_MAC *poly;
	EVP_MAC_CTX *poly_ctx;
	uint8_t gcm_iv[12]; /* fixed 4 bytes || 8-byte invocation counter */
};

void cipher_ctx_free(struct cipher_ctx *c)
{
	if (c == NULL)
		return;
	EVP_CIPHER_CTX_free(c->main);
	EVP_CIPHER_CTX_free(c->hdr);
	EVP_MAC_CTX_free(c->poly_ctx);
	EVP_MAC_free(c->poly);
	wipe(c, sizeof(*c));
	free(c);
}

const struct cipher_alg *cipher_ctx_alg(const struct cipher_ctx *c)
{
	return c->alg;
}

static int evp_init(EVP_CIPHER_CTX **out, const char *name, bool enc, const uint8_t *key, const uint8_t *iv)
{
	EVP_CIPHER *ciph = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_CTX *ctx = NULL;
	int r = ERR_LIBCRYPTO;

	*out = NULL;
	if (ciph == NULL)
		goto out;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if (EVP_CipherInit_ex(ctx, ciph, NULL, key, iv, enc ? 1 : 0) != 1)
		goto out;
	*out = ctx;
	ctx = NULL;
	r = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(ciph);
	return r;
}

int cipher_ctx_new(const struct cipher_alg *alg, bool encrypt, const uint8_t *key, const uint8_t *iv,
		   struct cipher_ctx **out)
{
	struct cipher_ctx *c;
	int r = ERR_INTERNAL;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ERR_ALLOC_FAIL;
	c->alg = alg;
	c->encrypt = encrypt;
	switch (alg->kind) {
	case CIPHER_NONE:
		break;
	case CIPHER_AES_CTR:
		if ((r = evp_init(&c->main, alg->evp_name, encrypt, key, iv)) != 0)
			goto out;
		break;
	case CIPHER_AES_GCM:
		memcpy(c->gcm_iv, iv, sizeof(c->gcm_iv));
		if ((r = evp_init(&c->main, alg->evp_name, encrypt, key, NULL)) != 0)
			goto out;
		break;
	case CIPHER_CHACHAPOLY: {
		/* OpenSSH PROTOCOL.chacha20poly1305: K_2 = first 32 bytes (payload), K_1 = last 32 (length). */
		static const uint8_t zero_iv[16];

		if ((r = evp_init(&c->main, alg->evp_name, encrypt, key, zero_iv)) != 0 ||
		    (r = evp_init(&c->hdr, alg->evp_name, encrypt, key + 32, zero_iv)) != 0)
			goto out;
		r = ERR_LIBCRYPTO;
		if ((c->poly = EVP_MAC_fetch(NULL, "POLY1305", NULL)) == NULL ||
		    (c->poly_ctx = EVP_MAC_CTX_new(c->poly)) == NULL)
			goto out;
		break;
	}
	}
	*out = c;
	c = NULL;
	r = 0;
out:
	cipher_ctx_free(c);
	return r;
}

int cipher_ctr_crypt(struct cipher_ctx *c, uint8_t *data, size_t n)
{
	int outl;

	if (c->alg->kind != CIPHER_AES_CTR || n > INT32_MAX)
		return ERR_INTERNAL;
	if (n == 0)
		return 0;
	if (EVP_CipherUpdate(c->main, data, &outl, data, (int)n) != 1 || (size_t)outl != n)
		return ERR_LIBCRYPTO;
	return 0;
}

/* RFC 5647 §7.1: the invocation counter is the low 64 bits, incremented per packet. */
static void gcm_iv_increment(uint8_t iv[static 12])
{
	for (int i = 11; i >= 4; i--) {
		if (++iv[i] != 0)
			break;
	}
}

static int gcm_crypt(struct cipher_ctx *c, const uint8_t *aad, size_t aadlen, uint8_t *data, size_t n, uint8_t *tag)
{
	int outl;

	if (c->alg->kind != CIPHER_AES_GCM || n > INT32_MAX || aadlen > INT32_MAX)
		return ERR_INTERNAL;
	if (EVP_CipherInit_ex(c->main, NULL, NULL, NULL, c->gcm_iv, c->encrypt ? 1 : 0) != 1)
		return ERR_LIBCRYPTO;
	if (!c->encrypt && EVP_CIPHER_CTX_ctrl(c->main, EVP_CTRL_GCM_SET_TAG, 16, tag) != 1)
		return ERR_LIBCRYPTO;
	if (aadlen > 0 && EVP_CipherUpdate(c->main, NULL, &outl, aad, (int)aadlen) != 1)
		return ERR_LIBCRYPTO;
	if (n > 0 && (EVP_CipherUpdate(c->main, data, &outl, data, (int)n) != 1 || (size_t)outl != n))
		return ERR_LIBCRYPTO;
	if (EVP_CipherFinal_ex(c->main, data + n, &outl) != 1)
		return c->encrypt ? ERR_LIBCRYPTO : ERR_MAC_INVALID;
	if (c->encrypt && EVP_CIPHER_CTX_ctrl(c->main, EVP_CTRL_GCM_GET_TAG, 16, tag) != 1)
		return ERR_LIBCRYPTO;
	gcm_iv_increment(c->gcm_iv);
	return 0;
}

int cipher_gcm_seal(struct cipher_ctx *c, const uint8_t *aad, size_t aadlen, uint8_t *data, size_t n,
		    uint8_t tag[static 16])
{
	return gcm_crypt(c, aad, aadlen, data, n, tag);
}

int cipher_gcm_open(struct cipher_ctx *c, const uint8_t *aad, size_t aadlen, uint8_t *data, size_t n,
		    const uint8_t tag[static 16])
{
	uint8_t t[16];
	int r;

	memcpy(t, tag, sizeof(t));
	r = gcm_crypt(c, aad, aadlen, data, n, t);
	if (r != 0)
		wipe(data, n); /* never hand out unauthenticated plaintext */
	return r;
}

/*
 * OpenSSL's ChaCha20 IV is a 32-bit little-endian block counter followed by a
 * 96-bit nonce; OpenSSH uses the original 64-bit counter and 64-bit nonce. With
 * the counter's high word zero the two layouts coincide: counter (LE, 8 bytes)
 * then the sequence number as a 64-bit big-endian nonce.
 */
static int chacha_set_iv(EVP_CIPHER_CTX *ctx, uint32_t seq, uint32_t counter, bool enc)
{
	uint8_t iv[16] = {0};

	iv[0] = (uint8_t)counter;
	iv[1] = (uint8_t)(counter >> 8);
	iv[2] = (uint8_t)(counter >> 16);
	iv[3] = (uint8_t)(counter >> 24);
	iv[12] = (uint8_t)(seq >> 24);
	iv[13] = (uint8_t)(seq >> 16);
	iv[14] = (uint8_t)(seq >> 8);
	iv[15] = (uint8_t)seq;
	return EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc ? 1 : 0) == 1 ? 0 : ERR_LIBCRYPTO;
}

static int chacha_xor(EVP_CIPHER_CTX *ctx, uint8_t *data, size_t n)
{
	int outl;

	if (n == 0)
		return 0;
	if (n > INT32_MAX || EVP_CipherUpdate(ctx, data, &outl, data, (int)n) != 1 || (size_t)outl != n)
		return ERR_LIBCRYPTO;
	return 0;
}

/* Poly1305 key: the first 32 bytes of the K_2 keystream at block counter 0. */
static int chacha_poly_tag(struct cipher_ctx *c, uint32_t seq, const uint8_t *data, size_t n, uint8_t tag[static 16])
{
	uint8_t polykey[32] = {0};
	size_t outl = 0;
	int r = ERR_LIBCRYPTO;

	if ((r = chacha_set_iv(c->main, seq, 0, c->encrypt)) != 0 || (r = chacha_xor(c->main, polykey, sizeof(polykey))) != 0)
		goto out;
	r = ERR_LIBCRYPTO;
	if (EVP_MAC_init(c->poly_ctx, polykey, sizeof(polykey), NULL) != 1 || EVP_MAC_update(c->poly_ctx, data, n) != 1 ||
	    EVP_MAC_final(c->poly_ctx, tag, &outl, 16) != 1 || outl != 16)
		goto out;
	r = 0;
out:
	wipe(polykey, sizeof(polykey));
	return r;
}

int cipher_chachapoly_decrypt_length(struct cipher_ctx *c, uint32_t seq, const uint8_t enc[static 4], uint32_t *len)
{
	uint8_t tmp[4];
	int r;

	*len = 0;
	if (c->alg->kind != CIPHER_CHACHAPOLY)
		return ERR_INTERNAL;
	memcpy(tmp, enc, 4);
	if ((r = chacha_set_iv(c->hdr, seq, 0, c->encrypt)) != 0 || (r = chacha_xor(c->hdr, tmp, 4)) != 0)
		return r;
	*len = (uint32_t)tmp[0] << 24 | (uint32_t)tmp[1] << 16 | (uint32_t)tmp[2] << 8 | tmp[3];
	return 0;
}

int cipher_chachapoly_seal(struct cipher_ctx *c, uint32_t seq, uint8_t *pkt, size_t len, uint8_t tag[static 16])
{
	int r;

	if (c->alg->kind != CIPHER_CHACHAPOLY || len < 4)
		return ERR_INTERNAL;
	if ((r = chacha_set_iv(c->hdr, seq, 0, true)) != 0 || (r = chacha_xor(c->hdr, pkt, 4)) != 0 ||
	    (r = chacha_set_iv(c->main, seq, 1, true)) != 0 || (r = chacha_xor(c->main, pkt + 4, len - 4)) != 0)
		return r;
	return chacha_poly_tag(c, seq, pkt, len, tag);
}

int cipher_chachapoly_open(struct cipher_ctx *c, uint32_t seq, uint8_t *pkt, size_t len, const uint8_t got[static 16])
{
	uint8_t expect[16];
	int r;

	if (c->alg->kind != CIPHER_CHACHAPOLY || len < 4)
		return ERR_INTERNAL;
	if ((r = chacha_poly_tag(c, seq, pkt, len, expect)) != 0)
		return r;
	/* Authenticate before decrypting anything but the length. */
	if (ct_memcmp(expect, got, sizeof(expect)) != 0)
		return ERR_MAC_INVALID;
	if ((r = chacha_set_iv(c->hdr, seq, 0, false)) != 0 || (r = chacha_xor(c->hdr, pkt, 4)) != 0 ||
	    (r = chacha_set_iv(c->main, seq, 1, false)) != 0 || (r = chacha_xor(c->main, pkt + 4, len - 4)) != 0)
		return r;
	return 0;
}

struct mac_ctx {
	const struct mac_alg *alg;
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	uint8_t key[64];
};

void mac_ctx_free(struct mac_ctx *m)
{
	if (m == NULL)
		return;
	EVP_MAC_CTX_free(m->ctx);
	EVP_MAC_free(m->mac);
	wipe(m, sizeof(*m));
	free(m);
}

const struct mac_alg *mac_ctx_alg(const struct mac_ctx *m)
{
	return m->alg;
}

int mac_ctx_new(const struct mac_alg *alg, const uint8_t *key, struct mac_ctx **out)
{
	struct mac_ctx *m;
	int r = ERR_LIBCRYPTO;

	*out = NULL;
	if (alg->key_len > sizeof(m->key))
		return ERR_INTERNAL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return ERR_ALLOC_FAIL;
	m->alg = alg;
	memcpy(m->key, key, alg->key_len);
	if ((m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL || (m->ctx = EVP_MAC_CTX_new(m->mac)) == NULL)
		goto out;
	*out = m;
	m = NULL;
	r = 0;
out:
	mac_ctx_free(m);
	return r;
}

int mac_compute(struct mac_ctx *m, uint32_t seq, const uint8_t *data, size_t n, uint8_t *out)
{
	OSSL_PARAM params[2];
	uint8_t seqb[4] = {(uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8), (uint8_t)seq};
	uint8_t full[64];
	size_t outl = 0;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)m->alg->digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(m->ctx, m->key, m->alg->key_len, params) != 1 || EVP_MAC_update(m->ctx, seqb, 4) != 1 ||
	    EVP_MAC_update(m->ctx, data, n) != 1 || EVP_MAC_final(m->ctx, full, &outl, sizeof(full)) != 1 ||
	    outl < m->alg->mac_len)
		return ERR_LIBCRYPTO;
	memcpy(out, full, m->alg->mac_len);
	wipe(full, sizeof(full));
	return 0;
}

size_t digest_len(const char *name)
{
	EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
	size_t n = 0;

	if (md != NULL) {
		n = (size_t)EVP_MD_get_size(md);
		EVP_MD_free(md);
	}
	return n;
}

int digest_oneshot(const char *name, const uint8_t *data, size_t n, uint8_t *out, size_t *outlen)
{
	EVP_MD *md = EVP_MD_fetch(NULL, name, NULL);
	unsigned int l = 0;
	int r = ERR_LIBCRYPTO;

	*outlen = 0;
	if (md == NULL)
		return ERR_LIBCRYPTO;
	if (EVP_Digest(data, n, out, &l, md, NULL) == 1) {
		*outlen = l;
		r = 0;
	}
	EVP_MD_free(md);
	return r;
}
