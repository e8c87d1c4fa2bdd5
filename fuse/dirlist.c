/*
 * dirlist.c - directory listings: reading one with READDIRs in flight, storing
 * it in the cache (cache.h) with every entry's attributes, and listing ahead
 * in the background what a tree walk will ask next.
 *
 * Listing ahead (dir_prefetch): a directory listed for the kernel (from the
 * server or the cache) queues its subdirectories, up to dir_prefetch of them,
 * on a small thread pool that lists each on the server and stores it; `ls
 * -lR`, `find` and `du` then find the next level already cached instead of
 * paying an OPENDIR and a READDIR round trip per directory, one after the
 * other. Only one level ahead of what was really listed: a prefetched
 * listing does not queue its own subdirectories, so a single `ls` never
 * walks a whole tree. A lookup that misses the cache in a directory listed
 * recently (its listing expired meanwhile) queues that directory again, so
 * a long `cat` of many files refreshes 50 names with one listing instead of
 * 50 LSTATs; the lookup itself does not wait for it.
 *
 * The background work never waits for a lost connection (it is skipped) and
 * never delays an operation: opendir of a directory whose listing is in
 * flight waits for it (it is nearer done than a new one), one still queued
 * is taken back and listed by the caller. What it stores goes through the
 * cache's generation check like any other answer, so a local change made
 * meanwhile is never hidden.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "sftpfs.h"

/*
 * READDIRs in flight: each round sends several on the handle at once and
 * takes the replies in order (the server answers requests on one handle in
 * the order received, filexfer-02 §6.1: each READDIR gets the next batch, or
 * EOF from the end on), so a directory of one batch plus the final EOF costs
 * one round trip instead of two. The first round sends two; each round that
 * came back all batches doubles the next, up to SFTP_READDIR_MAX, so a large
 * directory takes a few round trips; the price is up to SFTP_READDIR_MAX - 1
 * READDIRs answered EOF past the end (cheap for the server, no round trip).
 * All go out from this one thread, in order, and all are answered before the
 * caller may CLOSE the handle (a server reuses handle strings, so nothing may
 * still be on its way on a closed one).
 */
static bool batch_last(int r, const struct sftp_names *n)
{
	return r != 0 || n->count == 0;
}

/* Every remaining batch of an open directory handle. */
int sftpfs_list_batches(struct sftp_client *c, const struct sftp_handle *h, GArray *out)
{
	unsigned n = 2;
	bool done = false;
	int err = 0;

	while (!done) {
		struct sftp_names names[SFTP_READDIR_MAX];
		int res[SFTP_READDIR_MAX];

		if ((err = sftp_readdir_many(c, h, n, names, res)) != 0)
			return err;
		for (unsigned i = 0; i < n; i++) {
			if (!done && !batch_last(res[i], &names[i])) {
				g_array_append_val(out, names[i]);
				continue;
			}
			if (!done && res[i] != 0)
				err = res[i];
			done = true;
			sftp_names_clear(&names[i]);
		}
		if (n < SFTP_READDIR_MAX)
			n *= 2;
	}
	return err;
}

void sftpfs_list_clear(GArray *out)
{
	for (guint i = 0; i < out->len; i++)
		sftp_names_clear(&g_array_index(out, struct sftp_names, i));
	g_array_set_size(out, 0);
}

int sftpfs_list_path(struct sftpfs *fs, struct sftp_client *c, const char *path, GArray *out)
{
	g_autofree char *remote = sftpfs_rpath(fs, path);
	struct sftp_handle h;
	int r, cr;

	if ((r = sftp_opendir(c, remote, &h)) != 0)
		return r;
	r = sftpfs_list_batches(c, &h, out);
	if ((cr = sftp_close(c, &h)) != 0)
		log_debug(LOG_CAT_FUSE, "closing directory %s: %s", path, err_str(cr));
	return r;
}


void sftpfs_list_store(struct sftpfs *fs, const char *dpath, const GArray *batches, uint64_t gen)
{
	struct sftpfs_cache_dir *listing;

	if (fs->cache == NULL)
		return;
	listing = sftpfs_cache_dir_new();
	for (guint b = 0; b < batches->len; b++) {
		const struct sftp_names *n = &g_array_index(batches, struct sftp_names, b);

		for (size_t i = 0; i < n->count; i++) {
			const struct sftp_name *e = &n->v[i];
			struct stat st;

			sftpfs_cache_dir_add(listing, e->name);
			if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0)
				continue;
			sftpfs_attrs_to_stat(fs, &e->attrs, &st); /* st_mode 0 if unknown */
			/* With follow_symlinks a link's lstat attributes would be wrong. */
			if (st.st_mode != 0 && !(fs->opts->follow_symlinks && S_ISLNK(st.st_mode))) {
				g_autofree char *child = sftpfs_cache_child_path(dpath, e->name);

				sftpfs_cache_put_attr(fs->cache, child, &st, gen);
			}
		}
	}
	sftpfs_cache_put_dir(fs->cache, dpath, listing, gen);
}

/* ---- listing ahead ---- */

/* Listings in flight at once. */
#define PREFETCH_THREADS 16
/* Directories waiting or in flight; more are dropped (plain misses later). */
#define PREFETCH_PENDING_MAX 512
/* Directories remembered as listed for the lookup-miss refresh; the record
 * starts over when full. */
#define PREFETCH_LISTED_MAX 4096
/* How long a listing counts as recent for that refresh. */
#define PREFETCH_LISTED_US (300 * G_USEC_PER_SEC)

/* Values in jobs; 0 is "no job" (an absent key). */
enum job_state { JOB_QUEUED = 1, JOB_RUNNING, JOB_TAKEN };

struct sftpfs_prefetch {
	struct sftpfs *fs;
	GThreadPool *pool;
	GMutex lock;
	GCond done;         /* a running job finished */
	/* Protected by lock. */
	GHashTable *jobs;   /* path -> enum job_state (GINT_TO_POINTER) */
	GHashTable *listed; /* path -> monotonic us of its last listing (gint64 *) */
	bool stopping;
};

static void job_run(gpointer data, gpointer user)
{
	struct sftpfs_prefetch *p = user;
	struct sftpfs *fs = p->fs;
	g_autofree char *path = data;
	struct sftpfs_link *l = NULL;
	GArray *batches;
	uint64_t gen;
	bool run;
	int r;

	g_mutex_lock(&p->lock);
	run = !p->stopping && GPOINTER_TO_INT(g_hash_table_lookup(p->jobs, path)) == JOB_QUEUED;
	if (run)
		g_hash_table_insert(p->jobs, g_strdup(path), GINT_TO_POINTER(JOB_RUNNING));
	else
		g_hash_table_remove(p->jobs, path); /* taken back by opendir */
	g_mutex_unlock(&p->lock);
	if (!run)
		return;

	/* A deadline of now: a lost connection is not waited for. */
	if (!sftpfs_cache_has_dir(fs->cache, path) &&
	    sftpfs_slot_link(fs, sftpfs_pick_slot(fs), g_get_monotonic_time(), &l) == 0) {
		batches = g_array_new(FALSE, TRUE, sizeof(struct sftp_names));
		gen = sftpfs_cache_generation(fs->cache);
		r = sftpfs_list_path(fs, l->client, path, batches);
		if (r == 0)
			sftpfs_list_store(fs, path, batches, gen);
		else
			log_debug(LOG_CAT_FUSE, "listing %s ahead: %s", path, err_str(r));
		sftpfs_list_clear(batches);
		g_array_unref(batches);
		sftpfs_link_unref(l);
	}

	g_mutex_lock(&p->lock);
	g_hash_table_remove(p->jobs, path);
	g_cond_broadcast(&p->done);
	g_mutex_unlock(&p->lock);
}

void sftpfs_prefetch_init(struct sftpfs *fs)
{
	struct sftpfs_prefetch *p;

	if (fs->cache == NULL || fs->opts->dir_prefetch == 0)
		return;
	p = g_malloc0(sizeof(*p));
	p->fs = fs;
	g_mutex_init(&p->lock);
	g_cond_init(&p->done);
	p->jobs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	p->listed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	p->pool = g_thread_pool_new(job_run, p, PREFETCH_THREADS, FALSE, NULL);
	if (p->pool == NULL) {
		g_hash_table_unref(p->listed);
		g_hash_table_unref(p->jobs);
		g_cond_clear(&p->done);
		g_mutex_clear(&p->lock);
		g_free(p);
		return;
	}
	fs->prefetch = p;
}

void sftpfs_prefetch_stop(struct sftpfs *fs)
{
	struct sftpfs_prefetch *p = fs->prefetch;

	if (p == NULL)
		return;
	g_mutex_lock(&p->lock);
	p->stopping = true;
	g_mutex_unlock(&p->lock);
	/* Queued jobs are dropped; running ones end with their requests. */
	g_thread_pool_free(p->pool, TRUE, TRUE);
	g_hash_table_unref(p->listed);
	g_hash_table_unref(p->jobs);
	g_cond_clear(&p->done);
	g_mutex_clear(&p->lock);
	g_free(p);
	fs->prefetch = NULL;
}

/* Queues path unless it is queued, in flight, or too much is (lock held). */
static void queue_locked(struct sftpfs_prefetch *p, const char *path)
{
	if (p->stopping || g_hash_table_contains(p->jobs, path) ||
	    g_hash_table_size(p->jobs) >= PREFETCH_PENDING_MAX)
		return;
	g_hash_table_insert(p->jobs, g_strdup(path), GINT_TO_POINTER(JOB_QUEUED));
	if (!g_thread_pool_push(p->pool, g_strdup(path), NULL))
		g_hash_table_remove(p->jobs, path);
}

void sftpfs_prefetch_listed(struct sftpfs *fs, const char *dpath, const GPtrArray *subdirs)
{
	struct sftpfs_prefetch *p = fs->prefetch;
	gint64 *when;
	guint n = 0;

	if (p == NULL)
		return;
	when = g_malloc(sizeof(*when));
	*when = g_get_monotonic_time();
	g_mutex_lock(&p->lock);
	if (g_hash_table_size(p->listed) >= PREFETCH_LISTED_MAX)
		g_hash_table_remove_all(p->listed);
	g_hash_table_insert(p->listed, g_strdup(dpath), when);
	g_mutex_unlock(&p->lock);
	for (guint i = 0; subdirs != NULL && i < subdirs->len && n < fs->opts->dir_prefetch; i++) {
		const char *child = g_ptr_array_index(subdirs, i);

		if (sftpfs_cache_has_dir(fs->cache, child))
			continue;
		g_mutex_lock(&p->lock);
		queue_locked(p, child);
		g_mutex_unlock(&p->lock);
		n++;
	}
}

bool sftpfs_prefetch_missed(struct sftpfs *fs, const char *path)
{
	struct sftpfs_prefetch *p = fs->prefetch;
	g_autofree char *parent = NULL;
	const gint64 *when;
	bool waited = false;

	if (p == NULL || path == NULL || strcmp(path, "/") == 0)
		return false;
	parent = g_path_get_dirname(path);
	if (sftpfs_cache_has_dir(fs->cache, parent))
		return false; /* fresh, and it could not answer */
	g_mutex_lock(&p->lock);
	while (GPOINTER_TO_INT(g_hash_table_lookup(p->jobs, parent)) == JOB_RUNNING) {
		/* Its listing is on the way: nearer than an LSTAT of our own. */
		g_cond_wait(&p->done, &p->lock);
		waited = true;
	}
	when = g_hash_table_lookup(p->listed, parent);
	if (!waited && when != NULL && g_get_monotonic_time() - *when < PREFETCH_LISTED_US)
		queue_locked(p, parent);
	g_mutex_unlock(&p->lock);
	return waited;
}

bool sftpfs_prefetch_take(struct sftpfs *fs, const char *dpath)
{
	struct sftpfs_prefetch *p = fs->prefetch;
	bool waited = false;
	int state;

	if (p == NULL)
		return false;
	g_mutex_lock(&p->lock);
	while ((state = GPOINTER_TO_INT(g_hash_table_lookup(p->jobs, dpath))) == JOB_RUNNING) {
		g_cond_wait(&p->done, &p->lock);
		waited = true;
	}
	if (state == JOB_QUEUED) /* not started: the caller lists it now */
		g_hash_table_insert(p->jobs, g_strdup(dpath), GINT_TO_POINTER(JOB_TAKEN));
	g_mutex_unlock(&p->lock);
	return waited;
}
