/*
 * conn.h - one SSH connection to a server: socket, transport, user
 * authentication and channels, driven by one I/O thread per connection.
 *
 * conn_open() connects, exchanges versions and keys, verifies the host key
 * through the caller's callback and authenticates, all in the calling thread;
 * then it starts the connection's I/O thread, which alone owns the socket and
 * the protocol state from then on. Other threads talk to it through queues
 * and an eventfd: conn_start_sftp(), conn_exec() and the SFTP send function
 * never touch the socket themselves.
 */
#ifndef SFTPFS_CONN_H
#define SFTPFS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

struct sshkey;
struct sftp_client;
struct conn;

/* One candidate key for publickey authentication (RFC 4252 §7). */
struct conn_identity {
	struct sshkey *pub; /* borrowed public key (or certificate) */
	/* Sign data with algorithm alg; appends the signature blob to out. File keys
	 * use sshkey_sign (conn_sign_with_key below); agent keys ask the agent. */
	int (*sign)(void *ctx, const struct sshkey *pub, const char *alg, const uint8_t *data, size_t len,
		    struct buf *out);
	void *sign_ctx;
};

/* Returns 0 to accept, or ERR_HOSTKEY_UNKNOWN / ERR_HOSTKEY_CHANGED / ERR_HOSTKEY_REVOKED. */
typedef int (*conn_verify_host_key_fn)(void *ctx, const char *host, uint16_t port, const struct sshkey *key);
/* Password prompt: *out gets a malloc'd NUL-terminated password (wiped and freed by conn). */
typedef int (*conn_password_fn)(void *ctx, const char *user, const char *host, char **out);
/*
 * Keyboard-interactive (RFC 4256 §3.2): answer n prompts; answers[i] gets a
 * malloc'd string each (wiped and freed by conn). n may be 0.
 */
typedef int (*conn_kbdint_fn)(void *ctx, const char *name, const char *instruction, uint32_t n,
			      const char *const *prompts, const bool *echo, char **answers);

/* Resolved settings (ssh_config names in comments). Zero means default. */
struct conn_params {
	const char *host;     /* HostName: name or address to connect to */
	uint16_t port;        /* Port (0 = 22) */
	const char *user;     /* User */
	const char *host_key_alias; /* name given to verify_host_key (NULL = host) */
	const struct conn_identity *identities; /* tried in order */
	size_t n_identities;
	conn_verify_host_key_fn verify_host_key; /* required */
	void *verify_ctx;
	conn_password_fn password;  /* NULL: no password authentication */
	void *password_ctx;
	conn_kbdint_fn kbdint;      /* NULL: no keyboard-interactive */
	void *kbdint_ctx;
	/* PreferredAuthentications (default "publickey,keyboard-interactive,password") */
	const char *preferred_auth;
	/* OpenSSH list syntax with + - ^ (NULL = default) */
	const char *kex_algorithms;
	const char *host_key_algorithms;
	const char *ciphers;
	const char *macs;
	const char *pubkey_accepted_algorithms;
	bool compression;                /* Compression yes: offer zlib@openssh.com,zlib */
	uint64_t rekey_limit_bytes;      /* RekeyLimit (0 = cipher default) */
	uint32_t rekey_limit_seconds;    /* RekeyLimit second field (0 = none) */
	unsigned server_alive_interval;  /* ServerAliveInterval seconds (0 = off) */
	unsigned server_alive_count_max; /* ServerAliveCountMax (0 = 3) */
	unsigned connect_timeout;        /* ConnectTimeout seconds (0 = system) */
	bool tcp_keepalive;              /* TCPKeepAlive: SO_KEEPALIVE on the socket */
	int address_family;              /* AddressFamily: AF_UNSPEC, AF_INET, AF_INET6 */
	const char *bind_address;        /* BindAddress (NULL = any) */
	int fd;                          /* >= 0: an already connected stream (ProxyCommand); taken over */
};

/* Connect, version exchange, KEX, host key verification, user authentication. Blocking. */
int conn_open(const struct conn_params *p, struct conn **out) MUST_CHECK;
/*
 * Open a session channel, request subsystem "sftp", and wire it to a new
 * sftp_client (channel data -> sftp_client_input on the I/O thread; sftp
 * send -> channel queue). Blocking; not from the I/O thread.
 */
int conn_start_sftp(struct conn *c, struct sftp_client **out) MUST_CHECK;
/*
 * The same over an "exec" channel running command (an SFTP server program
 * speaking on its stdin/stdout, like sshfs -o sftp_server=/path). When the
 * command cannot run, the server closes the channel (its exit status is
 * logged) and sftp_client_init fails with ERR_CONN_CLOSED.
 */
int conn_start_sftp_exec(struct conn *c, const char *command, struct sftp_client **out) MUST_CHECK;
/*
 * Run a command (RFC 4254 §6.5 exec) with stdin from in (may be NULL), and
 * collect its stdout into out (may be NULL, then discarded) and its exit
 * status into *status (-1 when the server sent none). Blocking.
 */
int conn_exec(struct conn *c, const char *command, const uint8_t *in, size_t inlen, struct buf *out,
	      int *status) MUST_CHECK;
/*
 * Called once when the connection dies (I/O error, disconnect, keepalive
 * timeout), on the I/O thread, after every stream was closed (SFTP clients
 * shut down with err). Not called for conn_close(). The callback must not
 * call conn_close() itself (it would wait for its own thread).
 */
void conn_set_close_callback(struct conn *c, void (*cb)(void *ctx, int err), void *ctx);
/*
 * Closes (DISCONNECT by application, bounded flush) and frees; pending SFTP
 * requests fail with ERR_CONN_CLOSED. Not from the I/O thread. SFTP clients
 * from conn_start_sftp() stay valid (shut down) until sftp_client_free().
 */
void conn_close(struct conn *c);
/*
 * Ends the connection now without freeing it: the I/O thread sends
 * DISCONNECT and stops, every stream closes and every waiter (a stream being
 * opened, an SFTP request) fails with ERR_CONN_CLOSED. The close callback is
 * not called. conn_close() still frees c. Any thread but the I/O thread.
 */
void conn_abort(struct conn *c);

/*
 * ProxyJump: open a connection to p->host:p->port through a "direct-tcpip"
 * channel of jump (RFC 4254 §7.2), then conn_open() over it (p->fd is
 * ignored). Close the returned connection before jump.
 */
int conn_open_via(struct conn *jump, const struct conn_params *p, struct conn **out) MUST_CHECK;
/* c takes jump (the connection c came through): conn_close(c) closes it after c. */
void conn_own_jump(struct conn *c, struct conn *jump);

/* Negotiated algorithms and counters, for logs and the test tool. */
struct conn_info {
	char server_version[256];
	char kex[64], hostkey_alg[64];
	char cipher_c2s[64], cipher_s2c[64], mac_c2s[64], mac_s2c[64], comp_c2s[32], comp_s2c[32];
	bool strict_kex;
	unsigned rekeys; /* key re-exchanges after the first, either side */
	char auth_method[32];
};
void conn_get_info(struct conn *c, struct conn_info *out);
/* Ask for a key re-exchange now (test tool); asynchronous. */
int conn_rekey(struct conn *c) MUST_CHECK;

/* conn_identity.sign for a loaded private key: ctx is that struct sshkey *. */
int conn_sign_with_key(void *ctx, const struct sshkey *pub, const char *alg, const uint8_t *data, size_t len,
		       struct buf *out);

#endif
