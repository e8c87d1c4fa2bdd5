/*
 * pqvec.h - loader for the known-answer vector files under tests/vectors/:
 * lines "name = hex", '#' comments, blank lines ignored. Shared by the KEM
 * and hybrid key exchange unit tests.
 */
#ifndef SFTPFS_TESTS_PQVEC_H
#define SFTPFS_TESTS_PQVEC_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Loads $top_srcdir/relpath; fails the test on any malformed line. */
GHashTable *pqvec_load(const char *relpath);
/* The decoded bytes of name (the test fails if it is missing); *len set. */
const uint8_t *pqvec_get(GHashTable *v, const char *name, size_t *len);
/* Decodes a hex string into a new GBytes; NULL if it is not valid hex. */
GBytes *pqvec_unhex(const char *hex);
/* SHA-256 of data as lower-case hex (static buffer). */
const char *pqvec_sha256_hex(const uint8_t *data, size_t len);

#endif
