/*
 * kex_hybrid.h - the post-quantum hybrid key exchange methods, client side
 * (plus the server side for in-memory tests):
 *
 *   mlkem768x25519-sha256              draft-ietf-sshm-mlkem-hybrid-kex
 *   sntrup761x25519-sha512             draft-josefsson-ntruprime-ssh
 *   sntrup761x25519-sha512@openssh.com OpenSSH's original name (same method)
 *
 * The client sends C_INIT = kem_pk || x25519_pk in SSH_MSG_KEX_HYBRID_INIT
 * (30, the ECDH_INIT number); the server answers S_REPLY = kem_ct ||
 * x25519_server_pk in SSH_MSG_KEX_HYBRID_REPLY (31). Both are SSH strings in
 * the exchange hash. The shared secret is K = HASH(kem_ss || x25519_ss), with
 * HASH = SHA-256 / SHA-512, and is encoded as an SSH string (not an mpint)
 * in the exchange hash and key derivation.
 *
 * The functions produce and consume the string bodies; the transport wraps
 * them. The hook shapes match the transport's kex method table (kex.h).
 */
#ifndef SFTPFS_KEX_HYBRID_H
#define SFTPFS_KEX_HYBRID_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct kex_hybrid_alg;
struct kex_hybrid_state;

extern const struct kex_hybrid_alg kex_hybrid_mlkem768x25519_sha256;
extern const struct kex_hybrid_alg kex_hybrid_sntrup761x25519_sha512;

/* The method for an SSH kex name, or NULL (covers the @openssh.com alias). */
const struct kex_hybrid_alg *kex_hybrid_by_name(const char *name);
/* OpenSSL digest name of the method's HASH, also used for H and key derivation. */
const char *kex_hybrid_hash_name(const struct kex_hybrid_alg *alg);
/* Exact lengths of C_INIT and S_REPLY for the method. */
size_t kex_hybrid_client_pub_len(const struct kex_hybrid_alg *alg);
size_t kex_hybrid_server_reply_len(const struct kex_hybrid_alg *alg);

/*
 * Generates the KEM and X25519 key pairs, appends C_INIT to client_pub and
 * returns the private state in *state (free with kex_hybrid_state_free).
 */
int kex_hybrid_client_init(const struct kex_hybrid_alg *alg, struct kex_hybrid_state **state,
                           struct buf *client_pub) MUST_CHECK;

/*
 * Consumes S_REPLY (len bytes at reply): ERR_INVALID_FORMAT unless len is
 * exactly the method's reply length, ERR_PROTOCOL for an X25519 value whose
 * shared secret is all zero (RFC 8731 §3). Appends string(K) to shared_secret.
 * The state is not consumed (a failed reply leaves it usable).
 */
int kex_hybrid_client_finish(const struct kex_hybrid_state *state, const uint8_t *reply, size_t len,
                             struct buf *shared_secret) MUST_CHECK;

/* Wipes and frees; NULL allowed. */
void kex_hybrid_state_free(struct kex_hybrid_state *state);

/*
 * The same operations with the hook signatures of the transport's key
 * exchange table (kex.h: kex_client_init_fn, kex_client_finish_fn,
 * kex_free_fn); the table row's param is a struct kex_hybrid_alg.
 */
struct kex_method;
int kex_hybrid_method_init(const struct kex_method *m, void **state, struct buf *client_value) MUST_CHECK;
int kex_hybrid_method_finish(const struct kex_method *m, void *state, const uint8_t *server_value, size_t len,
                             struct buf *shared_secret) MUST_CHECK;
void kex_hybrid_method_free(void *state);

/*
 * Server side for tests and in-memory key exchange: encapsulates against
 * C_INIT, appends S_REPLY to reply and string(K) to shared_secret.
 */
int kex_hybrid_server_reply(const struct kex_hybrid_alg *alg, const uint8_t *client_pub, size_t len,
                            struct buf *reply, struct buf *shared_secret) MUST_CHECK;

#endif
