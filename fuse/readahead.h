/*
 * readahead.h - the per-open-file read-ahead engine of the daemon: it turns
 * the kernel's FUSE reads (at most 128 KiB to 1 MiB each, a few at a time)
 * into a stream of SFTP READs kept in flight ahead of the reader, so a link
 * with a long round trip stays full.
 *
 * A file's engine watches the offsets it is asked for. While they follow on
 * from each other it keeps a window of READs (sftp_read_async, each of the
 * server's read length from limits@openssh.com) outstanding beyond the
 * furthest offset read; the window starts small and grows with the measured
 * throughput times the smallest round trip seen, up to a per-file cap, and
 * all engines together never hold more than a process-wide budget. A read
 * elsewhere in the file drops the buffers and shrinks the window. Data is
 * kept only until the reader has taken it.
 *
 * Correctness first: a short READ in the middle of the file is not taken for
 * the end of it (the rest is asked for again); the end of file is reported
 * exactly where the server said it is; an error of a READ sent ahead reaches
 * the caller only when the caller needs that range. Local writes and
 * truncates call readahead_invalidate, a new handle or client drops all.
 */
#ifndef SFTPFS_FUSE_READAHEAD_H
#define SFTPFS_FUSE_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "options.h"
#include "sftp.h"

/* Default largest window (bytes requested or buffered ahead) of one file;
 * -o readahead_max=N overrides it. */
#define READAHEAD_FILE_MAX_DEFAULT (16u * 1024 * 1024)
/* Every engine of the process together holds at most this much read-ahead
 * data (raised to the per-file cap if that is larger). */
#define READAHEAD_TOTAL_MAX (64u * 1024 * 1024)
/* Window of a stream that has just been recognised as sequential. */
#define READAHEAD_WINDOW_START (512u * 1024)

struct readahead;

/* A new engine with o's settings (o->readahead_max), or NULL when read-ahead
 * is off (-o no_readahead, -o direct_io): the caller then reads directly. */
struct readahead *readahead_new(const struct sftpfs_opts *o);
/* Drops every buffer and waits until the callbacks of its READs still in
 * flight have run. NULL is allowed. */
void readahead_free(struct readahead *ra);

/*
 * Up to size bytes of the file at off into out, read through handle h of
 * client c (both borrowed for the call). Returns the number of bytes (fewer
 * only at the end of file, 0 at or beyond it), or a negative err.h code.
 * Several threads may call it at once on the same engine. Blocks; never call
 * it on an I/O thread.
 */
ssize_t readahead_read(struct readahead *ra, struct sftp_client *c, const struct sftp_handle *h,
                       uint64_t off, char *out, size_t size) MUST_CHECK;

/* A local write or truncate changed [off, off + len) (len UINT64_MAX: to
 * the end of the file): drop what is buffered or being read there. */
void readahead_invalidate(struct readahead *ra, uint64_t off, uint64_t len);
/* The file's size as a fresh lookup saw it (UINT64_MAX: unknown): a READ
 * that comes back short exactly there is taken as the end of the file
 * instead of asking for the rest (one round trip less per small file). */
void readahead_size_hint(struct readahead *ra, uint64_t size);
/* The handle changed (reconnect): drop everything. */
void readahead_reset(struct readahead *ra);

/*
 * Lets the kernel read ahead READAHEAD_KERNEL_KB on the FUSE mount at
 * o->mountpoint (unless -o no_readahead), so its page cache requests are 1 MiB FUSE reads instead
 * of 128 KiB ones (a FUSE mount starts at the kernel's default of 128 KiB whatever max_readahead
 * the INIT reply asks for, and only the mount's /sys/class/bdi/MAJ:MIN/read_ahead_kb raises it).
 * Best effort: needs root, and logs (debug) instead of failing. Call it from the FUSE init
 * callback; it must not touch the mount itself, which is not answering yet.
 */
#define READAHEAD_KERNEL_KB 1024u
void readahead_tune_kernel(const struct sftpfs_opts *o);

/* What an engine is doing, for tests and debugging. */
struct readahead_stats {
	uint64_t window;      /* current window, bytes */
	uint64_t window_peak; /* largest window so far */
	uint64_t held;        /* bytes requested or buffered by this engine now */
	uint64_t held_peak;   /* largest held so far */
	uint64_t total_held;  /* bytes held by every engine of the process now */
	uint64_t reads;       /* readahead_read calls */
	uint64_t waits;       /* calls that had to wait for a READ */
	uint64_t requests;    /* READs sent */
	uint64_t prefetches;  /* of which sent ahead of the reader */
	uint64_t rtt_min_us;  /* smallest round trip of a READ seen, 0 if none */
	uint64_t rate;        /* throughput estimate, bytes per second */
	bool sequential;      /* the stream is read sequentially now */
};
void readahead_stats(struct readahead *ra, struct readahead_stats *out);

#endif
