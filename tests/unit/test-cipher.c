/*
 * test-cipher.c - known answers for the transport's symmetric primitives
 * (src/cipher.c) and key derivation (src/kex.c kex_derive). Sources:
 *  - HMAC-SHA-256/512: RFC 4231 §4.2 and §4.3 (test cases 1 and 2).
 *  - AES-GCM: McGrew & Viega, "The Galois/Counter Mode of Operation",
 *    test case 4 (AES-128, 20-byte AAD), as published with NIST SP 800-38D.
 *  - AES-CTR: NIST SP 800-38A §F.5.1 (CTR-AES128.Encrypt, blocks 1-2).
 *  - chacha20-poly1305@openssh.com: tests/vectors/gen-chachapoly.py, an
 *    independent pure-Python implementation of OpenSSH's
 *    PROTOCOL.chacha20poly1305 (itself checked against RFC 8439 vectors).
 *  - X25519: RFC 7748 §5.2 (first vector) and §6.1 (Diffie-Hellman).
 *  - Key derivation: RFC 4253 §7.2 computed independently with Python
 *    hashlib (tests/vectors/README.transport.md gives the script).
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "cipher.h"
#include "err.h"
#include "kex.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;

	g_assert_cmpuint(n, <=, cap);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		g_assert_cmpint(sscanf(hex + 2 * i, "%2x", &v), ==, 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void assert_hex(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t want[512];
	size_t wn = unhex(hex, want, sizeof(want));

	g_assert_cmpuint(n, ==, wn);
	g_assert_cmpmem(got, n, want, wn);
}

/* mac_compute MACs uint32 seq || data, so the seq carries the first 4 message bytes. */
static void hmac_case(const char *mac, const uint8_t *key, size_t keylen, const char *msg, const char *want)
{
	const struct mac_alg *alg = mac_alg_by_name(mac);
	struct mac_alg custom;
	struct mac_ctx *m = NULL;
	uint8_t k[64] = {0}, out[64];
	uint32_t seq;

	g_assert_nonnull(alg);
	custom = *alg;
	custom.key_len = keylen; /* RFC 4231 keys are not the SSH key size */
	memcpy(k, key, keylen);
	g_assert_cmpuint(strlen(msg), >=, 4);
	seq = (uint32_t)(uint8_t)msg[0] << 24 | (uint32_t)(uint8_t)msg[1] << 16 | (uint32_t)(uint8_t)msg[2] << 8 |
	      (uint8_t)msg[3];
	g_assert_cmpint(mac_ctx_new(&custom, k, &m), ==, 0);
	g_assert_cmpint(mac_compute(m, seq, (const uint8_t *)msg + 4, strlen(msg) - 4, out), ==, 0);
	assert_hex(out, custom.mac_len, want);
	mac_ctx_free(m);
}

static void test_hmac_rfc4231(void)
{
	uint8_t k1[20];

	memset(k1, 0x0b, sizeof(k1));
	hmac_case("hmac-sha2-256", k1, 20, "Hi There",
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	hmac_case("hmac-sha2-512", k1, 20, "Hi There",
		  "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
		  "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854");
	hmac_case("hmac-sha2-256-etm@openssh.com", (const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	hmac_case("hmac-sha2-512-etm@openssh.com", (const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
		  "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
		  "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

static void test_aes_gcm(void)
{
	const struct cipher_alg *alg = cipher_alg_by_name("aes128-gcm@openssh.com");
	struct cipher_ctx *enc = NULL, *dec = NULL;
	uint8_t key[16], iv[12], aad[20], data[64], orig[64], tag[16];
	size_t n;

	unhex("feffe9928665731c6d6a8f9467308308", key, sizeof(key));
	unhex("cafebabefacedbaddecaf888", iv, sizeof(iv));
	unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2", aad, sizeof(aad));
	n = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
		  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
		  data, sizeof(data));
	memcpy(orig, data, n);
	g_assert_cmpint(cipher_ctx_new(alg, true, key, iv, &enc), ==, 0);
	g_assert_cmpint(cipher_ctx_new(alg, false, key, iv, &dec), ==, 0);
	g_assert_cmpint(cipher_gcm_seal(enc, aad, sizeof(aad), data, n, tag), ==, 0);
	assert_hex(data, n,
		   "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
		   "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091");
	assert_hex(tag, 16, "5bc94fbc3221a5db94fae95ae7121a47");
	/* A wrong tag is refused and no plaintext is released. */
	tag[0] ^= 1;
	g_assert_cmpint(cipher_gcm_open(dec, aad, sizeof(aad), data, n, tag), ==, ERR_MAC_INVALID);
	cipher_ctx_free(dec);
	dec = NULL;
	g_assert_cmpint(cipher_ctx_new(alg, false, key, iv, &dec), ==, 0);
	tag[0] ^= 1;
	unhex("42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	      "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	      data, sizeof(data));
	g_assert_cmpint(cipher_gcm_open(dec, aad, sizeof(aad), data, n, tag), ==, 0);
	g_assert_cmpmem(data, n, orig, n);
	cipher_ctx_free(enc);
	cipher_ctx_free(dec);
}

static void test_aes_ctr(void)
{
	const struct cipher_alg *alg = cipher_alg_by_name("aes128-ctr");
	struct cipher_ctx *c = NULL;
	uint8_t key[16], iv[16], data[32];

	unhex("2b7e151628aed2a6abf7158809cf4f3c", key, sizeof(key));
	unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", iv, sizeof(iv));
	unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51", data, sizeof(data));
	g_assert_cmpint(cipher_ctx_new(alg, true, key, iv, &c), ==, 0);
	/* The stream state carries over between calls, as between packets. */
	g_assert_cmpint(cipher_ctr_crypt(c, data, 16), ==, 0);
	g_assert_cmpint(cipher_ctr_crypt(c, data + 16, 16), ==, 0);
	assert_hex(data, 32, "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff");
	cipher_ctx_free(c);
}

static void test_chachapoly(void)
{
	const struct cipher_alg *alg = cipher_alg_by_name("chacha20-poly1305@openssh.com");
	struct cipher_ctx *enc = NULL, *dec = NULL;
	uint8_t key[64], pkt[16], orig[16], tag[16];
	uint32_t len;

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	unhex("0000000c045e68656c6c6f2100000000", pkt, sizeof(pkt));
	memcpy(orig, pkt, sizeof(pkt));
	g_assert_cmpint(cipher_ctx_new(alg, true, key, NULL, &enc), ==, 0);
	g_assert_cmpint(cipher_ctx_new(alg, false, key, NULL, &dec), ==, 0);
	g_assert_cmpint(cipher_chachapoly_seal(enc, 7, pkt, sizeof(pkt), tag), ==, 0);
	assert_hex(pkt, 16, "a39afca62c187d2622ef457f6c6dbbf0");
	assert_hex(tag, 16, "792853adbedcd2c76184862e3c8e19d7");
	g_assert_cmpint(cipher_chachapoly_decrypt_length(dec, 7, pkt, &len), ==, 0);
	g_assert_cmpuint(len, ==, 12);
	/* Wrong sequence number or a flipped bit: refused before any decryption. */
	g_assert_cmpint(cipher_chachapoly_open(dec, 8, pkt, sizeof(pkt), tag), ==, ERR_MAC_INVALID);
	pkt[9] ^= 0x40;
	g_assert_cmpint(cipher_chachapoly_open(dec, 7, pkt, sizeof(pkt), tag), ==, ERR_MAC_INVALID);
	pkt[9] ^= 0x40;
	assert_hex(pkt, 16, "a39afca62c187d2622ef457f6c6dbbf0");
	g_assert_cmpint(cipher_chachapoly_open(dec, 7, pkt, sizeof(pkt), tag), ==, 0);
	g_assert_cmpmem(pkt, 16, orig, 16);
	cipher_ctx_free(enc);
	cipher_ctx_free(dec);
}

static void x25519(const char *priv_hex, const char *pub_hex, const char *want)
{
	uint8_t priv[32], pub[32], out[32];
	size_t outlen = sizeof(out);
	EVP_PKEY *a, *b;
	EVP_PKEY_CTX *ctx;

	unhex(priv_hex, priv, sizeof(priv));
	unhex(pub_hex, pub, sizeof(pub));
	a = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	b = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32);
	g_assert_nonnull(a);
	g_assert_nonnull(b);
	ctx = EVP_PKEY_CTX_new(a, NULL);
	g_assert_cmpint(EVP_PKEY_derive_init(ctx), ==, 1);
	g_assert_cmpint(EVP_PKEY_derive_set_peer(ctx, b), ==, 1);
	g_assert_cmpint(EVP_PKEY_derive(ctx, out, &outlen), ==, 1);
	assert_hex(out, outlen, want);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
}

static void test_x25519_rfc7748(void)
{
	/* §5.2 first test vector */
	x25519("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
	       "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
	       "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	/* §6.1: Alice's private key with Bob's public key, and the reverse. */
	x25519("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
	       "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f",
	       "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	x25519("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
	       "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
	       "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

static void test_curve25519_method_agrees(void)
{
	/* Two instances of our method agree on K (each side's finish on the other's value). */
	const struct kex_method *m = kex_method_by_name("curve25519-sha256");
	void *sa = NULL, *sb = NULL;
	struct buf *va = buf_new(0), *vb = buf_new(0), *ka = buf_new(0), *kb = buf_new(0);
	uint8_t zero[32] = {0};

	g_assert_nonnull(m);
	g_assert_cmpint(m->client_init(m, &sa, va), ==, 0);
	g_assert_cmpint(m->client_init(m, &sb, vb), ==, 0);
	g_assert_cmpuint(buf_len(va), ==, 32);
	g_assert_cmpint(m->client_finish(m, sa, buf_peek(vb), buf_len(vb), ka), ==, 0);
	g_assert_cmpint(m->client_finish(m, sb, buf_peek(va), buf_len(va), kb), ==, 0);
	g_assert_cmpmem(buf_peek(ka), buf_len(ka), buf_peek(kb), buf_len(kb));
	/* RFC 8731 §3: wrong-length and all-zero (low-order) peer values are rejected. */
	g_assert_cmpint(m->client_finish(m, sa, buf_peek(vb), 31, ka), ==, ERR_PROTOCOL);
	g_assert_cmpint(m->client_finish(m, sa, zero, 32, ka), !=, 0);
	m->free_state(sa);
	m->free_state(sb);
	buf_free(va);
	buf_free(vb);
	buf_free(ka);
	buf_free(kb);
}

static void test_kdf(void)
{
	uint8_t k[36] = {0, 0, 0, 0x20}, h[32], sid[32], out[80];
	size_t hl;

	for (int i = 0; i < 32; i++)
		k[4 + i] = (uint8_t)(i + 1);
	g_assert_cmpint(digest_oneshot("SHA256", (const uint8_t *)"H", 1, h, &hl), ==, 0);
	g_assert_cmpint(digest_oneshot("SHA256", (const uint8_t *)"S", 1, sid, &hl), ==, 0);
	/* 80 bytes: K1 || K2 || part of K3 (RFC 4253 §7.2 extension rule). */
	g_assert_cmpint(kex_derive("SHA256", k, sizeof(k), h, 32, sid, 32, 'C', out, sizeof(out)), ==, 0);
	assert_hex(out, 80,
		   "05175c66284ec67c41fe59504dd7bbcc3ce145715d7fa6d7052c0f5b832d3e98"
		   "a74f7421a176f058a1523a1e7507e0321f035585e7dd8433ebb78d5bd9e811a8"
		   "80217fad819ae957ab17b75a266657c0");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cipher/hmac-rfc4231", test_hmac_rfc4231);
	g_test_add_func("/cipher/aes-gcm-nist", test_aes_gcm);
	g_test_add_func("/cipher/aes-ctr-sp800-38a", test_aes_ctr);
	g_test_add_func("/cipher/chacha20-poly1305-openssh", test_chachapoly);
	g_test_add_func("/kex/x25519-rfc7748", test_x25519_rfc7748);
	g_test_add_func("/kex/curve25519-method", test_curve25519_method_agrees);
	g_test_add_func("/kex/derive-rfc4253", test_kdf);
	return g_test_run();
}
