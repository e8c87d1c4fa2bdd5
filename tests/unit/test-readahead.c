/*
 * test-readahead.c - the daemon's read-ahead engine (fuse/readahead.c)
 * against OpenSSH's real sftp-server, reached over a socketpair through a
 * small driver of this file that can delay every request (an emulated round
 * trip), so the window growth and the memory caps are seen working on a link
 * with latency. Every read is compared byte for byte with the file on disk.
 */
#include "config.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "options.h"
#include "readahead.h"
#include "sftp.h"

#define OPENSSH_SFTP_SERVER "/usr/lib/openssh/sftp-server"
#define KREAD               (128u * 1024) /* the kernel's usual FUSE read */

/* ---- an sftp-server behind a socketpair, requests delayed ---- */

struct dmsg {
	gint64 due; /* monotonic time to write it; 0 = stop */
	size_t len;
	uint8_t data[];
};

struct link {
	int fd;
	pid_t pid;
	gint64 delay_us;
	GAsyncQueue *q;
	GThread *writer, *reader;
	struct sftp_client *c;
	/* >= 0: forward that many more requests, then drop the rest and,
	 * once the answers are in, lose the connection (atomic). */
	gint cut_after;
};

static int link_send(void *ctx, const uint8_t *data, size_t len, const uint8_t *tail, size_t tlen)
{
	struct link *l = ctx;
	struct dmsg *m = g_malloc(sizeof(*m) + len + tlen);

	m->due = g_get_monotonic_time() + l->delay_us;
	m->len = len + tlen;
	memcpy(m->data, data, len);
	if (tlen > 0)
		memcpy(m->data + len, tail, tlen);
	g_async_queue_push(l->q, m);
	return 0;
}

static gpointer writer_main(gpointer arg)
{
	struct link *l = arg;

	for (;;) {
		struct dmsg *m = g_async_queue_pop(l->q);
		size_t done = 0;
		gint64 wait;

		if (m->due == 0) {
			g_free(m);
			break;
		}
		if (g_atomic_int_get(&l->cut_after) == 0) {
			g_free(m);
			if (g_atomic_int_compare_and_exchange(&l->cut_after, 0, -2)) {
				g_usleep(200 * 1000);
				sftp_client_shutdown(l->c, ERR_CONN_CLOSED);
			}
			continue;
		}
		if (g_atomic_int_get(&l->cut_after) > 0)
			g_atomic_int_add(&l->cut_after, -1);
		if (g_atomic_int_get(&l->cut_after) == -2) {
			g_free(m);
			continue;
		}
		wait = m->due - g_get_monotonic_time();
		if (wait > 0)
			g_usleep((gulong)wait);
		while (done < m->len) {
			ssize_t n = write(l->fd, m->data + done, m->len - done);

			if (n <= 0)
				break;
			done += (size_t)n;
		}
		g_free(m);
	}
	return NULL;
}

static gpointer reader_main(gpointer arg)
{
	struct link *l = arg;
	uint8_t *buf = g_malloc(65536);

	for (;;) {
		ssize_t n = read(l->fd, buf, 65536);

		if (n <= 0 || sftp_client_input(l->c, buf, (size_t)n) != 0)
			break;
	}
	sftp_client_shutdown(l->c, ERR_CONN_CLOSED);
	g_free(buf);
	return NULL;
}

static struct link *link_start(gint64 delay_us)
{
	struct link *l = g_malloc0(sizeof(*l));
	int sv[2];

	g_assert_true(g_file_test(OPENSSH_SFTP_SERVER, G_FILE_TEST_IS_EXECUTABLE));
	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
	l->pid = fork();
	g_assert_cmpint(l->pid, >=, 0);
	if (l->pid == 0) {
		dup2(sv[1], 0);
		dup2(sv[1], 1);
		execl(OPENSSH_SFTP_SERVER, OPENSSH_SFTP_SERVER, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	l->fd = sv[0];
	l->delay_us = delay_us;
	l->cut_after = -1;
	l->q = g_async_queue_new();
	l->c = sftp_client_new(link_send, l);
	g_assert_nonnull(l->c);
	l->writer = g_thread_new("link-writer", writer_main, l);
	l->reader = g_thread_new("link-reader", reader_main, l);
	g_assert_cmpint(sftp_client_init(l->c), ==, 0);
	return l;
}

static void link_stop(struct link *l)
{
	struct dmsg *stop = g_malloc0(sizeof(*stop));
	int status;

	g_async_queue_push(l->q, stop);
	g_thread_join(l->writer);
	shutdown(l->fd, SHUT_WR); /* the server sees EOF and exits */
	g_thread_join(l->reader);
	close(l->fd);
	g_assert_cmpint(waitpid(l->pid, &status, 0), ==, l->pid);
	sftp_client_free(l->c);
	g_async_queue_unref(l->q);
	g_free(l);
}

/* ---- fixtures ---- */

struct fx {
	char *dir;
	char *path;
	uint8_t *content;
	size_t size;
	struct link *l;
	struct sftp_handle h;
	struct readahead *ra;
};

static void fx_file(struct fx *f, size_t size)
{
	f->dir = g_dir_make_tmp("ra-test-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	f->path = g_build_filename(f->dir, "data", NULL);
	f->size = size;
	f->content = g_malloc(size + 1);
	for (size_t i = 0; i < size; i++)
		f->content[i] = (uint8_t)g_random_int();
	g_assert_true(g_file_set_contents(f->path, (const char *)f->content, (gssize)size, NULL));
}

/* A file of size random bytes, a link with delay_us per request, the file
 * open (flags), and an engine with the given per-file cap (0: default). */
static void fx_setup(struct fx *f, size_t size, gint64 delay_us, uint32_t pflags, uint32_t cap)
{
	struct sftpfs_opts o;

	memset(f, 0, sizeof(*f));
	fx_file(f, size);
	f->l = link_start(delay_us);
	g_assert_cmpint(sftp_open(f->l->c, f->path, pflags, NULL, &f->h), ==, 0);
	sftpfs_opts_init(&o);
	if (cap != 0)
		o.readahead_max = cap;
	f->ra = readahead_new(&o);
	g_assert_nonnull(f->ra);
	sftpfs_opts_clear(&o);
}

static void fx_teardown(struct fx *f)
{
	struct readahead_stats st;

	readahead_free(f->ra);
	g_assert_cmpint(sftp_close(f->l->c, &f->h), ==, 0);
	link_stop(f->l);
	g_unlink(f->path);
	g_rmdir(f->dir);
	g_free(f->path);
	g_free(f->dir);
	g_free(f->content);
	/* Every byte the engines held has been given back. */
	{
		struct sftpfs_opts o;
		struct readahead *probe;

		sftpfs_opts_init(&o);
		probe = readahead_new(&o);
		readahead_stats(probe, &st);
		readahead_free(probe);
		sftpfs_opts_clear(&o);
		g_assert_cmpuint(st.total_held, ==, 0);
	}
}

static ssize_t rd(struct fx *f, uint64_t off, char *out, size_t size)
{
	return readahead_read(f->ra, f->l->c, &f->h, off, out, size);
}

/* Reads [off, off + size) and checks it against the file as written. */
static void check_read(struct fx *f, uint64_t off, size_t size)
{
	char *buf = g_malloc(size + 1);
	size_t want = off >= f->size ? 0 : (f->size - off < size ? f->size - off : size);
	ssize_t n = rd(f, off, buf, size);

	g_assert_cmpint(n, ==, (ssize_t)want);
	if (want > 0)
		g_assert_true(memcmp(buf, f->content + off, want) == 0);
	g_free(buf);
}

/* ---- tests ---- */

static void test_off(void)
{
	struct sftpfs_opts o;
	struct readahead *ra;

	sftpfs_opts_init(&o);
	ra = readahead_new(&o);
	g_assert_nonnull(ra);
	readahead_free(ra);
	o.no_readahead = true;
	g_assert_null(readahead_new(&o));
	o.no_readahead = false;
	o.direct_io = true;
	g_assert_null(readahead_new(&o));
	sftpfs_opts_clear(&o);
	readahead_free(NULL);
	readahead_invalidate(NULL, 0, 1);
	readahead_reset(NULL);
}

static void test_sequential(void)
{
	struct fx f;
	struct readahead_stats st;

	fx_setup(&f, 8u * 1024 * 1024 + 12345, 0, SFTP_FXF_READ, 0);
	for (uint64_t off = 0; off < f.size + KREAD; off += KREAD)
		check_read(&f, off, KREAD);
	readahead_stats(f.ra, &st);
	g_assert_true(st.sequential);
	g_assert_cmpuint(st.prefetches, >, 0);
	g_assert_cmpuint(st.requests, >=, f.size / (255u * 1024));
	fx_teardown(&f);
}

static void test_random(void)
{
	struct fx f;
	GRand *rand = g_rand_new_with_seed(7);

	fx_setup(&f, 4u * 1024 * 1024 + 777, 0, SFTP_FXF_READ, 0);
	for (int i = 0; i < 300; i++) {
		uint64_t off = g_rand_int_range(rand, 0, (gint32)(f.size + 1000));
		size_t size = (size_t)g_rand_int_range(rand, 1, 600 * 1024);

		check_read(&f, off, size);
	}
	/* A stream, a jump away, and back to a stream. */
	for (uint64_t off = 0; off < 2u * 1024 * 1024; off += KREAD)
		check_read(&f, off, KREAD);
	check_read(&f, 3u * 1024 * 1024 + 5, 1000);
	for (uint64_t off = 100; off < f.size + KREAD; off += KREAD)
		check_read(&f, off, KREAD);
	g_rand_free(rand);
	fx_teardown(&f);
}

/* Several threads on one engine, as the kernel sends its read-ahead: each
 * takes every fourth 128 KiB piece, so the offsets arrive out of order. */
struct worker {
	struct fx *f;
	unsigned index, count;
	bool ok;
};

static gpointer worker_main(gpointer arg)
{
	struct worker *w = arg;
	char *buf = g_malloc(KREAD);

	w->ok = true;
	for (uint64_t k = w->index; k * KREAD < w->f->size; k += w->count) {
		uint64_t off = k * KREAD;
		size_t want = w->f->size - off < KREAD ? w->f->size - off : KREAD;
		ssize_t n = rd(w->f, off, buf, KREAD);

		if (n != (ssize_t)want || memcmp(buf, w->f->content + off, want) != 0)
			w->ok = false;
	}
	g_free(buf);
	return NULL;
}

static void test_concurrent(void)
{
	struct fx f;
	struct worker w[4];
	GThread *t[4];

	fx_setup(&f, 6u * 1024 * 1024 + 4321, 1000, SFTP_FXF_READ, 0);
	for (unsigned i = 0; i < 4; i++) {
		w[i] = (struct worker){.f = &f, .index = i, .count = 4};
		t[i] = g_thread_new("reader", worker_main, &w[i]);
	}
	for (unsigned i = 0; i < 4; i++) {
		g_thread_join(t[i]);
		g_assert_true(w[i].ok);
	}
	fx_teardown(&f);
}

static void test_eof(void)
{
	static const size_t sizes[] = {0, 1, 255u * 1024, 255u * 1024 + 1, 1000003};

	for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
		struct fx f;

		fx_setup(&f, sizes[i], 0, SFTP_FXF_READ, 0);
		/* Sequential across the end, then at and past it. */
		for (uint64_t off = 0; off <= f.size + 2 * KREAD; off += KREAD)
			check_read(&f, off, KREAD);
		check_read(&f, f.size, 10);
		check_read(&f, f.size + 1, 10);
		if (f.size > 0) {
			check_read(&f, f.size - 1, 10);
			check_read(&f, f.size / 2, (size_t)(f.size - f.size / 2) + 5);
		}
		{
			char b[10];

			g_assert_cmpint(rd(&f, UINT64_MAX - 5, b, sizeof(b)), ==,
			                ERR_INVALID_ARGUMENT);
		}
		fx_teardown(&f);
	}
}

static void test_shrink(void)
{
	struct fx f;
	char *buf = g_malloc(KREAD);
	uint64_t off = 0, cut = 3u * 1024 * 1024 + 100;
	ssize_t n;

	fx_setup(&f, 8u * 1024 * 1024, 2000, SFTP_FXF_READ, 0);
	for (; off < 1024 * 1024; off += KREAD)
		check_read(&f, off, KREAD);
	g_assert_cmpint(truncate(f.path, (off_t)cut), ==, 0);
	/* The reader goes on: what it gets is the file's content (some read
	 * before the cut, the rest after it) and it ends, with 0. */
	for (;;) {
		n = rd(&f, off, buf, KREAD);
		g_assert_cmpint(n, >=, 0);
		if (n == 0)
			break;
		g_assert_cmpuint(off + (uint64_t)n, <=, f.size);
		g_assert_true(memcmp(buf, f.content + off, (size_t)n) == 0);
		off += (uint64_t)n;
	}
	g_assert_cmpuint(off, >=, cut);
	/* Once told, the engine reads the file as it is now. */
	readahead_invalidate(f.ra, 0, UINT64_MAX);
	f.size = cut;
	check_read(&f, cut - 50, KREAD);
	check_read(&f, cut, KREAD);
	check_read(&f, 5u * 1024 * 1024, KREAD);
	for (off = 0; off < cut + KREAD; off += KREAD)
		check_read(&f, off, KREAD);
	g_free(buf);
	fx_teardown(&f);
}

static void test_invalidate(void)
{
	struct fx f;
	struct readahead_stats st;
	uint64_t woff = 1024 * 1024 + 100000;
	size_t wlen = 70000;
	uint8_t *fresh = g_malloc(wlen);
	uint64_t off;

	fx_setup(&f, 6u * 1024 * 1024, 2000, SFTP_FXF_READ | SFTP_FXF_WRITE, 0);
	for (off = 0; off < 1024 * 1024; off += KREAD)
		check_read(&f, off, KREAD);
	/* Let the READs ahead land: the range about to change is buffered. */
	for (int i = 0; i < 200; i++) {
		readahead_stats(f.ra, &st);
		if (sftp_client_in_flight(f.l->c) == 0)
			break;
		g_usleep(2000);
	}
	g_assert_cmpuint(st.held, >, woff + wlen - off);
	for (size_t i = 0; i < wlen; i++)
		fresh[i] = (uint8_t)~f.content[woff + i];
	g_assert_cmpint(sftp_write(f.l->c, &f.h, woff, fresh, wlen), ==, 0);
	readahead_invalidate(f.ra, woff, wlen);
	memcpy(f.content + woff, fresh, wlen);
	for (; off < f.size + KREAD; off += KREAD)
		check_read(&f, off, KREAD);
	/* A truncate through the handle, then reads past the new end. */
	{
		struct sftp_attrs a = {.flags = SFTP_ATTR_SIZE, .size = 4u * 1024 * 1024};

		for (off = 0; off < 3u * 1024 * 1024; off += KREAD)
			check_read(&f, off, KREAD);
		g_assert_cmpint(sftp_fsetstat(f.l->c, &f.h, &a), ==, 0);
		readahead_invalidate(f.ra, a.size, UINT64_MAX);
		f.size = a.size;
		for (; off < f.size + 2 * KREAD; off += KREAD)
			check_read(&f, off, KREAD);
	}
	g_free(fresh);
	fx_teardown(&f);
}

/* The same engine handed another handle (a reopen): nothing of the old
 * file may show through. */
static void test_new_handle(void)
{
	struct fx f;
	struct sftp_handle h2;
	g_autofree char *p2 = NULL;
	g_autofree uint8_t *other = g_malloc(2u * 1024 * 1024);
	char *buf = g_malloc(KREAD);

	fx_setup(&f, 2u * 1024 * 1024, 0, SFTP_FXF_READ, 0);
	for (uint64_t off = 0; off < 512 * 1024; off += KREAD)
		check_read(&f, off, KREAD);
	for (size_t i = 0; i < 2u * 1024 * 1024; i++)
		other[i] = (uint8_t)(f.content[i] ^ 0x5a);
	p2 = g_build_filename(f.dir, "other", NULL);
	g_assert_true(g_file_set_contents(p2, (const char *)other, 2 * 1024 * 1024, NULL));
	g_assert_cmpint(sftp_open(f.l->c, p2, SFTP_FXF_READ, NULL, &h2), ==, 0);
	for (uint64_t off = 512 * 1024; off < 2u * 1024 * 1024; off += KREAD) {
		g_assert_cmpint(readahead_read(f.ra, f.l->c, &h2, off, buf, KREAD), ==, KREAD);
		g_assert_true(memcmp(buf, other + off, KREAD) == 0);
	}
	readahead_reset(f.ra);
	check_read(&f, 0, KREAD);
	g_assert_cmpint(sftp_close(f.l->c, &h2), ==, 0);
	g_unlink(p2);
	g_free(buf);
	fx_teardown(&f);
}

/* On a link with a 4 ms round trip the window grows past its start and
 * the READs go out ahead of the reader. */
static void test_window_growth(void)
{
	struct fx f;
	struct readahead_stats st;
	gint64 t0, us;

	fx_setup(&f, 24u * 1024 * 1024, 4000, SFTP_FXF_READ, 0);
	t0 = g_get_monotonic_time();
	for (uint64_t off = 0; off < f.size; off += KREAD)
		check_read(&f, off, KREAD);
	us = g_get_monotonic_time() - t0;
	readahead_stats(f.ra, &st);
	g_test_message("window %" G_GUINT64_FORMAT " peak %" G_GUINT64_FORMAT
	               " rtt_min %" G_GUINT64_FORMAT " us rate %" G_GUINT64_FORMAT
	               " B/s, %" G_GINT64_FORMAT " us, waits %" G_GUINT64_FORMAT
	               "/%" G_GUINT64_FORMAT,
	               st.window, st.window_peak, st.rtt_min_us, st.rate, us, st.waits, st.reads);
	g_assert_cmpuint(st.rtt_min_us, >=, 4000);
	g_assert_cmpuint(st.window_peak, >, READAHEAD_WINDOW_START);
	g_assert_cmpuint(st.window_peak, <=, READAHEAD_FILE_MAX_DEFAULT);
	/* Nearly every READ went out ahead of the reader (timing alone would
	 * be flaky on a loaded machine or under sanitizers: see the message
	 * for the time, against 192 x 4 ms for one 128 KiB read per round trip). */
	g_assert_cmpuint(st.prefetches * 4, >=, st.requests * 3);
	/* Random access brings the window back to its start. */
	check_read(&f, 100, 10);
	readahead_stats(f.ra, &st);
	g_assert_false(st.sequential);
	g_assert_cmpuint(st.window, ==, READAHEAD_WINDOW_START);
	fx_teardown(&f);
}

/* -o readahead_max caps what one file holds (plus what one read needs). */
static void test_memory_cap(void)
{
	struct fx f;
	struct readahead_stats st;
	uint32_t cap = 1024 * 1024;

	fx_setup(&f, 16u * 1024 * 1024, 3000, SFTP_FXF_READ, cap);
	for (uint64_t off = 0; off < f.size; off += KREAD) {
		check_read(&f, off, KREAD);
		readahead_stats(f.ra, &st);
		g_assert_cmpuint(st.window, <=, cap);
		g_assert_cmpuint(st.total_held, <=, READAHEAD_TOTAL_MAX);
	}
	readahead_stats(f.ra, &st);
	g_test_message("held peak %" G_GUINT64_FORMAT " window peak %" G_GUINT64_FORMAT,
	               st.held_peak, st.window_peak);
	g_assert_cmpuint(st.prefetches, >, 0);
	g_assert_cmpuint(st.window_peak, <=, cap);
	g_assert_cmpuint(st.held_peak, <=, cap + KREAD);
	fx_teardown(&f);
}

/*
 * The connection is lost after the first READs of a read were answered: the
 * read fails as a whole (the kernel takes a short count for the end of the
 * file and may shrink the size it keeps).
 */
static void test_lost_midway(void)
{
	struct fx f;
	size_t size = 4u * 1024 * 1024;
	char *buf = g_malloc(size);

	fx_setup(&f, 8u * 1024 * 1024, 0, SFTP_FXF_READ, 0);
	g_atomic_int_set(&f.l->cut_after, 3);
	g_assert_cmpint(rd(&f, 0, buf, size), ==, ERR_CONN_CLOSED);
	g_free(buf);
	readahead_free(f.ra);
	link_stop(f.l);
	g_unlink(f.path);
	g_rmdir(f.dir);
	g_free(f.path);
	g_free(f.dir);
	g_free(f.content);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_test_add_func("/readahead/off", test_off);
	g_test_add_func("/readahead/sequential", test_sequential);
	g_test_add_func("/readahead/random", test_random);
	g_test_add_func("/readahead/concurrent", test_concurrent);
	g_test_add_func("/readahead/eof", test_eof);
	g_test_add_func("/readahead/shrink", test_shrink);
	g_test_add_func("/readahead/invalidate", test_invalidate);
	g_test_add_func("/readahead/new-handle", test_new_handle);
	g_test_add_func("/readahead/window-growth", test_window_growth);
	g_test_add_func("/readahead/memory-cap", test_memory_cap);
	g_test_add_func("/readahead/lost-midway", test_lost_midway);
	return g_test_run();
}
