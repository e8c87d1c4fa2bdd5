/*
 * sshkey.c - SSH key blobs, signatures and OpenSSH certificates on top of
 * libcrypto's EVP_PKEY (see sshkey.h).
 *
 * Two static tables drive everything: key_types (blob type names, RFC 4253
 * §6.6, RFC 5656 §3.1, RFC 8709 §4, PROTOCOL.certkeys) and sig_algs
 * (signature algorithm names with their digests, RFC 8332 §3, RFC 5656 §3.1.2,
 * RFC 8709 §6). Parsed blobs are kept verbatim: the decoders accept only the
 * canonical encoding (minimal mpints, uncompressed points, no trailing bytes),
 * so the stored bytes are exactly what a re-encoding would produce.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "limits.h"
#include "log.h"
#include "sshkey.h"

enum key_kind {
	KIND_ED25519,
	KIND_ECDSA,
	KIND_RSA,
};

struct key_type {
	const char *name;       /* blob type name */
	const char *plain_name; /* the same for plain keys; the certified key's for certificates */
	enum key_kind kind;
	const char *curve;   /* ECDSA: RFC 5656 §6.1 curve identifier */
	const char *group;   /* ECDSA: OpenSSL group name */
	size_t field_bytes;  /* ECDSA: bytes of a coordinate */
	bool cert;
};

#define CERT_SUFFIX "-cert-v01@openssh.com"

static const struct key_type key_types[] = {
	{.name = "ssh-ed25519", .plain_name = "ssh-ed25519", .kind = KIND_ED25519},
	{.name = "ecdsa-sha2-nistp256", .plain_name = "ecdsa-sha2-nistp256", .kind = KIND_ECDSA,
	 .curve = "nistp256", .group = "prime256v1", .field_bytes = 32},
	{.name = "ecdsa-sha2-nistp384", .plain_name = "ecdsa-sha2-nistp384", .kind = KIND_ECDSA,
	 .curve = "nistp384", .group = "secp384r1", .field_bytes = 48},
	{.name = "ecdsa-sha2-nistp521", .plain_name = "ecdsa-sha2-nistp521", .kind = KIND_ECDSA,
	 .curve = "nistp521", .group = "secp521r1", .field_bytes = 66},
	{.name = "ssh-rsa", .plain_name = "ssh-rsa", .kind = KIND_RSA},
	{.name = "ssh-ed25519" CERT_SUFFIX, .plain_name = "ssh-ed25519", .kind = KIND_ED25519, .cert = true},
	{.name = "ecdsa-sha2-nistp256" CERT_SUFFIX, .plain_name = "ecdsa-sha2-nistp256", .kind = KIND_ECDSA,
	 .curve = "nistp256", .group = "prime256v1", .field_bytes = 32, .cert = true},
	{.name = "ecdsa-sha2-nistp384" CERT_SUFFIX, .plain_name = "ecdsa-sha2-nistp384", .kind = KIND_ECDSA,
	 .curve = "nistp384", .group = "secp384r1", .field_bytes = 48, .cert = true},
	{.name = "ecdsa-sha2-nistp521" CERT_SUFFIX, .plain_name = "ecdsa-sha2-nistp521", .kind = KIND_ECDSA,
	 .curve = "nistp521", .group = "secp521r1", .field_bytes = 66, .cert = true},
	{.name = "ssh-rsa" CERT_SUFFIX, .plain_name = "ssh-rsa", .kind = KIND_RSA, .cert = true},
};

struct sig_alg {
	const char *name;
	enum key_kind kind;
	const char *curve;              /* ECDSA: the key's curve */
	const EVP_MD *(*md)(void);      /* NULL: the scheme hashes itself (Ed25519) */
	bool legacy;                    /* SHA-1: only when asked for by name */
};

/* RSA entries in order of preference: the first non-legacy one is the default. */
static const struct sig_alg sig_algs[] = {
	{.name = "ssh-ed25519", .kind = KIND_ED25519},
	{.name = "ecdsa-sha2-nistp256", .kind = KIND_ECDSA, .curve = "nistp256", .md = EVP_sha256},
	{.name = "ecdsa-sha2-nistp384", .kind = KIND_ECDSA, .curve = "nistp384", .md = EVP_sha384},
	{.name = "ecdsa-sha2-nistp521", .kind = KIND_ECDSA, .curve = "nistp521", .md = EVP_sha512},
	{.name = "rsa-sha2-512", .kind = KIND_RSA, .md = EVP_sha512},
	{.name = "rsa-sha2-256", .kind = KIND_RSA, .md = EVP_sha256},
	{.name = "ssh-rsa", .kind = KIND_RSA, .md = EVP_sha1, .legacy = true},
};

/* Public-key algorithm names that map to a different signature algorithm. */
static const struct {
	const char *pubkey_alg;
	const char *sig_alg;
} cert_sig_algs[] = {
	{.pubkey_alg = "rsa-sha2-512" CERT_SUFFIX, .sig_alg = "rsa-sha2-512"},
	{.pubkey_alg = "rsa-sha2-256" CERT_SUFFIX, .sig_alg = "rsa-sha2-256"},
	{.pubkey_alg = "ssh-rsa" CERT_SUFFIX, .sig_alg = "ssh-rsa"},
	{.pubkey_alg = "ssh-ed25519" CERT_SUFFIX, .sig_alg = "ssh-ed25519"},
	{.pubkey_alg = "ecdsa-sha2-nistp256" CERT_SUFFIX, .sig_alg = "ecdsa-sha2-nistp256"},
	{.pubkey_alg = "ecdsa-sha2-nistp384" CERT_SUFFIX, .sig_alg = "ecdsa-sha2-nistp384"},
	{.pubkey_alg = "ecdsa-sha2-nistp521" CERT_SUFFIX, .sig_alg = "ecdsa-sha2-nistp521"},
};

#define ED25519_PK_LEN 32
#define ED25519_SK_LEN 64 /* OpenSSH stores seed || public key */
#define ED25519_SIG_LEN 64
#define RSA_MAX_BYTES (SSH_RSA_MAX_BITS / 8)

struct cert {
	uint64_t serial;
	uint32_t type;
	char *key_id;
	char **principals;
	size_t nprincipals;
	uint64_t valid_after;
	uint64_t valid_before;
	bool has_critical;
	struct sshkey *signature_key;
};

struct sshkey {
	const struct key_type *type;
	EVP_PKEY *pkey;
	bool has_private;
	uint8_t *blob; /* the full public blob (the certificate for certificates) */
	size_t blob_len;
	uint8_t *plain; /* the plain key's blob */
	size_t plain_len;
	struct cert *cert;
};

static const struct key_type *key_type_by_name(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strlen(key_types[i].name) == len && memcmp(key_types[i].name, name, len) == 0)
			return &key_types[i];
	}
	return NULL;
}

static const struct key_type *plain_type_of(const struct key_type *t)
{
	return key_type_by_name(t->plain_name, strlen(t->plain_name));
}

static const struct sig_alg *sig_alg_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++) {
		if (strcmp(sig_algs[i].name, name) == 0)
			return &sig_algs[i];
	}
	return NULL;
}

const char *sshkey_sig_alg_for(const char *pubkey_alg)
{
	if (pubkey_alg == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(cert_sig_algs) / sizeof(cert_sig_algs[0]); i++) {
		if (strcmp(cert_sig_algs[i].pubkey_alg, pubkey_alg) == 0)
			return cert_sig_algs[i].sig_alg;
	}
	if (sig_alg_by_name(pubkey_alg) != NULL)
		return sig_alg_by_name(pubkey_alg)->name;
	return NULL;
}

static bool sig_alg_fits(const struct sshkey *k, const struct sig_alg *a)
{
	if (a->kind != k->type->kind)
		return false;
	if (a->kind == KIND_ECDSA && strcmp(a->curve, k->type->curve) != 0)
		return false;
	return true;
}

bool sshkey_alg_compatible(const struct sshkey *k, const char *alg)
{
	const char *s = sshkey_sig_alg_for(alg);
	const struct sig_alg *a;

	if (s == NULL || (a = sig_alg_by_name(s)) == NULL)
		return false;
	return sig_alg_fits(k, a);
}

/* The key type's default signature algorithm (never a legacy one). */
static const struct sig_alg *default_sig_alg(const struct sshkey *k)
{
	for (size_t i = 0; i < sizeof(sig_algs) / sizeof(sig_algs[0]); i++) {
		if (!sig_algs[i].legacy && sig_alg_fits(k, &sig_algs[i]))
			return &sig_algs[i];
	}
	return NULL;
}

static void cert_free(struct cert *c)
{
	if (c == NULL)
		return;
	free(c->key_id);
	for (size_t i = 0; i < c->nprincipals; i++)
		free(c->principals[i]);
	free(c->principals);
	sshkey_free(c->signature_key);
	free(c);
}

void sshkey_free(struct sshkey *k)
{
	if (k == NULL)
		return;
	/* EVP_PKEY_free clears the private material libcrypto holds. */
	EVP_PKEY_free(k->pkey);
	free(k->blob);
	free(k->plain);
	cert_free(k->cert);
	wipe(k, sizeof(*k));
	free(k);
}

static uint8_t *memdup(const void *p, size_t n)
{
	uint8_t *d = malloc(n == 0 ? 1 : n);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

/* Turns any libcrypto failure into one code, leaving no stale queue behind. */
static int crypto_err(void)
{
	ERR_clear_error();
	return ERR_LIBCRYPTO;
}

/* Builds a key of the given kind from OSSL_PARAMs (public or keypair). */
static int pkey_fromdata(const char *alg, int selection, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int r = ERR_LIBCRYPTO;

	*out = NULL;
	if ((params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL)) == NULL)
		goto out;
	if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx, out, selection, params) != 1) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	r = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	if (r != 0)
		ERR_clear_error();
	return r;
}

/* RFC 5656 §3.1: Q must be a valid point on the named curve (SEC1 3.2.2.1). */
static int ec_check(EVP_PKEY *pkey, bool with_private)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok;

	if (ctx == NULL)
		return crypto_err();
	ok = EVP_PKEY_public_check(ctx) == 1;
	if (ok && with_private)
		ok = EVP_PKEY_pairwise_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		return ERR_INVALID_FORMAT;
	}
	return 0;
}

static int ec_pkey(const struct key_type *t, const uint8_t *q, size_t qlen, const uint8_t *d, size_t dlen,
		   EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *priv = NULL;
	EVP_PKEY *pkey = NULL;
	int r = ERR_LIBCRYPTO;

	*out = NULL;
	/* Only the uncompressed form 0x04 || X || Y, which OpenSSH always sends. */
	if (qlen != 1 + 2 * t->field_bytes || q[0] != 0x04) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, t->group, 0) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, q, qlen) != 1)
		goto out;
	if (d != NULL) {
		if ((priv = BN_secure_new()) == NULL || BN_bin2bn(d, (int)dlen, priv) == NULL ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1)
			goto out;
	}
	if ((r = pkey_fromdata("EC", d != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld, &pkey)) != 0)
		goto out;
	if ((r = ec_check(pkey, d != NULL)) != 0)
		goto out;
	*out = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	BN_clear_free(priv);
	OSSL_PARAM_BLD_free(bld);
	if (r == ERR_LIBCRYPTO)
		ERR_clear_error();
	return r;
}

/* RSA public or private key; priv holds d, iqmp, p, q (magnitudes) or NULL. */
struct rsa_priv {
	const uint8_t *d, *iqmp, *p, *q;
	size_t dlen, iqmplen, plen, qlen;
};

static int rsa_pkey(const uint8_t *e, size_t elen, const uint8_t *n, size_t nlen, const struct rsa_priv *pv,
		    EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld = NULL;
	BIGNUM *bn_n = NULL, *bn_e = NULL, *d = NULL, *p = NULL, *q = NULL, *iqmp = NULL;
	BIGNUM *dmp1 = NULL, *dmq1 = NULL, *tmp = NULL;
	BN_CTX *bnctx = NULL;
	EVP_PKEY *pkey = NULL;
	int r = ERR_LIBCRYPTO;

	*out = NULL;
	if ((bn_n = BN_bin2bn(n, (int)nlen, NULL)) == NULL || (bn_e = BN_bin2bn(e, (int)elen, NULL)) == NULL)
		goto out;
	/* OpenSSH RequiredRSASize: 1024 bits by default; we refuse smaller keys. */
	if (BN_num_bits(bn_n) < SSH_RSA_MIN_BITS || BN_num_bits(bn_n) > SSH_RSA_MAX_BITS) {
		r = ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if (!BN_is_odd(bn_e) || BN_is_one(bn_e) || BN_num_bits(bn_e) > SSH_RSA_MAX_E_BITS) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		goto out;
	if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) != 1)
		goto out;
	if (pv != NULL) {
		if ((bnctx = BN_CTX_secure_new()) == NULL || (d = BN_secure_new()) == NULL ||
		    (p = BN_secure_new()) == NULL || (q = BN_secure_new()) == NULL ||
		    (iqmp = BN_secure_new()) == NULL || (dmp1 = BN_secure_new()) == NULL ||
		    (dmq1 = BN_secure_new()) == NULL || (tmp = BN_secure_new()) == NULL)
			goto out;
		if (BN_bin2bn(pv->d, (int)pv->dlen, d) == NULL || BN_bin2bn(pv->p, (int)pv->plen, p) == NULL ||
		    BN_bin2bn(pv->q, (int)pv->qlen, q) == NULL ||
		    BN_bin2bn(pv->iqmp, (int)pv->iqmplen, iqmp) == NULL)
			goto out;
		/* Consistency: n = p * q and iqmp = q^-1 mod p (PROTOCOL.key stores no CRT exponents). */
		if (BN_mul(tmp, p, q, bnctx) != 1)
			goto out;
		if (BN_cmp(tmp, bn_n) != 0) {
			r = ERR_INVALID_FORMAT;
			goto out;
		}
		if (BN_mod_mul(tmp, iqmp, q, p, bnctx) != 1)
			goto out;
		if (!BN_is_one(tmp)) {
			r = ERR_INVALID_FORMAT;
			goto out;
		}
		if (BN_sub(tmp, p, BN_value_one()) != 1 || BN_mod(dmp1, d, tmp, bnctx) != 1 ||
		    BN_sub(tmp, q, BN_value_one()) != 1 || BN_mod(dmq1, d, tmp, bnctx) != 1)
			goto out;
		if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_D, d) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR1, p) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_FACTOR2, q) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT1, dmp1) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_EXPONENT2, dmq1) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, iqmp) != 1)
			goto out;
	}
	if ((r = pkey_fromdata("RSA", pv != NULL ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, bld, &pkey)) != 0)
		goto out;
	*out = pkey;
	pkey = NULL;
	r = 0;
out:
	EVP_PKEY_free(pkey);
	BN_free(bn_n);
	BN_free(bn_e);
	BN_clear_free(d);
	BN_clear_free(p);
	BN_clear_free(q);
	BN_clear_free(iqmp);
	BN_clear_free(dmp1);
	BN_clear_free(dmq1);
	BN_clear_free(tmp);
	BN_CTX_free(bnctx);
	OSSL_PARAM_BLD_free(bld);
	if (r == ERR_LIBCRYPTO)
		ERR_clear_error();
	return r;
}

/*
 * Reads the public fields that follow the type name (and, for
 * certificates, the nonce) of type t from b into a public EVP_PKEY.
 */
static int pub_fields_get(const struct key_type *t, struct buf *b, EVP_PKEY **out)
{
	const uint8_t *p, *e, *n;
	size_t len, elen, nlen;
	int r;

	*out = NULL;
	switch (t->kind) {
	case KIND_ED25519:
		/* RFC 8709 §4: string key (32 octets). */
		if ((r = buf_get_string_direct(b, &p, &len)) != 0)
			return r;
		if (len != ED25519_PK_LEN)
			return ERR_INVALID_FORMAT;
		if ((*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, p, len)) == NULL)
			return crypto_err();
		return 0;
	case KIND_ECDSA:
		/* RFC 5656 §3.1: string identifier (must match the type), string Q. */
		if ((r = buf_get_string_direct(b, &p, &len)) != 0)
			return r;
		if (len != strlen(t->curve) || memcmp(p, t->curve, len) != 0)
			return ERR_INVALID_FORMAT;
		if ((r = buf_get_string_direct(b, &p, &len)) != 0)
			return r;
		return ec_pkey(t, p, len, NULL, 0, out);
	case KIND_RSA:
		/* RFC 4253 §6.6: mpint e, mpint n. */
		if ((r = buf_get_mpint_direct(b, RSA_MAX_BYTES, &e, &elen)) != 0 ||
		    (r = buf_get_mpint_direct(b, RSA_MAX_BYTES, &n, &nlen)) != 0)
			return r;
		return rsa_pkey(e, elen, n, nlen, NULL, out);
	}
	return ERR_INTERNAL;
}

/* Appends the public fields of pkey in type t's blob layout. */
static int pub_fields_put(const struct key_type *t, EVP_PKEY *pkey, struct buf *out)
{
	uint8_t pk[ED25519_PK_LEN], q[1 + 2 * 66], *mag = NULL;
	size_t len = sizeof(pk), qlen = 0;
	BIGNUM *bn_e = NULL, *bn_n = NULL;
	int r = ERR_LIBCRYPTO;

	switch (t->kind) {
	case KIND_ED25519:
		if (EVP_PKEY_get_raw_public_key(pkey, pk, &len) != 1 || len != ED25519_PK_LEN)
			goto out;
		r = buf_put_string(out, pk, len);
		goto out;
	case KIND_ECDSA:
		if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, q, sizeof(q), &qlen) != 1)
			goto out;
		if (qlen != 1 + 2 * t->field_bytes || q[0] != 0x04) {
			r = ERR_NOT_SUPPORTED;
			goto out;
		}
		if ((r = buf_put_cstring(out, t->curve)) != 0)
			goto out;
		r = buf_put_string(out, q, qlen);
		goto out;
	case KIND_RSA:
		if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &bn_e) != 1 ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &bn_n) != 1)
			goto out;
		if ((mag = malloc(RSA_MAX_BYTES)) == NULL) {
			r = ERR_ALLOC_FAIL;
			goto out;
		}
		if (BN_num_bytes(bn_e) > RSA_MAX_BYTES || BN_num_bytes(bn_n) > RSA_MAX_BYTES) {
			r = ERR_BIGNUM_TOO_LARGE;
			goto out;
		}
		len = (size_t)BN_bn2bin(bn_e, mag);
		if ((r = buf_put_mpint(out, mag, len)) != 0)
			goto out;
		len = (size_t)BN_bn2bin(bn_n, mag);
		r = buf_put_mpint(out, mag, len);
		goto out;
	}
	r = ERR_INTERNAL;
out:
	free(mag);
	BN_free(bn_e);
	BN_free(bn_n);
	if (r == ERR_LIBCRYPTO)
		ERR_clear_error();
	return r;
}

/* Encodes k's plain blob (and, for plain keys, its full blob) from its EVP_PKEY. */
static int plain_blob_build(struct sshkey *k)
{
	const struct key_type *pt = plain_type_of(k->type);
	struct buf *b = buf_new(SSH_KEY_BLOB_MAX);
	int r = ERR_ALLOC_FAIL;

	if (b == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_put_cstring(b, pt->name)) != 0 || (r = pub_fields_put(pt, k->pkey, b)) != 0)
		goto out;
	free(k->plain);
	k->plain_len = buf_len(b);
	if ((k->plain = memdup(buf_peek(b), k->plain_len)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if (!k->type->cert) {
		free(k->blob);
		k->blob_len = k->plain_len;
		if ((k->blob = memdup(k->plain, k->plain_len)) == NULL) {
			r = ERR_ALLOC_FAIL;
			goto out;
		}
	}
	r = 0;
out:
	buf_free(b);
	return r;
}

static int get_cstring_bounded(struct buf *b, size_t max, char **out)
{
	size_t len;
	int r;

	*out = NULL;
	if ((r = buf_get_cstring(b, out, &len)) != 0)
		return r;
	if (len > max) {
		free(*out);
		*out = NULL;
		return ERR_STRING_TOO_LARGE;
	}
	return 0;
}

/* A packed list of (string name, string data) pairs: structure check only. */
static int cert_options_check(const uint8_t *p, size_t len, bool *nonempty)
{
	struct buf *b = buf_from(p, len);
	const uint8_t *d;
	size_t n = 0, dlen;
	char *name = NULL;
	int r = 0;

	*nonempty = len > 0;
	if (b == NULL)
		return ERR_ALLOC_FAIL;
	while (buf_len(b) > 0) {
		if (++n > SSH_CERT_OPTIONS_MAX) {
			r = ERR_LIMIT_EXCEEDED;
			break;
		}
		if ((r = get_cstring_bounded(b, SSH_MESSAGE_TEXT_MAX, &name)) != 0 ||
		    (r = buf_get_string_direct(b, &d, &dlen)) != 0)
			break;
		free(name);
		name = NULL;
	}
	free(name);
	buf_free(b);
	return r;
}

/* The key type named at the start of a blob. */
static int blob_type(const uint8_t *blob, size_t len, const struct key_type **out)
{
	struct buf *b = buf_from(blob, len);
	const uint8_t *name;
	size_t namelen;
	int r;

	*out = NULL;
	if (b == NULL)
		return ERR_ALLOC_FAIL;
	r = buf_get_string_direct(b, &name, &namelen);
	buf_free(b);
	if (r != 0)
		return r;
	if ((*out = key_type_by_name((const char *)name, namelen)) == NULL)
		return ERR_KEY_TYPE_UNKNOWN;
	return 0;
}

static int sshkey_verify_internal(const struct sshkey *k, const uint8_t *sig, size_t siglen,
				  const uint8_t *data, size_t datalen, const char *alg);

/*
 * PROTOCOL.certkeys: after the public fields come serial, type, key id,
 * principals, validity, critical options, extensions, reserved, signature
 * key and the CA's signature over everything before the signature string.
 */
static int cert_parse(struct sshkey *k, struct buf *b, const uint8_t *blob, size_t bloblen)
{
	struct cert *c = calloc(1, sizeof(*c));
	const struct key_type *cat;
	struct buf *pr = NULL;
	const uint8_t *p, *sig;
	size_t len, siglen, signed_len;
	bool ext_nonempty;
	int r;

	if (c == NULL)
		return ERR_ALLOC_FAIL;
	k->cert = c;
	if ((r = buf_get_u64(b, &c->serial)) != 0 || (r = buf_get_u32(b, &c->type)) != 0 ||
	    (r = get_cstring_bounded(b, SSH_MESSAGE_TEXT_MAX, &c->key_id)) != 0 || (r = buf_froms(b, &pr)) != 0)
		goto out;
	if (c->type != SSHKEY_CERT_USER && c->type != SSHKEY_CERT_HOST) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	while (buf_len(pr) > 0) {
		char **np;

		if (c->nprincipals >= SSH_CERT_PRINCIPALS_MAX) {
			r = ERR_LIMIT_EXCEEDED;
			goto out;
		}
		if ((np = realloc(c->principals, (c->nprincipals + 1) * sizeof(*np))) == NULL) {
			r = ERR_ALLOC_FAIL;
			goto out;
		}
		c->principals = np;
		if ((r = get_cstring_bounded(pr, SSH_MESSAGE_TEXT_MAX, &np[c->nprincipals])) != 0)
			goto out;
		c->nprincipals++;
	}
	if ((r = buf_get_u64(b, &c->valid_after)) != 0 || (r = buf_get_u64(b, &c->valid_before)) != 0)
		goto out;
	if ((r = buf_get_string_direct(b, &p, &len)) != 0 || (r = cert_options_check(p, len, &c->has_critical)) != 0)
		goto out;
	if ((r = buf_get_string_direct(b, &p, &len)) != 0 || (r = cert_options_check(p, len, &ext_nonempty)) != 0)
		goto out;
	if ((r = buf_get_string_direct(b, &p, &len)) != 0) /* reserved */
		goto out;
	if ((r = buf_get_string_direct(b, &p, &len)) != 0)
		goto out;
	/* A CA key is a plain key: refuse a certificate before parsing it (no recursion). */
	if ((r = blob_type(p, len, &cat)) != 0)
		goto out;
	if (cat->cert) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = sshkey_from_blob(p, len, &c->signature_key)) != 0)
		goto out;
	signed_len = bloblen - buf_len(b);
	if ((r = buf_get_string_direct(b, &sig, &siglen)) != 0 || (r = buf_expect_end(b)) != 0)
		goto out;
	/*
	 * OpenSSH verifies the CA signature when it parses a certificate; its
	 * default CASignatureAlgorithms excludes SHA-1 "ssh-rsa", as does alg NULL.
	 */
	if ((r = sshkey_verify_internal(c->signature_key, sig, siglen, blob, signed_len, NULL)) != 0)
		goto out;
	r = 0;
out:
	buf_free(pr);
	return r;
}

int sshkey_from_blob(const uint8_t *blob, size_t len, struct sshkey **out)
{
	struct sshkey *k = NULL;
	struct buf *b = NULL;
	const uint8_t *name;
	size_t namelen;
	int r = ERR_INTERNAL;

	*out = NULL;
	if (len > SSH_KEY_BLOB_MAX)
		return ERR_STRING_TOO_LARGE;
	if ((b = buf_from(blob, len)) == NULL || (k = calloc(1, sizeof(*k))) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if ((r = buf_get_string_direct(b, &name, &namelen)) != 0)
		goto out;
	if ((k->type = key_type_by_name((const char *)name, namelen)) == NULL) {
		r = ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if (k->type->cert) {
		const uint8_t *nonce;
		size_t noncelen;

		if ((r = buf_get_string_direct(b, &nonce, &noncelen)) != 0)
			goto out;
	}
	if ((r = pub_fields_get(k->type, b, &k->pkey)) != 0)
		goto out;
	if (k->type->cert) {
		if ((r = cert_parse(k, b, blob, len)) != 0)
			goto out;
	} else if ((r = buf_expect_end(b)) != 0) {
		goto out;
	}
	k->blob_len = len;
	if ((k->blob = memdup(blob, len)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if (k->type->cert) {
		if ((r = plain_blob_build(k)) != 0)
			goto out;
	} else {
		k->plain_len = len;
		if ((k->plain = memdup(blob, len)) == NULL) {
			r = ERR_ALLOC_FAIL;
			goto out;
		}
	}
	*out = k;
	k = NULL;
	r = 0;
out:
	sshkey_free(k);
	buf_free(b);
	return r;
}

int sshkey_to_blob(const struct sshkey *k, struct buf *out)
{
	return buf_put(out, k->blob, k->blob_len);
}

int sshkey_to_plain_blob(const struct sshkey *k, struct buf *out)
{
	return buf_put(out, k->plain, k->plain_len);
}

const char *sshkey_type_name(const struct sshkey *k)
{
	return k->type->name;
}

const char *sshkey_plain_type_name(const struct sshkey *k)
{
	return k->type->plain_name;
}

unsigned sshkey_bits(const struct sshkey *k)
{
	/* libcrypto says 253 for Ed25519; ssh-keygen -l says 256. */
	if (k->type->kind == KIND_ED25519)
		return 256;
	return (unsigned)EVP_PKEY_get_bits(k->pkey);
}

bool sshkey_matches_pubkey_alg(const struct sshkey *k, const char *alg)
{
	size_t n, sl = strlen(CERT_SUFFIX);
	bool cert_alg;

	if (alg == NULL || !sshkey_alg_compatible(k, alg))
		return false;
	n = strlen(alg);
	cert_alg = n > sl && strcmp(alg + n - sl, CERT_SUFFIX) == 0;
	return cert_alg == k->type->cert;
}

bool sshkey_has_private(const struct sshkey *k)
{
	return k->has_private;
}

bool sshkey_is_cert(const struct sshkey *k)
{
	return k->type->cert;
}

bool sshkey_is_rsa(const struct sshkey *k)
{
	return k->type->kind == KIND_RSA;
}

int sshkey_sig_alg_name(const uint8_t *sig, size_t siglen, char **out)
{
	struct buf *b = buf_from(sig, siglen);
	int r;

	*out = NULL;
	if (b == NULL)
		return ERR_ALLOC_FAIL;
	r = get_cstring_bounded(b, SSH_NAMELIST_MAX, out);
	buf_free(b);
	return r;
}

/* RFC 5656 §3.1.2: string(mpint r, mpint s) → DER ECDSA-Sig-Value for libcrypto. */
static int ecdsa_sig_to_der(const struct key_type *t, const uint8_t *p, size_t len, uint8_t **der,
			    size_t *derlen)
{
	struct buf *b = buf_from(p, len);
	const uint8_t *rm, *sm;
	size_t rlen, slen;
	ECDSA_SIG *es = NULL;
	BIGNUM *br = NULL, *bs = NULL;
	unsigned char *d = NULL;
	int r, n;

	*der = NULL;
	*derlen = 0;
	if (b == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_get_mpint_direct(b, t->field_bytes, &rm, &rlen)) != 0 ||
	    (r = buf_get_mpint_direct(b, t->field_bytes, &sm, &slen)) != 0 || (r = buf_expect_end(b)) != 0)
		goto out;
	r = ERR_LIBCRYPTO;
	if ((es = ECDSA_SIG_new()) == NULL || (br = BN_bin2bn(rm, (int)rlen, NULL)) == NULL ||
	    (bs = BN_bin2bn(sm, (int)slen, NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(es, br, bs) != 1)
		goto out;
	br = bs = NULL;
	if ((n = i2d_ECDSA_SIG(es, &d)) <= 0)
		goto out;
	*der = d;
	*derlen = (size_t)n;
	r = 0;
out:
	BN_free(br);
	BN_free(bs);
	ECDSA_SIG_free(es);
	buf_free(b);
	if (r == ERR_LIBCRYPTO)
		ERR_clear_error();
	return r;
}

static int sshkey_verify_internal(const struct sshkey *k, const uint8_t *sig, size_t siglen,
				  const uint8_t *data, size_t datalen, const char *alg)
{
	const struct sig_alg *a;
	struct buf *b = NULL;
	EVP_MD_CTX *mctx = NULL;
	const uint8_t *s;
	uint8_t *der = NULL, *padded = NULL;
	size_t slen, derlen = 0;
	char *name = NULL;
	int r;

	if (siglen > SSH_SIGNATURE_BLOB_MAX)
		return ERR_STRING_TOO_LARGE;
	if ((b = buf_from(sig, siglen)) == NULL)
		return ERR_ALLOC_FAIL;
	/* RFC 4253 §6.6: string signature format identifier, string signature blob. */
	if ((r = get_cstring_bounded(b, SSH_NAMELIST_MAX, &name)) != 0 ||
	    (r = buf_get_string_direct(b, &s, &slen)) != 0 || (r = buf_expect_end(b)) != 0)
		goto out;
	if (alg != NULL) {
		const char *want = sshkey_sig_alg_for(alg);

		if (want == NULL || strcmp(want, name) != 0) {
			r = ERR_SIGNATURE_INVALID;
			goto out;
		}
	}
	if ((a = sig_alg_by_name(name)) == NULL || !sig_alg_fits(k, a) || (a->legacy && alg == NULL)) {
		r = ERR_SIGNATURE_INVALID;
		goto out;
	}
	r = ERR_LIBCRYPTO;
	if ((mctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(mctx, NULL, a->md == NULL ? NULL : a->md(), NULL, k->pkey) != 1)
		goto out;
	switch (a->kind) {
	case KIND_ED25519:
		/* RFC 8709 §6: the signature is 64 octets. */
		if (slen != ED25519_SIG_LEN) {
			r = ERR_SIGNATURE_INVALID;
			goto out;
		}
		break;
	case KIND_ECDSA:
		if ((r = ecdsa_sig_to_der(k->type, s, slen, &der, &derlen)) != 0)
			goto out;
		s = der;
		slen = derlen;
		break;
	case KIND_RSA: {
		size_t modlen = (size_t)EVP_PKEY_get_size(k->pkey);

		/*
		 * RFC 8332 §3: the signature is as long as the modulus. OpenSSH
		 * accepts a shorter one (leading zero octets dropped) and left-pads
		 * it; so do we, for interoperability. Longer is an error.
		 */
		if (slen > modlen || slen == 0) {
			r = ERR_SIGNATURE_INVALID;
			goto out;
		}
		if (slen < modlen) {
			if ((padded = calloc(1, modlen)) == NULL) {
				r = ERR_ALLOC_FAIL;
				goto out;
			}
			memcpy(padded + modlen - slen, s, slen);
			s = padded;
			slen = modlen;
		}
		break;
	}
	}
	r = EVP_DigestVerify(mctx, s, slen, data, datalen) == 1 ? 0 : ERR_SIGNATURE_INVALID;
	ERR_clear_error();
out:
	if (r == ERR_LIBCRYPTO)
		ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	OPENSSL_free(der);
	free(padded);
	free(name);
	buf_free(b);
	return r;
}

int sshkey_verify(const struct sshkey *k, const uint8_t *sig, size_t siglen, const uint8_t *data, size_t datalen,
		  const char *alg)
{
	return sshkey_verify_internal(k, sig, siglen, data, datalen, alg);
}

/* DER ECDSA-Sig-Value → string(mpint r, mpint s) (RFC 5656 §3.1.2). */
static int ecdsa_sig_from_der(const uint8_t *der, size_t derlen, struct buf *out)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	const BIGNUM *br, *bs;
	struct buf *inner = buf_new(SSH_SIGNATURE_BLOB_MAX);
	uint8_t mag[66];
	int r = ERR_LIBCRYPTO, n;

	if (es == NULL || inner == NULL)
		goto out;
	ECDSA_SIG_get0(es, &br, &bs);
	if (BN_num_bytes(br) > (int)sizeof(mag) || BN_num_bytes(bs) > (int)sizeof(mag))
		goto out;
	n = BN_bn2bin(br, mag);
	if ((r = buf_put_mpint(inner, mag, (size_t)n)) != 0)
		goto out;
	n = BN_bn2bin(bs, mag);
	if ((r = buf_put_mpint(inner, mag, (size_t)n)) != 0)
		goto out;
	r = buf_put_stringb(out, inner);
out:
	ECDSA_SIG_free(es);
	buf_free(inner);
	if (r == ERR_LIBCRYPTO)
		ERR_clear_error();
	return r;
}

int sshkey_sign(const struct sshkey *k, const char *alg, const uint8_t *data, size_t datalen, struct buf *out)
{
	const struct sig_alg *a;
	EVP_MD_CTX *mctx = NULL;
	uint8_t *sig = NULL;
	size_t siglen = 0, alloclen = 0;
	struct buf *tmp = NULL;
	int r = ERR_INTERNAL;

	if (!k->has_private)
		return ERR_INVALID_ARGUMENT;
	if (alg == NULL)
		a = default_sig_alg(k);
	else
		a = sig_alg_by_name(sshkey_sig_alg_for(alg) != NULL ? sshkey_sig_alg_for(alg) : alg);
	if (a == NULL || !sig_alg_fits(k, a))
		return ERR_NO_MATCH;
	if ((tmp = buf_new(SSH_SIGNATURE_BLOB_MAX)) == NULL)
		return ERR_ALLOC_FAIL;
	r = ERR_LIBCRYPTO;
	if ((mctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(mctx, NULL, a->md == NULL ? NULL : a->md(), NULL, k->pkey) != 1)
		goto out;
	if (EVP_DigestSign(mctx, NULL, &alloclen, data, datalen) != 1)
		goto out;
	if ((sig = malloc(alloclen)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	siglen = alloclen;
	if (EVP_DigestSign(mctx, sig, &siglen, data, datalen) != 1)
		goto out;
	if ((r = buf_put_cstring(tmp, a->name)) != 0)
		goto out;
	if (a->kind == KIND_ECDSA)
		r = ecdsa_sig_from_der(sig, siglen, tmp);
	else
		r = buf_put_string(tmp, sig, siglen);
	if (r != 0)
		goto out;
	r = buf_putb(out, tmp);
out:
	if (r == ERR_LIBCRYPTO)
		ERR_clear_error();
	EVP_MD_CTX_free(mctx);
	wipe(sig, alloclen);
	free(sig);
	buf_free(tmp);
	return r;
}

int sshkey_sign_cb(void *ctx, const struct sshkey *pub, const char *alg, const uint8_t *data, size_t datalen,
		   struct buf *out)
{
	const struct sshkey *k = ctx;

	if (!sshkey_equal_public(k, pub) && !sshkey_equal_plain(k, pub))
		return ERR_KEY_NOT_FOUND;
	return sshkey_sign(k, alg, data, datalen, out);
}

int sshkey_fingerprint(const struct sshkey *k, char **out)
{
	uint8_t md[32];
	unsigned mdlen = 0;
	unsigned char b64[48];
	char *s;
	int n;

	*out = NULL;
	if (EVP_Digest(k->plain, k->plain_len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != sizeof(md))
		return crypto_err();
	n = EVP_EncodeBlock(b64, md, (int)mdlen);
	/* ssh-keygen prints the base64 without '=' padding. */
	while (n > 0 && b64[n - 1] == '=')
		n--;
	if ((s = malloc(7 + (size_t)n + 1)) == NULL)
		return ERR_ALLOC_FAIL;
	memcpy(s, "SHA256:", 7);
	memcpy(s + 7, b64, (size_t)n);
	s[7 + n] = '\0';
	*out = s;
	return 0;
}

int sshkey_equal_public(const struct sshkey *a, const struct sshkey *b)
{
	if (a == NULL || b == NULL || a->blob_len != b->blob_len)
		return 0;
	return ct_memcmp(a->blob, b->blob, a->blob_len) == 0;
}

int sshkey_equal_plain(const struct sshkey *a, const struct sshkey *b)
{
	if (a == NULL || b == NULL || a->plain_len != b->plain_len)
		return 0;
	return ct_memcmp(a->plain, b->plain, a->plain_len) == 0;
}

int sshkey_demote(const struct sshkey *k, struct sshkey **out)
{
	return sshkey_from_blob(k->blob, k->blob_len, out);
}

/* A new private key of plain type t owning pkey, with its blobs built. */
static int key_from_private_pkey(const struct key_type *t, EVP_PKEY **pkey, struct sshkey **out)
{
	struct sshkey *k = calloc(1, sizeof(*k));
	int r;

	*out = NULL;
	if (k == NULL)
		return ERR_ALLOC_FAIL;
	k->type = t;
	k->pkey = *pkey;
	*pkey = NULL;
	k->has_private = true;
	if ((r = plain_blob_build(k)) != 0) {
		sshkey_free(k);
		return r;
	}
	*out = k;
	return 0;
}

int sshkey_private_from_buf(struct buf *b, struct sshkey **out)
{
	const struct key_type *t;
	const uint8_t *name, *pk, *sk, *q, *d, *n, *e;
	size_t namelen, pklen, sklen, qlen, dlen, nlen, elen;
	struct rsa_priv pv;
	EVP_PKEY *pkey = NULL;
	uint8_t derived[ED25519_PK_LEN];
	size_t derivedlen = sizeof(derived);
	int r;

	*out = NULL;
	if ((r = buf_get_string_direct(b, &name, &namelen)) != 0)
		return r;
	if ((t = key_type_by_name((const char *)name, namelen)) == NULL || t->cert)
		return ERR_KEY_TYPE_UNKNOWN;
	switch (t->kind) {
	case KIND_ED25519:
		/* PROTOCOL.key / OpenSSH: string pk (32), string seed||pk (64). */
		if ((r = buf_get_string_direct(b, &pk, &pklen)) != 0 || (r = buf_get_string_direct(b, &sk, &sklen)) != 0)
			return r;
		if (pklen != ED25519_PK_LEN || sklen != ED25519_SK_LEN ||
		    ct_memcmp(sk + 32, pk, ED25519_PK_LEN) != 0)
			return ERR_INVALID_FORMAT;
		if ((pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32)) == NULL)
			return crypto_err();
		if (EVP_PKEY_get_raw_public_key(pkey, derived, &derivedlen) != 1) {
			EVP_PKEY_free(pkey);
			return crypto_err();
		}
		if (derivedlen != ED25519_PK_LEN || ct_memcmp(derived, pk, ED25519_PK_LEN) != 0) {
			EVP_PKEY_free(pkey);
			return ERR_INVALID_FORMAT;
		}
		break;
	case KIND_ECDSA:
		/* string curve, string Q, mpint d. */
		if ((r = buf_get_string_direct(b, &name, &namelen)) != 0)
			return r;
		if (namelen != strlen(t->curve) || memcmp(name, t->curve, namelen) != 0)
			return ERR_INVALID_FORMAT;
		if ((r = buf_get_string_direct(b, &q, &qlen)) != 0 ||
		    (r = buf_get_mpint_direct(b, t->field_bytes, &d, &dlen)) != 0)
			return r;
		if ((r = ec_pkey(t, q, qlen, d, dlen, &pkey)) != 0)
			return r;
		break;
	case KIND_RSA:
		/* mpint n, mpint e, mpint d, mpint iqmp, mpint p, mpint q. */
		memset(&pv, 0, sizeof(pv));
		if ((r = buf_get_mpint_direct(b, RSA_MAX_BYTES, &n, &nlen)) != 0 ||
		    (r = buf_get_mpint_direct(b, RSA_MAX_BYTES, &e, &elen)) != 0 ||
		    (r = buf_get_mpint_direct(b, RSA_MAX_BYTES, &pv.d, &pv.dlen)) != 0 ||
		    (r = buf_get_mpint_direct(b, RSA_MAX_BYTES, &pv.iqmp, &pv.iqmplen)) != 0 ||
		    (r = buf_get_mpint_direct(b, RSA_MAX_BYTES, &pv.p, &pv.plen)) != 0 ||
		    (r = buf_get_mpint_direct(b, RSA_MAX_BYTES, &pv.q, &pv.qlen)) != 0)
			return r;
		if ((r = rsa_pkey(e, elen, n, nlen, &pv, &pkey)) != 0)
			return r;
		break;
	}
	r = key_from_private_pkey(t, &pkey, out);
	EVP_PKEY_free(pkey);
	return r;
}

int sshkey_from_evp(struct evp_pkey_st *pkey, bool with_private, struct sshkey **out)
{
	const struct key_type *t = NULL;
	char group[64];
	size_t glen = 0;
	EVP_PKEY *ref;
	int r;

	*out = NULL;
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		t = key_type_by_name("ssh-ed25519", strlen("ssh-ed25519"));
	} else if (EVP_PKEY_is_a(pkey, "RSA")) {
		t = key_type_by_name("ssh-rsa", strlen("ssh-rsa"));
		if (EVP_PKEY_get_bits(pkey) < SSH_RSA_MIN_BITS || EVP_PKEY_get_bits(pkey) > SSH_RSA_MAX_BITS)
			return ERR_KEY_TYPE_UNKNOWN;
	} else if (EVP_PKEY_is_a(pkey, "EC")) {
		if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), &glen) != 1) {
			ERR_clear_error();
			return ERR_KEY_TYPE_UNKNOWN;
		}
		for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
			if (key_types[i].kind == KIND_ECDSA && !key_types[i].cert && strcmp(key_types[i].group, group) == 0)
				t = &key_types[i];
		}
		if (t != NULL && (r = ec_check(pkey, with_private)) != 0)
			return r;
	}
	if (t == NULL)
		return ERR_KEY_TYPE_UNKNOWN;
	if (EVP_PKEY_up_ref(pkey) != 1)
		return crypto_err();
	ref = pkey;
	if ((r = key_from_private_pkey(t, &ref, out)) != 0) {
		EVP_PKEY_free(ref);
		return r;
	}
	(*out)->has_private = with_private;
	return 0;
}

uint32_t sshkey_cert_type(const struct sshkey *k)
{
	return k->cert != NULL ? k->cert->type : 0;
}

uint64_t sshkey_cert_serial(const struct sshkey *k)
{
	return k->cert != NULL ? k->cert->serial : 0;
}

const char *sshkey_cert_key_id(const struct sshkey *k)
{
	return k->cert != NULL ? k->cert->key_id : NULL;
}

size_t sshkey_cert_nprincipals(const struct sshkey *k)
{
	return k->cert != NULL ? k->cert->nprincipals : 0;
}

const char *sshkey_cert_principal(const struct sshkey *k, size_t i)
{
	if (k->cert == NULL || i >= k->cert->nprincipals)
		return NULL;
	return k->cert->principals[i];
}

uint64_t sshkey_cert_valid_after(const struct sshkey *k)
{
	return k->cert != NULL ? k->cert->valid_after : 0;
}

uint64_t sshkey_cert_valid_before(const struct sshkey *k)
{
	return k->cert != NULL ? k->cert->valid_before : 0;
}

const struct sshkey *sshkey_cert_signature_key(const struct sshkey *k)
{
	return k->cert != NULL ? k->cert->signature_key : NULL;
}

/*
 * OpenSSH match_pattern(): '*' matches any run of characters, '?' any one
 * character, everything else itself. Iterative with one backtrack point, so
 * at most O(len(s) * len(pattern)) steps whatever the pattern.
 */
static bool glob_match(const char *s, const char *p)
{
	const char *star = NULL, *retry = NULL;

	while (*s != '\0') {
		if (*p == '*') {
			star = p++;
			retry = s;
		} else if (*p != '\0' && (*p == '?' || *p == *s)) {
			p++;
			s++;
		} else if (star != NULL) {
			p = star + 1;
			s = ++retry;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

int sshkey_cert_check(const struct sshkey *k, bool want_host, const char *name, uint64_t now)
{
	const struct cert *c = k->cert;
	bool found;

	if (c == NULL)
		return ERR_INVALID_ARGUMENT;
	if (c->type != (want_host ? SSHKEY_CERT_HOST : SSHKEY_CERT_USER)) {
		log_debug(LOG_CAT_AUTH, "certificate is a %s certificate", c->type == SSHKEY_CERT_HOST ? "host" : "user");
		return ERR_AUTH_FAILED;
	}
	/* PROTOCOL.certkeys: valid when valid_after <= now < valid_before. */
	if (now < c->valid_after || now >= c->valid_before) {
		log_debug(LOG_CAT_AUTH, "certificate is not valid at this time");
		return ERR_AUTH_FAILED;
	}
	/*
	 * PROTOCOL.certkeys calls an empty list "valid for any principal", but
	 * current OpenSSH refuses such certificates outright (the fail-open
	 * behaviour was CVE-2026-35414): so do we.
	 */
	if (c->nprincipals == 0) {
		log_debug(LOG_CAT_AUTH, "certificate lacks a principal list");
		return ERR_AUTH_FAILED;
	}
	/* OpenSSH refuses host certificates that carry critical options (none are defined). */
	if (want_host && c->has_critical)
		return ERR_AUTH_FAILED;
	if (name == NULL)
		return 0;
	/* Host certificate principals may be patterns (OpenSSH sshkey_cert_check_host()). */
	found = false;
	for (size_t i = 0; i < c->nprincipals && !found; i++)
		found = want_host ? glob_match(name, c->principals[i]) : strcmp(c->principals[i], name) == 0;
	if (!found)
		log_debug(LOG_CAT_AUTH, "certificate has no principal matching \"%s\"", name);
	return found ? 0 : ERR_AUTH_FAILED;
}

int sshkey_attach_cert(const struct sshkey *priv, const struct sshkey *cert, struct sshkey **out)
{
	struct sshkey *k = NULL;
	int r;

	*out = NULL;
	if (!priv->has_private || cert->cert == NULL || priv->cert != NULL)
		return ERR_INVALID_ARGUMENT;
	if (!sshkey_equal_plain(priv, cert))
		return ERR_KEY_NOT_FOUND;
	if ((r = sshkey_from_blob(cert->blob, cert->blob_len, &k)) != 0)
		return r;
	if (EVP_PKEY_up_ref(priv->pkey) != 1) {
		sshkey_free(k);
		return crypto_err();
	}
	EVP_PKEY_free(k->pkey);
	k->pkey = priv->pkey;
	k->has_private = true;
	*out = k;
	return 0;
}
