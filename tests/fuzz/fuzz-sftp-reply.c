/*
 * fuzz-sftp-reply.c - the SFTP client's reply parsers over arbitrary bytes.
 * The first byte picks a decoder from src/sftp_attrs.c (ATTRS, NAME for
 * READDIR and for REALPATH, HANDLE, STATUS, DATA, VERSION, statvfs@,
 * limits@, users-groups-by-id@) or, for selector 0, the whole client: the
 * rest is a server byte stream fed to sftp_client_input() after VERSION,
 * with asynchronous READs and WRITEs pending. Every outcome must be a clean
 * success or a negative code, with outputs cleared and nothing leaked.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "log.h"
#include "sftp.h"
#include "sftp_codec.h"

static int null_send(void *ctx, const uint8_t *data, size_t len, const uint8_t *tail, size_t tlen)
{
	(void)ctx;
	(void)data;
	(void)len;
	(void)tail;
	(void)tlen;
	return 0;
}

static void read_cb(void *ctx, int err, const uint8_t *data, size_t len)
{
	unsigned *n = ctx;

	/* Data is only ever handed over on success, within the asked length. */
	if ((err != 0 && (data != NULL || len != 0)) || len > 512)
		abort();
	(*n)++;
}

static void status_cb(void *ctx, int err)
{
	unsigned *n = ctx;

	if (err > 0)
		abort();
	(*n)++;
}

static void fuzz_stream(const uint8_t *data, size_t size)
{
	static const uint8_t version[] = {0, 0, 0, 5, SSH_FXP_VERSION, 0, 0, 0, 3};
	struct sftp_handle h;
	struct sftp_client *c = sftp_client_new(null_send, NULL);
	unsigned done = 0, queued = 0;

	if (c == NULL)
		return;
	if (sftp_handle_adopt(c, "h", 1, &h) != 0)
		abort();
	if (sftp_client_init_start(c) != 0 || sftp_client_input(c, version, sizeof(version)) != 0)
		abort();
	/* Requests get ids 1..8: READs of 1..4 * 128 bytes, then WRITEs. */
	for (unsigned i = 0; i < 4; i++) {
		if (sftp_read_async(c, &h, 0, (i + 1) * 128, SFTP_ASYNC_NOWAIT, read_cb, &done) != 0)
			abort();
		queued++;
	}
	for (unsigned i = 0; i < 4; i++) {
		if (sftp_write_async(c, &h, 0, "data", 4, SFTP_ASYNC_NOWAIT, status_cb, &done) != 0)
			abort();
		queued++;
	}
	/* Split the stream in two to exercise reassembly. */
	if (sftp_client_input(c, data, size / 2) == 0 && sftp_client_input(c, data + size / 2, size - size / 2) > 0)
		abort();
	sftp_client_free(c);
	/* Every queued request completed exactly once (by a reply or by shutdown). */
	if (done != queued)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf *b;
	struct sftp_attrs a;
	struct sftp_names n;
	struct sftp_handle h;
	struct sftp_version_info v;
	struct sftp_statvfs sv;
	struct sftp_limits lim;
	char msg[64], **un, **gn;
	const uint8_t *d;
	size_t len;
	uint32_t code;
	uint8_t sel;

	/* Malformed input is the point here: keep the error log quiet. */
	log_set_level(LOG_LEVEL_QUIET);
	if (size < 1)
		return 0;
	sel = data[0];
	if (sel % 11 == 0) {
		fuzz_stream(data + 1, size - 1);
		return 0;
	}
	if ((b = buf_from(data + 1, size - 1)) == NULL)
		return 0;
	switch (sel % 11) {
	case 1:
		if (sftp_attrs_decode(b, &a) == 0) {
			if (a.ext_count > SFTP_EXTENDED_ATTRS_MAX)
				abort();
			sftp_attrs_clear(&a);
		} else if (a.ext != NULL || a.flags != 0) {
			abort();
		}
		break;
	case 2:
	case 3:
		if (sftp_names_decode(b, sel % 11 == 2 ? SFTP_NAMES_DIRENT : SFTP_NAMES_PATH, &n) == 0) {
			for (size_t i = 0; i < n.count; i++) {
				if (sel % 11 == 2 && strchr(n.v[i].name, '/') != NULL)
					abort();
			}
			sftp_names_clear(&n);
		} else if (n.v != NULL || n.count != 0) {
			abort();
		}
		break;
	case 4:
		if (sftp_handle_decode(b, &h) == 0 && (h.len == 0 || h.len > SFTP_HANDLE_MAX))
			abort();
		break;
	case 5:
		if (sftp_status_decode(b, &code, msg, sizeof(msg)) == 0 && strlen(msg) >= sizeof(msg))
			abort();
		(void)sftp_status_to_err(code);
		break;
	case 6:
		if (sftp_data_decode(b, 100, &d, &len) != 0 ? (d != NULL || len != 0) : len > 100)
			abort();
		break;
	case 7:
		if (sftp_version_decode(b, &v) != 0 && (v.exts != 0 || v.version != 0))
			abort();
		break;
	case 8:
		if (sftp_statvfs_decode(b, &sv) != 0 && sv.namemax != 0)
			abort();
		break;
	case 9:
		if (sftp_limits_decode(b, &lim) != 0 && lim.packet_length != 0)
			abort();
		break;
	default:
		if (sftp_idnames_decode(b, sel % 4, sel % 3, &un, &gn) == 0) {
			for (size_t i = 0; un[i] != NULL; i++)
				free(un[i]);
			for (size_t i = 0; gn[i] != NULL; i++)
				free(gn[i]);
			free(un);
			free(gn);
		}
		break;
	}
	buf_free(b);
	return 0;
}
