/*
 * sftp_attrs.c - encoders and decoders of the SFTP v3 wire structures
 * (draft-ietf-secsh-filexfer-02 §5 ATTRS, §7 replies; OpenSSH PROTOCOL §4
 * extension replies) and the one table mapping SFTP status codes to err.h
 * codes. Pure functions over struct buf: no I/O, no locks, so the reply
 * fuzzer and the hostile-server tests drive them directly.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "limits.h"
#include "sftp_codec.h"

static const char *const sftp_type_names[256] = {
	[SSH_FXP_INIT] = "INIT",
	[SSH_FXP_VERSION] = "VERSION",
	[SSH_FXP_OPEN] = "OPEN",
	[SSH_FXP_CLOSE] = "CLOSE",
	[SSH_FXP_READ] = "READ",
	[SSH_FXP_WRITE] = "WRITE",
	[SSH_FXP_LSTAT] = "LSTAT",
	[SSH_FXP_FSTAT] = "FSTAT",
	[SSH_FXP_SETSTAT] = "SETSTAT",
	[SSH_FXP_FSETSTAT] = "FSETSTAT",
	[SSH_FXP_OPENDIR] = "OPENDIR",
	[SSH_FXP_READDIR] = "READDIR",
	[SSH_FXP_REMOVE] = "REMOVE",
	[SSH_FXP_MKDIR] = "MKDIR",
	[SSH_FXP_RMDIR] = "RMDIR",
	[SSH_FXP_REALPATH] = "REALPATH",
	[SSH_FXP_STAT] = "STAT",
	[SSH_FXP_RENAME] = "RENAME",
	[SSH_FXP_READLINK] = "READLINK",
	[SSH_FXP_SYMLINK] = "SYMLINK",
	[SSH_FXP_STATUS] = "STATUS",
	[SSH_FXP_HANDLE] = "HANDLE",
	[SSH_FXP_DATA] = "DATA",
	[SSH_FXP_NAME] = "NAME",
	[SSH_FXP_ATTRS] = "ATTRS",
	[SSH_FXP_EXTENDED] = "EXTENDED",
	[SSH_FXP_EXTENDED_REPLY] = "EXTENDED_REPLY",
};

const char *sftp_type_name(uint8_t type)
{
	return sftp_type_names[type] != NULL ? sftp_type_names[type] : "?";
}

/*
 * The one map from SFTP status to err.h codes. filexfer-02 §7 defines 0..8;
 * codes 9.. come from later drafts (filexfer-13 §9.1) and are accepted from
 * servers that send them on v3 anyway. SSH_FX_FAILURE stays generic: v3
 * servers (OpenSSH) use it for EEXIST, ENOTEMPTY and more, and the caller
 * tells those apart with sftp_last_status() and a follow-up LSTAT.
 */
static const int sftp_status_errs[] = {
	[SFTP_FX_OK] = 0,
	[SFTP_FX_EOF] = ERR_EOF,
	[SFTP_FX_NO_SUCH_FILE] = ERR_NO_SUCH_FILE,
	[SFTP_FX_PERMISSION_DENIED] = ERR_PERMISSION_DENIED,
	[SFTP_FX_FAILURE] = ERR_SFTP_STATUS,
	[SFTP_FX_BAD_MESSAGE] = ERR_PROTOCOL,
	[SFTP_FX_NO_CONNECTION] = ERR_CONN_CLOSED,
	[SFTP_FX_CONNECTION_LOST] = ERR_CONN_CLOSED,
	[SFTP_FX_OP_UNSUPPORTED] = ERR_NOT_SUPPORTED,
	[SFTP_FX_INVALID_HANDLE] = ERR_STALE,
	[SFTP_FX_NO_SUCH_PATH] = ERR_NO_SUCH_FILE,
	[SFTP_FX_FILE_ALREADY_EXISTS] = ERR_FILE_EXISTS,
	[SFTP_FX_WRITE_PROTECT] = ERR_READ_ONLY,
	[SFTP_FX_NO_MEDIA] = ERR_NO_SUCH_FILE,
	[SFTP_FX_NO_SPACE_ON_FILESYSTEM] = ERR_NO_SPACE,
	[SFTP_FX_QUOTA_EXCEEDED] = ERR_NO_SPACE,
	[SFTP_FX_UNKNOWN_PRINCIPAL] = ERR_INVALID_ARGUMENT,
	[SFTP_FX_LOCK_CONFLICT] = ERR_WOULD_BLOCK,
	[SFTP_FX_DIR_NOT_EMPTY] = ERR_NOT_EMPTY,
	[SFTP_FX_NOT_A_DIRECTORY] = ERR_NOT_DIRECTORY,
	[SFTP_FX_INVALID_FILENAME] = ERR_INVALID_ARGUMENT,
	[SFTP_FX_LINK_LOOP] = ERR_SFTP_STATUS,
	[SFTP_FX_CANNOT_DELETE] = ERR_PERMISSION_DENIED,
	[SFTP_FX_INVALID_PARAMETER] = ERR_INVALID_ARGUMENT,
	[SFTP_FX_FILE_IS_A_DIRECTORY] = ERR_IS_DIRECTORY,
};

int sftp_status_to_err(uint32_t code)
{
	if (code >= sizeof(sftp_status_errs) / sizeof(sftp_status_errs[0]))
		return ERR_SFTP_STATUS;
	return sftp_status_errs[code];
}

void sftp_attrs_clear(struct sftp_attrs *a)
{
	if (a == NULL)
		return;
	for (uint32_t i = 0; i < a->ext_count && a->ext != NULL; i++) {
		free(a->ext[i].type);
		free(a->ext[i].data);
	}
	free(a->ext);
	memset(a, 0, sizeof(*a));
}

void sftp_names_clear(struct sftp_names *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->count && n->v != NULL; i++) {
		free(n->v[i].name);
		free(n->v[i].longname);
		sftp_attrs_clear(&n->v[i].attrs);
	}
	free(n->v);
	n->v = NULL;
	n->count = 0;
}

#define SFTP_ATTR_KNOWN \
	(SFTP_ATTR_SIZE | SFTP_ATTR_UIDGID | SFTP_ATTR_PERMISSIONS | SFTP_ATTR_ACMODTIME | SFTP_ATTR_EXTENDED)

/* filexfer-02 §5: fields appear in flag order, each only when its flag is set. */
int sftp_attrs_encode(struct buf *b, const struct sftp_attrs *a)
{
	uint32_t flags = a->flags;
	int r;

	if ((flags & ~SFTP_ATTR_KNOWN) != 0 || a->ext_count > SFTP_EXTENDED_ATTRS_MAX)
		return ERR_INVALID_ARGUMENT;
	if (a->ext_count == 0)
		flags &= ~SFTP_ATTR_EXTENDED;
	if ((r = buf_put_u32(b, flags)) != 0)
		return r;
	if ((flags & SFTP_ATTR_SIZE) && (r = buf_put_u64(b, a->size)) != 0)
		return r;
	if ((flags & SFTP_ATTR_UIDGID) &&
	    ((r = buf_put_u32(b, a->uid)) != 0 || (r = buf_put_u32(b, a->gid)) != 0))
		return r;
	if ((flags & SFTP_ATTR_PERMISSIONS) && (r = buf_put_u32(b, a->permissions)) != 0)
		return r;
	if ((flags & SFTP_ATTR_ACMODTIME) &&
	    ((r = buf_put_u32(b, a->atime)) != 0 || (r = buf_put_u32(b, a->mtime)) != 0))
		return r;
	if (flags & SFTP_ATTR_EXTENDED) {
		if ((r = buf_put_u32(b, a->ext_count)) != 0)
			return r;
		for (uint32_t i = 0; i < a->ext_count; i++) {
			if ((r = buf_put_cstring(b, a->ext[i].type)) != 0 ||
			    (r = buf_put_string(b, a->ext[i].data, a->ext[i].len)) != 0)
				return r;
		}
	}
	return 0;
}

int sftp_attrs_decode(struct buf *b, struct sftp_attrs *out)
{
	struct sftp_attrs a = {0};
	struct buf *view = NULL;
	uint32_t count;
	int r = ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	/* Decode from a view so a failure consumes nothing from b. */
	if ((view = buf_fromb(b)) == NULL)
		return ERR_ALLOC_FAIL;
	if ((r = buf_get_u32(view, &a.flags)) != 0)
		goto out;
	if ((a.flags & ~SFTP_ATTR_KNOWN) != 0) {
		/* v3 defines no other bits; we could not know their layout. */
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	if ((a.flags & SFTP_ATTR_SIZE) && (r = buf_get_u64(view, &a.size)) != 0)
		goto out;
	if ((a.flags & SFTP_ATTR_UIDGID) &&
	    ((r = buf_get_u32(view, &a.uid)) != 0 || (r = buf_get_u32(view, &a.gid)) != 0))
		goto out;
	if ((a.flags & SFTP_ATTR_PERMISSIONS) && (r = buf_get_u32(view, &a.permissions)) != 0)
		goto out;
	if ((a.flags & SFTP_ATTR_ACMODTIME) &&
	    ((r = buf_get_u32(view, &a.atime)) != 0 || (r = buf_get_u32(view, &a.mtime)) != 0))
		goto out;
	if (a.flags & SFTP_ATTR_EXTENDED) {
		if ((r = buf_get_u32(view, &count)) != 0)
			goto out;
		if (count > SFTP_EXTENDED_ATTRS_MAX) {
			r = ERR_LIMIT_EXCEEDED;
			goto out;
		}
		if (count > 0 && (a.ext = calloc(count, sizeof(*a.ext))) == NULL) {
			r = ERR_ALLOC_FAIL;
			goto out;
		}
		for (uint32_t i = 0; i < count; i++) {
			size_t tlen;

			if ((r = buf_get_cstring(view, &a.ext[i].type, &tlen)) != 0) {
				a.ext_count = i;
				goto out;
			}
			a.ext_count = i + 1;
			if ((r = buf_get_string(view, &a.ext[i].data, &a.ext[i].len)) != 0)
				goto out;
			if (tlen > SFTP_EXTENSION_NAME_MAX) {
				r = ERR_STRING_TOO_LARGE;
				goto out;
			}
		}
	}
	if ((r = buf_consume(b, buf_len(b) - buf_len(view))) != 0)
		goto out;
	*out = a;
	memset(&a, 0, sizeof(a));
	r = 0;
out:
	sftp_attrs_clear(&a);
	buf_free(view);
	return r;
}

/* A C string of 1..max bytes; no NUL (buf_get_cstring). */
static int get_bounded_cstring(struct buf *b, size_t max, char **out)
{
	size_t len;
	int r;

	*out = NULL;
	if ((r = buf_get_cstring(b, out, &len)) != 0)
		return r;
	if (len > max) {
		free(*out);
		*out = NULL;
		return ERR_STRING_TOO_LARGE;
	}
	return 0;
}

int sftp_names_decode(struct buf *b, enum sftp_name_kind kind, struct sftp_names *out)
{
	struct sftp_names n = {0};
	uint32_t count;
	int r = ERR_INTERNAL;

	out->v = NULL;
	out->count = 0;
	if ((r = buf_get_u32(b, &count)) != 0)
		goto out;
	if (count > SFTP_NAME_COUNT_MAX) {
		r = ERR_LIMIT_EXCEEDED;
		goto out;
	}
	/* A REALPATH/READLINK reply carries exactly one name (filexfer-02 §6.10, §6.11). */
	if (kind == SFTP_NAMES_PATH && count != 1) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	/* Each entry takes at least 4+4+4 bytes: bound the allocation by the data. */
	if (count > buf_len(b) / 12) {
		r = ERR_MESSAGE_INCOMPLETE;
		goto out;
	}
	if (count > 0 && (n.v = calloc(count, sizeof(*n.v))) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	for (uint32_t i = 0; i < count; i++) {
		struct sftp_name *e = &n.v[i];

		n.count = i + 1;
		if ((r = get_bounded_cstring(b, SFTP_PATH_MAX, &e->name)) != 0 ||
		    (r = get_bounded_cstring(b, SFTP_LONGNAME_MAX, &e->longname)) != 0 ||
		    (r = sftp_attrs_decode(b, &e->attrs)) != 0)
			goto out;
		if (kind == SFTP_NAMES_DIRENT) {
			/* A directory entry is one component: "/" would let a server
			 * point the caller outside the directory it listed. */
			if (e->name[0] == '\0' || strchr(e->name, '/') != NULL) {
				r = ERR_INVALID_FORMAT;
				goto out;
			}
		} else if (e->name[0] == '\0') {
			r = ERR_INVALID_FORMAT;
			goto out;
		}
	}
	if ((r = buf_expect_end(b)) != 0)
		goto out;
	*out = n;
	memset(&n, 0, sizeof(n));
	r = 0;
out:
	sftp_names_clear(&n);
	return r;
}

int sftp_handle_decode(struct buf *b, struct sftp_handle *out)
{
	const uint8_t *h;
	size_t len;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = buf_get_string_direct(b, &h, &len)) != 0)
		return r;
	/* filexfer-02 §3: handles are at most 256 bytes; an empty one is meaningless. */
	if (len == 0 || len > SFTP_HANDLE_MAX)
		return ERR_INVALID_FORMAT;
	if ((r = buf_expect_end(b)) != 0)
		return r;
	out->len = (uint16_t)len;
	memcpy(out->data, h, len);
	return 0;
}

int sftp_status_decode(struct buf *b, uint32_t *code, char *msg, size_t msgsize)
{
	const uint8_t *m = NULL, *lang;
	size_t mlen = 0, llen;
	int r;

	*code = SFTP_FX_NONE;
	if (msgsize > 0)
		msg[0] = '\0';
	if ((r = buf_get_u32(b, code)) != 0)
		return r;
	/* filexfer-02 §7 adds "error message" and "language tag"; servers that
	 * predate it (filexfer-00/01) end after the code, which we accept. */
	if (buf_len(b) > 0) {
		if ((r = buf_get_string_direct(b, &m, &mlen)) != 0 ||
		    (r = buf_get_string_direct(b, &lang, &llen)) != 0)
			goto fail;
		if (mlen > SFTP_MESSAGE_MAX || llen > SFTP_MESSAGE_MAX) {
			r = ERR_STRING_TOO_LARGE;
			goto fail;
		}
	}
	if ((r = buf_expect_end(b)) != 0)
		goto fail;
	if (msgsize > 0) {
		size_t n = 0;

		/* Kept for logs only: printable ASCII, truncated. */
		for (size_t i = 0; i < mlen && n + 1 < msgsize; i++)
			msg[n++] = (m[i] >= 0x20 && m[i] < 0x7f) ? (char)m[i] : '?';
		msg[n] = '\0';
	}
	return 0;
fail:
	*code = SFTP_FX_NONE;
	return r;
}

int sftp_data_decode(struct buf *b, size_t max, const uint8_t **data, size_t *len)
{
	int r;

	if ((r = buf_get_string_direct(b, data, len)) != 0)
		return r;
	/* filexfer-02 §6.4: at most the requested length. OpenSSH and others
	 * append nothing after the data (the "end-of-file" bool is v6). */
	if (*len > max || (r = buf_expect_end(b)) != 0) {
		*data = NULL;
		*len = 0;
		return r != 0 ? r : ERR_INVALID_FORMAT;
	}
	return 0;
}

int sftp_statvfs_decode(struct buf *b, struct sftp_statvfs *out)
{
	uint64_t *f[] = {&out->bsize, &out->frsize, &out->blocks, &out->bfree,  &out->bavail, &out->files,
	                 &out->ffree, &out->favail, &out->fsid,   &out->flag,   &out->namemax};
	int r;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if ((r = buf_get_u64(b, f[i])) != 0)
			goto fail;
	}
	if ((r = buf_expect_end(b)) != 0)
		goto fail;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return r;
}

int sftp_limits_decode(struct buf *b, struct sftp_limits *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = buf_get_u64(b, &out->packet_length)) != 0 || (r = buf_get_u64(b, &out->read_length)) != 0 ||
	    (r = buf_get_u64(b, &out->write_length)) != 0 || (r = buf_get_u64(b, &out->open_handles)) != 0 ||
	    (r = buf_expect_end(b)) != 0) {
		memset(out, 0, sizeof(*out));
		return r;
	}
	return 0;
}

static void strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* A string holding n concatenated strings (users-groups-by-id@ reply). */
static int get_name_list(struct buf *b, size_t n, char ***out)
{
	struct buf *list = NULL;
	char **v = NULL;
	int r = ERR_INTERNAL;

	*out = NULL;
	if ((r = buf_froms(b, &list)) != 0)
		goto out;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = get_bounded_cstring(list, SFTP_EXTENSION_NAME_MAX, &v[i])) != 0)
			goto out;
	}
	if ((r = buf_expect_end(list)) != 0)
		goto out;
	*out = v;
	v = NULL;
	r = 0;
out:
	strv_free(v);
	buf_free(list);
	return r;
}

int sftp_idnames_decode(struct buf *b, size_t nu, size_t ng, char ***unames, char ***gnames)
{
	char **u = NULL, **g = NULL;
	int r = ERR_INTERNAL;

	*unames = NULL;
	*gnames = NULL;
	if (nu > SFTP_IDS_PER_REQUEST_MAX || ng > SFTP_IDS_PER_REQUEST_MAX)
		return ERR_INVALID_ARGUMENT;
	if ((r = get_name_list(b, nu, &u)) != 0 || (r = get_name_list(b, ng, &g)) != 0 ||
	    (r = buf_expect_end(b)) != 0)
		goto out;
	*unames = u;
	*gnames = g;
	u = g = NULL;
	r = 0;
out:
	strv_free(u);
	strv_free(g);
	return r;
}

/* Extensions we use, with the version string each must carry (OpenSSH PROTOCOL §4). */
static const struct {
	const char *name;
	const char *version;
	unsigned bit;
} sftp_known_exts[] = {
	{.name = "posix-rename@openssh.com", .version = "1", .bit = SFTP_EXT_POSIX_RENAME},
	{.name = "statvfs@openssh.com", .version = "2", .bit = SFTP_EXT_STATVFS},
	{.name = "fstatvfs@openssh.com", .version = "2", .bit = SFTP_EXT_FSTATVFS},
	{.name = "hardlink@openssh.com", .version = "1", .bit = SFTP_EXT_HARDLINK},
	{.name = "fsync@openssh.com", .version = "1", .bit = SFTP_EXT_FSYNC},
	{.name = "lsetstat@openssh.com", .version = "1", .bit = SFTP_EXT_LSETSTAT},
	{.name = "limits@openssh.com", .version = "1", .bit = SFTP_EXT_LIMITS},
	{.name = "expand-path@openssh.com", .version = "1", .bit = SFTP_EXT_EXPAND_PATH},
	{.name = "copy-data", .version = "1", .bit = SFTP_EXT_COPY_DATA},
	{.name = "home-directory", .version = "1", .bit = SFTP_EXT_HOME_DIRECTORY},
	{.name = "users-groups-by-id@openssh.com", .version = "1", .bit = SFTP_EXT_USERS_GROUPS_BY_ID},
};

static bool ext_is(const uint8_t *s, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

int sftp_version_decode(struct buf *b, struct sftp_version_info *out)
{
	bool openssh = false;
	int order = -1; /* symlink-order@: 0 spec order, 1 reversed */
	unsigned n = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = buf_get_u32(b, &out->version)) != 0)
		goto fail;
	/* filexfer-02 §4: the rest of the packet is extension-pair data. */
	while (buf_len(b) > 0) {
		const uint8_t *name, *data;
		size_t nlen, dlen;

		if (++n > SFTP_EXTENSIONS_MAX) {
			r = ERR_LIMIT_EXCEEDED;
			goto fail;
		}
		if ((r = buf_get_string_direct(b, &name, &nlen)) != 0 ||
		    (r = buf_get_string_direct(b, &data, &dlen)) != 0)
			goto fail;
		if (nlen > SFTP_EXTENSION_NAME_MAX || dlen > SFTP_EXTENSION_DATA_MAX) {
			r = ERR_STRING_TOO_LARGE;
			goto fail;
		}
		if (ext_is(name, nlen, "posix-rename@openssh.com"))
			openssh = true;
		/* Green End's server states its SYMLINK order outright. */
		if (ext_is(name, nlen, "symlink-order@rjk.greenend.org.uk")) {
			if (ext_is(data, dlen, "linkpath-targetpath"))
				order = 0;
			else if (ext_is(data, dlen, "targetpath-linkpath"))
				order = 1;
		}
		for (size_t i = 0; i < sizeof(sftp_known_exts) / sizeof(sftp_known_exts[0]); i++) {
			const char *kn = sftp_known_exts[i].name, *kv = sftp_known_exts[i].version;

			/* PROTOCOL §4.2: clients MUST check the version number. */
			if (nlen == strlen(kn) && memcmp(name, kn, nlen) == 0 && dlen == strlen(kv) &&
			    memcmp(data, kv, dlen) == 0)
				out->exts |= sftp_known_exts[i].bit;
		}
	}
	/* OpenSSH PROTOCOL §4.1: OpenSSH's sftp-server takes SYMLINK as
	 * (targetpath, linkpath); we recognise it by posix-rename@openssh.com
	 * unless the server declares its order itself. */
	out->symlink_reversed = order >= 0 ? order == 1 : openssh;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return r;
}
