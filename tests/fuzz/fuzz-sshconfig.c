/*
 * fuzz-sshconfig.c - feeds arbitrary bytes, line by line, to the ssh_config
 * line parser (sshconfig_read_line) with side effects off (no Include, no
 * Match exec), then resolves any algorithm lists that were set. Every line
 * must either apply or fail with ERR_CONFIG; nothing may crash or leak.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "limits.h"
#include "log.h"
#include "sshconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sshconfig_reader *r = NULL;
	char *text = malloc(size + 1);
	unsigned ln = 0;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	log_set_level(LOG_LEVEL_QUIET);
	if (sshconfig_reader_new("fuzz.example.com", SSHCONFIG_NO_SIDE_EFFECTS, &r) != 0) {
		free(text);
		return 0;
	}
	for (char *line = text, *next; line != NULL && *line != '\0'; line = next) {
		int rc;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		rc = sshconfig_read_line(r, line, "fuzz", ++ln);
		if (rc != 0 && rc != ERR_CONFIG)
			abort();
	}
	sshconfig_reader_free(r);
	/* The list resolver on the input's first line as a spec. */
	{
		const char *def, *all;
		char *out = NULL;
		char spec[256];
		size_t n = strcspn(text, "\n");

		if (n >= sizeof(spec))
			n = sizeof(spec) - 1;
		memcpy(spec, text, n);
		spec[n] = '\0';
		sshconfig_openssh_algs(SSHCONFIG_ALG_HOSTKEY, &def, &all);
		if (sshconfig_assemble_algs(spec, def, all, &out) == 0)
			free(out);
		(void)sshconfig_match_pattern_list("fuzz.example.com", spec, true);
	}
	free(text);
	return 0;
}
