/*
 * fileahead.c - small files read ahead. A program that reads the files of a
 * directory one after another (cat of a tree, grep -r, a compiler reading
 * headers) pays two round trips per file: OPEN, then READ. Once it has
 * opened two files of one directory for reading within two seconds, with no
 * change made through the mount in between, the next file_prefetch
 * small regular files of that directory (in byte order of their names after
 * the one just opened, wrapping around; sizes from the cached listing) are
 * fetched whole in the background, 16 at once, and each later open there
 * tops the window up; a file opened during the sequence is not fetched
 * again. Their opens then answer with no request and their reads come from
 * memory. A single open never reads anything ahead.
 *
 * A fetch is OPEN with a trailing LSTAT (sftp_trail_lstat), then READ and
 * CLOSE sent together: two round trips. The bytes are kept only if they are
 * the whole file: exactly the LSTAT's size, and fewer than asked for.
 *
 * An open takes a fetched file (each fetch serves one open) only while
 *  - no local change happened since the fetch began (the cache generation;
 *    every change through the mount moves it),
 *  - the fetch is younger than the attribute timeout (dcache_stat_timeout),
 *  - the cache's fresh attributes of the file show the fetched size and the
 *    LSTAT's mtime (a change on the server seen by a lookup since wins),
 *  - nobody has the file open for writing through the mount.
 * So what an open reads is never older than the attributes the mount shows
 * for the file anyway. A fetch still in flight is waited for (it is nearer
 * done than a new OPEN); one still queued is taken back. The open file then
 * reads from the bytes and answers fstat with the attributes checked, as a
 * handle keeps its file across renames and unlinks, until a write, truncate
 * or copy into its path through the mount voids them
 * (sftpfs_files_void_contents); whatever needs a handle opens one then.
 *
 * The background work never waits for a lost connection (a fetch is then
 * skipped) and keeps at most FA_BYTES_MAX bytes and FA_ENTRIES_MAX files.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "sftpfs.h"

/* Fetches in flight at once. */
#define FA_THREADS 16
/* Larger files are read as usual. */
#define FA_FILE_MAX (64 * 1024)
/* Fetched bytes kept at once, and files queued, in flight or kept. */
#define FA_BYTES_MAX (8u * 1024 * 1024)
#define FA_ENTRIES_MAX 512u
/* Two opens in one directory within this time make a sequence. */
#define FA_SEQUENCE_US (2 * G_USEC_PER_SEC)
/* Directories whose last open is remembered; the record starts over when full. */
#define FA_DIRS_MAX 64u

enum fa_state { FA_QUEUED = 1, FA_RUNNING, FA_READY, FA_TAKEN };

struct fa_entry {
	enum fa_state state;
	uint64_t gen;          /* cache generation when the fetch began */
	GBytes *data;          /* FA_READY */
	struct timespec mtime; /* FA_READY: the LSTAT's */
	gint64 fetched;        /* FA_READY: monotonic us */
};

/* The reading sequence in one directory. */
struct fa_dir {
	char *last;        /* name opened last */
	gint64 when;
	uint64_t when_gen; /* the cache generation then */
	GPtrArray *order;  /* small regular files of the listing, sorted (char *) */
	uint64_t order_gen;
	GHashTable *opened; /* names opened in this sequence: not fetched again */
};

struct sftpfs_fileahead {
	struct sftpfs *fs;
	GThreadPool *pool;
	gint64 timeout_us; /* dcache_stat_timeout */
	unsigned window;   /* file_prefetch */
	GMutex lock;
	GCond done;        /* a fetch finished */
	/* Protected by lock. */
	GHashTable *entries; /* path -> struct fa_entry * */
	GHashTable *dirs;    /* directory path -> struct fa_dir * */
	size_t bytes;        /* in FA_READY entries */
	bool stopping;
};

static void entry_free(void *p)
{
	struct fa_entry *e = p;

	if (e->data != NULL)
		g_bytes_unref(e->data);
	g_free(e);
}

static void dir_free(void *p)
{
	struct fa_dir *d = p;

	g_free(d->last);
	if (d->order != NULL)
		g_ptr_array_unref(d->order);
	g_hash_table_unref(d->opened);
	g_free(d);
}

/* Removes path's entry (lock held). */
static void drop_locked(struct sftpfs_fileahead *p, const char *path)
{
	struct fa_entry *e = g_hash_table_lookup(p->entries, path);

	if (e != NULL && e->data != NULL)
		p->bytes -= g_bytes_get_size(e->data);
	g_hash_table_remove(p->entries, path);
}

/* ---- one fetch ---- */

struct fa_read {
	GMutex lock;
	GCond cond;
	bool done;
	int err;
	uint8_t *data;
	size_t len;
};

static void read_done(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct fa_read *rd = ctx;

	g_mutex_lock(&rd->lock);
	rd->err = err == ERR_EOF ? 0 : err;
	if (err == 0) {
		rd->data = g_memdup2(data, len);
		rd->len = len;
	}
	rd->done = true;
	g_cond_signal(&rd->cond);
	g_mutex_unlock(&rd->lock);
}

/* READ of up to want bytes and CLOSE, sent together; the bytes, or NULL. */
static GBytes *read_and_close(struct sftp_client *c, const struct sftp_handle *h, size_t want)
{
	struct fa_read rd = { 0 };
	GBytes *out = NULL;
	int r, cr;

	g_mutex_init(&rd.lock);
	g_cond_init(&rd.cond);
	r = sftp_read_async(c, h, 0, want, 0, read_done, &rd);
	if ((cr = sftp_close(c, h)) != 0)
		log_debug(LOG_CAT_FUSE, "closing a file read ahead: %s", err_str(cr));
	if (r == 0) {
		g_mutex_lock(&rd.lock);
		while (!rd.done)
			g_cond_wait(&rd.cond, &rd.lock);
		g_mutex_unlock(&rd.lock);
		if (rd.err == 0)
			out = g_bytes_new_take(rd.data, rd.len);
		else
			g_free(rd.data);
	}
	g_cond_clear(&rd.cond);
	g_mutex_clear(&rd.lock);
	return out;
}

/* The whole contents of path and its mtime, or NULL. */
static GBytes *fetch(struct sftpfs *fs, const char *path, struct timespec *mtime)
{
	g_autofree char *remote = sftpfs_rpath(fs, path);
	struct sftpfs_link *l = NULL;
	struct sftp_attrs a = { 0 };
	struct sftp_handle h;
	struct sftp_limits lim;
	struct stat st = { 0 };
	GBytes *data = NULL;
	size_t want = FA_FILE_MAX + 1;
	int r, tr;

	/* A deadline of now: a lost connection is not waited for. */
	if (sftpfs_slot_link(fs, sftpfs_pick_slot(fs), g_get_monotonic_time(), &l) != 0)
		return NULL;
	sftp_trail_lstat(remote, SFTP_TRAIL_OPEN);
	r = sftp_open(l->client, remote, SFTP_FXF_READ, NULL, &h);
	tr = sftp_trail_take(&a, NULL);
	if (tr == 0 && (a.flags & SFTP_ATTR_PERMISSIONS))
		sftpfs_attrs_to_stat(fs, &a, &st);
	sftp_attrs_clear(&a);
	if (r == 0) {
		sftp_client_limits(l->client, &lim);
		if (lim.read_length > 0 && lim.read_length < want)
			want = (size_t)lim.read_length;
		data = read_and_close(l->client, &h, want);
	}
	/* Whole: all the LSTAT counted, and the READ came back short. */
	if (data != NULL && !(S_ISREG(st.st_mode) && (uint64_t)st.st_size == g_bytes_get_size(data) &&
			      g_bytes_get_size(data) < want)) {
		g_bytes_unref(data);
		data = NULL;
	}
	if (data != NULL)
		*mtime = st.st_mtim;
	else
		log_debug(LOG_CAT_FUSE, "%s: not read ahead (%s)", path, r != 0 ? err_str(r) : "changed or too large");
	sftpfs_link_unref(l);
	return data;
}

static void job_run(gpointer data, gpointer user)
{
	struct sftpfs_fileahead *p = user;
	g_autofree char *path = data;
	struct fa_entry *e;
	struct timespec mtime = { 0 };
	GBytes *got = NULL;
	uint64_t gen = sftpfs_cache_generation(p->fs->cache);
	bool run;

	g_mutex_lock(&p->lock);
	e = g_hash_table_lookup(p->entries, path);
	run = !p->stopping && e != NULL && e->state == FA_QUEUED;
	if (run) {
		e->state = FA_RUNNING;
		e->gen = gen;
	} else if (e != NULL && e->state == FA_TAKEN) {
		drop_locked(p, path);
	}
	g_mutex_unlock(&p->lock);
	if (!run)
		return;

	got = fetch(p->fs, path, &mtime);

	g_mutex_lock(&p->lock);
	e = g_hash_table_lookup(p->entries, path);
	if (got != NULL && e != NULL && !p->stopping) {
		e->state = FA_READY;
		e->data = got;
		e->mtime = mtime;
		e->fetched = g_get_monotonic_time();
		p->bytes += g_bytes_get_size(got);
		got = NULL;
	} else {
		drop_locked(p, path);
	}
	g_cond_broadcast(&p->done);
	g_mutex_unlock(&p->lock);
	if (got != NULL)
		g_bytes_unref(got);
}

/* ---- start and stop ---- */

void sftpfs_fileahead_init(struct sftpfs *fs)
{
	struct sftpfs_fileahead *p;
	struct sftpfs_cache_config cfg;

	if (fs->cache == NULL || fs->opts->file_prefetch == 0 || fs->opts->direct_io)
		return;
	sftpfs_cache_config_from_opts(fs->opts, &cfg);
	p = g_malloc0(sizeof(*p));
	/* Threads start on the first push, after the fields are set. */
	if ((p->pool = g_thread_pool_new(job_run, p, FA_THREADS, FALSE, NULL)) == NULL) {
		g_free(p);
		return;
	}
	p->fs = fs;
	p->timeout_us = cfg.stat_timeout_us;
	p->window = fs->opts->file_prefetch;
	g_mutex_init(&p->lock);
	g_cond_init(&p->done);
	p->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
	p->dirs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, dir_free);
	fs->fileahead = p;
}

void sftpfs_fileahead_stop(struct sftpfs *fs)
{
	struct sftpfs_fileahead *p = fs->fileahead;

	if (p == NULL)
		return;
	g_mutex_lock(&p->lock);
	p->stopping = true;
	g_mutex_unlock(&p->lock);
	/* Queued fetches are dropped; running ones end with their requests. */
	g_thread_pool_free(p->pool, TRUE, TRUE);
	g_hash_table_unref(p->dirs);
	g_hash_table_unref(p->entries);
	g_cond_clear(&p->done);
	g_mutex_clear(&p->lock);
	g_free(p);
	fs->fileahead = NULL;
}

/* ---- at open ---- */

/* Still the file's contents, by the checks at the top of this file. */
static bool still_right(struct sftpfs_fileahead *p, const char *path, const struct fa_entry *e, struct stat *st)
{
	struct sftpfs *fs = p->fs;
	int err = 0;

	return e->gen == sftpfs_cache_generation(fs->cache) && g_get_monotonic_time() - e->fetched < p->timeout_us &&
	       sftpfs_cache_get_attr(fs->cache, path, st, &err) && err == 0 && S_ISREG(st->st_mode) &&
	       (uint64_t)st->st_size == g_bytes_get_size(e->data) && st->st_mtim.tv_sec == e->mtime.tv_sec &&
	       st->st_mtim.tv_nsec == e->mtime.tv_nsec && !sftpfs_open_for_writing(fs, path);
}

GBytes *sftpfs_fileahead_take(struct sftpfs *fs, const char *path, struct stat *st)
{
	struct sftpfs_fileahead *p = fs->fileahead;
	struct fa_entry *e;
	GBytes *out = NULL;

	if (p == NULL)
		return NULL;
	g_mutex_lock(&p->lock);
	while ((e = g_hash_table_lookup(p->entries, path)) != NULL && e->state == FA_RUNNING)
		g_cond_wait(&p->done, &p->lock);
	if (e != NULL && e->state == FA_QUEUED) {
		e->state = FA_TAKEN; /* not started: the caller opens it now */
	} else if (e != NULL && e->state == FA_READY) {
		if (still_right(p, path, e, st))
			out = g_bytes_ref(e->data);
		drop_locked(p, path);
	}
	g_mutex_unlock(&p->lock);
	return out;
}

/* Fetched files past their timeout go (lock held). */
static void sweep_locked(struct sftpfs_fileahead *p, gint64 now)
{
	GHashTableIter it;
	gpointer key, value;

	g_hash_table_iter_init(&it, p->entries);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		struct fa_entry *e = value;

		if (e->state == FA_READY && now - e->fetched >= p->timeout_us) {
			p->bytes -= g_bytes_get_size(e->data);
			g_hash_table_iter_remove(&it);
		}
	}
}

static int name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The small regular files of dir's cached listing, sorted; NULL if none cached. */
static GPtrArray *small_files(struct sftpfs *fs, const char *dir)
{
	GPtrArray *listing = sftpfs_cache_get_dir(fs->cache, dir);
	GPtrArray *out;

	if (listing == NULL)
		return NULL;
	out = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < listing->len; i++) {
		const struct sftpfs_cache_dirent *d = g_ptr_array_index(listing, i);

		if (d->has_attr && S_ISREG(d->st.st_mode) && d->st.st_size <= FA_FILE_MAX)
			g_ptr_array_add(out, g_strdup(d->name));
	}
	g_ptr_array_unref(listing);
	g_ptr_array_sort(out, name_cmp);
	return out;
}

/* Index of the first name after name in order. */
static guint after(const GPtrArray *order, const char *name)
{
	guint lo = 0, hi = order->len;

	while (lo < hi) {
		guint mid = lo + (hi - lo) / 2;

		if (strcmp(g_ptr_array_index(order, mid), name) <= 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Queues the window after name in d's order (lock held). */
static void queue_after_locked(struct sftpfs_fileahead *p, const char *dir, struct fa_dir *d, const char *name)
{
	guint n = d->order->len, start = after(d->order, name);

	for (guint k = 0; k < n && k < p->window; k++) {
		const char *child = g_ptr_array_index(d->order, (start + k) % n);
		g_autofree char *path = NULL;
		struct fa_entry *e;

		if (g_hash_table_contains(d->opened, child))
			continue;
		path = sftpfs_cache_child_path(dir, child);
		if (g_hash_table_contains(p->entries, path))
			continue;
		if (g_hash_table_size(p->entries) >= FA_ENTRIES_MAX || p->bytes >= FA_BYTES_MAX)
			return;
		e = g_malloc0(sizeof(*e));
		e->state = FA_QUEUED;
		g_hash_table_insert(p->entries, g_strdup(path), e);
		if (!g_thread_pool_push(p->pool, g_strdup(path), NULL))
			g_hash_table_remove(p->entries, path);
	}
}

void sftpfs_fileahead_opened(struct sftpfs *fs, const char *path)
{
	struct sftpfs_fileahead *p = fs->fileahead;
	g_autofree char *dir = NULL;
	g_autofree char *name = NULL;
	GPtrArray *order = NULL;
	struct fa_dir *d;
	gint64 now = g_get_monotonic_time();
	uint64_t gen;
	bool sequence;

	if (p == NULL || path == NULL || strcmp(path, "/") == 0)
		return;
	dir = g_path_get_dirname(path);
	name = g_path_get_basename(path);
	gen = sftpfs_cache_generation(fs->cache);
	g_mutex_lock(&p->lock);
	d = g_hash_table_lookup(p->dirs, dir);
	/* A local change in between (git rewriting its config between two
	 * reads of it) would void whatever was fetched: no sequence. */
	sequence = d != NULL && strcmp(d->last, name) != 0 && now - d->when < FA_SEQUENCE_US && d->when_gen == gen;
	if (d == NULL) {
		if (g_hash_table_size(p->dirs) >= FA_DIRS_MAX)
			g_hash_table_remove_all(p->dirs);
		d = g_malloc0(sizeof(*d));
		d->opened = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		g_hash_table_insert(p->dirs, g_strdup(dir), d);
	}
	if (!sequence)
		g_hash_table_remove_all(d->opened);
	g_hash_table_add(d->opened, g_strdup(name));
	g_free(d->last);
	d->last = g_strdup(name);
	d->when = now;
	d->when_gen = gen;
	if (!sequence || (d->order != NULL && d->order_gen == gen)) {
		if (sequence)
			queue_after_locked(p, dir, d, name);
		sweep_locked(p, now);
		g_mutex_unlock(&p->lock);
		return;
	}
	g_mutex_unlock(&p->lock);

	/* The order, from the listing (outside the lock: it copies it). */
	if ((order = small_files(fs, dir)) == NULL)
		return;
	g_mutex_lock(&p->lock);
	sweep_locked(p, now);
	if ((d = g_hash_table_lookup(p->dirs, dir)) != NULL) {
		if (d->order != NULL)
			g_ptr_array_unref(d->order);
		d->order = order;
		d->order_gen = gen;
		order = NULL;
		queue_after_locked(p, dir, d, name);
	}
	g_mutex_unlock(&p->lock);
	if (order != NULL)
		g_ptr_array_unref(order);
}
