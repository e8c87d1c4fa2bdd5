/*
 * transport.c - the client side of the SSH transport layer (see transport.h).
 *
 * Key exchange states (RFC 4253 §7, RFC 4419 §3):
 *   KEX_IDLE            no exchange running
 *   KEX_AWAIT_KEXINIT   our KEXINIT sent, the server's not yet received
 *   KEX_AWAIT_GEX_GROUP group exchange requested (RFC 4419)
 *   KEX_AWAIT_REPLY     client value sent, waiting for the server's reply
 *   KEX_AWAIT_NEWKEYS   our NEWKEYS sent, waiting for the server's
 * Strict KEX (OpenSSH PROTOCOL §1.10): when both sides offer it, the server's
 * KEXINIT must be its first packet, only key exchange messages may arrive
 * during the initial exchange, and sequence numbers restart at every NEWKEYS.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cipher.h"
#include "kex.h"
#include "limits.h"
#include "log.h"
#include "packet.h"
#include "ssh2.h"
#include "transport.h"

#define CLIENT_VERSION "SSH-2.0-sftpfs_" PACKAGE_VERSION
/* Rekey well before the 32-bit sequence number could wrap (strict KEX). */
#define REKEY_PACKETS_MAX (1u << 31)

enum version_state { VERSION_AWAIT, VERSION_DONE };

enum kex_state {
	KEX_IDLE,
	KEX_AWAIT_KEXINIT,
	KEX_AWAIT_GEX_GROUP,
	KEX_AWAIT_REPLY,
	KEX_AWAIT_NEWKEYS,
};

enum service_state { SERVICE_NONE, SERVICE_REQUESTED, SERVICE_ACCEPTED };

struct queued {
	struct queued *next;
	size_t len;
	uint8_t data[];
};

struct transport {
	struct transport_config cfg;
	char *lists[KEX_LIST_COUNT];
	struct packet_io *pio;
	struct buf *in;
	struct buf *out;
	struct buf *payload;
	enum version_state vstate;
	size_t banner_lines, banner_bytes;
	char *server_version;
	enum kex_state kstate;
	enum service_state sstate;
	bool first_kex_done;
	bool strict;
	bool disconnected;
	bool ignore_next_kex_packet;
	bool we_initiated;
	uint32_t rx_seq_of_current; /* sequence number of the packet being handled */
	/* Current exchange */
	struct buf *i_c;
	struct buf *i_s;
	struct kexinit peer;
	const struct kex_method *method;
	void *kex_state_priv;
	struct buf *client_value; /* raw value (string body or mpint magnitude) */
	struct buf *gex_group;    /* gex: min, n, max, mpint p, mpint g as hashed */
	char *neg[KEX_LIST_COUNT];
	struct packet_keys pending_rx;
	/* Results */
	uint8_t session_id[64];
	size_t session_id_len;
	char *server_sig_algs;
	char last_kex_name[64];
	char last_hostkey_alg[64];
	unsigned kex_count, rekeys_by_us, rekeys_by_peer;
	uint64_t last_kex_time;
	uint64_t now;
	/* Upper-layer payloads held back during key exchange */
	struct queued *q_head, **q_tail;
	size_t q_bytes;
};

static int send_transport_msg(struct transport *t, struct buf *msg)
{
	return packet_write(t->pio, buf_peek(msg), buf_len(msg), t->out);
}

static void kex_reset_exchange(struct transport *t)
{
	if (t->method != NULL && t->kex_state_priv != NULL)
		t->method->free_state(t->kex_state_priv);
	t->kex_state_priv = NULL;
	t->method = NULL;
	buf_reset(t->i_c);
	buf_reset(t->i_s);
	buf_reset(t->client_value);
	buf_reset(t->gex_group);
	kexinit_clear(&t->peer);
	for (int i = 0; i < KEX_LIST_COUNT; i++) {
		free(t->neg[i]);
		t->neg[i] = NULL;
	}
	wipe(&t->pending_rx, sizeof(t->pending_rx));
}

int transport_new(const struct transport_config *cfg, struct transport **out)
{
	struct transport *t;
	int r = ERR_ALLOC_FAIL;

	*out = NULL;
	if (cfg->kex_algs == NULL || cfg->hostkey_algs == NULL || cfg->ciphers == NULL || cfg->macs == NULL ||
	    cfg->compression == NULL || cfg->hostkey_check == NULL || cfg->on_payload == NULL)
		return ERR_INVALID_ARGUMENT;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ERR_ALLOC_FAIL;
	t->cfg = *cfg;
	t->q_tail = &t->q_head;
	if ((t->pio = packet_io_new()) == NULL || (t->in = buf_new(SSH_PACKET_MAX * 2 + 1024)) == NULL ||
	    (t->out = buf_new(BUF_ABSOLUTE_MAX)) == NULL || (t->payload = buf_new(SSH_PAYLOAD_INFLATED_MAX + 1024)) == NULL ||
	    (t->i_c = buf_new(SSH_NAMELIST_MAX * KEX_LIST_COUNT + 64)) == NULL ||
	    (t->i_s = buf_new(SSH_NAMELIST_MAX * KEX_LIST_COUNT + 64)) == NULL ||
	    (t->client_value = buf_new(8192)) == NULL || (t->gex_group = buf_new(8192)) == NULL)
		goto out;
	/* Lists: key exchange and host key from the caller; both directions alike. */
	if ((t->lists[KEX_LIST_KEX] = strdup(cfg->kex_algs)) == NULL ||
	    (t->lists[KEX_LIST_HOSTKEY] = strdup(cfg->hostkey_algs)) == NULL ||
	    (t->lists[KEX_LIST_ENC_C2S] = strdup(cfg->ciphers)) == NULL ||
	    (t->lists[KEX_LIST_ENC_S2C] = strdup(cfg->ciphers)) == NULL ||
	    (t->lists[KEX_LIST_MAC_C2S] = strdup(cfg->macs)) == NULL ||
	    (t->lists[KEX_LIST_MAC_S2C] = strdup(cfg->macs)) == NULL ||
	    (t->lists[KEX_LIST_COMP_C2S] = strdup(cfg->compression)) == NULL ||
	    (t->lists[KEX_LIST_COMP_S2C] = strdup(cfg->compression)) == NULL ||
	    (t->lists[KEX_LIST_LANG_C2S] = strdup("")) == NULL || (t->lists[KEX_LIST_LANG_S2C] = strdup("")) == NULL)
		goto out;
	*out = t;
	t = NULL;
	r = 0;
out:
	transport_free(t);
	return r;
}

void transport_free(struct transport *t)
{
	struct queued *q, *next;

	if (t == NULL)
		return;
	kex_reset_exchange(t);
	for (q = t->q_head; q != NULL; q = next) {
		next = q->next;
		wipe(q->data, q->len);
		free(q);
	}
	for (int i = 0; i < KEX_LIST_COUNT; i++)
		free(t->lists[i]);
	packet_io_free(t->pio);
	buf_free(t->in);
	buf_free(t->out);
	buf_free(t->payload);
	buf_free(t->i_c);
	buf_free(t->i_s);
	buf_free(t->client_value);
	buf_free(t->gex_group);
	free(t->server_version);
	free(t->server_sig_algs);
	wipe(t, sizeof(*t));
	free(t);
}

struct buf *transport_output(struct transport *t)
{
	return t->out;
}

bool transport_ready(const struct transport *t)
{
	return t->sstate == SERVICE_ACCEPTED && !t->disconnected;
}

bool transport_in_kex(const struct transport *t)
{
	return t->kstate != KEX_IDLE;
}

size_t transport_queued_bytes(const struct transport *t)
{
	return t->q_bytes;
}

const uint8_t *transport_session_id(const struct transport *t, size_t *len)
{
	*len = t->session_id_len;
	return t->session_id_len > 0 ? t->session_id : NULL;
}

void transport_get_info(const struct transport *t, struct transport_info *out)
{
	memset(out, 0, sizeof(*out));
	out->server_version = t->server_version;
	out->cipher_c2s = packet_cipher_name(t->pio, PACKET_TX);
	out->cipher_s2c = packet_cipher_name(t->pio, PACKET_RX);
	out->mac_c2s = packet_mac_name(t->pio, PACKET_TX);
	out->mac_s2c = packet_mac_name(t->pio, PACKET_RX);
	out->comp_c2s = packet_comp_name(t->pio, PACKET_TX);
	out->comp_s2c = packet_comp_name(t->pio, PACKET_RX);
	out->strict_kex = t->strict;
	out->kex_count = t->kex_count;
	out->rekeys_by_us = t->rekeys_by_us;
	out->rekeys_by_peer = t->rekeys_by_peer;
	out->server_sig_algs = t->server_sig_algs;
	out->kex = t->last_kex_name;
	out->hostkey_alg = t->last_hostkey_alg;
}

/* ---- sending ---- */

static int flush_queue(struct transport *t)
{
	struct queued *q;
	int r;

	while ((q = t->q_head) != NULL) {
		if ((r = packet_write(t->pio, q->data, q->len, t->out)) != 0)
			return r;
		t->q_head = q->next;
		if (t->q_head == NULL)
			t->q_tail = &t->q_head;
		t->q_bytes -= q->len;
		wipe(q->data, q->len);
		free(q);
	}
	return 0;
}

static int maybe_rekey(struct transport *t);

int transport_send(struct transport *t, const uint8_t *payload, size_t len)
{
	return transport_send2(t, payload, len, NULL, 0);
}

int transport_send2(struct transport *t, const uint8_t *payload, size_t len, const uint8_t *tail, size_t tlen)
{
	struct queued *q;
	int r;

	if (t->disconnected)
		return ERR_CONN_CLOSED;
	if (len == 0 || len > SSH_PACKET_MAX - 64 || tlen > SSH_PACKET_MAX - 64 - len)
		return ERR_INVALID_ARGUMENT;
	/* RFC 4253 §7.1: after our KEXINIT only kex messages until our NEWKEYS. */
	if (t->kstate != KEX_IDLE && t->kstate != KEX_AWAIT_NEWKEYS) {
		if ((q = malloc(sizeof(*q) + len + tlen)) == NULL)
			return ERR_ALLOC_FAIL;
		q->next = NULL;
		q->len = len + tlen;
		memcpy(q->data, payload, len);
		if (tlen > 0)
			memcpy(q->data + len, tail, tlen);
		*t->q_tail = q;
		t->q_tail = &q->next;
		t->q_bytes += len + tlen;
		return 0;
	}
	if ((r = packet_write2(t->pio, payload, len, tail, tlen, t->out)) != 0)
		return r;
	return maybe_rekey(t);
}

int transport_disconnect(struct transport *t, uint32_t reason, const char *text)
{
	struct buf *m = buf_new(1024);
	int r;

	if (m == NULL)
		return ERR_ALLOC_FAIL;
	if (t->disconnected) {
		buf_free(m);
		return 0;
	}
	if ((r = buf_put_u8(m, SSH2_MSG_DISCONNECT)) == 0 && (r = buf_put_u32(m, reason)) == 0 &&
	    (r = buf_put_cstring(m, text)) == 0 && (r = buf_put_cstring(m, "")) == 0 && t->vstate == VERSION_DONE)
		r = send_transport_msg(t, m);
	t->disconnected = true;
	buf_free(m);
	return r;
}

/* Best effort on a fatal error: the connection is ending anyway. */
static void disconnect_quietly(struct transport *t, uint32_t reason, const char *text)
{
	if (transport_disconnect(t, reason, text) != 0)
		log_debug(LOG_CAT_TRANSPORT, "could not queue DISCONNECT");
}

static int send_kexinit(struct transport *t)
{
	const char *lists[KEX_LIST_COUNT];
	char *kexlist = NULL;
	int r;

	for (int i = 0; i < KEX_LIST_COUNT; i++)
		lists[i] = t->lists[i];
	if (!t->first_kex_done) {
		/* The first KEXINIT only: RFC 8308 §2.1 ext-info-c, OpenSSH strict KEX marker. */
		size_t n = strlen(t->lists[KEX_LIST_KEX]) + sizeof(KEX_EXT_INFO_C) + sizeof(KEX_STRICT_C) + 2;

		if ((kexlist = malloc(n)) == NULL)
			return ERR_ALLOC_FAIL;
		snprintf(kexlist, n, "%s,%s,%s", t->lists[KEX_LIST_KEX], KEX_EXT_INFO_C, KEX_STRICT_C);
		lists[KEX_LIST_KEX] = kexlist;
	}
	buf_reset(t->i_c);
	if ((r = kexinit_build(lists, t->i_c)) == 0 && (r = send_transport_msg(t, t->i_c)) == 0)
		t->kstate = KEX_AWAIT_KEXINIT;
	free(kexlist);
	return r;
}

int transport_start(struct transport *t, uint64_t now)
{
	int r;

	t->now = now;
	t->last_kex_time = now;
	/* RFC 4253 §4.2: "SSH-protoversion-softwareversion" CR LF. */
	if ((r = buf_put(t->out, CLIENT_VERSION "\r\n", strlen(CLIENT_VERSION) + 2)) != 0)
		return r;
	return send_kexinit(t);
}

int transport_rekey(struct transport *t)
{
	if (t->kstate != KEX_IDLE || !t->first_kex_done || t->disconnected)
		return 0;
	t->we_initiated = true;
	log_debug(LOG_CAT_KEX, "initiating key re-exchange");
	return send_kexinit(t);
}

/*
 * OpenSSH's default (packet.c ssh_set_newkeys): 2^(2*blocksize) blocks for
 * 16-byte ciphers, 1 GiB worth for smaller ones; RekeyLimit lowers it.
 */
static uint64_t rekey_block_limit(const struct transport *t, enum packet_dir_id dir)
{
	size_t bs = packet_block_size(t->pio, dir);
	uint64_t blocks = bs >= 16 ? (uint64_t)1 << 32 : ((uint64_t)1 << 30) / bs;

	if (t->cfg.rekey_bytes > 0 && t->cfg.rekey_bytes / bs < blocks)
		blocks = t->cfg.rekey_bytes / bs;
	return blocks;
}

static bool rekey_needed(const struct transport *t)
{
	struct packet_stats s;

	if (!t->first_kex_done || t->kstate != KEX_IDLE || t->disconnected)
		return false;
	for (int d = 0; d < 2; d++) {
		packet_get_stats(t->pio, (enum packet_dir_id)d, &s);
		if (s.blocks >= rekey_block_limit(t, (enum packet_dir_id)d) || s.packets >= REKEY_PACKETS_MAX)
			return true;
	}
	if (t->cfg.rekey_seconds > 0 && t->now - t->last_kex_time >= t->cfg.rekey_seconds)
		return true;
	return false;
}

static int maybe_rekey(struct transport *t)
{
	return rekey_needed(t) ? transport_rekey(t) : 0;
}

int transport_tick(struct transport *t, uint64_t now)
{
	t->now = now;
	return maybe_rekey(t);
}

/* ---- key exchange ---- */

static int negotiate(struct transport *t)
{
	static const char *const what[KEX_LIST_COUNT] = {
		"kex", "host key", "cipher c2s", "cipher s2c", "mac c2s", "mac s2c", "compression c2s",
		"compression s2c", "lang c2s", "lang s2c",
	};
	int r;

	for (int i = 0; i < KEX_LIST_LANG_C2S; i++) {
		/* AEAD ciphers have an implicit MAC (OpenSSH PROTOCOL §1.6, RFC 5647 §5.1). */
		if (i == KEX_LIST_MAC_C2S || i == KEX_LIST_MAC_S2C) {
			const struct cipher_alg *c = cipher_alg_by_name(t->neg[i - 2]);

			if (c != NULL && c->tag_len > 0)
				continue;
		}
		if ((r = namelist_choose(t->lists[i], t->peer.lists[i], &t->neg[i])) != 0) {
			log_error(LOG_CAT_KEX, "no matching %s algorithm: ours %s, server's %s", what[i], t->lists[i],
				  t->peer.lists[i]);
			return r;
		}
	}
	t->method = kex_method_by_name(t->neg[KEX_LIST_KEX]);
	if (t->method == NULL)
		return ERR_NO_MATCH;
	snprintf(t->last_kex_name, sizeof(t->last_kex_name), "%s", t->neg[KEX_LIST_KEX]);
	snprintf(t->last_hostkey_alg, sizeof(t->last_hostkey_alg), "%s", t->neg[KEX_LIST_HOSTKEY]);
	log_debug(LOG_CAT_KEX, "kex %s, host key %s, ciphers %s / %s, macs %s / %s, compression %s / %s",
		  t->neg[0], t->neg[1], t->neg[2], t->neg[3], t->neg[4] ? t->neg[4] : "<implicit>",
		  t->neg[5] ? t->neg[5] : "<implicit>", t->neg[6], t->neg[7]);
	return 0;
}

static int send_client_value(struct transport *t, uint8_t msgtype)
{
	struct buf *m = buf_new(16384);
	int r;

	if (m == NULL)
		return ERR_ALLOC_FAIL;
	buf_reset(t->client_value);
	if ((r = t->method->client_init(t->method, &t->kex_state_priv, t->client_value)) != 0)
		goto out;
	if ((r = buf_put_u8(m, msgtype)) != 0)
		goto out;
	if (t->method->value_enc == KEX_VALUE_MPINT)
		r = buf_put_mpint(m, buf_peek(t->client_value), buf_len(t->client_value));
	else
		r = buf_put_string(m, buf_peek(t->client_value), buf_len(t->client_value));
	if (r != 0 || (r = send_transport_msg(t, m)) != 0)
		goto out;
	t->kstate = KEX_AWAIT_REPLY;
out:
	buf_free(m);
	return r;
}

static int handle_kexinit(struct transport *t, const uint8_t *p, size_t len)
{
	struct buf *m = NULL;
	int r;

	if (t->kstate == KEX_IDLE) {
		/* The server starts a re-exchange: answer with ours first. */
		t->we_initiated = false;
		if ((r = send_kexinit(t)) != 0)
			return r;
	} else if (t->kstate != KEX_AWAIT_KEXINIT) {
		return ERR_PROTOCOL;
	}
	if ((r = kexinit_parse(p, len, &t->peer)) != 0)
		return r;
	buf_reset(t->i_s);
	if ((r = buf_put(t->i_s, p, len)) != 0)
		return r;
	if (!t->first_kex_done) {
		t->strict = namelist_has(t->peer.lists[KEX_LIST_KEX], KEX_STRICT_S);
		/* OpenSSH PROTOCOL §1.10: in strict mode KEXINIT must be the first packet. */
		if (t->strict && t->rx_seq_of_current != 0) {
			log_error(LOG_CAT_KEX, "strict KEX: KEXINIT was not the server's first packet");
			return ERR_KEX_STRICT;
		}
	}
	if ((r = negotiate(t)) != 0)
		return r;
	/* RFC 4253 §7: a wrong guessed packet from the server is ignored. */
	if (t->peer.first_kex_follows) {
		char *a = NULL, *b = NULL;

		if (namelist_choose(t->peer.lists[KEX_LIST_KEX], t->lists[KEX_LIST_KEX], &a) != 0 ||
		    namelist_choose(t->peer.lists[KEX_LIST_HOSTKEY], t->lists[KEX_LIST_HOSTKEY], &b) != 0 ||
		    strcmp(a, t->neg[KEX_LIST_KEX]) != 0 || strcmp(b, t->neg[KEX_LIST_HOSTKEY]) != 0)
			t->ignore_next_kex_packet = true;
		free(a);
		free(b);
	}
	if (!t->method->gex)
		return send_client_value(t, SSH2_MSG_KEX_ECDH_INIT);
	/* RFC 4419 §3: SSH_MSG_KEY_DH_GEX_REQUEST min, n, max. */
	if ((m = buf_new(64)) == NULL)
		return ERR_ALLOC_FAIL;
	buf_reset(t->gex_group);
	if ((r = buf_put_u8(m, SSH2_MSG_KEX_DH_GEX_REQUEST)) == 0 && (r = buf_put_u32(m, SSH_DH_GEX_MIN_BITS)) == 0 &&
	    (r = buf_put_u32(m, SSH_DH_GEX_PREFERRED_BITS)) == 0 && (r = buf_put_u32(m, SSH_DH_GEX_MAX_BITS)) == 0 &&
	    (r = buf_put_u32(t->gex_group, SSH_DH_GEX_MIN_BITS)) == 0 &&
	    (r = buf_put_u32(t->gex_group, SSH_DH_GEX_PREFERRED_BITS)) == 0 &&
	    (r = buf_put_u32(t->gex_group, SSH_DH_GEX_MAX_BITS)) == 0 && (r = send_transport_msg(t, m)) == 0)
		t->kstate = KEX_AWAIT_GEX_GROUP;
	buf_free(m);
	return r;
}

static int handle_gex_group(struct transport *t, const uint8_t *p, size_t len)
{
	struct buf *b = buf_from(p, len);
	const uint8_t *pp, *gp;
	size_t plen, glen;
	uint8_t type;
	int r;

	if (b == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_get_u8(b, &type)) != 0 || (r = buf_get_mpint_direct(b, SSH_DH_GEX_MAX_BITS / 8, &pp, &plen)) != 0 ||
	    (r = buf_get_mpint_direct(b, SSH_DH_GEX_MAX_BITS / 8, &gp, &glen)) != 0 || (r = buf_expect_end(b)) != 0)
		goto out;
	if ((r = kex_gex_set_group(t->method, &t->kex_state_priv, pp, plen, gp, glen)) != 0)
		goto out;
	if ((r = buf_put_mpint(t->gex_group, pp, plen)) != 0 || (r = buf_put_mpint(t->gex_group, gp, glen)) != 0)
		goto out;
	r = send_client_value(t, SSH2_MSG_KEX_DH_GEX_INIT);
out:
	buf_free(b);
	return r;
}

static int hash_exchange(struct transport *t, const uint8_t *ks, size_t kslen, const uint8_t *sv, size_t svlen,
			 const struct buf *k, uint8_t *h, size_t *hlen)
{
	struct buf *hb = buf_new(BUF_DEFAULT_MAX);
	int r;

	*hlen = 0;
	if (hb == NULL)
		return ERR_ALLOC_FAIL;
	/* RFC 4253 §8 / RFC 5656 §4 / RFC 4419 §3 exchange hash input. */
	if ((r = buf_put_cstring(hb, CLIENT_VERSION)) != 0 || (r = buf_put_cstring(hb, t->server_version)) != 0 ||
	    (r = buf_put_stringb(hb, t->i_c)) != 0 || (r = buf_put_stringb(hb, t->i_s)) != 0 ||
	    (r = buf_put_string(hb, ks, kslen)) != 0)
		goto out;
	if (t->method->gex && (r = buf_putb(hb, t->gex_group)) != 0)
		goto out;
	if (t->method->value_enc == KEX_VALUE_MPINT) {
		if ((r = buf_put_mpint(hb, buf_peek(t->client_value), buf_len(t->client_value))) != 0 ||
		    (r = buf_put_mpint(hb, sv, svlen)) != 0)
			goto out;
	} else {
		if ((r = buf_put_stringb(hb, t->client_value)) != 0 || (r = buf_put_string(hb, sv, svlen)) != 0)
			goto out;
	}
	if ((r = buf_putb(hb, k)) != 0)
		goto out;
	r = digest_oneshot(t->method->hash, buf_peek(hb), buf_len(hb), h, hlen);
out:
	buf_free(hb);
	return r;
}

/* RFC 4253 §7.2: keys A..F for one direction. */
static int derive_dir(struct transport *t, const struct buf *k, const uint8_t *h, size_t hlen, bool c2s,
		      struct packet_keys *pk)
{
	int ci = c2s ? KEX_LIST_ENC_C2S : KEX_LIST_ENC_S2C, mi = c2s ? KEX_LIST_MAC_C2S : KEX_LIST_MAC_S2C;
	int coi = c2s ? KEX_LIST_COMP_C2S : KEX_LIST_COMP_S2C;
	const char *hash = t->method->hash;
	int r;

	memset(pk, 0, sizeof(*pk));
	pk->cipher = cipher_alg_by_name(t->neg[ci]);
	if (pk->cipher == NULL)
		return ERR_NO_MATCH;
	if (pk->cipher->tag_len == 0) {
		if ((pk->mac = mac_alg_by_name(t->neg[mi])) == NULL)
			return ERR_NO_MATCH;
	}
	if (strcmp(t->neg[coi], "zlib") == 0)
		pk->comp = PACKET_COMP_ZLIB;
	else if (strcmp(t->neg[coi], "zlib@openssh.com") == 0)
		pk->comp = PACKET_COMP_ZLIB_DELAYED;
	else
		pk->comp = PACKET_COMP_NONE;
	if ((r = kex_derive(hash, buf_peek(k), buf_len(k), h, hlen, t->session_id, t->session_id_len, c2s ? 'A' : 'B',
			    pk->iv, pk->cipher->iv_len)) != 0 ||
	    (r = kex_derive(hash, buf_peek(k), buf_len(k), h, hlen, t->session_id, t->session_id_len, c2s ? 'C' : 'D',
			    pk->key, pk->cipher->key_len)) != 0)
		return r;
	if (pk->mac != NULL && (r = kex_derive(hash, buf_peek(k), buf_len(k), h, hlen, t->session_id, t->session_id_len,
					       c2s ? 'E' : 'F', pk->mac_key, pk->mac->key_len)) != 0)
		return r;
	return 0;
}

static int handle_reply(struct transport *t, const uint8_t *p, size_t len)
{
	struct buf *b = buf_from(p, len), *k = buf_new(4096), *m = NULL;
	const uint8_t *ks, *sv, *sig;
	size_t kslen, svlen, siglen, hlen;
	uint8_t type, h[64];
	struct packet_keys tx;
	int r = ERR_ALLOC_FAIL;

	memset(&tx, 0, sizeof(tx));
	if (b == NULL || k == NULL)
		goto out;
	if ((r = buf_get_u8(b, &type)) != 0 || (r = buf_get_string_direct(b, &ks, &kslen)) != 0)
		goto out;
	if (kslen > SSH_KEY_BLOB_MAX) {
		r = ERR_LIMIT_EXCEEDED;
		goto out;
	}
	if (t->method->value_enc == KEX_VALUE_MPINT)
		r = buf_get_mpint_direct(b, SSH_DH_GEX_MAX_BITS / 8, &sv, &svlen);
	else
		r = buf_get_string_direct(b, &sv, &svlen);
	if (r != 0 || (r = buf_get_string_direct(b, &sig, &siglen)) != 0 || (r = buf_expect_end(b)) != 0)
		goto out;
	if (siglen > SSH_SIGNATURE_BLOB_MAX) {
		r = ERR_LIMIT_EXCEEDED;
		goto out;
	}
	if ((r = t->method->client_finish(t->method, t->kex_state_priv, sv, svlen, k)) != 0)
		goto out;
	if ((r = hash_exchange(t, ks, kslen, sv, svlen, k, h, &hlen)) != 0)
		goto out;
	/* The host key signs H; the check also applies the known-hosts policy. */
	if ((r = t->cfg.hostkey_check(t->cfg.hostkey_ctx, t->neg[KEX_LIST_HOSTKEY], ks, kslen, sig, siglen, h, hlen)) != 0) {
		log_error(LOG_CAT_KEX, "host key verification failed: %s", err_str(r));
		goto out;
	}
	/* RFC 4253 §7.2: the first H is the session identifier, kept for the connection's life. */
	if (t->session_id_len == 0) {
		memcpy(t->session_id, h, hlen);
		t->session_id_len = hlen;
	}
	if ((r = derive_dir(t, k, h, hlen, true, &tx)) != 0 || (r = derive_dir(t, k, h, hlen, false, &t->pending_rx)) != 0)
		goto out;
	if ((m = buf_new(16)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if ((r = buf_put_u8(m, SSH2_MSG_NEWKEYS)) != 0 || (r = send_transport_msg(t, m)) != 0)
		goto out;
	if ((r = packet_set_keys(t->pio, PACKET_TX, &tx)) != 0)
		goto out;
	if (t->strict)
		packet_reset_seq(t->pio, PACKET_TX);
	t->kstate = KEX_AWAIT_NEWKEYS;
	/* RFC 4253 §7.1 / OpenSSH: held-back payloads go out under the new keys. */
	r = flush_queue(t);
out:
	wipe(h, sizeof(h));
	wipe(&tx, sizeof(tx));
	buf_free(b);
	buf_free(k);
	buf_free(m);
	return r;
}

static int send_service_request(struct transport *t)
{
	struct buf *m = buf_new(64);
	int r;

	if (m == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_put_u8(m, SSH2_MSG_SERVICE_REQUEST)) == 0 && (r = buf_put_cstring(m, "ssh-userauth")) == 0 &&
	    (r = send_transport_msg(t, m)) == 0)
		t->sstate = SERVICE_REQUESTED;
	buf_free(m);
	return r;
}

static int handle_newkeys(struct transport *t, const uint8_t *p, size_t len)
{
	int r;

	if (len != 1)
		return ERR_TRAILING_DATA;
	if ((r = packet_set_keys(t->pio, PACKET_RX, &t->pending_rx)) != 0)
		return r;
	if (t->strict)
		packet_reset_seq(t->pio, PACKET_RX);
	kex_reset_exchange(t);
	t->kstate = KEX_IDLE;
	t->kex_count++;
	t->last_kex_time = t->now;
	if (t->first_kex_done) {
		if (t->we_initiated)
			t->rekeys_by_us++;
		else
			t->rekeys_by_peer++;
		log_debug(LOG_CAT_KEX, "key re-exchange %u done", t->kex_count - 1);
		return flush_queue(t);
	}
	t->first_kex_done = true;
	log_verbose(LOG_CAT_KEX, "key exchange done (%s, strict %s)", t->last_kex_name, t->strict ? "yes" : "no");
	if ((r = flush_queue(t)) != 0)
		return r;
	return send_service_request(t);
}

/* RFC 8308 §2.3: name/value pairs; we keep server-sig-algs (§3.1). */
static int handle_ext_info(struct transport *t, const uint8_t *p, size_t len)
{
	struct buf *b = buf_from(p, len);
	uint32_t n;
	uint8_t type;
	int r;

	if (b == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_get_u8(b, &type)) != 0 || (r = buf_get_u32(b, &n)) != 0)
		goto out;
	if (n > SSH_EXT_INFO_MAX) {
		r = ERR_LIMIT_EXCEEDED;
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		char *name = NULL;
		const uint8_t *v;
		size_t nlen, vlen;

		if ((r = buf_get_cstring(b, &name, &nlen)) != 0)
			goto out;
		if ((r = buf_get_string_direct(b, &v, &vlen)) != 0) {
			free(name);
			goto out;
		}
		if (strcmp(name, "server-sig-algs") == 0) {
			if (vlen > SSH_NAMELIST_MAX || memchr(v, 0, vlen) != NULL) {
				free(name);
				r = ERR_INVALID_FORMAT;
				goto out;
			}
			free(t->server_sig_algs);
			t->server_sig_algs = strndup((const char *)v, vlen);
			if (t->server_sig_algs == NULL) {
				free(name);
				r = ERR_ALLOC_FAIL;
				goto out;
			}
			log_debug(LOG_CAT_KEX, "server-sig-algs: %s", t->server_sig_algs);
		} else {
			log_debug2(LOG_CAT_KEX, "ignoring extension %s", name);
		}
		free(name);
	}
	r = buf_expect_end(b);
out:
	buf_free(b);
	return r;
}

static int handle_disconnect(struct transport *t, const uint8_t *p, size_t len)
{
	struct buf *b = buf_from(p, len);
	uint8_t type;
	uint32_t reason = 0;
	const uint8_t *text = NULL;
	size_t tlen = 0;

	if (b != NULL && buf_get_u8(b, &type) == 0 && buf_get_u32(b, &reason) == 0 &&
	    buf_get_string_direct(b, &text, &tlen) == 0) {
		if (tlen > SSH_MESSAGE_TEXT_MAX)
			tlen = SSH_MESSAGE_TEXT_MAX;
		log_info(LOG_CAT_TRANSPORT, "server disconnected (reason %u): %.*s", reason, (int)tlen, (const char *)text);
	}
	buf_free(b);
	t->disconnected = true;
	return ERR_DISCONNECTED;
}

static int send_unimplemented(struct transport *t, uint32_t seq)
{
	struct buf *m = buf_new(16);
	int r;

	if (m == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_put_u8(m, SSH2_MSG_UNIMPLEMENTED)) == 0 && (r = buf_put_u32(m, seq)) == 0)
		r = transport_send(t, buf_peek(m), buf_len(m));
	buf_free(m);
	return r;
}

static bool is_kex_msg(uint8_t type)
{
	return type == SSH2_MSG_KEXINIT || type == SSH2_MSG_NEWKEYS || (type >= 30 && type <= 49);
}

static int dispatch(struct transport *t, const uint8_t *p, size_t len)
{
	uint8_t type = p[0];
	int r;

	if (t->ignore_next_kex_packet && type >= 30 && type <= 49) {
		t->ignore_next_kex_packet = false;
		return 0;
	}
	if (!t->first_kex_done) {
		/* Initial exchange: only kex messages; strict KEX refuses even IGNORE/DEBUG. */
		if (type == SSH2_MSG_DISCONNECT)
			return handle_disconnect(t, p, len);
		if (!is_kex_msg(type)) {
			if (t->strict || t->kstate == KEX_AWAIT_KEXINIT) {
				if (t->strict || type != SSH2_MSG_IGNORE) {
					log_error(LOG_CAT_KEX, "unexpected message %u during initial key exchange", type);
					return t->strict ? ERR_KEX_STRICT : ERR_PROTOCOL;
				}
			}
			if (type == SSH2_MSG_IGNORE || type == SSH2_MSG_DEBUG)
				return 0;
			return ERR_PROTOCOL;
		}
	}
	switch (type) {
	case SSH2_MSG_DISCONNECT:
		return handle_disconnect(t, p, len);
	case SSH2_MSG_IGNORE:
		return 0;
	case SSH2_MSG_DEBUG: {
		struct buf *b = buf_from(p, len);
		uint8_t tt;
		bool always;
		const uint8_t *msg;
		size_t mlen;

		if (b != NULL && buf_get_u8(b, &tt) == 0 && buf_get_bool(b, &always) == 0 &&
		    buf_get_string_direct(b, &msg, &mlen) == 0)
			log_debug(LOG_CAT_TRANSPORT, "server debug: %.*s",
				  (int)(mlen > SSH_MESSAGE_TEXT_MAX ? SSH_MESSAGE_TEXT_MAX : mlen), (const char *)msg);
		buf_free(b);
		return 0;
	}
	case SSH2_MSG_UNIMPLEMENTED:
		log_debug(LOG_CAT_TRANSPORT, "server sent UNIMPLEMENTED");
		return 0;
	case SSH2_MSG_EXT_INFO:
		return handle_ext_info(t, p, len);
	case SSH2_MSG_SERVICE_ACCEPT: {
		struct buf *b = buf_from(p, len);
		uint8_t tt;
		char *name = NULL;
		size_t nlen;

		r = ERR_PROTOCOL;
		if (b != NULL && t->sstate == SERVICE_REQUESTED && buf_get_u8(b, &tt) == 0 &&
		    buf_get_cstring(b, &name, &nlen) == 0 && strcmp(name, "ssh-userauth") == 0 && buf_expect_end(b) == 0) {
			t->sstate = SERVICE_ACCEPTED;
			r = 0;
		}
		free(name);
		buf_free(b);
		return r;
	}
	case SSH2_MSG_KEXINIT:
		return handle_kexinit(t, p, len);
	case SSH2_MSG_NEWKEYS:
		if (t->kstate != KEX_AWAIT_NEWKEYS)
			return ERR_PROTOCOL;
		return handle_newkeys(t, p, len);
	default:
		break;
	}
	if (type >= 30 && type <= 49) {
		if (t->kstate == KEX_AWAIT_GEX_GROUP && type == SSH2_MSG_KEX_DH_GEX_GROUP)
			return handle_gex_group(t, p, len);
		if (t->kstate == KEX_AWAIT_REPLY && type == (t->method->gex ? SSH2_MSG_KEX_DH_GEX_REPLY : SSH2_MSG_KEX_ECDH_REPLY))
			return handle_reply(t, p, len);
		return ERR_PROTOCOL;
	}
	if (type >= 50) {
		if (t->sstate != SERVICE_ACCEPTED)
			return ERR_PROTOCOL;
		/* RFC 8308 §2.4 / OpenSSH: delayed compression starts right after USERAUTH_SUCCESS. */
		if (type == SSH2_MSG_USERAUTH_SUCCESS && (r = packet_start_delayed_compression(t->pio)) != 0)
			return r;
		r = t->cfg.on_payload(t->cfg.payload_ctx, p, len);
		if (r == ERR_NOT_SUPPORTED)
			return send_unimplemented(t, t->rx_seq_of_current);
		return r;
	}
	/* RFC 4253 §11.4: unknown transport message numbers get UNIMPLEMENTED. */
	return send_unimplemented(t, t->rx_seq_of_current);
}

/* RFC 4253 §4.2: lines before the version line are allowed, but bounded. */
static int read_version(struct transport *t)
{
	for (;;) {
		const uint8_t *d = buf_peek(t->in);
		size_t avail = buf_len(t->in), i, linelen;
		const uint8_t *nl = memchr(d, '\n', avail < SSH_VERSION_LINE_MAX ? avail : SSH_VERSION_LINE_MAX);
		int r;

		if (nl == NULL)
			return avail >= SSH_VERSION_LINE_MAX ? ERR_PROTOCOL : ERR_MESSAGE_INCOMPLETE;
		i = (size_t)(nl - d) + 1;
		linelen = i - 1;
		if (linelen > 0 && d[linelen - 1] == '\r')
			linelen--;
		if (memchr(d, 0, linelen) != NULL)
			return ERR_PROTOCOL;
		if (linelen >= 4 && memcmp(d, "SSH-", 4) == 0) {
			if (!(linelen >= 8 && memcmp(d, "SSH-2.0-", 8) == 0) && !(linelen >= 9 && memcmp(d, "SSH-1.99-", 9) == 0)) {
				log_error(LOG_CAT_TRANSPORT, "unsupported protocol version: %.*s", (int)linelen, (const char *)d);
				return ERR_PROTOCOL;
			}
			if ((t->server_version = strndup((const char *)d, linelen)) == NULL)
				return ERR_ALLOC_FAIL;
			if ((r = buf_consume(t->in, i)) != 0)
				return r;
			t->vstate = VERSION_DONE;
			log_verbose(LOG_CAT_TRANSPORT, "server version: %s", t->server_version);
			return 0;
		}
		t->banner_lines++;
		t->banner_bytes += i;
		if (t->banner_lines > SSH_BANNER_LINES_MAX || t->banner_bytes > SSH_BANNER_BYTES_MAX)
			return ERR_LIMIT_EXCEEDED;
		if ((r = buf_consume(t->in, i)) != 0)
			return r;
	}
}

/* Handle everything complete in t->in. */
static int process_input(struct transport *t)
{
	int r;

	if (t->vstate == VERSION_AWAIT) {
		r = read_version(t);
		if (r == ERR_MESSAGE_INCOMPLETE)
			return 0;
		if (r != 0)
			return r;
	}
	for (;;) {
		if (t->disconnected)
			return ERR_CONN_CLOSED;
		buf_reset(t->payload);
		t->rx_seq_of_current = packet_seq(t->pio, PACKET_RX);
		r = packet_read(t->pio, t->in, t->payload);
		if (r == ERR_MESSAGE_INCOMPLETE)
			return 0;
		if (r != 0) {
			log_error(LOG_CAT_TRANSPORT, "packet error: %s", err_str(r));
			if (r == ERR_MAC_INVALID)
				disconnect_quietly(t, SSH2_DISCONNECT_MAC_ERROR, "Corrupted MAC on input.");
			else
				disconnect_quietly(t, SSH2_DISCONNECT_PROTOCOL_ERROR, "Packet corrupt.");
			t->disconnected = true;
			return r;
		}
		r = dispatch(t, buf_peek(t->payload), buf_len(t->payload));
		if (r != 0) {
			if (r != ERR_DISCONNECTED && !t->disconnected)
				disconnect_quietly(t, r == ERR_KEX_STRICT || r == ERR_NO_MATCH
							      ? SSH2_DISCONNECT_KEY_EXCHANGE_FAILED
							      : SSH2_DISCONNECT_PROTOCOL_ERROR,
						   err_str(r));
			t->disconnected = true;
			return r;
		}
		if ((r = maybe_rekey(t)) != 0)
			return r;
	}
}

int transport_input(struct transport *t, const uint8_t *data, size_t len)
{
	int r;

	if (t->disconnected)
		return ERR_CONN_CLOSED;
	/* In slices that fit the input buffer; each pass frees what it consumed. */
	do {
		size_t n = len < buf_room(t->in) ? len : buf_room(t->in);

		if (n == 0 && len > 0)
			return ERR_NO_BUFFER_SPACE; /* cannot happen: a packet is smaller than the buffer */
		if (n > 0 && (r = buf_put(t->in, data, n)) != 0)
			return r;
		data += n;
		len -= n;
		if ((r = process_input(t)) != 0)
			return r;
	} while (len > 0);
	return 0;
}
