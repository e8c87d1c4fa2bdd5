/*
 * knownhosts.h - OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT", OpenSSH hostfile.c): plain and hashed ("|1|salt|hash") host
 * fields, "[host]:port" names for ports other than 22, comma lists and
 * patterns with '*', '?' and '!' negation, several keys per host,
 * "@revoked" and "@cert-authority" markers.
 *
 * knownhosts_verify() is the transport's verify_host_key callback (see
 * HELPERS.md / conn.h): it checks a server's host key against the user and
 * global files and applies StrictHostKeyChecking (ask / accept-new / yes /
 * no). A changed key is refused whatever the policy, and the conflicting
 * file:line is kept for the error message. New keys are appended under an
 * exclusive flock with O_APPEND, never rewriting the file.
 */
#ifndef SFTPFS_KNOWNHOSTS_H
#define SFTPFS_KNOWNHOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct sshkey;

enum knownhosts_marker {
	KNOWNHOSTS_MARKER_NONE = 0,
	KNOWNHOSTS_MARKER_CERT_AUTHORITY,
	KNOWNHOSTS_MARKER_REVOKED,
};

/* One parsed line; strings and blob are owned by the entry. */
struct knownhosts_entry {
	enum knownhosts_marker marker;
	char *hosts;     /* the host field as written (patterns or |1|salt|hash) */
	char *key_type;  /* the key type name as written */
	uint8_t *blob;   /* the decoded public key blob */
	size_t blob_len;
};

/*
 * Parses one line (no newline needed; len bytes, NUL bytes refused).
 * Returns 0 with out->hosts set for an entry, 0 with out->hosts NULL for a
 * blank or comment line, or ERR_INVALID_FORMAT. The key blob is only decoded,
 * not interpreted: knownhosts_entry_key() does that.
 */
int knownhosts_parse_line(const char *line, size_t len, struct knownhosts_entry *out) MUST_CHECK;
void knownhosts_entry_clear(struct knownhosts_entry *e);
/* The entry's key; ERR_KEY_TYPE_UNKNOWN for types we do not implement,
 * ERR_INVALID_FORMAT when the written type and the blob disagree. */
int knownhosts_entry_key(const struct knownhosts_entry *e, struct sshkey **out) MUST_CHECK;

/*
 * Whether a host field matches name (already "host" or "[host]:port",
 * lowercase): 1 match, 0 no match, -1 negated match (the line must not be
 * used for this host). Hashed fields are "|1|base64(salt)|base64(HMAC-SHA1
 * (salt, name))": SHA-1 there is the file format's definition, not a choice.
 */
int knownhosts_match_hosts(const char *field, const char *name);

/* The name a host is looked up under: "host" for port 22, else "[host]:port";
 * lowercased. Free with free(). */
char *knownhosts_lookup_name(const char *host, uint16_t port);

/* "|1|salt|hash" for name with a fresh random salt. Free with free(). */
int knownhosts_hash_name(const char *name, char **out) MUST_CHECK;

enum knownhosts_status {
	KNOWNHOSTS_OK = 0,       /* a matching entry (or a trusted CA) */
	KNOWNHOSTS_NEW,          /* no entry for this host and key type */
	KNOWNHOSTS_CHANGED,      /* an entry of the same type with another key */
	KNOWNHOSTS_REVOKED,      /* @revoked lists the key (or its CA) */
};

/* Where a decision came from: the matching or conflicting entry. */
struct knownhosts_result {
	enum knownhosts_status status;
	char *file;        /* NULL when no entry was involved */
	unsigned line;
	bool other_types_known; /* for NEW: the host is known with other key types */
};
void knownhosts_result_clear(struct knownhosts_result *r);

/*
 * Checks key for name ("host" or "[host]:port") against files in order (as
 * ssh: user files, then global ones; missing files are skipped). host (the
 * bare host name) is what certificate principals are checked against; now is
 * the time for certificate validity (seconds since the epoch).
 */
int knownhosts_check(const char *const *files, size_t nfiles, const char *host, uint16_t port,
                     const struct sshkey *key, uint64_t now, struct knownhosts_result *out) MUST_CHECK;

/*
 * Appends "name type base64" (hashed name if hash) for key to path, as ssh
 * does on accept-new: creates the directory (0700) and the file if missing,
 * takes an exclusive flock, appends with O_APPEND (adding a newline first if
 * the file does not end with one) and never truncates. A certificate is
 * recorded as its plain key.
 */
int knownhosts_add(const char *path, const char *host, uint16_t port, const struct sshkey *key,
                   bool hash) MUST_CHECK;

/* Asks a yes/no/fingerprint question; returns 1 yes, 0 no, or a negative
 * code when it cannot ask (no terminal). The answer text is compared by the
 * caller's policy; see knownhosts_verify. */
typedef int (*knownhosts_ask_fn)(void *ctx, const char *question, char **answer);

/* The context of knownhosts_verify (the transport's verify_host_key callback). */
struct knownhosts_verifier {
	const char *const *user_files;   /* UserKnownHostsFile, expanded; [0] gets new keys */
	size_t n_user_files;
	const char *const *global_files; /* GlobalKnownHostsFile */
	size_t n_global_files;
	int strict;                      /* enum sshconfig_strict */
	bool hash_known_hosts;
	bool batch_mode;                 /* never ask */
	knownhosts_ask_fn ask;           /* NULL: the terminal via prompt.h */
	void *ask_ctx;
	/* Filled by knownhosts_verify: the last decision and the message for the user. */
	struct knownhosts_result result;
	char *message;
};

struct sshconfig;
/* Fills v's policy from a resolved configuration (UserKnownHostsFile,
 * GlobalKnownHostsFile, StrictHostKeyChecking, HashKnownHosts, BatchMode);
 * the file lists are borrowed from c, which must outlive v. */
void knownhosts_verifier_init(struct knownhosts_verifier *v, const struct sshconfig *c);

/*
 * verify_host_key callback: 0 to accept, or ERR_HOSTKEY_UNKNOWN /
 * ERR_HOSTKEY_CHANGED / ERR_HOSTKEY_REVOKED (also ERR_SYSTEM etc. when a file
 * cannot be written on accept-new). ctx is a struct knownhosts_verifier.
 */
int knownhosts_verify(void *ctx, const char *host, uint16_t port, const struct sshkey *key);
/* Frees the result and message kept in v (not v itself). */
void knownhosts_verifier_clear(struct knownhosts_verifier *v);

#endif
