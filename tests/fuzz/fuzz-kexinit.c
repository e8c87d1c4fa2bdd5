/*
 * fuzz-kexinit.c - the KEXINIT parser (src/kex.c kexinit_parse, RFC 4253
 * §7.1) and algorithm negotiation on arbitrary bytes: parse must succeed
 * within the name-list bounds or fail cleanly, and a parsed message must
 * negotiate without crashing.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "fuzz.h"
#include "kex.h"
#include "limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kexinit k;
	char *choice = NULL;

	if (kexinit_parse(data, size, &k) != 0)
		return 0;
	for (int i = 0; i < KEX_LIST_COUNT; i++) {
		if (strlen(k.lists[i]) > SSH_NAMELIST_MAX)
			abort();
	}
	if (namelist_choose(algs_default(ALG_KEX), k.lists[KEX_LIST_KEX], &choice) == 0)
		free(choice);
	if (namelist_choose(algs_default(ALG_CIPHER), k.lists[KEX_LIST_ENC_S2C], &choice) == 0)
		free(choice);
	kexinit_clear(&k);
	return 0;
}
