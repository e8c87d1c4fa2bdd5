/*
 * cache.h - the daemon's attribute, directory-listing and symlink-target
 * cache (sshfs's dir_cache, rebuilt): glib hash tables keyed by the
 * mount-relative path ("/", "/a/b"), one GMutex, a bounded number of entries
 * with least-recently-used eviction, and an injectable monotonic clock so the
 * unit test controls time.
 *
 * What is cached, each with its own timeout (sshfs 3.7 option names):
 *  - attributes (struct stat as the mount shows them), and "no such file"
 *    answers (negative entries) - dcache_stat_timeout;
 *  - complete directory listings, filled by a whole READDIR pass; a fresh
 *    listing also answers lookups of names it lacks (ENOENT) - dcache_dir_timeout;
 *  - symlink targets as the server sent them - dcache_link_timeout.
 *
 * Consistency: a result fetched from the server is stored only if no local
 * change happened while it was in flight (the caller takes a generation
 * before the request and passes it to the put; any change bumps it). Every
 * local change drops what it made stale: the changed path (and its subtree on
 * rename and rmdir), the parent's attributes, and the parent's listing is
 * edited in place (a name added or removed) so it stays complete.
 *
 * Every function accepts a NULL cache (dir_cache=no): gets miss, puts and
 * invalidations do nothing.
 */
#ifndef SFTPFS_FUSE_CACHE_H
#define SFTPFS_FUSE_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include <glib.h>

#include "options.h"

/* sshfs 3.7 defaults (its cache.c / man page). */
#define CACHE_DEFAULT_TIMEOUT_S 20
#define CACHE_DEFAULT_MAX_SIZE 10000
#define CACHE_DEFAULT_CLEAN_INTERVAL_S 60
#define CACHE_DEFAULT_MIN_CLEAN_INTERVAL_S 5

struct sftpfs_cache_config {
	int64_t stat_timeout_us;     /* attributes and negative entries */
	int64_t dir_timeout_us;      /* directory listings */
	int64_t link_timeout_us;     /* symlink targets */
	unsigned max_size;           /* entries (paths); at least 1 */
	int64_t clean_interval_us;   /* expired entries are swept this often */
	int64_t min_clean_interval_us; /* a full cache sweeps at most this often */
};

/* Monotonic microseconds (g_get_monotonic_time by default). */
typedef int64_t (*sftpfs_cache_clock_fn)(void *ctx);

/* The effective configuration from the options: dcache_timeout sets the three
 * timeouts unless a specific one is given; unset values take the defaults. */
void sftpfs_cache_config_from_opts(const struct sftpfs_opts *o, struct sftpfs_cache_config *out);

/* clock NULL = g_get_monotonic_time. */
struct sftpfs_cache *sftpfs_cache_new(const struct sftpfs_cache_config *cfg, sftpfs_cache_clock_fn clock,
				      void *clock_ctx);
void sftpfs_cache_free(struct sftpfs_cache *c);

/* Number of entries now (tests, statistics). */
unsigned sftpfs_cache_size(struct sftpfs_cache *c);

/* Take before a request whose answer will be stored; pass to the put. */
uint64_t sftpfs_cache_generation(struct sftpfs_cache *c);

/* "/" + name, or dir + "/" + name (g_free): the cache's keys. */
char *sftpfs_cache_child_path(const char *dir, const char *name);

/* ---- attributes ---- */
void sftpfs_cache_put_attr(struct sftpfs_cache *c, const char *path, const struct stat *st, uint64_t gen);
/* Records that path does not exist (ENOENT), for the stat timeout. */
void sftpfs_cache_put_negative(struct sftpfs_cache *c, const char *path, uint64_t gen);
/*
 * True if the cache can answer: *err is 0 and *st filled, or *err is
 * ERR_NO_SUCH_FILE (a negative entry, or a fresh listing of the parent
 * without the name). False: ask the server.
 */
bool sftpfs_cache_get_attr(struct sftpfs_cache *c, const char *path, struct stat *st, int *err);

/* ---- symlink targets ---- */
void sftpfs_cache_put_link(struct sftpfs_cache *c, const char *path, const char *target, uint64_t gen);
/* A new string (g_free) or NULL on a miss. */
char *sftpfs_cache_get_link(struct sftpfs_cache *c, const char *path);

/* ---- directory listings ---- */
/* A complete listing being filled: add every name of one READDIR pass (with
 * its attributes, or NULL), then put it. Listings longer than max_size are
 * not stored. */
struct sftpfs_cache_dir;
struct sftpfs_cache_dir *sftpfs_cache_dir_new(void);
void sftpfs_cache_dir_add(struct sftpfs_cache_dir *d, const char *name);
void sftpfs_cache_dir_free(struct sftpfs_cache_dir *d);
/* Stores the listing (takes d) unless a change happened since gen. */
void sftpfs_cache_put_dir(struct sftpfs_cache *c, const char *path, struct sftpfs_cache_dir *d, uint64_t gen);
bool sftpfs_cache_has_dir(struct sftpfs_cache *c, const char *path);

/* One name of a cached listing, with the cached attributes of the child. */
struct sftpfs_cache_dirent {
	char *name;
	bool has_attr;
	struct stat st;
};
/* A copy of a fresh listing (g_ptr_array_unref frees it), or NULL. */
GPtrArray *sftpfs_cache_get_dir(struct sftpfs_cache *c, const char *path);

/* ---- page cache across opens (fi->keep_cache) ---- */
/*
 * At open: true when the fresh cached attributes of path show the size and
 * mtime recorded at the previous open, so the kernel's cached pages are still
 * the file's contents. Records the current size and mtime for the next open.
 * False when nothing fresh is cached (the kernel then drops its pages).
 */
bool sftpfs_cache_keep_pages(struct sftpfs_cache *c, const char *path);

/* ---- contents of small files ---- */
/*
 * Whole contents of small regular files read through the mount, so that
 * opening one again needs no request. They live in path's node, with its
 * attributes: any local change to path drops them with the node, and
 * attributes that show another size or mtime drop them. Stored only while
 * st (the attributes seen when the contents were read) are the node's
 * fresh attributes and no local change happened since gen; at most
 * SFTPFS_CACHE_CONTENTS_FILE_MAX per file and SFTPFS_CACHE_CONTENTS_MAX in
 * all. get: a reference to them (and *st) while the server showed those
 * attributes less than SFTPFS_CACHE_CONTENTS_FRESH_US ago: the kernel keeps
 * attributes (and with them its cached pages) that long too, so an open
 * sees a change made elsewhere no later than a stat does. Past that an open
 * asks the server again, as without them.
 */
#define SFTPFS_CACHE_CONTENTS_FRESH_US (1000 * 1000)
#define SFTPFS_CACHE_CONTENTS_FILE_MAX (64u * 1024)
#define SFTPFS_CACHE_CONTENTS_MAX (8u * 1024 * 1024)
bool sftpfs_cache_put_contents(struct sftpfs_cache *c, const char *path, GBytes *data, const struct stat *st,
			       uint64_t gen);
GBytes *sftpfs_cache_get_contents(struct sftpfs_cache *c, const char *path, struct stat *st);

/* ---- local changes ---- */
/* Contents or attributes of path changed (write, chmod, chown, truncate,
 * utimens): its entry goes; the parent's listing goes too if it lacks the
 * name (it cannot be right). */
void sftpfs_cache_changed(struct sftpfs_cache *c, const char *path);
/* path was created (create, mknod, symlink, link target): its entry (and any
 * subtree) and the parent's attributes go; the name is added to a cached
 * listing of the parent. dir: it is a new, empty directory (mkdir). */
void sftpfs_cache_added(struct sftpfs_cache *c, const char *path, bool dir);
/* path was removed (unlink, rmdir): its entry and subtree and the parent's
 * attributes go; the name leaves the parent's listing; path is recorded as
 * missing. */
void sftpfs_cache_removed(struct sftpfs_cache *c, const char *path);
/* from was renamed to to (replacing it): removed(from) + added(to), with
 * every entry under either path dropped. */
void sftpfs_cache_renamed(struct sftpfs_cache *c, const char *from, const char *to);
/* Drops everything (reconnect to a possibly different server). */
void sftpfs_cache_clear(struct sftpfs_cache *c);

/* For the lead's write/release paths: path's contents changed (NULL: nothing). */
struct sftpfs;
void sftpfs_cache_invalidate(struct sftpfs *fs, const char *path);

#endif
