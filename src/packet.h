/*
 * packet.h - the SSH binary packet protocol (RFC 4253 §6) for both
 * directions: framing, random padding, sequence numbers, encryption, MAC or
 * AEAD tag, and zlib compression (RFC 4253 §6.2, zlib@openssh.com delayed
 * until authentication). It consumes bytes from an input buf and appends bytes
 * to an output buf; it does no I/O.
 *
 * Reading checks the length before trusting it, verifies the MAC before
 * decrypting for encrypt-then-MAC and AEAD modes, compares in constant time,
 * and for the classic MAC-then-encrypt modes never reveals whether a length
 * or a MAC was wrong: a bad length is swallowed like a packet of maximal size
 * and then reported as a MAC error (as OpenSSH's packet.c does).
 */
#ifndef SFTPFS_PACKET_H
#define SFTPFS_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cipher.h"
#include "err.h"

enum packet_comp {
	PACKET_COMP_NONE,
	PACKET_COMP_ZLIB,         /* RFC 4253 §6.2: starts with the new keys */
	PACKET_COMP_ZLIB_DELAYED, /* zlib@openssh.com: starts after USERAUTH_SUCCESS */
};

/* Keys for one direction, as derived by RFC 4253 §7.2. Wiped by the caller. */
struct packet_keys {
	const struct cipher_alg *cipher;
	const struct mac_alg *mac; /* NULL for AEAD ciphers */
	enum packet_comp comp;
	uint8_t key[64];
	uint8_t iv[16];
	uint8_t mac_key[64];
};

enum packet_dir_id { PACKET_TX = 0, PACKET_RX = 1 };

struct packet_stats {
	uint64_t bytes;   /* bytes of packets since the keys were set */
	uint64_t blocks;  /* cipher blocks since the keys were set */
	uint64_t packets; /* packets since the keys were set */
};

struct packet_io;

struct packet_io *packet_io_new(void);
void packet_io_free(struct packet_io *p);

/* Switch one direction to new keys (at NEWKEYS, RFC 4253 §7.3). */
int packet_set_keys(struct packet_io *p, enum packet_dir_id dir, const struct packet_keys *k) MUST_CHECK;
/* Strict KEX (OpenSSH PROTOCOL §1.10): sequence number back to 0 at NEWKEYS. */
void packet_reset_seq(struct packet_io *p, enum packet_dir_id dir);
uint32_t packet_seq(const struct packet_io *p, enum packet_dir_id dir);
/* The next packet's sequence number, used by SSH_MSG_UNIMPLEMENTED replies. */
void packet_get_stats(const struct packet_io *p, enum packet_dir_id dir, struct packet_stats *out);
/* User authentication succeeded: start delayed compression where negotiated. */
int packet_start_delayed_compression(struct packet_io *p) MUST_CHECK;
/* Human-readable names of the current algorithms of a direction. */
const char *packet_cipher_name(const struct packet_io *p, enum packet_dir_id dir);
const char *packet_mac_name(const struct packet_io *p, enum packet_dir_id dir);
const char *packet_comp_name(const struct packet_io *p, enum packet_dir_id dir);
/* Block size of the current cipher of a direction (for rekey limits). */
size_t packet_block_size(const struct packet_io *p, enum packet_dir_id dir);

/* Frame, pad, compress, encrypt and MAC one payload; appends to out. */
int packet_write(struct packet_io *p, const uint8_t *payload, size_t len, struct buf *out) MUST_CHECK;
/* The same for the payload payload || tail (tail may be NULL with tlen 0):
 * channel data framed straight from where it lies, without a copy first. */
int packet_write2(struct packet_io *p, const uint8_t *payload, size_t len, const uint8_t *tail, size_t tlen,
		  struct buf *out) MUST_CHECK;
/*
 * Consume one packet from in and append its payload to payload. Returns 0,
 * ERR_MESSAGE_INCOMPLETE when more bytes are needed (nothing lost), or a fatal
 * error (ERR_MAC_INVALID, ERR_PROTOCOL, ERR_DECOMPRESS, ...).
 */
int packet_read(struct packet_io *p, struct buf *in, struct buf *payload) MUST_CHECK;

#endif
