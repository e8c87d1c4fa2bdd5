/*
 * buf.h - the one bounds-checked reader/writer for wire data.
 *
 * A struct buf holds unread bytes [off, size) of an allocation, grows under a
 * per-buffer cap, and wipes its memory on growth, reset and free. Every
 * getter checks the remaining length once, in subtraction form, and clears
 * its out-parameters on entry; nothing else in sftpfs decodes peer bytes.
 * Getters consume only on success: a failed get leaves the buffer unchanged.
 *
 * Ownership: _direct/_peek results borrow the buffer's memory and stay valid
 * until the buffer is next modified or freed. Views (buf_from, buf_fromb,
 * buf_froms) are read-only and borrow their source, which must outlive them
 * and must not change while they live.
 */
#ifndef SFTPFS_BUF_H
#define SFTPFS_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct buf;

/* A new empty buffer capped at max_size bytes (0 means BUF_DEFAULT_MAX). */
struct buf *buf_new(size_t max_size);
/* A read-only view of len bytes at data (borrowed). */
struct buf *buf_from(const void *data, size_t len);
/* A read-only view of parent's unread bytes. */
struct buf *buf_fromb(const struct buf *parent);
/* Wipes and frees; NULL is allowed. */
void buf_free(struct buf *b);
/* Wipes and empties a writable buffer, keeping its cap. */
void buf_reset(struct buf *b);

size_t buf_len(const struct buf *b);
/* Bytes that may still be appended before the cap is reached. */
size_t buf_room(const struct buf *b);
size_t buf_max_size(const struct buf *b);
int buf_set_max_size(struct buf *b, size_t max_size) MUST_CHECK;
/* Unread bytes; borrowed until the next modification. */
const uint8_t *buf_peek(const struct buf *b);
/* Unread bytes of a writable buffer, for in-place transforms (decrypt). */
uint8_t *buf_mutable_peek(struct buf *b);

int buf_consume(struct buf *b, size_t n) MUST_CHECK;
int buf_consume_end(struct buf *b, size_t n) MUST_CHECK;

/* Writers: append; fail with ERR_NO_BUFFER_SPACE beyond the cap. */
int buf_reserve(struct buf *b, size_t n, uint8_t **dst) MUST_CHECK;
int buf_put(struct buf *b, const void *data, size_t n) MUST_CHECK;
int buf_putb(struct buf *b, const struct buf *src) MUST_CHECK;
int buf_put_u8(struct buf *b, uint8_t v) MUST_CHECK;
int buf_put_u32(struct buf *b, uint32_t v) MUST_CHECK;
int buf_put_u64(struct buf *b, uint64_t v) MUST_CHECK;
int buf_put_string(struct buf *b, const void *data, size_t n) MUST_CHECK;
int buf_put_cstring(struct buf *b, const char *s) MUST_CHECK;
int buf_put_stringb(struct buf *b, const struct buf *v) MUST_CHECK;
/* RFC 4251 §5 mpint from an unsigned big-endian magnitude (leading zeros ok). */
int buf_put_mpint(struct buf *b, const uint8_t *mag, size_t n) MUST_CHECK;
/* Overwrite 4 bytes at offset (relative to the unread start). */
int buf_poke_u32(struct buf *b, size_t offset, uint32_t v) MUST_CHECK;

/* Readers. */
int buf_get(struct buf *b, void *out, size_t n) MUST_CHECK;
int buf_get_u8(struct buf *b, uint8_t *out) MUST_CHECK;
int buf_get_u32(struct buf *b, uint32_t *out) MUST_CHECK;
int buf_get_u64(struct buf *b, uint64_t *out) MUST_CHECK;
int buf_get_bool(struct buf *b, bool *out) MUST_CHECK;
int buf_peek_u8(const struct buf *b, size_t offset, uint8_t *out) MUST_CHECK;
int buf_peek_u32(const struct buf *b, size_t offset, uint32_t *out) MUST_CHECK;
/* A string as a fresh allocation (NUL-terminated for convenience). */
int buf_get_string(struct buf *b, uint8_t **out, size_t *lenp) MUST_CHECK;
/* A string borrowed from b. */
int buf_get_string_direct(struct buf *b, const uint8_t **out, size_t *lenp) MUST_CHECK;
int buf_peek_string_direct(const struct buf *b, const uint8_t **out, size_t *lenp) MUST_CHECK;
/* A string that must hold no NUL byte, as a fresh C string. */
int buf_get_cstring(struct buf *b, char **out, size_t *lenp) MUST_CHECK;
/* A string appended to dst. */
int buf_get_stringb(struct buf *b, struct buf *dst) MUST_CHECK;
/* A string returned as a read-only view borrowing b's memory. */
int buf_froms(struct buf *b, struct buf **out) MUST_CHECK;
/*
 * RFC 4251 §5 mpint, which must be non-negative and minimally encoded; returns
 * the magnitude without its sign byte, at most max_bytes long.
 */
int buf_get_mpint_direct(struct buf *b, size_t max_bytes, const uint8_t **out, size_t *lenp) MUST_CHECK;

/* ERR_TRAILING_DATA unless every byte has been read. */
int buf_expect_end(const struct buf *b) MUST_CHECK;

/* Constant-time comparison of n bytes: 0 when equal. */
int ct_memcmp(const void *a, const void *b, size_t n);
/* Wipe memory in a way the compiler will not elide. */
void wipe(void *p, size_t n);

#endif
