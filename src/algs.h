/*
 * algs.h - algorithm preference lists: OpenSSH-like client defaults and the
 * ssh_config syntax for overriding them (ssh_config(5) Ciphers etc.): a plain
 * list replaces the default, "+list" appends, "-list" removes and "^list"
 * puts names first; +/-/^ entries may use the * and ? wildcards.
 */
#ifndef SFTPFS_ALGS_H
#define SFTPFS_ALGS_H

#include "err.h"

enum alg_kind {
	ALG_KEX,
	ALG_HOSTKEY,
	ALG_CIPHER,
	ALG_MAC,
	ALG_COMP,
};

/* The default list for kind, as a static string. */
const char *algs_default(enum alg_kind kind);
/* Every name we implement for kind (what "+" may add). */
const char *algs_supported(enum alg_kind kind);
/*
 * Resolve spec (NULL or "" = default) into a fresh comma-separated list.
 * Unknown names in a plain list are ERR_CONFIG; an empty result is ERR_CONFIG.
 */
int algs_resolve(enum alg_kind kind, const char *spec, char **out) MUST_CHECK;

#endif
