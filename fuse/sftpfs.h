/*
 * sftpfs.h - the daemon's shared state: one struct sftpfs per mount (the
 * parsed options, the remote base directory, the SFTP client and how to make
 * it, the ID maps) and one struct sftpfs_file per open file or directory.
 *
 * Lock order: sftpfs.lock, then sftpfs_file.lock. Neither is held across a
 * blocking SFTP request except sftpfs.lock while (re)connecting, which is
 * exactly the wait other operations must do anyway.
 *
 * Note: src/limits.h shadows the system <limits.h> on the include path, so
 * glib macros built on ULONG_MAX (g_new, g_new0, G_MAXSIZE) do not compile
 * here; allocate with g_malloc0(sizeof(*p)).
 */
#ifndef SFTPFS_FUSE_SFTPFS_H
#define SFTPFS_FUSE_SFTPFS_H

#define FUSE_USE_VERSION 31

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <fuse.h>
#include <glib.h>

#include "cache.h"
#include "options.h"
#include "sftp.h"

/* How a connection is made (chosen from the options at startup). */
struct remote;
struct sftpfs_file;

/*
 * One connection's SFTP client, shared by reference: a slot holds one
 * reference while the link is current, each operation using it holds one
 * (see sftpfs_client), and an open file holds one for its handle. When the
 * connection dies the client fails every request; the slot replaces the link
 * with a new one and the old one is closed when its last reference goes.
 */
struct sftpfs_link {
	gint refs;
	gint closing;    /* set when we close it ourselves (atomic) */
	struct sftpfs *fs;
	struct sftp_client *client;
	unsigned slot;   /* index in sftpfs.slots */
	unsigned serial; /* increasing, never reused */
	/* The quickest OPEN seen on it, in us (0: none yet; atomic): its
	 * round trip, for write_lanes_rtt. */
	gint rtt_min_us;
	/* Set once the round trip is known to be short: WRITEs in flight are
	 * then held to half the server's channel window (atomic). */
	gint write_window_set;
	/* Write lanes (files.c): more SFTP sessions on the same connection,
	 * started once, in the background (lanes_thread), on the first large
	 * sequential write, and closed with the connection
	 * (remote_close_client). */
	GMutex lanes_lock;
	bool lanes_tried;  /* protected by lanes_lock: started */
	bool lanes_ready;  /* protected by lanes_lock: lanes[] final */
	unsigned lanes_want;
	GThread *lanes_thread; /* joined when the link is freed */
	unsigned n_lanes;  /* protected by lanes_lock */
	struct sftp_client *lanes[WRITE_LANES_MAX];
};

/* One of max_conns connections, each lost and reconnected on its own. */
struct sftpfs_slot {
	struct sftpfs_link *cur; /* NULL before the first connection */
	bool connecting;         /* a thread is connecting this slot */
	bool ever_connected;
	gint64 down_since;       /* monotonic us when the link was seen dead, 0 if up */
	gint64 last_demand;      /* monotonic us an operation last waited for it */
	GThread *thread;         /* the reconnect thread, joined before the next */
	unsigned attempts;       /* connection attempts finished */
	int last_err;            /* of the last failed attempt */
	bool last_err_fatal;     /* host key or authentication: fail waiters now */
};

struct sftpfs {
	struct sftpfs_opts *opts;  /* owned by main; read-only after parse */
	struct remote *remote;     /* transport; owned */
	char *base;                /* remote directory, no trailing '/' except "/" */

	GMutex lock;
	GCond cond;                /* a slot finished connecting */
	/* Protected by lock. */
	struct sftpfs_slot *slots;
	unsigned n_slots;
	unsigned next_slot;        /* round robin for new operations and files */
	unsigned next_serial;
	unsigned faults;           /* connections lost since the mount */
	unsigned reconnects;       /* successful reconnections */
	bool mounted;              /* later connections are non-interactive */
	bool stopping;             /* unmounting: no more connections */
	int connect_err;           /* last failed connect, 0 if none */

	/* Open files by mount-relative path (files.c), protected by files_lock:
	 * renames move them, getattr and reads wait for their pending writes. */
	GMutex files_lock;
	GHashTable *files;         /* path -> GPtrArray of struct sftpfs_file * */

	/* ID mapping (read-only after setup). */
	uid_t local_uid;
	gid_t local_gid;
	uint32_t remote_uid;       /* idmap=user: the remote login's IDs */
	uint32_t remote_gid;
	gint idmap_known;          /* remote_uid/gid learnt (atomic) */
	GHashTable *uid_r2l, *uid_l2r, *gid_r2l, *gid_l2r; /* idmap=file */

	struct sftpfs_cache *cache; /* fuse/cache.h; NULL with dir_cache=no */
	struct sftpfs_prefetch *prefetch; /* dirlist.c; NULL when off */
	struct sftpfs_fileahead *fileahead; /* fileahead.c; NULL when off */
};

/*
 * One open file or directory (fi->fh). It remembers how it was opened so a
 * reconnect can reopen it (path, SFTP flags without CREAT/TRUNC/EXCL), and
 * keeps every WRITE until the server acknowledged it (files.c): write()
 * queues and returns, flush/fsync/release wait for the queue to drain, and
 * after a reconnect the unacknowledged writes are sent again, in order, on
 * the reopened handle. The first failed write is latched and reported at the
 * next write, flush, fsync or close.
 */
struct sftpfs_file {
	gint refs;                  /* FUSE's, and a waiter's in drain_path */
	struct sftpfs *fs;
	char *path;                 /* mount-relative; updated by renames (files_lock) */
	uint32_t pflags;            /* SFTP_FXF_* it was opened with */
	bool is_dir;
	bool listed;                /* directory: readdir read it once (ops.c) */
	unsigned slot;

	GMutex io_lock;             /* orders senders and reopens; taken before lock */
	GMutex lock;
	GCond cond;                 /* the write queue shrank */
	/* Protected by lock. */
	struct sftpfs_link *link;   /* the link the handle belongs to (a reference) */
	struct sftp_handle handle;
	int stale;                  /* nonzero: the file cannot be reopened (that code) */
	bool nameless;              /* its name was removed or renamed over through the
	                             * mount: out of the index, never reopened by path */
	GQueue writes;              /* struct wb_write, oldest first, until acknowledged */
	size_t write_bytes;         /* data bytes in writes */
	unsigned in_flight;         /* WRITE requests whose callback has not run */
	uint64_t next_seq;
	int write_err;              /* first failed write (err.h), until reported */
	/* O_APPEND replay: the file's size at the last (re)open plus the bytes
	 * acknowledged since (see ARCHITECTURE.md). */
	uint64_t append_size;
	bool append_size_known;
	/* Write lanes (files.c): the length of the current run of sequential
	 * writes (io_lock), and once it is long, the file's handles on the
	 * link's lanes (NULL before; set and reset under io_lock and lock). */
	uint64_t seq_next;
	uint64_t seq_run;
	struct wb_lanes *lanes;
	/* Read-ahead engine (readahead.h), NULL if off; set before the file is
	 * in the index, freed with the last reference. */
	struct readahead *ra;
	/* The file's atime when this mount created it (the trailing LSTAT of
	 * create, pipeline.c), until something reads it: a utimens that keeps
	 * the atime (tar's futimens of the mtime alone) needs no LSTAT. */
	bool atime_known;
	int64_t atime;
	/* Opened from contents read ahead (fileahead.c): link is NULL until
	 * something needs a handle; reads and fstat come from contents and
	 * contents_st (the file as it was opened, as an open handle keeps it
	 * across renames and unlinks) until a write, truncate or copy through
	 * the mount to its path voids them (sftpfs_files_void_contents).
	 * Protected by lock. */
	GBytes *contents;
	struct stat contents_st;
	/* A small file opened for reading collects what its reads return from
	 * offset 0 (ops.c); when that is the whole file, flush keeps it in the
	 * cache (sftpfs_cache_put_contents) for the next opens. shadow_st and
	 * shadow_gen: its attributes at the open and the cache generation
	 * they were current in. Protected by lock. */
	GByteArray *shadow;
	bool shadow_whole;
	struct stat shadow_st;
	uint64_t shadow_gen;
	/* A file this open created (O_EXCL): its attributes as the server will
	 * have them once the queue is through (files.c, "Attribute changes
	 * behind the writes"): the trailing LSTAT of its create, then its
	 * writes (size) and the changes queued behind them. known_mtime: no
	 * write since the mtime was last set. Protected by lock. */
	bool known;
	bool known_mtime;
	gint64 known_since; /* monotonic us of the LSTAT */
	struct sftp_attrs known_a; /* size, uid/gid, permissions, times only */
};

/* The mount of the calling FUSE operation. */
struct sftpfs *sftpfs_get(void);

/*
 * Connections (links.c). sftpfs_client gives a usable client of the next
 * slot, connecting first if needed (delay_connect, a lost link) and waiting
 * up to reconnect_timeout while a lost connection comes back (then
 * ERR_CONN_CLOSED: EIO). The client stays valid until the end of the calling
 * FUSE operation: the reference is kept per thread and dropped by
 * sftpfs_op_end (the wrapped operations table does it).
 */
int sftpfs_client(struct sftpfs *fs, struct sftp_client **out) MUST_CHECK;
/* The current link of slot, as a new reference (sftpfs_link_unref). */
int sftpfs_slot_link(struct sftpfs *fs, unsigned slot, gint64 deadline, struct sftpfs_link **out) MUST_CHECK;
unsigned sftpfs_pick_slot(struct sftpfs *fs);
/* Every connection is up now (no waiting, no connecting). */
bool sftpfs_connected(struct sftpfs *fs);
struct sftpfs_link *sftpfs_link_ref(struct sftpfs_link *l);
void sftpfs_link_unref(struct sftpfs_link *l);
/* Up to want extra SFTP sessions on l's connection, the live ones into out;
 * returns how many. The first call starts them in the background (in
 * parallel) and returns 0 with *pending set, as do the calls until they are
 * all open or failed. */
unsigned sftpfs_link_lanes(struct sftpfs_link *l, unsigned want, struct sftp_client **out, bool *pending);
/* Runs fn on each of n jobs (job_size bytes apart) in threads of its own
 * that take no signals, and waits for them all. */
void sftpfs_run_parallel(void (*fn)(void *job), void *jobs, size_t job_size, unsigned n);
/* True when the link's connection is gone. */
/* True for NULL (a file with no handle yet, see sftpfs_file_fetched). */
bool sftpfs_link_dead(const struct sftpfs_link *l);
/* Keeps a reference until the calling thread's operation ends. */
void sftpfs_hold(struct sftpfs_link *l);
/* Starts an operation: its deadline for waiting on a reconnect. */
void sftpfs_op_begin(const struct sftpfs *fs);
/* Drops the references the calling thread holds; returns true if one of
 * them was a link that died meanwhile (the operation may be retried). */
bool sftpfs_op_drop(void);
/* Set by the wrapper while an operation runs again after its connection
 * was lost (its first request may have been carried out). */
void sftpfs_op_set_retrying(bool on);
bool sftpfs_op_retrying(void);
/* sftpfs_op_drop, and the operation's deadline is over. */
bool sftpfs_op_end(void);
/* The deadline (monotonic us) of an operation starting now. */
gint64 sftpfs_deadline(const struct sftpfs *fs);
void sftpfs_links_init(struct sftpfs *fs);
/* Connects every slot now (the mount-time connection, before daemonizing). */
int sftpfs_connect(struct sftpfs *fs) MUST_CHECK;
/* From now on, connections are non-interactive (after the mount). */
void sftpfs_mounted(struct sftpfs *fs);
void sftpfs_disconnect(struct sftpfs *fs);

/* Open files (files.c). */
int sftpfs_file_open(struct sftpfs *fs, const char *path, uint32_t pflags, const struct sftp_attrs *attrs,
		     bool dir, struct sftpfs_file **out) MUST_CHECK;
/* A read-only file opened from contents read ahead (takes contents), st its
 * attributes as checked at the open; no handle until one is needed. */
struct sftpfs_file *sftpfs_file_fetched(struct sftpfs *fs, const char *path, GBytes *contents,
					const struct stat *st);
/* f still reads from contents read ahead: true and their attributes. */
bool sftpfs_file_contents_stat(struct sftpfs_file *f, struct stat *st);
/* The data of path changed through the mount (write, truncate, copy into
 * it): files open on it stop reading from contents read ahead. */
void sftpfs_files_void_contents(struct sftpfs *fs, const char *path);
/* Reads from those contents: false if f has none (any more), else *got bytes. */
bool sftpfs_file_read_fetched(struct sftpfs_file *f, uint64_t offset, char *out, size_t size, size_t *got);
/* The client and handle to use for f now, reopening it after a reconnect
 * (and sending its unacknowledged writes again); the client is held until
 * the operation ends. */
int sftpfs_file_handle(struct sftpfs_file *f, struct sftp_client **c, struct sftp_handle *h) MUST_CHECK;
int sftpfs_file_write(struct sftpfs_file *f, uint64_t offset, const void *data, size_t len) MUST_CHECK;
/* Waits until every write of f is acknowledged; returns and clears the
 * latched write error. */
int sftpfs_file_drain(struct sftpfs_file *f) MUST_CHECK;
/* sftpfs_file_drain for fsync: then fsync@openssh.com on every lane handle
 * of f that received writes since the last one (the caller syncs the
 * file's own handle). */
int sftpfs_file_drain_sync(struct sftpfs_file *f) MUST_CHECK;
/* Drains every open file of path (before a getattr or read must see their data). */
int sftpfs_files_drain_path(struct sftpfs *fs, const char *path) MUST_CHECK;
/* Closes the handle (after draining) and frees f; returns the first error. */
int sftpfs_file_release(struct sftpfs_file *f) MUST_CHECK;
/* A copy of f's mount-relative path (renames change it under files_lock). */
char *sftpfs_file_path(struct sftpfs_file *f);
/* FSTAT of f after every write made through the mount to its path. */
int sftpfs_file_fstat(struct sftpfs_file *f, struct sftp_attrs *a) MUST_CHECK;
/* A rename through the mount: open files under from now live under to. */
void sftpfs_files_rename(struct sftpfs *fs, const char *from, const char *to);
void sftpfs_files_unlinked(struct sftpfs *fs, const char *path);
void sftpfs_files_init(struct sftpfs *fs);
void sftpfs_files_clear(struct sftpfs *fs);

/* The remote path of a mount-relative path ("/" is the base itself). */
char *sftpfs_rpath(const struct sftpfs *fs, const char *path);

/* The operations, wrapped (opwrap.c): references dropped after each, and an
 * operation that lost its connection retried once it is back. */
const struct fuse_operations *sftpfs_wrapped_ops(void);

/* Transports (remote.c). */
int remote_new(const struct sftpfs_opts *o, struct remote **out) MUST_CHECK;
/* A new initialised SFTP client over a new connection. */
int remote_open_client(struct remote *r, struct sftp_client **out) MUST_CHECK;
/* One more SFTP session on c's connection (SSH only: ERR_NOT_SUPPORTED
 * otherwise), initialised; closed with c by remote_close_client. */
int remote_open_lane(struct remote *r, struct sftp_client *c, struct sftp_client **out) MUST_CHECK;
/* Closes the connection under c (and its lanes) and frees c. */
void remote_close_client(struct remote *r, struct sftp_client *c);
/* Ends the connection under c at once, freeing nothing (SSH only): a lane
 * being opened on it fails instead of waiting for the server. */
void remote_abort_client(struct remote *r, struct sftp_client *c);
/* Later connections never prompt and log their failures. */
void remote_set_noninteractive(struct remote *r);
/* False when a lost connection cannot be made again (passive). */
bool remote_can_reconnect(const struct remote *r);
void remote_free(struct remote *r);

/* err.h code -> positive errno (errmap.c); 0 stays 0. */
int sftpfs_errno(int err);

/* Reads idmap=file tables and the idmap=user IDs (idmap.c). */
int idmap_setup(struct sftpfs *fs, char **errmsg) MUST_CHECK;
/* Remote IDs to local and back; -1 with nomap=error when unmapped. */
int idmap_uid_to_local(const struct sftpfs *fs, uint32_t remote, uid_t *out) MUST_CHECK;
int idmap_gid_to_local(const struct sftpfs *fs, uint32_t remote, gid_t *out) MUST_CHECK;
int idmap_uid_to_remote(const struct sftpfs *fs, uid_t local, uint32_t *out) MUST_CHECK;
int idmap_gid_to_remote(const struct sftpfs *fs, gid_t local, uint32_t *out) MUST_CHECK;
void idmap_clear(struct sftpfs *fs);

/* The operations table (ops.c). */
extern const struct fuse_operations sftpfs_ops;

/*
 * Lookups pipelined behind changes (pipeline.c): arm before the change's
 * request (path mount-relative; kinds SFTP_TRAIL_*), then always end with
 * sftpfs_trail_store (after the change's cache invalidation; r its result,
 * gen the cache generation taken before the request) or, for create,
 * sftpfs_trail_created; op_getattr asks sftpfs_trail_created_getattr first.
 */
void sftpfs_trail_arm(struct sftpfs *fs, const char *path, unsigned kinds);
void sftpfs_trail_store(struct sftpfs *fs, const char *path, int r, uint64_t gen, unsigned changes);
void sftpfs_trail_created(struct sftpfs *fs, struct sftpfs_file *f, int r);
bool sftpfs_trail_created_getattr(struct sftpfs_file *f, struct stat *st);
/* After sftpfs_trail_arm: also LSTAT the directories holding path and other
 * (a rename's old name; NULL: none), whose entries the change edits. Before
 * sftpfs_trail_store/_created, end with sftpfs_trail_store_dirs (same r, gen
 * and number of cache changes). */
void sftpfs_trail_arm_dirs(struct sftpfs *fs, const char *path, const char *other);
void sftpfs_trail_store_dirs(struct sftpfs *fs, int r, uint64_t gen, unsigned changes);
bool sftpfs_trail_setattr_getattr(struct sftpfs *fs, const char *path, struct stat *st);
/* files.c, for pipeline.c */
bool sftpfs_files_sent(struct sftpfs *fs, const char *path, uint64_t *stamp);
/* The same, every write on client c (the one a READ will go on). */
bool sftpfs_files_sent_on(struct sftpfs *fs, const char *path, const struct sftp_client *c);
/* The atime a file open for writing on path had when this mount created it
 * (false if unknown, or read since). */
bool sftpfs_files_created_atime(struct sftpfs *fs, const char *path, int64_t *atime);
/* path was read: the atimes above may be stale (and the attributes below). */
void sftpfs_files_forget_atime(struct sftpfs *fs, const char *path);
/* Attribute changes behind the writes (files.c). The create's attributes of
 * f (the trailing LSTAT); kept only if the open created the file. */
void sftpfs_file_known_init(struct sftpfs_file *f, const struct sftp_attrs *a);
/* The only file open for writing on path knows its attributes, and a is a
 * change the server cannot refuse its owner: queued behind its writes as an
 * FSETSTAT (a failure is reported like a failed write, at flush or close);
 * true. False: nothing done, the caller makes the change itself. */
bool sftpfs_files_setattr_behind(struct sftpfs *fs, const char *path, const struct sftp_attrs *a);
/* The attributes the only file open for writing on path will have on the
 * server, if known: false otherwise. */
bool sftpfs_files_known_stat(struct sftpfs *fs, const char *path, struct stat *st);
/* A change to path's attributes or size that was not queued behind: what
 * its writers knew is void. */
void sftpfs_files_forget_known(struct sftpfs *fs, const char *path);
/* A direct change to path, or the LSTAT for one, comes after the changes
 * queued behind its writes: when there are any, waits for the writes to
 * drain (the first error). */
int sftpfs_files_drain_setattrs(struct sftpfs *fs, const char *path) MUST_CHECK;
bool sftpfs_files_settled(struct sftpfs *fs, const char *path, uint64_t stamp, const struct sftp_client *c);
/* ops.c */
/*
 * Directory listings (dirlist.c). A listing is a GArray of struct sftp_names
 * batches (sftpfs_list_clear empties it).
 */
/* Every remaining batch of an open directory handle, READDIRs in flight in
 * rounds (dirlist.c). */
int sftpfs_list_batches(struct sftp_client *c, const struct sftp_handle *h, GArray *out) MUST_CHECK;
/* The whole listing of path on a handle of its own (opened and closed here). */
int sftpfs_list_path(struct sftpfs *fs, struct sftp_client *c, const char *path, GArray *out) MUST_CHECK;
void sftpfs_list_clear(GArray *batches);
/* Stores a complete listing of dpath and its entries' attributes in the
 * cache, unless a local change happened since gen. */
void sftpfs_list_store(struct sftpfs *fs, const char *dpath, const GArray *batches, uint64_t gen);
/* Listing ahead: started after the cache, stopped before disconnecting. */
void sftpfs_prefetch_init(struct sftpfs *fs);
void sftpfs_prefetch_stop(struct sftpfs *fs);
/* dpath was listed for the kernel; subdirs (mount-relative paths) are its
 * subdirectories, to list ahead. */
void sftpfs_prefetch_listed(struct sftpfs *fs, const char *dpath, const GPtrArray *subdirs);
/* A lookup of path missed the cache: lists its parent again if it was listed
 * recently. True if it waited for a listing of the parent already in flight
 * (the cache may answer now). */
bool sftpfs_prefetch_missed(struct sftpfs *fs, const char *path);
/* Before listing dpath: waits for its listing in flight (true), or takes
 * back one still queued. */
bool sftpfs_prefetch_take(struct sftpfs *fs, const char *dpath);

/*
 * Small files read ahead (fileahead.c): started after the cache, stopped
 * before disconnecting. fileahead_take, at a read-only open of path: the
 * file's whole contents fetched ahead and still right (g_bytes_unref), or
 * NULL; *st the cached attributes they were checked against.
 * fileahead_opened: path was opened for reading (the trigger).
 */
void sftpfs_fileahead_init(struct sftpfs *fs);
void sftpfs_fileahead_stop(struct sftpfs *fs);
GBytes *sftpfs_fileahead_take(struct sftpfs *fs, const char *path, struct stat *st);
void sftpfs_fileahead_opened(struct sftpfs *fs, const char *path);

void sftpfs_attrs_to_stat(const struct sftpfs *fs, const struct sftp_attrs *a, struct stat *st);
bool sftpfs_open_for_writing(struct sftpfs *fs, const char *path);

#endif
