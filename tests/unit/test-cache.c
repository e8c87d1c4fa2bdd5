/*
 * test-cache.c - the daemon's attribute / listing / symlink cache
 * (fuse/cache.c) on a fake monotonic clock: expiry of each kind of entry,
 * negative entries and ENOENT from a complete listing, LRU eviction and the
 * size bound, sweeping of expired entries, the generation check that keeps
 * stale answers out, invalidation of parents and subtrees on local changes,
 * keep_cache decisions, and the options that configure it (cache_* aliases).
 */
#include "config.h"

#include <string.h>

#include "cache.h"
#include "err.h"
#include "options.h"

#define S(x) ((int64_t)(x) * 1000000)

static int64_t fake_now;

static int64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

static struct sftpfs_cache *new_cache(int64_t stat_s, int64_t dir_s, int64_t link_s, unsigned max)
{
	struct sftpfs_cache_config cfg = {
		.stat_timeout_us = S(stat_s),
		.dir_timeout_us = S(dir_s),
		.link_timeout_us = S(link_s),
		.max_size = max,
		.clean_interval_us = S(60),
		.min_clean_interval_us = S(5),
	};

	fake_now = S(1000);
	return sftpfs_cache_new(&cfg, fake_clock, NULL);
}

static struct stat mkstat(mode_t mode, off_t size, time_t mtime)
{
	struct stat st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_size = size;
	st.st_mtim.tv_sec = mtime;
	return st;
}

static void put(struct sftpfs_cache *c, const char *path, off_t size)
{
	struct stat st = mkstat(S_IFREG | 0644, size, 1);

	sftpfs_cache_put_attr(c, path, &st, sftpfs_cache_generation(c));
}

/* 1 positive hit, 0 miss, -1 ENOENT hit. */
static int lookup(struct sftpfs_cache *c, const char *path, struct stat *st)
{
	struct stat dummy;
	int err = 12345;

	if (!sftpfs_cache_get_attr(c, path, st != NULL ? st : &dummy, &err))
		return 0;
	if (err == 0)
		return 1;
	g_assert_cmpint(err, ==, ERR_NO_SUCH_FILE);
	return -1;
}

static void put_listing(struct sftpfs_cache *c, const char *dir, const char *const *names)
{
	struct sftpfs_cache_dir *d = sftpfs_cache_dir_new();

	for (size_t i = 0; names[i] != NULL; i++)
		sftpfs_cache_dir_add(d, names[i]);
	sftpfs_cache_put_dir(c, dir, d, sftpfs_cache_generation(c));
}

static void test_attr_expiry(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 100);
	struct stat st;

	g_assert_cmpint(lookup(c, "/a", NULL), ==, 0);
	put(c, "/a", 42);
	g_assert_cmpint(lookup(c, "/a", &st), ==, 1);
	g_assert_cmpint(st.st_size, ==, 42);
	fake_now += S(20) - 1;
	g_assert_cmpint(lookup(c, "/a", NULL), ==, 1);
	fake_now += 1;
	g_assert_cmpint(lookup(c, "/a", NULL), ==, 0);
	sftpfs_cache_free(c);
}

static void test_separate_timeouts(void)
{
	struct sftpfs_cache *c = new_cache(5, 10, 15, 100);
	const char *const names[] = { "x", NULL };
	char *t;

	put(c, "/d/x", 1);
	put_listing(c, "/d", names);
	sftpfs_cache_put_link(c, "/d/l", "target", sftpfs_cache_generation(c));
	fake_now += S(5);
	g_assert_cmpint(lookup(c, "/d/x", NULL), ==, 0);
	g_assert_true(sftpfs_cache_has_dir(c, "/d"));
	fake_now += S(5);
	g_assert_false(sftpfs_cache_has_dir(c, "/d"));
	t = sftpfs_cache_get_link(c, "/d/l");
	g_assert_cmpstr(t, ==, "target");
	g_free(t);
	fake_now += S(5);
	g_assert_null(sftpfs_cache_get_link(c, "/d/l"));
	sftpfs_cache_free(c);
}

static void test_negative(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 100);
	const char *const names[] = { ".", "..", "present", NULL };

	sftpfs_cache_put_negative(c, "/gone", sftpfs_cache_generation(c));
	g_assert_cmpint(lookup(c, "/gone", NULL), ==, -1);
	fake_now += S(20);
	g_assert_cmpint(lookup(c, "/gone", NULL), ==, 0);

	/* A fresh complete listing answers for names it lacks; a name it has
	 * but without cached attributes is a miss (ask the server). */
	put_listing(c, "/dir", names);
	g_assert_cmpint(lookup(c, "/dir/absent", NULL), ==, -1);
	g_assert_cmpint(lookup(c, "/dir/present", NULL), ==, 0);
	g_assert_cmpint(lookup(c, "/dir/absent/deeper", NULL), ==, 0);
	fake_now += S(20);
	g_assert_cmpint(lookup(c, "/dir/absent", NULL), ==, 0);

	/* the root's children */
	put_listing(c, "/", names);
	g_assert_cmpint(lookup(c, "/absent", NULL), ==, -1);
	g_assert_cmpint(lookup(c, "/", NULL), ==, 0);
	sftpfs_cache_free(c);
}

static void test_generation(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 100);
	struct stat st = mkstat(S_IFREG | 0600, 7, 1);
	uint64_t gen = sftpfs_cache_generation(c);
	const char *const names[] = { "a", NULL };
	struct sftpfs_cache_dir *d = sftpfs_cache_dir_new();

	/* A change while the answer was in flight: the answer is dropped. */
	sftpfs_cache_changed(c, "/other");
	sftpfs_cache_put_attr(c, "/f", &st, gen);
	sftpfs_cache_put_negative(c, "/g", gen);
	sftpfs_cache_put_link(c, "/l", "t", gen);
	sftpfs_cache_dir_add(d, "a");
	sftpfs_cache_put_dir(c, "/", d, gen);
	g_assert_cmpint(lookup(c, "/f", NULL), ==, 0);
	g_assert_cmpint(lookup(c, "/g", NULL), ==, 0);
	g_assert_null(sftpfs_cache_get_link(c, "/l"));
	g_assert_false(sftpfs_cache_has_dir(c, "/"));
	g_assert_cmpuint(sftpfs_cache_size(c), ==, 0);
	put_listing(c, "/", names);
	g_assert_true(sftpfs_cache_has_dir(c, "/"));
	sftpfs_cache_free(c);
}

static void test_lru_eviction(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 3);

	put(c, "/a", 1);
	put(c, "/b", 2);
	put(c, "/c", 3);
	/* use /a: /b is now the least recently used */
	g_assert_cmpint(lookup(c, "/a", NULL), ==, 1);
	put(c, "/d", 4);
	g_assert_cmpuint(sftpfs_cache_size(c), ==, 3);
	g_assert_cmpint(lookup(c, "/b", NULL), ==, 0);
	g_assert_cmpint(lookup(c, "/a", NULL), ==, 1);
	g_assert_cmpint(lookup(c, "/c", NULL), ==, 1);
	g_assert_cmpint(lookup(c, "/d", NULL), ==, 1);
	/* order now (most recent first): d c a -> a goes next */
	put(c, "/e", 5);
	g_assert_cmpint(lookup(c, "/a", NULL), ==, 0);
	g_assert_cmpint(lookup(c, "/c", NULL), ==, 1);
	sftpfs_cache_free(c);
}

static void test_size_bound(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 10);
	char path[32];

	for (int i = 0; i < 1000; i++) {
		g_snprintf(path, sizeof(path), "/f%d", i);
		put(c, path, i);
		g_assert_cmpuint(sftpfs_cache_size(c), <=, 10);
	}
	/* the ten most recent survive */
	for (int i = 990; i < 1000; i++) {
		g_snprintf(path, sizeof(path), "/f%d", i);
		g_assert_cmpint(lookup(c, path, NULL), ==, 1);
	}
	/* a listing longer than the cache is not stored */
	{
		struct sftpfs_cache_dir *d = sftpfs_cache_dir_new();
		for (int i = 0; i < 11; i++) {
			g_snprintf(path, sizeof(path), "n%d", i);
			sftpfs_cache_dir_add(d, path);
		}
		sftpfs_cache_put_dir(c, "/big", d, sftpfs_cache_generation(c));
		g_assert_false(sftpfs_cache_has_dir(c, "/big"));
	}
	sftpfs_cache_free(c);
}

static void test_sweep(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 4);

	put(c, "/old1", 1);
	put(c, "/old2", 2);
	fake_now += S(15);
	put(c, "/new1", 3);
	put(c, "/new2", 4);
	fake_now += S(6); /* old* expired, new* fresh; >= min_clean_interval */
	/* Full: the sweep drops the expired entries, not the fresh LRU ones. */
	put(c, "/new3", 5);
	g_assert_cmpuint(sftpfs_cache_size(c), ==, 3);
	g_assert_cmpint(lookup(c, "/new1", NULL), ==, 1);
	g_assert_cmpint(lookup(c, "/new2", NULL), ==, 1);
	/* The periodic sweep (clean_interval 60 s) empties an idle cache. */
	fake_now += S(61);
	g_assert_cmpint(lookup(c, "/nothing", NULL), ==, 0);
	g_assert_cmpuint(sftpfs_cache_size(c), ==, 0);
	sftpfs_cache_free(c);
}

static void test_added_removed(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 100);
	const char *const names[] = { ".", "..", "a", NULL };
	struct stat st = mkstat(S_IFDIR | 0755, 4096, 1);
	GPtrArray *v;

	put_listing(c, "/d", names);
	sftpfs_cache_put_attr(c, "/d", &st, sftpfs_cache_generation(c));
	put(c, "/d/a", 1);
	g_assert_cmpint(lookup(c, "/d/new", NULL), ==, -1);

	/* create: name added to the listing, the parent's attributes go */
	sftpfs_cache_added(c, "/d/new", false);
	g_assert_cmpint(lookup(c, "/d/new", NULL), ==, 0);
	g_assert_cmpint(lookup(c, "/d", NULL), ==, 0);
	g_assert_true(sftpfs_cache_has_dir(c, "/d"));
	v = sftpfs_cache_get_dir(c, "/d");
	g_assert_cmpuint(v->len, ==, 4);
	g_ptr_array_unref(v);

	/* unlink: name removed, the path is known missing */
	sftpfs_cache_removed(c, "/d/a");
	g_assert_cmpint(lookup(c, "/d/a", NULL), ==, -1);
	v = sftpfs_cache_get_dir(c, "/d");
	g_assert_cmpuint(v->len, ==, 3);
	for (guint i = 0; i < v->len; i++)
		g_assert_cmpstr(((struct sftpfs_cache_dirent *)g_ptr_array_index(v, i))->name, !=, "a");
	g_ptr_array_unref(v);

	/* mkdir: the new directory is known empty */
	sftpfs_cache_added(c, "/d/sub", true);
	g_assert_cmpint(lookup(c, "/d/sub/anything", NULL), ==, -1);
	v = sftpfs_cache_get_dir(c, "/d/sub");
	g_assert_cmpuint(v->len, ==, 0);
	g_ptr_array_unref(v);

	/* rmdir of a directory with cached contents drops the subtree */
	put(c, "/d/sub/x", 1);
	sftpfs_cache_removed(c, "/d/sub");
	g_assert_cmpint(lookup(c, "/d/sub/x", NULL), ==, 0);
	g_assert_false(sftpfs_cache_has_dir(c, "/d/sub"));
	g_assert_cmpint(lookup(c, "/d/sub", NULL), ==, -1);
	sftpfs_cache_free(c);
}

static void test_rename(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 100);
	const char *const src_names[] = { "tree", "keep", NULL };
	const char *const dst_names[] = { "other", NULL };
	const char *const tree_names[] = { "f", "g", NULL };
	struct stat st = mkstat(S_IFDIR | 0755, 4096, 1);
	GPtrArray *v;

	put_listing(c, "/src", src_names);
	put_listing(c, "/dst", dst_names);
	put_listing(c, "/src/tree", tree_names);
	sftpfs_cache_put_attr(c, "/src", &st, sftpfs_cache_generation(c));
	sftpfs_cache_put_attr(c, "/dst", &st, sftpfs_cache_generation(c));
	put(c, "/src/tree/f", 1);
	put(c, "/src/tree/g", 2);
	put(c, "/src/treeish", 3); /* not under /src/tree */
	put(c, "/src/keep", 4);
	put(c, "/dst/tree/stale", 5); /* a replaced target's subtree */

	sftpfs_cache_renamed(c, "/src/tree", "/dst/tree");
	/* everything under both names is gone */
	g_assert_cmpint(lookup(c, "/src/tree/f", NULL), ==, 0);
	g_assert_cmpint(lookup(c, "/src/tree/g", NULL), ==, 0);
	g_assert_false(sftpfs_cache_has_dir(c, "/src/tree"));
	g_assert_cmpint(lookup(c, "/dst/tree/stale", NULL), ==, 0);
	g_assert_cmpint(lookup(c, "/dst/tree", NULL), ==, 0);
	/* the source is known missing, siblings untouched */
	g_assert_cmpint(lookup(c, "/src/tree", NULL), ==, -1);
	g_assert_cmpint(lookup(c, "/src/treeish", NULL), ==, 1);
	g_assert_cmpint(lookup(c, "/src/keep", NULL), ==, 1);
	/* both parents: attributes dropped, listings edited */
	g_assert_cmpint(lookup(c, "/src", NULL), ==, 0);
	g_assert_cmpint(lookup(c, "/dst", NULL), ==, 0);
	v = sftpfs_cache_get_dir(c, "/src");
	g_assert_cmpuint(v->len, ==, 1);
	g_assert_cmpstr(((struct sftpfs_cache_dirent *)g_ptr_array_index(v, 0))->name, ==, "keep");
	g_assert_true(((struct sftpfs_cache_dirent *)g_ptr_array_index(v, 0))->has_attr);
	g_ptr_array_unref(v);
	v = sftpfs_cache_get_dir(c, "/dst");
	g_assert_cmpuint(v->len, ==, 2);
	g_ptr_array_unref(v);
	g_assert_cmpint(lookup(c, "/dst/nothing", NULL), ==, -1);
	sftpfs_cache_free(c);
}

static void test_changed(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 100);
	const char *const names[] = { "f", NULL };
	char *t;

	put_listing(c, "/", names);
	put(c, "/f", 1);
	sftpfs_cache_put_link(c, "/f", "x", sftpfs_cache_generation(c));
	sftpfs_cache_changed(c, "/f");
	g_assert_cmpint(lookup(c, "/f", NULL), ==, 0);
	t = sftpfs_cache_get_link(c, "/f");
	g_assert_null(t);
	g_assert_true(sftpfs_cache_has_dir(c, "/"));
	/* a change to a name the listing lacks proves the listing wrong */
	sftpfs_cache_changed(c, "/unlisted");
	g_assert_false(sftpfs_cache_has_dir(c, "/"));
	sftpfs_cache_free(c);
}

static void test_keep_pages(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 100);
	struct stat st = mkstat(S_IFREG | 0644, 10, 100);

	g_assert_false(sftpfs_cache_keep_pages(c, "/f")); /* nothing cached */
	sftpfs_cache_put_attr(c, "/f", &st, sftpfs_cache_generation(c));
	g_assert_false(sftpfs_cache_keep_pages(c, "/f")); /* first open */
	g_assert_true(sftpfs_cache_keep_pages(c, "/f"));  /* unchanged */
	/* fresh attributes with another mtime: drop the pages */
	st.st_mtim.tv_sec = 101;
	sftpfs_cache_put_attr(c, "/f", &st, sftpfs_cache_generation(c));
	g_assert_false(sftpfs_cache_keep_pages(c, "/f"));
	g_assert_true(sftpfs_cache_keep_pages(c, "/f"));
	st.st_size = 11;
	sftpfs_cache_put_attr(c, "/f", &st, sftpfs_cache_generation(c));
	g_assert_false(sftpfs_cache_keep_pages(c, "/f"));
	/* expired attributes: no decision possible, pages dropped */
	fake_now += S(20);
	g_assert_false(sftpfs_cache_keep_pages(c, "/f"));
	/* a local write forgets what was seen */
	sftpfs_cache_put_attr(c, "/f", &st, sftpfs_cache_generation(c));
	g_assert_false(sftpfs_cache_keep_pages(c, "/f"));
	sftpfs_cache_changed(c, "/f");
	sftpfs_cache_put_attr(c, "/f", &st, sftpfs_cache_generation(c));
	g_assert_false(sftpfs_cache_keep_pages(c, "/f"));
	sftpfs_cache_free(c);
}

static void test_contents(void)
{
	struct sftpfs_cache *c = new_cache(20, 20, 20, 100);
	struct stat st = mkstat(S_IFREG | 0644, 5, 100), got;
	GBytes *data = g_bytes_new_static("hello", 5), *big, *out;
	uint64_t gen = sftpfs_cache_generation(c);
	gsize len;

	/* only with the fresh attributes they were read with */
	g_assert_false(sftpfs_cache_put_contents(c, "/f", data, &st, gen));
	sftpfs_cache_put_attr(c, "/f", &st, gen);
	g_assert_true(sftpfs_cache_put_contents(c, "/f", data, &st, gen));
	out = sftpfs_cache_get_contents(c, "/f", &got);
	g_assert_nonnull(out);
	g_assert_cmpmem(g_bytes_get_data(out, &len), len, "hello", 5);
	g_assert_cmpint(got.st_size, ==, 5);
	g_bytes_unref(out);
	/* the server confirms the same attributes: still there */
	sftpfs_cache_put_attr(c, "/f", &st, gen);
	out = sftpfs_cache_get_contents(c, "/f", &got);
	g_assert_nonnull(out);
	g_bytes_unref(out);
	/* past the freshness window of the attributes: not served */
	fake_now += SFTPFS_CACHE_CONTENTS_FRESH_US;
	g_assert_null(sftpfs_cache_get_contents(c, "/f", &got));
	sftpfs_cache_put_attr(c, "/f", &st, gen);
	out = sftpfs_cache_get_contents(c, "/f", &got);
	g_assert_nonnull(out);
	g_bytes_unref(out);
	/* another mtime from the server: gone for good */
	st.st_mtim.tv_sec = 101;
	sftpfs_cache_put_attr(c, "/f", &st, gen);
	g_assert_null(sftpfs_cache_get_contents(c, "/f", &got));
	st.st_mtim.tv_sec = 100;
	sftpfs_cache_put_attr(c, "/f", &st, gen);
	g_assert_null(sftpfs_cache_get_contents(c, "/f", &got));
	/* size that does not match, a stale generation */
	g_assert_true(sftpfs_cache_put_contents(c, "/f", data, &st, gen));
	st.st_size = 6;
	g_assert_false(sftpfs_cache_put_contents(c, "/f", data, &st, gen));
	st.st_size = 5;
	sftpfs_cache_changed(c, "/other");
	g_assert_false(sftpfs_cache_put_contents(c, "/f", data, &st, gen));
	/* a local change to the path or a rename drops them */
	out = sftpfs_cache_get_contents(c, "/f", &got);
	g_assert_nonnull(out);
	g_bytes_unref(out);
	sftpfs_cache_renamed(c, "/g", "/f");
	g_assert_null(sftpfs_cache_get_contents(c, "/f", &got));
	gen = sftpfs_cache_generation(c);
	sftpfs_cache_put_attr(c, "/f", &st, gen);
	g_assert_true(sftpfs_cache_put_contents(c, "/f", data, &st, gen));
	sftpfs_cache_changed(c, "/f");
	sftpfs_cache_put_attr(c, "/f", &st, sftpfs_cache_generation(c));
	g_assert_null(sftpfs_cache_get_contents(c, "/f", &got));
	/* larger than a file may be: refused */
	gen = sftpfs_cache_generation(c);
	big = g_bytes_new_take(g_malloc0(SFTPFS_CACHE_CONTENTS_FILE_MAX + 1), SFTPFS_CACHE_CONTENTS_FILE_MAX + 1);
	st.st_size = SFTPFS_CACHE_CONTENTS_FILE_MAX + 1;
	sftpfs_cache_put_attr(c, "/big", &st, gen);
	g_assert_false(sftpfs_cache_put_contents(c, "/big", big, &st, gen));
	g_bytes_unref(big);
	g_bytes_unref(data);
	sftpfs_cache_free(c);
}

static void test_zero_timeout_and_null(void)
{
	struct sftpfs_cache *c = new_cache(0, 0, 0, 100);
	struct stat st;
	int err;

	put(c, "/a", 1);
	sftpfs_cache_added(c, "/d", true);
	g_assert_cmpint(lookup(c, "/a", NULL), ==, 0);
	g_assert_false(sftpfs_cache_has_dir(c, "/d"));
	g_assert_cmpuint(sftpfs_cache_size(c), ==, 0);
	sftpfs_cache_free(c);

	/* dir_cache=no: no cache at all, every call is safe */
	g_assert_false(sftpfs_cache_get_attr(NULL, "/a", &st, &err));
	sftpfs_cache_put_attr(NULL, "/a", &st, 0);
	sftpfs_cache_renamed(NULL, "/a", "/b");
	g_assert_null(sftpfs_cache_get_dir(NULL, "/"));
	g_assert_false(sftpfs_cache_keep_pages(NULL, "/a"));
	sftpfs_cache_free(NULL);
}

static void config_of(const char *olist, struct sftpfs_cache_config *cc)
{
	struct sftpfs_opts o;
	char *errmsg = NULL;

	sftpfs_opts_init(&o);
	g_assert_cmpint(sftpfs_opts_parse_olist(&o, olist, &errmsg), ==, 0);
	g_assert_null(errmsg);
	sftpfs_cache_config_from_opts(&o, cc);
	sftpfs_opts_clear(&o);
}

static void test_options(void)
{
	struct sftpfs_cache_config cc;

	/* sshfs 3.7 defaults */
	config_of("", &cc);
	g_assert_cmpint(cc.stat_timeout_us, ==, S(20));
	g_assert_cmpint(cc.dir_timeout_us, ==, S(20));
	g_assert_cmpint(cc.link_timeout_us, ==, S(20));
	g_assert_cmpuint(cc.max_size, ==, 10000);
	g_assert_cmpint(cc.clean_interval_us, ==, S(60));
	g_assert_cmpint(cc.min_clean_interval_us, ==, S(5));
	/* the general timeout, and specific ones over it in any order */
	config_of("dcache_stat_timeout=3,dcache_timeout=7", &cc);
	g_assert_cmpint(cc.stat_timeout_us, ==, S(3));
	g_assert_cmpint(cc.dir_timeout_us, ==, S(7));
	g_assert_cmpint(cc.link_timeout_us, ==, S(7));
	config_of("dcache_dir_timeout=4,dcache_link_timeout=5,dcache_max_size=9,"
		  "dcache_clean_interval=11,dcache_min_clean_interval=2", &cc);
	g_assert_cmpint(cc.stat_timeout_us, ==, S(20));
	g_assert_cmpint(cc.dir_timeout_us, ==, S(4));
	g_assert_cmpint(cc.link_timeout_us, ==, S(5));
	g_assert_cmpuint(cc.max_size, ==, 9);
	g_assert_cmpint(cc.clean_interval_us, ==, S(11));
	g_assert_cmpint(cc.min_clean_interval_us, ==, S(2));
	/* the older cache_* names are the same options */
	config_of("cache_timeout=8,cache_stat_timeout=1,cache_dir_timeout=2,cache_link_timeout=3,"
		  "cache_max_size=4,cache_clean_interval=5,cache_min_clean_interval=6", &cc);
	g_assert_cmpint(cc.stat_timeout_us, ==, S(1));
	g_assert_cmpint(cc.dir_timeout_us, ==, S(2));
	g_assert_cmpint(cc.link_timeout_us, ==, S(3));
	g_assert_cmpuint(cc.max_size, ==, 4);
	g_assert_cmpint(cc.clean_interval_us, ==, S(5));
	g_assert_cmpint(cc.min_clean_interval_us, ==, S(6));
	config_of("cache_timeout=8", &cc);
	g_assert_cmpint(cc.link_timeout_us, ==, S(8));
	/* max size 0 still holds one entry */
	config_of("dcache_max_size=0", &cc);
	g_assert_cmpuint(cc.max_size, ==, 1);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cache/attr-expiry", test_attr_expiry);
	g_test_add_func("/cache/separate-timeouts", test_separate_timeouts);
	g_test_add_func("/cache/negative", test_negative);
	g_test_add_func("/cache/generation", test_generation);
	g_test_add_func("/cache/lru-eviction", test_lru_eviction);
	g_test_add_func("/cache/size-bound", test_size_bound);
	g_test_add_func("/cache/sweep", test_sweep);
	g_test_add_func("/cache/added-removed", test_added_removed);
	g_test_add_func("/cache/rename", test_rename);
	g_test_add_func("/cache/changed", test_changed);
	g_test_add_func("/cache/contents", test_contents);
	g_test_add_func("/cache/keep-pages", test_keep_pages);
	g_test_add_func("/cache/zero-timeout-and-null", test_zero_timeout_and_null);
	g_test_add_func("/cache/options", test_options);
	return g_test_run();
}
