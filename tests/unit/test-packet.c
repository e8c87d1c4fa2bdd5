/*
 * test-packet.c - the binary packet layer (src/packet.c, RFC 4253 §6):
 * round trips through every cipher and MAC mode with and without zlib,
 * byte-at-a-time delivery, a flipped bit anywhere in a packet (always an
 * error, never a wrong payload), a bad length in MAC-then-encrypt mode
 * (swallowed like a maximal packet, then reported as a MAC error: no length
 * oracle), oversized packets, the inflate bound (a zlib bomb), and
 * padding bytes never handed out twice.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include <zlib.h>

#include "buf.h"
#include "cipher.h"
#include "limits.h"
#include "packet.h"

struct mode {
	const char *cipher;
	const char *mac;
	enum packet_comp comp;
};

static const struct mode modes[] = {
	{.cipher = "none"},
	{.cipher = "chacha20-poly1305@openssh.com"},
	{.cipher = "aes128-gcm@openssh.com"},
	{.cipher = "aes256-gcm@openssh.com"},
	{.cipher = "aes128-ctr", .mac = "hmac-sha2-256"},
	{.cipher = "aes192-ctr", .mac = "hmac-sha2-512"},
	{.cipher = "aes256-ctr", .mac = "hmac-sha2-256-etm@openssh.com"},
	{.cipher = "aes256-ctr", .mac = "hmac-sha2-512-etm@openssh.com"},
	{.cipher = "aes128-ctr", .mac = "hmac-sha1"},
	{.cipher = "chacha20-poly1305@openssh.com", .comp = PACKET_COMP_ZLIB},
	{.cipher = "aes128-ctr", .mac = "hmac-sha2-256", .comp = PACKET_COMP_ZLIB},
	{.cipher = "aes128-gcm@openssh.com", .comp = PACKET_COMP_ZLIB_DELAYED},
};

static void pair_new(const struct mode *m, struct packet_io **tx, struct packet_io **rx)
{
	struct packet_keys k;

	memset(&k, 0, sizeof(k));
	for (size_t i = 0; i < sizeof(k.key); i++)
		k.key[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(k.iv); i++)
		k.iv[i] = (uint8_t)(i * 3 + 2);
	for (size_t i = 0; i < sizeof(k.mac_key); i++)
		k.mac_key[i] = (uint8_t)(i * 5 + 3);
	k.cipher = strcmp(m->cipher, "none") == 0 ? cipher_alg_none() : cipher_alg_by_name(m->cipher);
	g_assert_nonnull(k.cipher);
	k.mac = m->mac != NULL ? mac_alg_by_name(m->mac) : NULL;
	k.comp = m->comp;
	*tx = packet_io_new();
	*rx = packet_io_new();
	if (strcmp(m->cipher, "none") != 0) {
		g_assert_cmpint(packet_set_keys(*tx, PACKET_TX, &k), ==, 0);
		g_assert_cmpint(packet_set_keys(*rx, PACKET_RX, &k), ==, 0);
	}
	if (m->comp == PACKET_COMP_ZLIB_DELAYED) {
		g_assert_cmpint(packet_start_delayed_compression(*tx), ==, 0);
		g_assert_cmpint(packet_start_delayed_compression(*rx), ==, 0);
	}
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	p[0] = (uint8_t)(50 + seed % 50);
	for (size_t i = 1; i < n; i++)
		p[i] = (uint8_t)((i * 31 + seed) & 0xff);
}

static void test_roundtrip(void)
{
	static const size_t sizes[] = {1, 2, 7, 15, 16, 17, 100, 1000, 32768, 65536, 200000};

	for (size_t mi = 0; mi < G_N_ELEMENTS(modes); mi++) {
		struct packet_io *tx, *rx;
		struct buf *wire = buf_new(0), *out = buf_new(0);
		uint8_t *data = g_malloc(200000);

		pair_new(&modes[mi], &tx, &rx);
		for (size_t si = 0; si < G_N_ELEMENTS(sizes); si++) {
			fill(data, sizes[si], (unsigned)si);
			g_assert_cmpint(packet_write(tx, data, sizes[si], wire), ==, 0);
		}
		for (size_t si = 0; si < G_N_ELEMENTS(sizes); si++) {
			buf_reset(out);
			g_assert_cmpint(packet_read(rx, wire, out), ==, 0);
			fill(data, sizes[si], (unsigned)si);
			g_assert_cmpmem(buf_peek(out), buf_len(out), data, sizes[si]);
		}
		g_assert_cmpuint(buf_len(wire), ==, 0);
		g_assert_cmpuint(packet_seq(tx, PACKET_TX), ==, G_N_ELEMENTS(sizes));
		g_assert_cmpuint(packet_seq(rx, PACKET_RX), ==, G_N_ELEMENTS(sizes));
		g_free(data);
		buf_free(wire);
		buf_free(out);
		packet_io_free(tx);
		packet_io_free(rx);
	}
}

/* A payload given in two pieces (packet_write2: channel data framed where it
 * lies) arrives as the one payload they make, in every mode, zlib included. */
static void test_two_pieces(void)
{
	static const size_t heads[] = {1, 9, 9, 13};
	static const size_t tails[] = {0, 1, 32768, 100000};

	for (size_t mi = 0; mi < G_N_ELEMENTS(modes); mi++) {
		struct packet_io *tx, *rx;
		struct buf *wire = buf_new(0), *out = buf_new(0);
		uint8_t *data = g_malloc(200000);

		pair_new(&modes[mi], &tx, &rx);
		for (size_t i = 0; i < G_N_ELEMENTS(heads); i++) {
			fill(data, heads[i] + tails[i], (unsigned)i);
			g_assert_cmpint(packet_write2(tx, data, heads[i], tails[i] > 0 ? data + heads[i] : NULL, tails[i],
						      wire), ==, 0);
		}
		/* and the empty head is refused */
		g_assert_cmpint(packet_write2(tx, data, 0, data, 10, wire), ==, ERR_INVALID_ARGUMENT);
		for (size_t i = 0; i < G_N_ELEMENTS(heads); i++) {
			buf_reset(out);
			g_assert_cmpint(packet_read(rx, wire, out), ==, 0);
			fill(data, heads[i] + tails[i], (unsigned)i);
			g_assert_cmpmem(buf_peek(out), buf_len(out), data, heads[i] + tails[i]);
		}
		g_assert_cmpuint(buf_len(wire), ==, 0);
		g_free(data);
		buf_free(wire);
		buf_free(out);
		packet_io_free(tx);
		packet_io_free(rx);
	}
}

/* Delivered one byte at a time, every packet still arrives whole and once. */
static void test_byte_at_a_time(void)
{
	for (size_t mi = 0; mi < G_N_ELEMENTS(modes); mi++) {
		struct packet_io *tx, *rx;
		struct buf *wire = buf_new(0), *in = buf_new(0), *out = buf_new(0);
		uint8_t data[300];
		unsigned got = 0;

		pair_new(&modes[mi], &tx, &rx);
		for (unsigned i = 0; i < 3; i++) {
			fill(data, sizeof(data), i);
			g_assert_cmpint(packet_write(tx, data, sizeof(data), wire), ==, 0);
		}
		while (buf_len(wire) > 0) {
			int r;

			g_assert_cmpint(buf_put(in, buf_peek(wire), 1), ==, 0);
			g_assert_cmpint(buf_consume(wire, 1), ==, 0);
			buf_reset(out);
			r = packet_read(rx, in, out);
			if (r == ERR_MESSAGE_INCOMPLETE)
				continue;
			g_assert_cmpint(r, ==, 0);
			fill(data, sizeof(data), got++);
			g_assert_cmpmem(buf_peek(out), buf_len(out), data, sizeof(data));
		}
		g_assert_cmpuint(got, ==, 3);
		buf_free(wire);
		buf_free(in);
		buf_free(out);
		packet_io_free(tx);
		packet_io_free(rx);
	}
}

/* A flipped bit anywhere is an error for every authenticated mode. */
static void test_tamper(void)
{
	for (size_t mi = 1; mi < G_N_ELEMENTS(modes); mi++) {
		struct packet_io *tx, *rx;
		struct buf *wire = buf_new(0);
		uint8_t data[100];
		size_t len;

		pair_new(&modes[mi], &tx, &rx);
		fill(data, sizeof(data), 9);
		g_assert_cmpint(packet_write(tx, data, sizeof(data), wire), ==, 0);
		len = buf_len(wire);
		for (size_t pos = 0; pos < len; pos++) {
			struct packet_io *t2, *r2;
			struct buf *bad = buf_new(0), *out = buf_new(0);
			uint8_t *p;
			int r;

			pair_new(&modes[mi], &t2, &r2);
			g_assert_cmpint(buf_reserve(bad, len, &p), ==, 0);
			memcpy(p, buf_peek(wire), len);
			p[pos] ^= 0x04;
			/* A corrupted length may ask for more bytes; supply plenty of zeros. */
			r = packet_read(r2, bad, out);
			for (int i = 0; r == ERR_MESSAGE_INCOMPLETE && i < 64; i++) {
				uint8_t zeros[8192] = {0};

				g_assert_cmpint(buf_put(bad, zeros, sizeof(zeros)), ==, 0);
				r = packet_read(r2, bad, out);
			}
			g_assert_cmpint(r, !=, 0);
			g_assert_cmpint(r, !=, ERR_MESSAGE_INCOMPLETE);
			buf_free(bad);
			buf_free(out);
			packet_io_free(t2);
			packet_io_free(r2);
		}
		buf_free(wire);
		packet_io_free(tx);
		packet_io_free(rx);
	}
}

/*
 * MAC-then-encrypt: a bad length is not reported at once (that would be a
 * length oracle); the reader swallows SSH_PACKET_MAX + MAC bytes first.
 */
static void test_no_length_oracle(void)
{
	struct packet_io *tx, *rx;
	struct buf *wire = buf_new(0), *out = buf_new(0);
	uint8_t data[40], zeros[4096] = {0};
	size_t fed = 0;
	int r;

	pair_new(&modes[4], &tx, &rx); /* aes128-ctr + hmac-sha2-256 */
	fill(data, sizeof(data), 1);
	g_assert_cmpint(packet_write(tx, data, sizeof(data), wire), ==, 0);
	buf_mutable_peek(wire)[0] ^= 0x80; /* length now > SSH_PACKET_MAX */
	fed = buf_len(wire);
	r = packet_read(rx, wire, out);
	while (r == ERR_MESSAGE_INCOMPLETE) {
		g_assert_cmpuint(fed, <=, SSH_PACKET_MAX + 64 + sizeof(zeros));
		g_assert_cmpint(buf_put(wire, zeros, sizeof(zeros)), ==, 0);
		fed += sizeof(zeros);
		r = packet_read(rx, wire, out);
	}
	g_assert_cmpint(r, ==, ERR_MAC_INVALID);
	g_assert_cmpuint(fed, >=, SSH_PACKET_MAX);
	buf_free(wire);
	buf_free(out);
	packet_io_free(tx);
	packet_io_free(rx);
}

/* AEAD / EtM modes: a length over SSH_PACKET_MAX is refused before reading the body. */
static void test_oversized_aead(void)
{
	struct packet_io *tx, *rx;
	struct buf *in = buf_new(0), *out = buf_new(0);
	uint8_t hdr[4] = {0x00, 0x10, 0x00, 0x10}; /* 1 MiB + 16 */

	pair_new(&modes[2], &tx, &rx);
	g_assert_cmpint(buf_put(in, hdr, 4), ==, 0);
	g_assert_cmpint(packet_read(rx, in, out), ==, ERR_PROTOCOL);
	buf_free(in);
	buf_free(out);
	packet_io_free(tx);
	packet_io_free(rx);
}

/* A small compressed packet inflating past SSH_PAYLOAD_INFLATED_MAX is refused. */
static void test_zlib_bomb(void)
{
	struct packet_io *tx, *rx;
	struct buf *wire = buf_new(0), *out = buf_new(0);
	z_stream z;
	uint8_t *zeros = g_malloc0(4 * SSH_PAYLOAD_INFLATED_MAX), comp[65536];
	size_t clen;

	/* The sender's stream: raw deflate of 1 MiB of zeros, then sent uncompressed by a plain sender. */
	memset(&z, 0, sizeof(z));
	g_assert_cmpint(deflateInit(&z, Z_BEST_COMPRESSION), ==, Z_OK);
	zeros[0] = 94;
	z.next_in = zeros;
	z.avail_in = 4 * SSH_PAYLOAD_INFLATED_MAX;
	z.next_out = comp;
	z.avail_out = sizeof(comp);
	g_assert_cmpint(deflate(&z, Z_SYNC_FLUSH), ==, Z_OK);
	clen = sizeof(comp) - z.avail_out;
	deflateEnd(&z);
	{
		struct mode plain = {.cipher = "aes128-gcm@openssh.com"};
		struct mode zl = {.cipher = "aes128-gcm@openssh.com", .comp = PACKET_COMP_ZLIB};
		struct packet_io *t1, *r1;

		pair_new(&plain, &tx, &r1);
		pair_new(&zl, &t1, &rx);
		g_assert_cmpint(packet_write(tx, comp, clen, wire), ==, 0);
		g_assert_cmpint(packet_read(rx, wire, out), ==, ERR_DECOMPRESS);
		g_assert_cmpuint(buf_len(out), <=, SSH_PAYLOAD_INFLATED_MAX);
		packet_io_free(t1);
		packet_io_free(r1);
	}
	g_free(zeros);
	buf_free(wire);
	buf_free(out);
	packet_io_free(tx);
	packet_io_free(rx);
}

/* Strict KEX: sequence numbers restart at 0 when asked. */
static void test_seq_reset(void)
{
	struct packet_io *tx, *rx;
	struct buf *wire = buf_new(0), *out = buf_new(0);
	uint8_t d[10];

	pair_new(&modes[6], &tx, &rx); /* aes256-ctr + hmac-sha2-256-etm: the MAC covers seq */
	fill(d, sizeof(d), 0);
	g_assert_cmpint(packet_write(tx, d, sizeof(d), wire), ==, 0);
	g_assert_cmpint(packet_read(rx, wire, out), ==, 0);
	packet_reset_seq(tx, PACKET_TX);
	g_assert_cmpuint(packet_seq(tx, PACKET_TX), ==, 0);
	g_assert_cmpint(packet_write(tx, d, sizeof(d), wire), ==, 0);
	/* The receiver did not reset: the MAC (over seq 1) fails. */
	g_assert_cmpint(packet_read(rx, wire, out), ==, ERR_MAC_INVALID);
	buf_free(wire);
	buf_free(out);
	packet_io_free(tx);
	packet_io_free(rx);
}

/*
 * Random padding comes from a pool refilled in one RAND_bytes call: across
 * more packets than one pool serves, no packet repeats the padding of the
 * last packet with as much padding (a pool not advanced, or reused after
 * its refill).
 */
static void test_padding_fresh(void)
{
	struct packet_io *tx, *rx;
	struct buf *wire = buf_new(1u << 20);
	uint8_t data[27] = {0}, last[32][32];
	bool seen[32] = {false};

	pair_new(&modes[0], &tx, &rx);
	for (unsigned i = 0; i < 600; i++) {
		size_t len = sizeof(data) - (i % 8), padlen;
		const uint8_t *pad;

		buf_reset(wire);
		data[0] = (uint8_t)(1 + (i % 200));
		g_assert_cmpint(packet_write(tx, data, len, wire), ==, 0);
		padlen = buf_peek(wire)[4];
		g_assert_cmpuint(padlen, >=, 4);
		g_assert_cmpuint(padlen, <, 32);
		g_assert_cmpuint(buf_len(wire), ==, 5 + len + padlen);
		pad = buf_peek(wire) + 5 + len;
		if (seen[padlen])
			g_assert_false(memcmp(pad, last[padlen], padlen) == 0);
		memcpy(last[padlen], pad, padlen);
		seen[padlen] = true;
	}
	packet_io_free(tx);
	packet_io_free(rx);
	buf_free(wire);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/packet/roundtrip", test_roundtrip);
	g_test_add_func("/packet/two-pieces", test_two_pieces);
	g_test_add_func("/packet/byte-at-a-time", test_byte_at_a_time);
	g_test_add_func("/packet/tamper", test_tamper);
	g_test_add_func("/packet/no-length-oracle", test_no_length_oracle);
	g_test_add_func("/packet/oversized-aead", test_oversized_aead);
	g_test_add_func("/packet/zlib-bomb", test_zlib_bomb);
	g_test_add_func("/packet/seq-reset", test_seq_reset);
	g_test_add_func("/packet/padding-fresh", test_padding_fresh);
	return g_test_run();
}
