/*
 * fuzz-transport.c - the client transport core (src/transport.c) fed
 * arbitrary server bytes after it sent its version and KEXINIT: version-line
 * and banner bounds, packet framing, KEXINIT and every message it dispatches
 * before keys exist. Host keys are never trusted here, so no input gets
 * past the key exchange; the point is that none crashes or hangs.
 */
#include "config.h"

#include <stdlib.h>

#include "algs.h"
#include "fuzz.h"
#include "transport.h"

static int refuse_hostkey(void *ctx, const char *alg, const uint8_t *b, size_t bl, const uint8_t *s, size_t sl,
			  const uint8_t *h, size_t hl)
{
	return ERR_HOSTKEY_UNKNOWN;
}

static int ignore_payload(void *ctx, const uint8_t *p, size_t len)
{
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transport_config cfg = {
		.kex_algs = algs_default(ALG_KEX),
		.hostkey_algs = algs_default(ALG_HOSTKEY),
		.ciphers = algs_default(ALG_CIPHER),
		.macs = algs_default(ALG_MAC),
		.compression = "none,zlib@openssh.com,zlib",
		.hostkey_check = refuse_hostkey,
		.on_payload = ignore_payload,
	};
	struct transport *t = NULL;
	size_t half = size / 2;

	if (transport_new(&cfg, &t) != 0 || transport_start(t, 0) != 0)
		abort();
	/* Two chunks, so reassembly across reads is exercised too. */
	if (transport_input(t, data, half) == 0)
		(void)!transport_input(t, data + half, size - half);
	transport_free(t);
	return 0;
}
