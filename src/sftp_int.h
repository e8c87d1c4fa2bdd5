/*
 * sftp_int.h - internal to the SFTP client: the request helpers of sftp.c
 * that sftp_ext.c builds its extension requests with. A packet from
 * sftp_pkt_new() has room for length, type and id, which the call helpers
 * fill in when they register it; every call helper consumes the packet (also
 * on failure, and a NULL packet means ERR_ALLOC_FAIL).
 */
#ifndef SFTPFS_SFTP_INT_H
#define SFTPFS_SFTP_INT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "sftp.h"

/* A request packet of the given type (filexfer-02 §3), or NULL. */
struct buf *sftp_pkt_new(uint8_t type);
/* A path argument: at most SFTP_PATH_MAX bytes, no NUL. */
int sftp_put_path(struct buf *b, const char *path) MUST_CHECK;
/* A handle argument: ERR_STALE unless h belongs to c. */
int sftp_put_handle(const struct sftp_client *c, struct buf *b, const struct sftp_handle *h) MUST_CHECK;
/* One round trip: reply type and body after the id (caller frees). */
int sftp_call_raw(struct sftp_client *c, struct buf *pkt, size_t bytes, uint8_t *rtype,
                  struct buf **reply) MUST_CHECK;
/* A request answered by STATUS only; the status is mapped. */
int sftp_call_status(struct sftp_client *c, struct buf *pkt) MUST_CHECK;
/* A request answered by a reply of type want, or an error STATUS. */
int sftp_call_expect(struct sftp_client *c, struct buf *pkt, size_t bytes, uint8_t want,
                     struct buf **body) MUST_CHECK;
/* A request answered by a NAME holding exactly one path (new string in *out). */
int sftp_call_name(struct sftp_client *c, struct buf *pkt, char **out) MUST_CHECK;
/* A STATUS body: recorded for sftp_last_status() and mapped to an err code. */
int sftp_status_result(struct buf *body, uint8_t req_type) MUST_CHECK;
/* Clears the calling thread's last status (a call that sends nothing). */
void sftp_tls_reset(void);

#endif
