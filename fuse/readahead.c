/*
 * readahead.c - the per-open-file read-ahead engine (see readahead.h).
 *
 * An engine keeps a list of chunks sorted by offset, none overlapping. A
 * chunk is one READ (at most the client's read length): being sent, in
 * flight, done with its data (or the end of file at its offset), or failed.
 * Readers find the chunks covering the range they want, send READs for the
 * gaps, wait for the chunks to complete and copy the data out. While the
 * offsets asked for follow on from each other (within STREAM_SLACK, since the
 * kernel sends its reads from several threads, a little out of order), the
 * engine also keeps READs in flight from the furthest offset read ("high
 * water") up to the window beyond it, topping them up from the completion
 * callbacks so the link never idles while the reader copies.
 *
 * The window starts at READAHEAD_WINDOW_START and, each measuring period,
 * becomes twice the measured throughput times the smallest round trip seen
 * (the bandwidth-delay product, doubled so the pipe stays full while a
 * chunk is being consumed), if that is more; it is capped per file and
 * never grows while the stream is not sequential. A read far from the high
 * water mark means random access: everything buffered is dropped and the
 * window goes back to its start. Every byte asked for or held counts against
 * the file's cap and the process-wide budget (total_held); READs a reader
 * needs are always sent, READs ahead only within both.
 *
 * Callbacks run on the client's I/O thread: they copy the data, take the
 * engine lock briefly, and send more READs with SFTP_ASYNC_NOWAIT only. A
 * chunk dropped (reset, invalidate, random access) while its READ is out
 * becomes an orphan: it is off the list and its callback frees it. A reader
 * that has to block on the client's window (never under the engine lock)
 * marks its chunk `sender` so that nobody frees it under its feet.
 *
 * Lock order: readahead.lock, then total_lock; the SFTP client's own locks
 * may be taken under readahead.lock (sftp_read_async with NOWAIT), never the
 * other way round, since callbacks run without the client's locks held.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>

#include "log.h"
#include "readahead.h"

/* Reads within this distance of the high water mark continue the stream. */
#define STREAM_SLACK (2u * 1024 * 1024)
/* Data this far behind the high water mark is dropped even if some of it
 * was not taken (the kernel read around it). */
#define KEEP_BEHIND (1u * 1024 * 1024)
/* Shortest period over which the throughput is measured. */
#define RATE_PERIOD_MIN_US 20000
/* Spare data buffers of SFTP_READ_MAX bytes kept for the next READs: a
 * fresh 255 KiB malloc is an mmap whose pages all fault in on the I/O
 * thread. Data shorter than POOL_MIN_LEN is malloc'd as it is. */
#define POOL_BUFFERS 16
#define POOL_MIN_LEN (64u * 1024)

enum chunk_state {
	CHUNK_SENDING, /* a reader is sending its READ (blocking on the window) */
	CHUNK_PENDING, /* the READ is out */
	CHUNK_DONE,    /* data held, or eof */
	CHUNK_FAILED,  /* err holds the READ's error */
};

struct chunk {
	struct chunk *prev, *next; /* in readahead.head, unless orphan */
	struct readahead *ra;
	uint64_t off;
	size_t len;     /* asked for; once DONE, the bytes held */
	size_t taken;   /* bytes copied out to readers */
	size_t charged; /* bytes counted against the budgets */
	enum chunk_state state;
	int err;
	bool eof;    /* DONE without data: the file ends at off */
	bool orphan; /* off the list; the callback frees it */
	bool sender; /* a reader still refers to it after sending */
	bool ahead;  /* sent ahead of the reader */
	bool wanted; /* a reader waits for it: wake readers when it completes */
	gint64 sent_us;
	uint8_t *data;
};

struct readahead {
	GMutex lock;
	GCond cond; /* a chunk completed, or a sender finished */
	/* Everything below is protected by lock. */
	struct chunk *head, *tail;  /* sorted by off, disjoint */
	unsigned out;               /* READs whose callback has not run */
	bool freeing;               /* readahead_free waits for out == 0 */
	uint64_t size_hint;         /* file size from a fresh lookup, UINT64_MAX if unknown */
	struct sftp_client *client; /* what the chunks were read through */
	struct sftp_handle handle;
	bool have_handle;
	size_t file_cap;   /* largest window and held bytes */
	size_t req_len;    /* READ size (client's read length) */
	size_t held;       /* bytes charged by this engine */
	bool started;      /* a read was seen since the last reset */
	bool streaming;    /* sequential: send READs ahead */
	bool ahead_failed; /* a READ ahead failed: stop until a read succeeds */
	uint64_t hiwater;  /* furthest end of a read of the stream */
	size_t window;
	gint64 rate_t0;      /* start of the throughput measuring period */
	uint64_t rate_bytes; /* bytes received in the period */
	struct readahead_stats st;
};

/* The process-wide budget and buffer pool. */
static GMutex total_lock;
static uint64_t total_held;         /* protected by total_lock */
static uint8_t *pool[POOL_BUFFERS]; /* protected by total_lock */
static unsigned pool_count;         /* protected by total_lock */

static bool pooled_size(size_t len)
{
	return len >= POOL_MIN_LEN && len <= SFTP_READ_MAX;
}

/* A buffer for len bytes of READ data; give it back with data_free(p, len). */
static uint8_t *data_alloc(size_t len)
{
	uint8_t *p = NULL;

	if (!pooled_size(len))
		return g_malloc(len);
	g_mutex_lock(&total_lock);
	if (pool_count > 0)
		p = pool[--pool_count];
	g_mutex_unlock(&total_lock);
	return p != NULL ? p : g_malloc(SFTP_READ_MAX);
}

static void data_free(uint8_t *p, size_t len)
{
	if (p != NULL && pooled_size(len)) {
		g_mutex_lock(&total_lock);
		if (pool_count < POOL_BUFFERS) {
			pool[pool_count++] = p;
			p = NULL;
		}
		g_mutex_unlock(&total_lock);
	}
	g_free(p);
}

static uint64_t total_cap(const struct readahead *ra)
{
	return ra->file_cap > READAHEAD_TOTAL_MAX ? ra->file_cap : READAHEAD_TOTAL_MAX;
}

/* ---- budgets ---- */

static void charge(struct readahead *ra, struct chunk *ch, size_t n)
{
	ch->charged += n;
	ra->held += n;
	if (ra->held > ra->st.held_peak)
		ra->st.held_peak = ra->held;
	g_mutex_lock(&total_lock);
	total_held += n;
	g_mutex_unlock(&total_lock);
}

static void uncharge(struct readahead *ra, struct chunk *ch, size_t n)
{
	g_assert(ch->charged >= n && ra->held >= n);
	ch->charged -= n;
	ra->held -= n;
	g_mutex_lock(&total_lock);
	g_assert(total_held >= n);
	total_held -= n;
	g_mutex_unlock(&total_lock);
}

/* True if n more bytes may be sent ahead. */
static bool budget_allows(const struct readahead *ra, size_t n)
{
	bool ok;

	if (ra->held + n > ra->file_cap)
		return false;
	g_mutex_lock(&total_lock);
	ok = total_held + n <= total_cap(ra);
	g_mutex_unlock(&total_lock);
	return ok;
}

/* ---- the chunk list ---- */

static uint64_t chunk_end(const struct chunk *ch)
{
	return ch->off + ch->len;
}

static bool chunk_busy(const struct chunk *ch)
{
	return ch->state == CHUNK_SENDING || ch->state == CHUNK_PENDING;
}

/* Inserts ch before next (NULL: at the tail). */
static void link_before(struct readahead *ra, struct chunk *ch, struct chunk *next)
{
	ch->next = next;
	ch->prev = next != NULL ? next->prev : ra->tail;
	if (ch->prev != NULL)
		ch->prev->next = ch;
	else
		ra->head = ch;
	if (next != NULL)
		next->prev = ch;
	else
		ra->tail = ch;
}

static void unlink_chunk(struct readahead *ra, struct chunk *ch)
{
	if (ch->prev != NULL)
		ch->prev->next = ch->next;
	else
		ra->head = ch->next;
	if (ch->next != NULL)
		ch->next->prev = ch->prev;
	else
		ra->tail = ch->prev;
	ch->prev = ch->next = NULL;
}

static void chunk_free(struct readahead *ra, struct chunk *ch)
{
	uncharge(ra, ch, ch->charged);
	data_free(ch->data, ch->len);
	g_free(ch);
}

/* Takes ch off the list: freed now, or by whoever still refers to it. */
static void drop_chunk(struct readahead *ra, struct chunk *ch)
{
	unlink_chunk(ra, ch);
	if (chunk_busy(ch) || ch->sender) {
		ch->orphan = true;
		/* Its data, if any comes, is of no use: release the budget now. */
		uncharge(ra, ch, ch->charged);
		return;
	}
	chunk_free(ra, ch);
}

static void drop_all(struct readahead *ra)
{
	while (ra->head != NULL)
		drop_chunk(ra, ra->head);
}

/* Drops the chunks overlapping [lo, hi) and every end-of-file mark. */
static void drop_range(struct readahead *ra, uint64_t lo, uint64_t hi)
{
	struct chunk *ch = ra->head, *next;

	for (; ch != NULL; ch = next) {
		next = ch->next;
		if (ch->eof || (ch->off < hi && chunk_end(ch) > lo))
			drop_chunk(ra, ch);
	}
}

/*
 * The chunk that answers a read at pos: the one containing pos, or an end
 * of file at or before pos. NULL if pos is in a gap.
 */
static struct chunk *find_chunk(struct readahead *ra, uint64_t pos)
{
	for (struct chunk *ch = ra->head; ch != NULL && ch->off <= pos; ch = ch->next) {
		if (ch->eof || pos < chunk_end(ch))
			return ch;
	}
	return NULL;
}

static void reset_locked(struct readahead *ra)
{
	drop_all(ra);
	ra->started = false;
	ra->streaming = false;
	ra->ahead_failed = false;
	ra->hiwater = 0;
	ra->window = READAHEAD_WINDOW_START;
	ra->rate_t0 = 0;
	ra->rate_bytes = 0;
}

/* ---- sending READs ---- */

static void read_done(void *ctx, int err, const uint8_t *data, size_t len);

static struct chunk *chunk_new(struct readahead *ra, uint64_t off, size_t len, bool ahead,
                               struct chunk *next)
{
	struct chunk *ch = g_malloc0(sizeof(*ch));

	ch->ra = ra;
	ch->off = off;
	ch->len = len;
	ch->ahead = ahead;
	ch->state = CHUNK_PENDING;
	ch->sent_us = g_get_monotonic_time();
	link_before(ra, ch, next);
	charge(ra, ch, len);
	return ch;
}

/* Sends one READ for [off, off + len) without waiting for room in the
 * client's window; the chunk goes before next. */
static int send_nowait(struct readahead *ra, uint64_t off, size_t len, bool ahead,
                       struct chunk *next)
{
	struct chunk *ch = chunk_new(ra, off, len, ahead, next);
	int r;

	ra->out++;
	r = sftp_read_async(ra->client, &ra->handle, off, len, SFTP_ASYNC_NOWAIT, read_done, ch);
	if (r != 0) {
		ra->out--;
		unlink_chunk(ra, ch);
		chunk_free(ra, ch);
		return r;
	}
	ra->st.requests++;
	if (ahead)
		ra->st.prefetches++;
	return 0;
}

/*
 * Sends one READ a reader needs, waiting for room in the client's window
 * with the engine unlocked. The list may have changed when it returns.
 */
static int send_wait(struct readahead *ra, uint64_t off, size_t len, struct chunk *next)
{
	struct chunk *ch = chunk_new(ra, off, len, false, next);
	struct sftp_client *c = ra->client;
	struct sftp_handle h = ra->handle;
	int r;

	ch->state = CHUNK_SENDING;
	ch->sender = true;
	ra->out++;
	g_mutex_unlock(&ra->lock);
	r = sftp_read_async(c, &h, off, len, 0, read_done, ch);
	g_mutex_lock(&ra->lock);
	ch->sender = false;
	if (r != 0) {
		/* Not queued, no callback: the error goes straight to the caller. */
		ra->out--;
		if (!ch->orphan)
			unlink_chunk(ra, ch);
		chunk_free(ra, ch);
	} else {
		ra->st.requests++;
		if (ch->state == CHUNK_SENDING)
			ch->state = CHUNK_PENDING;
		if (ch->orphan && !chunk_busy(ch))
			chunk_free(ra, ch); /* dropped, and its callback has run */
	}
	g_cond_broadcast(&ra->cond);
	return r;
}

/*
 * Sends READs for the gaps in [from, to). need: a reader needs the range
 * (always sent, waiting for the client's window if it must), else ahead of
 * the reader (within the budgets, never waiting). Returns 0, or the error of
 * a READ a reader needed.
 */
static int fill_gaps(struct readahead *ra, uint64_t from, uint64_t to, bool need)
{
	uint64_t pos = from;
	struct chunk *ch = ra->head;
	int r;

	while (pos < to) {
		uint64_t gap_end;
		size_t n;

		while (ch != NULL && !ch->eof && chunk_end(ch) <= pos)
			ch = ch->next;
		if (ch != NULL && ch->eof && ch->off <= pos)
			return 0; /* the file ends before: nothing more to ask */
		if (ch != NULL && ch->off <= pos) {
			pos = chunk_end(ch);
			continue;
		}
		gap_end = ch != NULL && ch->off < to ? ch->off : to;
		n = gap_end - pos < ra->req_len ? (size_t)(gap_end - pos) : ra->req_len;
		if (!need && !budget_allows(ra, n))
			return 0;
		r = send_nowait(ra, pos, n, !need, ch);
		if (r == ERR_WOULD_BLOCK && need) {
			if ((r = send_wait(ra, pos, n, ch)) != 0)
				return r;
			/* The list may have changed while unlocked: rescan. */
			pos += n;
			ch = ra->head;
			continue;
		}
		if (r != 0)
			return need ? r : 0;
		pos += n;
	}
	return 0;
}

/* Tops up the READs ahead of the reader to the window. */
static void fill_ahead(struct readahead *ra)
{
	if (!ra->streaming || ra->ahead_failed || ra->client == NULL)
		return;
	(void)fill_gaps(ra, ra->hiwater, ra->hiwater + ra->window, false);
}

/* ---- completions (I/O thread) ---- */

/* One more round trip and received bytes: the window follows throughput x
 * smallest round trip (the bandwidth-delay product), doubled. */
static void measure(struct readahead *ra, const struct chunk *ch, size_t len, gint64 now)
{
	uint64_t rtt = (uint64_t)(now - ch->sent_us);
	uint64_t period, target;

	if (ra->st.rtt_min_us == 0 || rtt < ra->st.rtt_min_us)
		ra->st.rtt_min_us = rtt > 0 ? rtt : 1;
	if (ra->rate_t0 == 0) {
		ra->rate_t0 = ch->sent_us;
		ra->rate_bytes = 0;
	}
	ra->rate_bytes += len;
	period =
	    2 * ra->st.rtt_min_us > RATE_PERIOD_MIN_US ? 2 * ra->st.rtt_min_us : RATE_PERIOD_MIN_US;
	if ((uint64_t)(now - ra->rate_t0) < period)
		return;
	ra->st.rate = ra->rate_bytes * G_USEC_PER_SEC / (uint64_t)(now - ra->rate_t0);
	ra->rate_t0 = now;
	ra->rate_bytes = 0;
	if (!ra->streaming)
		return;
	target = 2 * (ra->st.rate * ra->st.rtt_min_us / G_USEC_PER_SEC) + 2 * ra->req_len;
	if (target > ra->file_cap)
		target = ra->file_cap;
	if (target > ra->window)
		ra->window = (size_t)target;
	if (ra->window > ra->st.window_peak)
		ra->st.window_peak = ra->window;
}

static void read_done(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct chunk *ch = ctx;
	struct readahead *ra = ch->ra;
	gint64 now = g_get_monotonic_time();
	uint8_t *copy = NULL;
	bool wake;

	if (err == 0 && len > ch->len)
		err = ERR_PROTOCOL; /* more than asked for */
	if (err == ERR_EOF)
		err = 0, len = 0;
	if (err == 0 && len > 0) {
		/* Copied before taking the lock: other callers wait less. */
		copy = data_alloc(len);
		memcpy(copy, data, len);
	}
	g_mutex_lock(&ra->lock);
	g_assert(ra->out > 0);
	ra->out--;
	/* Readers are woken only for what they wait on: a futex wake per
	 * completion would cost more than the copy. */
	wake = ch->wanted || (ra->freeing && ra->out == 0);
	if (ch->orphan) {
		data_free(copy, len);
		if (ch->sender)
			ch->state = CHUNK_DONE; /* the sender frees it */
		else
			chunk_free(ra, ch);
		if (wake)
			g_cond_broadcast(&ra->cond);
		g_mutex_unlock(&ra->lock);
		return;
	}
	if (err != 0) {
		ch->state = CHUNK_FAILED;
		ch->err = err;
		uncharge(ra, ch, ch->charged);
		if (ch->ahead)
			ra->ahead_failed = true;
	} else if (len == 0) {
		/* filexfer-02 §6.4: EOF status, the file ends here. */
		ch->state = CHUNK_DONE;
		ch->eof = true;
		ch->len = 0;
		uncharge(ra, ch, ch->charged);
	} else {
		size_t asked = ch->len;

		ch->state = CHUNK_DONE;
		ch->data = copy;
		ch->len = len;
		uncharge(ra, ch, asked - len);
		measure(ra, ch, len, now);
		/* A short READ is not the end of the file (filexfer-02 §6.4
		 * lets a server return less): ask for the rest. If the client
		 * has no room now, the gap stays for the reader to fill. */
		if (len < asked && !ch->orphan && ra->size_hint != UINT64_MAX && ch->off + len == ra->size_hint) {
			/* Short exactly at the size a fresh lookup gave: the end
			 * of the file, without a READ more to hear it. */
			struct chunk *e = chunk_new(ra, ch->off + len, 0, false, ch->next);

			e->state = CHUNK_DONE;
			e->eof = true;
		} else if (len < asked) {
			(void)fill_gaps(ra, ch->off + len, ch->off + asked, false);
		}
		fill_ahead(ra);
	}
	if (wake)
		g_cond_broadcast(&ra->cond);
	g_mutex_unlock(&ra->lock);
}

/* ---- the interface ---- */

struct readahead *readahead_new(const struct sftpfs_opts *o)
{
	struct readahead *ra;

	if (o->no_readahead || o->direct_io)
		return NULL;
	ra = g_malloc0(sizeof(*ra)); /* not g_new0: see sftpfs.h */
	g_mutex_init(&ra->lock);
	g_cond_init(&ra->cond);
	ra->file_cap =
	    o->readahead_max != OPT_UNSET ? o->readahead_max : READAHEAD_FILE_MAX_DEFAULT;
	if (ra->file_cap < READAHEAD_WINDOW_START)
		ra->file_cap = READAHEAD_WINDOW_START;
	ra->req_len = SFTP_IO_LEN_DEFAULT;
	ra->size_hint = UINT64_MAX;
	reset_locked(ra);
	ra->st.window_peak = ra->window;
	return ra;
}

void readahead_free(struct readahead *ra)
{
	if (ra == NULL)
		return;
	g_mutex_lock(&ra->lock);
	if (ra->st.prefetches > 0)
		log_verbose(LOG_CAT_FUSE,
		            "read-ahead: %" G_GUINT64_FORMAT " reads (%" G_GUINT64_FORMAT
		            " waited), %" G_GUINT64_FORMAT " READs (%" G_GUINT64_FORMAT
		            " ahead), window peak %" G_GUINT64_FORMAT
		            ", held peak %" G_GUINT64_FORMAT ", rtt min %" G_GUINT64_FORMAT
		            " us, %" G_GUINT64_FORMAT " B/s",
		            ra->st.reads, ra->st.waits, ra->st.requests, ra->st.prefetches,
		            ra->st.window_peak, ra->st.held_peak, ra->st.rtt_min_us, ra->st.rate);
	reset_locked(ra);
	ra->freeing = true;
	while (ra->out > 0)
		g_cond_wait(&ra->cond, &ra->lock);
	g_mutex_unlock(&ra->lock);
	g_cond_clear(&ra->cond);
	g_mutex_clear(&ra->lock);
	g_free(ra);
}

static bool same_source(const struct readahead *ra, const struct sftp_client *c,
                        const struct sftp_handle *h)
{
	return ra->have_handle && ra->client == c && ra->handle.owner == h->owner &&
	       ra->handle.len == h->len && memcmp(ra->handle.data, h->data, h->len) == 0;
}

/* Classifies a read of [off, end): continues the stream, or random. */
static void track_stream(struct readahead *ra, uint64_t off, uint64_t end)
{
	bool near =
	    ra->started && off + STREAM_SLACK >= ra->hiwater && off <= ra->hiwater + STREAM_SLACK;

	if (near) {
		if (!ra->streaming) {
			ra->streaming = true;
			ra->rate_t0 = 0;
		}
		if (end > ra->hiwater)
			ra->hiwater = end;
		return;
	}
	if (ra->started) {
		/* Random access: what was read ahead is of no use. */
		drop_all(ra);
		ra->window = READAHEAD_WINDOW_START;
	}
	ra->streaming = false;
	ra->ahead_failed = false;
	ra->started = true;
	ra->hiwater = end;
}

/* Frees what the reader has taken in full, and what is far behind. */
static void trim_behind(struct readahead *ra)
{
	struct chunk *ch = ra->head, *next;

	for (; ch != NULL; ch = next) {
		next = ch->next;
		if (ch->state != CHUNK_DONE || ch->eof)
			continue;
		if (ch->taken >= ch->len || chunk_end(ch) + KEEP_BEHIND <= ra->hiwater)
			drop_chunk(ra, ch);
	}
}

ssize_t readahead_read(struct readahead *ra, struct sftp_client *c, const struct sftp_handle *h,
                       uint64_t off, char *out, size_t size)
{
	struct sftp_limits lim;
	uint64_t end;
	size_t copied = 0;
	bool waited = false, at_eof = false;
	int r = 0;

	if (size == 0)
		return 0;
	if (off > UINT64_MAX - size)
		return ERR_INVALID_ARGUMENT;
	end = off + size;
	sftp_client_limits(c, &lim);
	g_mutex_lock(&ra->lock);
	ra->st.reads++;
	if (!same_source(ra, c, h)) {
		reset_locked(ra);
		ra->client = c;
		ra->handle = *h;
		ra->have_handle = true;
	}
	ra->req_len = lim.read_length > 0 && lim.read_length <= SIZE_MAX ? (size_t)lim.read_length
	                                                                 : SFTP_IO_LEN_DEFAULT;
	track_stream(ra, off, end);
	/* Everything this read needs goes out at once, then the READs ahead. */
	r = fill_gaps(ra, off, end, true);
	fill_ahead(ra);
	while (r == 0 && copied < size) {
		uint64_t pos = off + copied;
		struct chunk *ch = find_chunk(ra, pos);
		size_t n;

		if (ch == NULL) {
			/* A gap: a short READ's rest not sent yet, or dropped. */
			r = fill_gaps(ra, pos, end, true);
			continue;
		}
		if (chunk_busy(ch)) {
			/* Wait for the last READ of the range still out: READs
			 * complete in order, so one wake-up usually finds all. */
			struct chunk *last = ch;

			for (struct chunk *x = ch->next; x != NULL && x->off < end; x = x->next) {
				if (chunk_busy(x))
					last = x;
			}
			last->wanted = true;
			waited = true;
			g_cond_wait(&ra->cond, &ra->lock);
			continue;
		}
		if (ch->state == CHUNK_FAILED) {
			/* Reported once; a later read asks again. */
			r = ch->err;
			drop_chunk(ra, ch);
			break;
		}
		if (ch->eof) {
			at_eof = true;
			break;
		}
		n = (size_t)(chunk_end(ch) - pos);
		if (n > size - copied)
			n = size - copied;
		memcpy(out + copied, ch->data + (pos - ch->off), n);
		ch->taken += n;
		copied += n;
	}
	if (at_eof) {
		/* The reader saw the end: forget it (and anything past it), so a
		 * file that grows is read again. */
		drop_range(ra, off + copied, UINT64_MAX);
	}
	if (copied > 0 || at_eof)
		ra->ahead_failed = false;
	if (waited)
		ra->st.waits++;
	if (ra->streaming)
		trim_behind(ra);
	else
		drop_range(ra, off, end); /* random reads keep nothing */
	fill_ahead(ra);
	g_mutex_unlock(&ra->lock);
	/* A short count is end of file to the kernel (it may shrink the size
	 * it keeps): a failure after some data fails the whole read, and one
	 * from a lost connection is run again on the new link (opwrap.c). */
	if (r != 0)
		return r;
	return (ssize_t)copied;
}

void readahead_size_hint(struct readahead *ra, uint64_t size)
{
	if (ra == NULL)
		return;
	g_mutex_lock(&ra->lock);
	ra->size_hint = size;
	g_mutex_unlock(&ra->lock);
}

void readahead_invalidate(struct readahead *ra, uint64_t off, uint64_t len)
{
	uint64_t end = len > UINT64_MAX - off ? UINT64_MAX : off + len;

	if (ra == NULL)
		return;
	g_mutex_lock(&ra->lock);
	ra->size_hint = UINT64_MAX; /* a local write or truncate moves the end */
	drop_range(ra, off, end);
	g_mutex_unlock(&ra->lock);
}

void readahead_reset(struct readahead *ra)
{
	if (ra == NULL)
		return;
	g_mutex_lock(&ra->lock);
	reset_locked(ra);
	ra->have_handle = false;
	ra->client = NULL;
	g_mutex_unlock(&ra->lock);
}

void readahead_stats(struct readahead *ra, struct readahead_stats *out)
{
	g_mutex_lock(&ra->lock);
	*out = ra->st;
	out->window = ra->window;
	out->held = ra->held;
	out->sequential = ra->streaming;
	g_mutex_lock(&total_lock);
	out->total_held = total_held;
	g_mutex_unlock(&total_lock);
	g_mutex_unlock(&ra->lock);
}

/* ---- the kernel's own read-ahead on the mount ---- */

/* A mountinfo path field with its octal escapes (\040 for a space, proc(5))
 * undone. */
static char *unescape_mount_path(const char *s)
{
	GString *out = g_string_new(NULL);

	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			g_string_append_c(
			    out, (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0')));
			s += 3;
		} else {
			g_string_append_c(out, *s);
		}
	}
	return g_string_free(out, FALSE);
}

/* "MAJ:MIN" of the last FUSE mount on path in /proc/self/mountinfo (the
 * newest one, on top), or NULL. proc(5): "id parent MAJ:MIN root mountpoint
 * options [optional fields] - fstype source super-options". */
static char *fuse_mount_device(const char *path)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	char *dev = NULL;

	if (!g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL))
		return NULL;
	lines = g_strsplit(text, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++) {
		g_auto(GStrv) f = g_strsplit(lines[i], " ", -1);
		g_autofree char *mnt = NULL;
		size_t n = g_strv_length(f), sep = 6;

		if (n < 10)
			continue;
		while (sep < n && strcmp(f[sep], "-") != 0)
			sep++;
		if (sep + 1 >= n ||
		    (strcmp(f[sep + 1], "fuse") != 0 && !g_str_has_prefix(f[sep + 1], "fuse.")))
			continue;
		mnt = unescape_mount_path(f[4]);
		if (strcmp(mnt, path) == 0) {
			g_free(dev);
			dev = g_strdup(f[2]);
		}
	}
	return dev;
}

void readahead_tune_kernel(const struct sftpfs_opts *o)
{
	const char *mountpoint = o->mountpoint;
	g_autofree char *path = NULL;
	g_autofree char *dev = NULL;
	g_autofree char *knob = NULL;
	g_autofree char *cur = NULL;
	char want[16];
	guint64 now = 0;
	FILE *fp;

	if (mountpoint == NULL || o->no_readahead)
		return;
	/* Lexically only: resolving links would stat the mount, which waits
	 * for the INIT reply this thread is about to send. */
	path = g_canonicalize_filename(mountpoint, NULL);
	if ((dev = fuse_mount_device(path)) == NULL) {
		log_debug(LOG_CAT_FUSE, "read-ahead: no FUSE mount on %s in mountinfo", path);
		return;
	}
	knob = g_strdup_printf("/sys/class/bdi/%s/read_ahead_kb", dev);
	if (g_file_get_contents(knob, &cur, NULL, NULL))
		now = g_ascii_strtoull(cur, NULL, 10);
	if (now >= READAHEAD_KERNEL_KB)
		return;
	g_snprintf(want, sizeof(want), "%u\n", READAHEAD_KERNEL_KB);
	if ((fp = fopen(knob, "w")) != NULL) {
		bool ok = fputs(want, fp) >= 0;

		if (fclose(fp) == 0 && ok) {
			log_debug(LOG_CAT_FUSE, "read-ahead: %s set to %u KiB", knob,
			          READAHEAD_KERNEL_KB);
			return;
		}
	}
	log_debug(LOG_CAT_FUSE, "read-ahead: cannot set %s: %s", knob, g_strerror(errno));
}
