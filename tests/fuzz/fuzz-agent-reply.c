/*
 * fuzz-agent-reply.c - the ssh-agent reply parsers (identities answer and
 * sign response, draft-miller-ssh-agent §4.4/§4.5) on arbitrary messages.
 */
#include "config.h"

#include <stdlib.h>

#include "agent.h"
#include "buf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_identities *ids = NULL;
	struct buf *sig = buf_new(0);

	if (sig == NULL)
		abort();
	if (agent_parse_identities(data, size, &ids) == 0) {
		for (size_t i = 0; i < ids->n; i++) {
			if (ids->ids[i].key == NULL || ids->ids[i].comment == NULL)
				abort();
		}
		agent_identities_free(ids);
	} else if (ids != NULL) {
		abort();
	}
	if (agent_parse_sign_response(data, size, sig) != 0 && buf_len(sig) != 0)
		abort();
	buf_free(sig);
	return 0;
}
