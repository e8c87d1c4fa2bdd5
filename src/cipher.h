/*
 * cipher.h - the SSH transport's symmetric algorithms: packet ciphers
 * (chacha20-poly1305@openssh.com, AES-GCM per RFC 5647 as OpenSSH uses it,
 * AES-CTR per RFC 4344) and MACs (HMAC-SHA2 per RFC 6668, their
 * -etm@openssh.com variants, legacy hmac-sha1 per RFC 4253 §6.4).
 *
 * These are descriptions plus small primitives over OpenSSL EVP; the packet
 * framing that uses them lives in packet.c. Every context wipes its keys on
 * free.
 */
#ifndef SFTPFS_CIPHER_H
#define SFTPFS_CIPHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum cipher_kind {
	CIPHER_NONE,       /* before the first NEWKEYS */
	CIPHER_CHACHAPOLY, /* OpenSSH PROTOCOL.chacha20poly1305 */
	CIPHER_AES_GCM,    /* RFC 5647 §7, length in clear as AAD (OpenSSH) */
	CIPHER_AES_CTR,    /* RFC 4344 §4 */
};

struct cipher_alg {
	const char *name;
	enum cipher_kind kind;
	size_t key_len;    /* bytes of encryption key derived (RFC 4253 §7.2) */
	size_t iv_len;     /* bytes of IV derived */
	size_t block_size; /* padding alignment (at least 8) */
	size_t tag_len;    /* AEAD tag; 0 for non-AEAD ciphers */
	const char *evp_name;
};

struct mac_alg {
	const char *name;
	const char *digest; /* OpenSSL digest name */
	size_t key_len;
	size_t mac_len;
	bool etm; /* encrypt-then-MAC (OpenSSH PROTOCOL §1.5) */
};

/* NULL when the name is not one we implement. */
const struct cipher_alg *cipher_alg_by_name(const char *name);
const struct mac_alg *mac_alg_by_name(const char *name);
/* The "none" cipher used before the first key exchange. */
const struct cipher_alg *cipher_alg_none(void);

/* One direction's cipher state. */
struct cipher_ctx;
int cipher_ctx_new(const struct cipher_alg *alg, bool encrypt, const uint8_t *key,
		   const uint8_t *iv, struct cipher_ctx **out) MUST_CHECK;
void cipher_ctx_free(struct cipher_ctx *c);
const struct cipher_alg *cipher_ctx_alg(const struct cipher_ctx *c);

/* AES-CTR: transform n bytes in place (stream state carries over). */
int cipher_ctr_crypt(struct cipher_ctx *c, uint8_t *data, size_t n) MUST_CHECK;

/*
 * AES-GCM: seal or open one packet in place. aad is the 4-byte packet length
 * in SSH (RFC 5647 §7.3; other lengths serve known-answer tests); data/n the
 * rest of the packet; tag 16 bytes (written when sealing, checked when
 * opening: ERR_MAC_INVALID, and the data is wiped). The invocation counter
 * (RFC 5647 §7.1) advances after every packet.
 */
int cipher_gcm_seal(struct cipher_ctx *c, const uint8_t *aad, size_t aadlen, uint8_t *data, size_t n,
		    uint8_t tag[static 16]) MUST_CHECK;
int cipher_gcm_open(struct cipher_ctx *c, const uint8_t *aad, size_t aadlen, uint8_t *data, size_t n,
		    const uint8_t tag[static 16]) MUST_CHECK;

/*
 * chacha20-poly1305@openssh.com. The 64-byte key is K_2 (payload) || K_1
 * (length). decrypt_length reads the 4 encrypted length bytes of packet seq
 * without consuming anything; seal encrypts len bytes at pkt (4-byte length
 * then the rest) in place and writes the tag; open checks the tag over the
 * ciphertext in constant time first and only then decrypts in place.
 */
int cipher_chachapoly_decrypt_length(struct cipher_ctx *c, uint32_t seq, const uint8_t enc[static 4],
				     uint32_t *len) MUST_CHECK;
int cipher_chachapoly_seal(struct cipher_ctx *c, uint32_t seq, uint8_t *pkt, size_t len,
			   uint8_t tag[static 16]) MUST_CHECK;
int cipher_chachapoly_open(struct cipher_ctx *c, uint32_t seq, uint8_t *pkt, size_t len,
			   const uint8_t tag[static 16]) MUST_CHECK;

/* One direction's MAC state. */
struct mac_ctx;
int mac_ctx_new(const struct mac_alg *alg, const uint8_t *key, struct mac_ctx **out) MUST_CHECK;
void mac_ctx_free(struct mac_ctx *m);
const struct mac_alg *mac_ctx_alg(const struct mac_ctx *m);
/* RFC 4253 §6.4: mac = MAC(key, uint32 seq || data); out holds mac_len bytes. */
int mac_compute(struct mac_ctx *m, uint32_t seq, const uint8_t *data, size_t n, uint8_t *out) MUST_CHECK;

/* Plain digest helpers over EVP (name like "SHA256"); out must hold 64 bytes. */
int digest_oneshot(const char *name, const uint8_t *data, size_t n, uint8_t *out, size_t *outlen) MUST_CHECK;
size_t digest_len(const char *name);

#endif
