/*
 * buf.c - implementation of the bounds-checked wire buffer (buf.h).
 *
 * Invariants: off <= size <= alloc <= max_size <= BUF_ABSOLUTE_MAX. A view
 * has readonly set and cdata pointing at borrowed memory; writable buffers
 * own data. Length checks are written as "avail < need" after establishing
 * avail = size - off, so no addition can overflow.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "limits.h"

#define BUF_GROW_QUANTUM 256u

struct buf {
	uint8_t *data;        /* owned storage; NULL for views */
	const uint8_t *cdata; /* what readers use: data, or the viewed memory */
	size_t off;
	size_t size;
	size_t alloc;
	size_t max_size;
	bool readonly;
};

void wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

int ct_memcmp(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *pa = a;
	const volatile uint8_t *pb = b;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= pa[i] ^ pb[i];
	return acc != 0;
}

struct buf *buf_new(size_t max_size)
{
	struct buf *b;

	if (max_size == 0)
		max_size = BUF_DEFAULT_MAX;
	if (max_size > BUF_ABSOLUTE_MAX)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->max_size = max_size;
	return b;
}

struct buf *buf_from(const void *data, size_t len)
{
	struct buf *b;

	if (len > BUF_ABSOLUTE_MAX || (data == NULL && len != 0))
		return NULL;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return NULL;
	b->cdata = data;
	b->size = len;
	b->alloc = len;
	b->max_size = len;
	b->readonly = true;
	return b;
}

struct buf *buf_fromb(const struct buf *parent)
{
	return buf_from(buf_peek(parent), buf_len(parent));
}

void buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	if (!b->readonly) {
		wipe(b->data, b->alloc);
		free(b->data);
	}
	wipe(b, sizeof(*b));
	free(b);
}

void buf_reset(struct buf *b)
{
	if (b->readonly) {
		b->off = b->size;
		return;
	}
	wipe(b->data, b->alloc);
	b->off = 0;
	b->size = 0;
}

size_t buf_len(const struct buf *b)
{
	return b->size - b->off;
}

size_t buf_room(const struct buf *b)
{
	if (b->readonly)
		return 0;
	return b->max_size - buf_len(b);
}

size_t buf_max_size(const struct buf *b)
{
	return b->max_size;
}

int buf_set_max_size(struct buf *b, size_t max_size)
{
	if (b->readonly)
		return ERR_INVALID_ARGUMENT;
	if (max_size > BUF_ABSOLUTE_MAX || max_size < buf_len(b))
		return ERR_NO_BUFFER_SPACE;
	b->max_size = max_size;
	return 0;
}

const uint8_t *buf_peek(const struct buf *b)
{
	if (b->readonly)
		return b->cdata + b->off;
	return b->data == NULL ? (const uint8_t *)"" : b->data + b->off;
}

uint8_t *buf_mutable_peek(struct buf *b)
{
	if (b->readonly || b->data == NULL)
		return NULL;
	return b->data + b->off;
}

int buf_consume(struct buf *b, size_t n)
{
	if (buf_len(b) < n)
		return ERR_MESSAGE_INCOMPLETE;
	b->off += n;
	if (b->off == b->size && !b->readonly) {
		b->off = 0;
		b->size = 0;
	}
	return 0;
}

int buf_consume_end(struct buf *b, size_t n)
{
	if (buf_len(b) < n)
		return ERR_MESSAGE_INCOMPLETE;
	if (!b->readonly)
		wipe(b->data + b->size - n, n);
	b->size -= n;
	return 0;
}

/* Moves unread bytes to the start, wiping what they leave behind. */
static void buf_compact(struct buf *b)
{
	size_t len = buf_len(b);

	if (b->off == 0)
		return;
	memmove(b->data, b->data + b->off, len);
	wipe(b->data + len, b->size - len);
	b->off = 0;
	b->size = len;
}

int buf_reserve(struct buf *b, size_t n, uint8_t **dst)
{
	size_t len, need, nalloc;
	uint8_t *ndata;

	*dst = NULL;
	if (b->readonly)
		return ERR_INVALID_ARGUMENT;
	len = buf_len(b);
	if (b->max_size - len < n)
		return ERR_NO_BUFFER_SPACE;
	/* A fresh buffer has no storage yet: allocate even for n == 0 so *dst is never NULL + 0. */
	if (b->data != NULL && b->alloc - b->size >= n) {
		*dst = b->data + b->size;
		b->size += n;
		return 0;
	}
	/*
	 * Compacting moves the unread bytes. It is cheap when they are no more
	 * than the bytes consumed before them (a queue appended to at one end
	 * and consumed at the other then moves each byte at most once), and
	 * needed when the buffer cannot grow. Otherwise growing (doubling)
	 * copies them once and leaves room for many appends: compacting a few
	 * MiB queued to make room for one more packet, each time, was most of
	 * the daemon's CPU time in a sequential write.
	 */
	if (b->data != NULL && b->alloc - len >= n && (b->off >= len || b->alloc >= b->max_size)) {
		buf_compact(b);
		if (b->alloc - b->size >= n) {
			*dst = b->data + b->size;
			b->size += n;
			return 0;
		}
	}
	need = len + n; /* cannot overflow: len + n <= max_size */
	nalloc = need + BUF_GROW_QUANTUM - 1;
	nalloc -= nalloc % BUF_GROW_QUANTUM;
	if (nalloc < b->alloc * 2)
		nalloc = b->alloc * 2;
	if (nalloc < BUF_GROW_QUANTUM)
		nalloc = BUF_GROW_QUANTUM;
	if (nalloc > b->max_size)
		nalloc = b->max_size;
	/* Grow by copy so the old allocation can be wiped, never by realloc. */
	ndata = malloc(nalloc);
	if (ndata == NULL)
		return ERR_ALLOC_FAIL;
	if (len > 0)
		memcpy(ndata, b->data + b->off, len);
	wipe(b->data, b->alloc);
	free(b->data);
	b->data = ndata;
	b->alloc = nalloc;
	b->off = 0;
	b->size = len + n;
	*dst = b->data + len;
	return 0;
}

int buf_put(struct buf *b, const void *data, size_t n)
{
	uint8_t *p;
	int r;

	if ((r = buf_reserve(b, n, &p)) != 0)
		return r;
	if (n > 0)
		memcpy(p, data, n);
	return 0;
}

int buf_putb(struct buf *b, const struct buf *src)
{
	return buf_put(b, buf_peek(src), buf_len(src));
}

int buf_put_u8(struct buf *b, uint8_t v)
{
	return buf_put(b, &v, 1);
}

int buf_put_u32(struct buf *b, uint32_t v)
{
	uint8_t p[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};

	return buf_put(b, p, sizeof(p));
}

int buf_put_u64(struct buf *b, uint64_t v)
{
	uint8_t p[8];

	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
	return buf_put(b, p, sizeof(p));
}

int buf_put_string(struct buf *b, const void *data, size_t n)
{
	uint8_t *p;
	int r;

	if (n > UINT32_MAX || n > SIZE_MAX - 4)
		return ERR_STRING_TOO_LARGE;
	if ((r = buf_reserve(b, 4 + n, &p)) != 0)
		return r;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	if (n > 0)
		memcpy(p + 4, data, n);
	return 0;
}

int buf_put_cstring(struct buf *b, const char *s)
{
	return buf_put_string(b, s, s == NULL ? 0 : strlen(s));
}

int buf_put_stringb(struct buf *b, const struct buf *v)
{
	return buf_put_string(b, buf_peek(v), buf_len(v));
}

int buf_put_mpint(struct buf *b, const uint8_t *mag, size_t n)
{
	uint8_t *p;
	size_t len;
	int pad, r;

	/* RFC 4251 §5: no unnecessary leading zero bytes; a set top bit needs a 0 byte. */
	while (n > 0 && mag[0] == 0) {
		mag++;
		n--;
	}
	pad = (n > 0 && (mag[0] & 0x80) != 0) ? 1 : 0;
	if (n > UINT32_MAX - 1)
		return ERR_STRING_TOO_LARGE;
	len = n + (size_t)pad;
	if ((r = buf_reserve(b, 4 + len, &p)) != 0)
		return r;
	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	if (pad)
		p[4] = 0;
	if (n > 0)
		memcpy(p + 4 + pad, mag, n);
	return 0;
}

int buf_poke_u32(struct buf *b, size_t offset, uint32_t v)
{
	uint8_t *p;

	if (b->readonly)
		return ERR_INVALID_ARGUMENT;
	if (buf_len(b) < 4 || buf_len(b) - 4 < offset)
		return ERR_MESSAGE_INCOMPLETE;
	p = b->data + b->off + offset;
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return 0;
}

int buf_get(struct buf *b, void *out, size_t n)
{
	if (buf_len(b) < n)
		return ERR_MESSAGE_INCOMPLETE;
	if (n > 0)
		memcpy(out, buf_peek(b), n);
	return buf_consume(b, n);
}

int buf_peek_u8(const struct buf *b, size_t offset, uint8_t *out)
{
	*out = 0;
	if (buf_len(b) < 1 || buf_len(b) - 1 < offset)
		return ERR_MESSAGE_INCOMPLETE;
	*out = buf_peek(b)[offset];
	return 0;
}

int buf_peek_u32(const struct buf *b, size_t offset, uint32_t *out)
{
	const uint8_t *p;

	*out = 0;
	if (buf_len(b) < 4 || buf_len(b) - 4 < offset)
		return ERR_MESSAGE_INCOMPLETE;
	p = buf_peek(b) + offset;
	*out = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
	return 0;
}

int buf_get_u8(struct buf *b, uint8_t *out)
{
	int r;

	if ((r = buf_peek_u8(b, 0, out)) != 0)
		return r;
	return buf_consume(b, 1);
}

int buf_get_u32(struct buf *b, uint32_t *out)
{
	int r;

	if ((r = buf_peek_u32(b, 0, out)) != 0)
		return r;
	return buf_consume(b, 4);
}

int buf_get_u64(struct buf *b, uint64_t *out)
{
	const uint8_t *p;
	uint64_t v = 0;

	*out = 0;
	if (buf_len(b) < 8)
		return ERR_MESSAGE_INCOMPLETE;
	p = buf_peek(b);
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	*out = v;
	return buf_consume(b, 8);
}

int buf_get_bool(struct buf *b, bool *out)
{
	uint8_t v;
	int r;

	*out = false;
	if ((r = buf_get_u8(b, &v)) != 0)
		return r;
	/* RFC 4251 §5: any non-zero value is TRUE. */
	*out = v != 0;
	return 0;
}

int buf_peek_string_direct(const struct buf *b, const uint8_t **out, size_t *lenp)
{
	uint32_t len;
	int r;

	*out = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = buf_peek_u32(b, 0, &len)) != 0)
		return r;
	if (len > BUF_ABSOLUTE_MAX)
		return ERR_STRING_TOO_LARGE;
	if (buf_len(b) - 4 < len)
		return ERR_MESSAGE_INCOMPLETE;
	*out = buf_peek(b) + 4;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

int buf_get_string_direct(struct buf *b, const uint8_t **out, size_t *lenp)
{
	const uint8_t *p;
	size_t len;
	int r;

	*out = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	if ((r = buf_consume(b, 4 + len)) != 0)
		return r;
	*out = p;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

int buf_get_string(struct buf *b, uint8_t **out, size_t *lenp)
{
	const uint8_t *p;
	uint8_t *copy;
	size_t len;
	int r;

	*out = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	copy = malloc(len + 1);
	if (copy == NULL)
		return ERR_ALLOC_FAIL;
	if (len > 0)
		memcpy(copy, p, len);
	copy[len] = '\0';
	if ((r = buf_consume(b, 4 + len)) != 0) {
		free(copy);
		return r;
	}
	*out = copy;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

int buf_get_cstring(struct buf *b, char **out, size_t *lenp)
{
	const uint8_t *p;
	size_t len;
	char *copy;
	int r;

	*out = NULL;
	if (lenp != NULL)
		*lenp = 0;
	if ((r = buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	if (len > 0 && memchr(p, '\0', len) != NULL)
		return ERR_INVALID_FORMAT;
	copy = malloc(len + 1);
	if (copy == NULL)
		return ERR_ALLOC_FAIL;
	if (len > 0)
		memcpy(copy, p, len);
	copy[len] = '\0';
	if ((r = buf_consume(b, 4 + len)) != 0) {
		free(copy);
		return r;
	}
	*out = copy;
	if (lenp != NULL)
		*lenp = len;
	return 0;
}

int buf_get_stringb(struct buf *b, struct buf *dst)
{
	const uint8_t *p;
	size_t len;
	int r;

	if ((r = buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	if ((r = buf_put(dst, p, len)) != 0)
		return r;
	return buf_consume(b, 4 + len);
}

int buf_froms(struct buf *b, struct buf **out)
{
	const uint8_t *p;
	struct buf *view;
	size_t len;
	int r;

	*out = NULL;
	if ((r = buf_peek_string_direct(b, &p, &len)) != 0)
		return r;
	if ((view = buf_from(p, len)) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_consume(b, 4 + len)) != 0) {
		buf_free(view);
		return r;
	}
	*out = view;
	return 0;
}

int buf_get_mpint_direct(struct buf *b, size_t max_bytes, const uint8_t **out, size_t *lenp)
{
	const uint8_t *p;
	size_t wire_len, len;
	int r;

	*out = NULL;
	*lenp = 0;
	if ((r = buf_peek_string_direct(b, &p, &wire_len)) != 0)
		return r;
	len = wire_len;
	if (len > 0 && (p[0] & 0x80) != 0)
		return ERR_BIGNUM_IS_NEGATIVE;
	/* Minimal encoding: a leading zero only when the next byte's top bit is set. */
	if (len > 0 && p[0] == 0 && (len == 1 || (p[1] & 0x80) == 0))
		return ERR_INVALID_FORMAT;
	if (len > 0 && p[0] == 0) {
		p++;
		len--;
	}
	if (len > max_bytes)
		return ERR_BIGNUM_TOO_LARGE;
	if ((r = buf_consume(b, 4 + wire_len)) != 0)
		return r;
	*out = p;
	*lenp = len;
	return 0;
}

int buf_expect_end(const struct buf *b)
{
	return buf_len(b) == 0 ? 0 : ERR_TRAILING_DATA;
}
