/*
 * fuzz-sshkey-blob.c - the public key / certificate blob parser
 * (sshkey_from_blob). Whatever parses must re-encode to the same bytes,
 * fingerprint, and compare equal to itself; nothing may crash or leak.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshkey *k = NULL;
	struct buf *b;
	char *fp = NULL;

	if (sshkey_from_blob(data, size, &k) != 0)
		return 0;
	if ((b = buf_new(0)) == NULL)
		abort();
	if (sshkey_to_blob(k, b) != 0 || buf_len(b) != size || memcmp(buf_peek(b), data, size) != 0)
		abort();
	if (sshkey_fingerprint(k, &fp) != 0 || sshkey_equal_public(k, k) != 1)
		abort();
	if (sshkey_is_cert(k) && sshkey_cert_signature_key(k) == NULL)
		abort();
	free(fp);
	buf_free(b);
	sshkey_free(k);
	return 0;
}
