/*
 * test-buf.c - unit tests for src/buf.c: round trips of every writer and
 * reader, every getter fed its input truncated at every offset and with a
 * trailing byte, size caps, views, mpint encoding rules (RFC 4251 §5
 * examples) and wipe-on-free behaviour.
 */
#include "config.h"

#include <glib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "limits.h"

static struct buf *must_new(size_t max)
{
	struct buf *b = buf_new(max);

	g_assert_nonnull(b);
	return b;
}

static void test_roundtrip(void)
{
	struct buf *b = must_new(0);
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	bool bv;
	char *s;
	uint8_t *bs;
	const uint8_t *d;
	size_t len;

	g_assert_cmpint(buf_put_u8(b, 0xab), ==, 0);
	g_assert_cmpint(buf_put_u32(b, 0xdeadbeef), ==, 0);
	g_assert_cmpint(buf_put_u64(b, 0x0102030405060708ull), ==, 0);
	g_assert_cmpint(buf_put_u8(b, 2), ==, 0);
	g_assert_cmpint(buf_put_cstring(b, "hello"), ==, 0);
	g_assert_cmpint(buf_put_string(b, "a\0b", 3), ==, 0);
	g_assert_cmpint(buf_put_string(b, "xyz", 3), ==, 0);
	g_assert_cmpuint(buf_len(b), ==, 1 + 4 + 8 + 1 + 9 + 7 + 7);

	g_assert_cmpint(buf_get_u8(b, &u8), ==, 0);
	g_assert_cmpuint(u8, ==, 0xab);
	g_assert_cmpint(buf_get_u32(b, &u32), ==, 0);
	g_assert_cmpuint(u32, ==, 0xdeadbeef);
	g_assert_cmpint(buf_get_u64(b, &u64), ==, 0);
	g_assert_cmpuint(u64, ==, 0x0102030405060708ull);
	g_assert_cmpint(buf_get_bool(b, &bv), ==, 0);
	g_assert_true(bv);
	g_assert_cmpint(buf_get_cstring(b, &s, &len), ==, 0);
	g_assert_cmpstr(s, ==, "hello");
	g_assert_cmpuint(len, ==, 5);
	free(s);
	/* A string with an embedded NUL is a byte string, never a C string. */
	g_assert_cmpint(buf_get_cstring(b, &s, &len), ==, ERR_INVALID_FORMAT);
	g_assert_null(s);
	g_assert_cmpint(buf_get_string(b, &bs, &len), ==, 0);
	g_assert_cmpuint(len, ==, 3);
	g_assert_cmpmem(bs, 3, "a\0b", 3);
	free(bs);
	g_assert_cmpint(buf_get_string_direct(b, &d, &len), ==, 0);
	g_assert_cmpmem(d, len, "xyz", 3);
	g_assert_cmpint(buf_expect_end(b), ==, 0);
	buf_free(b);
}

/* Encoded samples, one per getter, for the truncation sweep. */
enum getter { G_U8, G_U32, G_U64, G_STRING, G_STRING_DIRECT, G_CSTRING, G_STRINGB, G_FROMS, G_MPINT };

static int run_getter(enum getter g, struct buf *b)
{
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	uint8_t *bs = NULL;
	char *cs = NULL;
	const uint8_t *d = NULL;
	size_t len = 99;
	struct buf *dst, *view = NULL;
	int r = ERR_INTERNAL;

	switch (g) {
	case G_U8:
		r = buf_get_u8(b, &u8);
		break;
	case G_U32:
		r = buf_get_u32(b, &u32);
		break;
	case G_U64:
		r = buf_get_u64(b, &u64);
		break;
	case G_STRING:
		r = buf_get_string(b, &bs, &len);
		if (r != 0)
			g_assert_null(bs);
		free(bs);
		break;
	case G_STRING_DIRECT:
		r = buf_get_string_direct(b, &d, &len);
		if (r != 0)
			g_assert_null(d);
		break;
	case G_CSTRING:
		r = buf_get_cstring(b, &cs, &len);
		if (r != 0) {
			g_assert_null(cs);
			g_assert_cmpuint(len, ==, 0);
		}
		free(cs);
		break;
	case G_STRINGB:
		dst = must_new(0);
		r = buf_get_stringb(b, dst);
		buf_free(dst);
		break;
	case G_FROMS:
		r = buf_froms(b, &view);
		if (r != 0)
			g_assert_null(view);
		buf_free(view);
		break;
	case G_MPINT:
		r = buf_get_mpint_direct(b, 64, &d, &len);
		if (r != 0)
			g_assert_null(d);
		break;
	}
	return r;
}

static void test_truncation_sweep(void)
{
	static const struct {
		enum getter g;
		const char *name;
		size_t len;
		const uint8_t bytes[16];
	} samples[] = {
		{G_U8, "u8", 1, {0x7f}},
		{G_U32, "u32", 4, {1, 2, 3, 4}},
		{G_U64, "u64", 8, {1, 2, 3, 4, 5, 6, 7, 8}},
		{G_STRING, "string", 7, {0, 0, 0, 3, 'a', 0, 'c'}},
		{G_STRING_DIRECT, "string_direct", 6, {0, 0, 0, 2, 'o', 'k'}},
		{G_CSTRING, "cstring", 8, {0, 0, 0, 4, 'p', 'a', 't', 'h'}},
		{G_STRINGB, "stringb", 5, {0, 0, 0, 1, 'z'}},
		{G_FROMS, "froms", 6, {0, 0, 0, 2, 0xff, 0xfe}},
		{G_MPINT, "mpint", 7, {0, 0, 0, 3, 0x00, 0x80, 0x01}},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(samples); i++) {
		/* Every proper prefix fails cleanly and consumes nothing. */
		for (size_t cut = 0; cut < samples[i].len; cut++) {
			struct buf *b = buf_from(samples[i].bytes, cut);

			g_assert_nonnull(b);
			g_assert_cmpint(run_getter(samples[i].g, b), ==, ERR_MESSAGE_INCOMPLETE);
			g_assert_cmpuint(buf_len(b), ==, cut);
			buf_free(b);
		}
		/* The whole sample succeeds and ends exactly; one more byte is trailing data. */
		{
			uint8_t extra[17];
			struct buf *b = buf_from(samples[i].bytes, samples[i].len);

			g_assert_cmpint(run_getter(samples[i].g, b), ==, 0);
			g_assert_cmpint(buf_expect_end(b), ==, 0);
			buf_free(b);
			memcpy(extra, samples[i].bytes, samples[i].len);
			extra[samples[i].len] = 0x5a;
			b = buf_from(extra, samples[i].len + 1);
			g_assert_cmpint(run_getter(samples[i].g, b), ==, 0);
			g_assert_cmpint(buf_expect_end(b), ==, ERR_TRAILING_DATA);
			buf_free(b);
		}
	}
}

static void test_huge_length(void)
{
	const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a'};
	const uint8_t big[] = {0x00, 0x10, 0x00, 0x00, 'a'};
	struct buf *b = buf_from(huge, sizeof(huge));
	const uint8_t *d;
	size_t len;

	g_assert_cmpint(buf_get_string_direct(b, &d, &len), ==, ERR_STRING_TOO_LARGE);
	buf_free(b);
	b = buf_from(big, sizeof(big));
	g_assert_cmpint(buf_get_string_direct(b, &d, &len), ==, ERR_MESSAGE_INCOMPLETE);
	g_assert_cmpuint(buf_len(b), ==, sizeof(big));
	buf_free(b);
}

/* RFC 4251 §5 mpint examples. */
static void test_mpint_rfc4251(void)
{
	static const struct {
		const uint8_t mag[8];
		size_t magn;
		const uint8_t wire[12];
		size_t wiren;
	} ex[] = {
		{{0}, 0, {0, 0, 0, 0}, 4},
		{{0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7}, 8,
		 {0, 0, 0, 8, 0x09, 0xa3, 0x78, 0xf9, 0xb2, 0xe3, 0x32, 0xa7}, 12},
		{{0x80}, 1, {0, 0, 0, 2, 0x00, 0x80}, 6},
		{{0x00, 0x00, 0x7f}, 3, {0, 0, 0, 1, 0x7f}, 5},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(ex); i++) {
		struct buf *b = must_new(0);
		const uint8_t *d;
		size_t len;

		g_assert_cmpint(buf_put_mpint(b, ex[i].mag, ex[i].magn), ==, 0);
		g_assert_cmpmem(buf_peek(b), buf_len(b), ex[i].wire, ex[i].wiren);
		g_assert_cmpint(buf_get_mpint_direct(b, 64, &d, &len), ==, 0);
		g_assert_cmpint(buf_expect_end(b), ==, 0);
		buf_free(b);
	}
}

static void test_mpint_rejects(void)
{
	const uint8_t negative[] = {0, 0, 0, 2, 0xed, 0xcc};
	const uint8_t nonminimal[] = {0, 0, 0, 2, 0x00, 0x7f};
	const uint8_t lonezero[] = {0, 0, 0, 1, 0x00};
	const uint8_t big[] = {0, 0, 0, 3, 0x01, 0x02, 0x03};
	const uint8_t *d;
	size_t len;
	struct buf *b;

	b = buf_from(negative, sizeof(negative));
	g_assert_cmpint(buf_get_mpint_direct(b, 64, &d, &len), ==, ERR_BIGNUM_IS_NEGATIVE);
	buf_free(b);
	b = buf_from(nonminimal, sizeof(nonminimal));
	g_assert_cmpint(buf_get_mpint_direct(b, 64, &d, &len), ==, ERR_INVALID_FORMAT);
	buf_free(b);
	b = buf_from(lonezero, sizeof(lonezero));
	g_assert_cmpint(buf_get_mpint_direct(b, 64, &d, &len), ==, ERR_INVALID_FORMAT);
	buf_free(b);
	b = buf_from(big, sizeof(big));
	g_assert_cmpint(buf_get_mpint_direct(b, 2, &d, &len), ==, ERR_BIGNUM_TOO_LARGE);
	g_assert_cmpint(buf_get_mpint_direct(b, 3, &d, &len), ==, 0);
	g_assert_cmpuint(len, ==, 3);
	buf_free(b);
}

static void test_cap(void)
{
	struct buf *b = must_new(10);
	uint8_t *p;

	g_assert_cmpint(buf_put(b, "0123456789", 10), ==, 0);
	g_assert_cmpint(buf_put_u8(b, 1), ==, ERR_NO_BUFFER_SPACE);
	g_assert_cmpuint(buf_room(b), ==, 0);
	g_assert_cmpint(buf_consume(b, 4), ==, 0);
	g_assert_cmpuint(buf_room(b), ==, 4);
	g_assert_cmpint(buf_reserve(b, 4, &p), ==, 0);
	memcpy(p, "abcd", 4);
	g_assert_cmpmem(buf_peek(b), buf_len(b), "456789abcd", 10);
	g_assert_cmpint(buf_reserve(b, 1, &p), ==, ERR_NO_BUFFER_SPACE);
	g_assert_null(p);
	g_assert_cmpint(buf_set_max_size(b, 5), ==, ERR_NO_BUFFER_SPACE);
	g_assert_cmpint(buf_set_max_size(b, 12), ==, 0);
	g_assert_cmpint(buf_put_string(b, "", 0), ==, ERR_NO_BUFFER_SPACE);
	g_assert_cmpint(buf_consume(b, 11), ==, ERR_MESSAGE_INCOMPLETE);
	g_assert_cmpint(buf_consume_end(b, 4), ==, 0);
	g_assert_cmpmem(buf_peek(b), buf_len(b), "456789", 6);
	buf_free(b);
	g_assert_null(buf_new(BUF_ABSOLUTE_MAX + 1));
}

static void test_growth_large(void)
{
	struct buf *b = must_new(1u << 20);
	uint32_t v;

	for (uint32_t i = 0; i < 200000; i++) {
		g_assert_cmpint(buf_put_u32(b, i), ==, 0);
		if (i % 3 == 0) {
			g_assert_cmpint(buf_get_u32(b, &v), ==, 0);
			g_assert_cmpuint(v, ==, (i / 3) * 1); /* consumed in order */
			(void)v;
		}
	}
	buf_free(b);
}

static void test_views(void)
{
	const uint8_t wire[] = {0, 0, 0, 5, 0, 0, 0, 1, 'x', 9};
	struct buf *b = buf_from(wire, sizeof(wire));
	struct buf *child, *copy;
	uint8_t *p;
	char *s;
	uint8_t u8;

	g_assert_cmpint(buf_froms(b, &child), ==, 0);
	g_assert_cmpuint(buf_len(child), ==, 5);
	g_assert_cmpint(buf_get_cstring(child, &s, NULL), ==, 0);
	g_assert_cmpstr(s, ==, "x");
	free(s);
	g_assert_cmpint(buf_expect_end(child), ==, 0);
	/* Views are read-only. */
	g_assert_cmpint(buf_reserve(child, 1, &p), ==, ERR_INVALID_ARGUMENT);
	buf_free(child);
	copy = buf_fromb(b);
	g_assert_cmpint(buf_get_u8(copy, &u8), ==, 0);
	g_assert_cmpuint(u8, ==, 9);
	g_assert_cmpuint(buf_len(b), ==, 1); /* the parent did not move */
	buf_free(copy);
	buf_free(b);
}

static void test_stringb_and_poke(void)
{
	struct buf *a = must_new(0), *c = must_new(0), *d = must_new(0);
	uint32_t v;

	g_assert_cmpint(buf_put_u32(a, 0), ==, 0);
	g_assert_cmpint(buf_put_cstring(a, "abc"), ==, 0);
	g_assert_cmpint(buf_poke_u32(a, 0, (uint32_t)buf_len(a) - 4), ==, 0);
	g_assert_cmpint(buf_peek_u32(a, 0, &v), ==, 0);
	g_assert_cmpuint(v, ==, 7);
	g_assert_cmpint(buf_poke_u32(a, 8, 1), ==, ERR_MESSAGE_INCOMPLETE);
	g_assert_cmpint(buf_put_stringb(c, a), ==, 0);
	g_assert_cmpint(buf_get_stringb(c, d), ==, 0);
	g_assert_cmpmem(buf_peek(d), buf_len(d), buf_peek(a), buf_len(a));
	g_assert_cmpint(buf_putb(d, a), ==, 0);
	g_assert_cmpuint(buf_len(d), ==, 2 * buf_len(a));
	buf_reset(d);
	g_assert_cmpuint(buf_len(d), ==, 0);
	buf_free(a);
	buf_free(c);
	buf_free(d);
	buf_free(NULL);
}

static void test_ct_memcmp(void)
{
	g_assert_cmpint(ct_memcmp("abcd", "abcd", 4), ==, 0);
	g_assert_cmpint(ct_memcmp("abcd", "abce", 4), !=, 0);
	g_assert_cmpint(ct_memcmp("xbcd", "abcd", 4), !=, 0);
	g_assert_cmpint(ct_memcmp("", "", 0), ==, 0);
}

static void test_err_strings(void)
{
	g_assert_cmpstr(err_str(0), ==, "success");
	g_assert_cmpstr(err_str(ERR_MAC_INVALID), ==, "message authentication code incorrect");
	g_assert_cmpstr(err_str(-9999), ==, "unknown error code");
	for (int c = 0; c > ERR_MIN_CODE; c--)
		g_assert_cmpstr(err_str(c), !=, "unknown error code");
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/buf/roundtrip", test_roundtrip);
	g_test_add_func("/buf/truncation-sweep", test_truncation_sweep);
	g_test_add_func("/buf/huge-length", test_huge_length);
	g_test_add_func("/buf/mpint-rfc4251", test_mpint_rfc4251);
	g_test_add_func("/buf/mpint-rejects", test_mpint_rejects);
	g_test_add_func("/buf/cap", test_cap);
	g_test_add_func("/buf/growth", test_growth_large);
	g_test_add_func("/buf/views", test_views);
	g_test_add_func("/buf/stringb-poke", test_stringb_and_poke);
	g_test_add_func("/buf/ct-memcmp", test_ct_memcmp);
	g_test_add_func("/err/strings", test_err_strings);
	return g_test_run();
}
