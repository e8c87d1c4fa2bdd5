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

#include "options.h"
#include "sftp.h"

/* How a connection is made (chosen from the options at startup). */
struct remote;

struct sftpfs {
	struct sftpfs_opts *opts;  /* owned by main; read-only after parse */
	struct remote *remote;     /* transport; owned */
	char *base;                /* remote directory, no trailing '/' except "/" */

	GMutex lock;
	/* Protected by lock. The client is created by sftpfs_connect and lives
	 * until sftpfs_disconnect at unmount; operations borrow it. */
	struct sftp_client *client;
	unsigned generation;       /* bumped on every new client */
	int connect_err;           /* last failed connect, 0 if none */

	/* ID mapping (read-only after setup). */
	uid_t local_uid;
	gid_t local_gid;
	uint32_t remote_uid;       /* idmap=user: the remote login's IDs */
	uint32_t remote_gid;
	GHashTable *uid_r2l, *uid_l2r, *gid_r2l, *gid_l2r; /* idmap=file */
};

/* One open file or directory (fi->fh). It remembers how it was opened so a
 * later reconnect can reopen it (path, SFTP flags without CREAT/TRUNC/EXCL)
 * and keeps the first write error until flush/fsync/release reports it. */
struct sftpfs_file {
	struct sftp_client *client; /* the client the handle belongs to */
	unsigned generation;
	struct sftp_handle handle;
	char *path;                 /* mount-relative path at open time */
	uint32_t pflags;            /* SFTP_FXF_* it was opened with */
	bool is_dir;
	GMutex lock;
	int write_err;              /* protected by lock: first failed write (err.h) */
	struct readahead *ra;       /* read-ahead engine (readahead.h), NULL if off */
};

/* The mount of the calling FUSE operation. */
struct sftpfs *sftpfs_get(void);

/* The client, connecting first if needed (delay_connect, a lost link).
 * Returns 0 and a client borrowed until unmount, or a negative code. */
int sftpfs_client(struct sftpfs *fs, struct sftp_client **out) MUST_CHECK;
/* Connects now (the mount-time connection, before daemonizing). */
int sftpfs_connect(struct sftpfs *fs) MUST_CHECK;
void sftpfs_disconnect(struct sftpfs *fs);

/* Transports (remote.c). */
int remote_new(const struct sftpfs_opts *o, struct remote **out) MUST_CHECK;
/* A new initialised SFTP client over a new connection. */
int remote_open_client(struct remote *r, struct sftp_client **out) MUST_CHECK;
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

#endif
