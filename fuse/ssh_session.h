/*
 * ssh_session.h - the daemon's SSH transport (ssh.c): the resolved
 * configuration, identities and known_hosts policy of one mount, from which
 * SFTP clients over our own SSH connection are made.
 */
#ifndef SFTPFS_FUSE_SSH_SESSION_H
#define SFTPFS_FUSE_SSH_SESSION_H

#include "options.h"
#include "sftp.h"

struct ssh_session;

/* Resolves ssh_config, reads password_stdin, loads keys and opens the
 * agent; prints a one-line message on failure. */
int ssh_session_new(const struct sftpfs_opts *o, struct ssh_session **out) MUST_CHECK;
/* A new connection: connects, verifies the host key, authenticates and
 * starts SFTP (initialised). Several may be open at once (max_conns, a
 * reconnect while the old one is still referenced). Failures are one line on
 * stderr, or in the log once the session is non-interactive. */
int ssh_session_open_client(struct ssh_session *s, struct sftp_client **out) MUST_CHECK;
/* Another SFTP session on client's connection (a write lane, files.c),
 * initialised; freed when client's connection is closed. */
int ssh_session_open_lane(struct ssh_session *s, struct sftp_client *client, struct sftp_client **out) MUST_CHECK;
/* Ends a client's connection (conn_abort) without freeing anything: what
 * waits on it fails at once. */
void ssh_session_abort_client(struct ssh_session *s, struct sftp_client *client);
/* Closes a client's connection (and its lanes), then frees the client. */
void ssh_session_close_client(struct ssh_session *s, struct sftp_client *client);
/* After the mount: later connections never prompt (no password, passphrase
 * or host key question) and report failures to the log. */
void ssh_session_set_noninteractive(struct ssh_session *s);
void ssh_session_free(struct ssh_session *s);

#endif
