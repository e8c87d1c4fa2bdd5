/*
 * test-sshkey.c - unit tests for src/sshkey.c without any key files:
 * RFC 8032 §7.1 Ed25519 known answers through the SSH blob and signature
 * formats (RFC 8709), strict blob and signature decoding (every truncation,
 * a trailing byte, wrong lengths, a wrong curve name, a point off the curve),
 * signature algorithm selection (RFC 8332: SHA-1 "ssh-rsa" only by name) and
 * sign/verify round trips for every key type on keys made by libcrypto.
 * Vector sources: tests/vectors/README.keys.md.
 */
#include "config.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "err.h"
#include "limits.h"
#include "sshkey.h"

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2;

	g_assert_cmpuint(n, <=, max);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		g_assert_true(sscanf(hex + 2 * i, "%2x", &v) == 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* RFC 8032 §7.1, TEST 1-3: secret key (seed), public key, message, signature. */
static const struct {
	const char *seed, *pub, *msg, *sig;
} ed_vectors[] = {
	{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	 "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
	{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	 "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	 "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	 "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	 "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

static struct buf *must_buf(void)
{
	struct buf *b = buf_new(0);

	g_assert_nonnull(b);
	return b;
}

/* The OpenSSH private fields of an Ed25519 key: string type, string pk, string seed||pk. */
static struct sshkey *ed_private(const uint8_t seed[32], const uint8_t pk[32])
{
	struct buf *b = must_buf();
	struct sshkey *k = NULL;
	uint8_t sk[64];

	memcpy(sk, seed, 32);
	memcpy(sk + 32, pk, 32);
	g_assert_cmpint(buf_put_cstring(b, "ssh-ed25519"), ==, 0);
	g_assert_cmpint(buf_put_string(b, pk, 32), ==, 0);
	g_assert_cmpint(buf_put_string(b, sk, 64), ==, 0);
	g_assert_cmpint(sshkey_private_from_buf(b, &k), ==, 0);
	g_assert_cmpint(buf_expect_end(b), ==, 0);
	buf_free(b);
	return k;
}

static void test_ed25519_rfc8032(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ed_vectors); i++) {
		uint8_t seed[32], pk[32], msg[8], sig[64];
		size_t msglen = unhex(ed_vectors[i].msg, msg, sizeof(msg));
		struct buf *blob = must_buf(), *want = must_buf(), *got = must_buf();
		struct sshkey *priv, *pub = NULL;

		unhex(ed_vectors[i].seed, seed, sizeof(seed));
		unhex(ed_vectors[i].pub, pk, sizeof(pk));
		unhex(ed_vectors[i].sig, sig, sizeof(sig));
		priv = ed_private(seed, pk);
		g_assert_true(sshkey_has_private(priv));
		g_assert_cmpstr(sshkey_type_name(priv), ==, "ssh-ed25519");
		g_assert_cmpuint(sshkey_bits(priv), ==, 256);
		g_assert_true(sshkey_matches_pubkey_alg(priv, "ssh-ed25519"));
		g_assert_false(sshkey_matches_pubkey_alg(priv, "ssh-ed25519-cert-v01@openssh.com"));
		g_assert_false(sshkey_matches_pubkey_alg(priv, "rsa-sha2-256"));
		/* RFC 8709 §4: string "ssh-ed25519", string key. */
		g_assert_cmpint(buf_put_cstring(want, "ssh-ed25519"), ==, 0);
		g_assert_cmpint(buf_put_string(want, pk, 32), ==, 0);
		g_assert_cmpint(sshkey_to_blob(priv, blob), ==, 0);
		g_assert_cmpmem(buf_peek(blob), buf_len(blob), buf_peek(want), buf_len(want));
		/* RFC 8709 §6: string "ssh-ed25519", string signature (64 octets). */
		buf_reset(want);
		g_assert_cmpint(buf_put_cstring(want, "ssh-ed25519"), ==, 0);
		g_assert_cmpint(buf_put_string(want, sig, 64), ==, 0);
		g_assert_cmpint(sshkey_sign(priv, NULL, msg, msglen, got), ==, 0);
		g_assert_cmpmem(buf_peek(got), buf_len(got), buf_peek(want), buf_len(want));
		g_assert_cmpint(sshkey_from_blob(buf_peek(blob), buf_len(blob), &pub), ==, 0);
		g_assert_false(sshkey_has_private(pub));
		g_assert_cmpint(sshkey_equal_public(pub, priv), ==, 1);
		g_assert_cmpint(sshkey_verify(pub, buf_peek(want), buf_len(want), msg, msglen, NULL), ==, 0);
		g_assert_cmpint(sshkey_verify(pub, buf_peek(want), buf_len(want), msg, msglen, "ssh-ed25519"), ==, 0);
		g_assert_cmpint(sshkey_verify(pub, buf_peek(want), buf_len(want), msg, msglen, "rsa-sha2-256"), ==,
				ERR_SIGNATURE_INVALID);
		/* A public key cannot sign. */
		g_assert_cmpint(sshkey_sign(pub, NULL, msg, msglen, got), ==, ERR_INVALID_ARGUMENT);
		/* Any flipped bit in the signature or the message fails. */
		for (size_t bit = 0; bit < 64 * 8; bit += 37) {
			uint8_t *p = buf_mutable_peek(want);

			p[buf_len(want) - 64 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
			g_assert_cmpint(sshkey_verify(pub, buf_peek(want), buf_len(want), msg, msglen, NULL), ==,
					ERR_SIGNATURE_INVALID);
			p[buf_len(want) - 64 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		g_assert_cmpint(sshkey_verify(pub, buf_peek(want), buf_len(want), (const uint8_t *)"x", 1, NULL), ==,
				ERR_SIGNATURE_INVALID);
		sshkey_free(pub);
		sshkey_free(priv);
		buf_free(blob);
		buf_free(want);
		buf_free(got);
	}
}

/* Every truncation of a blob fails; one trailing byte fails. */
static void check_blob_strict(const uint8_t *blob, size_t len)
{
	struct sshkey *k = NULL;
	uint8_t *ext = g_malloc(len + 1);

	for (size_t cut = 0; cut < len; cut++) {
		g_assert_cmpint(sshkey_from_blob(blob, cut, &k), <, 0);
		g_assert_null(k);
	}
	memcpy(ext, blob, len);
	ext[len] = 0;
	g_assert_cmpint(sshkey_from_blob(ext, len + 1, &k), ==, ERR_TRAILING_DATA);
	g_assert_null(k);
	g_assert_cmpint(sshkey_from_blob(blob, len, &k), ==, 0);
	sshkey_free(k);
	g_free(ext);
}

/* Every truncation of a signature fails and a trailing byte fails. */
static void check_sig_strict(const struct sshkey *k, const uint8_t *sig, size_t len, const uint8_t *data,
			     size_t dlen)
{
	uint8_t *ext = g_malloc(len + 1);

	for (size_t cut = 0; cut < len; cut++)
		g_assert_cmpint(sshkey_verify(k, sig, cut, data, dlen, NULL), <, 0);
	memcpy(ext, sig, len);
	ext[len] = 0;
	g_assert_cmpint(sshkey_verify(k, ext, len + 1, data, dlen, NULL), ==, ERR_TRAILING_DATA);
	g_assert_cmpint(sshkey_verify(k, sig, len, data, dlen, NULL), ==, 0);
	g_free(ext);
}

static void test_ed25519_blob_strict(void)
{
	uint8_t seed[32], pk[32];
	struct sshkey *k, *pub = NULL;
	struct buf *blob = must_buf(), *sig = must_buf(), *bad = must_buf();

	unhex(ed_vectors[1].seed, seed, sizeof(seed));
	unhex(ed_vectors[1].pub, pk, sizeof(pk));
	k = ed_private(seed, pk);
	g_assert_cmpint(sshkey_to_blob(k, blob), ==, 0);
	check_blob_strict(buf_peek(blob), buf_len(blob));
	g_assert_cmpint(sshkey_sign(k, "ssh-ed25519", (const uint8_t *)"abc", 3, sig), ==, 0);
	check_sig_strict(k, buf_peek(sig), buf_len(sig), (const uint8_t *)"abc", 3);
	/* A 31-byte key and an unknown type name. */
	g_assert_cmpint(buf_put_cstring(bad, "ssh-ed25519"), ==, 0);
	g_assert_cmpint(buf_put_string(bad, pk, 31), ==, 0);
	g_assert_cmpint(sshkey_from_blob(buf_peek(bad), buf_len(bad), &pub), ==, ERR_INVALID_FORMAT);
	buf_reset(bad);
	g_assert_cmpint(buf_put_cstring(bad, "ssh-ed448"), ==, 0);
	g_assert_cmpint(buf_put_string(bad, pk, 32), ==, 0);
	g_assert_cmpint(sshkey_from_blob(buf_peek(bad), buf_len(bad), &pub), ==, ERR_KEY_TYPE_UNKNOWN);
	/* A private half that does not match its public half. */
	buf_reset(bad);
	{
		uint8_t sk[64];
		struct sshkey *mk = NULL;

		memcpy(sk, seed, 32);
		memcpy(sk + 32, pk, 32);
		sk[0] ^= 1;
		g_assert_cmpint(buf_put_cstring(bad, "ssh-ed25519"), ==, 0);
		g_assert_cmpint(buf_put_string(bad, pk, 32), ==, 0);
		g_assert_cmpint(buf_put_string(bad, sk, 64), ==, 0);
		g_assert_cmpint(sshkey_private_from_buf(bad, &mk), ==, ERR_INVALID_FORMAT);
		g_assert_null(mk);
	}
	/* A signature of the wrong length. */
	buf_reset(bad);
	g_assert_cmpint(buf_put_cstring(bad, "ssh-ed25519"), ==, 0);
	g_assert_cmpint(buf_put_string(bad, seed, 32), ==, 0);
	g_assert_cmpint(sshkey_verify(k, buf_peek(bad), buf_len(bad), (const uint8_t *)"abc", 3, NULL), ==,
			ERR_SIGNATURE_INVALID);
	sshkey_free(k);
	buf_free(blob);
	buf_free(sig);
	buf_free(bad);
}

static struct sshkey *gen_key(const char *type, const char *arg)
{
	EVP_PKEY *pkey;
	struct sshkey *k = NULL;

	if (strcmp(type, "RSA") == 0)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)strtoul(arg, NULL, 10));
	else if (strcmp(type, "EC") == 0)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", arg);
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	g_assert_nonnull(pkey);
	g_assert_cmpint(sshkey_from_evp(pkey, true, &k), ==, 0);
	EVP_PKEY_free(pkey);
	return k;
}

static const struct {
	const char *type, *arg, *name;
	const char *algs[4];
} gen_cases[] = {
	{"ED25519", NULL, "ssh-ed25519", {"ssh-ed25519"}},
	{"EC", "P-256", "ecdsa-sha2-nistp256", {"ecdsa-sha2-nistp256"}},
	{"EC", "P-384", "ecdsa-sha2-nistp384", {"ecdsa-sha2-nistp384"}},
	{"EC", "P-521", "ecdsa-sha2-nistp521", {"ecdsa-sha2-nistp521"}},
	{"RSA", "2048", "ssh-rsa", {"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"}},
};

static void test_sign_verify_all_types(void)
{
	static const uint8_t msg[] = "session identifier and userauth request";

	for (size_t i = 0; i < G_N_ELEMENTS(gen_cases); i++) {
		struct sshkey *k = gen_key(gen_cases[i].type, gen_cases[i].arg), *pub = NULL;
		struct buf *blob = must_buf();
		char *fp = NULL;

		g_assert_cmpstr(sshkey_type_name(k), ==, gen_cases[i].name);
		g_assert_cmpint(sshkey_to_blob(k, blob), ==, 0);
		check_blob_strict(buf_peek(blob), buf_len(blob));
		g_assert_cmpint(sshkey_from_blob(buf_peek(blob), buf_len(blob), &pub), ==, 0);
		g_assert_cmpint(sshkey_fingerprint(pub, &fp), ==, 0);
		g_assert_true(g_str_has_prefix(fp, "SHA256:"));
		g_assert_cmpuint(strlen(fp), ==, 7 + 43);
		free(fp);
		for (size_t a = 0; a < G_N_ELEMENTS(gen_cases[i].algs) && gen_cases[i].algs[a] != NULL; a++) {
			const char *alg = gen_cases[i].algs[a];
			struct buf *sig = must_buf();
			char *name = NULL;
			bool legacy = strcmp(alg, "ssh-rsa") == 0;

			g_assert_cmpint(sshkey_sign(k, alg, msg, sizeof(msg), sig), ==, 0);
			g_assert_cmpint(sshkey_sig_alg_name(buf_peek(sig), buf_len(sig), &name), ==, 0);
			g_assert_cmpstr(name, ==, alg);
			free(name);
			g_assert_cmpint(sshkey_verify(pub, buf_peek(sig), buf_len(sig), msg, sizeof(msg), alg), ==, 0);
			/* RFC 8332 §3 / HELPERS: SHA-1 only when the caller names it. */
			g_assert_cmpint(sshkey_verify(pub, buf_peek(sig), buf_len(sig), msg, sizeof(msg), NULL), ==,
					legacy ? ERR_SIGNATURE_INVALID : 0);
			g_assert_cmpint(sshkey_verify(pub, buf_peek(sig), buf_len(sig), msg, sizeof(msg) - 1, alg), ==,
					ERR_SIGNATURE_INVALID);
			if (!legacy && gen_cases[i].arg != NULL && strcmp(gen_cases[i].type, "RSA") != 0)
				check_sig_strict(pub, buf_peek(sig), buf_len(sig), msg, sizeof(msg));
			buf_free(sig);
		}
		/* A signature algorithm of another key type is refused. */
		{
			struct buf *sig = must_buf();

			g_assert_cmpint(sshkey_sign(k, strcmp(gen_cases[i].type, "RSA") == 0 ? "ssh-ed25519" : "rsa-sha2-256",
						    msg, sizeof(msg), sig),
					==, ERR_NO_MATCH);
			buf_free(sig);
		}
		sshkey_free(pub);
		sshkey_free(k);
		buf_free(blob);
	}
}

/* RFC 5656 §3.1: the curve name must match; Q must be on the curve. */
static void test_ecdsa_blob_checks(void)
{
	struct sshkey *k = gen_key("EC", "P-256"), *pub = NULL;
	struct buf *blob = must_buf(), *bad = must_buf(), *in;
	const uint8_t *q;
	size_t qlen;
	char *type = NULL, *curve = NULL;
	uint8_t qq[65];

	g_assert_cmpint(sshkey_to_blob(k, blob), ==, 0);
	in = buf_fromb(blob);
	g_assert_cmpint(buf_get_cstring(in, &type, NULL), ==, 0);
	g_assert_cmpint(buf_get_cstring(in, &curve, NULL), ==, 0);
	g_assert_cmpstr(curve, ==, "nistp256");
	g_assert_cmpint(buf_get_string_direct(in, &q, &qlen), ==, 0);
	g_assert_cmpuint(qlen, ==, 65);
	memcpy(qq, q, 65);
	/* Wrong curve identifier. */
	g_assert_cmpint(buf_put_cstring(bad, "ecdsa-sha2-nistp256"), ==, 0);
	g_assert_cmpint(buf_put_cstring(bad, "nistp384"), ==, 0);
	g_assert_cmpint(buf_put_string(bad, qq, 65), ==, 0);
	g_assert_cmpint(sshkey_from_blob(buf_peek(bad), buf_len(bad), &pub), ==, ERR_INVALID_FORMAT);
	/* A point off the curve. */
	buf_reset(bad);
	qq[64] ^= 1;
	g_assert_cmpint(buf_put_cstring(bad, "ecdsa-sha2-nistp256"), ==, 0);
	g_assert_cmpint(buf_put_cstring(bad, "nistp256"), ==, 0);
	g_assert_cmpint(buf_put_string(bad, qq, 65), ==, 0);
	g_assert_cmpint(sshkey_from_blob(buf_peek(bad), buf_len(bad), &pub), ==, ERR_INVALID_FORMAT);
	g_assert_null(pub);
	/* A compressed point (we accept only the uncompressed form OpenSSH sends). */
	buf_reset(bad);
	qq[64] ^= 1;
	qq[0] = 0x02 | (qq[64] & 1);
	g_assert_cmpint(buf_put_cstring(bad, "ecdsa-sha2-nistp256"), ==, 0);
	g_assert_cmpint(buf_put_cstring(bad, "nistp256"), ==, 0);
	g_assert_cmpint(buf_put_string(bad, qq, 33), ==, 0);
	g_assert_cmpint(sshkey_from_blob(buf_peek(bad), buf_len(bad), &pub), ==, ERR_INVALID_FORMAT);
	free(type);
	free(curve);
	buf_free(in);
	buf_free(blob);
	buf_free(bad);
	sshkey_free(k);
}

/* RSA keys below OpenSSH's RequiredRSASize default (1024 bits) are refused. */
static void test_rsa_min_size(void)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)768);
	struct sshkey *k = NULL;

	g_assert_nonnull(pkey);
	g_assert_cmpint(sshkey_from_evp(pkey, true, &k), ==, ERR_KEY_TYPE_UNKNOWN);
	g_assert_null(k);
	EVP_PKEY_free(pkey);
}

static void test_sig_alg_for(void)
{
	g_assert_cmpstr(sshkey_sig_alg_for("rsa-sha2-512-cert-v01@openssh.com"), ==, "rsa-sha2-512");
	g_assert_cmpstr(sshkey_sig_alg_for("ssh-ed25519-cert-v01@openssh.com"), ==, "ssh-ed25519");
	g_assert_cmpstr(sshkey_sig_alg_for("ecdsa-sha2-nistp384"), ==, "ecdsa-sha2-nistp384");
	g_assert_null(sshkey_sig_alg_for("ssh-dss"));
	g_assert_null(sshkey_sig_alg_for(NULL));
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sshkey/ed25519-rfc8032", test_ed25519_rfc8032);
	g_test_add_func("/sshkey/ed25519-blob-strict", test_ed25519_blob_strict);
	g_test_add_func("/sshkey/sign-verify-all-types", test_sign_verify_all_types);
	g_test_add_func("/sshkey/ecdsa-blob-checks", test_ecdsa_blob_checks);
	g_test_add_func("/sshkey/rsa-min-size", test_rsa_min_size);
	g_test_add_func("/sshkey/sig-alg-for", test_sig_alg_for);
	return g_test_run();
}
