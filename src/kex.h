/*
 * kex.h - key exchange pieces that do no I/O (RFC 4253 §7-8): KEXINIT
 * building, parsing and negotiation, the table of key exchange methods, the
 * exchange hash and key derivation. The transport state machine
 * (transport.c) drives them.
 *
 * Adding a method is one row in kex.c's table plus its functions: the client
 * hook produces the client's public value, the reply hook consumes the
 * server's value and produces the shared secret K already encoded as the
 * method hashes it (mpint for classic DH/ECDH, string for the post-quantum
 * hybrids). value_enc says how the public values are wrapped on the wire and
 * in the exchange hash.
 */
#ifndef SFTPFS_KEX_H
#define SFTPFS_KEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/* RFC 4253 §7.1 name-list order in KEXINIT. */
enum kex_list {
	KEX_LIST_KEX = 0,
	KEX_LIST_HOSTKEY,
	KEX_LIST_ENC_C2S,
	KEX_LIST_ENC_S2C,
	KEX_LIST_MAC_C2S,
	KEX_LIST_MAC_S2C,
	KEX_LIST_COMP_C2S,
	KEX_LIST_COMP_S2C,
	KEX_LIST_LANG_C2S,
	KEX_LIST_LANG_S2C,
	KEX_LIST_COUNT
};

/* Pseudo-algorithms in the kex list (OpenSSH PROTOCOL §1.9, §1.10; RFC 8308 §2.1). */
#define KEX_EXT_INFO_C "ext-info-c"
#define KEX_EXT_INFO_S "ext-info-s"
#define KEX_STRICT_C "kex-strict-c-v00@openssh.com"
#define KEX_STRICT_S "kex-strict-s-v00@openssh.com"

struct kexinit {
	char *lists[KEX_LIST_COUNT];
	bool first_kex_follows;
};

void kexinit_clear(struct kexinit *k);
/* Appends a whole KEXINIT payload (message number, fresh random cookie, lists). */
int kexinit_build(const char *const lists[KEX_LIST_COUNT], struct buf *out) MUST_CHECK;
/* Parses a KEXINIT payload (starting at the message number); bounded, no trailing bytes. */
int kexinit_parse(const uint8_t *payload, size_t len, struct kexinit *out) MUST_CHECK;
/* True when name is an element of the comma-separated list. */
bool namelist_has(const char *list, const char *name);
/* RFC 4253 §7.1: the first client algorithm the server also lists; ERR_NO_MATCH otherwise. */
int namelist_choose(const char *client, const char *server, char **out) MUST_CHECK;

/* How a method's public values appear on the wire and in the exchange hash. */
enum kex_value_enc { KEX_VALUE_STRING, KEX_VALUE_MPINT };

struct kex_method;
/* Per-exchange private state of a method; freed (and wiped) by free_state. */
typedef int (*kex_client_init_fn)(const struct kex_method *m, void **state, struct buf *client_value);
typedef int (*kex_client_finish_fn)(const struct kex_method *m, void *state, const uint8_t *server_value,
				    size_t len, struct buf *shared_secret);
typedef void (*kex_free_fn)(void *state);

struct kex_method {
	const char *name;
	const char *hash; /* OpenSSL digest name for H and key derivation */
	enum kex_value_enc value_enc;
	bool gex;         /* RFC 4419 group exchange: group negotiated first */
	const void *param; /* method-specific constant (curve or group name) */
	kex_client_init_fn client_init;     /* appends raw value: string body or mpint magnitude */
	kex_client_finish_fn client_finish; /* appends K fully encoded (mpint or string) */
	kex_free_fn free_state;
};

const struct kex_method *kex_method_by_name(const char *name);
/* The i-th implemented method in table order, NULL past the end. */
const struct kex_method *kex_method_at(size_t i);

/* RFC 4419: set the group for a gex exchange before client_init; state is created here. */
int kex_gex_set_group(const struct kex_method *m, void **state, const uint8_t *p, size_t plen, const uint8_t *g,
		      size_t glen) MUST_CHECK;

/*
 * RFC 4253 §7.2: derive need bytes of key letter ('A'..'F') from the encoded
 * shared secret K, exchange hash H and session id.
 */
int kex_derive(const char *hash, const uint8_t *k, size_t klen, const uint8_t *h, size_t hlen,
	       const uint8_t *session_id, size_t sidlen, char letter, uint8_t *out, size_t need) MUST_CHECK;

#endif
