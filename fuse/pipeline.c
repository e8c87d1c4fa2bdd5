/*
 * pipeline.c - lookups pipelined behind changes. After mkdir, create and a
 * setattr by path (chmod, chown, truncate, utimens), the kernel always asks
 * for the new attributes (libfuse's high-level create and mkdir look the
 * entry up; setattr replies with the attributes). Asked separately that is a
 * second round trip per change. Here the change is followed at once, on the
 * same connection, by an LSTAT of its path (sftp_trail_lstat in src/sftp.h);
 * the server answers in order, so the reply is the state right after the
 * change and both cost one round trip. Untar and git clone do this once or
 * twice per file.
 *
 * Where the attributes go, so results never change:
 *  - mkdir, setattr: into the attribute cache (cache.h), only if the change
 *    itself was the one local change since the request went out (the cache
 *    generation moved by exactly one) and the path is not open for writing
 *    here (pending writes would be missing from them);
 *  - create: the new file is open for writing, so getattr would not use the
 *    cache; the attributes are kept for the calling thread and answer only
 *    the getattr libfuse makes for that same open file right after create,
 *    and only while no write was queued on it.
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

/* How long after create its attributes may answer the lookup. */
#define CREATED_FRESH_US (1000 * 1000)

static bool wanted(const struct sftpfs *fs)
{
	return fs->cache != NULL && !fs->opts->follow_symlinks;
}

void sftpfs_trail_arm(struct sftpfs *fs, const char *path, unsigned kinds)
{
	g_autofree char *remote = NULL;

	if (!wanted(fs) || path == NULL)
		return;
	remote = sftpfs_rpath(fs, path);
	sftp_trail_lstat(remote, kinds);
}

/* The trailing LSTAT's attributes as the mount shows them; false if none. */
static bool take(struct sftpfs *fs, struct stat *st)
{
	struct sftp_attrs a = { 0 };
	bool ok;

	if (!wanted(fs))
		return false;
	ok = sftp_trail_take(&a) == 0 && (a.flags & SFTP_ATTR_PERMISSIONS) != 0;
	if (ok)
		sftpfs_attrs_to_stat(fs, &a, st);
	sftp_attrs_clear(&a);
	return ok;
}

void sftpfs_trail_store(struct sftpfs *fs, const char *path, int r, uint64_t gen)
{
	struct stat st;

	if (!take(fs, &st) || r != 0 || path == NULL)
		return;
	/* gen was taken before the request; the change's own invalidation
	 * moved it by one. More means another change we cannot order. */
	if (sftpfs_cache_generation(fs->cache) != gen + 1 || sftpfs_open_for_writing(fs, path))
		return;
	sftpfs_cache_put_attr(fs->cache, path, &st, gen + 1);
}

void sftpfs_trail_created(struct sftpfs *fs, const struct sftpfs_file *f, int r)
{
	struct stat st;

	memset(&tls_created, 0, sizeof(tls_created));
	if (!take(fs, &st) || r != 0 || f == NULL)
		return;
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
