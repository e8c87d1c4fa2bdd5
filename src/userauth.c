/*
 * userauth.c - RFC 4252 client authentication (see userauth.h).
 *
 * States: UA_NONE_SENT (probe), UA_PK_QUERY (publickey without signature
 * sent, awaiting PK_OK or FAILURE), UA_PK_SIGNED, UA_PASSWORD,
 * UA_KBDINT (request or responses sent), UA_DONE. Message 60 means PK_OK,
 * PASSWD_CHANGEREQ or INFO_REQUEST depending on the state (RFC 4250 §4.1.2).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "algs.h"
#include "buf.h"
#include "kex.h"
#include "limits.h"
#include "log.h"
#include "sshkey.h"
#include "ssh2.h"
#include "userauth.h"

#define PASSWORD_ATTEMPTS_MAX 3
#define KBDINT_ATTEMPTS_MAX 3

enum ua_state { UA_IDLE, UA_NONE_SENT, UA_PK_QUERY, UA_PK_SIGNED, UA_PASSWORD, UA_KBDINT, UA_DONE };

struct userauth {
	const struct conn_params *p;
	struct transport *t;
	enum ua_state state;
	char *allowed;  /* methods the server last said can continue */
	char *accepted; /* PubkeyAcceptedAlgorithms, resolved */
	size_t next_identity;
	char pk_alg[64];
	unsigned password_tries, kbdint_tries;
	const char *method_done;
	struct buf *msg;
};

int userauth_new(const struct conn_params *p, struct transport *t, struct userauth **out)
{
	struct userauth *ua;
	int r;

	*out = NULL;
	if ((ua = calloc(1, sizeof(*ua))) == NULL)
		return ERR_ALLOC_FAIL;
	ua->p = p;
	ua->t = t;
	if ((ua->msg = buf_new(SSH_PACKET_MAX)) == NULL) {
		free(ua);
		return ERR_ALLOC_FAIL;
	}
	if ((r = algs_resolve(ALG_HOSTKEY, p->pubkey_accepted_algorithms, &ua->accepted)) != 0) {
		userauth_free(ua);
		return r;
	}
	*out = ua;
	return 0;
}

void userauth_free(struct userauth *ua)
{
	if (ua == NULL)
		return;
	free(ua->allowed);
	free(ua->accepted);
	buf_free(ua->msg);
	free(ua);
}

bool userauth_done(const struct userauth *ua)
{
	return ua->state == UA_DONE;
}

const char *userauth_method(const struct userauth *ua)
{
	return ua->method_done != NULL ? ua->method_done : "none";
}

static int send_msg(struct userauth *ua)
{
	return transport_send(ua->t, buf_peek(ua->msg), buf_len(ua->msg));
}

/* byte 50, string user, string "ssh-connection", string method */
static int put_header(struct userauth *ua, const char *method)
{
	int r;

	buf_reset(ua->msg);
	if ((r = buf_put_u8(ua->msg, SSH2_MSG_USERAUTH_REQUEST)) != 0 || (r = buf_put_cstring(ua->msg, ua->p->user)) != 0 ||
	    (r = buf_put_cstring(ua->msg, "ssh-connection")) != 0 || (r = buf_put_cstring(ua->msg, method)) != 0)
		return r;
	return 0;
}

int userauth_start(struct userauth *ua)
{
	int r;

	/* RFC 4252 §5.2: "none" lists the methods that can continue. */
	if ((r = put_header(ua, "none")) != 0 || (r = send_msg(ua)) != 0)
		return r;
	ua->state = UA_NONE_SENT;
	return 0;
}

/*
 * The signature algorithm for a key: RSA keys use rsa-sha2-512 or -256 as the
 * server advertises (RFC 8332 §3.3); without server-sig-algs rsa-sha2-512.
 * Legacy ssh-rsa only when PubkeyAcceptedAlgorithms names it.
 */
static int pick_alg(struct userauth *ua, const struct sshkey *k, char *out, size_t cap)
{
	struct transport_info info;
	const char *type = sshkey_type_name(k);

	transport_get_info(ua->t, &info);
	out[0] = '\0';
	if (strcmp(type, "ssh-rsa") == 0 || strcmp(type, "ssh-rsa-cert-v01@openssh.com") == 0) {
		static const char *const rsa_algs[] = {"rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"};
		bool cert = strcmp(type, "ssh-rsa") != 0;

		for (size_t i = 0; i < 3; i++) {
			if (!namelist_has(ua->accepted, rsa_algs[i]))
				continue;
			if (info.server_sig_algs != NULL ? !namelist_has(info.server_sig_algs, rsa_algs[i]) : i == 2)
				continue;
			snprintf(out, cap, "%s%s", rsa_algs[i], cert ? "-cert-v01@openssh.com" : "");
			return 0;
		}
		return ERR_NO_MATCH;
	}
	/* Certificates are the auth layer's to vet; plain keys must be accepted. */
	if (strstr(type, "-cert-v01@openssh.com") == NULL && !namelist_has(ua->accepted, type))
		return ERR_NO_MATCH;
	snprintf(out, cap, "%s", type);
	return 0;
}

static int put_key(struct userauth *ua, const struct sshkey *k)
{
	struct buf *blob = buf_new(SSH_KEY_BLOB_MAX);
	int r;

	if (blob == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sshkey_to_blob(k, blob)) == 0)
		r = buf_put_stringb(ua->msg, blob);
	buf_free(blob);
	return r;
}

static int try_publickey(struct userauth *ua, bool *sent)
{
	int r;

	*sent = false;
	while (ua->next_identity < ua->p->n_identities) {
		const struct conn_identity *id = &ua->p->identities[ua->next_identity];

		if (pick_alg(ua, id->pub, ua->pk_alg, sizeof(ua->pk_alg)) != 0) {
			log_debug(LOG_CAT_AUTH, "skipping %s key: no acceptable signature algorithm",
				  sshkey_type_name(id->pub));
			ua->next_identity++;
			continue;
		}
		/* RFC 4252 §7: ask whether the key is acceptable before signing. */
		if ((r = put_header(ua, "publickey")) != 0 || (r = buf_put_u8(ua->msg, 0)) != 0 ||
		    (r = buf_put_cstring(ua->msg, ua->pk_alg)) != 0 || (r = put_key(ua, id->pub)) != 0 ||
		    (r = send_msg(ua)) != 0)
			return r;
		log_debug(LOG_CAT_AUTH, "offering %s key", ua->pk_alg);
		ua->state = UA_PK_QUERY;
		*sent = true;
		return 0;
	}
	return 0;
}

static int send_signed(struct userauth *ua)
{
	const struct conn_identity *id = &ua->p->identities[ua->next_identity];
	struct buf *data = buf_new(SSH_PACKET_MAX), *sig = buf_new(SSH_SIGNATURE_BLOB_MAX);
	const uint8_t *sid;
	const char *sigalg;
	size_t sidlen;
	int r = ERR_ALLOC_FAIL;

	if (data == NULL || sig == NULL)
		goto out;
	if ((r = put_header(ua, "publickey")) != 0 || (r = buf_put_u8(ua->msg, 1)) != 0 ||
	    (r = buf_put_cstring(ua->msg, ua->pk_alg)) != 0 || (r = put_key(ua, id->pub)) != 0)
		goto out;
	/* RFC 4252 §7: the signature covers string session_id followed by the request so far. */
	sid = transport_session_id(ua->t, &sidlen);
	if ((r = buf_put_string(data, sid, sidlen)) != 0 || (r = buf_putb(data, ua->msg)) != 0)
		goto out;
	/* The signer gets the signature algorithm ("rsa-sha2-512" for an RSA certificate too). */
	if ((sigalg = sshkey_sig_alg_for(ua->pk_alg)) == NULL) {
		r = ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if ((r = id->sign(id->sign_ctx, id->pub, sigalg, buf_peek(data), buf_len(data), sig)) != 0) {
		log_error(LOG_CAT_AUTH, "signing with %s key failed: %s", ua->pk_alg, err_str(r));
		goto out;
	}
	if ((r = buf_put_stringb(ua->msg, sig)) != 0 || (r = send_msg(ua)) != 0)
		goto out;
	ua->state = UA_PK_SIGNED;
out:
	buf_free(data);
	buf_free(sig);
	return r;
}

static int try_password(struct userauth *ua, bool *sent)
{
	char *pw = NULL;
	int r;

	*sent = false;
	if (ua->p->password == NULL || ua->password_tries >= PASSWORD_ATTEMPTS_MAX)
		return 0;
	ua->password_tries++;
	if ((r = ua->p->password(ua->p->password_ctx, ua->p->user, ua->p->host, &pw)) != 0)
		return r;
	if (pw == NULL)
		return ERR_CANCELLED;
	if (strlen(pw) > PASSWORD_MAX) {
		r = ERR_LIMIT_EXCEEDED;
		goto out;
	}
	/* RFC 4252 §8: boolean FALSE, string password. */
	if ((r = put_header(ua, "password")) != 0 || (r = buf_put_u8(ua->msg, 0)) != 0 ||
	    (r = buf_put_cstring(ua->msg, pw)) != 0 || (r = send_msg(ua)) != 0)
		goto out;
	ua->state = UA_PASSWORD;
	*sent = true;
out:
	wipe(pw, strlen(pw));
	free(pw);
	buf_reset(ua->msg); /* the request held the password */
	return r;
}

static int try_kbdint(struct userauth *ua, bool *sent)
{
	int r;

	*sent = false;
	if (ua->p->kbdint == NULL || ua->kbdint_tries >= KBDINT_ATTEMPTS_MAX)
		return 0;
	ua->kbdint_tries++;
	/* RFC 4256 §3.1: language tag and submethods, both empty. */
	if ((r = put_header(ua, "keyboard-interactive")) != 0 || (r = buf_put_cstring(ua->msg, "")) != 0 ||
	    (r = buf_put_cstring(ua->msg, "")) != 0 || (r = send_msg(ua)) != 0)
		return r;
	ua->state = UA_KBDINT;
	*sent = true;
	return 0;
}

/* Next attempt in PreferredAuthentications order among what the server allows. */
static int next_attempt(struct userauth *ua)
{
	const char *pref = ua->p->preferred_auth != NULL ? ua->p->preferred_auth
							  : "publickey,keyboard-interactive,password";
	char *copy = strdup(pref), *save = NULL, *m;
	bool sent = false;
	int r = 0;

	if (copy == NULL)
		return ERR_ALLOC_FAIL;
	for (m = strtok_r(copy, ",", &save); m != NULL && !sent && r == 0; m = strtok_r(NULL, ",", &save)) {
		if (ua->allowed == NULL || !namelist_has(ua->allowed, m))
			continue;
		if (strcmp(m, "publickey") == 0)
			r = try_publickey(ua, &sent);
		else if (strcmp(m, "keyboard-interactive") == 0)
			r = try_kbdint(ua, &sent);
		else if (strcmp(m, "password") == 0)
			r = try_password(ua, &sent);
	}
	free(copy);
	if (r != 0)
		return r;
	if (!sent) {
		log_error(LOG_CAT_AUTH, "permission denied (%s)", ua->allowed != NULL ? ua->allowed : "");
		return ERR_AUTH_FAILED;
	}
	return 0;
}

static int handle_failure(struct userauth *ua, struct buf *b)
{
	char *list = NULL;
	size_t len;
	bool partial;
	int r;

	if ((r = buf_get_cstring(b, &list, &len)) != 0)
		return r;
	if (len > SSH_NAMELIST_MAX || (r = buf_get_bool(b, &partial)) != 0 || (r = buf_expect_end(b)) != 0) {
		free(list);
		return r != 0 ? r : ERR_LIMIT_EXCEEDED;
	}
	free(ua->allowed);
	ua->allowed = list;
	if (partial)
		log_verbose(LOG_CAT_AUTH, "partial success; continue with %s", list);
	if (ua->state == UA_PK_QUERY || ua->state == UA_PK_SIGNED)
		ua->next_identity++;
	return next_attempt(ua);
}

static int handle_pk_ok(struct userauth *ua, struct buf *b)
{
	char *alg = NULL;
	const uint8_t *blob;
	size_t alen, blen;
	int r;

	if ((r = buf_get_cstring(b, &alg, &alen)) != 0)
		return r;
	if ((r = buf_get_string_direct(b, &blob, &blen)) != 0 || (r = buf_expect_end(b)) != 0)
		goto out;
	/* RFC 4252 §7: PK_OK echoes the algorithm and key we offered. */
	if (strcmp(alg, ua->pk_alg) != 0) {
		r = ERR_PROTOCOL;
		goto out;
	}
	r = send_signed(ua);
	/* A key that cannot sign after all (its passphrase was not given or was
	 * wrong, the agent refused): go on with the next one, as ssh does. */
	if (r == ERR_CANCELLED || r == ERR_KEY_ENCRYPTED || r == ERR_KEY_WRONG_PASSPHRASE || r == ERR_AGENT_FAILURE) {
		log_info(LOG_CAT_AUTH, "skipping %s key: %s", ua->pk_alg, err_str(r));
		ua->next_identity++;
		r = next_attempt(ua);
	}
out:
	free(alg);
	return r;
}

static int handle_info_request(struct userauth *ua, struct buf *b)
{
	char *name = NULL, *instr = NULL, *lang = NULL;
	char *prompts[SSH_KBDINT_PROMPTS_MAX] = {0};
	char *answers[SSH_KBDINT_PROMPTS_MAX] = {0};
	bool echo[SSH_KBDINT_PROMPTS_MAX] = {0};
	uint32_t n = 0, i;
	size_t l;
	int r;

	if ((r = buf_get_cstring(b, &name, &l)) != 0 || (r = buf_get_cstring(b, &instr, &l)) != 0 ||
	    (r = buf_get_cstring(b, &lang, &l)) != 0 || (r = buf_get_u32(b, &n)) != 0)
		goto out;
	if (n > SSH_KBDINT_PROMPTS_MAX) {
		n = 0;
		r = ERR_LIMIT_EXCEEDED;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((r = buf_get_cstring(b, &prompts[i], &l)) != 0 || (r = buf_get_bool(b, &echo[i])) != 0)
			goto out;
	}
	if ((r = buf_expect_end(b)) != 0)
		goto out;
	if ((r = ua->p->kbdint(ua->p->kbdint_ctx, name, instr, n, (const char *const *)prompts, echo, answers)) != 0)
		goto out;
	/* RFC 4256 §3.4 INFO_RESPONSE */
	buf_reset(ua->msg);
	if ((r = buf_put_u8(ua->msg, SSH2_MSG_USERAUTH_INFO_RESPONSE)) != 0 || (r = buf_put_u32(ua->msg, n)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if ((r = buf_put_cstring(ua->msg, answers[i] != NULL ? answers[i] : "")) != 0)
			goto out;
	}
	r = send_msg(ua);
out:
	buf_reset(ua->msg);
	for (i = 0; i < SSH_KBDINT_PROMPTS_MAX; i++) {
		free(prompts[i]);
		if (answers[i] != NULL) {
			wipe(answers[i], strlen(answers[i]));
			free(answers[i]);
		}
	}
	free(name);
	free(instr);
	free(lang);
	return r;
}

int userauth_input(struct userauth *ua, const uint8_t *p, size_t len)
{
	struct buf *b = buf_from(p, len);
	uint8_t type;
	int r;

	if (b == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_get_u8(b, &type)) != 0)
		goto out;
	if (ua->state == UA_DONE || ua->state == UA_IDLE) {
		r = ERR_PROTOCOL;
		goto out;
	}
	switch (type) {
	case SSH2_MSG_USERAUTH_BANNER: {
		const uint8_t *text;
		size_t tlen;

		/* RFC 4252 §5.4: shown to the user; we log it. */
		if ((r = buf_get_string_direct(b, &text, &tlen)) == 0)
			log_info(LOG_CAT_AUTH, "%.*s", (int)(tlen > SSH_MESSAGE_TEXT_MAX ? SSH_MESSAGE_TEXT_MAX : tlen),
				 (const char *)text);
		break;
	}
	case SSH2_MSG_USERAUTH_SUCCESS:
		if ((r = buf_expect_end(b)) != 0)
			break;
		switch (ua->state) {
		case UA_PK_SIGNED:
			ua->method_done = "publickey";
			break;
		case UA_PASSWORD:
			ua->method_done = "password";
			break;
		case UA_KBDINT:
			ua->method_done = "keyboard-interactive";
			break;
		default:
			ua->method_done = "none";
		}
		ua->state = UA_DONE;
		log_verbose(LOG_CAT_AUTH, "authenticated with %s", ua->method_done);
		break;
	case SSH2_MSG_USERAUTH_FAILURE:
		r = handle_failure(ua, b);
		break;
	case 60:
		if (ua->state == UA_PK_QUERY)
			r = handle_pk_ok(ua, b);
		else if (ua->state == UA_KBDINT)
			r = handle_info_request(ua, b);
		else if (ua->state == UA_PASSWORD) {
			/* RFC 4252 §8 PASSWD_CHANGEREQ: we do not change passwords; try the next method. */
			ua->password_tries = PASSWORD_ATTEMPTS_MAX;
			r = next_attempt(ua);
		} else
			r = ERR_PROTOCOL;
		break;
	default:
		r = ERR_PROTOCOL;
	}
out:
	buf_free(b);
	return r;
}
