/*
 * test-transport.c - the client transport core (src/transport.c) against a
 * scripted in-memory server built from the same packet layer: version
 * exchange with banner lines and their bounds, a full curve25519-sha256 key
 * exchange with an Ed25519 host key (signature over the exchange hash),
 * strict KEX (OpenSSH PROTOCOL §1.10: sequence numbers reset at NEWKEYS, any
 * non-KEX message during the initial exchange is fatal), the ssh-userauth
 * service request, ext-info server-sig-algs (RFC 8308), rekeying started by
 * either side while payloads flow (queued during KEX, none lost or
 * reordered), and SSH_MSG_UNIMPLEMENTED for unknown messages. The exchange
 * and rekeys also run with the post-quantum hybrids mlkem768x25519-sha256 and
 * sntrup761x25519-sha512[@openssh.com].
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "cipher.h"
#include "kex.h"
#include "packet.h"
#include "ssh2.h"
#include "ssh-peer.h"
#include "transport.h"

static void send_app(struct transport *t, uint32_t v)
{
	struct buf *m = buf_new(0);

	g_assert_cmpint(buf_put_u8(m, 94), ==, 0);
	g_assert_cmpint(buf_put_u32(m, v), ==, 0);
	g_assert_cmpint(transport_send(t, buf_peek(m), buf_len(m)), ==, 0);
	buf_free(m);
}

static void peer_send_app(struct peer *p, uint8_t type, uint32_t v)
{
	struct buf *m = buf_new(0);

	g_assert_cmpint(buf_put_u8(m, type), ==, 0);
	g_assert_cmpint(buf_put_u32(m, v), ==, 0);
	peer_send(p, m);
	buf_free(m);
}

static void full_exchange_comp(const char *kex, const char *ciphers, const char *macs, const char *comp)
{
	struct peer p;
	struct client c;
	struct transport *t;
	struct transport_info info;
	uint32_t v = 0, pv = 0;

	peer_init(&p, true, ciphers, macs);
	p.kex = kex;
	p.compression = comp;
	p.send_ext_info = true;
	t = client_new(&p, &c, ciphers, macs);
	/* Banner lines before the version line are allowed (RFC 4253 §4.2). */
	g_assert_cmpint(buf_put(p.out, "hello\r\nsecond line\n", 19), ==, 0);
	g_assert_cmpint(buf_put(p.out, SERVER_VERSION "\r\n", strlen(SERVER_VERSION) + 2), ==, 0);
	peer_send_kexinit(&p);
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_true(transport_ready(t));
	transport_get_info(t, &info);
	g_assert_true(info.strict_kex);
	g_assert_cmpstr(info.kex, ==, kex);
	g_assert_cmpstr(info.cipher_c2s, ==, ciphers);
	g_assert_cmpstr(info.comp_c2s, ==, comp);
	g_assert_cmpstr(info.comp_s2c, ==, comp);
	g_assert_cmpstr(info.server_sig_algs, ==, "ssh-ed25519,rsa-sha2-512");
	g_assert_cmpstr(info.server_version, ==, SERVER_VERSION);

	/* Client-initiated rekey while both sides keep sending. */
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 5; i++) {
			send_app(t, ++v);
			peer_send_app(&p, 94, ++pv);
		}
		g_assert_cmpint(transport_rekey(t), ==, 0);
		g_assert_true(transport_in_kex(t));
		for (int i = 0; i < 5; i++) {
			send_app(t, ++v); /* queued until our NEWKEYS */
			peer_send_app(&p, 94, ++pv);
		}
		g_assert_cmpint(pump(t, &p), ==, 0);
		g_assert_false(transport_in_kex(t));
	}
	/* Server-initiated rekeys. */
	for (int round = 0; round < 2; round++) {
		peer_send_app(&p, 94, ++pv); /* data right before its KEXINIT */
		peer_send_kexinit(&p);
		for (int i = 0; i < 5; i++)
			send_app(t, ++v);
		g_assert_cmpint(pump(t, &p), ==, 0);
	}
	transport_get_info(t, &info);
	g_assert_cmpuint(info.rekeys_by_us, ==, 3);
	g_assert_cmpuint(info.rekeys_by_peer, ==, 2);
	g_assert_cmpuint(info.kex_count, ==, 6);
	g_assert_cmpuint(p.kex_done, ==, 6);
	g_assert_cmpuint(p.app_received, ==, v);
	g_assert_true(p.order_ok);
	g_assert_cmpuint(c.payloads, ==, pv);
	g_assert_true(c.order_ok);
	/* RFC 4253 §11.4: an unknown message gets UNIMPLEMENTED. */
	peer_send_app(&p, 200, 0);
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_cmpuint(p.unimplemented, ==, 1);
	transport_free(t);
	peer_free(&p);
}

static void full_exchange_kex(const char *kex, const char *ciphers, const char *macs)
{
	full_exchange_comp(kex, ciphers, macs, "none");
}

/* Plain zlib (RFC 4253 §6.2): every packet after the first NEWKEYS is
 * compressed both ways, across the rekeys (the streams carry on). Neither
 * Debian's OpenSSH nor its Dropbear offers it any more (only the delayed
 * zlib@openssh.com), so the scripted peer speaks it here. */
static void test_exchange_zlib(void)
{
	full_exchange_comp("curve25519-sha256", "aes128-gcm@openssh.com", "hmac-sha2-256", "zlib");
}

static void full_exchange(const char *ciphers, const char *macs)
{
	full_exchange_kex("curve25519-sha256", ciphers, macs);
}

/* The post-quantum hybrids (kex_hybrid.c) through the same exchange and rekeys. */
static void test_exchange_hybrid(gconstpointer kex)
{
	full_exchange_kex(kex, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
}

static void test_exchange_chacha(void)
{
	full_exchange("chacha20-poly1305@openssh.com", "hmac-sha2-256");
}

static void test_exchange_gcm(void)
{
	full_exchange("aes256-gcm@openssh.com", "hmac-sha2-256");
}

static void test_exchange_ctr_etm(void)
{
	full_exchange("aes128-ctr", "hmac-sha2-512-etm@openssh.com");
}

static void test_exchange_ctr_mte(void)
{
	full_exchange("aes192-ctr", "hmac-sha2-256");
}

/* Terrapin: an IGNORE before the server's KEXINIT is fatal under strict KEX. */
static void test_strict_rejects_ignore(void)
{
	struct peer p;
	struct client c;
	struct transport *t;
	struct buf *m = buf_new(0);

	peer_init(&p, true, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	t = client_new(&p, &c, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	g_assert_cmpint(buf_put(p.out, SERVER_VERSION "\r\n", strlen(SERVER_VERSION) + 2), ==, 0);
	g_assert_cmpint(buf_put_u8(m, SSH2_MSG_IGNORE), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, "x"), ==, 0);
	peer_send(&p, m);
	peer_send_kexinit(&p);
	g_assert_cmpint(pump(t, &p), ==, ERR_KEX_STRICT);
	g_assert_false(transport_ready(t));
	transport_free(t);
	peer_free(&p);
	buf_free(m);
}

/* Strict KEX also refuses IGNORE between KEXINIT and NEWKEYS. */
static void test_strict_rejects_ignore_mid_kex(void)
{
	struct peer p;
	struct client c;
	struct transport *t;
	struct buf *m = buf_new(0);

	peer_init(&p, true, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	t = client_new(&p, &c, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	g_assert_cmpint(buf_put(p.out, SERVER_VERSION "\r\n", strlen(SERVER_VERSION) + 2), ==, 0);
	peer_send_kexinit(&p);
	g_assert_cmpint(buf_put_u8(m, SSH2_MSG_DEBUG), ==, 0);
	g_assert_cmpint(buf_put_u8(m, 0), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, "x"), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, ""), ==, 0);
	peer_send(&p, m);
	g_assert_cmpint(pump(t, &p), ==, ERR_KEX_STRICT);
	transport_free(t);
	peer_free(&p);
	buf_free(m);
}

/* Without strict KEX (an older server), IGNORE during the exchange is harmless. */
static void test_nonstrict_allows_ignore(void)
{
	struct peer p;
	struct client c;
	struct transport *t;
	struct transport_info info;
	struct buf *m = buf_new(0);

	peer_init(&p, false, "aes128-gcm@openssh.com", "hmac-sha2-256");
	t = client_new(&p, &c, "aes128-gcm@openssh.com", "hmac-sha2-256");
	g_assert_cmpint(buf_put(p.out, SERVER_VERSION "\r\n", strlen(SERVER_VERSION) + 2), ==, 0);
	peer_send_kexinit(&p);
	g_assert_cmpint(buf_put_u8(m, SSH2_MSG_IGNORE), ==, 0);
	g_assert_cmpint(buf_put_cstring(m, "x"), ==, 0);
	peer_send(&p, m);
	g_assert_cmpint(pump(t, &p), ==, 0);
	g_assert_true(transport_ready(t));
	transport_get_info(t, &info);
	g_assert_false(info.strict_kex);
	g_assert_null(info.server_sig_algs);
	transport_free(t);
	peer_free(&p);
	buf_free(m);
}

static int feed_version(const char *text)
{
	struct peer p;
	struct client c;
	struct transport *t;
	int r;

	peer_init(&p, true, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	t = client_new(&p, &c, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	r = transport_input(t, (const uint8_t *)text, strlen(text));
	transport_free(t);
	peer_free(&p);
	return r;
}

static void test_version_lines(void)
{
	GString *many = g_string_new(NULL);

	g_assert_cmpint(feed_version("SSH-1.5-old\r\n"), ==, ERR_PROTOCOL);
	g_assert_cmpint(feed_version("SSH-2.0-ok\r\n"), ==, 0);
	g_assert_cmpint(feed_version("SSH-1.99-compat\n"), ==, 0);
	/* A line longer than 255 bytes is refused (RFC 4253 §4.2). */
	for (int i = 0; i < 300; i++)
		g_string_append_c(many, 'x');
	g_assert_cmpint(feed_version(many->str), ==, ERR_PROTOCOL);
	/* Too many banner lines are refused. */
	g_string_truncate(many, 0);
	for (int i = 0; i < 1100; i++)
		g_string_append(many, "banner\r\n");
	g_assert_cmpint(feed_version(many->str), ==, ERR_LIMIT_EXCEEDED);
	g_string_free(many, TRUE);
}

/* A KEXINIT naming nothing we support fails with "no matching algorithm". */
static void test_no_common_cipher(void)
{
	struct peer p;
	struct client c;
	struct transport *t;

	peer_init(&p, true, "aes128-ctr", "hmac-sha2-256");
	t = client_new(&p, &c, "chacha20-poly1305@openssh.com", "hmac-sha2-256");
	g_assert_cmpint(buf_put(p.out, SERVER_VERSION "\r\n", strlen(SERVER_VERSION) + 2), ==, 0);
	peer_send_kexinit(&p);
	g_assert_cmpint(pump(t, &p), ==, ERR_NO_MATCH);
	transport_free(t);
	peer_free(&p);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/transport/exchange-rekey/chacha20-poly1305", test_exchange_chacha);
	g_test_add_func("/transport/exchange-rekey/aes256-gcm", test_exchange_gcm);
	g_test_add_func("/transport/exchange-rekey/aes128-ctr-etm", test_exchange_ctr_etm);
	g_test_add_func("/transport/exchange-rekey/aes192-ctr-hmac", test_exchange_ctr_mte);
	g_test_add_func("/transport/exchange-rekey/zlib", test_exchange_zlib);
	g_test_add_data_func("/transport/exchange-rekey/mlkem768x25519-sha256", "mlkem768x25519-sha256",
			     test_exchange_hybrid);
	g_test_add_data_func("/transport/exchange-rekey/sntrup761x25519-sha512", "sntrup761x25519-sha512",
			     test_exchange_hybrid);
	g_test_add_data_func("/transport/exchange-rekey/sntrup761x25519-sha512@openssh.com",
			     "sntrup761x25519-sha512@openssh.com", test_exchange_hybrid);
	g_test_add_func("/transport/strict-kex/ignore-before-kexinit", test_strict_rejects_ignore);
	g_test_add_func("/transport/strict-kex/debug-during-kex", test_strict_rejects_ignore_mid_kex);
	g_test_add_func("/transport/non-strict/ignore-allowed", test_nonstrict_allows_ignore);
	g_test_add_func("/transport/version-lines", test_version_lines);
	g_test_add_func("/transport/no-common-cipher", test_no_common_cipher);
	return g_test_run();
}
