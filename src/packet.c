/*
 * packet.c - RFC 4253 §6 binary packets in both directions (see packet.h).
 *
 * Layout per mode (OpenSSH packet.c terms): "aad" modes (encrypt-then-MAC,
 * AES-GCM, chacha20-poly1305) keep the 4-byte length outside the padded,
 * block-aligned region; classic modes encrypt and align the whole packet.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>
#include <zlib.h>

#include "limits.h"
#include "log.h"
#include "packet.h"

/* Largest MAC or tag we produce or check. */
#define PACKET_MAC_MAX 64
/* Work area: a whole packet plus its MAC. */
#define PACKET_WORK_SIZE (SSH_PACKET_MAX + 4 + PACKET_MAC_MAX)
/* Random padding bytes drawn at once (a packet takes 4 to block size + 3):
 * one RAND_bytes call per packet was a tenth of a sequential write's
 * syscalls (OpenSSL's fork check calls getpid each time). */
#define PACKET_PAD_POOL 1024

struct packet_dir {
	const struct cipher_alg *cipher;
	struct cipher_ctx *cctx;
	struct mac_ctx *mctx;
	enum packet_comp comp;
	bool comp_active;
	bool z_ready;
	z_stream z;
	uint32_t seq;
	struct packet_stats stats;
	/* Receive side, classic modes: first block already decrypted. */
	bool have_first;
	uint32_t first_len;
	uint8_t first[16];
	/* Receive side: bytes still to swallow after a bad length (no oracle). */
	size_t discard_left;
};

struct packet_io {
	struct packet_dir d[2];
	uint8_t *work;
	struct buf *zbuf;
	uint8_t pad[PACKET_PAD_POOL]; /* pad[pad_used..] not handed out yet */
	size_t pad_used;
};

static void dir_clear_keys(struct packet_dir *d)
{
	cipher_ctx_free(d->cctx);
	mac_ctx_free(d->mctx);
	d->cctx = NULL;
	d->mctx = NULL;
	d->cipher = cipher_alg_none();
	d->have_first = false;
	wipe(d->first, sizeof(d->first));
}

struct packet_io *packet_io_new(void)
{
	struct packet_io *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->work = malloc(PACKET_WORK_SIZE);
	p->zbuf = buf_new(SSH_PAYLOAD_INFLATED_MAX + 1024);
	if (p->work == NULL || p->zbuf == NULL) {
		packet_io_free(p);
		return NULL;
	}
	for (int i = 0; i < 2; i++)
		p->d[i].cipher = cipher_alg_none();
	p->pad_used = PACKET_PAD_POOL;
	return p;
}

/* n (<= PACKET_PAD_POOL) random bytes for padding, each used once. */
static int take_padding(struct packet_io *p, uint8_t *dst, size_t n)
{
	if (PACKET_PAD_POOL - p->pad_used < n) {
		if (RAND_bytes(p->pad, PACKET_PAD_POOL) != 1)
			return ERR_LIBCRYPTO;
		p->pad_used = 0;
	}
	memcpy(dst, p->pad + p->pad_used, n);
	wipe(p->pad + p->pad_used, n);
	p->pad_used += n;
	return 0;
}

void packet_io_free(struct packet_io *p)
{
	if (p == NULL)
		return;
	for (int i = 0; i < 2; i++) {
		dir_clear_keys(&p->d[i]);
		if (p->d[i].z_ready) {
			if (i == PACKET_TX)
				deflateEnd(&p->d[i].z);
			else
				inflateEnd(&p->d[i].z);
		}
	}
	if (p->work != NULL) {
		wipe(p->work, PACKET_WORK_SIZE);
		free(p->work);
	}
	buf_free(p->zbuf);
	wipe(p, sizeof(*p));
	free(p);
}

static int comp_start(struct packet_dir *d, enum packet_dir_id id)
{
	if (d->comp_active)
		return 0;
	/* The zlib stream continues across rekeys once started (as OpenSSH). */
	if (!d->z_ready) {
		memset(&d->z, 0, sizeof(d->z));
		if (id == PACKET_TX ? deflateInit(&d->z, Z_DEFAULT_COMPRESSION) != Z_OK : inflateInit(&d->z) != Z_OK)
			return ERR_ALLOC_FAIL;
		d->z_ready = true;
	}
	d->comp_active = true;
	return 0;
}

int packet_set_keys(struct packet_io *p, enum packet_dir_id dir, const struct packet_keys *k)
{
	struct packet_dir *d = &p->d[dir];
	struct cipher_ctx *cc = NULL;
	struct mac_ctx *mc = NULL;
	int r = ERR_INTERNAL;

	if (k->cipher->tag_len == 0 && k->cipher->kind != CIPHER_NONE && k->mac == NULL)
		return ERR_INVALID_ARGUMENT;
	if ((r = cipher_ctx_new(k->cipher, dir == PACKET_TX, k->key, k->iv, &cc)) != 0)
		goto out;
	if (k->cipher->tag_len == 0 && k->mac != NULL && (r = mac_ctx_new(k->mac, k->mac_key, &mc)) != 0)
		goto out;
	dir_clear_keys(d);
	d->cipher = k->cipher;
	d->cctx = cc;
	d->mctx = mc;
	cc = NULL;
	mc = NULL;
	memset(&d->stats, 0, sizeof(d->stats));
	d->comp = k->comp;
	if (k->comp == PACKET_COMP_ZLIB && (r = comp_start(d, dir)) != 0)
		goto out;
	r = 0;
out:
	cipher_ctx_free(cc);
	mac_ctx_free(mc);
	return r;
}

void packet_reset_seq(struct packet_io *p, enum packet_dir_id dir)
{
	p->d[dir].seq = 0;
}

uint32_t packet_seq(const struct packet_io *p, enum packet_dir_id dir)
{
	return p->d[dir].seq;
}

void packet_get_stats(const struct packet_io *p, enum packet_dir_id dir, struct packet_stats *out)
{
	*out = p->d[dir].stats;
}

int packet_start_delayed_compression(struct packet_io *p)
{
	int r;

	for (int i = 0; i < 2; i++) {
		if (p->d[i].comp == PACKET_COMP_ZLIB_DELAYED && (r = comp_start(&p->d[i], (enum packet_dir_id)i)) != 0)
			return r;
	}
	return 0;
}

const char *packet_cipher_name(const struct packet_io *p, enum packet_dir_id dir)
{
	return p->d[dir].cipher->name;
}

const char *packet_mac_name(const struct packet_io *p, enum packet_dir_id dir)
{
	const struct packet_dir *d = &p->d[dir];

	if (d->cipher->tag_len > 0)
		return "<implicit>";
	return d->mctx != NULL ? mac_ctx_alg(d->mctx)->name : "none";
}

const char *packet_comp_name(const struct packet_io *p, enum packet_dir_id dir)
{
	switch (p->d[dir].comp) {
	case PACKET_COMP_ZLIB:
		return "zlib";
	case PACKET_COMP_ZLIB_DELAYED:
		return "zlib@openssh.com";
	default:
		return "none";
	}
}

size_t packet_block_size(const struct packet_io *p, enum packet_dir_id dir)
{
	return p->d[dir].cipher->block_size;
}

static bool dir_aad(const struct packet_dir *d)
{
	return d->cipher->tag_len > 0 || (d->mctx != NULL && mac_ctx_alg(d->mctx)->etm);
}

static size_t dir_mac_len(const struct packet_dir *d)
{
	if (d->cipher->tag_len > 0)
		return d->cipher->tag_len;
	return d->mctx != NULL ? mac_ctx_alg(d->mctx)->mac_len : 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void count(struct packet_dir *d, size_t pktlen)
{
	d->stats.bytes += pktlen;
	d->stats.blocks += pktlen / d->cipher->block_size;
	d->stats.packets++;
	d->seq++; /* RFC 4253 §6.4: wraps modulo 2^32 */
}

/* Deflates len bytes of data into zbuf (appending) with the given flush. */
static int deflate_into(struct packet_io *p, const uint8_t *data, size_t len, int flush)
{
	z_stream *z = &p->d[PACKET_TX].z;
	uint8_t *dst;
	int r;

	z->next_in = (Bytef *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	do {
		if ((r = buf_reserve(p->zbuf, 4096, &dst)) != 0)
			return r;
		z->next_out = dst;
		z->avail_out = 4096;
		if (deflate(z, flush) != Z_OK)
			return ERR_INTERNAL;
		if ((r = buf_consume_end(p->zbuf, z->avail_out)) != 0)
			return r;
	} while (z->avail_out == 0);
	return 0;
}

/* The payload a then b, compressed into zbuf as one packet's, with a partial
 * flush so the peer can inflate it at once. */
static int compress_payload(struct packet_io *p, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int r;

	buf_reset(p->zbuf);
	if (blen == 0)
		return deflate_into(p, a, alen, Z_PARTIAL_FLUSH);
	if ((r = deflate_into(p, a, alen, Z_NO_FLUSH)) != 0)
		return r;
	return deflate_into(p, b, blen, Z_PARTIAL_FLUSH);
}

static int decompress_payload(struct packet_io *p, const uint8_t *data, size_t len, struct buf *out)
{
	z_stream *z = &p->d[PACKET_RX].z;
	size_t total = 0;
	uint8_t tmp[4096];
	int zr, r;

	z->next_in = (Bytef *)(uintptr_t)data;
	z->avail_in = (uInt)len;
	for (;;) {
		z->next_out = tmp;
		z->avail_out = sizeof(tmp);
		zr = inflate(z, Z_SYNC_FLUSH);
		if (zr != Z_OK && zr != Z_BUF_ERROR)
			return ERR_DECOMPRESS;
		size_t got = sizeof(tmp) - z->avail_out;
		if (got > SSH_PAYLOAD_INFLATED_MAX - total)
			return ERR_DECOMPRESS; /* bound on expansion */
		total += got;
		if (got > 0 && (r = buf_put(out, tmp, got)) != 0)
			return r;
		if (z->avail_in == 0 && z->avail_out != 0)
			break;
		if (zr == Z_BUF_ERROR && got == 0)
			return ERR_DECOMPRESS;
	}
	return total > 0 ? 0 : ERR_DECOMPRESS;
}

int packet_write(struct packet_io *p, const uint8_t *payload, size_t plen, struct buf *out)
{
	return packet_write2(p, payload, plen, NULL, 0, out);
}

int packet_write2(struct packet_io *p, const uint8_t *payload, size_t alen, const uint8_t *tail, size_t blen,
		  struct buf *out)
{
	struct packet_dir *d = &p->d[PACKET_TX];
	size_t bs = d->cipher->block_size, authlen = dir_mac_len(d), padlen, len, total, plen;
	bool aad = dir_aad(d);
	uint8_t *pkt;
	int r;

	if (alen == 0 || alen > SSH_PACKET_MAX - 64 || blen > SSH_PACKET_MAX - 64 - alen)
		return ERR_INVALID_ARGUMENT;
	if (d->comp_active) {
		if ((r = compress_payload(p, payload, alen, tail, blen)) != 0)
			return r;
		payload = buf_peek(p->zbuf);
		alen = buf_len(p->zbuf);
		blen = 0;
		if (alen > SSH_PACKET_MAX - 64)
			return ERR_LIMIT_EXCEEDED;
	}
	plen = alen + blen;
	/* RFC 4253 §6: at least 4 bytes of padding, aligned to the block size. */
	padlen = bs - (((aad ? 0 : 4) + 1 + plen) % bs);
	if (padlen < 4)
		padlen += bs;
	len = 1 + plen + padlen;
	total = 4 + len + authlen;
	if ((r = buf_reserve(out, total, &pkt)) != 0)
		return r;
	put32(pkt, (uint32_t)len);
	pkt[4] = (uint8_t)padlen;
	memcpy(pkt + 5, payload, alen);
	if (blen > 0)
		memcpy(pkt + 5 + alen, tail, blen);
	if ((r = take_padding(p, pkt + 5 + plen, padlen)) != 0)
		goto fail;
	switch (d->cipher->kind) {
	case CIPHER_NONE:
		break;
	case CIPHER_CHACHAPOLY:
		r = cipher_chachapoly_seal(d->cctx, d->seq, pkt, 4 + len, pkt + 4 + len);
		break;
	case CIPHER_AES_GCM:
		r = cipher_gcm_seal(d->cctx, pkt, 4, pkt + 4, len, pkt + 4 + len);
		break;
	case CIPHER_AES_CTR:
		if (aad) {
			/* EtM: encrypt, then MAC the length and ciphertext. */
			if ((r = cipher_ctr_crypt(d->cctx, pkt + 4, len)) == 0)
				r = mac_compute(d->mctx, d->seq, pkt, 4 + len, pkt + 4 + len);
		} else {
			if ((r = mac_compute(d->mctx, d->seq, pkt, 4 + len, pkt + 4 + len)) == 0)
				r = cipher_ctr_crypt(d->cctx, pkt, 4 + len);
		}
		break;
	}
	if (r != 0)
		goto fail;
	count(d, 4 + len);
	return 0;
fail:
	/* Take back the reserved, unfinished bytes. */
	if (buf_consume_end(out, total) != 0)
		return ERR_INTERNAL;
	return r;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Strip padding, decompress, append the payload; plain points at padding_length. */
static int deliver(struct packet_io *p, struct packet_dir *d, const uint8_t *plain, size_t len, struct buf *payload)
{
	size_t padlen = plain[0], plen;

	/* RFC 4253 §6: padding is at least 4 bytes; the payload at least the message number. */
	if (padlen < 4 || padlen >= len || len - 1 - padlen < 1)
		return ERR_PROTOCOL;
	plen = len - 1 - padlen;
	if (d->comp_active)
		return decompress_payload(p, plain + 1, plen, payload);
	return buf_put(payload, plain + 1, plen);
}

static int read_aad(struct packet_io *p, struct packet_dir *d, struct buf *in, struct buf *payload)
{
	size_t bs = d->cipher->block_size, authlen = dir_mac_len(d), have = buf_len(in);
	const uint8_t *raw = buf_peek(in);
	uint8_t *w = p->work;
	uint32_t len;
	int r;

	if (have < 4)
		return ERR_MESSAGE_INCOMPLETE;
	if (d->cipher->kind == CIPHER_CHACHAPOLY) {
		if ((r = cipher_chachapoly_decrypt_length(d->cctx, d->seq, raw, &len)) != 0)
			return r;
	} else {
		len = get32(raw);
	}
	/* The length is authenticated with the rest, so a bad one is simply fatal. */
	if (len < 8 || len > SSH_PACKET_MAX || len % bs != 0)
		return ERR_PROTOCOL;
	if (have - 4 < (size_t)len + authlen)
		return ERR_MESSAGE_INCOMPLETE;
	memcpy(w, raw, 4 + len + authlen);
	switch (d->cipher->kind) {
	case CIPHER_CHACHAPOLY:
		r = cipher_chachapoly_open(d->cctx, d->seq, w, 4 + len, w + 4 + len);
		break;
	case CIPHER_AES_GCM:
		r = cipher_gcm_open(d->cctx, w, 4, w + 4, len, w + 4 + len);
		break;
	case CIPHER_AES_CTR: {
		uint8_t want[PACKET_MAC_MAX];

		/* EtM: verify the MAC over length and ciphertext before decrypting. */
		if ((r = mac_compute(d->mctx, d->seq, w, 4 + len, want)) != 0)
			break;
		if (ct_memcmp(want, w + 4 + len, authlen) != 0) {
			r = ERR_MAC_INVALID;
			break;
		}
		r = cipher_ctr_crypt(d->cctx, w + 4, len);
		break;
	}
	default:
		r = ERR_INTERNAL;
	}
	if (r != 0)
		return r;
	if ((r = buf_consume(in, 4 + len + authlen)) != 0)
		return r;
	count(d, 4 + len);
	return deliver(p, d, w + 4, len, payload);
}

static int read_classic(struct packet_io *p, struct packet_dir *d, struct buf *in, struct buf *payload)
{
	size_t bs = d->cipher->block_size, authlen = dir_mac_len(d), have = buf_len(in);
	const uint8_t *raw = buf_peek(in);
	uint8_t *w = p->work;
	uint8_t want[PACKET_MAC_MAX];
	uint32_t len;
	int r;

	if (d->discard_left > 0) {
		size_t n = have < d->discard_left ? have : d->discard_left;

		if ((r = buf_consume(in, n)) != 0)
			return r;
		d->discard_left -= n;
		return d->discard_left == 0 ? ERR_MAC_INVALID : ERR_MESSAGE_INCOMPLETE;
	}
	if (!d->have_first) {
		if (have < bs)
			return ERR_MESSAGE_INCOMPLETE;
		memcpy(d->first, raw, bs);
		if (d->cipher->kind == CIPHER_AES_CTR && (r = cipher_ctr_crypt(d->cctx, d->first, bs)) != 0)
			return r;
		d->have_first = true;
		d->first_len = get32(d->first);
		if (d->first_len < 12 || d->first_len > SSH_PACKET_MAX || (d->first_len + 4) % bs != 0) {
			/*
			 * No oracle: swallow as much as the largest packet would take,
			 * then fail exactly as a MAC error would (OpenSSH packet.c
			 * ssh_packet_start_discard).
			 */
			d->discard_left = SSH_PACKET_MAX + authlen;
			log_debug(LOG_CAT_TRANSPORT, "bad packet length; discarding");
			return read_classic(p, d, in, payload);
		}
	}
	len = d->first_len;
	if (have - 4 < (size_t)len + authlen)
		return ERR_MESSAGE_INCOMPLETE;
	memcpy(w, d->first, bs);
	memcpy(w + bs, raw + bs, 4 + len - bs);
	if (d->cipher->kind == CIPHER_AES_CTR && (r = cipher_ctr_crypt(d->cctx, w + bs, 4 + len - bs)) != 0)
		return r;
	d->have_first = false;
	wipe(d->first, sizeof(d->first));
	if (d->mctx != NULL) {
		if ((r = mac_compute(d->mctx, d->seq, w, 4 + len, want)) != 0)
			return r;
		if (ct_memcmp(want, raw + 4 + len, authlen) != 0)
			return ERR_MAC_INVALID;
	}
	if ((r = buf_consume(in, 4 + len + authlen)) != 0)
		return r;
	count(d, 4 + len);
	return deliver(p, d, w + 4, len, payload);
}

int packet_read(struct packet_io *p, struct buf *in, struct buf *payload)
{
	struct packet_dir *d = &p->d[PACKET_RX];

	if (d->cipher->kind != CIPHER_NONE && dir_aad(d))
		return read_aad(p, d, in, payload);
	return read_classic(p, d, in, payload);
}
