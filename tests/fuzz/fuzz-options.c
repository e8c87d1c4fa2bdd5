/*
 * fuzz-options.c - drives the sftpfs command-line parser (fuse/options.c)
 * with arbitrary argument vectors: the input is split at newlines into
 * argv. Every outcome must be a parse result or a one-line error message,
 * never a crash or a leak.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "fuzz.h"
#include "options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) args = NULL;
	GPtrArray *argv;
	struct sftpfs_opts o;
	char *errmsg = NULL;
	int r;

	if (size > 4096 || memchr(data, '\0', size) != NULL)
		return 0;
	text = g_strndup((const char *)data, size);
	args = g_strsplit(text, "\n", 64);
	argv = g_ptr_array_new();
	g_ptr_array_add(argv, (char *)"sftpfs");
	for (size_t i = 0; args[i] != NULL; i++)
		g_ptr_array_add(argv, args[i]);
	sftpfs_opts_init(&o);
	r = sftpfs_opts_parse(&o, (int)argv->len, (char **)argv->pdata, &errmsg);
	if (r != 0 && (errmsg == NULL || strchr(errmsg, '\n') != NULL))
		abort();
	if (r == 0 && errmsg != NULL)
		abort();
	if (r == 0 && !o.show_help && !o.show_version && (o.host == NULL || o.mountpoint == NULL))
		abort();
	g_free(errmsg);
	sftpfs_opts_clear(&o);
	g_ptr_array_free(argv, TRUE);
	return 0;
}
