/*
 * fuzz-packet.c - the packet reader (src/packet.c packet_read) on arbitrary
 * bytes. The first input byte picks the receive mode: none, chacha20-poly1305,
 * AES-GCM, AES-CTR with HMAC (MAC-then-encrypt), AES-CTR with EtM, or none
 * with zlib; fixed keys. Every outcome must be a payload, "need more", or an
 * error code - never a crash, hang or unbounded allocation.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cipher.h"
#include "fuzz.h"
#include "packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ciphers[] = {"none", "chacha20-poly1305@openssh.com", "aes128-gcm@openssh.com",
					      "aes128-ctr", "aes256-ctr", "none"};
	struct packet_io *p;
	struct packet_keys k;
	struct buf *in, *payload;
	unsigned mode;
	int r;

	if (size < 2)
		return 0;
	mode = data[0] % 6;
	memset(&k, 0x5a, sizeof(k));
	k.cipher = mode == 0 || mode == 5 ? cipher_alg_none() : cipher_alg_by_name(ciphers[mode]);
	k.mac = mode == 3 ? mac_alg_by_name("hmac-sha2-256") : mode == 4 ? mac_alg_by_name("hmac-sha2-256-etm@openssh.com") : NULL;
	k.comp = mode == 5 ? PACKET_COMP_ZLIB : PACKET_COMP_NONE;
	p = packet_io_new();
	in = buf_new(0);
	payload = buf_new(0);
	if (p == NULL || in == NULL || payload == NULL || packet_set_keys(p, PACKET_RX, &k) != 0 ||
	    buf_put(in, data + 1, size - 1) != 0)
		abort();
	do {
		buf_reset(payload);
		r = packet_read(p, in, payload);
		if (r == 0 && buf_len(payload) == 0)
			abort(); /* a delivered payload always has a message number */
	} while (r == 0);
	packet_io_free(p);
	buf_free(in);
	buf_free(payload);
	return 0;
}
