/*
 * fuzz-knownhosts.c - feeds arbitrary bytes, line by line, to the
 * known_hosts line parser, then matches each entry's host field against a
 * plain and a [host]:port name and decodes its key. Parsing must succeed or
 * fail with ERR_INVALID_FORMAT, and a parsed entry always carries a blob.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "knownhosts.h"
#include "log.h"
#include "sshkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	size_t off = 0;

	log_set_level(LOG_LEVEL_QUIET);
	while (off < size) {
		const char *nl = memchr(text + off, '\n', size - off);
		size_t len = nl != NULL ? (size_t)(nl - (text + off)) : size - off;
		struct knownhosts_entry e;
		int r = knownhosts_parse_line(text + off, len, &e);

		if (r != 0 && r != ERR_INVALID_FORMAT)
			abort();
		if (r == 0 && e.hosts != NULL) {
			struct sshkey *k = NULL;

			if (e.blob == NULL || e.key_type == NULL)
				abort();
			(void)knownhosts_match_hosts(e.hosts, "example.com");
			(void)knownhosts_match_hosts(e.hosts, "[example.com]:2222");
			if (knownhosts_entry_key(&e, &k) == 0)
				sshkey_free(k);
		}
		knownhosts_entry_clear(&e);
		off += len + 1;
	}
	return 0;
}
