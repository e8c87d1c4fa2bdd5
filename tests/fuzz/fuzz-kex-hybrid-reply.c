/*
 * fuzz-kex-hybrid-reply.c - feeds arbitrary bytes as the server's S_REPLY
 * (SSH_MSG_KEX_HYBRID_REPLY value) to kex_hybrid_client_finish. The first
 * input byte picks the method (even: mlkem768x25519-sha256, odd:
 * sntrup761x25519-sha512), the rest is the reply. Each call must either
 * append exactly string(K) or fail with an error code and append nothing.
 * Client states are made once and reused (finish does not consume them).
 */
#include "config.h"

#include <stdlib.h>

#include "buf.h"
#include "fuzz.h"
#include "kex_hybrid.h"

static struct kex_hybrid_state *states[2];

static const struct kex_hybrid_alg *fuzz_alg(unsigned i)
{
	return i == 0 ? &kex_hybrid_mlkem768x25519_sha256 : &kex_hybrid_sntrup761x25519_sha512;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf *k;
	unsigned which;
	int r;

	if (size < 1)
		return 0;
	which = data[0] & 1;
	if (states[which] == NULL) {
		struct buf *pub = buf_new(0);

		if (pub == NULL || kex_hybrid_client_init(fuzz_alg(which), &states[which], pub) != 0)
			abort();
		buf_free(pub);
	}
	if ((k = buf_new(0)) == NULL)
		abort();
	r = kex_hybrid_client_finish(states[which], data + 1, size - 1, k);
	if (r == 0 && buf_len(k) != 4 + (which == 0 ? 32u : 64u))
		abort();
	if (r != 0 && (r >= 0 || buf_len(k) != 0))
		abort();
	if (r == 0 && size - 1 != kex_hybrid_server_reply_len(fuzz_alg(which)))
		abort();
	buf_free(k);
	return 0;
}
