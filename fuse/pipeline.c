/*
 * pipeline.c - lookups pipelined behind changes. After mkdir, create and a
 * setattr by path (chmod, chown, truncate, utimens), the kernel always asks
 * for the new attributes (libfuse's high-level create and mkdir look the
 * entry up; setattr replies with the attributes). Asked separately that is a
 * second round trip per change. Here the change is followed at once, on the
 * same connection, by an LSTAT of its path (sftp_trail_lstat in src/sftp.h);
 * a rename by one of the new name, a read-only open (git opens, fstats and
 * reads its config after each rename) by one of the file;
 * the server answers in order, so the reply is the state right after the
 * change and both cost one round trip. Untar and git clone do this once or
 * twice per file.
 *
 * Where the attributes go, so results never change:
 *  - mkdir, setattr, rename, read-only open: into the attribute cache
 *    (cache.h), only if the change itself was the one local change since
 *    the request went out (the cache generation moved by exactly one; by
 *    none for an open) and the path is not open for writing here (pending
 *    writes would be missing from them);
 *  - setattr of a path open for writing here (tar's futimens before close):
 *    getattr drains the pending writes and asks the server. The trailing
 *    LSTAT gives the same answer when every write of the path had gone out
 *    on the same connection before the SETSTAT (so the server applied them
 *    first) and, when getattr comes, all are acknowledged without error and
 *    none was added or resent since (sftpfs_files_sent/_settled in
 *    files.c); the attributes are kept for the calling thread and answer
 *    only libfuse's getattr right after that setattr;
 *  - create: the new file is open for writing, so getattr would not use the
 *    cache; the attributes are kept for the calling thread and answer only
 *    the getattr libfuse makes for that same open file right after create,
 *    and only while no write was queued on it.
 *  - the directories a change adds or removes an entry in (create, mkdir,
 *    symlink, link, rename: both; unlink and rmdir arm their directory as
 *    the path itself): their mtime, size and link count move with it, so
 *    the cache dropped their attributes, and the kernel revalidates a
 *    directory's entry every second and git lstat's each directory it
 *    writes into. Their LSTATs follow the change's (sftp_trail_also) and
 *    go into the cache under the same generation rule as the path's.
 * With dir_cache=no or follow_symlinks (getattr then uses STAT, not LSTAT)
 * nothing is pipelined.
 */
#include "config.h"

#include <string.h>

#include "sftpfs.h"

/* The attributes of the file this thread just created, for libfuse's lookup
 * of it (same thread, right after op_create returns). */
struct created {
	const struct sftpfs_file *f;
	gint64 when; /* monotonic us */
	struct stat st;
};
static __thread struct created tls_created;

/* A setattr of a path open for writing: armed with the writes' stamp, then
 * holding the attributes for libfuse's getattr after it. */
struct setattr_pending {
	char *path;
	uint64_t stamp;
	bool have;
	const struct sftp_client *client;
	gint64 when;
	struct stat st;
};
static __thread struct setattr_pending tls_setattr;

static void setattr_reset(void)
{
	g_free(tls_setattr.path);
	memset(&tls_setattr, 0, sizeof(tls_setattr));
}

/* How long after create its attributes may answer the lookup. */
#define CREATED_FRESH_US (1000 * 1000)

static bool wanted(const struct sftpfs *fs)
{
	return fs->cache != NULL && !fs->opts->follow_symlinks;
}

void sftpfs_trail_arm(struct sftpfs *fs, const char *path, unsigned kinds)
{
	g_autofree char *remote = NULL;
	uint64_t stamp = 0;

	setattr_reset();
	if (!wanted(fs) || path == NULL)
		return;
	if (sftpfs_open_for_writing(fs, path)) {
		if (!(kinds & SFTP_TRAIL_SETSTAT) || !sftpfs_files_sent(fs, path, &stamp))
			return;
		tls_setattr.path = g_strdup(path);
		tls_setattr.stamp = stamp;
	}
	remote = sftpfs_rpath(fs, path);
	sftp_trail_lstat(remote, kinds);
}

/* The trailing LSTAT's attributes as the mount shows them (and as the
 * server sent them, into raw if not NULL: the caller clears it); false if
 * none. */
static bool take_raw(struct sftpfs *fs, struct stat *st, const struct sftp_client **client, struct sftp_attrs *raw)
{
	struct sftp_attrs a = { 0 };
	bool ok;

	if (!wanted(fs))
		return false;
	ok = sftp_trail_take(&a, client) == 0 && (a.flags & SFTP_ATTR_PERMISSIONS) != 0;
	if (ok)
		sftpfs_attrs_to_stat(fs, &a, st);
	if (ok && raw != NULL)
		*raw = a;
	else
		sftp_attrs_clear(&a);
	return ok;
}

static bool take(struct sftpfs *fs, struct stat *st, const struct sftp_client **client)
{
	return take_raw(fs, st, client, NULL);
}

void sftpfs_trail_store(struct sftpfs *fs, const char *path, int r, uint64_t gen, unsigned changes)
{
	const struct sftp_client *client = NULL;
	struct stat st;

	if (!take(fs, &st, &client) || r != 0 || path == NULL) {
		setattr_reset();
		return;
	}
	if (tls_setattr.path != NULL) {
		/* open for writing: for the getattr right after, if still exact */
		if (strcmp(tls_setattr.path, path) != 0) {
			setattr_reset();
			return;
		}
		tls_setattr.have = true;
		tls_setattr.client = client;
		tls_setattr.when = g_get_monotonic_time();
		tls_setattr.st = st;
		return;
	}
	/* gen was taken before the request; the change's own invalidation
	 * moved it by changes. More means another change we cannot order. */
	if (sftpfs_cache_generation(fs->cache) != gen + changes || sftpfs_open_for_writing(fs, path))
		return;
	sftpfs_cache_put_attr(fs->cache, path, &st, gen + changes);
}

void sftpfs_trail_created(struct sftpfs *fs, struct sftpfs_file *f, int r)
{
	struct sftp_attrs raw = { 0 };
	struct stat st;

	memset(&tls_created, 0, sizeof(tls_created));
	if (!take_raw(fs, &st, NULL, &raw) || r != 0 || f == NULL) {
		sftp_attrs_clear(&raw);
		return;
	}
	g_mutex_lock(&f->lock);
	f->atime_known = true;
	f->atime = st.st_atime;
	g_mutex_unlock(&f->lock);
	sftpfs_file_known_init(f, &raw);
	sftp_attrs_clear(&raw);
	tls_created.f = f;
	tls_created.when = g_get_monotonic_time();
	tls_created.st = st;
}

bool sftpfs_trail_created_getattr(struct sftpfs_file *f, struct stat *st)
{
	bool hit = tls_created.f != NULL && tls_created.f == f &&
		   g_get_monotonic_time() - tls_created.when < CREATED_FRESH_US;

	if (hit) {
		g_mutex_lock(&f->lock);
		hit = f->next_seq == 0 && f->write_err == 0; /* nothing written yet */
		g_mutex_unlock(&f->lock);
	}
	if (hit)
		*st = tls_created.st;
	memset(&tls_created, 0, sizeof(tls_created));
	return hit;
}

bool sftpfs_trail_setattr_getattr(struct sftpfs *fs, const char *path, struct stat *st)
{
	bool hit = tls_setattr.have && strcmp(tls_setattr.path, path) == 0 &&
		   g_get_monotonic_time() - tls_setattr.when < CREATED_FRESH_US &&
		   sftpfs_files_settled(fs, path, tls_setattr.stamp, tls_setattr.client);

	if (hit)
		*st = tls_setattr.st;
	setattr_reset();
	return hit;
}

/* The directories armed by sftpfs_trail_arm_dirs (mount-relative). */
static __thread char *tls_dirs[SFTP_TRAIL_MAX - 1];

static void dirs_reset(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(tls_dirs); i++)
		g_clear_pointer(&tls_dirs[i], g_free);
}

/* "/a/b" -> "/a", "/a" -> "/"; NULL for "/". */
static char *parent_of(const char *path)
{
	const char *slash = path != NULL ? strrchr(path, '/') : NULL;

	if (slash == NULL || slash[1] == '\0')
		return NULL;
	return slash == path ? g_strdup("/") : g_strndup(path, (size_t)(slash - path));
}

void sftpfs_trail_arm_dirs(struct sftpfs *fs, const char *path, const char *other)
{
	const char *paths[] = { path, other };
	size_t n = 0;

	dirs_reset();
	if (!wanted(fs))
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(paths) && n < G_N_ELEMENTS(tls_dirs); i++) {
		g_autofree char *dir = parent_of(paths[i]);
		g_autofree char *remote = NULL;

		if (dir == NULL || (n > 0 && strcmp(tls_dirs[0], dir) == 0))
			continue;
		remote = sftpfs_rpath(fs, dir);
		sftp_trail_also(remote);
		tls_dirs[n++] = g_steal_pointer(&dir);
	}
}

void sftpfs_trail_store_dirs(struct sftpfs *fs, int r, uint64_t gen, unsigned changes)
{
	for (size_t i = 0; i < G_N_ELEMENTS(tls_dirs) && tls_dirs[i] != NULL; i++) {
		g_autofree char *remote = sftpfs_rpath(fs, tls_dirs[i]);
		struct sftp_attrs a = { 0 };
		struct stat st;

		if (sftp_trail_take_also(remote, &a) == 0 && (a.flags & SFTP_ATTR_PERMISSIONS) != 0 && r == 0 &&
		    sftpfs_cache_generation(fs->cache) == gen + changes) {
			sftpfs_attrs_to_stat(fs, &a, &st);
			sftpfs_cache_put_attr(fs->cache, tls_dirs[i], &st, gen + changes);
		}
		sftp_attrs_clear(&a);
	}
	dirs_reset();
}
