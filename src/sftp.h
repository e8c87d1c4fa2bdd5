/*
 * sftp.h - the SFTP v3 client (draft-ietf-secsh-filexfer-02) with the
 * OpenSSH extensions of OpenSSH's PROTOCOL §4, as the FUSE daemon uses it.
 *
 * The core does no I/O: it is wired to any byte stream through a send
 * function and sftp_client_input(). Many threads may call the synchronous
 * operations at once; each builds a request, registers it in a table keyed by
 * request id, sends it and waits on its own condition until the I/O thread
 * (the one calling sftp_client_input) completes it. Bulk data uses the
 * asynchronous READ/WRITE calls whose callbacks run on the I/O thread. A
 * window bounds the requests (count) and data bytes in flight.
 *
 * Every function returns 0 or a negative err.h code. A reply carrying an
 * SFTP status other than OK becomes the code given by the one status table in
 * sftp.c; the raw status and the server's message of the calling thread's
 * last synchronous request are kept for sftp_last_status()/sftp_last_message().
 *
 * Handles are plain values (struct sftp_handle) stamped with their client:
 * the daemon keeps, next to a handle, the path and flags it was opened with,
 * and after a reconnect (sftp_handle_belongs() false) reopens the file on the
 * new client with sftp_open(new, path, sftp_reopen_flags(flags), ...).
 */
#ifndef SFTPFS_SFTP_H
#define SFTPFS_SFTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "limits.h"

struct sftp_client;

/* filexfer-02 §6.3: pflags of SSH_FXP_OPEN. */
#define SFTP_FXF_READ 0x00000001u
#define SFTP_FXF_WRITE 0x00000002u
#define SFTP_FXF_APPEND 0x00000004u
#define SFTP_FXF_CREAT 0x00000008u
#define SFTP_FXF_TRUNC 0x00000010u
#define SFTP_FXF_EXCL 0x00000020u

/* filexfer-02 §5: ATTRS flags. */
#define SFTP_ATTR_SIZE 0x00000001u
#define SFTP_ATTR_UIDGID 0x00000002u
#define SFTP_ATTR_PERMISSIONS 0x00000004u
#define SFTP_ATTR_ACMODTIME 0x00000008u
#define SFTP_ATTR_EXTENDED 0x80000000u

/* filexfer-02 §7 status codes (0..8), and the later drafts' codes some
 * servers send anyway (filexfer-13 §9.1); see the table in sftp.c. */
enum sftp_status {
	SFTP_FX_OK = 0,
	SFTP_FX_EOF = 1,
	SFTP_FX_NO_SUCH_FILE = 2,
	SFTP_FX_PERMISSION_DENIED = 3,
	SFTP_FX_FAILURE = 4,
	SFTP_FX_BAD_MESSAGE = 5,
	SFTP_FX_NO_CONNECTION = 6,
	SFTP_FX_CONNECTION_LOST = 7,
	SFTP_FX_OP_UNSUPPORTED = 8,
	SFTP_FX_INVALID_HANDLE = 9,
	SFTP_FX_NO_SUCH_PATH = 10,
	SFTP_FX_FILE_ALREADY_EXISTS = 11,
	SFTP_FX_WRITE_PROTECT = 12,
	SFTP_FX_NO_MEDIA = 13,
	SFTP_FX_NO_SPACE_ON_FILESYSTEM = 14,
	SFTP_FX_QUOTA_EXCEEDED = 15,
	SFTP_FX_UNKNOWN_PRINCIPAL = 16,
	SFTP_FX_LOCK_CONFLICT = 17,
	SFTP_FX_DIR_NOT_EMPTY = 18,
	SFTP_FX_NOT_A_DIRECTORY = 19,
	SFTP_FX_INVALID_FILENAME = 20,
	SFTP_FX_LINK_LOOP = 21,
	SFTP_FX_CANNOT_DELETE = 22,
	SFTP_FX_INVALID_PARAMETER = 23,
	SFTP_FX_FILE_IS_A_DIRECTORY = 24,
	/* Not a wire value: the request never got a status (transport error,
	 * malformed reply, or a reply that was not a STATUS). */
	SFTP_FX_NONE = 0xffffffffu,
};

/* One extended attribute pair (filexfer-02 §5 "extended_type/_data"). */
struct sftp_attr_ext {
	char *type;    /* NUL-free C string */
	uint8_t *data; /* byte string, NUL-terminated for convenience */
	size_t len;
};

/* filexfer-02 §5 ATTRS. Only the fields named in flags are meaningful. */
struct sftp_attrs {
	uint32_t flags;
	uint64_t size;
	uint32_t uid, gid;
	uint32_t permissions; /* st_mode bits, including the file type */
	uint32_t atime, mtime;
	struct sftp_attr_ext *ext; /* owned; ext_count entries */
	uint32_t ext_count;        /* at most SFTP_EXTENDED_ATTRS_MAX */
};

/* Frees the extended pairs and zeroes the struct. */
void sftp_attrs_clear(struct sftp_attrs *a);

/* A server handle: opaque bytes, 1..SFTP_HANDLE_MAX long (filexfer-02 §3),
 * stamped with the client that opened it. Passing it to another client gives
 * ERR_STALE without sending anything: after a reconnect, an old handle could
 * otherwise name some other file on the new server. */
struct sftp_handle {
	uint64_t owner; /* serial of the client that opened it */
	uint16_t len;
	uint8_t data[SFTP_HANDLE_MAX];
};

/* True when h was opened by c (so c may use it). */
bool sftp_handle_belongs(const struct sftp_client *c, const struct sftp_handle *h);
/* A handle of c from raw bytes (tests, scripted servers). */
int sftp_handle_adopt(const struct sftp_client *c, const void *data, size_t len,
                      struct sftp_handle *out) MUST_CHECK;

/* One entry of a NAME reply (filexfer-02 §7). */
struct sftp_name {
	char *name;     /* READDIR: one path component, never "/"-containing */
	char *longname; /* ls -l style line, for display only */
	struct sftp_attrs attrs;
};

struct sftp_names {
	struct sftp_name *v; /* owned */
	size_t count;
};

void sftp_names_clear(struct sftp_names *n);

/* Extensions recognised in SSH_FXP_VERSION (OpenSSH PROTOCOL §4.2). */
enum sftp_ext {
	SFTP_EXT_POSIX_RENAME = 1u << 0,       /* posix-rename@openssh.com "1" */
	SFTP_EXT_STATVFS = 1u << 1,            /* statvfs@openssh.com "2" */
	SFTP_EXT_FSTATVFS = 1u << 2,           /* fstatvfs@openssh.com "2" */
	SFTP_EXT_HARDLINK = 1u << 3,           /* hardlink@openssh.com "1" */
	SFTP_EXT_FSYNC = 1u << 4,              /* fsync@openssh.com "1" */
	SFTP_EXT_LSETSTAT = 1u << 5,           /* lsetstat@openssh.com "1" */
	SFTP_EXT_LIMITS = 1u << 6,             /* limits@openssh.com "1" */
	SFTP_EXT_EXPAND_PATH = 1u << 7,        /* expand-path@openssh.com "1" */
	SFTP_EXT_COPY_DATA = 1u << 8,          /* copy-data "1" */
	SFTP_EXT_HOME_DIRECTORY = 1u << 9,     /* home-directory "1" */
	SFTP_EXT_USERS_GROUPS_BY_ID = 1u << 10, /* users-groups-by-id@openssh.com "1" */
};

/* limits@openssh.com reply; also the client's effective sizes. */
struct sftp_limits {
	uint64_t packet_length;
	uint64_t read_length;
	uint64_t write_length;
	uint64_t open_handles; /* 0 = unlimited */
};

/* statvfs@openssh.com reply (OpenSSH PROTOCOL §4.4). */
struct sftp_statvfs {
	uint64_t bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax;
};
#define SFTP_STATVFS_RDONLY 0x1u
#define SFTP_STATVFS_NOSUID 0x2u

/* ---- the client and its byte stream ---- */

/* Queue bytes toward the server: data, then tail (a WRITE's payload, tlen
 * 0 for other requests), as one stream. Thread-safe; must NOT block on the
 * peer (it queues); returns 0 or a negative err code (e.g. ERR_CONN_CLOSED). */
typedef int (*sftp_send_fn)(void *ctx, const uint8_t *data, size_t len, const uint8_t *tail, size_t tlen);

/* A new client in state NEW; NULL on allocation failure. */
struct sftp_client *sftp_client_new(sftp_send_fn send, void *send_ctx);
/* Bytes received from the server, in order; called by one I/O thread at a
 * time; never blocks. Returns 0, or a negative code if the stream is corrupt
 * (framing broken, a reply to no request); the client is then shut down with
 * that code and the caller closes the stream. */
int sftp_client_input(struct sftp_client *c, const uint8_t *data, size_t len) MUST_CHECK;
/* The stream is gone: every pending and future request fails with err
 * (ERR_CONN_CLOSED if err is 0). Pending async callbacks run on the calling
 * thread. Idempotent: the first err sticks. */
void sftp_client_shutdown(struct sftp_client *c, int err);
/* Shuts down, runs the stream's cleanup hook (if any), frees. No other
 * thread may be inside a call on c. NULL is allowed. */
void sftp_client_free(struct sftp_client *c);
/* Sends INIT, waits for VERSION, records extensions, queries limits@ when
 * offered. Blocking (call from a non-I/O thread). */
int sftp_client_init(struct sftp_client *c) MUST_CHECK;

/* Called once, from the thread that shuts the client down, with the error.
 * It (like every completion callback) must not free the client. */
void sftp_client_set_shutdown_callback(struct sftp_client *c, void (*cb)(void *ctx, int err), void *ctx);
/* Run by sftp_client_free after shutdown, before the memory goes: stream
 * drivers (sftp_pipe.c) stop their threads and close their fds here. */
void sftp_client_set_cleanup(struct sftp_client *c, void (*cleanup)(void *ctx), void *ctx);

/* 0 while the client is usable, else the error it was shut down with. */
int sftp_client_error(struct sftp_client *c);

/* After init: protocol version (3), extension bitmask, server flavour. */
uint32_t sftp_client_version(const struct sftp_client *c);
unsigned sftp_client_extensions(const struct sftp_client *c);
bool sftp_client_has(const struct sftp_client *c, enum sftp_ext ext);
/* True when SYMLINK is sent as (targetpath, linkpath) - OpenSSH's order. */
bool sftp_client_symlink_reversed(const struct sftp_client *c);
/* Effective sizes: largest READ length we ask for, largest WRITE data we send,
 * and the open-handle limit (0 = none) - from limits@ when offered. */
void sftp_client_limits(const struct sftp_client *c, struct sftp_limits *out);
/* The window: at most max_requests requests and max_bytes data bytes in
 * flight (clamped to 1..SFTP_REQUESTS_IN_FLIGHT_MAX and >= one max READ). */
void sftp_client_set_window(struct sftp_client *c, unsigned max_requests, size_t max_bytes);
/*
 * At most max_bytes of WRITE data in flight, within the window (0: no limit
 * of its own). A WRITE larger than it still goes when no other is in flight.
 */
void sftp_client_set_write_window(struct sftp_client *c, size_t max_bytes);
/* The channel window the server granted (its receive buffer; 0: unknown),
 * recorded by whoever opened the channel the client runs on. */
void sftp_client_set_peer_window(struct sftp_client *c, size_t bytes);
size_t sftp_client_peer_window(struct sftp_client *c);
/* Requests currently in flight (for tests and statistics). */
unsigned sftp_client_in_flight(struct sftp_client *c);

/* Status of the calling thread's last synchronous request (SFTP_FX_NONE if
 * it got no STATUS reply) and the server's message (truncated; "" if none). */
uint32_t sftp_last_status(void);
const char *sftp_last_message(void);

/* Flags for reopening a file after reconnect: never create, truncate or
 * require exclusivity again. */
static inline uint32_t sftp_reopen_flags(uint32_t pflags)
{
	return pflags & ~(SFTP_FXF_CREAT | SFTP_FXF_TRUNC | SFTP_FXF_EXCL);
}

/* ---- synchronous operations (never on the I/O thread) ---- */

/* filexfer-02 §6.3; attrs may be NULL (no attributes). ERR_LIMIT_EXCEEDED
 * when the server's open-handle limit (limits@) would be exceeded. */
int sftp_open(struct sftp_client *c, const char *path, uint32_t pflags, const struct sftp_attrs *attrs,
              struct sftp_handle *out) MUST_CHECK;
int sftp_close(struct sftp_client *c, const struct sftp_handle *h) MUST_CHECK;
/* Reads up to len bytes at offset into dst; *got = 0 at end of file. More
 * than the read limit is fetched as READs all in flight at once, and *got is
 * then the contiguous prefix up to the first short READ (a short read, as
 * read(2) may return). */
int sftp_read(struct sftp_client *c, const struct sftp_handle *h, uint64_t offset, void *dst, size_t len,
              size_t *got) MUST_CHECK;
/* Writes all len bytes, split into WRITEs of the write limit, pipelined. */
int sftp_write(struct sftp_client *c, const struct sftp_handle *h, uint64_t offset, const void *data,
               size_t len) MUST_CHECK;
int sftp_stat(struct sftp_client *c, const char *path, struct sftp_attrs *out) MUST_CHECK;
int sftp_lstat(struct sftp_client *c, const char *path, struct sftp_attrs *out) MUST_CHECK;
int sftp_fstat(struct sftp_client *c, const struct sftp_handle *h, struct sftp_attrs *out) MUST_CHECK;
int sftp_setstat(struct sftp_client *c, const char *path, const struct sftp_attrs *a) MUST_CHECK;
int sftp_fsetstat(struct sftp_client *c, const struct sftp_handle *h, const struct sftp_attrs *a) MUST_CHECK;
int sftp_opendir(struct sftp_client *c, const char *path, struct sftp_handle *out) MUST_CHECK;
/* One batch of entries; out->count == 0 at the end of the directory. Names
 * are single components: "/" or NUL in a name, or an empty name, is refused. */
int sftp_readdir(struct sftp_client *c, const struct sftp_handle *h, struct sftp_names *out) MUST_CHECK;
/*
 * n (1 to SFTP_READDIR_MAX) READDIRs on h sent back to back, then every reply
 * awaited. The server handles requests on one handle in the order received
 * (filexfer-02 §6.1), so out[i] and res[i] are what the i-th of n successive
 * sftp_readdir calls would give: a batch, or count 0 from the end on (an
 * error after the end means nothing). Returns ERR_INVALID_ARGUMENT for a bad
 * n (nothing filled in), else 0. Every out[i] is the caller's to clear;
 * sftp_last_status() is then the last reply's, not the first error's.
 */
#define SFTP_READDIR_MAX 8
int sftp_readdir_many(struct sftp_client *c, const struct sftp_handle *h, unsigned n, struct sftp_names *out,
		      int *res) MUST_CHECK;
int sftp_remove(struct sftp_client *c, const char *path) MUST_CHECK;
int sftp_mkdir(struct sftp_client *c, const char *path, const struct sftp_attrs *attrs) MUST_CHECK;
int sftp_rmdir(struct sftp_client *c, const char *path) MUST_CHECK;
/* Canonical absolute path; *out is a new string (free()). */
int sftp_realpath(struct sftp_client *c, const char *path, char **out) MUST_CHECK;
/* filexfer-02 SSH_FXP_RENAME: fails when newpath exists (server-defined). */
int sftp_rename(struct sftp_client *c, const char *oldpath, const char *newpath) MUST_CHECK;
int sftp_readlink(struct sftp_client *c, const char *path, char **out) MUST_CHECK;
/* Creates linkpath pointing at target, in the argument order the server
 * expects (see sftp_client_symlink_reversed). */
int sftp_symlink(struct sftp_client *c, const char *target, const char *linkpath) MUST_CHECK;
/* SSH_FXP_EXTENDED with a raw body (after the request name). On an
 * EXTENDED_REPLY, *reply (if reply != NULL) receives its body as a new buf
 * (buf_free()); on a STATUS OK it is NULL. */
struct buf;
int sftp_extended(struct sftp_client *c, const char *request, const uint8_t *body, size_t len,
                  struct buf **reply) MUST_CHECK;

/* ---- extensions (OpenSSH PROTOCOL §4); fallbacks in PROTOCOL.md "SFTP" ---- */

/* rename(2) semantics, replacing newpath: posix-rename@ when offered, else
 * RENAME, and when that fails because newpath exists, a non-atomic
 * move-aside/rename/remove sequence. */
int sftp_posix_rename(struct sftp_client *c, const char *oldpath, const char *newpath) MUST_CHECK;
int sftp_statvfs(struct sftp_client *c, const char *path, struct sftp_statvfs *out) MUST_CHECK;
int sftp_fstatvfs(struct sftp_client *c, const struct sftp_handle *h, struct sftp_statvfs *out) MUST_CHECK;
/* ERR_NOT_SUPPORTED when the extension is absent (no fallback exists). */
int sftp_hardlink(struct sftp_client *c, const char *oldpath, const char *newpath) MUST_CHECK;
int sftp_fsync(struct sftp_client *c, const struct sftp_handle *h) MUST_CHECK;
int sftp_lsetstat(struct sftp_client *c, const char *path, const struct sftp_attrs *a) MUST_CHECK;
/* Asks the server again (the client already did at init). */
int sftp_query_limits(struct sftp_client *c, struct sftp_limits *out) MUST_CHECK;
/* expand-path@ ("~", "~user" expansion); without it, REALPATH of the path
 * with a leading "~/" or "~" replaced by "." (the login directory). */
int sftp_expand_path(struct sftp_client *c, const char *path, char **out) MUST_CHECK;
/* Server-side copy of len bytes (0 = to EOF) between two open handles. */
int sftp_copy_data(struct sftp_client *c, const struct sftp_handle *from, uint64_t from_off, uint64_t len,
                   const struct sftp_handle *to, uint64_t to_off) MUST_CHECK;
/* home-directory; without it, only the login user ("" or NULL) is answered
 * (REALPATH "."), others get ERR_NOT_SUPPORTED. */
int sftp_home_directory(struct sftp_client *c, const char *user, char **out) MUST_CHECK;
/* Names for ids (unknown ids give ""): unames gets nu and gnames ng new
 * strings in NULL-terminated arrays; free() each string, then the array. */
int sftp_users_groups_by_id(struct sftp_client *c, const uint32_t *uids, size_t nu, const uint32_t *gids,
                            size_t ng, char ***unames, char ***gnames) MUST_CHECK;

/* ---- a lookup pipelined behind a change ---- */

/* Kinds of request a trailing LSTAT may follow. */
#define SFTP_TRAIL_OPEN 0x1u
#define SFTP_TRAIL_MKDIR 0x2u
#define SFTP_TRAIL_SETSTAT 0x4u /* SETSTAT and lsetstat@openssh.com */
#define SFTP_TRAIL_RENAME 0x8u  /* RENAME and posix-rename@openssh.com */
#define SFTP_TRAIL_REMOVE 0x10u /* REMOVE and RMDIR */
#define SFTP_TRAIL_LINK 0x20u   /* SYMLINK and hardlink@openssh.com */
/* Paths one change may be followed by (the name, and the directories whose
 * entries it changed). */
#define SFTP_TRAIL_MAX 3u

/*
 * Arms the calling thread: the next synchronous request of one of kinds it
 * sends (on any client) is followed at once, on the same client, by an LSTAT
 * of path. The server answers in order, so one round trip gives the
 * attributes after the change. Always end with sftp_trail_take.
 */
void sftp_trail_lstat(const char *path, unsigned kinds);
/* A trail is armed on this thread and not sent yet. */
bool sftp_trail_armed(void);
/* Adds another path to the armed trail (at most SFTP_TRAIL_MAX in all),
 * LSTATed right after the first, same request, same client; ignored when
 * nothing is armed or the trail was already sent. */
void sftp_trail_also(const char *path);
/* The answer for a path added with sftp_trail_also, as sftp_trail_take
 * (the first one added under that path); call it before sftp_trail_take,
 * which disarms and forgets them all. */
int sftp_trail_take_also(const char *path, struct sftp_attrs *out) MUST_CHECK;
/* Disarms; 0 and *out filled (sftp_attrs_clear it) if the LSTAT was sent and
 * answered with attributes, else a negative code (ERR_INVALID_ARGUMENT: it
 * was never sent). *client (if not NULL): the client it went out on, or NULL.
 * The thread's sftp_last_status() is not changed. */
int sftp_trail_take(struct sftp_attrs *out, const struct sftp_client **client) MUST_CHECK;

/* ---- asynchronous bulk data ---- */

/* READ completion: err 0 and the data (borrowed for the call; len may be
 * short), err 0 and len 0 at end of file, or a negative code. Callbacks run
 * on the I/O thread (or the thread calling sftp_client_shutdown): quick, no
 * blocking, no synchronous sftp calls (refused), never sftp_client_free. */
typedef void (*sftp_read_cb)(void *ctx, int err, const uint8_t *data, size_t len);
/* Completion of a request answered with a STATUS (WRITE). */
typedef void (*sftp_status_cb)(void *ctx, int err);

/* Flag for the async calls: fail with ERR_WOULD_BLOCK instead of waiting for
 * room in the window. Required on the I/O thread (inside callbacks). */
#define SFTP_ASYNC_NOWAIT 0x1u

/* Queue one READ of len bytes (clamped to the read limit). On error nothing
 * was queued and cb will not be called; otherwise cb is called exactly once. */
int sftp_read_async(struct sftp_client *c, const struct sftp_handle *h, uint64_t offset, size_t len,
                    unsigned flags, sftp_read_cb cb, void *ctx) MUST_CHECK;
/* Queue one WRITE; data is copied before the call returns, but possibly
 * after cb has run (a shutdown meanwhile completes the request), so cb must
 * not free data. len must not exceed the write limit (ERR_INVALID_ARGUMENT).
 * Same calling rules as sftp_read_async. */
int sftp_write_async(struct sftp_client *c, const struct sftp_handle *h, uint64_t offset, const void *data,
                     size_t len, unsigned flags, sftp_status_cb cb, void *ctx) MUST_CHECK;

/* Queue one FSETSTAT (the attribute changes of a file open for writing, sent
 * behind its WRITEs: fuse/files.c). Same calling rules as sftp_read_async. */
int sftp_fsetstat_async(struct sftp_client *c, const struct sftp_handle *h, const struct sftp_attrs *a, unsigned flags,
                        sftp_status_cb cb, void *ctx) MUST_CHECK;

#endif
