/*
 * algs.c - default algorithm lists and +/-/^ overrides (see algs.h).
 *
 * Defaults follow OpenSSH 9.x's client order restricted to what we implement,
 * minus SHA-1 algorithms (hmac-sha1, ssh-rsa), which only an explicit
 * configuration enables. Key exchange names come from kex.c's table so a new
 * method (post-quantum hybrids) only needs its row there and a place here.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "cipher.h"
#include "kex.h"

/* OpenSSH 9.x myproposal.h order; names we do not implement are skipped. */
static const char *const kex_default_order[] = {
	"mlkem768x25519-sha256",
	"sntrup761x25519-sha512",
	"sntrup761x25519-sha512@openssh.com",
	"curve25519-sha256",
	"curve25519-sha256@libssh.org",
	"ecdh-sha2-nistp256",
	"ecdh-sha2-nistp384",
	"ecdh-sha2-nistp521",
	"diffie-hellman-group-exchange-sha256",
	"diffie-hellman-group16-sha512",
	"diffie-hellman-group18-sha512",
	"diffie-hellman-group14-sha256",
};

static const char hostkey_default[] = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
				      "rsa-sha2-512,rsa-sha2-256";
static const char hostkey_supported[] = "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,"
					"rsa-sha2-512,rsa-sha2-256,ssh-rsa";
static const char cipher_default[] = "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,"
				     "aes128-gcm@openssh.com,aes256-gcm@openssh.com";
static const char mac_default[] = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
				  "hmac-sha2-256,hmac-sha2-512";
static const char mac_supported[] = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,"
				    "hmac-sha1-etm@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1";
static const char comp_default[] = "none";
static const char comp_supported[] = "none,zlib@openssh.com,zlib";

static char kex_default_list[1024];
static char kex_supported_list[1024];

static void append_name(char *dst, size_t cap, const char *name)
{
	size_t used = strlen(dst), n = strlen(name);

	if (used + n + 2 > cap)
		return;
	if (used > 0)
		dst[used++] = ',';
	memcpy(dst + used, name, n + 1);
}

/* Built once; later calls see the finished strings (called before threads start). */
static void kex_lists_build(void)
{
	const struct kex_method *m;

	if (kex_default_list[0] != '\0')
		return;
	for (size_t i = 0; i < sizeof(kex_default_order) / sizeof(kex_default_order[0]); i++) {
		if (kex_method_by_name(kex_default_order[i]) != NULL)
			append_name(kex_default_list, sizeof(kex_default_list), kex_default_order[i]);
	}
	for (size_t i = 0; (m = kex_method_at(i)) != NULL; i++)
		append_name(kex_supported_list, sizeof(kex_supported_list), m->name);
}

const char *algs_default(enum alg_kind kind)
{
	switch (kind) {
	case ALG_KEX:
		kex_lists_build();
		return kex_default_list;
	case ALG_HOSTKEY:
		return hostkey_default;
	case ALG_CIPHER:
		return cipher_default;
	case ALG_MAC:
		return mac_default;
	case ALG_COMP:
		return comp_default;
	}
	return "";
}

const char *algs_supported(enum alg_kind kind)
{
	switch (kind) {
	case ALG_KEX:
		kex_lists_build();
		return kex_supported_list;
	case ALG_HOSTKEY:
		return hostkey_supported;
	case ALG_CIPHER:
		return "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,"
		       "aes256-gcm@openssh.com";
	case ALG_MAC:
		return mac_supported;
	case ALG_COMP:
		return comp_supported;
	}
	return "";
}

/* Does name match any pattern of the comma-separated pattern list? */
static bool match_any(const char *patterns, const char *name)
{
	char *copy = strdup(patterns), *save = NULL, *tok;
	bool hit = false;

	if (copy == NULL)
		return false;
	for (tok = strtok_r(copy, ",", &save); tok != NULL && !hit; tok = strtok_r(NULL, ",", &save))
		hit = fnmatch(tok, name, 0) == 0;
	free(copy);
	return hit;
}

/* Appends to out (cap bytes) the names of list that (do / do not) match patterns and are not yet in out. */
static void filter_into(char *out, size_t cap, const char *list, const char *patterns, bool want_match)
{
	char *copy = strdup(list), *save = NULL, *tok;

	if (copy == NULL)
		return;
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (match_any(patterns, tok) == want_match && !namelist_has(out, tok))
			append_name(out, cap, tok);
	}
	free(copy);
}

int algs_resolve(enum alg_kind kind, const char *spec, char **out)
{
	const char *def = algs_default(kind), *sup = algs_supported(kind);
	char res[2048] = "";

	*out = NULL;
	if (spec == NULL || spec[0] == '\0') {
		filter_into(res, sizeof(res), def, "*", true);
	} else if (spec[0] == '+') {
		filter_into(res, sizeof(res), def, "*", true);
		filter_into(res, sizeof(res), sup, spec + 1, true);
	} else if (spec[0] == '-') {
		filter_into(res, sizeof(res), def, spec + 1, false);
	} else if (spec[0] == '^') {
		filter_into(res, sizeof(res), sup, spec + 1, true);
		filter_into(res, sizeof(res), def, "*", true);
	} else {
		char *copy = strdup(spec), *save = NULL, *tok;

		if (copy == NULL)
			return ERR_ALLOC_FAIL;
		for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
			if (!namelist_has(sup, tok)) {
				free(copy);
				return ERR_CONFIG;
			}
			if (!namelist_has(res, tok))
				append_name(res, sizeof(res), tok);
		}
		free(copy);
	}
	if (res[0] == '\0')
		return ERR_CONFIG;
	if ((*out = strdup(res)) == NULL)
		return ERR_ALLOC_FAIL;
	return 0;
}
