/*
 * fuzz-keyfile.c - the private key file parser (keyfile_parse_private:
 * openssh-key-v1 armour, base64, structure, padding; PEM through libcrypto)
 * and the public key line parser. Tried without a passphrase and with
 * "fuzz" (the passphrase of the encrypted seeds, made with -a 1).
 */
#include "config.h"

#include <stdlib.h>

#include "fuzz.h"
#include "keyfile.h"
#include "sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshkey *k = NULL;
	char *comment = NULL;

	if (keyfile_parse_private(data, size, NULL, &k, &comment) == 0) {
		if (k == NULL || comment == NULL || !sshkey_has_private(k))
			abort();
		sshkey_free(k);
		free(comment);
	} else if (k != NULL) {
		abort();
	}
	k = NULL;
	comment = NULL;
	if (keyfile_parse_private(data, size, "fuzz", &k, &comment) == 0) {
		sshkey_free(k);
		free(comment);
	}
	k = NULL;
	comment = NULL;
	if (keyfile_parse_public_line((const char *)data, size, &k, &comment) == 0) {
		sshkey_free(k);
		free(comment);
	}
	return 0;
}
