/*
 * ssh-peer.h - a scripted in-memory SSH server for unit tests, built from
 * sftpfs's own packet layer and OpenSSL: curve25519-sha256 key exchange (or,
 * with kex set, a post-quantum hybrid through kex_hybrid_server_reply) with
 * an Ed25519 host key, strict KEX, ext-info, optional zlib compression, the ssh-userauth service, and a
 * hook that lets each test answer upper-layer messages itself.
 */
#ifndef SFTPFS_TEST_SSH_PEER_H
#define SFTPFS_TEST_SSH_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "buf.h"
#include "packet.h"
#include "transport.h"

#define SERVER_VERSION "SSH-2.0-ScriptedPeer_1.0"

struct peer {
	struct packet_io *pio;
	struct buf *in;  /* client -> server bytes */
	struct buf *out; /* server -> client bytes */
	struct buf *payload;
	EVP_PKEY *hostkey;
	uint8_t hostpub[32];
	char *v_c;
	struct buf *i_c, *i_s;
	uint8_t sid[64];
	uint8_t sid_len;
	bool have_sid;
	bool strict;
	bool sent_kexinit;     /* for the current round */
	const char *kex;       /* the one kex method both sides offer (curve25519-sha256) */
	bool send_ext_info;
	const char *ciphers;
	const char *macs;
	const char *compression; /* "none" (peer_init) or "zlib": from the new keys on */
	struct packet_keys rx_next;
	unsigned app_received; /* payloads >= 50 seen, in order */
	uint32_t last_app_value;
	bool order_ok;
	unsigned kex_done;
	unsigned unimplemented;
	/* When set, upper-layer payloads (>= 50) go here instead of the counters. */
	void (*on_app)(struct peer *p, void *ctx, struct buf *msg);
	void *app_ctx;
};

struct client {
	unsigned payloads;
	uint32_t last_value;
	bool order_ok;
};

void peer_init(struct peer *p, bool strict, const char *ciphers, const char *macs);
void peer_free(struct peer *p);
void peer_send(struct peer *p, struct buf *m);
void peer_send_kexinit(struct peer *p);
/* Consume what the client sent; answer KEX, service request, and app messages. */
void peer_process(struct peer *p);
/* Host key check for the client: verifies the peer's Ed25519 signature over H. */
int client_hostkey(void *ctx, const char *alg, const uint8_t *blob, size_t bloblen, const uint8_t *sig,
		   size_t siglen, const uint8_t *h, size_t hlen);
/* Default client payload sink: counts payloads and checks their order. */
int client_payload(void *ctx, const uint8_t *payload, size_t len);
struct transport *client_new(struct peer *p, struct client *c, const char *ciphers, const char *macs);
struct transport *client_new_with(struct peer *p, transport_payload_fn fn, void *ctx, const char *ciphers,
				  const char *macs);
/* A client transport that finished KEX and service request against p (strict, chacha20). */
struct transport *client_ready(struct peer *p, transport_payload_fn fn, void *ctx);
/* Shuttle bytes both ways until both are idle; the client's error, or 0. */
int pump(struct transport *t, struct peer *p);

#endif
