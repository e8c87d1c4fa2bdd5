/*
 * sftp_ext.c - the OpenSSH SFTP extensions (OpenSSH PROTOCOL §4) and their
 * fallbacks when a server does not offer them (PROTOCOL.md "SFTP"), plus the
 * raw SSH_FXP_EXTENDED call. Built on the request helpers of sftp.c
 * (sftp_int.h); each extension is used only when VERSION listed it at the
 * version we implement.
 */
#include "config.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "limits.h"
#include "log.h"
#include "sftp.h"
#include "sftp_codec.h"
#include "sftp_int.h"

/* A SSH_FXP_EXTENDED packet with its request name written. */
static struct buf *ext_new(const char *name)
{
	struct buf *pkt = sftp_pkt_new(SSH_FXP_EXTENDED);

	if (pkt != NULL && buf_put_cstring(pkt, name) != 0) {
		buf_free(pkt);
		return NULL;
	}
	return pkt;
}

int sftp_extended(struct sftp_client *c, const char *request, const uint8_t *body, size_t len,
                  struct buf **reply)
{
	struct buf *pkt, *rbody = NULL;
	uint8_t rtype;
	int r;

	if (reply != NULL)
		*reply = NULL;
	if (request == NULL || strlen(request) > SFTP_EXTENSION_NAME_MAX)
		return ERR_INVALID_ARGUMENT;
	if ((pkt = ext_new(request)) == NULL)
		return ERR_ALLOC_FAIL;
	if (len > 0 && (r = buf_put(pkt, body, len)) != 0) {
		buf_free(pkt);
		return r;
	}
	if ((r = sftp_call_raw(c, pkt, 0, &rtype, &rbody)) != 0)
		return r;
	if (rtype == SSH_FXP_STATUS) {
		r = sftp_status_result(rbody, SSH_FXP_EXTENDED);
	} else if (rtype == SSH_FXP_EXTENDED_REPLY && reply != NULL) {
		*reply = rbody;
		rbody = NULL;
		r = 0;
	} else {
		r = ERR_PROTOCOL;
	}
	buf_free(rbody);
	return r;
}

/* An extension request answered by EXTENDED_REPLY (or an error STATUS). */
static int ext_call_reply(struct sftp_client *c, struct buf *pkt, struct buf **body)
{
	return sftp_call_expect(c, pkt, 0, SSH_FXP_EXTENDED_REPLY, body);
}

static bool ext_check(struct sftp_client *c, unsigned bit)
{
	if ((sftp_client_extensions(c) & bit) != 0)
		return true;
	sftp_tls_reset();
	return false;
}

int sftp_posix_rename(struct sftp_client *c, const char *oldpath, const char *newpath)
{
	struct sftp_attrs st = {0};
	char *tmp = NULL;
	bool is_dir;
	int r, r2;

	if (ext_check(c, SFTP_EXT_POSIX_RENAME)) {
		struct buf *pkt = ext_new("posix-rename@openssh.com");

		if (pkt == NULL)
			return ERR_ALLOC_FAIL;
		if ((r = sftp_put_path(pkt, oldpath)) != 0 || (r = sftp_put_path(pkt, newpath)) != 0) {
			buf_free(pkt);
			return r;
		}
		return sftp_call_status(c, pkt);
	}
	/* Fallback (PROTOCOL.md "SFTP"): plain RENAME; if the target exists,
	 * move it aside, rename, then remove it - not atomic. Only between
	 * non-directories: a directory target must be empty to be replaced and a
	 * directory cannot replace a file, which this sequence cannot honour. */
	r = sftp_rename(c, oldpath, newpath);
	if (r != ERR_SFTP_STATUS && r != ERR_FILE_EXISTS)
		return r;
	if (sftp_lstat(c, newpath, &st) != 0)
		return r;
	is_dir = S_ISDIR(st.permissions);
	sftp_attrs_clear(&st);
	if (is_dir)
		return r;
	if ((r2 = sftp_lstat(c, oldpath, &st)) != 0)
		return r2;
	is_dir = S_ISDIR(st.permissions);
	sftp_attrs_clear(&st);
	if (is_dir)
		return r;
	if (strcmp(oldpath, newpath) == 0)
		return 0;
	tmp = g_strdup_printf("%s.sftpfs-rename-%08x", newpath, g_random_int());
	if (sftp_rename(c, newpath, tmp) != 0)
		goto out;
	if ((r = sftp_rename(c, oldpath, newpath)) != 0) {
		if ((r2 = sftp_rename(c, tmp, newpath)) != 0)
			log_error(LOG_CAT_SFTP, "sftp: rename fallback could not restore %s from %s: %s", newpath, tmp,
			          err_str(r2));
		goto out;
	}
	if ((r2 = sftp_remove(c, tmp)) != 0)
		log_error(LOG_CAT_SFTP, "sftp: rename fallback left %s behind: %s", tmp, err_str(r2));
	r = 0;
out:
	g_free(tmp);
	return r;
}

static int statvfs_common(struct sftp_client *c, struct buf *pkt, struct sftp_statvfs *out)
{
	struct buf *body = NULL;
	int r;

	if ((r = ext_call_reply(c, pkt, &body)) == 0)
		r = sftp_statvfs_decode(body, out);
	buf_free(body);
	return r;
}

int sftp_statvfs(struct sftp_client *c, const char *path, struct sftp_statvfs *out)
{
	struct buf *pkt;
	int r;

	memset(out, 0, sizeof(*out));
	if (!ext_check(c, SFTP_EXT_STATVFS))
		return ERR_NOT_SUPPORTED;
	if ((pkt = ext_new("statvfs@openssh.com")) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, path)) != 0) {
		buf_free(pkt);
		return r;
	}
	return statvfs_common(c, pkt, out);
}

int sftp_fstatvfs(struct sftp_client *c, const struct sftp_handle *h, struct sftp_statvfs *out)
{
	struct buf *pkt;
	int r;

	memset(out, 0, sizeof(*out));
	if (!ext_check(c, SFTP_EXT_FSTATVFS))
		return ERR_NOT_SUPPORTED;
	if ((pkt = ext_new("fstatvfs@openssh.com")) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_handle(c, pkt, h)) != 0) {
		buf_free(pkt);
		return r;
	}
	return statvfs_common(c, pkt, out);
}

int sftp_hardlink(struct sftp_client *c, const char *oldpath, const char *newpath)
{
	struct buf *pkt;
	int r;

	if (!ext_check(c, SFTP_EXT_HARDLINK))
		return ERR_NOT_SUPPORTED;
	if ((pkt = ext_new("hardlink@openssh.com")) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, oldpath)) != 0 || (r = sftp_put_path(pkt, newpath)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_status(c, pkt);
}

int sftp_fsync(struct sftp_client *c, const struct sftp_handle *h)
{
	struct buf *pkt;
	int r;

	if (!ext_check(c, SFTP_EXT_FSYNC))
		return ERR_NOT_SUPPORTED;
	if ((pkt = ext_new("fsync@openssh.com")) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_handle(c, pkt, h)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_status(c, pkt);
}

int sftp_lsetstat(struct sftp_client *c, const char *path, const struct sftp_attrs *a)
{
	struct buf *pkt;
	int r;

	if (!ext_check(c, SFTP_EXT_LSETSTAT))
		return ERR_NOT_SUPPORTED;
	if ((pkt = ext_new("lsetstat@openssh.com")) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, path)) != 0 || (r = sftp_attrs_encode(pkt, a)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_status(c, pkt);
}

int sftp_query_limits(struct sftp_client *c, struct sftp_limits *out)
{
	struct buf *pkt, *body = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (!ext_check(c, SFTP_EXT_LIMITS))
		return ERR_NOT_SUPPORTED;
	if ((pkt = ext_new("limits@openssh.com")) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = ext_call_reply(c, pkt, &body)) == 0)
		r = sftp_limits_decode(body, out);
	buf_free(body);
	return r;
}

int sftp_expand_path(struct sftp_client *c, const char *path, char **out)
{
	struct buf *pkt;
	char *rel;
	int r;

	*out = NULL;
	if (path == NULL)
		return ERR_INVALID_ARGUMENT;
	if (ext_check(c, SFTP_EXT_EXPAND_PATH)) {
		if ((pkt = ext_new("expand-path@openssh.com")) == NULL)
			return ERR_ALLOC_FAIL;
		if ((r = sftp_put_path(pkt, path)) != 0) {
			buf_free(pkt);
			return r;
		}
		return sftp_call_name(c, pkt, out);
	}
	/* Fallback: "~" and "~/x" are relative to the login directory, which
	 * is where relative paths start on every server we know. */
	if (path[0] != '~')
		return sftp_realpath(c, path, out);
	if (path[1] != '\0' && path[1] != '/')
		return ERR_NOT_SUPPORTED; /* "~user" needs the extension */
	rel = g_strconcat(".", path + 1, NULL);
	r = sftp_realpath(c, rel, out);
	g_free(rel);
	return r;
}

int sftp_copy_data(struct sftp_client *c, const struct sftp_handle *from, uint64_t from_off, uint64_t len,
                   const struct sftp_handle *to, uint64_t to_off)
{
	struct buf *pkt;
	int r;

	if (!ext_check(c, SFTP_EXT_COPY_DATA))
		return ERR_NOT_SUPPORTED;
	if ((pkt = ext_new("copy-data")) == NULL)
		return ERR_ALLOC_FAIL;
	/* string read-from-handle, uint64 read-from-offset, uint64 read-data-length,
	 * string write-to-handle, uint64 write-to-offset. */
	if ((r = sftp_put_handle(c, pkt, from)) != 0 || (r = buf_put_u64(pkt, from_off)) != 0 ||
	    (r = buf_put_u64(pkt, len)) != 0 || (r = sftp_put_handle(c, pkt, to)) != 0 ||
	    (r = buf_put_u64(pkt, to_off)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_status(c, pkt);
}

int sftp_home_directory(struct sftp_client *c, const char *user, char **out)
{
	struct buf *pkt;
	int r;

	*out = NULL;
	if (user == NULL || user[0] == '\0')
		return sftp_realpath(c, ".", out);
	if (!ext_check(c, SFTP_EXT_HOME_DIRECTORY))
		return ERR_NOT_SUPPORTED;
	if ((pkt = ext_new("home-directory")) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = sftp_put_path(pkt, user)) != 0) {
		buf_free(pkt);
		return r;
	}
	return sftp_call_name(c, pkt, out);
}

int sftp_users_groups_by_id(struct sftp_client *c, const uint32_t *uids, size_t nu, const uint32_t *gids,
                            size_t ng, char ***unames, char ***gnames)
{
	struct buf *pkt, *body = NULL, *list = NULL;
	int r = ERR_INTERNAL;

	*unames = NULL;
	*gnames = NULL;
	if (nu > SFTP_IDS_PER_REQUEST_MAX || ng > SFTP_IDS_PER_REQUEST_MAX)
		return ERR_INVALID_ARGUMENT;
	if (!ext_check(c, SFTP_EXT_USERS_GROUPS_BY_ID))
		return ERR_NOT_SUPPORTED;
	if ((pkt = ext_new("users-groups-by-id@openssh.com")) == NULL ||
	    (list = buf_new(4 * SFTP_IDS_PER_REQUEST_MAX)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto fail;
	}
	/* string uids (packed uint32), string gids (packed uint32). */
	for (size_t i = 0; i < nu; i++) {
		if ((r = buf_put_u32(list, uids[i])) != 0)
			goto fail;
	}
	if ((r = buf_put_stringb(pkt, list)) != 0)
		goto fail;
	buf_reset(list);
	for (size_t i = 0; i < ng; i++) {
		if ((r = buf_put_u32(list, gids[i])) != 0)
			goto fail;
	}
	if ((r = buf_put_stringb(pkt, list)) != 0)
		goto fail;
	buf_free(list);
	if ((r = ext_call_reply(c, pkt, &body)) == 0)
		r = sftp_idnames_decode(body, nu, ng, unames, gnames);
	buf_free(body);
	return r;
fail:
	buf_free(list);
	buf_free(pkt);
	return r;
}
