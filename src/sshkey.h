/*
 * sshkey.h - SSH public keys, private keys and OpenSSH certificates.
 *
 * A struct sshkey always holds a public key (RFC 4253 §6.6 blob form) and,
 * when it was loaded from a key file, the private key too. Key types are
 * "ssh-ed25519" (RFC 8709), "ecdsa-sha2-nistp256/384/521" (RFC 5656 §3),
 * "ssh-rsa" (RFC 4253 §6.6, signatures per RFC 8332) and their OpenSSH
 * certificate forms "*-cert-v01@openssh.com" (OpenSSH PROTOCOL.certkeys).
 * Blobs and signatures from peers are untrusted: every decoder here bounds
 * lengths, rejects trailing bytes and returns a negative err.h code.
 * Primitives come from OpenSSL libcrypto (EVP_PKEY).
 *
 * A struct sshkey never changes after it is made, so one key may be used for
 * signing and verifying from several threads at once.
 */
#ifndef SFTPFS_SSHKEY_H
#define SFTPFS_SSHKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct sshkey;

/* RFC 4253 §6.6 public key blob (or a certificate blob); the key is public only. */
int sshkey_from_blob(const uint8_t *blob, size_t len, struct sshkey **out) MUST_CHECK;
/* Appends the blob (not string-wrapped); a certificate appends its certificate blob. */
int sshkey_to_blob(const struct sshkey *k, struct buf *out) MUST_CHECK;
/* Appends the blob of the plain key (for a certificate: the certified key). */
int sshkey_to_plain_blob(const struct sshkey *k, struct buf *out) MUST_CHECK;
/* "ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", "ssh-ed25519-cert-v01@openssh.com", … */
const char *sshkey_type_name(const struct sshkey *k);
/* The type name of the plain key ("ssh-ed25519" for an ed25519 certificate). */
const char *sshkey_plain_type_name(const struct sshkey *k);
/* Key size in bits (256 for ed25519, the curve size for ECDSA, the modulus for RSA). */
unsigned sshkey_bits(const struct sshkey *k);
bool sshkey_has_private(const struct sshkey *k);
bool sshkey_is_cert(const struct sshkey *k);
bool sshkey_is_rsa(const struct sshkey *k);

/*
 * Verify an SSH signature blob (string alg-name, string sig) over data. alg =
 * the algorithm the signature must use ("rsa-sha2-256", "ssh-ed25519", …; a
 * "*-cert-v01@openssh.com" name means its plain signature algorithm) or NULL
 * for any allowed for the key type except legacy SHA-1 "ssh-rsa", which is
 * refused unless alg == "ssh-rsa". A certificate verifies with its certified
 * key. Returns 0, ERR_SIGNATURE_INVALID, or a format error.
 */
int sshkey_verify(const struct sshkey *k, const uint8_t *sig, size_t siglen, const uint8_t *data,
		  size_t datalen, const char *alg) MUST_CHECK;
/*
 * Sign with the private key; appends the signature blob (string alg-name,
 * string sig) to out. alg NULL picks the key type's default ("rsa-sha2-512"
 * for RSA); "ssh-rsa" (SHA-1) only when asked for by name.
 */
int sshkey_sign(const struct sshkey *k, const char *alg, const uint8_t *data, size_t datalen,
		struct buf *out) MUST_CHECK;
/*
 * The conn_identity.sign shape for a key loaded from a file: ctx is the
 * private struct sshkey (possibly with an attached certificate), pub the key
 * offered to the server; pub must be ctx's public key or certificate.
 */
int sshkey_sign_cb(void *ctx, const struct sshkey *pub, const char *alg, const uint8_t *data, size_t datalen,
		   struct buf *out) MUST_CHECK;
/* "SHA256:" + unpadded base64 of SHA-256 of the plain blob, like ssh-keygen -l. Free with free(). */
int sshkey_fingerprint(const struct sshkey *k, char **out) MUST_CHECK;
/* 1 when the (certificate or plain) blobs are equal, else 0; constant time on the blobs. */
int sshkey_equal_public(const struct sshkey *a, const struct sshkey *b);
/* 1 when the plain public keys are equal (a certificate compared by its certified key). */
int sshkey_equal_plain(const struct sshkey *a, const struct sshkey *b);
/* Wipes private parts; NULL is allowed. */
void sshkey_free(struct sshkey *k);
/* A new key holding only the public part of k (a certificate stays a certificate). */
int sshkey_demote(const struct sshkey *k, struct sshkey **out) MUST_CHECK;

/*
 * The signature algorithm to use with a public key algorithm name as offered
 * in userauth or host key negotiation: "rsa-sha2-512-cert-v01@openssh.com" →
 * "rsa-sha2-512", "ssh-ed25519" → "ssh-ed25519". NULL when unknown.
 */
const char *sshkey_sig_alg_for(const char *pubkey_alg);
/* Whether signature algorithm alg (or a public key algorithm naming one) can be used with key k. */
bool sshkey_alg_compatible(const struct sshkey *k, const char *alg);
/*
 * Whether k is a key of negotiated public key algorithm alg (RFC 4253 §7.1
 * server_host_key_algorithms, RFC 4252 §7): "rsa-sha2-512" fits a plain RSA
 * key, "rsa-sha2-512-cert-v01@openssh.com" an RSA certificate only.
 */
bool sshkey_matches_pubkey_alg(const struct sshkey *k, const char *alg);
/* The algorithm name inside a signature blob (borrowed from sig), without verifying. */
int sshkey_sig_alg_name(const uint8_t *sig, size_t siglen, char **out) MUST_CHECK;

/*
 * OpenSSH private key fields (PROTOCOL.key private section, one key:
 * string type, type-specific fields) read from b; the comment is not read.
 * Checks that the private and public halves match.
 */
int sshkey_private_from_buf(struct buf *b, struct sshkey **out) MUST_CHECK;
/* A key from a libcrypto EVP_PKEY (private or public); takes a reference on pkey. */
struct evp_pkey_st;
int sshkey_from_evp(struct evp_pkey_st *pkey, bool with_private, struct sshkey **out) MUST_CHECK;

/* Certificates (OpenSSH PROTOCOL.certkeys). */
enum sshkey_cert_type {
	SSHKEY_CERT_USER = 1,
	SSHKEY_CERT_HOST = 2,
};
/* Certificate fields of k (k must be a certificate; NULL/0 otherwise). */
uint32_t sshkey_cert_type(const struct sshkey *k);
uint64_t sshkey_cert_serial(const struct sshkey *k);
const char *sshkey_cert_key_id(const struct sshkey *k);
size_t sshkey_cert_nprincipals(const struct sshkey *k);
const char *sshkey_cert_principal(const struct sshkey *k, size_t i);
uint64_t sshkey_cert_valid_after(const struct sshkey *k);
uint64_t sshkey_cert_valid_before(const struct sshkey *k);
/* The CA key that signed the certificate; borrowed until k is freed. */
const struct sshkey *sshkey_cert_signature_key(const struct sshkey *k);
/*
 * Checks that certificate k may be used as a host (want_host) or user
 * certificate for name at time now (seconds since the epoch): type, validity
 * interval, a non-empty principal list (current OpenSSH refuses empty ones)
 * containing name — for host certificates principals may be '*'/'?'
 * patterns, as in OpenSSH — and for host certificates no critical options.
 * name NULL skips the principal match. The CA signature itself was verified
 * when the certificate was parsed. Returns 0 or ERR_AUTH_FAILED.
 */
int sshkey_cert_check(const struct sshkey *k, bool want_host, const char *name, uint64_t now) MUST_CHECK;
/*
 * A key that signs with priv's private key and presents certificate cert
 * (a user certificate loaded from "-cert.pub"); the certified key must equal
 * priv's public key, else ERR_KEY_NOT_FOUND.
 */
int sshkey_attach_cert(const struct sshkey *priv, const struct sshkey *cert, struct sshkey **out) MUST_CHECK;

#endif
