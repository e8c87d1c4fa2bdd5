/*
 * conn_chan.h - byte-stream channels of a connection for layers built on
 * conn (the SFTP wiring in conn_sftp.c, later ProxyJump's direct-tcpip).
 *
 * A conn_stream is a session channel running a subsystem or command. Its
 * callbacks run on the connection's I/O thread and must not block.
 * conn_stream_send() and conn_stream_send2() may be called from any thread:
 * they queue and wake the I/O thread. After on_close has run, sends fail
 * with ERR_CONN_CLOSED; the stream itself is freed by conn_close().
 */
#ifndef SFTPFS_CONN_CHAN_H
#define SFTPFS_CONN_CHAN_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "err.h"

struct conn_stream;

struct conn_stream_ops {
	/* Bytes from the channel; a negative return closes the channel. */
	int (*on_data)(void *ctx, const uint8_t *data, size_t len);
	/* The channel or connection is gone; called once. */
	void (*on_close)(void *ctx, int err);
};

/* Open a session channel and request subsystem name. Blocking (not from the I/O thread). */
int conn_stream_open_subsystem(struct conn *c, const char *name, const struct conn_stream_ops *ops, void *ctx,
			       struct conn_stream **out) MUST_CHECK;
/*
 * Open a session channel and run command (RFC 4254 §6.5 "exec"); its stdout
 * is the stream's data, its stderr goes to the debug log. Blocking.
 */
int conn_stream_open_exec(struct conn *c, const char *command, const struct conn_stream_ops *ops, void *ctx,
			  struct conn_stream **out) MUST_CHECK;
/* An exec stream's exit status once its channel closed (RFC 4254 §6.10), else -1. */
int conn_stream_exit_status(struct conn_stream *s);
/*
 * Open a "direct-tcpip" channel (RFC 4254 §7.2) to host:port as seen from the
 * server: the byte stream of a ProxyJump hop. Blocking (not from the I/O thread).
 */
int conn_stream_open_direct_tcpip(struct conn *c, const char *host, uint16_t port, const struct conn_stream_ops *ops,
				  void *ctx, struct conn_stream **out) MUST_CHECK;
/*
 * The owner of ctx is going away: ops will not run again once this returns
 * (it waits for a callback in progress, unless called from inside one), and
 * the channel is closed. Must be called before on_close if ctx dies first.
 */
void conn_stream_detach(struct conn_stream *s);
/*
 * For the opener of c (conn_open_via): release(arg) runs in conn_close(c)
 * after c is freed and before a jump c owns is closed.
 */
void conn_set_release(struct conn *c, void (*release)(void *arg), void *arg);
/* The largest channel window the server has granted (its receive buffer). I/O thread only: from a callback. */
uint32_t conn_stream_peer_window(const struct conn_stream *s);
/* Queue bytes toward the server; never blocks on the peer. */
int conn_stream_send(struct conn_stream *s, const uint8_t *data, size_t len) MUST_CHECK;
/* The same for data and then tail, queued together. */
int conn_stream_send2(struct conn_stream *s, const uint8_t *data, size_t len, const uint8_t *tail,
		      size_t tlen) MUST_CHECK;

#endif
