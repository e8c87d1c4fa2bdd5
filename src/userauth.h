/*
 * userauth.h - the client side of the ssh-userauth service (RFC 4252) as a
 * core without I/O: a "none" probe, publickey (query, then signed request,
 * §7; RSA as rsa-sha2-512/256 per server-sig-algs, RFC 8332 §3 / RFC 8308
 * §3.1), password (§8) and keyboard-interactive (RFC 4256), in the order of
 * PreferredAuthentications, with partial success (§5.1).
 *
 * Prompt callbacks may block (terminal), so this runs in conn_open()'s
 * thread, before the connection's I/O thread exists.
 */
#ifndef SFTPFS_USERAUTH_H
#define SFTPFS_USERAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "err.h"
#include "transport.h"

struct userauth;

int userauth_new(const struct conn_params *p, struct transport *t, struct userauth **out) MUST_CHECK;
void userauth_free(struct userauth *ua);
/* Sends the "none" probe. */
int userauth_start(struct userauth *ua) MUST_CHECK;
/* One payload 50..79; ERR_AUTH_FAILED once every method is exhausted. */
int userauth_input(struct userauth *ua, const uint8_t *payload, size_t len) MUST_CHECK;
bool userauth_done(const struct userauth *ua);
/* The method that completed authentication ("publickey", ...). */
const char *userauth_method(const struct userauth *ua);

#endif
