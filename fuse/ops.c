/*
 * ops.c - the FUSE operations: each one maps a file system call onto SFTP
 * requests (src/sftp.h) in a few lines and returns 0 or -errno, in the manner
 * of libfuse's example/passthrough.c; the table at the end lists them all.
 *
 * SFTP v3 servers answer many failures with the generic SSH_FX_FAILURE; where
 * a local file system would give a specific errno (EEXIST, ENOTEMPTY, EISDIR,
 * ENOTDIR), the refine_* helpers ask the server what is there and pick the
 * precise err.h code. errmap.c turns codes into errno values.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sftpfs.h"

/* Inode number shown for "." and ".." (any non-zero value; libfuse's own
 * FUSE_UNKNOWN_INO is not public). */
#define FUSE_UNKNOWN_INO_DOT 0xffffffffu

/* Largest read and write the kernel is asked to send in one request. */
#define FUSE_REQUEST_MAX (1024u * 1024)

/* Largest server-side copy one copy_file_range call asks for. */
#define COPY_CHUNK_MAX ((uint64_t)1 << 30)

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

struct sftpfs *sftpfs_get(void)
{
	return fuse_get_context()->private_data;
}

static char *rpath(const struct sftpfs *fs, const char *path)
{
	return sftpfs_rpath(fs, path);
}

static struct sftpfs_file *file_of(const struct fuse_file_info *fi)
{
	return (struct sftpfs_file *)(uintptr_t)fi->fh;
}

static int neg(int err)
{
	return -sftpfs_errno(err);
}

/* True when the last request of this thread failed with the generic status. */
static bool generic_failure(int r)
{
	return r == ERR_SFTP_STATUS && sftp_last_status() == SFTP_FX_FAILURE;
}

/* After a generic failure to create path: EEXIST if something is there. */
static int refine_exists(struct sftp_client *c, const char *remote, int r)
{
	struct sftp_attrs a = { 0 };

	if (!generic_failure(r))
		return r;
	if (sftp_lstat(c, remote, &a) == 0)
		r = ERR_FILE_EXISTS;
	sftp_attrs_clear(&a);
	return r;
}

/* refine_exists with a client of the mount. */
static int refine_exists_any(struct sftpfs *fs, const char *remote, int r)
{
	struct sftp_client *c = NULL;

	if (sftpfs_client(fs, &c) != 0)
		return r;
	return refine_exists(c, remote, r);
}

/* 1 directory, 0 something else, negative code if it cannot be seen. */
static int is_dir(struct sftp_client *c, const char *remote)
{
	struct sftp_attrs a = { 0 };
	int r = sftp_lstat(c, remote, &a);

	if (r == 0)
		r = (a.flags & SFTP_ATTR_PERMISSIONS) != 0 && S_ISDIR(a.permissions) ? 1 : 0;
	sftp_attrs_clear(&a);
	return r;
}

static void attrs_to_stat(const struct sftpfs *fs, const struct sftp_attrs *a, struct stat *st)
{
	uid_t uid = 0;
	gid_t gid = 0;

	memset(st, 0, sizeof(*st));
	st->st_nlink = 1;
	st->st_blksize = 4096;
	if (a->flags & SFTP_ATTR_PERMISSIONS)
		st->st_mode = a->permissions;
	if (a->flags & SFTP_ATTR_SIZE) {
		st->st_size = (off_t)a->size;
		st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	}
	if (a->flags & SFTP_ATTR_UIDGID) {
		/* An unmapped ID with nomap=error shows as the overflow ID. */
		st->st_uid = idmap_uid_to_local(fs, a->uid, &uid) == 0 ? uid : 65534;
		st->st_gid = idmap_gid_to_local(fs, a->gid, &gid) == 0 ? gid : 65534;
	}
	if (a->flags & SFTP_ATTR_ACMODTIME) {
		st->st_atime = a->atime;
		st->st_mtime = a->mtime;
		st->st_ctime = a->mtime;
	}
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	struct sftp_attrs a = { 0 };
	g_autofree char *remote = NULL;
	int r;

	if (fi != NULL && fi->fh != 0 && !(fs->opts->workarounds & WORKAROUND_FSTAT)) {
		struct sftpfs_file *f = file_of(fi);
		struct sftp_handle h;

		/* The size and times must include our pending writes. */
		if ((r = sftpfs_file_drain(f)) == 0 && (r = sftpfs_file_handle(f, &c, &h)) == 0)
			r = sftp_fstat(c, &h, &a);
	} else {
		if (path != NULL && (r = sftpfs_files_drain_path(fs, path)) != 0)
			return neg(r);
		if ((r = sftpfs_client(fs, &c)) != 0)
			return neg(r);
		remote = rpath(fs, path);
		r = fs->opts->follow_symlinks ? sftp_stat(c, remote, &a) : sftp_lstat(c, remote, &a);
	}
	if (r == 0)
		attrs_to_stat(fs, &a, st);
	sftp_attrs_clear(&a);
	return neg(r);
}

static int op_opendir(const char *path, struct fuse_file_info *fi)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftpfs_file *f = NULL;
	int r;

	if ((r = sftpfs_file_open(fs, path, 0, NULL, true, &f)) != 0)
		return neg(r);
	fi->fh = (uint64_t)(uintptr_t)f;
	return 0;
}

/* The whole listing; read again from the start on a reopened handle if the
 * connection is lost on the way (nothing reaches the kernel before). */
static int read_listing(struct sftpfs_file *f, GArray *out)
{
	struct sftp_client *c = NULL, *prev = NULL;
	struct sftp_handle h;
	int r;

	for (;;) {
		struct sftp_names n = { 0 };

		if ((r = sftpfs_file_handle(f, &c, &h)) != 0)
			return r;
		if (prev != NULL && c != prev) {
			/* A reopened handle starts over. */
			for (guint i = 0; i < out->len; i++)
				sftp_names_clear(&g_array_index(out, struct sftp_names, i));
			g_array_set_size(out, 0);
		}
		prev = c;
		r = sftp_readdir(c, &h, &n);
		if (r == ERR_EOF || (r == 0 && n.count == 0)) {
			sftp_names_clear(&n);
			return 0;
		}
		if (r != 0) {
			sftp_names_clear(&n);
			if (sftp_client_error(c) != 0)
				continue; /* the next handle call reconnects or fails */
			return r;
		}
		g_array_append_val(out, n);
	}
}

static int op_readdir(const char *path, void *dbuf, fuse_fill_dir_t filler, off_t offset,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftpfs_file *f = file_of(fi);
	GArray *batches = g_array_new(FALSE, TRUE, sizeof(struct sftp_names));
	int r;

	/* Offset 0 mode: libfuse buffers the whole listing for us. */
	r = read_listing(f, batches);
	for (guint b = 0; r == 0 && b < batches->len; b++) {
		const struct sftp_names *n = &g_array_index(batches, struct sftp_names, b);

		for (size_t i = 0; i < n->count; i++) {
			const struct sftp_name *e = &n->v[i];
			struct stat st;
			enum fuse_fill_dir_flags ff = 0;

			attrs_to_stat(fs, &e->attrs, &st);
			/* With follow_symlinks a link's lstat would be wrong; let
			 * the kernel ask getattr instead. */
			if ((flags & FUSE_READDIR_PLUS) && (e->attrs.flags & SFTP_ATTR_PERMISSIONS) &&
			    !(fs->opts->follow_symlinks && S_ISLNK(st.st_mode)))
				ff = FUSE_FILL_DIR_PLUS;
			/* libfuse gives "." and ".." inode 0 unless we do, and
			 * readdir(3) skips entries with inode 0. */
			if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0)
				st.st_ino = FUSE_UNKNOWN_INO_DOT;
			if (filler(dbuf, e->name, &st, 0, ff) != 0) {
				r = ERR_ALLOC_FAIL;
				break;
			}
		}
	}
	for (guint b = 0; b < batches->len; b++)
		sftp_names_clear(&g_array_index(batches, struct sftp_names, b));
	g_array_unref(batches);
	(void)path;
	(void)offset;
	return neg(r);
}

static int op_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return neg(sftpfs_file_release(file_of(fi)));
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	struct sftp_attrs a = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = mode & 07777 };
	int r;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	r = sftp_mkdir(c, remote, &a);
	return neg(refine_exists(c, remote, r));
}

static int op_rmdir(const char *path)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	int r, d;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	r = sftp_rmdir(c, remote);
	if (generic_failure(r)) {
		/* rmdir(2): ENOTDIR for a non-directory, else it was not empty. */
		d = is_dir(c, remote);
		if (d == 0)
			r = ERR_NOT_DIRECTORY;
		else if (d == 1)
			r = ERR_NOT_EMPTY;
	}
	return neg(r);
}

static int op_unlink(const char *path)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	int r;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	r = sftp_remove(c, remote);
	/* unlink(2) of a directory is EISDIR on Linux. */
	if ((generic_failure(r) || r == ERR_PERMISSION_DENIED) && is_dir(c, remote) == 1)
		r = ERR_IS_DIRECTORY;
	return neg(r);
}

/* rename(2) errors a local file system gives when the target is in the way. */
static int refine_rename(struct sftp_client *c, const char *from, const char *to, int r)
{
	int sd, td;

	if (!generic_failure(r))
		return r;
	sd = is_dir(c, from);
	td = is_dir(c, to);
	if (sd == 1 && td == 1)
		return ERR_NOT_EMPTY;
	if (sd == 1 && td == 0)
		return ERR_NOT_DIRECTORY;
	if (sd == 0 && td == 1)
		return ERR_IS_DIRECTORY;
	return r;
}

static int op_rename(const char *from, const char *to, unsigned int flags)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *rfrom = rpath(fs, from);
	g_autofree char *rto = rpath(fs, to);
	int r;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL; /* SFTP has no atomic exchange */
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	if (flags & RENAME_NOREPLACE) {
		/* Plain SSH_FXP_RENAME never replaces (filexfer-02 §6.5);
		 * OpenSSH implements it with link(2)+unlink(2), so an
		 * existing target fails atomically. */
		r = sftp_rename(c, rfrom, rto);
		if (generic_failure(r) && is_dir(c, rto) >= 0)
			r = ERR_FILE_EXISTS;
		if (r == 0)
			sftpfs_files_rename(fs, from, to);
		return neg(r);
	}
	r = refine_rename(c, rfrom, rto, sftp_posix_rename(c, rfrom, rto));
	if (r == 0)
		sftpfs_files_rename(fs, from, to);
	return neg(r);
}

/* Absolute targets inside the mounted directory as relative ones (sshfs
 * transform_symlinks): "/base/a/b" seen from "/base/x/link" is "../a/b". */
static char *transform_target(const struct sftpfs *fs, const char *path, const char *target)
{
	size_t blen = strlen(fs->base);
	const char *inside;
	GString *out;

	if (target[0] != '/' || strcmp(fs->base, "/") == 0)
		inside = target[0] == '/' ? target : NULL;
	else if (strncmp(target, fs->base, blen) == 0 && (target[blen] == '/' || target[blen] == '\0'))
		inside = target + blen;
	else
		inside = NULL;
	if (inside == NULL)
		return g_strdup(target);
	if (*inside == '\0')
		inside = "/";
	/* Drop the common leading directories of path and inside, then
	 * climb out of path's remaining directories. */
	{
		const char *p = path;
		const char *t = inside;
		const char *lp = path;
		const char *lt = inside;

		while (*p != '\0' && *p == *t) {
			if (*p == '/') {
				lp = p;
				lt = t;
			}
			p++;
			t++;
		}
		out = g_string_new(NULL);
		for (const char *q = lp + 1; *q != '\0'; q++) {
			if (*q == '/')
				g_string_append(out, "../");
		}
		g_string_append(out, lt + 1);
		if (out->len == 0)
			g_string_append(out, ".");
	}
	return g_string_free(out, FALSE);
}

static int op_readlink(const char *path, char *out, size_t size)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	char *target = NULL;
	g_autofree char *shown = NULL;
	int r;

	if (size == 0)
		return -EINVAL;
	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	if ((r = sftp_readlink(c, remote, &target)) != 0)
		return neg(r);
	if (fs->opts->contain_symlinks &&
	    (target[0] == '/' || strcmp(target, "..") == 0 || g_str_has_prefix(target, "../") ||
	     strstr(target, "/../") != NULL || g_str_has_suffix(target, "/.."))) {
		free(target);
		return -EPERM;
	}
	shown = fs->opts->transform_symlinks ? transform_target(fs, path, target) : g_strdup(target);
	free(target);
	g_strlcpy(out, shown, size);
	return 0;
}

static int op_symlink(const char *target, const char *linkpath)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, linkpath);
	int r;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	r = sftp_symlink(c, target, remote);
	return neg(refine_exists(c, remote, r));
}

static int op_link(const char *from, const char *to)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *rfrom = rpath(fs, from);
	g_autofree char *rto = rpath(fs, to);
	int r;

	if (fs->opts->disable_hardlink)
		return -ENOSYS;
	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	if (!sftp_client_has(c, SFTP_EXT_HARDLINK))
		return -ENOSYS;
	r = sftp_hardlink(c, rfrom, rto);
	return neg(refine_exists(c, rto, r));
}

/*
 * FSETSTAT with an open handle; otherwise lsetstat@openssh.com, because the
 * kernel hands us the very inode to change: a symlink's own times and owner
 * (lutimes, lchown from cp -a, tar, rsync) must not reach its target, which
 * plain SETSTAT would follow. Without the extension, a symlink's attributes
 * cannot be set (EOPNOTSUPP) and other files use SETSTAT.
 */
static int setattrs(const char *path, struct fuse_file_info *fi, const struct sftp_attrs *a)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	struct sftp_attrs cur = { 0 };
	g_autofree char *remote = NULL;
	int r;

	if (fi != NULL && fi->fh != 0) {
		struct sftpfs_file *f = file_of(fi);
		struct sftp_handle h;

		/* A new size must not be overtaken by pending writes. */
		if ((a->flags & SFTP_ATTR_SIZE) && (r = sftpfs_file_drain(f)) != 0)
			return neg(r);
		if ((r = sftpfs_file_handle(f, &c, &h)) != 0)
			return neg(r);
		return neg(sftp_fsetstat(c, &h, a));
	}
	if ((a->flags & SFTP_ATTR_SIZE) && path != NULL && (r = sftpfs_files_drain_path(fs, path)) != 0)
		return neg(r);
	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	remote = rpath(fs, path);
	if (sftp_client_has(c, SFTP_EXT_LSETSTAT))
		return neg(sftp_lsetstat(c, remote, a));
	if ((r = sftp_lstat(c, remote, &cur)) == 0 && (cur.flags & SFTP_ATTR_PERMISSIONS) &&
	    S_ISLNK(cur.permissions))
		r = ERR_NOT_SUPPORTED;
	sftp_attrs_clear(&cur);
	if (r == 0)
		r = sftp_setstat(c, remote, a);
	return neg(r);
}

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct sftp_attrs a = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = mode & 07777 };

	return setattrs(path, fi, &a);
}

/* Current attributes, for requests that must carry fields we keep. */
static int current_attrs(const char *path, struct fuse_file_info *fi, struct sftp_attrs *a)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = NULL;
	int r;

	if (fi != NULL && fi->fh != 0) {
		struct sftp_handle h;

		if ((r = sftpfs_file_handle(file_of(fi), &c, &h)) != 0)
			return r;
		return sftp_fstat(c, &h, a);
	}
	if ((r = sftpfs_client(fs, &c)) != 0)
		return r;
	remote = rpath(fs, path);
	return sftp_lstat(c, remote, a);
}

static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_attrs cur = { 0 };
	struct sftp_attrs a = { .flags = SFTP_ATTR_UIDGID };
	int r;

	/* SFTP sets uid and gid together: keep the one chown(2) leaves alone. */
	if (uid == (uid_t)-1 || gid == (gid_t)-1) {
		if ((r = current_attrs(path, fi, &cur)) != 0)
			return neg(r);
		a.uid = cur.uid;
		a.gid = cur.gid;
		sftp_attrs_clear(&cur);
	}
	if (uid != (uid_t)-1 && idmap_uid_to_remote(fs, uid, &a.uid) != 0)
		return -EPERM;
	if (gid != (gid_t)-1 && idmap_gid_to_remote(fs, gid, &a.gid) != 0)
		return -EPERM;
	return setattrs(path, fi, &a);
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct sftp_attrs a = { .flags = SFTP_ATTR_SIZE, .size = (uint64_t)size };

	if (size < 0)
		return -EINVAL;
	return setattrs(path, fi, &a);
}

static uint32_t time_of(const struct timespec *ts, uint32_t keep, time_t now)
{
	if (ts->tv_nsec == UTIME_OMIT)
		return keep;
	if (ts->tv_nsec == UTIME_NOW)
		return (uint32_t)now;
	return (uint32_t)ts->tv_sec;
}

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	struct sftp_attrs cur = { 0 };
	struct sftp_attrs a = { .flags = SFTP_ATTR_ACMODTIME };
	time_t now = time(NULL);
	int r;

	/* SFTP v3 sets atime and mtime together, in whole seconds. */
	if (tv[0].tv_nsec == UTIME_OMIT || tv[1].tv_nsec == UTIME_OMIT) {
		if (tv[0].tv_nsec == UTIME_OMIT && tv[1].tv_nsec == UTIME_OMIT)
			return 0;
		if ((r = current_attrs(path, fi, &cur)) != 0)
			return neg(r);
	}
	a.atime = time_of(&tv[0], cur.atime, now);
	a.mtime = time_of(&tv[1], cur.mtime, now);
	sftp_attrs_clear(&cur);
	return setattrs(path, fi, &a);
}

static uint32_t pflags_of(int flags)
{
	uint32_t p = 0;

	switch (flags & O_ACCMODE) {
	case O_RDONLY:
		p = SFTP_FXF_READ;
		break;
	case O_WRONLY:
		p = SFTP_FXF_WRITE;
		break;
	default:
		p = SFTP_FXF_READ | SFTP_FXF_WRITE;
		break;
	}
	if (flags & O_APPEND)
		p |= SFTP_FXF_APPEND;
	if (flags & O_CREAT)
		p |= SFTP_FXF_CREAT;
	if (flags & O_TRUNC)
		p |= SFTP_FXF_TRUNC;
	if (flags & O_EXCL)
		p |= SFTP_FXF_EXCL;
	return p;
}

/* How recent a file found by a retried exclusive create must be to be taken
 * as the one the lost first attempt made. */
#define EXCL_RETRY_WINDOW_S 60

/*
 * An exclusive create whose reply was lost with the connection, run again,
 * finds the file it made (EEXIST). SFTP has no create verifier (NFSv3 keeps
 * one in the file's times), so the file counts as ours when it is an empty
 * regular file modified within the last minute; see opwrap.c.
 */
static bool own_exclusive_create(struct sftpfs *fs, const char *remote, int r)
{
	struct sftp_client *c = NULL;
	struct sftp_attrs a = { 0 };
	time_t now = time(NULL);
	bool ours = false;

	if (sftpfs_errno(refine_exists_any(fs, remote, r)) != EEXIST || sftpfs_client(fs, &c) != 0)
		return false;
	if (sftp_lstat(c, remote, &a) == 0 && (a.flags & SFTP_ATTR_PERMISSIONS) && S_ISREG(a.permissions) &&
	    (a.flags & SFTP_ATTR_SIZE) && a.size == 0 && (a.flags & SFTP_ATTR_ACMODTIME) &&
	    (time_t)a.mtime + EXCL_RETRY_WINDOW_S >= now)
		ours = true;
	sftp_attrs_clear(&a);
	if (ours)
		log_info(LOG_CAT_GENERAL, "%s: exclusive create retried after a lost connection; taking the new file",
			 remote);
	return ours;
}

static int open_common(const char *path, mode_t mode, struct fuse_file_info *fi, bool create)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	uint32_t pflags = pflags_of(fi->flags);
	struct sftp_attrs a = { 0 };
	struct sftpfs_file *f = NULL;
	int r;

	if (create) {
		pflags |= SFTP_FXF_CREAT;
		a.flags = SFTP_ATTR_PERMISSIONS;
		a.permissions = (fs->opts->workarounds & WORKAROUND_CREATEMODE) ? 0 : (mode & 07777);
	}
	/* O_TRUNC: pending writes of other descriptors land first. */
	if ((pflags & SFTP_FXF_TRUNC) && (r = sftpfs_files_drain_path(fs, path)) != 0)
		return neg(r);
	r = sftpfs_file_open(fs, path, pflags, create ? &a : NULL, false, &f);
	if (r != 0 && (pflags & SFTP_FXF_EXCL) && sftpfs_op_retrying() && own_exclusive_create(fs, remote, r))
		r = sftpfs_file_open(fs, path, pflags & ~(SFTP_FXF_EXCL | SFTP_FXF_CREAT), NULL, false, &f);
	if (r != 0) {
		if (sftpfs_client(fs, &c) != 0)
			return neg(r);
		if (pflags & SFTP_FXF_EXCL)
			r = refine_exists(c, remote, r);
		else if (generic_failure(r) && (pflags & SFTP_FXF_WRITE) && is_dir(c, remote) == 1)
			r = ERR_IS_DIRECTORY;
		return neg(r);
	}
	if (fs->opts->direct_io)
		fi->direct_io = 1;
	fi->fh = (uint64_t)(uintptr_t)f;
	return 0;
}

static int op_open(const char *path, struct fuse_file_info *fi)
{
	return open_common(path, 0, fi, false);
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	return open_common(path, mode, fi, true);
}

static int op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	struct fuse_file_info fi = { .flags = O_WRONLY | O_CREAT | O_EXCL };
	struct sftpfs_file *f;
	int r;

	/* SFTP can create regular files only; devices, FIFOs and sockets
	 * get EPERM, as on a file system that does not support them. */
	(void)rdev;
	if (!S_ISREG(mode))
		return -EPERM;
	if ((r = open_common(path, mode, &fi, true)) != 0)
		return r;
	f = file_of(&fi);
	return neg(sftpfs_file_release(f));
}

/*
 * One FUSE read as several READ requests in flight at once (each at most the
 * server's read length), completed on the connection's I/O thread; the
 * caller waits for all of them. Parts arrive in any order; the result is the
 * data up to the first short part (end of file).
 */
struct read_batch {
	GMutex lock;
	GCond cond;
	unsigned pending; /* protected by lock */
	int err;          /* first error, protected by lock */
};

struct read_part {
	struct read_batch *batch;
	char *dst;
	size_t want;
	size_t got; /* written by the callback before pending drops */
};

static void read_part_done(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct read_part *p = ctx;
	struct read_batch *b = p->batch;

	if (err == 0 && len > p->want)
		err = ERR_PROTOCOL; /* more than asked for */
	if (err == 0) {
		memcpy(p->dst, data, len);
		p->got = len;
	}
	g_mutex_lock(&b->lock);
	if (err != 0 && err != ERR_EOF && b->err == 0)
		b->err = err;
	b->pending--;
	g_cond_signal(&b->cond);
	g_mutex_unlock(&b->lock);
}

static int op_read(const char *path, char *out, size_t size, off_t offset, struct fuse_file_info *fi)
{
	struct sftpfs_file *f = file_of(fi);
	struct sftp_client *c = NULL;
	struct sftp_handle h;
	struct sftp_limits lim;
	struct read_batch b = { 0 };
	struct read_part *parts;
	size_t chunk, n, done = 0;
	int r = 0;

	(void)path;
	if (offset < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	/* Reads see the writes made through the mount, on any descriptor. */
	if ((r = sftpfs_files_drain_path(f->fs, f->path)) != 0)
		return neg(r);
	if ((r = sftpfs_file_handle(f, &c, &h)) != 0)
		return neg(r);
	sftp_client_limits(c, &lim);
	chunk = lim.read_length > 0 && lim.read_length < size ? (size_t)lim.read_length : size;
	n = (size + chunk - 1) / chunk;
	parts = g_malloc0_n(n, sizeof(*parts));
	g_mutex_init(&b.lock);
	g_cond_init(&b.cond);
	for (size_t i = 0; i < n; i++) {
		size_t off = i * chunk;

		parts[i].batch = &b;
		parts[i].dst = out + off;
		parts[i].want = size - off < chunk ? size - off : chunk;
		g_mutex_lock(&b.lock);
		b.pending++;
		g_mutex_unlock(&b.lock);
		r = sftp_read_async(c, &h, (uint64_t)offset + off, parts[i].want, 0, read_part_done, &parts[i]);
		if (r != 0) {
			/* Not queued: its callback will not run. */
			g_mutex_lock(&b.lock);
			b.pending--;
			g_mutex_unlock(&b.lock);
			n = i;
			break;
		}
	}
	g_mutex_lock(&b.lock);
	while (b.pending > 0)
		g_cond_wait(&b.cond, &b.lock);
	if (r == 0)
		r = b.err;
	g_mutex_unlock(&b.lock);
	/* A short count means end of file to the kernel: stop at the first
	 * part that came back short. */
	for (size_t i = 0; i < n; i++) {
		done += parts[i].got;
		if (parts[i].got < parts[i].want)
			break;
	}
	g_free(parts);
	g_cond_clear(&b.cond);
	g_mutex_clear(&b.lock);
	if (r != 0 && done == 0)
		return neg(r);
	return (int)done;
}

static int op_write(const char *path, const char *data, size_t size, off_t offset, struct fuse_file_info *fi)
{
	int r;

	(void)path;
	if (offset < 0)
		return -EINVAL;
	/* With SFTP_FXF_APPEND the server (OpenSSH: O_APPEND) writes at its
	 * own end of file whatever offset we send, even if the file grew.
	 * Write-behind: queued here, acknowledged later (files.c). */
	r = sftpfs_file_write(file_of(fi), (uint64_t)offset, data, size);
	return r != 0 ? neg(r) : (int)size;
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	/* close-to-open: when close() returns, the data is on the server. */
	(void)path;
	return neg(sftpfs_file_drain(file_of(fi)));
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct sftpfs_file *f = file_of(fi);
	struct sftp_client *c = NULL;
	struct sftp_handle h;
	int r = sftpfs_file_drain(f);

	(void)path;
	(void)datasync;
	if (r == 0 && (f->pflags & SFTP_FXF_WRITE) && (r = sftpfs_file_handle(f, &c, &h)) == 0 &&
	    sftp_client_has(c, SFTP_EXT_FSYNC))
		r = sftp_fsync(c, &h);
	return neg(r);
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	return neg(sftpfs_file_release(file_of(fi)));
}

static int op_statfs(const char *path, struct statvfs *st)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	struct sftp_statvfs v = { 0 };
	int r;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	memset(st, 0, sizeof(*st));
	if (!sftp_client_has(c, SFTP_EXT_STATVFS)) {
		/* No statvfs@: report a large, empty file system (as sshfs). */
		st->f_bsize = st->f_frsize = 512;
		st->f_blocks = st->f_bfree = st->f_bavail = 1000ULL * 1024 * 1024 * 1024 / 512;
		st->f_files = st->f_ffree = st->f_favail = 1000000000;
		st->f_namemax = 255;
		return 0;
	}
	if ((r = sftp_statvfs(c, remote, &v)) != 0)
		return neg(r);
	st->f_bsize = v.bsize;
	st->f_frsize = v.frsize;
	st->f_blocks = v.blocks;
	st->f_bfree = v.bfree;
	st->f_bavail = v.bavail;
	st->f_files = v.files;
	st->f_ffree = v.ffree;
	st->f_favail = v.favail;
	st->f_fsid = v.fsid;
	st->f_namemax = v.namemax;
	return 0;
}

static ssize_t op_copy_file_range(const char *path_in, struct fuse_file_info *fi_in, off_t off_in,
				  const char *path_out, struct fuse_file_info *fi_out, off_t off_out, size_t len,
				  int flags)
{
	struct sftpfs_file *in = file_of(fi_in);
	struct sftpfs_file *out = file_of(fi_out);
	struct sftp_client *cin = NULL, *cout = NULL;
	struct sftp_handle hin, hout;
	struct sftp_attrs a = { 0 };
	uint64_t n;
	int r;

	(void)path_in;
	(void)path_out;
	if (flags != 0 || off_in < 0 || off_out < 0)
		return -EINVAL;
	/* The server copies what it has: our pending writes first. */
	if ((r = sftpfs_files_drain_path(in->fs, in->path)) != 0 || (r = sftpfs_file_drain(out)) != 0)
		return neg(r);
	if ((r = sftpfs_file_handle(in, &cin, &hin)) != 0 || (r = sftpfs_file_handle(out, &cout, &hout)) != 0)
		return neg(r);
	if (cin != cout || !sftp_client_has(cin, SFTP_EXT_COPY_DATA))
		return -EOPNOTSUPP; /* the kernel falls back to read/write */
	/* copy-data stops at end of file without saying where; the source size
	 * gives the count copy_file_range(2) must return. */
	if ((r = sftp_fstat(cin, &hin, &a)) != 0)
		return neg(r);
	n = (a.flags & SFTP_ATTR_SIZE) && a.size > (uint64_t)off_in ? a.size - (uint64_t)off_in : 0;
	sftp_attrs_clear(&a);
	if (n > len)
		n = len;
	if (n > COPY_CHUNK_MAX)
		n = COPY_CHUNK_MAX; /* a short count makes the caller come back */
	if (n == 0)
		return 0;
	r = sftp_copy_data(cin, &hin, (uint64_t)off_in, n, &hout, (uint64_t)off_out);
	return r != 0 ? neg(r) : (ssize_t)n;
}

static int op_access(const char *path, int mask)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	struct sftp_attrs a = { 0 };
	struct stat st;
	uid_t uid = getuid();
	unsigned bits;
	int r;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	if ((r = sftp_stat(c, remote, &a)) != 0)
		return neg(r);
	attrs_to_stat(fs, &a, &st);
	sftp_attrs_clear(&a);
	if (mask == F_OK)
		return 0;
	/* The permission check a local file system makes, on the attributes
	 * as this mount shows them; the server still decides each request. */
	if (uid == 0) {
		if ((mask & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111))
			return -EACCES;
		return 0;
	}
	if (st.st_uid == uid)
		bits = (st.st_mode >> 6) & 7;
	else if (st.st_gid == getgid())
		bits = (st.st_mode >> 3) & 7;
	else
		bits = st.st_mode & 7;
	if (((mask & R_OK) && !(bits & 4)) || ((mask & W_OK) && !(bits & 2)) || ((mask & X_OK) && !(bits & 1)))
		return -EACCES;
	return 0;
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size, int flags)
{
	return -ENOTSUP;
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	return -ENOTSUP;
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	return -ENOTSUP;
}

static int op_removexattr(const char *path, const char *name)
{
	return -ENOTSUP;
}

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	struct sftpfs *fs = fuse_get_context()->private_data;

	/* Unlinked open files go away on the server at once: a remote
	 * directory must not collect .fuse_hidden files. */
	cfg->hard_remove = 1;
	cfg->nullpath_ok = 1;
	cfg->use_ino = 0;
	if (fs->opts->direct_io)
		cfg->direct_io = 1;
	/* Large requests: a 1 MiB write becomes several pipelined WRITEs,
	 * a 1 MiB read several READs in flight (op_read). */
	if (conn->max_write < FUSE_REQUEST_MAX)
		conn->max_write = FUSE_REQUEST_MAX;
	if (conn->max_readahead < FUSE_REQUEST_MAX)
		conn->max_readahead = FUSE_REQUEST_MAX;
	return fs;
}

const struct fuse_operations sftpfs_ops = {
	.init = op_init,
	.getattr = op_getattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.chmod = op_chmod,
	.chown = op_chown,
	.truncate = op_truncate,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.statfs = op_statfs,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.access = op_access,
	.create = op_create,
	.utimens = op_utimens,
	.copy_file_range = op_copy_file_range,
};
