/*
 * agent.h - ssh-agent client (draft-miller-ssh-agent): connect to the
 * agent's UNIX socket ($SSH_AUTH_SOCK or an IdentityAgent path), list its
 * identities and ask it to sign, with the RSA SHA-2 flags of §5.5.1.
 * The agent is a separate process and therefore untrusted input: every
 * reply is bounded (SSH_AGENT_REPLY_MAX, SSH_AGENT_IDENTITIES_MAX), parsed
 * strictly, and a signature it returns is verified before it is handed on.
 *
 * Concurrency: one request at a time per struct agent, serialised by a
 * mutex inside, so agent_sign may be called from any thread.
 */
#ifndef SFTPFS_AGENT_H
#define SFTPFS_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"
#include "sshkey.h"

struct agent;

struct agent_identity {
	struct sshkey *key; /* public key or certificate, owned by the list */
	char *comment;
};

struct agent_identities {
	struct agent_identity *ids;
	size_t n;
};

/*
 * Connects to the agent at path, or at $SSH_AUTH_SOCK when path is NULL.
 * ERR_AGENT_NOT_PRESENT when there is no such variable or socket.
 */
int agent_open(const char *path, struct agent **out) MUST_CHECK;
void agent_close(struct agent *a);

/* SSH_AGENTC_REQUEST_IDENTITIES. Keys of types we do not support are skipped. */
int agent_list_identities(struct agent *a, struct agent_identities **out) MUST_CHECK;
void agent_identities_free(struct agent_identities *ids);

/*
 * SSH_AGENTC_SIGN_REQUEST for key (as listed) over data; appends the
 * signature blob (string alg, string sig) to out. alg: the signature or
 * public key algorithm ("rsa-sha2-512", "rsa-sha2-256-cert-v01@openssh.com",
 * …) or NULL for the key's default; for RSA it selects the request flags.
 * ERR_AGENT_FAILURE when the agent refuses; the returned signature must use
 * alg and verify, else ERR_SIGNATURE_INVALID.
 */
int agent_sign(struct agent *a, const struct sshkey *key, const char *alg, const uint8_t *data, size_t len,
	       struct buf *out) MUST_CHECK;
/* The same with the conn_identity.sign shape (ctx is the struct agent). */
int agent_sign_cb(void *ctx, const struct sshkey *key, const char *alg, const uint8_t *data, size_t len,
		  struct buf *out) MUST_CHECK;

/*
 * Reply parsers, exposed for tests and fuzzing: msg is one agent message
 * without its length prefix (byte type, contents).
 */
int agent_parse_identities(const uint8_t *msg, size_t len, struct agent_identities **out) MUST_CHECK;
int agent_parse_sign_response(const uint8_t *msg, size_t len, struct buf *sig) MUST_CHECK;

#endif
