/*
 * files.c - open files and directories across reconnects, and write-behind
 * that never loses a write.
 *
 * A struct sftpfs_file (sftpfs.h) holds a reference to the link its handle
 * belongs to. When that link dies, the next access (sftpfs_file_handle, a
 * write, a flush) reopens the file on the slot's new link from its path and
 * flags without CREAT/TRUNC/EXCL (sftp_reopen_flags); a file that cannot be
 * reopened (renamed or deleted on the server meanwhile, or nameless:
 * sftpfs_files_unlinked) gives ERR_STALE on that handle only.
 *
 * Writes: write() copies the data into a record queued on the file, sends it
 * as pipelined asynchronous WRITEs and returns; the record stays queued until
 * the server acknowledges it. At most WB_FILE_MAX unacknowledged bytes per
 * file (write() waits beyond), WB_TOTAL_MAX for the whole process. flush,
 * fsync and release wait until the queue is empty, so when close() returns
 * the data is on the server (close-to-open). A WRITE failed by the server
 * latches its error, reported at the next write, flush, fsync or close; a
 * WRITE lost with its connection stays queued and is sent again, oldest
 * first and before anything newer (io_lock orders senders), on the reopened
 * handle. -o sshfs_sync makes every write wait for its acknowledgement.
 *
 * Write lanes: one SFTP channel carries at most its window (OpenSSH's sshd
 * gives a session channel 2 MiB) per round trip. Once a file has been
 * written sequentially for STRIPE_AFTER bytes, it is opened again (WRITE
 * only) on up to write_lanes - 1 more SFTP sessions of the same connection
 * (sftpfs_link_lanes, each its own channel and server process, started once
 * per connection in the background while the file goes on writing on its
 * own handle), and its
 * WRITEs are spread over the handles by offset, STRIPE_CHUNK bytes each. The
 * queue stays the file's; each record remembers its lane. A server may
 * reorder requests of different channels, so a record never goes on another
 * lane than an unacknowledged record it overlaps (it follows that record,
 * or waits when it overlaps records on two lanes): overlapping records in
 * flight always share one lane and land in order. flush, fsync and release
 * wait for every lane; fsync syncs every lane handle that was written;
 * release closes them. A lane whose stream dies while the connection lives
 * ends striping for the file: once every answer is in, its unacknowledged
 * writes go again, in order, on the file's own handle. A lost connection
 * takes the lanes with it; the reopen sends everything on the new handle
 * and a long sequential run stripes again. Requests on the file's own handle
 * other than WRITEs (FSTAT, FSETSTAT, ...) wait until no lane has a write
 * pending, so they see every write. O_APPEND files and -o sshfs_sync never
 * stripe.
 *
 * O_APPEND: the server appends each WRITE at its own end of file, so a WRITE
 * that landed but whose acknowledgement was lost must not be sent again. The
 * file keeps append_size, its size at the last (re)open plus every byte
 * acknowledged since. After a reconnect, the reopened file's size S tells how
 * many of the queued writes landed: the prefix w1..wj with append_size +
 * |w1..wj| == S; its bytes are read back and compared before they are
 * dropped as delivered, and the rest is sent again. If no prefix fits (the
 * file was changed by someone else meanwhile) or the bytes differ, the
 * writes cannot be delivered safely: the writer gets EIO rather than
 * duplicated or lost data.
 */
#include "config.h"

#include <string.h>

#include "log.h"
#include "readahead.h"
#include "sftpfs.h"

/* Unacknowledged write bytes per file, and in the whole process, before
 * write() waits for acknowledgements. */
#define WB_FILE_MAX (16u * 1024 * 1024)
#define WB_TOTAL_MAX (64u * 1024 * 1024)

/* A server window whose half is smaller would hold the WRITEs back (Dropbear's
 * is small): the write window then stays the SFTP window alone. */
#define WRITE_WINDOW_SHORT_MIN (512u * 1024)

/* How often a waiting writer looks again whether its link died. */
#define WB_RECHECK_US (250 * 1000)

/* Sequential bytes before a file's writes are spread over lanes, and the
 * bytes of each lane's turn. */
#define STRIPE_AFTER (8u * 1024 * 1024)
#define STRIPE_CHUNK (1u * 1024 * 1024)

/* A file's handles on the lanes of its link (index 0 is f->handle). */
struct wb_lanes {
	struct sftpfs_link *link; /* f->link when opened (borrowed: reset with it) */
	unsigned n;               /* lanes written on now; 1 = striping over */
	unsigned opened;          /* handles to close, index 0 included */
	struct sftp_client *client[WRITE_LANES_MAX];
	struct sftp_handle handle[WRITE_LANES_MAX];
	bool written[WRITE_LANES_MAX]; /* WRITEs since the last fsync */
	bool broken;              /* a lane's stream died, the connection lives */
};

struct wb_write {
	uint64_t seq;
	uint64_t offset;
	size_t len;
	uint8_t *data;
	bool sent;     /* on the current handle, answer pending */
	unsigned lane; /* which lane it went on (wb_lanes) */
	/* An FSETSTAT queued behind the writes (len 0, lane 0): attrs. */
	bool setstat;
	struct sftp_attrs attrs;
};

static void wb_free(struct wb_write *w)
{
	g_free(w->data);
	g_free(w);
}

/* One WRITE request in flight; freed by its callback. */
struct wb_send {
	struct sftpfs_file *f;
	uint64_t seq;
	struct sftp_client *client;
	unsigned lane;
};

static gint64 wb_total; /* bytes queued in every file (atomic) */
static GMutex wb_total_lock;
static GCond wb_total_cond;

char *sftpfs_rpath(const struct sftpfs *fs, const char *path)
{
	if (path == NULL || strcmp(path, "/") == 0)
		return g_strdup(fs->base);
	if (strcmp(fs->base, "/") == 0)
		return g_strdup(path);
	return g_strconcat(fs->base, path, NULL);
}

/* ---- the open-files index ---- */

void sftpfs_files_init(struct sftpfs *fs)
{
	g_mutex_init(&fs->files_lock);
	fs->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
}

static struct sftpfs_file *file_ref(struct sftpfs_file *f);
static void file_unref(struct sftpfs_file *f);

void sftpfs_files_clear(struct sftpfs *fs)
{
	GHashTableIter it;
	gpointer value;

	if (fs->files == NULL)
		return;
	/* Files still open here were never released: the loop ended first (a
	 * signal, or a lazy unmount with files open). Drop the reference their
	 * FUSE handle held; the server closes their handles with the link. */
	g_hash_table_iter_init(&it, fs->files);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		GPtrArray *a = value;

		for (guint i = 0; i < a->len; i++)
			file_unref(g_ptr_array_index(a, i));
	}
	g_hash_table_destroy(fs->files);
	fs->files = NULL;
	g_mutex_clear(&fs->files_lock);
}

static void index_add(struct sftpfs_file *f)
{
	struct sftpfs *fs = f->fs;
	GPtrArray *a;

	g_mutex_lock(&fs->files_lock);
	a = g_hash_table_lookup(fs->files, f->path);
	if (a == NULL) {
		a = g_ptr_array_new();
		g_hash_table_insert(fs->files, g_strdup(f->path), a);
	}
	g_ptr_array_add(a, f);
	g_mutex_unlock(&fs->files_lock);
}

static void index_remove(struct sftpfs_file *f)
{
	struct sftpfs *fs = f->fs;
	GPtrArray *a;

	g_mutex_lock(&fs->files_lock);
	a = g_hash_table_lookup(fs->files, f->path);
	if (a != NULL) {
		g_ptr_array_remove_fast(a, f);
		if (a->len == 0)
			g_hash_table_remove(fs->files, f->path);
	}
	g_mutex_unlock(&fs->files_lock);
}

/* to + the part of path after from (path is from or under it). */
static char *renamed(const char *path, const char *from, const char *to)
{
	return g_strconcat(to, path + strlen(from), NULL);
}

static bool under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

void sftpfs_files_rename(struct sftpfs *fs, const char *from, const char *to)
{
	GHashTableIter it;
	gpointer key, value;
	GPtrArray *moved = g_ptr_array_new();

	g_mutex_lock(&fs->files_lock);
	g_hash_table_iter_init(&it, fs->files);
	while (g_hash_table_iter_next(&it, &key, &value)) {
		if (!under(key, from))
			continue;
		g_ptr_array_add(moved, g_ptr_array_ref(value));
		g_hash_table_iter_remove(&it);
	}
	for (guint i = 0; i < moved->len; i++) {
		GPtrArray *a = g_ptr_array_index(moved, i);
		struct sftpfs_file *first = g_ptr_array_index(a, 0);
		char *np = renamed(first->path, from, to);
		GPtrArray *dst = g_hash_table_lookup(fs->files, np);

		for (guint j = 0; j < a->len; j++) {
			struct sftpfs_file *f = g_ptr_array_index(a, j);
			g_free(f->path);
			f->path = g_strdup(np);
			if (dst != NULL)
				g_ptr_array_add(dst, f);
		}
		if (dst == NULL)
			g_hash_table_insert(fs->files, np, g_ptr_array_ref(a));
		else
			g_free(np);
		g_ptr_array_unref(a);
	}
	g_mutex_unlock(&fs->files_lock);
	g_ptr_array_unref(moved);
}

/*
 * path was removed or renamed over through the mount: the files open on it
 * keep their handles but no longer have a name. They leave the index (they
 * answer for no path, a new file of that name is another file), and a
 * reopen after a lost connection fails (ERR_STALE) instead of opening
 * whatever has the name by then.
 */
void sftpfs_files_unlinked(struct sftpfs *fs, const char *path)
{
	gpointer key = NULL, value = NULL;
	GPtrArray *a;

	g_mutex_lock(&fs->files_lock);
	if (!g_hash_table_steal_extended(fs->files, path, &key, &value)) {
		g_mutex_unlock(&fs->files_lock);
		return;
	}
	a = value;
	for (guint i = 0; i < a->len; i++)
		file_ref(g_ptr_array_index(a, i));
	g_mutex_unlock(&fs->files_lock);
	for (guint i = 0; i < a->len; i++) {
		struct sftpfs_file *f = g_ptr_array_index(a, i);

		g_mutex_lock(&f->lock);
		f->nameless = true;
		f->known = false;
		g_mutex_unlock(&f->lock);
		file_unref(f);
	}
	g_free(key);
	g_ptr_array_unref(a);
}

/* ---- files ---- */

static struct sftpfs_file *file_ref(struct sftpfs_file *f)
{
	g_atomic_int_inc(&f->refs);
	return f;
}

static void file_unref(struct sftpfs_file *f)
{
	struct wb_write *w;

	if (f == NULL || !g_atomic_int_dec_and_test(&f->refs))
		return;
	while ((w = g_queue_pop_head(&f->writes)) != NULL)
		wb_free(w);
	readahead_free(f->ra); /* before the link: it waits for READ callbacks */
	g_free(f->lanes);
	if (f->contents != NULL)
		g_bytes_unref(f->contents);
	if (f->shadow != NULL)
		g_byte_array_unref(f->shadow);
	sftpfs_link_unref(f->link);
	g_cond_clear(&f->cond);
	g_mutex_clear(&f->lock);
	g_mutex_clear(&f->io_lock);
	g_free(f->path);
	g_free(f);
}

char *sftpfs_file_path(struct sftpfs_file *f)
{
	char *p;

	g_mutex_lock(&f->fs->files_lock);
	p = g_strdup(f->path);
	g_mutex_unlock(&f->fs->files_lock);
	return p;
}

/* The remote path to reopen. */
static char *file_rpath(struct sftpfs_file *f)
{
	g_autofree char *path = sftpfs_file_path(f);

	return sftpfs_rpath(f->fs, path);
}

static uint64_t file_size_of(struct sftp_client *c, const struct sftp_handle *h, int *err)
{
	struct sftp_attrs a = { 0 };
	uint64_t size = 0;

	*err = sftp_fstat(c, h, &a);
	if (*err == 0 && !(a.flags & SFTP_ATTR_SIZE))
		*err = ERR_PROTOCOL;
	if (*err == 0)
		size = a.size;
	sftp_attrs_clear(&a);
	return size;
}

/*
 * An OPEN on l took us: l's round trip is at most that. Over a round trip
 * shorter than write_lanes_rtt the server's channel window is no limit, and
 * keeping its buffers half empty makes it faster: with OpenSSH's 2 MiB
 * window, a 512 MiB loopback write went at 317-385 MB/s with 1-1.5 MiB of
 * WRITEs in flight, 222-311 with 2 MiB, 229-282 with 8 MiB (session 5).
 */
static void link_note_rtt(struct sftpfs_link *l, gint64 us)
{
	gint v = us < 1 ? 1 : us > G_MAXINT ? G_MAXINT : (gint)us, old;
	size_t half;

	do
		old = g_atomic_int_get(&l->rtt_min_us);
	while ((old == 0 || v < old) && !g_atomic_int_compare_and_exchange(&l->rtt_min_us, old, v));
	if ((gint64)v >= (gint64)l->fs->opts->write_lanes_rtt * 1000 || g_atomic_int_get(&l->write_window_set))
		return;
	g_atomic_int_set(&l->write_window_set, 1);
	half = sftp_client_peer_window(l->client) / 2;
	if (half < WRITE_WINDOW_SHORT_MIN)
		return;
	sftp_client_set_write_window(l->client, half);
	log_debug(LOG_CAT_GENERAL, "connection %u: round trip %d us: at most %zu bytes of WRITEs in flight", l->serial, v,
		  half);
}

/* sftp_open on l's client, noting how long it took. */
static int open_timed(struct sftpfs_link *l, const char *remote, uint32_t pflags, const struct sftp_attrs *attrs,
		      struct sftp_handle *out)
{
	gint64 t0 = g_get_monotonic_time();
	int r = sftp_open(l->client, remote, pflags, attrs, out);

	if (r == 0)
		link_note_rtt(l, g_get_monotonic_time() - t0);
	return r;
}

static struct sftpfs_file *file_new(struct sftpfs *fs, const char *path, uint32_t pflags, bool dir)
{
	struct sftpfs_file *f = g_malloc0(sizeof(*f)); /* not g_new0: see sftpfs.h */

	f->refs = 1;
	f->fs = fs;
	f->path = g_strdup(path);
	f->pflags = pflags;
	f->is_dir = dir;
	f->slot = sftpfs_pick_slot(fs);
	g_mutex_init(&f->io_lock);
	g_mutex_init(&f->lock);
	g_cond_init(&f->cond);
	g_queue_init(&f->writes);
	return f;
}

static void lanes_stop_others(struct sftpfs_file *f);

/*
 * An O_APPEND open needs the file's size at the open (the append replay
 * after a reconnect). An LSTAT of the path right behind the OPEN gives it in
 * the same round trip: on the trail the caller armed (create's), or on one
 * of our own (true). For a symlink, or without an answer, an FSTAT follows.
 */
static bool append_trail_arm(const char *remote)
{
	if (sftp_trail_armed()) {
		sftp_trail_also(remote);
		return false;
	}
	sftp_trail_lstat(remote, SFTP_TRAIL_OPEN);
	return true;
}

static void append_trail_take(struct sftpfs_file *f, const char *remote, bool own, bool opened)
{
	const struct sftp_client *on = NULL;
	struct sftp_attrs a = { 0 };
	int r = own ? sftp_trail_take(&a, &on) : sftp_trail_take_also(remote, &a);

	if (!own)
		on = f->link->client; /* the caller's trail: the OPEN's client */
	if (opened && r == 0 && on == f->link->client && (a.flags & SFTP_ATTR_SIZE) &&
	    (a.flags & SFTP_ATTR_PERMISSIONS) && S_ISREG(a.permissions)) {
		f->append_size = a.size;
		f->append_size_known = true;
	}
	sftp_attrs_clear(&a);
}

int sftpfs_file_open(struct sftpfs *fs, const char *path, uint32_t pflags, const struct sftp_attrs *attrs,
		     bool dir, struct sftpfs_file **out)
{
	struct sftpfs_file *f = file_new(fs, path, pflags, dir);
	g_autofree char *remote = sftpfs_rpath(fs, path);
	int r;

	*out = NULL;
	if ((r = sftpfs_slot_link(fs, f->slot, sftpfs_deadline(fs), &f->link)) != 0) {
		file_unref(f);
		return r;
	}
	/* The operation may read the server's status after a failure, with
	 * the same client: keep it held. */
	sftpfs_hold(sftpfs_link_ref(f->link));
	if (dir) {
		r = sftp_opendir(f->link->client, remote, &f->handle);
	} else {
		bool own = false;

		if (pflags & SFTP_FXF_APPEND)
			own = append_trail_arm(remote);
		r = open_timed(f->link, remote, pflags, attrs, &f->handle);
		if (pflags & SFTP_FXF_APPEND)
			append_trail_take(f, remote, own, r == 0);
	}
	if (r == 0 && (pflags & SFTP_FXF_APPEND) && !f->append_size_known) {
		f->append_size = file_size_of(f->link->client, &f->handle, &r);
		f->append_size_known = r == 0;
		r = 0;
	}
	if (r != 0) {
		file_unref(f);
		return r;
	}
	f->ra = dir ? NULL : readahead_new(fs->opts);
	index_add(f);
	if (!dir && (pflags & SFTP_FXF_WRITE))
		lanes_stop_others(f);
	*out = f;
	return 0;
}

static GPtrArray *files_of(struct sftpfs *fs, const char *path, uint32_t pflag);
static void files_free(GPtrArray *busy);

struct sftpfs_file *sftpfs_file_fetched(struct sftpfs *fs, const char *path, GBytes *contents,
					const struct stat *st)
{
	struct sftpfs_file *f = file_new(fs, path, SFTP_FXF_READ, false);

	f->contents = contents;
	f->contents_st = *st;
	f->ra = readahead_new(fs->opts);
	index_add(f);
	return f;
}

bool sftpfs_file_contents_stat(struct sftpfs_file *f, struct stat *st)
{
	bool has;

	g_mutex_lock(&f->lock);
	has = f->contents != NULL;
	if (has)
		*st = f->contents_st;
	g_mutex_unlock(&f->lock);
	return has;
}

void sftpfs_files_void_contents(struct sftpfs *fs, const char *path)
{
	GPtrArray *readers = files_of(fs, path, SFTP_FXF_READ);

	for (guint i = 0; readers != NULL && i < readers->len; i++) {
		struct sftpfs_file *f = g_ptr_array_index(readers, i);

		g_mutex_lock(&f->lock);
		g_clear_pointer(&f->contents, g_bytes_unref);
		g_mutex_unlock(&f->lock);
	}
	files_free(readers);
}

bool sftpfs_file_read_fetched(struct sftpfs_file *f, uint64_t offset, char *out, size_t size, size_t *got)
{
	GBytes *b = NULL;
	const uint8_t *data;
	size_t len;

	g_mutex_lock(&f->lock);
	if (f->contents != NULL)
		b = g_bytes_ref(f->contents);
	g_mutex_unlock(&f->lock);
	if (b == NULL)
		return false;
	data = g_bytes_get_data(b, &len);
	*got = 0;
	if (offset < len) {
		*got = len - offset < size ? len - (size_t)offset : size;
		memcpy(out, data + offset, *got);
	}
	g_bytes_unref(b);
	return true;
}

static bool conn_lost(struct sftp_client *c, int err)
{
	return sftp_client_error(c) != 0 || err == ERR_CONN_CLOSED;
}

static void wb_account(gint64 delta)
{
	g_mutex_lock(&wb_total_lock);
	wb_total += delta;
	if (delta < 0)
		g_cond_broadcast(&wb_total_cond);
	g_mutex_unlock(&wb_total_lock);
}

static struct wb_write *find_write(struct sftpfs_file *f, uint64_t seq)
{
	for (GList *l = f->writes.head; l != NULL; l = l->next) {
		struct wb_write *w = l->data;
		if (w->seq == seq)
			return w;
	}
	return NULL;
}

/* Runs on the I/O thread (or the one shutting the client down). */
static void write_done(void *ctx, int err)
{
	struct wb_send *ws = ctx;
	struct sftpfs_file *f = ws->f;
	struct wb_write *w;
	size_t freed = 0;

	g_mutex_lock(&f->lock);
	f->in_flight--;
	w = find_write(f, ws->seq);
	if (w != NULL) {
		if (err == 0 || !conn_lost(ws->client, err)) {
			if (err == 0) {
				if (f->pflags & SFTP_FXF_APPEND)
					f->append_size += w->len;
			} else {
				if (f->write_err == 0)
					f->write_err = err;
				f->known = false; /* counted on it */
			}
			g_queue_remove(&f->writes, w);
			f->write_bytes -= w->len;
			freed = w->len;
			wb_free(w);
		} else {
			w->sent = false; /* sent again on the reopened handle */
			if (ws->lane != 0 && f->lanes != NULL)
				f->lanes->broken = true;
		}
	}
	g_cond_broadcast(&f->cond);
	g_mutex_unlock(&f->lock);
	if (freed > 0)
		wb_account(-(gint64)freed);
	g_free(ws);
}

/* Sends w on (c, h), lane lane; io_lock held, f->lock not. */
static int send_write(struct sftpfs_file *f, unsigned lane, struct sftp_client *c, const struct sftp_handle *h,
		      struct wb_write *w)
{
	struct wb_send *ws = g_malloc0(sizeof(*ws));
	int r;

	ws->f = f;
	ws->seq = w->seq;
	ws->client = c;
	ws->lane = lane;
	g_mutex_lock(&f->lock);
	w->sent = true;
	w->lane = lane;
	if (f->lanes != NULL)
		f->lanes->written[lane] = true;
	f->in_flight++;
	g_mutex_unlock(&f->lock);
	if (w->setstat)
		r = sftp_fsetstat_async(c, h, &w->attrs, 0, write_done, ws);
	else
		r = sftp_write_async(c, h, w->offset, w->data, w->len, 0, write_done, ws);
	if (r != 0) {
		/* Not queued: the callback will not run. Lost with the
		 * connection, w waits for the reopen; otherwise it fails. */
		size_t freed = 0;

		g_mutex_lock(&f->lock);
		w->sent = false;
		f->in_flight--;
		if (!conn_lost(c, r)) {
			if (f->write_err == 0)
				f->write_err = r;
			f->known = false;
			g_queue_remove(&f->writes, w);
			f->write_bytes -= w->len;
			freed = w->len;
			wb_free(w);
		} else if (lane != 0 && f->lanes != NULL) {
			/* A lane that died with nothing in flight has no
			 * callback to tell: this is how we learn it. */
			f->lanes->broken = true;
		}
		g_cond_broadcast(&f->cond);
		g_mutex_unlock(&f->lock);
		if (freed > 0)
			wb_account(-(gint64)freed);
		g_free(ws);
	}
	return r;
}

/* Drops every queued write (they cannot be delivered) with error err. */
static void drop_writes_locked(struct sftpfs_file *f, int err)
{
	struct wb_write *w;
	size_t freed = 0;
	bool any = false;

	while ((w = g_queue_pop_head(&f->writes)) != NULL) {
		freed += w->len;
		any = true;
		wb_free(w);
	}
	f->write_bytes = 0;
	if (f->write_err == 0 && any)
		f->write_err = err;
	if (any)
		f->known = false;
	g_cond_broadcast(&f->cond);
	if (freed > 0)
		wb_account(-(gint64)freed);
}

/*
 * O_APPEND after a reconnect (see the top of the file): drops the queued
 * writes that already landed. f->lock held; c, h the reopened handle.
 */
static int append_settle_locked(struct sftpfs_file *f, struct sftp_client *c, const struct sftp_handle *h,
				const char *remote)
{
	uint64_t size, sum = 0;
	unsigned landed = 0;
	bool fits = false;
	int r;

	if (g_queue_is_empty(&f->writes))
		goto refresh;
	if (!f->append_size_known)
		return ERR_STALE;
	size = file_size_of(c, h, &r);
	if (r != 0)
		return r;
	if (size == f->append_size) {
		fits = true;
	} else {
		for (GList *l = f->writes.head; l != NULL; l = l->next) {
			struct wb_write *w = l->data;
			sum += w->len;
			landed++;
			if (f->append_size + sum == size) {
				fits = true;
				break;
			}
			if (f->append_size + sum > size)
				break;
		}
	}
	if (!fits) {
		log_info(LOG_CAT_GENERAL, "%s: changed on the server while appending; queued writes not sent again",
			 remote);
		return ERR_STALE;
	}
	if (landed > 0) {
		/* Compare what is there with what we think landed. */
		struct sftp_handle rh;
		g_autofree uint8_t *got = g_malloc(sum);
		size_t n = 0, done = 0;
		GList *l = f->writes.head;

		if ((r = sftp_open(c, remote, SFTP_FXF_READ, NULL, &rh)) != 0)
			return r == ERR_CONN_CLOSED ? r : ERR_STALE;
		while (done < sum && (r = sftp_read(c, &rh, f->append_size + done, got + done, sum - done, &n)) == 0 &&
		       n > 0)
			done += n;
		if (sftp_close(c, &rh) != 0)
			log_debug(LOG_CAT_GENERAL, "%s: close after reading back failed", remote);
		if (r != 0 && r != ERR_EOF)
			return r;
		for (unsigned i = 0, off = 0; i < landed && done == sum; i++, l = l->next) {
			struct wb_write *w = l->data;
			if (memcmp(got + off, w->data, w->len) != 0)
				done = 0;
			off += (unsigned)w->len;
		}
		if (done != sum) {
			log_info(LOG_CAT_GENERAL, "%s: appended data differs on the server; queued writes not sent again",
				 remote);
			return ERR_STALE;
		}
		for (unsigned i = 0; i < landed; i++) {
			struct wb_write *w = g_queue_pop_head(&f->writes);
			f->write_bytes -= w->len;
			wb_account(-(gint64)w->len);
			wb_free(w);
		}
		log_info(LOG_CAT_GENERAL, "%s: %u appended writes had landed before the connection was lost", remote,
			 landed);
	}
refresh:
	f->append_size = file_size_of(c, h, &r);
	f->append_size_known = r == 0;
	return 0;
}

/*
 * Sends every record of resend (then freed) on (c, h), the file's own
 * handle, in order; the first error. Every record goes, or stays queued for
 * the next reopen: none is left unsent behind a failed one (send_write
 * latches and drops what cannot go). Records sent here cannot be freed
 * before their callbacks, and only those free them. io_lock held.
 */
static int resend_all(struct sftpfs_file *f, struct sftp_client *c, const struct sftp_handle *h, GPtrArray *resend)
{
	int r = 0;

	for (guint i = 0; i < resend->len; i++) {
		int e = send_write(f, 0, c, h, g_ptr_array_index(resend, i));

		if (r == 0)
			r = e;
	}
	g_ptr_array_unref(resend);
	return r;
}

static bool lanes_broken_locked(const struct sftpfs_file *f)
{
	return f->lanes != NULL && f->lanes->broken;
}

/*
 * A lane died with the connection alive (f->lock held, io_lock too): once
 * every answer is in, striping ends for f and its unacknowledged writes are
 * returned (in order) to be sent again on its own handle. NULL when the
 * link died meanwhile (the reopen sends them).
 */
static GPtrArray *lanes_abandon_locked(struct sftpfs_file *f)
{
	GPtrArray *resend;

	while (f->in_flight > 0 && !sftpfs_link_dead(f->link))
		g_cond_wait_until(&f->cond, &f->lock, g_get_monotonic_time() + WB_RECHECK_US);
	if (f->in_flight > 0)
		return NULL;
	f->lanes->n = 1;
	f->lanes->broken = false;
	resend = g_ptr_array_new();
	for (GList *l = f->writes.head; l != NULL; l = l->next)
		g_ptr_array_add(resend, l->data);
	return resend;
}

/*
 * Makes f's handle usable: reopens it on the slot's current link if its own
 * died, then sends every unacknowledged write again in order; after a lane
 * died, sends its writes again on the file's own handle. io_lock held.
 */
static int ensure_handle_locked(struct sftpfs_file *f)
{
	struct sftpfs *fs = f->fs;
	gint64 deadline = sftpfs_deadline(fs);
	struct sftpfs_link *nl = NULL, *old;
	struct sftp_handle nh;
	g_autofree char *remote = NULL;
	GPtrArray *resend;
	int r;

	for (;;) {
		g_mutex_lock(&f->lock);
		if (f->stale == 0 && f->nameless && sftpfs_link_dead(f->link)) {
			log_info(LOG_CAT_GENERAL, "%s: cannot reopen: removed or replaced through the mount", f->path);
			f->stale = ERR_STALE;
			drop_writes_locked(f, ERR_STALE);
		}
		if (f->stale != 0) {
			r = f->stale;
			g_mutex_unlock(&f->lock);
			return r;
		}
		if (!sftpfs_link_dead(f->link) && lanes_broken_locked(f)) {
			struct sftp_client *c = f->link->client;
			struct sftp_handle h = f->handle;

			resend = lanes_abandon_locked(f);
			g_mutex_unlock(&f->lock);
			if (resend == NULL)
				continue; /* the link died: reopen */
			log_debug(LOG_CAT_GENERAL, "a write lane was lost: %u writes sent again on the file's handle",
				  resend->len);
			r = resend_all(f, c, &h, resend);
			if (r != 0 && !sftpfs_link_dead(f->link))
				return r;
			continue;
		}
		if (!sftpfs_link_dead(f->link)) {
			g_mutex_unlock(&f->lock);
			return 0;
		}
		/* Let the dead link's callbacks settle the queue first. */
		while (f->in_flight > 0)
			g_cond_wait_until(&f->cond, &f->lock, g_get_monotonic_time() + WB_RECHECK_US);
		g_mutex_unlock(&f->lock);

		if ((r = sftpfs_slot_link(fs, f->slot, deadline, &nl)) != 0)
			return r;
		g_free(remote);
		remote = file_rpath(f);
		if (f->is_dir)
			r = sftp_opendir(nl->client, remote, &nh);
		else
			r = open_timed(nl, remote, sftp_reopen_flags(f->pflags), NULL, &nh);
		if (r != 0 && sftpfs_link_dead(nl) && g_get_monotonic_time() < deadline) {
			sftpfs_link_unref(nl);
			continue; /* lost again: wait for the next one */
		}
		g_mutex_lock(&f->lock);
		if (r == 0 && (f->pflags & SFTP_FXF_APPEND))
			r = append_settle_locked(f, nl->client, &nh, remote);
		if (r != 0) {
			if (sftpfs_link_dead(nl)) {
				g_mutex_unlock(&f->lock);
				sftpfs_link_unref(nl);
				if (g_get_monotonic_time() < deadline)
					continue;
				return ERR_CONN_CLOSED;
			}
			log_info(LOG_CAT_GENERAL, "%s: cannot reopen after reconnecting: %s", remote, err_str(r));
			f->stale = ERR_STALE;
			drop_writes_locked(f, ERR_STALE);
			g_mutex_unlock(&f->lock);
			sftpfs_link_unref(nl);
			return ERR_STALE;
		}
		old = f->link;
		f->link = nl;
		f->handle = nh;
		/* The lanes went with the old connection. */
		g_clear_pointer(&f->lanes, g_free);
		f->seq_run = 0;
		resend = g_ptr_array_new();
		for (GList *l = f->writes.head; l != NULL; l = l->next)
			g_ptr_array_add(resend, l->data);
		g_mutex_unlock(&f->lock);
		if (old == NULL) /* read ahead (fileahead.c): its first handle */
			log_debug(LOG_CAT_FUSE, "%s: opened on first use", remote);
		else
			log_info(LOG_CAT_GENERAL, "%s: reopened after reconnecting; %u unacknowledged writes sent again",
				 remote, resend->len);
		sftpfs_link_unref(old);
		r = resend_all(f, nl->client, &nh, resend);
		if (r != 0 && !sftpfs_link_dead(nl))
			return r;
		/* If the new link died too, the loop starts over. */
	}
}

static int wait_queue(struct sftpfs_file *f, size_t limit);

int sftpfs_file_handle(struct sftpfs_file *f, struct sftp_client **c, struct sftp_handle *h)
{
	bool lanes_busy;
	int r;

	*c = NULL;
	/* A request on the handle must not overtake writes on other lanes
	 * (the server orders one channel only). */
	g_mutex_lock(&f->lock);
	lanes_busy = f->lanes != NULL && f->lanes->opened > 1 && !g_queue_is_empty(&f->writes);
	g_mutex_unlock(&f->lock);
	if (lanes_busy && (r = wait_queue(f, 0)) != 0)
		return r;
	g_mutex_lock(&f->io_lock);
	r = ensure_handle_locked(f);
	if (r == 0) {
		g_mutex_lock(&f->lock);
		sftpfs_hold(sftpfs_link_ref(f->link));
		*c = f->link->client;
		*h = f->handle;
		g_mutex_unlock(&f->lock);
	}
	g_mutex_unlock(&f->io_lock);
	return r;
}

static int take_write_err(struct sftpfs_file *f)
{
	int r;

	g_mutex_lock(&f->lock);
	r = f->write_err;
	f->write_err = 0;
	g_mutex_unlock(&f->lock);
	return r;
}

/* More than limit bytes queued; for 0, any record (an FSETSTAT has no
 * bytes) or anything in flight. */
static bool queue_over_locked(struct sftpfs_file *f, size_t limit)
{
	if (limit > 0)
		return f->write_bytes > limit;
	return f->in_flight > 0 || !g_queue_is_empty(&f->writes);
}

/* Waits until the queue holds at most limit bytes (0: empty and nothing in
 * flight), reopening and resending whenever the link dies. */
static int wait_queue(struct sftpfs_file *f, size_t limit)
{
	gint64 deadline = sftpfs_deadline(f->fs);
	int r;

	for (;;) {
		bool dead;

		g_mutex_lock(&f->lock);
		while (queue_over_locked(f, limit)) {
			if (sftpfs_link_dead(f->link) || lanes_broken_locked(f))
				break;
			g_cond_wait_until(&f->cond, &f->lock, g_get_monotonic_time() + WB_RECHECK_US);
		}
		dead = queue_over_locked(f, limit) && (sftpfs_link_dead(f->link) || lanes_broken_locked(f));
		g_mutex_unlock(&f->lock);
		if (!dead)
			return 0;
		g_mutex_lock(&f->io_lock);
		r = ensure_handle_locked(f);
		g_mutex_unlock(&f->io_lock);
		if (r != 0)
			return r;
		g_mutex_lock(&f->lock);
		dead = sftpfs_link_dead(f->link); /* a reopen swaps it under lock */
		g_mutex_unlock(&f->lock);
		if (g_get_monotonic_time() > deadline && dead)
			return ERR_CONN_CLOSED;
	}
}

/* Waits while the whole process has too much unacknowledged data. */
static void wait_total(struct sftpfs_file *f)
{
	g_mutex_lock(&wb_total_lock);
	while (wb_total > (gint64)WB_TOTAL_MAX) {
		g_mutex_unlock(&wb_total_lock);
		/* Our own queue may be what holds it up. */
		if (f->write_bytes > 0 && wait_queue(f, 0) != 0)
			return;
		g_mutex_lock(&wb_total_lock);
		if (wb_total > (gint64)WB_TOTAL_MAX)
			g_cond_wait_until(&wb_total_cond, &wb_total_lock, g_get_monotonic_time() + WB_RECHECK_US);
	}
	g_mutex_unlock(&wb_total_lock);
}

/* ---- write lanes ---- */

static GPtrArray *writers_of(struct sftpfs *fs, const char *path);

/* One request on a lane handle, run in parallel with the others. */
struct lane_job {
	struct sftp_client *client;
	const char *path; /* OPEN */
	struct sftp_handle handle;
	int (*run)(struct lane_job *j);
	int r;
	unsigned lane; /* lanes_each: which one */
};

static int lane_open(struct lane_job *j)
{
	return sftp_open(j->client, j->path, SFTP_FXF_WRITE, NULL, &j->handle);
}

static int lane_fsync(struct lane_job *j)
{
	return sftp_client_has(j->client, SFTP_EXT_FSYNC) ? sftp_fsync(j->client, &j->handle) : 0;
}

static int lane_close(struct lane_job *j)
{
	return sftp_close(j->client, &j->handle);
}

static void lane_job_run(void *data)
{
	struct lane_job *j = data;

	j->r = j->run(j);
}

/*
 * f has been written sequentially for long: opens it on the link's lanes.
 * io_lock held, f's link alive. While the link's lanes are being started
 * (in the background) f goes on writing on its own handle and this is asked
 * again at its next write. With no lane, f keeps its one handle (and does
 * not try again on this link).
 */
static void lanes_start(struct sftpfs_file *f)
{
	struct wb_lanes *ln;
	struct sftp_client *lc[WRITE_LANES_MAX];
	struct lane_job jobs[WRITE_LANES_MAX];
	struct sftp_limits own, lim;
	g_autofree char *remote = NULL;
	g_autofree char *path = NULL;
	GPtrArray *busy;
	bool alone, pending;
	unsigned got;

	got = sftpfs_link_lanes(f->link, f->fs->opts->write_lanes - 1, lc, &pending);
	if (pending)
		return;
	path = sftpfs_file_path(f);
	busy = writers_of(f->fs, path);
	alone = busy == NULL || busy->len == 1;
	files_free(busy);
	if (!alone) {
		/* Another descriptor writes the path: its WRITEs and ours are
		 * ordered only on one channel. Asked again after the next run. */
		f->seq_run = 0;
		return;
	}
	ln = g_malloc0(sizeof(*ln));
	remote = file_rpath(f);
	memset(jobs, 0, sizeof(jobs));
	for (unsigned i = 0; i < got; i++) {
		jobs[i].client = lc[i];
		jobs[i].path = remote;
		jobs[i].run = lane_open;
	}
	sftpfs_run_parallel(lane_job_run, jobs, sizeof(jobs[0]), got);
	sftp_client_limits(f->link->client, &own);
	ln->link = f->link;
	ln->client[0] = f->link->client;
	ln->n = 1;
	for (unsigned i = 0; i < got; i++) {
		sftp_client_limits(lc[i], &lim);
		if (jobs[i].r != 0) {
			log_debug(LOG_CAT_GENERAL, "%s: no handle on a write lane: %s", remote, err_str(jobs[i].r));
			continue;
		}
		if (lim.write_length < own.write_length) {
			/* It cannot carry our WRITEs (never with one server program). */
			if (sftp_close(lc[i], &jobs[i].handle) != 0)
				log_debug(LOG_CAT_GENERAL, "%s: closing a lane handle failed", remote);
			continue;
		}
		ln->client[ln->n] = lc[i];
		ln->handle[ln->n] = jobs[i].handle;
		ln->n++;
	}
	ln->opened = ln->n;
	log_debug(LOG_CAT_GENERAL, "%s: writes spread over %u lanes", remote, ln->n);
	g_mutex_lock(&f->lock);
	f->lanes = ln;
	g_mutex_unlock(&f->lock);
}

/* Waits until none of g's unacknowledged writes is on a lane beyond its own
 * handle (g may go on writing on its handle meanwhile: waiting for its whole
 * queue could last as long as it writes); false if the link or a lane died
 * or the deadline passed first. */
static bool lanes_settle(struct sftpfs_file *g)
{
	gint64 deadline = sftpfs_deadline(g->fs);
	bool busy = true;

	g_mutex_lock(&g->lock);
	while (!sftpfs_link_dead(g->link) && !lanes_broken_locked(g) && g_get_monotonic_time() < deadline) {
		busy = false;
		for (GList *l = g->writes.head; l != NULL && !busy; l = l->next) {
			const struct wb_write *w = l->data;

			busy = w->sent && w->lane != 0;
		}
		if (!busy)
			break;
		g_cond_wait_until(&g->cond, &g->lock, g_get_monotonic_time() + WB_RECHECK_US);
	}
	g_mutex_unlock(&g->lock);
	return !busy;
}

/*
 * f was opened for writing: another descriptor of its path striping its
 * writes goes back to its own handle (new writes there, or on the lane of a
 * write they overlap, until the lanes are drained), so the writes of the two
 * are ordered on one channel.
 */
static void lanes_stop_others(struct sftpfs_file *f)
{
	g_autofree char *path = sftpfs_file_path(f);
	GPtrArray *busy = writers_of(f->fs, path);

	for (guint i = 0; busy != NULL && i < busy->len; i++) {
		struct sftpfs_file *g = g_ptr_array_index(busy, i);
		bool striped;

		if (g == f)
			continue;
		g_mutex_lock(&g->io_lock);
		g_mutex_lock(&g->lock);
		striped = g->lanes != NULL && g->lanes->n > 1;
		if (striped)
			g->lanes->n = 1;
		g_mutex_unlock(&g->lock);
		g_mutex_unlock(&g->io_lock);
		if (striped && !lanes_settle(g))
			log_debug(LOG_CAT_GENERAL, "%s: draining another descriptor's lanes failed", path);
	}
	files_free(busy);
}

/* Counts a write into f's sequential run (io_lock held); a long one starts
 * the lanes, over a link with a round trip long enough for one channel's
 * window to be the limit (on loopback the extra server processes only cost
 * CPU: 204-216 vs 234-258 MB/s with one lane). */
static void lanes_consider(struct sftpfs_file *f, uint64_t offset, size_t len)
{
	const struct sftpfs_opts *o = f->fs->opts;

	f->seq_run = offset == f->seq_next ? f->seq_run + len : 0;
	f->seq_next = offset + len;
	if (f->lanes != NULL || f->seq_run < STRIPE_AFTER || o->write_lanes < 2 || o->sshfs_sync ||
	    (f->pflags & SFTP_FXF_APPEND) ||
	    (gint64)g_atomic_int_get(&f->link->rtt_min_us) < (gint64)o->write_lanes_rtt * 1000)
		return;
	lanes_start(f);
}

/*
 * The lane for w (f->lock held, w queued, not sent): its offset's turn,
 * unless it overlaps an unacknowledged record, whose lane it must take; when
 * it overlaps records on two lanes, waits for answers. -1: do not send it
 * now (a lane or the link died: it goes with the others, in order).
 */
static int lane_pick_locked(struct sftpfs_file *f, const struct wb_write *w)
{
	const struct wb_lanes *ln = f->lanes;

	for (;;) {
		int lane = ln->n > 1 ? (int)((w->offset / STRIPE_CHUNK) % ln->n) : 0, other = -1;
		bool mixed = false;

		if (ln->broken || sftpfs_link_dead(f->link))
			return -1;
		for (GList *l = f->writes.head; l != NULL; l = l->next) {
			const struct wb_write *q = l->data;

			/* An FSETSTAT (lane 0) must land before any later write. */
			if (!q->sent || (!q->setstat && (q->offset >= w->offset + w->len ||
							 w->offset >= q->offset + q->len)))
				continue;
			if (other >= 0 && (unsigned)other != q->lane)
				mixed = true;
			other = (int)q->lane;
		}
		if (!mixed)
			return other >= 0 ? other : lane;
		g_cond_wait_until(&f->cond, &f->lock, g_get_monotonic_time() + WB_RECHECK_US);
	}
}

/* Runs kind on every lane handle (index >= 1) of f with written set (or all
 * opened ones when written is false) whose lane is alive; io_lock held. */
static int lanes_each(struct sftpfs_file *f, int (*run)(struct lane_job *j), bool written)
{
	struct lane_job jobs[WRITE_LANES_MAX];
	unsigned n = 0;
	int r = 0;

	memset(jobs, 0, sizeof(jobs));
	g_mutex_lock(&f->lock);
	for (unsigned i = 1; f->lanes != NULL && f->lanes->link == f->link && i < f->lanes->opened; i++) {
		if ((written && !f->lanes->written[i]) || sftp_client_error(f->lanes->client[i]) != 0)
			continue;
		f->lanes->written[i] = false;
		jobs[n].client = f->lanes->client[i];
		jobs[n].handle = f->lanes->handle[i];
		jobs[n].run = run;
		jobs[n].lane = i;
		n++;
	}
	g_mutex_unlock(&f->lock);
	sftpfs_run_parallel(lane_job_run, jobs, sizeof(jobs[0]), n);
	g_mutex_lock(&f->lock);
	for (unsigned i = 0; i < n; i++) {
		if (sftp_client_error(jobs[i].client) != 0 || jobs[i].r == 0)
			continue;
		if (r == 0)
			r = jobs[i].r;
		/* Not done on that lane: the next fsync asks it again. */
		if (f->lanes != NULL && f->lanes->link == f->link)
			f->lanes->written[jobs[i].lane] = true;
	}
	g_mutex_unlock(&f->lock);
	return r;
}

/* A write up to end: the size grows to it, the server sets the mtime. */
static void known_write_locked(struct sftpfs_file *f, uint64_t end)
{
	if (!f->known)
		return;
	if (end > f->known_a.size)
		f->known_a.size = end;
	f->known_mtime = false;
	if (f->known_a.permissions & (S_ISUID | S_ISGID))
		f->known = false; /* a write may clear them */
}

int sftpfs_file_write(struct sftpfs_file *f, uint64_t offset, const void *data, size_t len)
{
	const struct sftpfs_opts *o = f->fs->opts;
	struct sftp_limits lim;
	size_t chunk, done = 0;
	bool broken;
	int r;

	if ((r = take_write_err(f)) != 0)
		return r;
	if ((r = wait_queue(f, WB_FILE_MAX)) != 0)
		return r;
	wait_total(f);
	g_mutex_lock(&f->io_lock);
	if ((r = ensure_handle_locked(f)) != 0) {
		g_mutex_unlock(&f->io_lock);
		return r;
	}
	lanes_consider(f, offset, len);
	sftp_client_limits(f->link->client, &lim);
	chunk = lim.write_length > 0 ? (size_t)lim.write_length : 32768;
	if (o->max_write != OPT_UNSET && o->max_write > 0 && o->max_write < chunk)
		chunk = o->max_write;
	while (done < len) {
		struct wb_write *w = g_malloc0(sizeof(*w));
		struct sftp_client *c;
		struct sftp_handle h;
		int lane = 0;

		w->len = len - done < chunk ? len - done : chunk;
		w->offset = offset + done;
		w->data = g_memdup2((const uint8_t *)data + done, w->len);
		g_mutex_lock(&f->lock);
		w->seq = f->next_seq++;
		g_queue_push_tail(&f->writes, w);
		f->write_bytes += w->len;
		known_write_locked(f, w->offset + w->len);
		if (f->lanes != NULL && f->lanes->opened > 1)
			lane = lane_pick_locked(f, w);
		c = lane > 0 ? f->lanes->client[lane] : f->link->client;
		h = lane > 0 ? f->lanes->handle[lane] : f->handle;
		g_mutex_unlock(&f->lock);
		wb_account((gint64)w->len);
		done += w->len;
		/* A link lost now keeps w queued for the reopen; any other
		 * failure is latched by send_write. A lane lost: w goes with
		 * its writes. */
		if (lane >= 0)
			(void)send_write(f, (unsigned)lane, c, &h, w);
	}
	g_mutex_lock(&f->lock);
	broken = lanes_broken_locked(f);
	g_mutex_unlock(&f->lock);
	if (broken)
		(void)ensure_handle_locked(f); /* failures: latched, or kept for the reopen */
	g_mutex_unlock(&f->io_lock);
	if (o->sshfs_sync && (r = sftpfs_file_drain(f)) != 0)
		return r;
	return 0;
}

int sftpfs_file_drain(struct sftpfs_file *f)
{
	int r = wait_queue(f, 0);
	int w = take_write_err(f);

	return w != 0 ? w : r;
}

int sftpfs_file_drain_sync(struct sftpfs_file *f)
{
	int r = sftpfs_file_drain(f);

	if (r == 0) {
		g_mutex_lock(&f->io_lock);
		r = lanes_each(f, lane_fsync, true);
		g_mutex_unlock(&f->io_lock);
	}
	return r;
}

/* Files open for writing on path, each with a reference (NULL if none). */
/* References to the files (not directories) open on path with pflag among
 * their flags, or NULL if none; files_free drops them. */
static GPtrArray *files_of(struct sftpfs *fs, const char *path, uint32_t pflag)
{
	GPtrArray *busy = NULL;
	GPtrArray *a;

	g_mutex_lock(&fs->files_lock);
	a = path != NULL ? g_hash_table_lookup(fs->files, path) : NULL;
	for (guint i = 0; a != NULL && i < a->len; i++) {
		struct sftpfs_file *f = g_ptr_array_index(a, i);

		if (f->is_dir || !(f->pflags & pflag))
			continue;
		if (busy == NULL)
			busy = g_ptr_array_new();
		g_ptr_array_add(busy, file_ref(f));
	}
	g_mutex_unlock(&fs->files_lock);
	return busy;
}

static GPtrArray *writers_of(struct sftpfs *fs, const char *path)
{
	return files_of(fs, path, SFTP_FXF_WRITE);
}

static void files_free(GPtrArray *busy)
{
	for (guint i = 0; busy != NULL && i < busy->len; i++)
		file_unref(g_ptr_array_index(busy, i));
	if (busy != NULL)
		g_ptr_array_unref(busy);
}

int sftpfs_files_drain_path(struct sftpfs *fs, const char *path)
{
	GPtrArray *busy = writers_of(fs, path);
	int r = 0;

	for (guint i = 0; busy != NULL && i < busy->len; i++) {
		int e = wait_queue(g_ptr_array_index(busy, i), 0);

		if (r == 0)
			r = e;
	}
	files_free(busy);
	return r;
}

/* f's write counter and link serial: a later write or reopen changes it. */
static uint64_t file_stamp_locked(const struct sftpfs_file *f)
{
	return f->next_seq + ((uint64_t)(f->link != NULL ? f->link->serial : 0) << 32);
}

/* Every write queued on f has gone out (senders hold io_lock, so none is half
 * sent) on a live link, none failed; adds f's stamp to *stamp. */
static bool file_sent(struct sftpfs_file *f, uint64_t *stamp, const struct sftp_client *on)
{
	bool ok;

	g_mutex_lock(&f->io_lock);
	g_mutex_lock(&f->lock);
	ok = f->stale == 0 && f->link != NULL && !sftpfs_link_dead(f->link) && f->write_err == 0 &&
	     (on == NULL || f->link->client == on);
	/* Requests on the file's handle do not queue behind other lanes. */
	ok = ok && (f->lanes == NULL || f->lanes->opened <= 1 || g_queue_is_empty(&f->writes));
	for (GList *l = f->writes.head; l != NULL && ok; l = l->next)
		ok = ((struct wb_write *)l->data)->sent;
	*stamp += file_stamp_locked(f);
	g_mutex_unlock(&f->lock);
	g_mutex_unlock(&f->io_lock);
	return ok;
}

/* Every write of f acknowledged without error, on client c's link; adds f's
 * stamp to *stamp (compared with file_sent's). */
static bool file_settled(struct sftpfs_file *f, const struct sftp_client *c, uint64_t *stamp)
{
	bool ok;

	g_mutex_lock(&f->lock);
	ok = g_queue_is_empty(&f->writes) && f->write_err == 0 && f->link != NULL && f->link->client == c;
	*stamp += file_stamp_locked(f);
	g_mutex_unlock(&f->lock);
	return ok;
}

/*
 * When f is the only descriptor writing its path and all its writes have gone
 * out on its live handle, the FSTAT goes right behind them on that handle
 * (a server answers requests on one handle in order) instead of after their
 * acknowledgements: one round trip, not two, for git's fstat after writing
 * each file. Its answer counts only if, when it came, every write was
 * acknowledged without error and nothing was written or reopened meanwhile;
 * otherwise the writes are drained and the FSTAT asked again.
 */
int sftpfs_file_fstat(struct sftpfs_file *f, struct sftp_attrs *a)
{
	g_autofree char *path = sftpfs_file_path(f);
	GPtrArray *busy = writers_of(f->fs, path);
	struct sftp_client *c = NULL;
	struct sftp_handle h;
	uint64_t stamp = 0, now = 0;
	bool only = busy == NULL || (busy->len == 1 && g_ptr_array_index(busy, 0) == f);
	int r;

	files_free(busy);
	if (only && file_sent(f, &stamp, NULL) && sftpfs_file_handle(f, &c, &h) == 0) {
		r = sftp_fstat(c, &h, a);
		if (r == 0 && file_settled(f, c, &now) && now == stamp)
			return 0;
		sftp_attrs_clear(a);
		memset(a, 0, sizeof(*a));
	}
	if ((r = sftpfs_file_drain(f)) == 0 && (r = sftpfs_file_handle(f, &c, &h)) == 0)
		r = sftp_fstat(c, &h, a);
	return r;
}

int sftpfs_file_release(struct sftpfs_file *f)
{
	struct sftpfs_link *l = NULL;
	struct sftp_handle h;
	int r = 0, e;

	if (!f->is_dir)
		r = sftpfs_file_drain(f);
	index_remove(f);
	/* Another holder of a reference (a drain by path) may be resending or
	 * reopening under io_lock: the records and the link are taken under it. */
	g_mutex_lock(&f->io_lock);
	g_mutex_lock(&f->lock);
	if (r != 0 && !g_queue_is_empty(&f->writes)) {
		log_error(LOG_CAT_GENERAL, "%s: %zu bytes could not be written: %s", f->path, f->write_bytes,
			  err_str(r));
		drop_writes_locked(f, r);
	}
	if (f->stale == 0 && !sftpfs_link_dead(f->link)) {
		l = sftpfs_link_ref(f->link);
		h = f->handle;
	}
	g_mutex_unlock(&f->lock);
	if (!f->is_dir)
		(void)lanes_each(f, lane_close, false); /* the server closes them with the connection anyway */
	if (l != NULL) {
		e = sftp_close(l->client, &h);
		if (r == 0 && e != 0 && !sftpfs_link_dead(l))
			r = e;
		sftpfs_link_unref(l);
	}
	g_mutex_unlock(&f->io_lock);
	file_unref(f);
	return r;
}

/*
 * For pipeline.c. True when every write queued on the files open for
 * writing on path has gone out (senders hold io_lock, so none is half sent)
 * on a live link of the one connection slot; *stamp sums their write counts
 * and link serials, so a later write or reopen changes it.
 */
static bool files_sent(struct sftpfs *fs, const char *path, uint64_t *stamp, const struct sftp_client *on)
{
	GPtrArray *busy = writers_of(fs, path);
	bool ok = fs->n_slots == 1;

	*stamp = 0;
	for (guint i = 0; busy != NULL && i < busy->len && ok; i++)
		ok = file_sent(g_ptr_array_index(busy, i), stamp, on);
	files_free(busy);
	return ok;
}

bool sftpfs_files_sent(struct sftpfs *fs, const char *path, uint64_t *stamp)
{
	return files_sent(fs, path, stamp, NULL);
}

bool sftpfs_files_sent_on(struct sftpfs *fs, const char *path, const struct sftp_client *c)
{
	uint64_t stamp;

	return files_sent(fs, path, &stamp, c);
}

bool sftpfs_files_created_atime(struct sftpfs *fs, const char *path, int64_t *atime)
{
	GPtrArray *busy = writers_of(fs, path);
	bool known = false;

	for (guint i = 0; busy != NULL && i < busy->len && !known; i++) {
		struct sftpfs_file *f = g_ptr_array_index(busy, i);

		g_mutex_lock(&f->lock);
		known = f->atime_known;
		*atime = f->atime;
		g_mutex_unlock(&f->lock);
	}
	files_free(busy);
	return known;
}

/* The writers of path forget their known attributes, and with atime their
 * creation atime too. */
static void forget(struct sftpfs *fs, const char *path, bool atime)
{
	GPtrArray *busy = writers_of(fs, path);

	for (guint i = 0; busy != NULL && i < busy->len; i++) {
		struct sftpfs_file *f = g_ptr_array_index(busy, i);

		g_mutex_lock(&f->lock);
		if (atime)
			f->atime_known = false;
		f->known = false;
		g_mutex_unlock(&f->lock);
	}
	files_free(busy);
}

void sftpfs_files_forget_atime(struct sftpfs *fs, const char *path)
{
	forget(fs, path, true);
}

/* For pipeline.c: true when the files open for writing on path have no
 * write pending or failed, and stamp still matches (sftpfs_files_sent). */
bool sftpfs_files_settled(struct sftpfs *fs, const char *path, uint64_t stamp, const struct sftp_client *c)
{
	GPtrArray *busy = writers_of(fs, path);
	uint64_t now = 0;
	bool ok = true;

	for (guint i = 0; busy != NULL && i < busy->len && ok; i++)
		ok = file_settled(g_ptr_array_index(busy, i), c, &now);
	files_free(busy);
	return ok && now == stamp;
}

/*
 * Attribute changes behind the writes. tar extracts each file with open
 * (O_CREAT|O_EXCL), write, futimens, fchown and fchmod (the last two as root),
 * close; git and cp -p similarly. Each change by path waits for its answer,
 * so a file cost one round trip per call. For a file this open created, the
 * server cannot refuse these changes to its owner: explicit times, a mode
 * without the set-group-ID bit (which a server silently drops for a group
 * the owner is not in) that keeps the owner's write permission (a reopen
 * after a reconnect needs it), an owner and group kept as they are, and any
 * of them when the owner is root; never a chown of a set-ID file (the server
 * clears those bits). Such a change is queued on the file's write queue
 * as an FSETSTAT on its handle, right behind its writes (the server applies
 * requests on one channel in order; it never goes on a write lane, and later
 * writes do not overtake it), and returns at once. Like a write, it stays
 * queued until answered, is sent again after a reconnect (the same FSETSTAT
 * twice sets the same attributes), and a failure is latched and reported at
 * flush, fsync or close, which wait for it (close-to-open). The file knows
 * the attributes the server will have: the create's trailing LSTAT, its
 * writes (size; the mtime is the server's then, unknown until set again) and
 * the changes; getattr answers from them within a second of the LSTAT while
 * it is the only descriptor writing the path. Any other change to the path
 * through the mount (a setattr made directly, truncate, a copy into it, a
 * read moving the atime, an unlink or a rename over it), a refusal, or a
 * write to a set-ID file voids them; a direct change or an LSTAT for one
 * waits until the changes queued behind the writes are answered.
 */

#define KNOWN_FRESH_US (1000 * 1000)
/* The attributes a file knows (SFTP v3 has no others but extended pairs). */
#define KNOWN_FLAGS (SFTP_ATTR_SIZE | SFTP_ATTR_UIDGID | SFTP_ATTR_PERMISSIONS | SFTP_ATTR_ACMODTIME)

/* a's attributes without its extended pairs. */
static void copy_scalars(struct sftp_attrs *dst, const struct sftp_attrs *a)
{
	memset(dst, 0, sizeof(*dst));
	dst->flags = a->flags & KNOWN_FLAGS;
	dst->size = a->size;
	dst->uid = a->uid;
	dst->gid = a->gid;
	dst->permissions = a->permissions;
	dst->atime = a->atime;
	dst->mtime = a->mtime;
}

void sftpfs_file_known_init(struct sftpfs_file *f, const struct sftp_attrs *a)
{
	if ((f->pflags & (SFTP_FXF_CREAT | SFTP_FXF_EXCL)) != (SFTP_FXF_CREAT | SFTP_FXF_EXCL) ||
	    (a->flags & KNOWN_FLAGS) != KNOWN_FLAGS || !S_ISREG(a->permissions))
		return;
	g_mutex_lock(&f->lock);
	if (f->next_seq == 0) { /* nothing written yet */
		copy_scalars(&f->known_a, a);
		f->known = true;
		f->known_mtime = true;
		f->known_since = g_get_monotonic_time();
	}
	g_mutex_unlock(&f->lock);
}

/* The server cannot refuse a to the owner of the file k describes. */
static bool certain(const struct sftp_attrs *k, const struct sftp_attrs *a)
{
	bool root = k->uid == 0;

	if (a->flags & ~(uint32_t)(SFTP_ATTR_UIDGID | SFTP_ATTR_PERMISSIONS | SFTP_ATTR_ACMODTIME) || a->ext_count > 0)
		return false;
	if ((a->flags & SFTP_ATTR_UIDGID) && !root && (a->uid != k->uid || a->gid != k->gid))
		return false;
	/* a chown clears them, even root's */
	if ((a->flags & SFTP_ATTR_UIDGID) && (k->permissions & (S_ISUID | S_ISGID)))
		return false;
	if ((a->flags & SFTP_ATTR_PERMISSIONS) && !root && (a->permissions & S_ISGID))
		return false;
	/* a reopen after a reconnect needs the owner's write permission */
	if ((a->flags & SFTP_ATTR_PERMISSIONS) && !root && !(a->permissions & S_IWUSR))
		return false;
	return true;
}

/* f's known attributes still answer (f->lock held). */
static bool known_usable_locked(const struct sftpfs_file *f)
{
	return f->known && f->write_err == 0 && f->stale == 0 &&
	       g_get_monotonic_time() - f->known_since < KNOWN_FRESH_US;
}

/* The one file open for writing on path, as a reference; NULL if none or more. */
static struct sftpfs_file *only_writer(struct sftpfs *fs, const char *path)
{
	GPtrArray *busy = writers_of(fs, path);
	struct sftpfs_file *f = NULL;

	if (busy != NULL && busy->len == 1)
		f = file_ref(g_ptr_array_index(busy, 0));
	files_free(busy);
	return f;
}

bool sftpfs_files_setattr_behind(struct sftpfs *fs, const char *path, const struct sftp_attrs *a)
{
	struct sftpfs_file *f = only_writer(fs, path);
	struct wb_write *w;
	struct sftp_client *c;
	struct sftp_handle h;
	bool ok;

	if (f == NULL)
		return false;
	if (fs->opts->sshfs_sync || (f->pflags & SFTP_FXF_APPEND)) {
		file_unref(f);
		return false;
	}
	g_mutex_lock(&f->io_lock);
	g_mutex_lock(&f->lock);
	ok = known_usable_locked(f) && f->lanes == NULL && f->link != NULL && !sftpfs_link_dead(f->link) &&
	     certain(&f->known_a, a);
	if (!ok) {
		g_mutex_unlock(&f->lock);
		g_mutex_unlock(&f->io_lock);
		file_unref(f);
		return false;
	}
	w = g_malloc0(sizeof(*w));
	w->setstat = true;
	copy_scalars(&w->attrs, a);
	w->seq = f->next_seq++;
	g_queue_push_tail(&f->writes, w);
	if (a->flags & SFTP_ATTR_UIDGID) {
		f->known_a.uid = a->uid;
		f->known_a.gid = a->gid;
	}
	if (a->flags & SFTP_ATTR_PERMISSIONS)
		f->known_a.permissions = (f->known_a.permissions & S_IFMT) | (a->permissions & 07777);
	if (a->flags & SFTP_ATTR_ACMODTIME) {
		f->known_a.atime = a->atime;
		f->known_a.mtime = a->mtime;
		f->known_mtime = true;
		f->atime = a->atime; /* for a later utimens that keeps it */
	}
	c = f->link->client;
	h = f->handle;
	g_mutex_unlock(&f->lock);
	/* Lost with the link: it stays queued for the reopen; refused at
	 * once: latched, reported at close. */
	(void)send_write(f, 0, c, &h, w);
	g_mutex_unlock(&f->io_lock);
	file_unref(f);
	return true;
}

static bool file_known_stat(struct sftpfs_file *f, struct stat *st)
{
	struct sftp_attrs a;
	bool ok;

	g_mutex_lock(&f->lock);
	ok = known_usable_locked(f) && f->known_mtime;
	a = f->known_a;
	g_mutex_unlock(&f->lock);
	if (ok)
		sftpfs_attrs_to_stat(f->fs, &a, st);
	return ok;
}

bool sftpfs_files_known_stat(struct sftpfs *fs, const char *path, struct stat *st)
{
	struct sftpfs_file *f = only_writer(fs, path);
	bool ok = f != NULL && file_known_stat(f, st);

	file_unref(f);
	return ok;
}

void sftpfs_files_forget_known(struct sftpfs *fs, const char *path)
{
	forget(fs, path, false);
}

static bool setstat_pending(struct sftpfs *fs, const char *path)
{
	GPtrArray *busy = writers_of(fs, path);
	bool pending = false;

	for (guint i = 0; busy != NULL && i < busy->len && !pending; i++) {
		struct sftpfs_file *f = g_ptr_array_index(busy, i);

		g_mutex_lock(&f->lock);
		for (GList *l = f->writes.head; l != NULL && !pending; l = l->next)
			pending = ((struct wb_write *)l->data)->setstat;
		g_mutex_unlock(&f->lock);
	}
	files_free(busy);
	return pending;
}

int sftpfs_files_drain_setattrs(struct sftpfs *fs, const char *path)
{
	return path != NULL && setstat_pending(fs, path) ? sftpfs_files_drain_path(fs, path) : 0;
}
