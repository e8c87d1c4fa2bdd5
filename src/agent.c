/*
 * agent.c - ssh-agent client (see agent.h).
 *
 * Wire format (draft-miller-ssh-agent §3): every message is
 *   uint32 length, byte type, contents
 * in both directions. We send REQUEST_IDENTITIES (§4.4) and SIGN_REQUEST
 * (§4.5) and accept, respectively, IDENTITIES_ANSWER or SIGN_RESPONSE, or
 * a failure. The socket is blocking with a poll() timeout; a reply longer
 * than SSH_AGENT_REPLY_MAX is refused before it is read.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "limits.h"
#include "log.h"

/* draft-miller-ssh-agent §5.1 message numbers. */
enum agent_msg {
	SSH_AGENT_FAILURE = 5,
	SSH_AGENT_SUCCESS = 6,
	SSH_AGENTC_REQUEST_IDENTITIES = 11,
	SSH_AGENT_IDENTITIES_ANSWER = 12,
	SSH_AGENTC_SIGN_REQUEST = 13,
	SSH_AGENT_SIGN_RESPONSE = 14,
	SSH_AGENT_EXTENSION_FAILURE = 28,
	/* Failure codes OpenSSH's client also honours (authfd.c agent_failed()). */
	SSH2_AGENT_FAILURE = 30,
	SSH_COM_AGENT2_FAILURE = 102,
};

/* §5.5.1 signature flags. */
#define SSH_AGENT_RSA_SHA2_256 0x02u
#define SSH_AGENT_RSA_SHA2_512 0x04u

/* An agent may ask the user to confirm a signature (ssh-add -c): be patient, but not forever. */
#define AGENT_TIMEOUT_MS 120000

static const struct {
	const char *alg;
	uint32_t flags;
} rsa_flags[] = {
	{.alg = "rsa-sha2-256", .flags = SSH_AGENT_RSA_SHA2_256},
	{.alg = "rsa-sha2-512", .flags = SSH_AGENT_RSA_SHA2_512},
	{.alg = "ssh-rsa", .flags = 0},
};

struct agent {
	pthread_mutex_t lock; /* serialises requests on fd; protects broken */
	int fd;
	bool broken; /* an exchange failed midway: the stream is out of step */
};

int agent_open(const char *path, struct agent **out)
{
	struct sockaddr_un sun;
	struct agent *a;
	int fd;

	*out = NULL;
	if (path == NULL)
		path = getenv("SSH_AUTH_SOCK");
	if (path == NULL || path[0] == '\0')
		return ERR_AGENT_NOT_PRESENT;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ERR_AGENT_NOT_PRESENT;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ERR_SYSTEM;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		log_debug(LOG_CAT_AUTH, "agent at %s: %s", path, strerror(errno));
		close(fd);
		return ERR_AGENT_NOT_PRESENT;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		close(fd);
		return ERR_ALLOC_FAIL;
	}
	if (pthread_mutex_init(&a->lock, NULL) != 0) {
		free(a);
		close(fd);
		return ERR_SYSTEM;
	}
	a->fd = fd;
	*out = a;
	return 0;
}

void agent_close(struct agent *a)
{
	if (a == NULL)
		return;
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

void agent_identities_free(struct agent_identities *ids)
{
	if (ids == NULL)
		return;
	for (size_t i = 0; i < ids->n; i++) {
		sshkey_free(ids->ids[i].key);
		free(ids->ids[i].comment);
	}
	free(ids->ids);
	free(ids);
}

static int wait_fd(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	while ((n = poll(&p, 1, AGENT_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	if (n < 0)
		return ERR_SYSTEM;
	if (n == 0)
		return ERR_TIMEOUT;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	int r;

	while (len > 0) {
		ssize_t n;

		if ((r = wait_fd(fd, POLLOUT)) != 0)
			return r;
		/* MSG_NOSIGNAL: an agent that went away must not kill us with SIGPIPE. */
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return ERR_CONN_CLOSED;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, uint8_t *p, size_t len)
{
	int r;

	while (len > 0) {
		ssize_t n;

		if ((r = wait_fd(fd, POLLIN)) != 0)
			return r;
		n = read(fd, p, len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return ERR_CONN_CLOSED;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends one request (type + body) and reads one reply message into reply. */
static int agent_request(struct agent *a, const struct buf *req, struct buf *reply)
{
	struct buf *frame = NULL, *hdrb = NULL;
	uint8_t hdr[4], *p;
	uint32_t len;
	int r;

	if ((frame = buf_new(SSH_AGENT_REPLY_MAX)) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_put_stringb(frame, req)) != 0)
		goto out;
	pthread_mutex_lock(&a->lock);
	if (a->broken) {
		r = ERR_CONN_CLOSED;
		goto unlock;
	}
	if ((r = write_all(a->fd, buf_peek(frame), buf_len(frame))) != 0 || (r = read_all(a->fd, hdr, 4)) != 0)
		goto unlock;
	if ((hdrb = buf_from(hdr, sizeof(hdr))) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto unlock;
	}
	if ((r = buf_get_u32(hdrb, &len)) != 0)
		goto unlock;
	if (len == 0 || len > SSH_AGENT_REPLY_MAX) {
		/* The stream cannot be resynchronised after this: it is spent. */
		r = ERR_LIMIT_EXCEEDED;
		goto unlock;
	}
	if ((r = buf_reserve(reply, len, &p)) != 0)
		goto unlock;
	r = read_all(a->fd, p, len);
unlock:
	/* After a partial exchange the next reply could be mistaken for this one's: give up. */
	if (r != 0)
		a->broken = true;
	pthread_mutex_unlock(&a->lock);
out:
	buf_free(hdrb);
	buf_free(frame);
	return r;
}

static bool is_failure(uint8_t type)
{
	return type == SSH_AGENT_FAILURE || type == SSH_AGENT_EXTENSION_FAILURE || type == SSH2_AGENT_FAILURE ||
	       type == SSH_COM_AGENT2_FAILURE;
}

int agent_parse_identities(const uint8_t *msg, size_t len, struct agent_identities **out)
{
	struct agent_identities *ids = NULL;
	struct buf *b = NULL;
	uint32_t nkeys;
	uint8_t type;
	int r;

	*out = NULL;
	if ((b = buf_from(msg, len)) == NULL || (ids = calloc(1, sizeof(*ids))) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if ((r = buf_get_u8(b, &type)) != 0)
		goto out;
	if (is_failure(type)) {
		r = ERR_AGENT_FAILURE;
		goto out;
	}
	if (type != SSH_AGENT_IDENTITIES_ANSWER) {
		r = ERR_PROTOCOL;
		goto out;
	}
	/* §4.4: uint32 nkeys, then nkeys × (string key blob, string comment). */
	if ((r = buf_get_u32(b, &nkeys)) != 0)
		goto out;
	if (nkeys > SSH_AGENT_IDENTITIES_MAX) {
		r = ERR_LIMIT_EXCEEDED;
		goto out;
	}
	if (nkeys > 0 && (ids->ids = calloc(nkeys, sizeof(*ids->ids))) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	for (uint32_t i = 0; i < nkeys; i++) {
		const uint8_t *blob;
		size_t bloblen, clen;
		struct sshkey *k = NULL;
		char *comment = NULL;

		if ((r = buf_get_string_direct(b, &blob, &bloblen)) != 0 ||
		    (r = buf_get_cstring(b, &comment, &clen)) != 0)
			goto out;
		if (clen > SSH_AGENT_COMMENT_MAX) {
			free(comment);
			r = ERR_STRING_TOO_LARGE;
			goto out;
		}
		r = sshkey_from_blob(blob, bloblen, &k);
		if (r == ERR_KEY_TYPE_UNKNOWN) {
			/* Security keys, DSA…: not for us, as OpenSSH skips what it cannot use. */
			for (char *c = comment; *c != '\0'; c++) {
				if ((unsigned char)*c < 0x20 || *c == 0x7f)
					*c = '?'; /* no terminal control sequences into the log */
			}
			log_debug(LOG_CAT_AUTH, "agent key \"%s\": unsupported type, skipped", comment);
			free(comment);
			continue;
		}
		if (r != 0) {
			free(comment);
			goto out;
		}
		ids->ids[ids->n].key = k;
		ids->ids[ids->n].comment = comment;
		ids->n++;
	}
	if ((r = buf_expect_end(b)) != 0)
		goto out;
	*out = ids;
	ids = NULL;
	r = 0;
out:
	agent_identities_free(ids);
	buf_free(b);
	return r;
}

int agent_parse_sign_response(const uint8_t *msg, size_t len, struct buf *sig)
{
	struct buf *b = buf_from(msg, len);
	const uint8_t *s;
	size_t slen;
	uint8_t type;
	int r;

	if (b == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_get_u8(b, &type)) != 0)
		goto out;
	if (is_failure(type)) {
		r = ERR_AGENT_FAILURE;
		goto out;
	}
	if (type != SSH_AGENT_SIGN_RESPONSE) {
		r = ERR_PROTOCOL;
		goto out;
	}
	/* §4.5: string signature. */
	if ((r = buf_get_string_direct(b, &s, &slen)) != 0 || (r = buf_expect_end(b)) != 0)
		goto out;
	if (slen > SSH_SIGNATURE_BLOB_MAX) {
		r = ERR_STRING_TOO_LARGE;
		goto out;
	}
	if (slen == 0) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	r = buf_put(sig, s, slen);
out:
	buf_free(b);
	return r;
}

int agent_list_identities(struct agent *a, struct agent_identities **out)
{
	struct buf *req = buf_new(16), *reply = buf_new(SSH_AGENT_REPLY_MAX);
	int r;

	*out = NULL;
	if (req == NULL || reply == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if ((r = buf_put_u8(req, SSH_AGENTC_REQUEST_IDENTITIES)) != 0 || (r = agent_request(a, req, reply)) != 0)
		goto out;
	r = agent_parse_identities(buf_peek(reply), buf_len(reply), out);
out:
	buf_free(req);
	buf_free(reply);
	return r;
}

int agent_sign(struct agent *a, const struct sshkey *key, const char *alg, const uint8_t *data, size_t len,
	       struct buf *out)
{
	struct buf *req = NULL, *reply = NULL, *blob = NULL, *sig = NULL;
	const char *sigalg = NULL;
	char *got = NULL;
	uint32_t flags = 0;
	int r;

	if (alg != NULL && (sigalg = sshkey_sig_alg_for(alg)) == NULL)
		return ERR_NO_MATCH;
	if (sigalg != NULL && !sshkey_alg_compatible(key, sigalg))
		return ERR_NO_MATCH;
	if (sshkey_is_rsa(key)) {
		/* No algorithm: like our own default, rsa-sha2-512, never SHA-1. */
		if (sigalg == NULL)
			sigalg = "rsa-sha2-512";
		for (size_t i = 0; i < sizeof(rsa_flags) / sizeof(rsa_flags[0]); i++) {
			if (strcmp(rsa_flags[i].alg, sigalg) == 0)
				flags = rsa_flags[i].flags;
		}
	}
	if ((req = buf_new(SSH_AGENT_REPLY_MAX)) == NULL || (reply = buf_new(SSH_AGENT_REPLY_MAX)) == NULL ||
	    (blob = buf_new(SSH_KEY_BLOB_MAX)) == NULL || (sig = buf_new(SSH_SIGNATURE_BLOB_MAX)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	/* §4.5: byte SIGN_REQUEST, string key blob, string data, uint32 flags. */
	if ((r = sshkey_to_blob(key, blob)) != 0 || (r = buf_put_u8(req, SSH_AGENTC_SIGN_REQUEST)) != 0 ||
	    (r = buf_put_stringb(req, blob)) != 0 || (r = buf_put_string(req, data, len)) != 0 ||
	    (r = buf_put_u32(req, flags)) != 0)
		goto out;
	if ((r = agent_request(a, req, reply)) != 0)
		goto out;
	if ((r = agent_parse_sign_response(buf_peek(reply), buf_len(reply), sig)) != 0)
		goto out;
	/* OpenSSH checks the algorithm; we also verify: a broken agent must not reach the server. */
	if ((r = sshkey_sig_alg_name(buf_peek(sig), buf_len(sig), &got)) != 0)
		goto out;
	if (sigalg != NULL && strcmp(got, sigalg) != 0) {
		log_error(LOG_CAT_AUTH, "agent signed with %s instead of %s", got, sigalg);
		r = ERR_SIGNATURE_INVALID;
		goto out;
	}
	if ((r = sshkey_verify(key, buf_peek(sig), buf_len(sig), data, len, got)) != 0)
		goto out;
	r = buf_putb(out, sig);
out:
	free(got);
	buf_free(req);
	buf_free(reply);
	buf_free(blob);
	buf_free(sig);
	return r;
}

int agent_sign_cb(void *ctx, const struct sshkey *key, const char *alg, const uint8_t *data, size_t len,
		  struct buf *out)
{
	return agent_sign(ctx, key, alg, data, len, out);
}
