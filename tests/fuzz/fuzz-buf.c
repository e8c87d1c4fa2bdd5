/*
 * fuzz-buf.c - drives every buf getter over arbitrary bytes; each must either
 * succeed within bounds or fail without consuming.
 */
#include "config.h"

#include <stdlib.h>

#include "buf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf *b = buf_from(data, size);
	uint8_t sel;

	if (b == NULL)
		return 0;
	while (buf_get_u8(b, &sel) == 0) {
		size_t before = buf_len(b), len;
		const uint8_t *d;
		uint8_t *s;
		char *cs;
		uint32_t u32;
		uint64_t u64;
		int r = 0;

		switch (sel % 6) {
		case 0:
			r = buf_get_u32(b, &u32);
			break;
		case 1:
			r = buf_get_u64(b, &u64);
			break;
		case 2:
			r = buf_get_string(b, &s, &len);
			free(s);
			break;
		case 3:
			r = buf_get_cstring(b, &cs, &len);
			free(cs);
			break;
		case 4:
			r = buf_get_mpint_direct(b, 1024, &d, &len);
			break;
		default:
			r = buf_get_string_direct(b, &d, &len);
			break;
		}
		if (r != 0) {
			if (buf_len(b) != before)
				abort();
			break;
		}
	}
	buf_free(b);
	return 0;
}
