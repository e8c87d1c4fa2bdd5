/*
 * pqvec.c - reads the "name = hex" vector files of tests/vectors/ for the
 * post-quantum unit tests (see pqvec.h).
 */
#include "config.h"

#include <openssl/evp.h>
#include <string.h>

#include "pqvec.h"

GBytes *pqvec_unhex(const char *hex)
{
	size_t n = strlen(hex);
	guint8 *out;

	if (n % 2 != 0)
		return NULL;
	out = g_malloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = g_ascii_xdigit_value(hex[2 * i]);
		int lo = g_ascii_xdigit_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			g_free(out);
			return NULL;
		}
		out[i] = (guint8)(hi << 4 | lo);
	}
	return g_bytes_new_take(out, n / 2);
}

GHashTable *pqvec_load(const char *relpath)
{
	const char *top = g_getenv("top_srcdir");
	g_autofree char *path = g_build_filename(top != NULL ? top : ".", relpath, NULL);
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	GError *error = NULL;
	GHashTable *v = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
	                                      (GDestroyNotify)g_bytes_unref);

	if (!g_file_get_contents(path, &text, NULL, &error))
		g_error("%s: %s", path, error->message);
	lines = g_strsplit(text, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]);
		char *eq;
		GBytes *b;

		if (line[0] == '\0' || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (eq == NULL)
			g_error("%s:%zu: no '='", path, i + 1);
		*eq = '\0';
		b = pqvec_unhex(g_strstrip(eq + 1));
		if (b == NULL)
			g_error("%s:%zu: bad hex", path, i + 1);
		g_hash_table_replace(v, g_strdup(g_strstrip(line)), b);
	}
	return v;
}

const uint8_t *pqvec_get(GHashTable *v, const char *name, size_t *len)
{
	GBytes *b = g_hash_table_lookup(v, name);

	if (b == NULL)
		g_error("vector field %s missing", name);
	return g_bytes_get_data(b, len);
}

const char *pqvec_sha256_hex(const uint8_t *data, size_t len)
{
	static char hex[65];
	uint8_t md[32];
	unsigned int mdlen = 0;

	g_assert_cmpint(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), ==, 1);
	for (size_t i = 0; i < 32; i++)
		g_snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return hex;
}
