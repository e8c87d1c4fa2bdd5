/*
 * cache.c - the daemon's attribute / listing / symlink cache (see cache.h).
 *
 * One node per mount-relative path in a GHashTable, each node also linked in
 * an LRU queue (head = most recently used). A node holds up to three cached
 * facts, each with its own expiry time on the monotonic clock: attributes (or
 * "no such file"), the directory listing (a set of names), the symlink
 * target; plus the size and mtime seen at the last open, for keep_cache.
 * A node whose facts have all expired is garbage: swept every
 * clean_interval, or sooner (at most every min_clean_interval) when the cache
 * is full; if a sweep leaves the cache full, least recently used nodes go.
 *
 * Locking: c->lock protects everything below it; no function calls out of the
 * module with the lock held (listings are copied out).
 */
#include "config.h"

#include <string.h>

#include "cache.h"
#include "err.h"
#include "sftpfs.h"

#define US_PER_S G_GINT64_CONSTANT(1000000)

struct node {
	char *path;        /* key; owned */
	GList lru;         /* link in cache.lru, data = the node */
	int64_t attr_expiry; /* attributes valid while now < attr_expiry */
	int attr_err;      /* 0, or ERR_NO_SUCH_FILE for a negative entry */
	int64_t attr_time; /* when the attributes were stored */
	struct stat st;
	int64_t dir_expiry;
	GHashTable *names; /* listing: set of names (owned keys); NULL if none */
	int64_t link_expiry;
	char *link;        /* owned; NULL if none */
	bool pages_valid;  /* size/mtime seen at the last open (keep_cache) */
	off_t pages_size;
	struct timespec pages_mtime;
	GBytes *data;      /* a small file's whole contents, while st is theirs */
};

struct sftpfs_cache {
	struct sftpfs_cache_config cfg; /* read-only */
	sftpfs_cache_clock_fn clock;    /* read-only */
	void *clock_ctx;
	GMutex lock;
	/* Protected by lock. */
	GHashTable *nodes; /* path -> struct node (the table owns nodes) */
	GQueue lru;
	uint64_t generation; /* bumped by every local change */
	int64_t last_clean;
	size_t data_bytes;   /* in nodes' data */
};

struct sftpfs_cache_dir {
	GHashTable *names;
};

static int64_t monotonic_clock(void *ctx)
{
	(void)ctx;
	return g_get_monotonic_time();
}

static int64_t seconds_us(uint32_t s, uint32_t dflt)
{
	return (int64_t)(s == OPT_UNSET ? dflt : s) * US_PER_S;
}

void sftpfs_cache_config_from_opts(const struct sftpfs_opts *o, struct sftpfs_cache_config *out)
{
	uint32_t t = o->dcache_timeout == OPT_UNSET ? CACHE_DEFAULT_TIMEOUT_S : o->dcache_timeout;

	memset(out, 0, sizeof(*out));
	out->stat_timeout_us = seconds_us(o->dcache_stat_timeout, t);
	out->dir_timeout_us = seconds_us(o->dcache_dir_timeout, t);
	out->link_timeout_us = seconds_us(o->dcache_link_timeout, t);
	out->max_size = o->dcache_max_size == OPT_UNSET ? CACHE_DEFAULT_MAX_SIZE : o->dcache_max_size;
	if (out->max_size == 0)
		out->max_size = 1;
	out->clean_interval_us = seconds_us(o->dcache_clean_interval, CACHE_DEFAULT_CLEAN_INTERVAL_S);
	out->min_clean_interval_us = seconds_us(o->dcache_min_clean_interval, CACHE_DEFAULT_MIN_CLEAN_INTERVAL_S);
}

static void node_free(void *p)
{
	struct node *n = p;

	if (n->names != NULL)
		g_hash_table_unref(n->names);
	if (n->data != NULL)
		g_bytes_unref(n->data);
	g_free(n->link);
	g_free(n->path);
	g_free(n);
}

struct sftpfs_cache *sftpfs_cache_new(const struct sftpfs_cache_config *cfg, sftpfs_cache_clock_fn clock,
				      void *clock_ctx)
{
	struct sftpfs_cache *c = g_malloc0(sizeof(*c)); /* not g_new0: see sftpfs.h */

	c->cfg = *cfg;
	if (c->cfg.max_size == 0)
		c->cfg.max_size = 1;
	c->clock = clock != NULL ? clock : monotonic_clock;
	c->clock_ctx = clock_ctx;
	g_mutex_init(&c->lock);
	/* Keys are the nodes' own path strings, freed with the node. */
	c->nodes = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, node_free);
	g_queue_init(&c->lru);
	c->last_clean = c->clock(c->clock_ctx);
	return c;
}

void sftpfs_cache_free(struct sftpfs_cache *c)
{
	if (c == NULL)
		return;
	g_hash_table_destroy(c->nodes);
	g_mutex_clear(&c->lock);
	g_free(c);
}

unsigned sftpfs_cache_size(struct sftpfs_cache *c)
{
	unsigned n;

	if (c == NULL)
		return 0;
	g_mutex_lock(&c->lock);
	n = g_hash_table_size(c->nodes);
	g_mutex_unlock(&c->lock);
	return n;
}

uint64_t sftpfs_cache_generation(struct sftpfs_cache *c)
{
	uint64_t g;

	if (c == NULL)
		return 0;
	g_mutex_lock(&c->lock);
	g = c->generation;
	g_mutex_unlock(&c->lock);
	return g;
}

/* ---- nodes (lock held) ---- */

static bool node_fresh(const struct node *n, int64_t now)
{
	return n->attr_expiry > now || n->dir_expiry > now || n->link_expiry > now;
}

static void drop_data(struct sftpfs_cache *c, struct node *n)
{
	if (n->data == NULL)
		return;
	c->data_bytes -= g_bytes_get_size(n->data);
	g_clear_pointer(&n->data, g_bytes_unref);
}

static void node_remove(struct sftpfs_cache *c, struct node *n)
{
	drop_data(c, n);
	g_queue_unlink(&c->lru, &n->lru);
	g_hash_table_remove(c->nodes, n->path); /* frees n */
}

static void sweep(struct sftpfs_cache *c, int64_t now)
{
	GList *l = c->lru.head;

	while (l != NULL) {
		GList *next = l->next;
		struct node *n = l->data;

		if (!node_fresh(n, now))
			node_remove(c, n);
		l = next;
	}
	c->last_clean = now;
}

static void maybe_sweep(struct sftpfs_cache *c, int64_t now)
{
	if (now - c->last_clean >= c->cfg.clean_interval_us)
		sweep(c, now);
}

static struct node *node_peek(struct sftpfs_cache *c, const char *path)
{
	return g_hash_table_lookup(c->nodes, path);
}

static void node_touch(struct sftpfs_cache *c, struct node *n)
{
	g_queue_unlink(&c->lru, &n->lru);
	g_queue_push_head_link(&c->lru, &n->lru);
}

/* The node of path, created (and room made for it) if absent; most recent. */
static struct node *node_get(struct sftpfs_cache *c, const char *path, int64_t now)
{
	struct node *n = node_peek(c, path);

	if (n != NULL) {
		node_touch(c, n);
		return n;
	}
	if (g_hash_table_size(c->nodes) >= c->cfg.max_size) {
		/* Full: drop what has expired if we may sweep again, then
		 * the least recently used entries. */
		if (now - c->last_clean >= c->cfg.min_clean_interval_us)
			sweep(c, now);
		while (g_hash_table_size(c->nodes) >= c->cfg.max_size && c->lru.tail != NULL)
			node_remove(c, c->lru.tail->data);
	}
	n = g_malloc0(sizeof(*n));
	n->path = g_strdup(path);
	n->lru.data = n;
	g_hash_table_insert(c->nodes, n->path, n);
	g_queue_push_head_link(&c->lru, &n->lru);
	return n;
}

/* Drops n if nothing in it is fresh any more. */
static void node_prune(struct sftpfs_cache *c, struct node *n, int64_t now)
{
	if (!node_fresh(n, now))
		node_remove(c, n);
}

/* "/a/b" -> parent "/a", name "b"; "/a" -> "/", "a". False for "/". */
static bool split_path(const char *path, char **parent, const char **name)
{
	const char *slash = strrchr(path, '/');

	*parent = NULL;
	*name = NULL;
	if (slash == NULL || slash[1] == '\0')
		return false;
	*parent = slash == path ? g_strdup("/") : g_strndup(path, (size_t)(slash - path));
	*name = slash + 1;
	return true;
}

char *sftpfs_cache_child_path(const char *dir, const char *name)
{
	return strcmp(dir, "/") == 0 ? g_strconcat("/", name, NULL) : g_strconcat(dir, "/", name, NULL);
}

/* Removes every node strictly under path. */
static void drop_subtree(struct sftpfs_cache *c, const char *path)
{
	g_autofree char *prefix = strcmp(path, "/") == 0 ? g_strdup("/") : g_strconcat(path, "/", NULL);
	size_t plen = strlen(prefix);
	GList *l = c->lru.head;

	while (l != NULL) {
		GList *next = l->next;
		struct node *n = l->data;

		if (strncmp(n->path, prefix, plen) == 0 && n->path[plen] != '\0')
			node_remove(c, n);
		l = next;
	}
}

static void drop_node(struct sftpfs_cache *c, const char *path)
{
	struct node *n = node_peek(c, path);

	if (n != NULL)
		node_remove(c, n);
}

/* Takes the lock and returns the time, sweeping when it is due. */
static int64_t lock_now(struct sftpfs_cache *c)
{
	int64_t now;

	g_mutex_lock(&c->lock);
	now = c->clock(c->clock_ctx);
	maybe_sweep(c, now);
	return now;
}

/* Locks c; returns the node to store an answer about path in, or NULL (lock
 * still held) when a local change happened since gen. */
static struct node *put_lock(struct sftpfs_cache *c, const char *path, uint64_t gen, int64_t *now)
{
	*now = lock_now(c);
	return gen == c->generation ? node_get(c, path, *now) : NULL;
}

/* ---- attributes ---- */

/* The same regular file's same contents, as far as attributes tell. */
static bool same_version(const struct stat *a, const struct stat *b)
{
	return S_ISREG(a->st_mode) && S_ISREG(b->st_mode) && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void put_attr(struct sftpfs_cache *c, const char *path, const struct stat *st, int err, uint64_t gen)
{
	int64_t now;
	struct node *n;

	if (c == NULL || c->cfg.stat_timeout_us <= 0)
		return;
	if ((n = put_lock(c, path, gen, &now)) != NULL) {
		/* Contents stay only with the attributes they were kept with. */
		if (n->data != NULL && (err != 0 || st == NULL || !same_version(&n->st, st)))
			drop_data(c, n);
		n->attr_expiry = now + c->cfg.stat_timeout_us;
		n->attr_time = now;
		n->attr_err = err;
		if (st != NULL)
			n->st = *st;
		else
			memset(&n->st, 0, sizeof(n->st));
	}
	g_mutex_unlock(&c->lock);
}

void sftpfs_cache_put_attr(struct sftpfs_cache *c, const char *path, const struct stat *st, uint64_t gen)
{
	put_attr(c, path, st, 0, gen);
}

void sftpfs_cache_put_negative(struct sftpfs_cache *c, const char *path, uint64_t gen)
{
	put_attr(c, path, NULL, ERR_NO_SUCH_FILE, gen);
}

/* True if a fresh listing of path's parent exists and lacks its name. */
static bool parent_lacks(struct sftpfs_cache *c, const char *path, int64_t now)
{
	g_autofree char *parent = NULL;
	const char *name;
	struct node *p;

	if (!split_path(path, &parent, &name))
		return false;
	p = node_peek(c, parent);
	if (p == NULL || p->names == NULL || p->dir_expiry <= now)
		return false;
	if (g_hash_table_contains(p->names, name))
		return false;
	node_touch(c, p);
	return true;
}

bool sftpfs_cache_get_attr(struct sftpfs_cache *c, const char *path, struct stat *st, int *err)
{
	struct node *n;
	int64_t now;
	bool hit = false;

	*err = 0;
	if (c == NULL)
		return false;
	now = lock_now(c);
	n = node_peek(c, path);
	if (n != NULL && n->attr_expiry > now) {
		node_touch(c, n);
		*err = n->attr_err;
		if (n->attr_err == 0)
			*st = n->st;
		hit = true;
	} else if (parent_lacks(c, path, now)) {
		*err = ERR_NO_SUCH_FILE;
		hit = true;
	}
	g_mutex_unlock(&c->lock);
	return hit;
}

/* ---- symlink targets ---- */

void sftpfs_cache_put_link(struct sftpfs_cache *c, const char *path, const char *target, uint64_t gen)
{
	int64_t now;
	struct node *n;

	if (c == NULL || c->cfg.link_timeout_us <= 0)
		return;
	if ((n = put_lock(c, path, gen, &now)) != NULL) {
		g_free(n->link);
		n->link = g_strdup(target);
		n->link_expiry = now + c->cfg.link_timeout_us;
	}
	g_mutex_unlock(&c->lock);
}

char *sftpfs_cache_get_link(struct sftpfs_cache *c, const char *path)
{
	struct node *n;
	char *r = NULL;
	int64_t now;

	if (c == NULL)
		return NULL;
	now = lock_now(c);
	n = node_peek(c, path);
	if (n != NULL && n->link != NULL && n->link_expiry > now) {
		node_touch(c, n);
		r = g_strdup(n->link);
	}
	g_mutex_unlock(&c->lock);
	return r;
}

/* ---- directory listings ---- */

struct sftpfs_cache_dir *sftpfs_cache_dir_new(void)
{
	struct sftpfs_cache_dir *d = g_malloc0(sizeof(*d));

	d->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return d;
}

void sftpfs_cache_dir_add(struct sftpfs_cache_dir *d, const char *name)
{
	g_hash_table_add(d->names, g_strdup(name));
}

void sftpfs_cache_dir_free(struct sftpfs_cache_dir *d)
{
	if (d == NULL)
		return;
	if (d->names != NULL)
		g_hash_table_unref(d->names);
	g_free(d);
}

void sftpfs_cache_put_dir(struct sftpfs_cache *c, const char *path, struct sftpfs_cache_dir *d, uint64_t gen)
{
	int64_t now;
	struct node *n;

	if (c == NULL || c->cfg.dir_timeout_us <= 0 || g_hash_table_size(d->names) > c->cfg.max_size) {
		sftpfs_cache_dir_free(d);
		return;
	}
	if ((n = put_lock(c, path, gen, &now)) != NULL) {
		if (n->names != NULL)
			g_hash_table_unref(n->names);
		n->names = g_steal_pointer(&d->names);
		n->dir_expiry = now + c->cfg.dir_timeout_us;
	}
	g_mutex_unlock(&c->lock);
	sftpfs_cache_dir_free(d);
}

bool sftpfs_cache_has_dir(struct sftpfs_cache *c, const char *path)
{
	struct node *n;
	bool r;

	if (c == NULL)
		return false;
	g_mutex_lock(&c->lock);
	n = node_peek(c, path);
	r = n != NULL && n->names != NULL && n->dir_expiry > c->clock(c->clock_ctx);
	g_mutex_unlock(&c->lock);
	return r;
}

static void dirent_free(void *p)
{
	struct sftpfs_cache_dirent *e = p;

	g_free(e->name);
	g_free(e);
}

GPtrArray *sftpfs_cache_get_dir(struct sftpfs_cache *c, const char *path)
{
	GPtrArray *out = NULL;
	GHashTableIter it;
	struct node *n;
	void *key;
	int64_t now;

	if (c == NULL)
		return NULL;
	now = lock_now(c);
	n = node_peek(c, path);
	if (n != NULL && n->names != NULL && n->dir_expiry > now) {
		node_touch(c, n);
		out = g_ptr_array_new_full(g_hash_table_size(n->names), dirent_free);
		g_hash_table_iter_init(&it, n->names);
		while (g_hash_table_iter_next(&it, &key, NULL)) {
			struct sftpfs_cache_dirent *e = g_malloc0(sizeof(*e));
			g_autofree char *cp = sftpfs_cache_child_path(path, key);
			struct node *ch = node_peek(c, cp);

			e->name = g_strdup(key);
			if (ch != NULL && ch->attr_expiry > now && ch->attr_err == 0) {
				e->has_attr = true;
				e->st = ch->st;
			}
			g_ptr_array_add(out, e);
		}
	}
	g_mutex_unlock(&c->lock);
	return out;
}

/* ---- keep_cache ---- */

bool sftpfs_cache_keep_pages(struct sftpfs_cache *c, const char *path)
{
	struct node *n;
	bool keep = false;
	int64_t now;

	if (c == NULL || path == NULL)
		return false;
	g_mutex_lock(&c->lock);
	now = c->clock(c->clock_ctx);
	n = node_peek(c, path);
	if (n != NULL && n->attr_expiry > now && n->attr_err == 0) {
		keep = n->pages_valid && n->pages_size == n->st.st_size &&
		       n->pages_mtime.tv_sec == n->st.st_mtim.tv_sec && n->pages_mtime.tv_nsec == n->st.st_mtim.tv_nsec;
		n->pages_valid = true;
		n->pages_size = n->st.st_size;
		n->pages_mtime = n->st.st_mtim;
	} else if (n != NULL) {
		n->pages_valid = false;
	}
	g_mutex_unlock(&c->lock);
	return keep;
}

/* ---- contents of small files ---- */

bool sftpfs_cache_put_contents(struct sftpfs_cache *c, const char *path, GBytes *data, const struct stat *st,
			       uint64_t gen)
{
	size_t len = g_bytes_get_size(data), old;
	struct node *n;
	int64_t now;
	bool ok;

	if (c == NULL || path == NULL)
		return false;
	now = lock_now(c);
	n = node_peek(c, path);
	old = n != NULL && n->data != NULL ? g_bytes_get_size(n->data) : 0;
	ok = gen == c->generation && n != NULL && n->attr_expiry > now && n->attr_err == 0 && same_version(&n->st, st) &&
	     (uint64_t)st->st_size == len && len <= SFTPFS_CACHE_CONTENTS_FILE_MAX &&
	     c->data_bytes - old + len <= SFTPFS_CACHE_CONTENTS_MAX;
	if (ok) {
		drop_data(c, n);
		n->data = g_bytes_ref(data);
		c->data_bytes += len;
	}
	g_mutex_unlock(&c->lock);
	return ok;
}

GBytes *sftpfs_cache_get_contents(struct sftpfs_cache *c, const char *path, struct stat *st)
{
	GBytes *out = NULL;
	struct node *n;
	int64_t now;

	if (c == NULL || path == NULL)
		return NULL;
	now = lock_now(c);
	n = node_peek(c, path);
	if (n != NULL && n->data != NULL && n->attr_expiry > now && n->attr_err == 0 &&
	    now - n->attr_time < SFTPFS_CACHE_CONTENTS_FRESH_US) {
		node_touch(c, n);
		*st = n->st;
		out = g_bytes_ref(n->data);
	}
	g_mutex_unlock(&c->lock);
	return out;
}

/* ---- local changes ---- */

/* The parent's attributes go (its mtime changed); its listing gets name
 * added (add) or removed (!add) if one is cached. */
static void edit_parent(struct sftpfs_cache *c, const char *path, bool add, int64_t now)
{
	g_autofree char *parent = NULL;
	const char *name;
	struct node *p;

	if (!split_path(path, &parent, &name))
		return;
	p = node_peek(c, parent);
	if (p == NULL)
		return;
	p->attr_expiry = 0;
	if (p->names != NULL) {
		if (add)
			g_hash_table_add(p->names, g_strdup(name));
		else
			g_hash_table_remove(p->names, name);
	}
	node_prune(c, p, now);
}

void sftpfs_cache_changed(struct sftpfs_cache *c, const char *path)
{
	g_autofree char *parent = NULL;
	const char *name;
	struct node *p;
	int64_t now;

	if (c == NULL || path == NULL)
		return;
	g_mutex_lock(&c->lock);
	now = c->clock(c->clock_ctx);
	c->generation++;
	drop_node(c, path);
	if (split_path(path, &parent, &name) && (p = node_peek(c, parent)) != NULL && p->names != NULL &&
	    !g_hash_table_contains(p->names, name)) {
		/* The name exists but the listing says otherwise. */
		g_clear_pointer(&p->names, g_hash_table_unref);
		p->dir_expiry = 0;
		node_prune(c, p, now);
	}
	g_mutex_unlock(&c->lock);
}

static void added_locked(struct sftpfs_cache *c, const char *path, bool dir, int64_t now)
{
	struct node *n;

	drop_subtree(c, path);
	drop_node(c, path);
	edit_parent(c, path, true, now);
	if (dir && c->cfg.dir_timeout_us > 0) {
		/* A directory we just made is empty: lookups in it need no
		 * round trip until something is added. */
		n = node_get(c, path, now);
		n->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		n->dir_expiry = now + c->cfg.dir_timeout_us;
	}
}

static void removed_locked(struct sftpfs_cache *c, const char *path, int64_t now)
{
	struct node *n;

	drop_subtree(c, path);
	drop_node(c, path);
	edit_parent(c, path, false, now);
	if (c->cfg.stat_timeout_us > 0) {
		n = node_get(c, path, now);
		n->attr_err = ERR_NO_SUCH_FILE;
		n->attr_expiry = now + c->cfg.stat_timeout_us;
	}
}

void sftpfs_cache_added(struct sftpfs_cache *c, const char *path, bool dir)
{
	if (c == NULL || path == NULL)
		return;
	g_mutex_lock(&c->lock);
	c->generation++;
	added_locked(c, path, dir, c->clock(c->clock_ctx));
	g_mutex_unlock(&c->lock);
}

void sftpfs_cache_removed(struct sftpfs_cache *c, const char *path)
{
	if (c == NULL || path == NULL)
		return;
	g_mutex_lock(&c->lock);
	c->generation++;
	removed_locked(c, path, c->clock(c->clock_ctx));
	g_mutex_unlock(&c->lock);
}

void sftpfs_cache_renamed(struct sftpfs_cache *c, const char *from, const char *to)
{
	int64_t now;

	if (c == NULL || from == NULL || to == NULL)
		return;
	g_mutex_lock(&c->lock);
	now = c->clock(c->clock_ctx);
	c->generation++;
	removed_locked(c, from, now);
	added_locked(c, to, false, now);
	g_mutex_unlock(&c->lock);
}

void sftpfs_cache_clear(struct sftpfs_cache *c)
{
	if (c == NULL)
		return;
	g_mutex_lock(&c->lock);
	c->generation++;
	g_hash_table_remove_all(c->nodes); /* frees the nodes and their links */
	g_queue_init(&c->lru);
	c->data_bytes = 0;
	g_mutex_unlock(&c->lock);
}

void sftpfs_cache_invalidate(struct sftpfs *fs, const char *path)
{
	sftpfs_cache_changed(fs->cache, path);
}
