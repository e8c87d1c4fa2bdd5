/*
 * channel.h - the SSH connection protocol core for a client (RFC 4254):
 * session channels with flow-control windows, channel requests (subsystem,
 * exec), EOF and close, and global requests (keepalive@openssh.com both ways,
 * unknown requests refused). It does no I/O: it consumes payloads 80..100
 * from the transport and sends through transport_send().
 *
 * Our receive window is large (SSH_CHANNEL_WINDOW_DEFAULT) and topped up
 * early, after a quarter of it is used, so bulk transfers never stall on
 * WINDOW_ADJUST round trips. Window arithmetic is overflow-checked.
 * Not thread-safe: driven by one thread (the connection's I/O thread).
 */
#ifndef SFTPFS_CHANNEL_H
#define SFTPFS_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "transport.h"

struct chan;
struct chanmgr;

struct chan_callbacks {
	/* CHANNEL_OPEN_CONFIRMATION (0) or OPEN_FAILURE (ERR_CHANNEL_FAILED). */
	void (*on_open)(void *ctx, int result);
	/* Reply to a request sent with want_reply: 0 or ERR_CHANNEL_FAILED. */
	void (*on_request)(void *ctx, int result);
	/* Channel data (RFC 4254 §5.2); a negative return closes the channel. */
	int (*on_data)(void *ctx, const uint8_t *data, size_t len);
	/* Extended data type 1 (stderr). */
	void (*on_stderr)(void *ctx, const uint8_t *data, size_t len);
	void (*on_eof)(void *ctx);
	/* RFC 4254 §6.10 exit-status (signals are reported as 128 + 0). */
	void (*on_exit_status)(void *ctx, uint32_t status);
	/* The channel is gone (closed by both sides, or the connection died with err). */
	void (*on_close)(void *ctx, int err);
};

int chanmgr_new(struct transport *t, struct chanmgr **out) MUST_CHECK;
/* Frees every channel without callbacks. */
void chanmgr_free(struct chanmgr *cm);
/* Handle one connection-protocol payload (message numbers 80..127). */
int chanmgr_input(struct chanmgr *cm, const uint8_t *payload, size_t len) MUST_CHECK;
/* Push queued channel data within the peer's windows. */
int chanmgr_flush(struct chanmgr *cm) MUST_CHECK;
/* Bytes queued in channels, not yet within the peer's window. */
size_t chanmgr_queued(const struct chanmgr *cm);
/* The connection died: every channel gets on_close(err) and is freed. */
void chanmgr_fail_all(struct chanmgr *cm, int err);
/* Client keepalive (OpenSSH ServerAliveInterval): a global request wanting a reply. */
int chanmgr_send_keepalive(struct chanmgr *cm) MUST_CHECK;
/* Keepalives sent and not answered yet. */
unsigned chanmgr_keepalives_outstanding(const struct chanmgr *cm);
void chanmgr_reset_keepalives(struct chanmgr *cm);
unsigned chanmgr_count(const struct chanmgr *cm);

/* RFC 4254 §6.1: open a "session" channel; on_open reports the outcome. */
int chan_open_session(struct chanmgr *cm, const struct chan_callbacks *cb, void *ctx, struct chan **out) MUST_CHECK;
/* RFC 4254 §7.2: a "direct-tcpip" channel to host:port (ProxyJump hops); on_open reports. */
int chan_open_direct_tcpip(struct chanmgr *cm, const char *host, uint16_t port, const struct chan_callbacks *cb,
			   void *ctx, struct chan **out) MUST_CHECK;
/* RFC 4254 §6.5: "subsystem" / "exec" with want_reply; on_request reports. */
int chan_request_subsystem(struct chan *ch, const char *name) MUST_CHECK;
int chan_request_exec(struct chan *ch, const char *command) MUST_CHECK;
/* Queue data toward the peer (sent as the window allows). */
int chan_write(struct chan *ch, const uint8_t *data, size_t len) MUST_CHECK;
int chan_send_eof(struct chan *ch) MUST_CHECK;
/* Send CLOSE; on_close follows when the peer's CLOSE arrives. */
int chan_close(struct chan *ch) MUST_CHECK;
/* Bytes queued in this channel. */
size_t chan_queued(const struct chan *ch);
/* The largest window the peer has granted (OpenSSH opens sessions with 0
 * and grants its real window once the program runs). */
uint32_t chan_peer_window(const struct chan *ch);
/* Bytes chan_write would send at once now (the peer's window beyond the
 * queue; 0 before the channel is open or after EOF). */
size_t chan_sendable(const struct chan *ch);

#endif
