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
#include "readahead.h"
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

/*
 * An open directory whose listing was fresh in the cache at opendir holds no
 * server handle: fi->fh is a struct cached_dir with the low bit set
 * (allocations are aligned, so the bit is free in a struct sftpfs_file
 * pointer). Operations given such an fi act on its path. Unlike an open
 * file it does not follow a rename of the directory (files.c tracks only
 * real handles): listed again after the cache expired, a renamed open
 * directory fails with ENOENT.
 */
struct cached_dir {
	char *path;
	bool listed; /* readdir gave the listing once */
};
#define CACHED_DIR_TAG 1u

static struct cached_dir *cached_dir_of(const struct fuse_file_info *fi)
{
	if (fi == NULL || !(fi->fh & CACHED_DIR_TAG))
		return NULL;
	return (struct cached_dir *)(uintptr_t)(fi->fh & ~(uint64_t)CACHED_DIR_TAG);
}

/* fi, or NULL (and *path set) when it stands for a cached directory. */
static struct fuse_file_info *real_fi(struct fuse_file_info *fi, const char **path)
{
	struct cached_dir *d = cached_dir_of(fi);

	if (d == NULL)
		return fi;
	if (*path == NULL)
		*path = d->path;
	return NULL;
}

/* True when path is open for writing here: its attributes must come from
 * the server after the pending writes (a listing may have cached them
 * while the writes were still queued). */
bool sftpfs_open_for_writing(struct sftpfs *fs, const char *path)
{
	GPtrArray *a;
	bool r = false;

	g_mutex_lock(&fs->files_lock);
	a = g_hash_table_lookup(fs->files, path);
	for (guint i = 0; a != NULL && i < a->len && !r; i++)
		r = (((struct sftpfs_file *)g_ptr_array_index(a, i))->pflags & SFTP_FXF_WRITE) != 0;
	g_mutex_unlock(&fs->files_lock);
	return r;
}

/* f's data changed through the mount: files open on its path stop reading
 * what was read ahead for them (fileahead.c). */
static void void_contents(struct sftpfs_file *f)
{
	g_autofree char *path = sftpfs_file_path(f);

	sftpfs_files_void_contents(f->fs, path);
}

/* f changed other than by its own writes: its known attributes are void. */
static void forget_known(struct sftpfs_file *f)
{
	g_autofree char *path = sftpfs_file_path(f);

	sftpfs_files_forget_known(f->fs, path);
}

/* f's contents or attributes changed (cache.h; the cache lock is a leaf). */
static void invalidate_file(struct sftpfs_file *f)
{
	g_mutex_lock(&f->fs->files_lock);
	sftpfs_cache_invalidate(f->fs, f->path);
	g_mutex_unlock(&f->fs->files_lock);
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

void sftpfs_attrs_to_stat(const struct sftpfs *fs, const struct sftp_attrs *a, struct stat *st)
{
	attrs_to_stat(fs, a, st);
}

/*
 * Attributes by path come from the cache when it can answer (cache.h; a
 * write through the mount drops the entry, so pending writes are never
 * hidden); what the server says is stored for the next time. An open
 * directory stands for its path.
 */
static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	struct sftp_attrs a = { 0 };
	struct sftpfs_file *f = NULL;
	g_autofree char *remote = NULL;
	g_autofree char *fpath = NULL;
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	uint64_t stamp = 0;
	bool pipelined;
	int r;

	fi = real_fi(fi, &path);
	f = fi != NULL && fi->fh != 0 ? file_of(fi) : NULL;
	if (f != NULL && sftpfs_trail_created_getattr(f, st))
		return 0; /* libfuse's lookup right after create (pipeline.c) */
	if (f == NULL && path != NULL && sftpfs_trail_setattr_getattr(fs, path, st))
		return 0; /* libfuse's getattr right after a setattr (pipeline.c) */
	/* A file this mount created and is writing (files.c). */
	if (f != NULL && (f->pflags & SFTP_FXF_WRITE) && !f->is_dir) {
		g_autofree char *own = sftpfs_file_path(f);

		if (sftpfs_files_known_stat(fs, own, st))
			return 0;
	} else if (f == NULL && path != NULL && sftpfs_files_known_stat(fs, path, st)) {
		return 0;
	}

	/* A file read ahead: the attributes it was opened with, as its data. */
	if (f != NULL && sftpfs_file_contents_stat(f, st))
		return 0;
	if (f != NULL && (f->is_dir || (fs->opts->workarounds & WORKAROUND_FSTAT))) {
		if (path == NULL)
			path = fpath = sftpfs_file_path(f);
		f = NULL;
	}
	if (f == NULL && fs->cache != NULL && path != NULL && !sftpfs_open_for_writing(fs, path) &&
	    sftpfs_cache_get_attr(fs->cache, path, st, &r))
		return neg(r);
	if (f != NULL) {
		/* The size and times must include our pending writes. */
		r = sftpfs_file_fstat(f, &a);
	} else {
		/* Pending writes of the path land first; when they have all
		 * gone out, the LSTAT follows them instead of waiting (the
		 * answer counts if they were all acknowledged by then). */
		pipelined = path != NULL && !fs->opts->follow_symlinks && sftpfs_open_for_writing(fs, path) &&
			    sftpfs_files_sent(fs, path, &stamp);
		if (path != NULL && !pipelined && (r = sftpfs_files_drain_path(fs, path)) != 0)
			return neg(r);
		/* The parent's listing, on its way or asked again, answers the
		 * lookups that follow (dirlist.c). */
		if (fs->cache != NULL && path != NULL && sftpfs_prefetch_missed(fs, path) &&
		    !sftpfs_open_for_writing(fs, path) && sftpfs_cache_get_attr(fs->cache, path, st, &r))
			return neg(r);
		if ((r = sftpfs_client(fs, &c)) != 0)
			return neg(r);
		remote = rpath(fs, path);
		r = fs->opts->follow_symlinks ? sftp_stat(c, remote, &a) : sftp_lstat(c, remote, &a);
		if (pipelined && r == 0 && !sftpfs_files_settled(fs, path, stamp, c)) {
			sftp_attrs_clear(&a);
			memset(&a, 0, sizeof(a));
			if ((r = sftpfs_files_drain_path(fs, path)) == 0)
				r = sftp_lstat(c, remote, &a);
		}
	}
	if (r == 0) {
		attrs_to_stat(fs, &a, st);
		if (path != NULL)
			sftpfs_cache_put_attr(fs->cache, path, st, gen);
	} else if (r == ERR_NO_SUCH_FILE && f == NULL) {
		sftpfs_cache_put_negative(fs->cache, path, gen);
	}
	sftp_attrs_clear(&a);
	return neg(r);
}

static int op_opendir(const char *path, struct fuse_file_info *fi)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftpfs_file *f = NULL;
	int r;

	(void)sftpfs_prefetch_take(fs, path); /* a listing ahead in flight lands first */
	if (sftpfs_cache_has_dir(fs->cache, path)) {
		/* Listed recently: readdir answers from the cache and asks
		 * the server only if the listing expires first. */
		struct cached_dir *d = g_malloc0(sizeof(*d));

		d->path = g_strdup(path);
		fi->fh = (uint64_t)(uintptr_t)d | CACHED_DIR_TAG;
		return 0;
	}
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
		if ((r = sftpfs_file_handle(f, &c, &h)) != 0)
			return r;
		if (prev != NULL && c != prev)
			sftpfs_list_clear(out); /* a reopened handle starts over */
		prev = c;
		if ((r = sftpfs_list_batches(c, &h, out)) == 0)
			return 0;
		if (sftp_client_error(c) == 0)
			return r;
		/* the next handle call reconnects or fails */
	}
}

/* Fills one entry; st NULL when its attributes are unknown. */
static int fill_entry(struct sftpfs *fs, void *dbuf, fuse_fill_dir_t filler, const char *name,
		      const struct stat *st, enum fuse_readdir_flags flags)
{
	struct stat zero = { 0 };
	enum fuse_fill_dir_flags ff = 0;
	bool dot = strcmp(name, ".") == 0 || strcmp(name, "..") == 0;

	if (st == NULL) {
		if (dot)
			zero.st_mode = S_IFDIR;
		st = &zero;
	} else if ((flags & FUSE_READDIR_PLUS) && st->st_mode != 0 &&
		   !(fs->opts->follow_symlinks && S_ISLNK(st->st_mode))) {
		/* With follow_symlinks a link's lstat would be wrong; let
		 * the kernel ask getattr instead. */
		ff = FUSE_FILL_DIR_PLUS;
	}
	/* libfuse gives "." and ".." inode 0 unless we do, and readdir(3)
	 * skips entries with inode 0. */
	if (dot) {
		zero = *st;
		zero.st_ino = FUSE_UNKNOWN_INO_DOT;
		st = &zero;
	}
	return filler(dbuf, name, st, 0, ff) != 0 ? ERR_ALLOC_FAIL : 0;
}

/* Adds path/name to subdirs if st shows a directory (dirlist.c lists it ahead). */
static void note_subdir(GPtrArray *subdirs, const char *path, const char *name, const struct stat *st)
{
	if (st != NULL && S_ISDIR(st->st_mode) && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
		g_ptr_array_add(subdirs, sftpfs_cache_child_path(path, name));
}

/* Fills from a fresh cached listing of path, with the cached attributes
 * (readdirplus without a round trip). False if none is cached. */
static bool readdir_cached(struct sftpfs *fs, const char *path, void *dbuf, fuse_fill_dir_t filler,
			   enum fuse_readdir_flags flags, GPtrArray *subdirs, int *r)
{
	GPtrArray *v = sftpfs_cache_get_dir(fs->cache, path);

	*r = 0;
	if (v == NULL)
		return false;
	for (guint i = 0; i < v->len && *r == 0; i++) {
		const struct sftpfs_cache_dirent *e = g_ptr_array_index(v, i);

		*r = fill_entry(fs, dbuf, filler, e->name, e->has_attr ? &e->st : NULL, flags);
		note_subdir(subdirs, path, e->name, e->has_attr ? &e->st : NULL);
	}
	g_ptr_array_unref(v);
	return true;
}

/*
 * Offset 0 mode: libfuse buffers the whole listing, so each call lists the
 * directory from the start. A fresh cached listing answers without a
 * request; a listing read from the server is stored with every entry's
 * attributes (READDIR carries lstat attributes, filexfer-02 §7, so a
 * following `ls -l` needs no per-file requests).
 */
static int op_readdir(const char *path, void *dbuf, fuse_fill_dir_t filler, off_t offset,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct sftpfs *fs = sftpfs_get();
	struct cached_dir *d = cached_dir_of(fi);
	struct sftpfs_file *f = d == NULL ? file_of(fi) : NULL;
	g_autofree char *dpath = d != NULL ? g_strdup(d->path) : sftpfs_file_path(f);
	bool *listed = d != NULL ? &d->listed : &f->listed;
	g_autoptr(GPtrArray) subdirs = g_ptr_array_new_with_free_func(g_free);
	struct sftp_client *c = NULL;
	GArray *batches;
	uint64_t gen;
	int r;

	(void)path;
	(void)offset;
	if (readdir_cached(fs, dpath, dbuf, filler, flags, subdirs, &r)) {
		if (r == 0)
			sftpfs_prefetch_listed(fs, dpath, subdirs);
		return neg(r);
	}
	gen = sftpfs_cache_generation(fs->cache);
	batches = g_array_new(FALSE, TRUE, sizeof(struct sftp_names));
	/* The kernel does not call readdir twice at once on one directory. A
	 * second readdir of one open directory (after rewinddir: the first
	 * handle is at its end) lists on a handle of its own. */
	if (f != NULL && !*listed)
		r = read_listing(f, batches);
	else if ((r = sftpfs_client(fs, &c)) == 0)
		r = sftpfs_list_path(fs, c, dpath, batches);
	*listed = true;
	if (r == 0)
		sftpfs_list_store(fs, dpath, batches, gen);
	for (guint b = 0; r == 0 && b < batches->len; b++) {
		const struct sftp_names *n = &g_array_index(batches, struct sftp_names, b);

		for (size_t i = 0; r == 0 && i < n->count; i++) {
			const struct sftp_name *e = &n->v[i];
			struct stat st;

			attrs_to_stat(fs, &e->attrs, &st); /* st_mode 0 if unknown */
			r = fill_entry(fs, dbuf, filler, e->name, &st, flags);
			note_subdir(subdirs, dpath, e->name, &st);
		}
	}
	if (r == 0)
		sftpfs_prefetch_listed(fs, dpath, subdirs);
	sftpfs_list_clear(batches);
	g_array_unref(batches);
	return neg(r);
}

static int op_releasedir(const char *path, struct fuse_file_info *fi)
{
	struct cached_dir *d = cached_dir_of(fi);

	(void)path;
	if (d != NULL) {
		g_free(d->path);
		g_free(d);
		return 0;
	}
	return neg(sftpfs_file_release(file_of(fi)));
}

static int op_mkdir(const char *path, mode_t mode)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	struct sftp_attrs a = { .flags = SFTP_ATTR_PERMISSIONS, .permissions = mode & 07777 };
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	int r;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	sftpfs_trail_arm(fs, path, SFTP_TRAIL_MKDIR);
	sftpfs_trail_arm_dirs(fs, path, NULL);
	r = sftp_mkdir(c, remote, &a);
	if (r == 0)
		sftpfs_cache_added(fs->cache, path, true);
	sftpfs_trail_store_dirs(fs, r, gen, 1);
	sftpfs_trail_store(fs, path, r, gen, 1);
	return neg(refine_exists(c, remote, r));
}

static int op_rmdir(const char *path)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	g_autofree char *dir = g_path_get_dirname(path);
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	int r, d;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	sftpfs_trail_arm(fs, dir, SFTP_TRAIL_REMOVE); /* the directory's new attributes */
	r = sftp_rmdir(c, remote);
	if (r == 0)
		sftpfs_cache_removed(fs->cache, path);
	sftpfs_trail_store(fs, dir, r, gen, 1);
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
	g_autofree char *dir = g_path_get_dirname(path);
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	int r;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	/* An open file of that name keeps its handle, not the name. */
	sftpfs_files_forget_known(fs, path);
	sftpfs_trail_arm(fs, dir, SFTP_TRAIL_REMOVE); /* the directory's new attributes */
	r = sftp_remove(c, remote);
	if (r == 0) {
		sftpfs_cache_removed(fs->cache, path);
		sftpfs_files_unlinked(fs, path);
	}
	sftpfs_trail_store(fs, dir, r, gen, 1);
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
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	int r;

	if (flags & RENAME_EXCHANGE)
		return -EINVAL; /* SFTP has no atomic exchange */
	if (flags & ~(unsigned)RENAME_NOREPLACE)
		return -EINVAL;
	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	/* RENAME_NOREPLACE: plain SSH_FXP_RENAME never replaces
	 * (filexfer-02 §6.5); OpenSSH implements it with link(2)+unlink(2),
	 * so an existing target fails atomically. */
	sftpfs_files_forget_known(fs, to); /* a file it replaces loses its name */
	sftpfs_trail_arm(fs, to, SFTP_TRAIL_RENAME);
	sftpfs_trail_arm_dirs(fs, to, from);
	r = (flags & RENAME_NOREPLACE) ? sftp_rename(c, rfrom, rto) : sftp_posix_rename(c, rfrom, rto);
	if (r == 0) {
		if (strcmp(from, to) != 0)
			sftpfs_files_unlinked(fs, to); /* what it replaced */
		sftpfs_files_rename(fs, from, to);
		sftpfs_cache_renamed(fs->cache, from, to);
	}
	sftpfs_trail_store_dirs(fs, r, gen, 1);
	sftpfs_trail_store(fs, to, r, gen, 1);
	if (!(flags & RENAME_NOREPLACE))
		r = refine_rename(c, rfrom, rto, r);
	else if (generic_failure(r) && is_dir(c, rto) >= 0)
		r = ERR_FILE_EXISTS;
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
	g_autofree char *target = NULL;
	g_autofree char *shown = NULL;
	uint64_t gen;
	int r;

	if (size == 0)
		return -EINVAL;
	/* The cache keeps the target as the server sent it. */
	target = sftpfs_cache_get_link(fs->cache, path);
	if (target == NULL) {
		char *t = NULL;

		if ((r = sftpfs_client(fs, &c)) != 0)
			return neg(r);
		gen = sftpfs_cache_generation(fs->cache);
		if ((r = sftp_readlink(c, remote, &t)) != 0)
			return neg(r);
		target = g_strdup(t);
		free(t);
		sftpfs_cache_put_link(fs->cache, path, target, gen);
	}
	if (fs->opts->contain_symlinks &&
	    (target[0] == '/' || strcmp(target, "..") == 0 || g_str_has_prefix(target, "../") ||
	     strstr(target, "/../") != NULL || g_str_has_suffix(target, "/..")))
		return -EPERM;
	shown = fs->opts->transform_symlinks ? transform_target(fs, path, target) : g_strdup(target);
	g_strlcpy(out, shown, size);
	return 0;
}

static int op_symlink(const char *target, const char *linkpath)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, linkpath);
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	int r;

	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	sftpfs_trail_arm(fs, linkpath, SFTP_TRAIL_LINK);
	sftpfs_trail_arm_dirs(fs, linkpath, NULL);
	r = sftp_symlink(c, target, remote);
	if (r == 0)
		sftpfs_cache_added(fs->cache, linkpath, false);
	sftpfs_trail_store_dirs(fs, r, gen, 1);
	sftpfs_trail_store(fs, linkpath, r, gen, 1);
	return neg(refine_exists(c, remote, r));
}

static int op_link(const char *from, const char *to)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *rfrom = rpath(fs, from);
	g_autofree char *rto = rpath(fs, to);
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	int r;

	if (fs->opts->disable_hardlink)
		return -ENOSYS;
	if ((r = sftpfs_client(fs, &c)) != 0)
		return neg(r);
	if (!sftp_client_has(c, SFTP_EXT_HARDLINK))
		return -ENOSYS;
	sftpfs_trail_arm(fs, to, SFTP_TRAIL_LINK);
	sftpfs_trail_arm_dirs(fs, to, NULL);
	r = sftp_hardlink(c, rfrom, rto);
	if (r == 0) {
		sftpfs_cache_added(fs->cache, to, false);
		sftpfs_cache_changed(fs->cache, from); /* its link count */
		/* changes by the new name bypass from's writers */
		sftpfs_files_forget_known(fs, from);
	}
	/* two cache changes: the new name, and from's link count */
	sftpfs_trail_store_dirs(fs, r, gen, 2);
	sftpfs_trail_store(fs, to, r, gen, 2);
	return neg(refine_exists(c, rto, r));
}

/*
 * FSETSTAT with an open handle; otherwise lsetstat@openssh.com, because the
 * kernel hands us the very inode to change: a symlink's own times and owner
 * (lutimes, lchown from cp -a, tar, rsync) must not reach its target, which
 * plain SETSTAT would follow. Without the extension, a symlink's attributes
 * cannot be set (EOPNOTSUPP) and other files use SETSTAT.
 */
static int setattrs_remote(const char *path, struct fuse_file_info *fi, const struct sftp_attrs *a)
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

/* Any attempt may have changed something: the cached attributes go. */
static int setattrs(const char *path, struct fuse_file_info *fi, const struct sftp_attrs *a)
{
	struct sftpfs *fs = sftpfs_get();
	g_autofree char *fpath = NULL;
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	bool by_path = fi == NULL || fi->fh == 0 || cached_dir_of(fi) != NULL; /* pipeline.c */
	int r;

	fi = real_fi(fi, &path);
	/* On a file this mount is writing: behind its writes (files.c). */
	if (by_path && path != NULL && !(a->flags & SFTP_ATTR_SIZE) && sftpfs_files_setattr_behind(fs, path, a)) {
		sftpfs_cache_changed(fs->cache, path);
		return 0;
	}
	if (path == NULL && fi != NULL && fi->fh != 0)
		path = fpath = sftpfs_file_path(file_of(fi));
	/* Made here: what the writers knew of the attributes is void, and
	 * a change queued behind their writes lands first. */
	sftpfs_files_forget_known(fs, path);
	if ((r = sftpfs_files_drain_setattrs(fs, path)) != 0)
		return neg(r);
	if (a->flags & SFTP_ATTR_ACMODTIME)
		sftpfs_files_forget_atime(fs, path);
	if (by_path)
		sftpfs_trail_arm(fs, path, SFTP_TRAIL_SETSTAT);
	r = setattrs_remote(path, fi, a);

	if (a->flags & SFTP_ATTR_SIZE)
		sftpfs_files_void_contents(fs, path);
	sftpfs_cache_changed(fs->cache, path);
	if (by_path)
		sftpfs_trail_store(fs, path, r, gen, 1);
	return r;
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

	fi = real_fi(fi, &path);
	if (fi != NULL && fi->fh != 0) {
		struct sftp_handle h;

		if ((r = sftpfs_file_handle(file_of(fi), &c, &h)) != 0)
			return r;
		return sftp_fstat(c, &h, a);
	}
	/* after a change queued behind the path's writes */
	if ((r = sftpfs_files_drain_setattrs(fs, path)) != 0)
		return r;
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

/*
 * A local change to [off, off + len) of a file (f, or else the one at path):
 * every open descriptor of it drops what it read ahead there (readahead.h).
 * With APPEND the server chose where the bytes went: the caller passes the
 * whole file.
 */
static void invalidate_readahead(struct sftpfs *fs, struct sftpfs_file *f, const char *path, uint64_t off,
				 uint64_t len)
{
	GPtrArray *a = NULL;

	g_mutex_lock(&fs->files_lock);
	if (f != NULL || path != NULL)
		a = g_hash_table_lookup(fs->files, f != NULL ? f->path : path);
	for (guint i = 0; a != NULL && i < a->len; i++)
		readahead_invalidate(((struct sftpfs_file *)g_ptr_array_index(a, i))->ra, off, len);
	if (f != NULL)
		readahead_invalidate(f->ra, off, len);
	g_mutex_unlock(&fs->files_lock);
}

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	struct sftp_attrs a = { .flags = SFTP_ATTR_SIZE, .size = (uint64_t)size };
	int r;

	if (size < 0)
		return -EINVAL;
	r = setattrs(path, fi, &a);
	invalidate_readahead(sftpfs_get(), fi != NULL && fi->fh != 0 && cached_dir_of(fi) == NULL ? file_of(fi) : NULL,
			     path, (uint64_t)size, UINT64_MAX);
	return r;
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

	/* SFTP v3 sets atime and mtime together, in whole seconds. A file
	 * this mount just created and nobody read has its creation atime. */
	if (tv[0].tv_nsec == UTIME_OMIT || tv[1].tv_nsec == UTIME_OMIT) {
		int64_t atime;

		if (tv[0].tv_nsec == UTIME_OMIT && tv[1].tv_nsec == UTIME_OMIT)
			return 0;
		if (tv[0].tv_nsec == UTIME_OMIT && path != NULL &&
		    sftpfs_files_created_atime(sftpfs_get(), path, &atime)) {
			cur.atime = (uint32_t)atime;
		} else if ((r = current_attrs(path, fi, &cur)) != 0) {
			return neg(r);
		}
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

	if (sftpfs_client(fs, &c) != 0 || sftpfs_errno(refine_exists(c, remote, r)) != EEXIST)
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

/* A small regular file just opened for reading starts collecting its
 * contents (the attributes its open brought, current in generation gen). */
static void shadow_start(struct sftpfs_file *f, const char *path, uint64_t gen)
{
	struct stat st;
	int err = 0;

	if (!sftpfs_cache_get_attr(f->fs->cache, path, &st, &err) || err != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < 0 || st.st_size > (off_t)SFTPFS_CACHE_CONTENTS_FILE_MAX)
		return;
	g_mutex_lock(&f->lock);
	f->shadow = g_byte_array_sized_new((guint)st.st_size);
	f->shadow_st = st;
	f->shadow_gen = gen;
	g_mutex_unlock(&f->lock);
}

/* got bytes at offset read from the server for a read of asked bytes. */
static void shadow_note(struct sftpfs_file *f, uint64_t offset, const char *data, size_t got, size_t asked)
{
	g_mutex_lock(&f->lock);
	if (f->shadow != NULL && !f->shadow_whole && offset <= f->shadow->len) {
		size_t skip = f->shadow->len - (size_t)offset; /* read again: only what is new */

		if (got > skip && f->shadow->len + (got - skip) > SFTPFS_CACHE_CONTENTS_FILE_MAX)
			g_clear_pointer(&f->shadow, g_byte_array_unref);
		else if (got > skip)
			g_byte_array_append(f->shadow, (const guint8 *)data + skip, (guint)(got - skip));
		if (f->shadow != NULL && got < asked)
			f->shadow_whole = true; /* a short read: the end of the file */
	} else if (f->shadow != NULL && !f->shadow_whole) {
		g_clear_pointer(&f->shadow, g_byte_array_unref); /* a gap */
	}
	g_mutex_unlock(&f->lock);
}

/* At flush: a whole small file read goes into the cache if no local change
 * happened since it was opened and its attributes are still the cache's. */
static void shadow_keep(struct sftpfs_file *f)
{
	g_autofree char *path = NULL;
	GByteArray *shadow;
	GBytes *data;
	struct stat st;
	uint64_t gen;

	g_mutex_lock(&f->lock);
	shadow = f->shadow_whole ? f->shadow : NULL;
	if (shadow != NULL)
		f->shadow = NULL;
	st = f->shadow_st;
	gen = f->shadow_gen;
	g_mutex_unlock(&f->lock);
	if (shadow == NULL)
		return;
	path = sftpfs_file_path(f);
	data = g_byte_array_free_to_bytes(shadow);
	/* The cache checks the bytes against st (size) and gen. */
	if (!sftpfs_open_for_writing(f->fs, path))
		(void)sftpfs_cache_put_contents(f->fs->cache, path, data, &st, gen);
	g_bytes_unref(data);
}

/* The kernel keeps its cached pages of the file when its size and mtime are
 * those seen at the previous open (cache.h); O_TRUNC changes the file. */
static int op_open(const char *path, struct fuse_file_info *fi)
{
	struct sftpfs *fs = sftpfs_get();
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	/* Reading only: the attributes come along (pipeline.c). */
	bool trail = (fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC);
	struct stat st;
	GBytes *contents = NULL;
	int r;

	/* Kept from an earlier read (cache.h), or read ahead (fileahead.c).
	 * Not while the connection is down: the open then fails or waits
	 * for it as any other. */
	if (trail && !fs->opts->direct_io && !sftpfs_open_for_writing(fs, path) && sftpfs_connected(fs))
		contents = sftpfs_cache_get_contents(fs->cache, path, &st);
	if (trail && contents == NULL)
		contents = sftpfs_fileahead_take(fs, path, &st);
	if (contents != NULL) {
		/* No request at all. */
		fi->fh = (uint64_t)(uintptr_t)sftpfs_file_fetched(fs, path, contents, &st);
		r = 0;
	} else {
		if (trail)
			sftpfs_trail_arm(fs, path, SFTP_TRAIL_OPEN);
		r = open_common(path, 0, fi, false);
		if (trail)
			sftpfs_trail_store(fs, path, r, gen, 0);
		if (r == 0 && trail && !fs->opts->direct_io)
			shadow_start(file_of(fi), path, gen);
	}
	if (r == 0 && trail)
		sftpfs_fileahead_opened(fs, path);

	if (r == 0 && (fi->flags & O_TRUNC)) {
		sftpfs_files_void_contents(fs, path);
		sftpfs_cache_changed(fs->cache, path);
	} else if (r == 0 && !fs->opts->direct_io && sftpfs_cache_keep_pages(fs->cache, path))
		fi->keep_cache = 1;
	return r;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct sftpfs *fs = sftpfs_get();
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	int r;

	sftpfs_trail_arm(fs, path, SFTP_TRAIL_OPEN);
	sftpfs_trail_arm_dirs(fs, path, NULL);
	r = open_common(path, mode, fi, true);
	if (r == 0 && (fi->flags & O_TRUNC))
		sftpfs_files_void_contents(fs, path); /* it existed */
	if (r == 0)
		sftpfs_cache_added(fs->cache, path, false);
	sftpfs_trail_store_dirs(fs, r, gen, 1);
	sftpfs_trail_created(fs, r == 0 ? file_of(fi) : NULL, r);
	return r;
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
	sftpfs_cache_added(sftpfs_get()->cache, path, false);
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
		if (len > 0) /* an empty DATA may come without a buffer */
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

static int read_remote(struct sftpfs_file *f, char *out, size_t size, off_t offset);

static int op_read(const char *path, char *out, size_t size, off_t offset, struct fuse_file_info *fi)
{
	struct sftpfs_file *f = file_of(fi);
	size_t done = 0;
	int r;

	(void)path;
	if (offset < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	/* Contents read ahead are voided by any write through the mount. */
	if (sftpfs_file_read_fetched(f, (uint64_t)offset, out, size, &done))
		return (int)done;
	r = read_remote(f, out, size, offset);
	if (r >= 0)
		shadow_note(f, (uint64_t)offset, out, (size_t)r, size);
	return r;
}

static int read_remote(struct sftpfs_file *f, char *out, size_t size, off_t offset)
{
	g_autofree char *fpath = NULL;
	struct sftp_client *c = NULL;
	struct sftp_handle h;
	struct sftp_limits lim;
	struct read_batch b = { 0 };
	struct read_part *parts;
	size_t chunk, n, done = 0;
	int r = 0;

	fpath = sftpfs_file_path(f);
	sftpfs_files_forget_atime(f->fs, fpath); /* the server may move it */
	if ((r = sftpfs_file_handle(f, &c, &h)) != 0)
		return neg(r);
	/* Reads see the writes made through the mount, on any descriptor.
	 * When all of them have gone out on the client the READs take, the
	 * server applies them first (it handles the requests on a file in
	 * order, as the trailing LSTATs rely on): no wait for their
	 * acknowledgements (git's index-pack reads back the pack it writes).
	 * Otherwise (another connection, a lane, not all sent yet) wait, then
	 * take the handle again (the wait may have reconnected). */
	if (!sftpfs_files_sent_on(f->fs, fpath, c)) {
		if ((r = sftpfs_files_drain_path(f->fs, fpath)) != 0 || (r = sftpfs_file_handle(f, &c, &h)) != 0)
			return neg(r);
	}
	if (f->ra != NULL) {
		struct stat st;
		int cerr = 0;
		ssize_t got;

		readahead_size_hint(f->ra, sftpfs_cache_get_attr(f->fs->cache, fpath, &st, &cerr) && cerr == 0
						   ? (uint64_t)st.st_size
						   : UINT64_MAX);
		got = readahead_read(f->ra, c, &h, (uint64_t)offset, out, size);
		return got < 0 ? neg((int)got) : (int)got;
	}
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
	/* Not a short count after a failure: the kernel would take it for
	 * end of file (readahead.c). */
	if (r != 0)
		return neg(r);
	return (int)done;
}

static int op_write(const char *path, const char *data, size_t size, off_t offset, struct fuse_file_info *fi)
{
	struct sftpfs_file *f = file_of(fi);
	int r;

	(void)path;
	if (offset < 0)
		return -EINVAL;
	/* With SFTP_FXF_APPEND the server (OpenSSH: O_APPEND) writes at its
	 * own end of file whatever offset we send, even if the file grew.
	 * Write-behind: queued here, acknowledged later (files.c). */
	r = sftpfs_file_write(f, (uint64_t)offset, data, size);
	void_contents(f);
	invalidate_file(f);
	/* The WRITEs are sent: READs sent from now on see them. */
	invalidate_readahead(f->fs, f, NULL, (f->pflags & SFTP_FXF_APPEND) ? 0 : (uint64_t)offset,
			     (f->pflags & SFTP_FXF_APPEND) ? UINT64_MAX : size);
	return r != 0 ? neg(r) : (int)size;
}

static int op_flush(const char *path, struct fuse_file_info *fi)
{
	/* close-to-open: when close() returns, the data is on the server. */
	int r = sftpfs_file_drain(file_of(fi));

	(void)path;
	if (file_of(fi)->pflags & SFTP_FXF_WRITE) {
		invalidate_file(file_of(fi)); /* attributes cached while writes were pending */
		/* A refused write or change behind the writes: the kernel
		 * holds attributes that counted on it (files.c). */
		if (r != 0) {
			g_autofree char *own = sftpfs_file_path(file_of(fi));

			(void)fuse_invalidate_path(fuse_get_context()->fuse, own);
		}
	} else {
		shadow_keep(file_of(fi));
	}
	return neg(r);
}

static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	struct sftpfs_file *f = file_of(fi);
	struct sftp_client *c = NULL;
	struct sftp_handle h;
	int r = sftpfs_file_drain_sync(f); /* and its write lanes */

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
	void_contents(out);
	forget_known(out);
	invalidate_file(out);
	return r != 0 ? neg(r) : (ssize_t)n;
}

/*
 * The attributes access(2) checks, which follow a symlink. With the cache,
 * an LSTAT asks first: unless the path is a symlink its answer is the same,
 * and it is kept for the lookups that follow (git's access() of a file it
 * then stats or removes); a symlink is asked again with STAT.
 */
static int access_attrs(struct sftpfs *fs, struct sftp_client *c, const char *path, const char *remote,
			struct stat *st)
{
	struct sftp_attrs a = { 0 };
	uint64_t gen = sftpfs_cache_generation(fs->cache);
	bool lstat_first = fs->cache != NULL && !sftpfs_open_for_writing(fs, path);
	int r;

	r = lstat_first ? sftp_lstat(c, remote, &a) : sftp_stat(c, remote, &a);
	if (lstat_first && r == 0 && (a.flags & SFTP_ATTR_PERMISSIONS) != 0 && S_ISLNK(a.permissions)) {
		sftp_attrs_clear(&a);
		memset(&a, 0, sizeof(a));
		r = sftp_stat(c, remote, &a);
		lstat_first = false;
	}
	if (r == 0) {
		attrs_to_stat(fs, &a, st);
		if (lstat_first)
			sftpfs_cache_put_attr(fs->cache, path, st, gen);
	} else if (r == ERR_NO_SUCH_FILE && lstat_first) {
		sftpfs_cache_put_negative(fs->cache, path, gen);
	}
	sftp_attrs_clear(&a);
	return r;
}

static int op_access(const char *path, int mask)
{
	struct sftpfs *fs = sftpfs_get();
	struct sftp_client *c = NULL;
	g_autofree char *remote = rpath(fs, path);
	struct stat st;
	uid_t uid = getuid();
	unsigned bits;
	int r;

	/* Cached attributes answer unless they are a symlink's (access
	 * follows links; the cache holds lstat attributes). */
	if (!sftpfs_cache_get_attr(fs->cache, path, &st, &r) || (r == 0 && S_ISLNK(st.st_mode))) {
		if ((r = sftpfs_client(fs, &c)) != 0)
			return neg(r);
		if ((r = access_attrs(fs, c, path, remote, &st)) != 0)
			return neg(r);
	} else if (r != 0) {
		return neg(r);
	}
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

/* Longest time the kernel keeps names and attributes with the cache on: a
 * change made elsewhere shows within the dcache timeout plus this. */
#define KERNEL_CACHE_MAX_S 1.0

static bool user_fuse_option(const struct sftpfs *fs, const char *prefix)
{
	for (guint i = 0; i < fs->opts->fuse_options->len; i++) {
		if (g_str_has_prefix(g_ptr_array_index(fs->opts->fuse_options, i), prefix))
			return true;
	}
	return false;
}

/* Kernel name, attribute and negative-lookup caching follows the daemon's
 * cache: short with dir_cache=yes, none with dir_cache=no (every stat then
 * reaches the server), unless given as libfuse options. */
static void kernel_cache_config(const struct sftpfs *fs, struct fuse_config *cfg)
{
	struct sftpfs_cache_config cc;
	double t = 0;

	if (fs->cache != NULL) {
		sftpfs_cache_config_from_opts(fs->opts, &cc);
		t = (double)cc.stat_timeout_us / 1e6;
		if (t > KERNEL_CACHE_MAX_S)
			t = KERNEL_CACHE_MAX_S;
	}
	if (!user_fuse_option(fs, "entry_timeout="))
		cfg->entry_timeout = t;
	if (!user_fuse_option(fs, "attr_timeout="))
		cfg->attr_timeout = t;
	if (!user_fuse_option(fs, "negative_timeout="))
		cfg->negative_timeout = t;
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
	kernel_cache_config(fs, cfg);
	/* Large requests: a 1 MiB write becomes several pipelined WRITEs,
	 * a 1 MiB read several READs in flight (op_read). */
	if (conn->max_write < FUSE_REQUEST_MAX)
		conn->max_write = FUSE_REQUEST_MAX;
	if (conn->max_readahead < FUSE_REQUEST_MAX)
		conn->max_readahead = FUSE_REQUEST_MAX;
	readahead_tune_kernel(fs->opts);
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
