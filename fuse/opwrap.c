/*
 * opwrap.c - the operations table libfuse gets: every operation of ops.c
 * wrapped so that
 *  - the connection references it took (sftpfs_client, sftpfs_file_handle)
 *    are dropped when it returns (links.c), and
 *  - an operation whose connection was lost under it is run again once the
 *    connection is back (up to reconnect_timeout after it started), instead
 *    of failing with EIO.
 *
 * A request lost with its connection may or may not have been carried out.
 * Running it again is harmless for reads and for setting attributes; for
 * the operations that create or remove a name, the second run can find its
 * own work done. As NFS clients do for retransmissions, a retried mkdir,
 * mknod, symlink or link that finds the name there (EEXIST), and a retried
 * unlink, rmdir or rename that finds the name gone (ENOENT), succeed.
 * Writes are never run again here: files.c keeps and resends them itself,
 * and flush, fsync and release wait for them (fsync's own FSYNC request is
 * sent again).
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cache.h"
#include "log.h"
#include "sftpfs.h"

static const struct fuse_operations *impl;

static bool may_retry(const struct sftpfs *fs, gint64 deadline)
{
	return fs->opts->reconnect && remote_can_reconnect(fs->remote) && g_get_monotonic_time() < deadline;
}

/*
 * Runs CALL (an expression giving an int or ssize_t) until it succeeds, fails
 * without losing its connection, or may not be retried; a retry that fails
 * with DONE (0: none) counts as success.
 */
#define RUN(type, name, call, done) RUN_FIX(type, name, call, done, (void)0)

/* RUN, and FIX (a statement) runs when a retry's DONE counts as success:
 * the operation's own bookkeeping (cache, open files) did not happen. */
#define RUN_FIX(type, name, call, done, fix)                                                               \
	do {                                                                                               \
		struct sftpfs *fs_ = sftpfs_get();                                                        \
		gint64 deadline_;                                                                          \
		bool retried_ = false;                                                                     \
		type r_;                                                                                   \
                                                                                                           \
		sftpfs_op_begin(fs_);                                                                      \
		deadline_ = sftpfs_deadline(fs_);                                                          \
		for (;;) {                                                                                 \
			bool lost_;                                                                        \
                                                                                                           \
			r_ = (call);                                                                       \
			lost_ = sftpfs_op_drop();                                                          \
			if (r_ >= 0 || !lost_ || !may_retry(fs_, deadline_))                              \
				break;                                                                     \
			log_verbose(LOG_CAT_GENERAL, "%s: connection lost, trying again", name);         \
			retried_ = true;                                                                   \
			sftpfs_op_set_retrying(true);                                                      \
		}                                                                                          \
		sftpfs_op_end();                                                                           \
		if (retried_ && (done) != 0 && r_ == -(type)(done)) {                                      \
			r_ = 0;                                                                            \
			fix;                                                                               \
		}                                                                                          \
		return r_;                                                                                 \
	} while (0)

/* Once only: the operation manages its connection itself. */
#define ONCE(type, call)                                                                                   \
	do {                                                                                               \
		type r_;                                                                                   \
                                                                                                           \
		sftpfs_op_begin(sftpfs_get());                                                             \
		r_ = (call);                                                                               \
		sftpfs_op_end();                                                                           \
		return r_;                                                                                 \
	} while (0)

static int w_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	RUN(int, "getattr", impl->getattr(path, st, fi), 0);
}

static int w_readlink(const char *path, char *buf, size_t size)
{
	RUN(int, "readlink", impl->readlink(path, buf, size), 0);
}

static int w_mknod(const char *path, mode_t mode, dev_t rdev)
{
	RUN_FIX(int, "mknod", impl->mknod(path, mode, rdev), EEXIST, sftpfs_cache_added(fs_->cache, path, false));
}

static int w_mkdir(const char *path, mode_t mode)
{
	RUN_FIX(int, "mkdir", impl->mkdir(path, mode), EEXIST, sftpfs_cache_added(fs_->cache, path, false));
}

static int w_unlink(const char *path)
{
	RUN_FIX(int, "unlink", impl->unlink(path), ENOENT, {
		sftpfs_cache_removed(fs_->cache, path);
		sftpfs_files_unlinked(fs_, path);
	});
}

static int w_rmdir(const char *path)
{
	RUN_FIX(int, "rmdir", impl->rmdir(path), ENOENT, sftpfs_cache_removed(fs_->cache, path));
}

static int w_symlink(const char *target, const char *path)
{
	RUN_FIX(int, "symlink", impl->symlink(target, path), EEXIST, sftpfs_cache_added(fs_->cache, path, false));
}

static int w_rename(const char *from, const char *to, unsigned int flags)
{
	RUN_FIX(int, "rename", impl->rename(from, to, flags), ENOENT, {
		sftpfs_cache_renamed(fs_->cache, from, to);
		if (strcmp(from, to) != 0)
			sftpfs_files_unlinked(fs_, to);
		sftpfs_files_rename(fs_, from, to);
	});
}

static int w_link(const char *from, const char *to)
{
	RUN_FIX(int, "link", impl->link(from, to), EEXIST, sftpfs_cache_added(fs_->cache, to, false));
}

static int w_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	RUN(int, "chmod", impl->chmod(path, mode, fi), 0);
}

static int w_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	RUN(int, "chown", impl->chown(path, uid, gid, fi), 0);
}

static int w_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	RUN(int, "truncate", impl->truncate(path, size, fi), 0);
}

static int w_open(const char *path, struct fuse_file_info *fi)
{
	RUN(int, "open", impl->open(path, fi), 0);
}

static int w_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	RUN(int, "read", impl->read(path, buf, size, off, fi), 0);
}

static int w_write(const char *path, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ONCE(int, impl->write(path, buf, size, off, fi));
}

static int w_statfs(const char *path, struct statvfs *st)
{
	RUN(int, "statfs", impl->statfs(path, st), 0);
}

static int w_flush(const char *path, struct fuse_file_info *fi)
{
	ONCE(int, impl->flush(path, fi));
}

static int w_release(const char *path, struct fuse_file_info *fi)
{
	ONCE(int, impl->release(path, fi));
}

static int w_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	/* Pending writes are files.c's; the FSYNC request itself may be
	 * sent again. */
	RUN(int, "fsync", impl->fsync(path, datasync, fi), 0);
}

static int w_opendir(const char *path, struct fuse_file_info *fi)
{
	RUN(int, "opendir", impl->opendir(path, fi), 0);
}

static int w_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off, struct fuse_file_info *fi,
		     enum fuse_readdir_flags flags)
{
	/* op_readdir fills nothing until it has the whole listing. */
	RUN(int, "readdir", impl->readdir(path, buf, filler, off, fi, flags), 0);
}

static int w_releasedir(const char *path, struct fuse_file_info *fi)
{
	ONCE(int, impl->releasedir(path, fi));
}

static int w_access(const char *path, int mask)
{
	RUN(int, "access", impl->access(path, mask), 0);
}

static int w_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	RUN(int, "create", impl->create(path, mode, fi), 0);
}

static int w_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	RUN(int, "utimens", impl->utimens(path, tv, fi), 0);
}

static ssize_t w_copy_file_range(const char *path_in, struct fuse_file_info *fi_in, off_t off_in,
				 const char *path_out, struct fuse_file_info *fi_out, off_t off_out, size_t len,
				 int flags)
{
	RUN(ssize_t, "copy_file_range",
	    impl->copy_file_range(path_in, fi_in, off_in, path_out, fi_out, off_out, len, flags), 0);
}

const struct fuse_operations *sftpfs_wrapped_ops(void)
{
	static struct fuse_operations ops;

	impl = &sftpfs_ops;
	ops = sftpfs_ops;
#define SET(op)                        \
	do {                           \
		if (impl->op != NULL)  \
			ops.op = w_##op; \
	} while (0)
	SET(getattr);
	SET(readlink);
	SET(mknod);
	SET(mkdir);
	SET(unlink);
	SET(rmdir);
	SET(symlink);
	SET(rename);
	SET(link);
	SET(chmod);
	SET(chown);
	SET(truncate);
	SET(open);
	SET(read);
	SET(write);
	SET(statfs);
	SET(flush);
	SET(release);
	SET(fsync);
	SET(opendir);
	SET(readdir);
	SET(releasedir);
	SET(access);
	SET(create);
	SET(utimens);
	SET(copy_file_range);
#undef SET
	return &ops;
}
