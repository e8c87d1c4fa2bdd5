/*
 * transport.h - the SSH-2 transport layer protocol core for a client
 * (RFC 4253): version exchange, key exchange and rekeying, strict KEX,
 * ext-info, the ssh-userauth service request and transport-level messages.
 *
 * It does no I/O: transport_input() consumes bytes read from the peer,
 * transport_output() holds bytes to write, and payloads of the upper layers
 * (message numbers 50 and up) are handed to the on_payload callback in order.
 * Upper layers send with transport_send(); during a key exchange their
 * payloads wait in a queue and leave right after our NEWKEYS (RFC 4253 §7.1).
 * Not thread-safe: one thread at a time drives one transport.
 */
#ifndef SFTPFS_TRANSPORT_H
#define SFTPFS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/*
 * Verify the server's signature sig over the exchange hash h with the host key
 * blob under algorithm alg, then decide whether the key is trusted. Returns 0
 * to continue, or a negative error that aborts the connection.
 */
typedef int (*transport_hostkey_fn)(void *ctx, const char *alg, const uint8_t *key_blob, size_t key_len,
				    const uint8_t *sig, size_t sig_len, const uint8_t *h, size_t hlen);
/* One upper-layer payload (message number >= 50). Return 0, ERR_NOT_SUPPORTED
 * (answered with SSH_MSG_UNIMPLEMENTED), or a fatal error. */
typedef int (*transport_payload_fn)(void *ctx, const uint8_t *payload, size_t len);

struct transport_config {
	const char *kex_algs;     /* resolved comma-separated lists (algs.h) */
	const char *hostkey_algs;
	const char *ciphers;
	const char *macs;
	const char *compression;
	uint64_t rekey_bytes;   /* 0: OpenSSH's cipher-dependent default */
	uint32_t rekey_seconds; /* 0: no time-based rekeying */
	transport_hostkey_fn hostkey_check;
	void *hostkey_ctx;
	transport_payload_fn on_payload;
	void *payload_ctx;
};

/* What was negotiated, for logs and the test tool. */
struct transport_info {
	const char *server_version;
	const char *kex;
	const char *hostkey_alg;
	const char *cipher_c2s, *cipher_s2c;
	const char *mac_c2s, *mac_s2c;
	const char *comp_c2s, *comp_s2c;
	bool strict_kex;
	unsigned kex_count;     /* completed key exchanges, the first included */
	unsigned rekeys_by_us;  /* rekeys we initiated */
	unsigned rekeys_by_peer;
	const char *server_sig_algs; /* RFC 8308 §3.1, NULL if not sent */
};

struct transport;

int transport_new(const struct transport_config *cfg, struct transport **out) MUST_CHECK;
void transport_free(struct transport *t);
/* Queues our version line and first KEXINIT. now is a monotonic time in seconds. */
int transport_start(struct transport *t, uint64_t now) MUST_CHECK;
/* Consume bytes from the peer. 0, or a fatal error (the connection is dead). */
int transport_input(struct transport *t, const uint8_t *data, size_t len) MUST_CHECK;
/* Bytes waiting to be written; the caller consumes what it wrote. */
struct buf *transport_output(struct transport *t);
/* Send an upper-layer payload (queued during key exchange). */
int transport_send(struct transport *t, const uint8_t *payload, size_t len) MUST_CHECK;
/* The payload payload || tail as one message (tail may be NULL with tlen 0). */
int transport_send2(struct transport *t, const uint8_t *payload, size_t len, const uint8_t *tail, size_t tlen) MUST_CHECK;
/* Periodic check (time-based rekeying); now as for transport_start. */
int transport_tick(struct transport *t, uint64_t now) MUST_CHECK;
/* Start a key re-exchange now (no-op while one runs). */
int transport_rekey(struct transport *t) MUST_CHECK;
/* Queue SSH_MSG_DISCONNECT (RFC 4253 §11.1); further sends fail. */
int transport_disconnect(struct transport *t, uint32_t reason, const char *text) MUST_CHECK;
/* First key exchange done and the ssh-userauth service accepted. */
bool transport_ready(const struct transport *t);
/* A key exchange is running (our upper-layer payloads are being queued). */
bool transport_in_kex(const struct transport *t);
/* Upper-layer payloads queued during key exchange (for flow control). */
size_t transport_queued_bytes(const struct transport *t);
/* The session identifier (the first exchange hash); NULL before it exists. */
const uint8_t *transport_session_id(const struct transport *t, size_t *len);
void transport_get_info(const struct transport *t, struct transport_info *out);

#endif
