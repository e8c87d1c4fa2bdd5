/*
 * ssh-peer.c - the scripted in-memory SSH server of the unit tests (see
 * ssh-peer.h).
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "cipher.h"
#include "kex.h"
#include "kex_hybrid.h"
#include "packet.h"
#include "ssh-peer.h"
#include "ssh2.h"
#include "transport.h"


void peer_send(struct peer *p, struct buf *m)
{
	g_assert_cmpint(packet_write(p->pio, buf_peek(m), buf_len(m), p->out), ==, 0);
}

void peer_send_kexinit(struct peer *p)
{
	const char *lists[KEX_LIST_COUNT] = {
		NULL, "ssh-ed25519", p->ciphers, p->ciphers, p->macs, p->macs, p->compression, p->compression, "", "",
	};
	g_autofree char *kexlist = g_strdup_printf("%s,ext-info-s%s", p->kex,
						   p->strict ? ",kex-strict-s-v00@openssh.com" : "");

	lists[KEX_LIST_KEX] = kexlist;

	buf_reset(p->i_s);
	g_assert_cmpint(kexinit_build(lists, p->i_s), ==, 0);
	peer_send(p, p->i_s);
	p->sent_kexinit = true;
}

void peer_init(struct peer *p, bool strict, const char *ciphers, const char *macs)
{
	size_t len = sizeof(p->hostpub);

	memset(p, 0, sizeof(*p));
	p->pio = packet_io_new();
	p->in = buf_new(0);
	p->out = buf_new(0);
	p->payload = buf_new(0);
	p->i_c = buf_new(0);
	p->i_s = buf_new(0);
	p->strict = strict;
	p->compression = "none";
	p->ciphers = ciphers;
	p->macs = macs;
	p->order_ok = true;
	p->kex = "curve25519-sha256";
	p->hostkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	g_assert_nonnull(p->hostkey);
	g_assert_cmpint(EVP_PKEY_get_raw_public_key(p->hostkey, p->hostpub, &len), ==, 1);
}

void peer_free(struct peer *p)
{
	packet_io_free(p->pio);
	buf_free(p->in);
	buf_free(p->out);
	buf_free(p->payload);
	buf_free(p->i_c);
	buf_free(p->i_s);
	EVP_PKEY_free(p->hostkey);
	g_free(p->v_c);
}

static void put_hostkey_blob(struct peer *p, struct buf *b)
{
	struct buf *blob = buf_new(0);

	g_assert_cmpint(buf_put_cstring(blob, "ssh-ed25519"), ==, 0);
	g_assert_cmpint(buf_put_string(blob, p->hostpub, 32), ==, 0);
	g_assert_cmpint(buf_put_stringb(b, blob), ==, 0);
	buf_free(blob);
}

static void derive(const char *hash, const struct buf *k, const uint8_t *h, size_t hl, const uint8_t *sid,
		   size_t sidl, char iv, char key, char mac, const char *cipher, const char *macname,
		   const char *comp, struct packet_keys *pk)
{
	memset(pk, 0, sizeof(*pk));
	pk->cipher = cipher_alg_by_name(cipher);
	g_assert_nonnull(pk->cipher);
	if (pk->cipher->tag_len == 0)
		pk->mac = mac_alg_by_name(macname);
	g_assert_cmpint(kex_derive(hash, buf_peek(k), buf_len(k), h, hl, sid, sidl, iv, pk->iv, pk->cipher->iv_len), ==, 0);
	g_assert_cmpint(kex_derive(hash, buf_peek(k), buf_len(k), h, hl, sid, sidl, key, pk->key, pk->cipher->key_len), ==, 0);
	if (pk->mac != NULL)
		g_assert_cmpint(kex_derive(hash, buf_peek(k), buf_len(k), h, hl, sid, sidl, mac, pk->mac_key, pk->mac->key_len), ==, 0);
	pk->comp = strcmp(comp, "zlib") == 0 ? PACKET_COMP_ZLIB : PACKET_COMP_NONE;
}

/*
 * Server side of curve25519-sha256 (RFC 8731), or of a post-quantum hybrid
 * (kex_hybrid.c: K a string, H SHA-256 or SHA-512), with an Ed25519 host key
 * (RFC 8709).
 */
static void peer_ecdh_reply(struct peer *p, struct buf *msg)
{
	const struct kex_method *m = kex_method_by_name(p->kex);
	const struct kex_hybrid_alg *hybrid = kex_hybrid_by_name(p->kex);
	const uint8_t *qc;
	size_t qclen, siglen = 64, hl;
	uint8_t type, h[64], sig[64];
	void *state = NULL;
	struct buf *qs = buf_new(0), *k = buf_new(0), *hb = buf_new(0), *reply = buf_new(0), *sigblob = buf_new(0);
	struct packet_keys tx;
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	g_assert_cmpint(buf_get_u8(msg, &type), ==, 0);
	g_assert_cmpint(buf_get_string_direct(msg, &qc, &qclen), ==, 0);
	g_assert_nonnull(m);
	if (hybrid != NULL) {
		g_assert_cmpint(kex_hybrid_server_reply(hybrid, qc, qclen, qs, k), ==, 0);
	} else {
		g_assert_cmpint(m->client_init(m, &state, qs), ==, 0);
		g_assert_cmpint(m->client_finish(m, state, qc, qclen, k), ==, 0);
		m->free_state(state);
	}
	g_assert_cmpint(buf_put_cstring(hb, p->v_c), ==, 0);
	g_assert_cmpint(buf_put_cstring(hb, SERVER_VERSION), ==, 0);
	g_assert_cmpint(buf_put_stringb(hb, p->i_c), ==, 0);
	g_assert_cmpint(buf_put_stringb(hb, p->i_s), ==, 0);
	put_hostkey_blob(p, hb);
	g_assert_cmpint(buf_put_string(hb, qc, qclen), ==, 0);
	g_assert_cmpint(buf_put_stringb(hb, qs), ==, 0);
	g_assert_cmpint(buf_putb(hb, k), ==, 0);
	g_assert_cmpint(digest_oneshot(m->hash, buf_peek(hb), buf_len(hb), h, &hl), ==, 0);
	if (!p->have_sid) {
		memcpy(p->sid, h, hl);
		p->sid_len = (uint8_t)hl;
		p->have_sid = true;
	}
	g_assert_cmpint(EVP_DigestSignInit(md, NULL, NULL, NULL, p->hostkey), ==, 1);
	g_assert_cmpint(EVP_DigestSign(md, sig, &siglen, h, hl), ==, 1);
	g_assert_cmpint(buf_put_cstring(sigblob, "ssh-ed25519"), ==, 0);
	g_assert_cmpint(buf_put_string(sigblob, sig, siglen), ==, 0);
	g_assert_cmpint(buf_put_u8(reply, SSH2_MSG_KEX_ECDH_REPLY), ==, 0);
	put_hostkey_blob(p, reply);
	g_assert_cmpint(buf_put_stringb(reply, qs), ==, 0);
	g_assert_cmpint(buf_put_stringb(reply, sigblob), ==, 0);
	peer_send(p, reply);
	buf_reset(reply);
	g_assert_cmpint(buf_put_u8(reply, SSH2_MSG_NEWKEYS), ==, 0);
	peer_send(p, reply);
	/* Server sends with s2c keys (B, D, F), receives with c2s (A, C, E). */
	derive(m->hash, k, h, hl, p->sid, p->sid_len, 'B', 'D', 'F', p->ciphers, p->macs, p->compression, &tx);
	derive(m->hash, k, h, hl, p->sid, p->sid_len, 'A', 'C', 'E', p->ciphers, p->macs, p->compression, &p->rx_next);
	g_assert_cmpint(packet_set_keys(p->pio, PACKET_TX, &tx), ==, 0);
	if (p->strict)
		packet_reset_seq(p->pio, PACKET_TX);
	if (p->send_ext_info && p->kex_done == 0) {
		/* RFC 8308 §2.4: right after the server's first NEWKEYS. */
		buf_reset(reply);
		g_assert_cmpint(buf_put_u8(reply, SSH2_MSG_EXT_INFO), ==, 0);
		g_assert_cmpint(buf_put_u32(reply, 1), ==, 0);
		g_assert_cmpint(buf_put_cstring(reply, "server-sig-algs"), ==, 0);
		g_assert_cmpint(buf_put_cstring(reply, "ssh-ed25519,rsa-sha2-512"), ==, 0);
		peer_send(p, reply);
	}
	EVP_MD_CTX_free(md);
	buf_free(qs);
	buf_free(k);
	buf_free(hb);
	buf_free(reply);
	buf_free(sigblob);
}

void peer_process(struct peer *p)
{
	int r;

	if (p->v_c == NULL) {
		const uint8_t *d = buf_peek(p->in);
		const uint8_t *nl = memchr(d, '\n', buf_len(p->in));

		if (nl == NULL)
			return;
		p->v_c = g_strndup((const char *)d, (size_t)(nl - d) - 1);
		g_assert_cmpint(buf_consume(p->in, (size_t)(nl - d) + 1), ==, 0);
	}
	for (;;) {
		struct buf *m;
		uint8_t type;

		buf_reset(p->payload);
		r = packet_read(p->pio, p->in, p->payload);
		if (r == ERR_MESSAGE_INCOMPLETE)
			return;
		g_assert_cmpint(r, ==, 0);
		m = buf_fromb(p->payload);
		g_assert_cmpint(buf_peek_u8(m, 0, &type), ==, 0);
		switch (type) {
		case SSH2_MSG_KEXINIT:
			buf_reset(p->i_c);
			g_assert_cmpint(buf_putb(p->i_c, m), ==, 0);
			if (!p->sent_kexinit)
				peer_send_kexinit(p);
			break;
		case SSH2_MSG_KEX_ECDH_INIT:
			peer_ecdh_reply(p, m);
			break;
		case SSH2_MSG_NEWKEYS:
			g_assert_cmpint(packet_set_keys(p->pio, PACKET_RX, &p->rx_next), ==, 0);
			if (p->strict)
				packet_reset_seq(p->pio, PACKET_RX);
			p->sent_kexinit = false;
			p->kex_done++;
			break;
		case SSH2_MSG_SERVICE_REQUEST: {
			struct buf *a = buf_new(0);

			g_assert_cmpint(buf_put_u8(a, SSH2_MSG_SERVICE_ACCEPT), ==, 0);
			g_assert_cmpint(buf_put_cstring(a, "ssh-userauth"), ==, 0);
			peer_send(p, a);
			buf_free(a);
			break;
		}
		case SSH2_MSG_UNIMPLEMENTED:
			p->unimplemented++;
			break;
		default: {
			uint32_t v;

			g_assert_cmpuint(type, >=, 50);
			if (p->on_app != NULL) {
				p->on_app(p, p->app_ctx, m);
				break;
			}
			g_assert_cmpint(buf_peek_u32(m, 1, &v), ==, 0);
			if (p->app_received > 0 && v != p->last_app_value + 1)
				p->order_ok = false;
			p->last_app_value = v;
			p->app_received++;
		}
		}
		buf_free(m);
	}
}

int client_hostkey(void *ctx, const char *alg, const uint8_t *blob, size_t bloblen, const uint8_t *sig,
			  size_t siglen, const uint8_t *h, size_t hlen)
{
	struct peer *p = ctx;
	struct buf *b = buf_from(blob, bloblen), *s = buf_from(sig, siglen);
	const uint8_t *pub, *raw;
	size_t publen, rawlen;
	char *type = NULL, *stype = NULL;
	EVP_PKEY *k;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int r = ERR_SIGNATURE_INVALID;

	g_assert_cmpstr(alg, ==, "ssh-ed25519");
	if (buf_get_cstring(b, &type, &publen) == 0 && buf_get_string_direct(b, &pub, &publen) == 0 && publen == 32 &&
	    memcmp(pub, p->hostpub, 32) == 0 && buf_get_cstring(s, &stype, &rawlen) == 0 &&
	    buf_get_string_direct(s, &raw, &rawlen) == 0 && (k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32)) != NULL) {
		if (EVP_DigestVerifyInit(md, NULL, NULL, NULL, k) == 1 && EVP_DigestVerify(md, raw, rawlen, h, hlen) == 1)
			r = 0;
		EVP_PKEY_free(k);
	}
	EVP_MD_CTX_free(md);
	free(type);
	free(stype);
	buf_free(b);
	buf_free(s);
	return r;
}

int client_payload(void *ctx, const uint8_t *payload, size_t len)
{
	struct client *c = ctx;
	struct buf *b = buf_from(payload, len);
	uint32_t v = 0;

	if (payload[0] == 200) { /* an unknown upper-layer message */
		buf_free(b);
		return ERR_NOT_SUPPORTED;
	}
	g_assert_cmpint(buf_peek_u32(b, 1, &v), ==, 0);
	if (c->payloads > 0 && v != c->last_value + 1)
		c->order_ok = false;
	c->last_value = v;
	c->payloads++;
	buf_free(b);
	return 0;
}

struct transport *client_new_with(struct peer *p, transport_payload_fn fn, void *ctx, const char *ciphers,
				   const char *macs)
{
	struct transport_config cfg = {
		.kex_algs = p->kex,
		.hostkey_algs = "ssh-ed25519",
		.ciphers = ciphers,
		.macs = macs,
		.compression = p->compression,
		.hostkey_check = client_hostkey,
		.hostkey_ctx = p,
		.on_payload = fn,
		.payload_ctx = ctx,
	};
	struct transport *t = NULL;

	g_assert_cmpint(transport_new(&cfg, &t), ==, 0);
	g_assert_cmpint(transport_start(t, 0), ==, 0);
	return t;
}

/* Shuttle bytes both ways until neither side has anything to say. */
struct transport *client_new(struct peer *p, struct client *c, const char *ciphers, const char *macs)
{
	memset(c, 0, sizeof(*c));
	c->order_ok = true;
	return client_new_with(p, client_payload, c, ciphers, macs);
}

struct transport *client_ready(struct peer *p, transport_payload_fn fn, void *ctx)
{
	struct transport *t;

	peer_init(p, true, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	t = client_new_with(p, fn, ctx, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	g_assert_cmpint(buf_put(p->out, SERVER_VERSION "\r\n", strlen(SERVER_VERSION) + 2), ==, 0);
	peer_send_kexinit(p);
	g_assert_cmpint(pump(t, p), ==, 0);
	g_assert_true(transport_ready(t));
	return t;
}

int pump(struct transport *t, struct peer *p)
{
	for (int i = 0; i < 100; i++) {
		struct buf *o = transport_output(t);
		bool idle = buf_len(o) == 0 && buf_len(p->out) == 0;
		int r;

		g_assert_cmpint(buf_putb(p->in, o), ==, 0);
		g_assert_cmpint(buf_consume(o, buf_len(o)), ==, 0);
		peer_process(p);
		r = transport_input(t, buf_peek(p->out), buf_len(p->out));
		g_assert_cmpint(buf_consume(p->out, buf_len(p->out)), ==, 0);
		if (r != 0)
			return r;
		if (idle)
			return 0;
	}
	return 0;
}

