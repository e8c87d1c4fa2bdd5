/*
 * test-sftp.c - the SFTP client (src/sftp*.c) against real servers and a
 * hostile scripted one.
 *
 * Real servers: OpenSSH's sftp-server and Green End's gesftpserver, each
 * spawned over a socketpair (no SSH); every operation and every extension the
 * server offers is run and its effect checked on the local filesystem.
 * Scripted server: the test plays the server through the client's send
 * function and sftp_client_input(), answering out of order, and feeding
 * malformed replies (truncated at every offset, trailing bytes, wrong ids and
 * types, huge counts, "/" and NUL in names, oversized handles) which must all
 * end in a negative error code - never a crash, hang or success.
 */
#include "config.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "limits.h"
#include "sftp.h"
#include "sftp_codec.h"
#include "sftp_pipe.h"

#define OPENSSH_SFTP_SERVER "/usr/lib/openssh/sftp-server"
#define GESFTPSERVER "/usr/libexec/gesftpserver"

/* ------------------------------------------------------------------ */
/* Real servers                                                        */

struct server {
	const char *name;
	const char *path;
	unsigned expect_exts; /* exactly what the server must advertise */
	bool symlink_reversed;
};

static const struct server openssh = {
	.name = "openssh",
	.path = OPENSSH_SFTP_SERVER,
	.expect_exts = SFTP_EXT_POSIX_RENAME | SFTP_EXT_STATVFS | SFTP_EXT_FSTATVFS | SFTP_EXT_HARDLINK |
	               SFTP_EXT_FSYNC | SFTP_EXT_LSETSTAT | SFTP_EXT_LIMITS | SFTP_EXT_EXPAND_PATH |
	               SFTP_EXT_COPY_DATA | SFTP_EXT_HOME_DIRECTORY | SFTP_EXT_USERS_GROUPS_BY_ID,
	.symlink_reversed = true,
};

static const struct server gesftp = {
	.name = "gesftpserver",
	.path = GESFTPSERVER,
	.expect_exts = SFTP_EXT_POSIX_RENAME | SFTP_EXT_STATVFS | SFTP_EXT_FSTATVFS | SFTP_EXT_HARDLINK |
	               SFTP_EXT_FSYNC,
	.symlink_reversed = false, /* symlink-order@rjk.greenend.org.uk "linkpath-targetpath" */
};

struct fixture {
	const struct server *srv;
	struct sftp_client *c;
	char *dir;
};

static char *tpath(struct fixture *f, const char *name)
{
	return g_build_filename(f->dir, name, NULL);
}

static void fixture_setup(struct fixture *f, gconstpointer data)
{
	const char *argv[] = {NULL, NULL};

	f->srv = data;
	argv[0] = f->srv->path;
	/* A missing server fails the test: it is a listed test dependency. */
	g_assert_true(g_file_test(f->srv->path, G_FILE_TEST_IS_EXECUTABLE));
	f->dir = g_dir_make_tmp("sftp-test-XXXXXX", NULL);
	g_assert_nonnull(f->dir);
	g_assert_cmpint(sftp_client_spawn(argv, &f->c, NULL), ==, 0);
	g_assert_cmpint(sftp_client_init(f->c), ==, 0);
	g_assert_cmpuint(sftp_client_version(f->c), ==, 3);
}

static void rm_rf(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *n;

	if (d != NULL) {
		while ((n = g_dir_read_name(d)) != NULL) {
			char *p = g_build_filename(path, n, NULL);
			struct stat st;

			if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
				rm_rf(p);
			else
				g_unlink(p);
			g_free(p);
		}
		g_dir_close(d);
	}
	g_rmdir(path);
}

static void fixture_teardown(struct fixture *f, gconstpointer data)
{
	sftp_client_free(f->c);
	rm_rf(f->dir);
	g_free(f->dir);
}

static void write_local(const char *path, const char *data, size_t len)
{
	g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

static void test_extensions(struct fixture *f, gconstpointer data)
{
	struct sftp_limits lim;

	g_assert_cmphex(sftp_client_extensions(f->c), ==, f->srv->expect_exts);
	g_assert_cmpint(sftp_client_symlink_reversed(f->c), ==, f->srv->symlink_reversed);
	sftp_client_limits(f->c, &lim);
	if (f->srv->expect_exts & SFTP_EXT_LIMITS) {
		/* OpenSSH: 256 KiB packets, 255 KiB reads and writes. */
		g_assert_cmpuint(lim.read_length, ==, SFTP_READ_MAX);
		g_assert_cmpuint(lim.write_length, ==, 255u * 1024);
		g_assert_cmpuint(lim.open_handles, >, 0);
	} else {
		g_assert_cmpuint(lim.read_length, ==, SFTP_IO_LEN_DEFAULT);
		g_assert_cmpuint(lim.write_length, ==, SFTP_IO_LEN_DEFAULT);
	}
}

static void test_stat(struct fixture *f, gconstpointer data)
{
	char *p = tpath(f, "file"), *l = tpath(f, "link"), *missing = tpath(f, "missing");
	struct sftp_attrs a;
	struct stat st;

	write_local(p, "hello", 5);
	g_assert_cmpint(chmod(p, 0640), ==, 0);
	g_assert_cmpint(symlink("file", l), ==, 0);
	g_assert_cmpint(stat(p, &st), ==, 0);

	g_assert_cmpint(sftp_stat(f->c, p, &a), ==, 0);
	g_assert_true(a.flags & SFTP_ATTR_SIZE);
	g_assert_cmpuint(a.size, ==, 5);
	g_assert_cmpuint(a.permissions, ==, S_IFREG | 0640);
	g_assert_cmpuint(a.uid, ==, st.st_uid);
	g_assert_cmpuint(a.gid, ==, st.st_gid);
	g_assert_cmpuint(a.mtime, ==, (uint32_t)st.st_mtime);
	sftp_attrs_clear(&a);

	g_assert_cmpint(sftp_lstat(f->c, l, &a), ==, 0);
	g_assert_true(S_ISLNK(a.permissions));
	sftp_attrs_clear(&a);
	g_assert_cmpint(sftp_stat(f->c, l, &a), ==, 0);
	g_assert_true(S_ISREG(a.permissions));
	sftp_attrs_clear(&a);

	g_assert_cmpint(sftp_stat(f->c, missing, &a), ==, ERR_NO_SUCH_FILE);
	g_assert_cmpuint(sftp_last_status(), ==, SFTP_FX_NO_SUCH_FILE);
	g_assert_cmpint(sftp_lstat(f->c, missing, &a), ==, ERR_NO_SUCH_FILE);
	g_free(p);
	g_free(l);
	g_free(missing);
}

static void test_file_io(struct fixture *f, gconstpointer data)
{
	char *p = tpath(f, "data");
	struct sftp_handle h;
	struct sftp_attrs a = {.flags = SFTP_ATTR_PERMISSIONS, .permissions = 0600};
	size_t n = 1024 * 1024 + 123, got, total = 0;
	uint8_t *buf = g_malloc(n), *back = g_malloc(n);
	gchar *contents;
	gsize clen;
	struct stat st;

	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 7 + i / 251);
	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_TRUNC, &a, &h), ==, 0);
	g_assert_cmpuint(h.len, >, 0);
	g_assert_cmpint(sftp_write(f->c, &h, 0, buf, n), ==, 0);
	g_assert_cmpint(sftp_fstat(f->c, &h, &a), ==, 0);
	g_assert_cmpuint(a.size, ==, n);
	sftp_attrs_clear(&a);
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);

	g_assert_true(g_file_get_contents(p, &contents, &clen, NULL));
	g_assert_cmpuint(clen, ==, n);
	g_assert_true(memcmp(contents, buf, n) == 0);
	g_free(contents);
	g_assert_cmpint(stat(p, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0600);

	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_READ, NULL, &h), ==, 0);
	for (;;) {
		g_assert_cmpint(sftp_read(f->c, &h, total, back + total, n - total < 100000 ? n - total : 100000, &got),
		                ==, 0);
		if (got == 0)
			break;
		total += got;
		if (total == n) {
			g_assert_cmpint(sftp_read(f->c, &h, total, back, 10, &got), ==, 0);
			g_assert_cmpuint(got, ==, 0); /* end of file */
			break;
		}
	}
	g_assert_cmpuint(total, ==, n);
	g_assert_true(memcmp(back, buf, n) == 0);
	/* One read of the whole file and more: pipelined READs, cut at EOF. */
	{
		uint8_t *all = g_malloc0(n + 100000);

		g_assert_cmpint(sftp_read(f->c, &h, 0, all, n + 100000, &got), ==, 0);
		g_assert_cmpuint(got, ==, n);
		g_assert_true(memcmp(all, buf, n) == 0);
		g_assert_cmpint(sftp_read(f->c, &h, n - 100, all, 600000, &got), ==, 0);
		g_assert_cmpuint(got, ==, 100);
		g_assert_true(memcmp(all, buf + n - 100, 100) == 0);
		g_assert_cmpint(sftp_read(f->c, &h, n + 5, all, 600000, &got), ==, 0);
		g_assert_cmpuint(got, ==, 0);
		g_free(all);
	}
	/* Writing through a read-only handle is refused by the server. */
	g_assert_cmpint(sftp_write(f->c, &h, 0, "x", 1), <, 0);
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);

	/* O_EXCL on an existing file. */
	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_EXCL, NULL, &h), <, 0);
	/* Append. */
	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_WRITE | SFTP_FXF_APPEND, NULL, &h), ==, 0);
	g_assert_cmpint(sftp_write(f->c, &h, 0, "TAIL", 4), ==, 0);
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);
	g_assert_cmpint(stat(p, &st), ==, 0);
	g_assert_cmpuint(st.st_size, ==, n + 4);
	/* A sparse write far beyond 4 GiB. */
	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_WRITE, NULL, &h), ==, 0);
	g_assert_cmpint(sftp_write(f->c, &h, 5ull << 30, "Z", 1), ==, 0);
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);
	g_assert_cmpint(stat(p, &st), ==, 0);
	g_assert_cmpuint(st.st_size, ==, (5ull << 30) + 1);

	g_free(buf);
	g_free(back);
	g_free(p);
}

static void test_dirs(struct fixture *f, gconstpointer data)
{
	char *d = tpath(f, "dir"), *e;
	struct sftp_handle h;
	struct sftp_names names;
	struct sftp_attrs a = {.flags = SFTP_ATTR_PERMISSIONS, .permissions = 0750};
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	struct stat st;

	g_assert_cmpint(sftp_mkdir(f->c, d, &a), ==, 0);
	g_assert_cmpint(stat(d, &st), ==, 0);
	g_assert_true(S_ISDIR(st.st_mode));
	g_assert_cmpuint(st.st_mode & 0777, ==, 0750 & ~0022);
	/* mkdir of an existing directory: FAILURE on v3 servers. */
	g_assert_cmpint(sftp_mkdir(f->c, d, NULL), <, 0);
	g_assert_cmpuint(sftp_last_status(), !=, SFTP_FX_OK);

	for (int i = 0; i < 300; i++) {
		char name[32];
		char *p;

		g_snprintf(name, sizeof(name), "entry-%03d", i);
		p = g_build_filename(d, name, NULL);
		write_local(p, name, strlen(name));
		g_free(p);
	}
	g_assert_cmpint(sftp_opendir(f->c, d, &h), ==, 0);
	for (;;) {
		g_assert_cmpint(sftp_readdir(f->c, &h, &names), ==, 0);
		if (names.count == 0)
			break;
		for (size_t i = 0; i < names.count; i++) {
			g_assert_null(strchr(names.v[i].name, '/'));
			g_assert_true(g_hash_table_add(seen, g_strdup(names.v[i].name)));
			if (g_str_has_prefix(names.v[i].name, "entry-")) {
				g_assert_true(names.v[i].attrs.flags & SFTP_ATTR_SIZE);
				g_assert_cmpuint(names.v[i].attrs.size, ==, 9);
			}
		}
		sftp_names_clear(&names);
	}
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);
	/* The same listing in rounds of READDIRs in flight: batches up to the
	 * first empty one, the same names, nothing but EOF after it. */
	g_assert_cmpint(sftp_opendir(f->c, d, &h), ==, 0);
	{
		GHashTable *again = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
		bool end = false;

		while (!end) {
			struct sftp_names many[SFTP_READDIR_MAX];
			int res[SFTP_READDIR_MAX];

			g_assert_cmpint(sftp_readdir_many(f->c, &h, 3, many, res), ==, 0);
			for (unsigned k = 0; k < 3; k++) {
				g_assert_cmpint(res[k], ==, 0);
				if (many[k].count == 0)
					end = true;
				else
					g_assert_false(end);
				for (size_t i = 0; i < many[k].count; i++)
					g_assert_true(g_hash_table_add(again, g_strdup(many[k].v[i].name)));
				sftp_names_clear(&many[k]);
			}
		}
		g_assert_cmpuint(g_hash_table_size(again), ==, g_hash_table_size(seen));
		g_hash_table_unref(again);
	}
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);
	/* 300 entries, plus "." and ".." when the server lists them. */
	g_hash_table_remove(seen, ".");
	g_hash_table_remove(seen, "..");
	g_assert_cmpuint(g_hash_table_size(seen), ==, 300);
	g_assert_true(g_hash_table_contains(seen, "entry-299"));

	/* rmdir of a non-empty directory fails; after emptying it succeeds. */
	g_assert_cmpint(sftp_rmdir(f->c, d), <, 0);
	for (int i = 0; i < 300; i++) {
		char name[32];

		g_snprintf(name, sizeof(name), "entry-%03d", i);
		e = g_build_filename(d, name, NULL);
		g_assert_cmpint(sftp_remove(f->c, e), ==, 0);
		g_assert_false(g_file_test(e, G_FILE_TEST_EXISTS));
		g_free(e);
	}
	g_assert_cmpint(sftp_rmdir(f->c, d), ==, 0);
	g_assert_false(g_file_test(d, G_FILE_TEST_EXISTS));
	g_assert_cmpint(sftp_opendir(f->c, d, &h), ==, ERR_NO_SUCH_FILE);
	g_assert_cmpint(sftp_remove(f->c, d), ==, ERR_NO_SUCH_FILE);
	g_hash_table_destroy(seen);
	g_free(d);
}

static void test_paths(struct fixture *f, gconstpointer data)
{
	char *p = tpath(f, "target"), *l = tpath(f, "sym"), *out = NULL, *dots, *real, *base;
	char lbuf[256];
	ssize_t n;

	write_local(p, "x", 1);
	real = realpath(f->dir, NULL);
	g_assert_nonnull(real);
	base = g_path_get_basename(f->dir);
	dots = g_build_filename(f->dir, "..", base, "target", NULL);
	g_free(base);
	g_assert_cmpint(sftp_realpath(f->c, dots, &out), ==, 0);
	g_assert_true(g_str_has_prefix(out, real));
	g_assert_true(g_str_has_suffix(out, "/target"));
	free(out);

	/* SYMLINK in the order the server expects: link "sym" -> "target". */
	g_assert_cmpint(sftp_symlink(f->c, "target", l), ==, 0);
	n = readlink(l, lbuf, sizeof(lbuf) - 1);
	g_assert_cmpint(n, ==, 6);
	lbuf[n] = '\0';
	g_assert_cmpstr(lbuf, ==, "target");
	g_assert_cmpint(sftp_readlink(f->c, l, &out), ==, 0);
	g_assert_cmpstr(out, ==, "target");
	free(out);
	g_assert_cmpint(sftp_readlink(f->c, p, &out), <, 0);
	g_assert_null(out);
	g_free(dots);
	free(real);
	g_free(p);
	g_free(l);
}

static void test_rename(struct fixture *f, gconstpointer data)
{
	char *a = tpath(f, "a"), *b = tpath(f, "b"), *c = tpath(f, "c");
	gchar *contents;

	write_local(a, "AAA", 3);
	write_local(b, "BBB", 3);
	/* filexfer-02 RENAME does not replace on these servers. */
	g_assert_cmpint(sftp_rename(f->c, a, b), <, 0);
	g_assert_cmpint(sftp_rename(f->c, a, c), ==, 0);
	g_assert_false(g_file_test(a, G_FILE_TEST_EXISTS));
	/* POSIX rename replaces atomically. */
	g_assert_cmpint(sftp_posix_rename(f->c, c, b), ==, 0);
	g_assert_false(g_file_test(c, G_FILE_TEST_EXISTS));
	g_assert_true(g_file_get_contents(b, &contents, NULL, NULL));
	g_assert_cmpstr(contents, ==, "AAA");
	g_free(contents);
	g_assert_cmpint(sftp_posix_rename(f->c, c, b), ==, ERR_NO_SUCH_FILE);
	g_free(a);
	g_free(b);
	g_free(c);
}

static void test_setstat(struct fixture *f, gconstpointer data)
{
	char *p = tpath(f, "s"), *l = tpath(f, "sl");
	struct sftp_attrs a = {0};
	struct sftp_handle h;
	struct stat st;

	write_local(p, "0123456789", 10);
	a.flags = SFTP_ATTR_PERMISSIONS | SFTP_ATTR_ACMODTIME;
	a.permissions = 0604;
	a.atime = 1000000000;
	a.mtime = 1200000000;
	g_assert_cmpint(sftp_setstat(f->c, p, &a), ==, 0);
	g_assert_cmpint(stat(p, &st), ==, 0);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0604);
	g_assert_cmpint(st.st_atime, ==, 1000000000);
	g_assert_cmpint(st.st_mtime, ==, 1200000000);
	a.flags = SFTP_ATTR_SIZE;
	a.size = 4;
	g_assert_cmpint(sftp_setstat(f->c, p, &a), ==, 0);
	g_assert_cmpint(stat(p, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 4);
	/* chown to ourselves is allowed for anyone. */
	a.flags = SFTP_ATTR_UIDGID;
	a.uid = getuid();
	a.gid = getgid();
	g_assert_cmpint(sftp_setstat(f->c, p, &a), ==, 0);

	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_WRITE, NULL, &h), ==, 0);
	a.flags = SFTP_ATTR_SIZE | SFTP_ATTR_PERMISSIONS;
	a.size = 2;
	a.permissions = 0600;
	g_assert_cmpint(sftp_fsetstat(f->c, &h, &a), ==, 0);
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);
	g_assert_cmpint(stat(p, &st), ==, 0);
	g_assert_cmpint(st.st_size, ==, 2);
	g_assert_cmpuint(st.st_mode & 07777, ==, 0600);

	g_assert_cmpint(sftp_setstat(f->c, l, &a), ==, ERR_NO_SUCH_FILE);
	if (sftp_client_has(f->c, SFTP_EXT_LSETSTAT)) {
		/* lsetstat sets a symlink's own times, not its target's. */
		g_assert_cmpint(symlink("s", l), ==, 0);
		a.flags = SFTP_ATTR_ACMODTIME;
		a.atime = 1100000000;
		a.mtime = 1100000000;
		g_assert_cmpint(sftp_lsetstat(f->c, l, &a), ==, 0);
		g_assert_cmpint(lstat(l, &st), ==, 0);
		g_assert_cmpint(st.st_mtime, ==, 1100000000);
		g_assert_cmpint(stat(p, &st), ==, 0);
		g_assert_cmpint(st.st_mtime, !=, 1100000000);
	} else {
		g_assert_cmpint(sftp_lsetstat(f->c, l, &a), ==, ERR_NOT_SUPPORTED);
	}
	g_free(p);
	g_free(l);
}

static void test_statvfs(struct fixture *f, gconstpointer data)
{
	struct sftp_statvfs sv;
	struct statvfs local;
	struct sftp_handle h;

	g_assert_cmpint(statvfs(f->dir, &local), ==, 0);
	if (!sftp_client_has(f->c, SFTP_EXT_STATVFS)) {
		g_assert_cmpint(sftp_statvfs(f->c, f->dir, &sv), ==, ERR_NOT_SUPPORTED);
		return;
	}
	g_assert_cmpint(sftp_statvfs(f->c, f->dir, &sv), ==, 0);
	g_assert_cmpuint(sv.bsize, ==, local.f_bsize);
	g_assert_cmpuint(sv.frsize, ==, local.f_frsize);
	g_assert_cmpuint(sv.blocks, ==, local.f_blocks);
	g_assert_cmpuint(sv.namemax, ==, local.f_namemax);
	g_assert_cmpint(sftp_statvfs(f->c, "/nonexistent/really", &sv), ==, ERR_NO_SUCH_FILE);
	if (sftp_client_has(f->c, SFTP_EXT_FSTATVFS)) {
		char *p = tpath(f, "vfs");

		/* fstatvfs works on file handles (OpenSSH refuses directory handles). */
		g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_WRITE | SFTP_FXF_CREAT, NULL, &h), ==, 0);
		g_free(p);
		g_assert_cmpint(sftp_fstatvfs(f->c, &h, &sv), ==, 0);
		g_assert_cmpuint(sv.blocks, ==, local.f_blocks);
		g_assert_cmpint(sftp_close(f->c, &h), ==, 0);
	}
}

static void test_hardlink_fsync(struct fixture *f, gconstpointer data)
{
	char *p = tpath(f, "h1"), *q = tpath(f, "h2");
	struct stat a, b;
	struct sftp_handle h;

	write_local(p, "link me", 7);
	g_assert_true(sftp_client_has(f->c, SFTP_EXT_HARDLINK));
	g_assert_cmpint(sftp_hardlink(f->c, p, q), ==, 0);
	g_assert_cmpint(stat(p, &a), ==, 0);
	g_assert_cmpint(stat(q, &b), ==, 0);
	g_assert_cmpuint(a.st_ino, ==, b.st_ino);
	g_assert_cmpuint(a.st_nlink, ==, 2);
	g_assert_cmpint(sftp_hardlink(f->c, p, q), <, 0); /* exists */

	g_assert_true(sftp_client_has(f->c, SFTP_EXT_FSYNC));
	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_WRITE, NULL, &h), ==, 0);
	g_assert_cmpint(sftp_write(f->c, &h, 7, "!", 1), ==, 0);
	g_assert_cmpint(sftp_fsync(f->c, &h), ==, 0);
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);
	g_assert_cmpint(stat(q, &b), ==, 0);
	g_assert_cmpint(b.st_size, ==, 8);
	g_free(p);
	g_free(q);
}

static void test_openssh_only_exts(struct fixture *f, gconstpointer data)
{
	struct sftp_limits lim;
	char *out = NULL, *p = tpath(f, "src"), *q = tpath(f, "dst");
	struct passwd *pw = getpwuid(getuid());
	struct group *gr = getgrgid(0);
	struct sftp_handle hs, hd;
	uint32_t uids[] = {getuid(), 4000000001u}, gids[] = {0};
	char **un = NULL, **gn = NULL;
	gchar *contents;

	g_assert_nonnull(pw);

	if (sftp_client_has(f->c, SFTP_EXT_LIMITS)) {
		g_assert_cmpint(sftp_query_limits(f->c, &lim), ==, 0);
		g_assert_cmpuint(lim.packet_length, ==, 256 * 1024);
		g_assert_cmpuint(lim.read_length, >, 0);
	} else {
		g_assert_cmpint(sftp_query_limits(f->c, &lim), ==, ERR_NOT_SUPPORTED);
	}
	/* expand-path (or its REALPATH fallback): "~" is the login directory,
	 * i.e. the server's working directory, here inherited from us. */
	{
		char *cwd = g_get_current_dir(), *rcwd = realpath(cwd, NULL);

		g_assert_cmpint(sftp_expand_path(f->c, "~", &out), ==, 0);
		g_assert_cmpstr(out, ==, rcwd);
		free(out);
		free(rcwd);
		g_free(cwd);
	}
	if (sftp_client_has(f->c, SFTP_EXT_EXPAND_PATH)) {
		char *cwd = g_get_current_dir(), *parent = g_path_get_dirname(cwd), *rparent = realpath(parent, NULL);

		g_assert_cmpint(sftp_expand_path(f->c, "~/..", &out), ==, 0);
		g_assert_cmpstr(out, ==, rparent);
		free(out);
		free(rparent);
		g_free(parent);
		g_free(cwd);
	}
	g_assert_cmpint(sftp_expand_path(f->c, f->dir, &out), ==, 0);
	free(out);
	/* home-directory: our own user's home. */
	if (sftp_client_has(f->c, SFTP_EXT_HOME_DIRECTORY)) {
		g_assert_cmpint(sftp_home_directory(f->c, pw->pw_name, &out), ==, 0);
		g_assert_cmpstr(out, ==, pw->pw_dir);
		free(out);
		g_assert_cmpint(sftp_home_directory(f->c, "no-such-user-sftpfs", &out), <, 0);
	} else {
		g_assert_cmpint(sftp_home_directory(f->c, pw->pw_name, &out), ==, ERR_NOT_SUPPORTED);
	}
	/* users-groups-by-id: names as getpwuid/getgrgid give them, "" for unknown ids. */
	if (sftp_client_has(f->c, SFTP_EXT_USERS_GROUPS_BY_ID)) {
		g_assert_cmpint(sftp_users_groups_by_id(f->c, uids, 2, gids, 1, &un, &gn), ==, 0);
		g_assert_cmpstr(un[0], ==, pw->pw_name);
		g_assert_cmpstr(un[1], ==, "");
		g_assert_null(un[2]);
		g_assert_cmpstr(gn[0], ==, gr->gr_name);
		g_assert_null(gn[1]);
		g_strfreev(un);
		g_strfreev(gn);
	} else {
		g_assert_cmpint(sftp_users_groups_by_id(f->c, uids, 2, gids, 1, &un, &gn), ==, ERR_NOT_SUPPORTED);
	}
	/* The raw EXTENDED call: an unknown request is OP_UNSUPPORTED. */
	{
		struct buf *reply = NULL;

		g_assert_cmpint(sftp_extended(f->c, "no-such-extension@sftpfs", (const uint8_t *)"", 0, &reply), ==,
		                ERR_NOT_SUPPORTED);
		g_assert_cmpuint(sftp_last_status(), ==, SFTP_FX_OP_UNSUPPORTED);
		g_assert_null(reply);
		if (sftp_client_has(f->c, SFTP_EXT_LIMITS)) {
			g_assert_cmpint(sftp_extended(f->c, "limits@openssh.com", NULL, 0, &reply), ==, 0);
			g_assert_nonnull(reply);
			g_assert_cmpuint(buf_len(reply), ==, 32);
			buf_free(reply);
		}
	}
	/* copy-data: server-side copy between two handles. */
	write_local(p, "0123456789abcdef", 16);
	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_READ, NULL, &hs), ==, 0);
	g_assert_cmpint(sftp_open(f->c, q, SFTP_FXF_WRITE | SFTP_FXF_CREAT, NULL, &hd), ==, 0);
	if (sftp_client_has(f->c, SFTP_EXT_COPY_DATA)) {
		g_assert_cmpint(sftp_copy_data(f->c, &hs, 4, 8, &hd, 2), ==, 0);
		g_assert_cmpint(sftp_close(f->c, &hd), ==, 0);
		g_assert_true(g_file_get_contents(q, &contents, NULL, NULL));
		g_assert_cmpmem(contents, 10, "\0\0" "456789ab", 10);
		g_free(contents);
	} else {
		g_assert_cmpint(sftp_copy_data(f->c, &hs, 4, 8, &hd, 2), ==, ERR_NOT_SUPPORTED);
		g_assert_cmpint(sftp_close(f->c, &hd), ==, 0);
	}
	g_assert_cmpint(sftp_close(f->c, &hs), ==, 0);
	g_free(p);
	g_free(q);
}

/* The reconnect path: the old client dies, its handles are refused by the
 * new one (ERR_STALE, nothing sent), and reopening by path with
 * sftp_reopen_flags keeps the data (no O_TRUNC again). */
static void test_reopen(struct fixture *f, gconstpointer data)
{
	const char *argv[] = {f->srv->path, NULL};
	uint32_t flags = SFTP_FXF_READ | SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_TRUNC;
	struct sftp_client *c2;
	struct sftp_handle h, h2;
	char *p = tpath(f, "reopen");
	char buf[16];
	size_t got;

	g_assert_cmpint(sftp_open(f->c, p, flags, NULL, &h), ==, 0);
	g_assert_true(sftp_handle_belongs(f->c, &h));
	g_assert_cmpint(sftp_write(f->c, &h, 0, "persist", 7), ==, 0);
	sftp_client_shutdown(f->c, ERR_CONN_CLOSED);
	g_assert_cmpint(sftp_client_error(f->c), ==, ERR_CONN_CLOSED);
	g_assert_cmpint(sftp_read(f->c, &h, 0, buf, sizeof(buf), &got), ==, ERR_CONN_CLOSED);

	g_assert_cmpint(sftp_client_spawn(argv, &c2, NULL), ==, 0);
	g_assert_cmpint(sftp_client_init(c2), ==, 0);
	g_assert_cmpint(sftp_client_error(c2), ==, 0);
	g_assert_false(sftp_handle_belongs(c2, &h));
	g_assert_cmpint(sftp_read(c2, &h, 0, buf, sizeof(buf), &got), ==, ERR_STALE);
	g_assert_cmpint(sftp_write(c2, &h, 0, "x", 1), ==, ERR_STALE);
	g_assert_cmpint(sftp_close(c2, &h), ==, ERR_STALE);
	g_assert_cmpuint(sftp_reopen_flags(flags), ==, SFTP_FXF_READ | SFTP_FXF_WRITE);
	g_assert_cmpint(sftp_open(c2, p, sftp_reopen_flags(flags), NULL, &h2), ==, 0);
	g_assert_cmpint(sftp_read(c2, &h2, 0, buf, sizeof(buf), &got), ==, 0);
	g_assert_cmpuint(got, ==, 7);
	g_assert_cmpmem(buf, 7, "persist", 7);
	g_assert_cmpint(sftp_close(c2, &h2), ==, 0);
	sftp_client_free(c2);
	g_free(p);
}

/* Many threads, each with its own synchronous requests in flight at once. */
struct stat_worker {
	struct fixture *f;
	int failures;
};

static gpointer stat_worker_main(gpointer arg)
{
	struct stat_worker *w = arg;

	for (int i = 0; i < 40; i++) {
		struct sftp_attrs a;
		char name[32], *p;

		g_snprintf(name, sizeof(name), "f%d", i % 8);
		p = tpath(w->f, name);
		if (sftp_stat(w->f->c, p, &a) != 0 || a.size != (uint64_t)(i % 8))
			w->failures++;
		sftp_attrs_clear(&a);
		g_free(p);
	}
	return NULL;
}

struct async_read {
	GMutex lock;
	GCond cond;
	unsigned pending;
	unsigned max_in_flight;
	struct sftp_client *c;
	uint8_t *dst;
	size_t total;
	int err;
};

struct async_one {
	struct async_read *ar;
	uint64_t off;
};

static void async_read_done(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct async_one *one = ctx;
	struct async_read *ar = one->ar;

	g_mutex_lock(&ar->lock);
	if (err != 0)
		ar->err = err;
	else
		memcpy(ar->dst + one->off, data, len);
	ar->total += len;
	ar->pending--;
	g_cond_signal(&ar->cond);
	g_mutex_unlock(&ar->lock);
	g_free(one);
}

static void test_pipelining(struct fixture *f, gconstpointer data)
{
	struct stat_worker w[8];
	GThread *t[8];
	size_t n = 64 * 32768;
	uint8_t *content = g_malloc(n);
	struct async_read ar = {.pending = 0};
	struct sftp_handle h;
	char *p;

	for (int i = 0; i < 8; i++) {
		char name[8];

		g_snprintf(name, sizeof(name), "f%d", i);
		p = tpath(f, name);
		write_local(p, "xxxxxxxx", (size_t)i);
		g_free(p);
	}
	for (int i = 0; i < 8; i++) {
		w[i] = (struct stat_worker){.f = f};
		t[i] = g_thread_new("stat", stat_worker_main, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		g_thread_join(t[i]);
		g_assert_cmpint(w[i].failures, ==, 0);
	}

	/* 64 READs of 32 KiB in flight at once, completed on the reader thread. */
	for (size_t i = 0; i < n; i++)
		content[i] = (uint8_t)(i ^ (i >> 9));
	p = tpath(f, "big");
	write_local(p, (const char *)content, n);
	ar.dst = g_malloc0(n);
	g_mutex_init(&ar.lock);
	g_cond_init(&ar.cond);
	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_READ, NULL, &h), ==, 0);
	sftp_client_set_window(f->c, 256, 16u * 1024 * 1024);
	g_mutex_lock(&ar.lock);
	for (size_t off = 0; off < n; off += 32768) {
		struct async_one *one = g_malloc0(sizeof(*one));

		one->ar = &ar;
		one->off = off;
		ar.pending++;
		g_assert_cmpint(sftp_read_async(f->c, &h, off, 32768, 0, async_read_done, one), ==, 0);
	}
	/* The reader thread cannot complete anything while we hold ar.lock, so all 64 are in flight. */
	g_assert_cmpuint(sftp_client_in_flight(f->c), >=, 1);
	while (ar.pending > 0)
		g_cond_wait(&ar.cond, &ar.lock);
	g_mutex_unlock(&ar.lock);
	g_assert_cmpint(ar.err, ==, 0);
	g_assert_cmpuint(ar.total, ==, n);
	g_assert_true(memcmp(ar.dst, content, n) == 0);
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);
	g_assert_cmpuint(sftp_client_in_flight(f->c), ==, 0);
	g_mutex_clear(&ar.lock);
	g_cond_clear(&ar.cond);
	g_free(ar.dst);
	g_free(content);
	g_free(p);
}

static void test_shutdown(struct fixture *f, gconstpointer data)
{
	struct sftp_attrs a;

	sftp_client_shutdown(f->c, ERR_TIMEOUT);
	g_assert_cmpint(sftp_stat(f->c, f->dir, &a), ==, ERR_TIMEOUT);
	g_assert_cmpint(sftp_client_init(f->c), <, 0);
}

/* ------------------------------------------------------------------ */
/* Scripted server                                                     */

struct fake {
	struct sftp_client *c;
	GAsyncQueue *sent; /* GBytes*, one per send call */
};

static int fake_send(void *ctx, const uint8_t *data, size_t len, const uint8_t *tail, size_t tlen)
{
	struct fake *f = ctx;
	uint8_t *msg = g_malloc(len + tlen);

	memcpy(msg, data, len);
	if (tlen > 0)
		memcpy(msg + len, tail, tlen);
	g_async_queue_push(f->sent, g_bytes_new_take(msg, len + tlen));
	return 0;
}

/* The next packet the client sent: type and id (id absent for INIT). */
static GBytes *fake_pop(struct fake *f, uint8_t *type, uint32_t *id)
{
	GBytes *b = g_async_queue_timeout_pop(f->sent, 5 * G_USEC_PER_SEC);
	struct buf *v;
	uint32_t len;

	g_assert_nonnull(b);
	v = buf_from(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	g_assert_cmpint(buf_get_u32(v, &len), ==, 0);
	g_assert_cmpuint(len, ==, buf_len(v));
	g_assert_cmpint(buf_get_u8(v, type), ==, 0);
	g_assert_cmpint(buf_get_u32(v, id), ==, 0);
	buf_free(v);
	return b;
}

/* Feeds one packet: type, optional id, body. */
static int fake_reply(struct fake *f, uint8_t type, const uint32_t *id, const void *body, size_t len)
{
	struct buf *b = buf_new(0);
	int r;

	g_assert_cmpint(buf_put_u32(b, (uint32_t)(1 + (id ? 4 : 0) + len)), ==, 0);
	g_assert_cmpint(buf_put_u8(b, type), ==, 0);
	if (id != NULL)
		g_assert_cmpint(buf_put_u32(b, *id), ==, 0);
	if (len > 0)
		g_assert_cmpint(buf_put(b, body, len), ==, 0);
	r = sftp_client_input(f->c, buf_peek(b), buf_len(b));
	buf_free(b);
	return r;
}

static gpointer init_thread(gpointer arg)
{
	struct fake *f = arg;

	return GINT_TO_POINTER(sftp_client_init(f->c));
}

/* A client initialised against the script with the given VERSION body. */
static int fake_start(struct fake *f, const struct buf *version)
{
	GThread *t;
	GBytes *b;
	uint8_t type;
	uint32_t v;
	int r;

	f->sent = g_async_queue_new_full((GDestroyNotify)g_bytes_unref);
	f->c = sftp_client_new(fake_send, f);
	g_assert_nonnull(f->c);
	t = g_thread_new("init", init_thread, f);
	b = fake_pop(f, &type, &v);
	g_assert_cmpuint(type, ==, SSH_FXP_INIT);
	g_assert_cmpuint(v, ==, 3);
	g_bytes_unref(b);
	r = fake_reply(f, SSH_FXP_VERSION, NULL, buf_peek(version), buf_len(version));
	if (r != 0)
		sftp_client_shutdown(f->c, r);
	r = GPOINTER_TO_INT(g_thread_join(t));
	return r;
}

static void fake_start_v3(struct fake *f)
{
	struct buf *v = buf_new(0);

	g_assert_cmpint(buf_put_u32(v, 3), ==, 0);
	g_assert_cmpint(buf_put_cstring(v, "statvfs@openssh.com"), ==, 0);
	g_assert_cmpint(buf_put_cstring(v, "2"), ==, 0);
	g_assert_cmpint(buf_put_cstring(v, "users-groups-by-id@openssh.com"), ==, 0);
	g_assert_cmpint(buf_put_cstring(v, "1"), ==, 0);
	g_assert_cmpint(fake_start(f, v), ==, 0);
	buf_free(v);
}

static void fake_free(struct fake *f)
{
	sftp_client_free(f->c);
	g_async_queue_unref(f->sent);
}

/* One synchronous operation run on its own thread against the script. */
enum fake_op { OP_STAT, OP_READDIR, OP_OPEN, OP_REALPATH, OP_READ, OP_STATVFS, OP_IDS, OP_CLOSE };

struct op_run {
	struct fake *f;
	enum fake_op op;
	int result;
};

static gpointer op_thread(gpointer arg)
{
	struct op_run *o = arg;
	struct sftp_handle h;
	struct sftp_attrs a;
	struct sftp_names n;
	struct sftp_statvfs sv;
	char *s = NULL, **un = NULL, **gn = NULL;
	uint8_t buf[64];
	uint32_t ids[2] = {1, 2};
	size_t got;

	g_assert_cmpint(sftp_handle_adopt(o->f->c, "h", 1, &h), ==, 0);
	switch (o->op) {
	case OP_STAT:
		o->result = sftp_stat(o->f->c, "/x", &a);
		sftp_attrs_clear(&a);
		break;
	case OP_READDIR:
		o->result = sftp_readdir(o->f->c, &h, &n);
		sftp_names_clear(&n);
		break;
	case OP_OPEN:
		o->result = sftp_open(o->f->c, "/x", SFTP_FXF_READ, NULL, &h);
		break;
	case OP_REALPATH:
		o->result = sftp_realpath(o->f->c, ".", &s);
		free(s);
		break;
	case OP_READ:
		o->result = sftp_read(o->f->c, &h, 0, buf, 16, &got);
		if (o->result == 0 && got == 0)
			o->result = 1; /* EOF, distinguishable from data */
		break;
	case OP_STATVFS:
		o->result = sftp_statvfs(o->f->c, "/", &sv);
		break;
	case OP_IDS:
		o->result = sftp_users_groups_by_id(o->f->c, ids, 2, ids, 1, &un, &gn);
		g_strfreev(un);
		g_strfreev(gn);
		break;
	case OP_CLOSE:
		o->result = sftp_close(o->f->c, &h);
		break;
	}
	return NULL;
}

/*
 * Runs op on a fresh scripted client and answers its request with type and
 * body, the id replaced by id_delta + the real id. Returns the op's result.
 */
static int run_op(enum fake_op op, uint8_t type, const void *body, size_t len, uint32_t id_delta)
{
	struct fake f;
	struct op_run o = {.f = &f, .op = op};
	GThread *t;
	GBytes *b;
	uint8_t qtype;
	uint32_t id;
	int r;

	fake_start_v3(&f);
	t = g_thread_new("op", op_thread, &o);
	b = fake_pop(&f, &qtype, &id);
	g_bytes_unref(b);
	id += id_delta;
	r = fake_reply(&f, type, &id, body, len);
	if (id_delta != 0)
		g_assert_cmpint(r, ==, ERR_PROTOCOL); /* a reply to no request breaks the stream */
	g_thread_join(t);
	fake_free(&f);
	return o.result;
}

/* The op succeeds on body, and fails on every truncation and on a trailing byte. */
static void check_truncations(enum fake_op op, uint8_t type, const struct buf *body, int ok_result)
{
	const uint8_t *d = buf_peek(body);
	size_t len = buf_len(body);
	uint8_t *extra = g_malloc(len + 1);

	g_assert_cmpint(run_op(op, type, d, len, 0), ==, ok_result);
	for (size_t cut = 0; cut < len; cut++)
		g_assert_cmpint(run_op(op, type, d, cut, 0), <, 0);
	memcpy(extra, d, len);
	extra[len] = 0;
	g_assert_cmpint(run_op(op, type, extra, len + 1, 0), <, 0);
	g_free(extra);
}

static void put_full_attrs(struct buf *b)
{
	g_assert_cmpint(buf_put_u32(b, SFTP_ATTR_SIZE | SFTP_ATTR_UIDGID | SFTP_ATTR_PERMISSIONS |
	                                   SFTP_ATTR_ACMODTIME | SFTP_ATTR_EXTENDED),
	                ==, 0);
	g_assert_cmpint(buf_put_u64(b, 12345), ==, 0);
	g_assert_cmpint(buf_put_u32(b, 1000), ==, 0);
	g_assert_cmpint(buf_put_u32(b, 1001), ==, 0);
	g_assert_cmpint(buf_put_u32(b, 0100644), ==, 0);
	g_assert_cmpint(buf_put_u32(b, 1), ==, 0);
	g_assert_cmpint(buf_put_u32(b, 2), ==, 0);
	g_assert_cmpint(buf_put_u32(b, 2), ==, 0);
	g_assert_cmpint(buf_put_cstring(b, "a@x"), ==, 0);
	g_assert_cmpint(buf_put_string(b, "\0\1", 2), ==, 0);
	g_assert_cmpint(buf_put_cstring(b, "b@x"), ==, 0);
	g_assert_cmpint(buf_put_string(b, "", 0), ==, 0);
}

static void put_name(struct buf *b, const char *name, size_t nlen)
{
	g_assert_cmpint(buf_put_string(b, name, nlen), ==, 0);
	g_assert_cmpint(buf_put_cstring(b, "-rw-r--r-- 1 u g 0 Jan 1 00:00 x"), ==, 0);
	g_assert_cmpint(buf_put_u32(b, SFTP_ATTR_SIZE), ==, 0);
	g_assert_cmpint(buf_put_u64(b, 7), ==, 0);
}

static void test_hostile_truncations(void)
{
	struct buf *b = buf_new(0);

	put_full_attrs(b);
	check_truncations(OP_STAT, SSH_FXP_ATTRS, b, 0);
	buf_reset(b);

	g_assert_cmpint(buf_put_u32(b, 2), ==, 0);
	put_name(b, "one", 3);
	put_name(b, "two", 3);
	check_truncations(OP_READDIR, SSH_FXP_NAME, b, 0);
	buf_reset(b);

	g_assert_cmpint(buf_put_u32(b, 1), ==, 0);
	put_name(b, "/abs/path", 9);
	check_truncations(OP_REALPATH, SSH_FXP_NAME, b, 0);
	buf_reset(b);

	g_assert_cmpint(buf_put_string(b, "handle-42", 9), ==, 0);
	check_truncations(OP_OPEN, SSH_FXP_HANDLE, b, 0);
	buf_reset(b);

	g_assert_cmpint(buf_put_string(b, "0123456789", 10), ==, 0);
	check_truncations(OP_READ, SSH_FXP_DATA, b, 0);
	buf_reset(b);

	g_assert_cmpint(buf_put_u32(b, SFTP_FX_NO_SUCH_FILE), ==, 0);
	g_assert_cmpint(buf_put_cstring(b, "No such file"), ==, 0);
	g_assert_cmpint(buf_put_cstring(b, "en"), ==, 0);
	/* A STATUS truncated right after the code is a pre-filexfer-02 STATUS: allowed. */
	g_assert_cmpint(run_op(OP_STAT, SSH_FXP_STATUS, buf_peek(b), 4, 0), ==, ERR_NO_SUCH_FILE);
	g_assert_cmpint(run_op(OP_STAT, SSH_FXP_STATUS, buf_peek(b), buf_len(b), 0), ==, ERR_NO_SUCH_FILE);
	for (size_t cut = 0; cut < buf_len(b); cut++) {
		if (cut != 4)
			g_assert_cmpint(run_op(OP_CLOSE, SSH_FXP_STATUS, buf_peek(b), cut, 0), <, 0);
	}
	buf_reset(b);

	for (int i = 0; i < 11; i++)
		g_assert_cmpint(buf_put_u64(b, (uint64_t)i * 1000), ==, 0);
	check_truncations(OP_STATVFS, SSH_FXP_EXTENDED_REPLY, b, 0);
	buf_reset(b);

	{
		struct buf *l = buf_new(0);

		g_assert_cmpint(buf_put_cstring(l, "alice"), ==, 0);
		g_assert_cmpint(buf_put_cstring(l, ""), ==, 0);
		g_assert_cmpint(buf_put_stringb(b, l), ==, 0);
		buf_reset(l);
		g_assert_cmpint(buf_put_cstring(l, "staff"), ==, 0);
		g_assert_cmpint(buf_put_stringb(b, l), ==, 0);
		buf_free(l);
	}
	check_truncations(OP_IDS, SSH_FXP_EXTENDED_REPLY, b, 0);
	buf_free(b);
}

static void test_hostile_values(void)
{
	struct buf *b = buf_new(0);
	uint8_t big[SFTP_HANDLE_MAX + 1];

	/* "/", NUL and empty names from READDIR. */
	g_assert_cmpint(buf_put_u32(b, 1), ==, 0);
	put_name(b, "../../etc", 9);
	g_assert_cmpint(run_op(OP_READDIR, SSH_FXP_NAME, buf_peek(b), buf_len(b), 0), ==, ERR_INVALID_FORMAT);
	buf_reset(b);
	g_assert_cmpint(buf_put_u32(b, 1), ==, 0);
	put_name(b, "a\0b", 3);
	g_assert_cmpint(run_op(OP_READDIR, SSH_FXP_NAME, buf_peek(b), buf_len(b), 0), <, 0);
	buf_reset(b);
	g_assert_cmpint(buf_put_u32(b, 1), ==, 0);
	put_name(b, "", 0);
	g_assert_cmpint(run_op(OP_READDIR, SSH_FXP_NAME, buf_peek(b), buf_len(b), 0), ==, ERR_INVALID_FORMAT);
	buf_reset(b);
	/* Huge counts. */
	g_assert_cmpint(buf_put_u32(b, 0xffffffffu), ==, 0);
	put_name(b, "a", 1);
	g_assert_cmpint(run_op(OP_READDIR, SSH_FXP_NAME, buf_peek(b), buf_len(b), 0), ==, ERR_LIMIT_EXCEEDED);
	buf_reset(b);
	g_assert_cmpint(buf_put_u32(b, SFTP_NAME_COUNT_MAX), ==, 0);
	put_name(b, "a", 1);
	g_assert_cmpint(run_op(OP_READDIR, SSH_FXP_NAME, buf_peek(b), buf_len(b), 0), <, 0);
	buf_reset(b);
	g_assert_cmpint(buf_put_u32(b, SFTP_ATTR_EXTENDED), ==, 0);
	g_assert_cmpint(buf_put_u32(b, 0x7fffffff), ==, 0);
	g_assert_cmpint(run_op(OP_STAT, SSH_FXP_ATTRS, buf_peek(b), buf_len(b), 0), ==, ERR_LIMIT_EXCEEDED);
	buf_reset(b);
	/* Unknown ATTRS flag bits (a v4+ layout we cannot parse). */
	g_assert_cmpint(buf_put_u32(b, 0x10), ==, 0);
	g_assert_cmpint(run_op(OP_STAT, SSH_FXP_ATTRS, buf_peek(b), buf_len(b), 0), ==, ERR_INVALID_FORMAT);
	buf_reset(b);
	/* REALPATH must return exactly one name. */
	g_assert_cmpint(buf_put_u32(b, 2), ==, 0);
	put_name(b, "/a", 2);
	put_name(b, "/b", 2);
	g_assert_cmpint(run_op(OP_REALPATH, SSH_FXP_NAME, buf_peek(b), buf_len(b), 0), ==, ERR_INVALID_FORMAT);
	buf_reset(b);
	/* Handles: longer than 256 bytes, or empty. */
	memset(big, 'h', sizeof(big));
	g_assert_cmpint(buf_put_string(b, big, sizeof(big)), ==, 0);
	g_assert_cmpint(run_op(OP_OPEN, SSH_FXP_HANDLE, buf_peek(b), buf_len(b), 0), ==, ERR_INVALID_FORMAT);
	buf_reset(b);
	g_assert_cmpint(buf_put_string(b, big, SFTP_HANDLE_MAX), ==, 0);
	g_assert_cmpint(run_op(OP_OPEN, SSH_FXP_HANDLE, buf_peek(b), buf_len(b), 0), ==, 0);
	buf_reset(b);
	g_assert_cmpint(buf_put_string(b, "", 0), ==, 0);
	g_assert_cmpint(run_op(OP_OPEN, SSH_FXP_HANDLE, buf_peek(b), buf_len(b), 0), ==, ERR_INVALID_FORMAT);
	buf_reset(b);
	/* DATA longer than asked for (16 bytes). */
	g_assert_cmpint(buf_put_string(b, "0123456789abcdefX", 17), ==, 0);
	g_assert_cmpint(run_op(OP_READ, SSH_FXP_DATA, buf_peek(b), buf_len(b), 0), <, 0);
	buf_reset(b);
	/* Wrong types: DATA to STAT, HANDLE to READDIR, ATTRS to CLOSE, STATUS OK where a result is due. */
	g_assert_cmpint(buf_put_string(b, "x", 1), ==, 0);
	g_assert_cmpint(run_op(OP_STAT, SSH_FXP_DATA, buf_peek(b), buf_len(b), 0), ==, ERR_PROTOCOL);
	g_assert_cmpint(run_op(OP_READDIR, SSH_FXP_HANDLE, buf_peek(b), buf_len(b), 0), ==, ERR_PROTOCOL);
	buf_reset(b);
	g_assert_cmpint(buf_put_u32(b, 0), ==, 0);
	g_assert_cmpint(run_op(OP_CLOSE, SSH_FXP_ATTRS, buf_peek(b), buf_len(b), 0), ==, ERR_PROTOCOL);
	g_assert_cmpint(run_op(OP_CLOSE, SSH_FXP_VERSION, buf_peek(b), buf_len(b), 0), ==, ERR_PROTOCOL);
	buf_reset(b);
	g_assert_cmpint(buf_put_u32(b, SFTP_FX_OK), ==, 0);
	g_assert_cmpint(run_op(OP_STAT, SSH_FXP_STATUS, buf_peek(b), buf_len(b), 0), ==, ERR_PROTOCOL);
	g_assert_cmpint(run_op(OP_READ, SSH_FXP_STATUS, buf_peek(b), buf_len(b), 0), ==, ERR_PROTOCOL);
	g_assert_cmpint(run_op(OP_CLOSE, SSH_FXP_STATUS, buf_peek(b), buf_len(b), 0), ==, 0);
	buf_reset(b);
	g_assert_cmpint(buf_put_u32(b, SFTP_FX_EOF), ==, 0);
	g_assert_cmpint(run_op(OP_READ, SSH_FXP_STATUS, buf_peek(b), buf_len(b), 0), ==, 1);
	buf_reset(b);
	/* An unknown status code is a generic failure. */
	g_assert_cmpint(buf_put_u32(b, 9999), ==, 0);
	g_assert_cmpint(run_op(OP_CLOSE, SSH_FXP_STATUS, buf_peek(b), buf_len(b), 0), ==, ERR_SFTP_STATUS);
	/* A reply with the wrong id fails the stream and every pending request. */
	g_assert_cmpint(run_op(OP_CLOSE, SSH_FXP_STATUS, buf_peek(b), buf_len(b), 1), ==, ERR_PROTOCOL);
	g_assert_cmpint(run_op(OP_STAT, SSH_FXP_STATUS, buf_peek(b), buf_len(b), 0x80000000u), ==, ERR_PROTOCOL);
	buf_free(b);
}

static void test_hostile_framing(void)
{
	static const uint8_t zero_len[] = {0, 0, 0, 0};
	static const uint8_t four_len[] = {0, 0, 0, 4, 101, 0, 0, 0};
	static const uint8_t huge_len[] = {0x7f, 0xff, 0xff, 0xff, 101};
	const uint8_t *bad[] = {zero_len, four_len, huge_len};
	size_t badlen[] = {sizeof(zero_len), sizeof(four_len), sizeof(huge_len)};
	struct sftp_attrs a;

	for (size_t i = 0; i < 3; i++) {
		struct fake f;

		fake_start_v3(&f);
		g_assert_cmpint(sftp_client_input(f.c, bad[i], badlen[i]), ==, ERR_PROTOCOL);
		/* Everything after a corrupt stream fails. */
		g_assert_cmpint(sftp_stat(f.c, "/", &a), ==, ERR_PROTOCOL);
		g_assert_cmpint(sftp_client_input(f.c, bad[i], badlen[i]), <, 0);
		fake_free(&f);
	}
}

static void test_hostile_version(void)
{
	struct buf *v = buf_new(0);
	struct fake f;

	/* Version 2: not spoken. */
	g_assert_cmpint(buf_put_u32(v, 2), ==, 0);
	g_assert_cmpint(fake_start(&f, v), ==, ERR_NOT_SUPPORTED);
	fake_free(&f);
	/* Truncated extension pair. */
	buf_reset(v);
	g_assert_cmpint(buf_put_u32(v, 3), ==, 0);
	g_assert_cmpint(buf_put_cstring(v, "posix-rename@openssh.com"), ==, 0);
	g_assert_cmpint(fake_start(&f, v), <, 0);
	fake_free(&f);
	/* Too many extensions. */
	buf_reset(v);
	g_assert_cmpint(buf_put_u32(v, 3), ==, 0);
	for (int i = 0; i <= SFTP_EXTENSIONS_MAX; i++) {
		g_assert_cmpint(buf_put_cstring(v, "x@y"), ==, 0);
		g_assert_cmpint(buf_put_cstring(v, "1"), ==, 0);
	}
	g_assert_cmpint(fake_start(&f, v), ==, ERR_LIMIT_EXCEEDED);
	fake_free(&f);
	/* Wrong extension version: recognised only at the documented version. */
	buf_reset(v);
	g_assert_cmpint(buf_put_u32(v, 3), ==, 0);
	g_assert_cmpint(buf_put_cstring(v, "statvfs@openssh.com"), ==, 0);
	g_assert_cmpint(buf_put_cstring(v, "1"), ==, 0);
	g_assert_cmpint(fake_start(&f, v), ==, 0);
	g_assert_false(sftp_client_has(f.c, SFTP_EXT_STATVFS));
	g_assert_false(sftp_client_symlink_reversed(f.c));
	/* A second VERSION is a protocol error. */
	g_assert_cmpint(fake_reply(&f, SSH_FXP_VERSION, NULL, buf_peek(v), buf_len(v)), ==, ERR_PROTOCOL);
	fake_free(&f);
	/* The server dies before VERSION. */
	f.sent = g_async_queue_new_full((GDestroyNotify)g_bytes_unref);
	f.c = sftp_client_new(fake_send, &f);
	{
		GThread *t = g_thread_new("init", init_thread, &f);
		uint8_t type;
		uint32_t ver;

		g_bytes_unref(fake_pop(&f, &type, &ver));
		sftp_client_shutdown(f.c, ERR_CONN_CLOSED);
		g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t)), ==, ERR_CONN_CLOSED);
	}
	fake_free(&f);
	buf_free(v);
}

/* Out-of-order replies: 64 async READs answered in reverse, then shuffled. */
struct ooo {
	unsigned done;
	unsigned wrong;
};

static void ooo_cb(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct ooo *o = ctx;

	(void)data;
	o->done++;
	/* Each READ asked for its index + 1 bytes, and the answer is that long. */
	if (err != 0)
		o->wrong++;
	else if (len == 0 || data[0] != (uint8_t)(len - 1))
		o->wrong++;
}

static void test_out_of_order(void)
{
	struct fake f;
	struct sftp_handle h;
	struct ooo o = {0};
	uint32_t ids[64];
	unsigned order[64];

	fake_start_v3(&f);
	g_assert_cmpint(sftp_handle_adopt(f.c, "h1", 2, &h), ==, 0);
	for (unsigned i = 0; i < 64; i++)
		g_assert_cmpint(sftp_read_async(f.c, &h, (uint64_t)i << 20, i + 1, SFTP_ASYNC_NOWAIT, ooo_cb, &o), ==, 0);
	g_assert_cmpuint(sftp_client_in_flight(f.c), ==, 64);
	for (unsigned i = 0; i < 64; i++) {
		uint8_t type;
		GBytes *b = fake_pop(&f, &type, &ids[i]);

		g_assert_cmpuint(type, ==, SSH_FXP_READ);
		g_bytes_unref(b);
		order[i] = i;
	}
	/* A deterministic shuffle. */
	for (unsigned i = 63; i > 0; i--) {
		unsigned j = (i * 2654435761u) % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (unsigned k = 0; k < 64; k++) {
		unsigned i = order[k];
		struct buf *b = buf_new(0);
		uint8_t data[64];

		memset(data, (int)i, sizeof(data));
		g_assert_cmpint(buf_put_string(b, data, i + 1), ==, 0);
		g_assert_cmpint(fake_reply(&f, SSH_FXP_DATA, &ids[i], buf_peek(b), buf_len(b)), ==, 0);
		buf_free(b);
	}
	g_assert_cmpuint(o.done, ==, 64);
	g_assert_cmpuint(o.wrong, ==, 0);
	g_assert_cmpuint(sftp_client_in_flight(f.c), ==, 0);

	/* The window: NOWAIT submitters get ERR_WOULD_BLOCK when it is full. */
	sftp_client_set_window(f.c, 4, 0);
	for (unsigned i = 0; i < 4; i++)
		g_assert_cmpint(sftp_read_async(f.c, &h, 0, 10, SFTP_ASYNC_NOWAIT, ooo_cb, &o), ==, 0);
	g_assert_cmpint(sftp_read_async(f.c, &h, 0, 10, SFTP_ASYNC_NOWAIT, ooo_cb, &o), ==, ERR_WOULD_BLOCK);
	/* Shutdown fails the pending ones through their callbacks. */
	sftp_client_shutdown(f.c, ERR_CONN_CLOSED);
	g_assert_cmpuint(o.done, ==, 68);
	g_assert_cmpuint(o.wrong, ==, 4);
	g_assert_cmpint(sftp_read_async(f.c, &h, 0, 10, SFTP_ASYNC_NOWAIT, ooo_cb, &o), ==, ERR_CONN_CLOSED);
	fake_free(&f);
}

/*
 * sftp_readdir_many: its READDIRs go out back to back on the handle before
 * any reply, and each reply lands in the slot of its own request whatever
 * order the replies come in; a connection lost midway fails the ones still
 * waiting, and n out of range is refused before anything is sent.
 */
struct many_run {
	struct fake *f;
	unsigned n;
	struct sftp_names out[SFTP_READDIR_MAX];
	int res[SFTP_READDIR_MAX];
	int r;
};

static gpointer many_thread(gpointer arg)
{
	struct many_run *m = arg;
	struct sftp_handle h;

	g_assert_cmpint(sftp_handle_adopt(m->f->c, "dh", 2, &h), ==, 0);
	m->r = sftp_readdir_many(m->f->c, &h, m->n, m->out, m->res);
	return NULL;
}

static void test_readdir_many(void)
{
	static const char *const names[] = {"first", "second"};
	struct fake f;
	struct many_run m = {.f = &f, .n = 4};
	struct sftp_handle h;
	struct sftp_names out[SFTP_READDIR_MAX + 1];
	int res[SFTP_READDIR_MAX + 1];
	uint32_t ids[4];
	struct buf *eof = buf_new(0);
	GThread *t;

	g_assert_cmpint(buf_put_u32(eof, SFTP_FX_EOF), ==, 0);
	g_assert_cmpint(buf_put_cstring(eof, "end"), ==, 0);
	g_assert_cmpint(buf_put_cstring(eof, ""), ==, 0);
	fake_start_v3(&f);
	t = g_thread_new("many", many_thread, &m);
	for (unsigned i = 0; i < 4; i++) {
		uint8_t type;
		GBytes *b = fake_pop(&f, &type, &ids[i]);
		gsize len;
		const uint8_t *d = g_bytes_get_data(b, &len);

		/* length, type, id, then the handle string "dh" */
		g_assert_cmpuint(type, ==, SSH_FXP_READDIR);
		g_assert_cmpuint(len, ==, 4 + 1 + 4 + 4 + 2);
		g_assert_cmpmem(d + 13, 2, "dh", 2);
		if (i > 0)
			g_assert_cmpuint(ids[i], !=, ids[i - 1]);
		g_bytes_unref(b);
	}
	/* Replies last first: two EOFs, then the second batch, then the first. */
	for (unsigned k = 0; k < 4; k++) {
		unsigned i = 3 - k;
		struct buf *b = buf_new(0);

		if (i >= 2) {
			g_assert_cmpint(fake_reply(&f, SSH_FXP_STATUS, &ids[i], buf_peek(eof), buf_len(eof)), ==, 0);
		} else {
			g_assert_cmpint(buf_put_u32(b, 1), ==, 0);
			put_name(b, names[i], strlen(names[i]));
			g_assert_cmpint(fake_reply(&f, SSH_FXP_NAME, &ids[i], buf_peek(b), buf_len(b)), ==, 0);
		}
		buf_free(b);
	}
	g_thread_join(t);
	g_assert_cmpint(m.r, ==, 0);
	for (unsigned i = 0; i < 4; i++) {
		g_assert_cmpint(m.res[i], ==, 0);
		g_assert_cmpuint(m.out[i].count, ==, i < 2 ? 1 : 0);
		if (i < 2)
			g_assert_cmpstr(m.out[i].v[0].name, ==, names[i]);
		sftp_names_clear(&m.out[i]);
	}

	/* Lost after the first reply: that batch stands, the rest fail. */
	m.n = 3;
	t = g_thread_new("many", many_thread, &m);
	for (unsigned i = 0; i < 3; i++) {
		uint8_t type;

		g_bytes_unref(fake_pop(&f, &type, &ids[i]));
	}
	{
		struct buf *b = buf_new(0);

		g_assert_cmpint(buf_put_u32(b, 1), ==, 0);
		put_name(b, "only", 4);
		g_assert_cmpint(fake_reply(&f, SSH_FXP_NAME, &ids[0], buf_peek(b), buf_len(b)), ==, 0);
		buf_free(b);
	}
	sftp_client_shutdown(f.c, ERR_CONN_CLOSED);
	g_thread_join(t);
	g_assert_cmpint(m.r, ==, 0);
	g_assert_cmpint(m.res[0], ==, 0);
	g_assert_cmpuint(m.out[0].count, ==, 1);
	g_assert_cmpint(m.res[1], ==, ERR_CONN_CLOSED);
	g_assert_cmpint(m.res[2], ==, ERR_CONN_CLOSED);
	for (unsigned i = 0; i < 3; i++)
		sftp_names_clear(&m.out[i]);

	/* Now nothing can be sent: every slot carries the refusal. */
	g_assert_cmpint(sftp_handle_adopt(f.c, "dh", 2, &h), ==, 0);
	g_assert_cmpint(sftp_readdir_many(f.c, &h, 2, out, res), ==, 0);
	g_assert_cmpint(res[0], ==, ERR_CONN_CLOSED);
	g_assert_cmpint(res[1], ==, ERR_CONN_CLOSED);
	g_assert_cmpuint(out[0].count + out[1].count, ==, 0);
	g_assert_cmpint(sftp_readdir_many(f.c, &h, 0, out, res), ==, ERR_INVALID_ARGUMENT);
	g_assert_cmpint(sftp_readdir_many(f.c, &h, SFTP_READDIR_MAX + 1, out, res), ==, ERR_INVALID_ARGUMENT);
	g_assert_null(g_async_queue_try_pop(f.sent));
	buf_free(eof);
	fake_free(&f);
}

/* 8 threads with 8 async READs each and 8 threads with a STAT each: 72
 * requests provably in flight at once (none is answered until all have
 * arrived), then answered in shuffled order; every caller gets its own reply. */
struct mt {
	struct fake *f;
	unsigned index;
	unsigned ok;
	GMutex lock;
	GCond cond;
	unsigned pending;
};

static void mt_read_cb(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct mt *m = ctx;

	g_mutex_lock(&m->lock);
	/* The script answers a READ at offset o for n bytes with n bytes of value o. */
	if (err == 0 && len > 0 && data[0] == (uint8_t)m->index && data[len - 1] == (uint8_t)m->index)
		m->ok++;
	m->pending--;
	g_cond_signal(&m->cond);
	g_mutex_unlock(&m->lock);
}

static gpointer mt_reader(gpointer arg)
{
	struct mt *m = arg;
	struct sftp_handle h;

	g_assert_cmpint(sftp_handle_adopt(m->f->c, "h", 1, &h), ==, 0);
	g_mutex_lock(&m->lock);
	for (unsigned k = 0; k < 8; k++) {
		m->pending++;
		g_assert_cmpint(sftp_read_async(m->f->c, &h, m->index, 16 + k, 0, mt_read_cb, m), ==, 0);
	}
	while (m->pending > 0)
		g_cond_wait(&m->cond, &m->lock);
	g_mutex_unlock(&m->lock);
	return NULL;
}

static gpointer mt_stat(gpointer arg)
{
	struct mt *m = arg;
	struct sftp_attrs a;
	char path[16];

	g_snprintf(path, sizeof(path), "/t%u", m->index);
	if (sftp_stat(m->f->c, path, &a) == 0 && a.size == m->index)
		m->ok++;
	sftp_attrs_clear(&a);
	return NULL;
}

static void test_many_threads(void)
{
	struct fake f;
	struct mt m[16];
	GThread *t[16];
	GBytes *pk[72];
	unsigned order[72];

	fake_start_v3(&f);
	for (unsigned i = 0; i < 16; i++) {
		m[i] = (struct mt){.f = &f, .index = i < 8 ? 100 + i : i};
		g_mutex_init(&m[i].lock);
		g_cond_init(&m[i].cond);
		t[i] = g_thread_new("mt", i < 8 ? mt_reader : mt_stat, &m[i]);
	}
	for (unsigned i = 0; i < 72; i++) {
		uint8_t type;
		uint32_t id;

		pk[i] = fake_pop(&f, &type, &id);
		order[i] = i;
	}
	g_assert_cmpuint(sftp_client_in_flight(f.c), ==, 72);
	for (unsigned i = 71; i > 0; i--) {
		unsigned j = (i * 40503u + 7) % (i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (unsigned k = 0; k < 72; k++) {
		struct buf *v = buf_from(g_bytes_get_data(pk[order[k]], NULL), g_bytes_get_size(pk[order[k]]));
		struct buf *reply = buf_new(0);
		const uint8_t *hd;
		uint8_t type, data[64];
		uint32_t len, id;
		uint64_t off;
		size_t hl;
		char *path;

		g_assert_cmpint(buf_consume(v, 4), ==, 0);
		g_assert_cmpint(buf_get_u8(v, &type), ==, 0);
		g_assert_cmpint(buf_get_u32(v, &id), ==, 0);
		if (type == SSH_FXP_READ) {
			g_assert_cmpint(buf_get_string_direct(v, &hd, &hl), ==, 0);
			g_assert_cmpint(buf_get_u64(v, &off), ==, 0);
			g_assert_cmpint(buf_get_u32(v, &len), ==, 0);
			memset(data, (int)off, sizeof(data));
			g_assert_cmpint(buf_put_string(reply, data, len), ==, 0);
			g_assert_cmpint(fake_reply(&f, SSH_FXP_DATA, &id, buf_peek(reply), buf_len(reply)), ==, 0);
		} else {
			g_assert_cmpuint(type, ==, SSH_FXP_STAT);
			g_assert_cmpint(buf_get_cstring(v, &path, &hl), ==, 0);
			g_assert_cmpint(buf_put_u32(reply, SFTP_ATTR_SIZE), ==, 0);
			g_assert_cmpint(buf_put_u64(reply, g_ascii_strtoull(path + 2, NULL, 10)), ==, 0);
			g_assert_cmpint(fake_reply(&f, SSH_FXP_ATTRS, &id, buf_peek(reply), buf_len(reply)), ==, 0);
			free(path);
		}
		buf_free(reply);
		buf_free(v);
		g_bytes_unref(pk[order[k]]);
	}
	for (unsigned i = 0; i < 16; i++) {
		g_thread_join(t[i]);
		g_assert_cmpuint(m[i].ok, ==, i < 8 ? 8 : 1);
		g_mutex_clear(&m[i].lock);
		g_cond_clear(&m[i].cond);
	}
	g_assert_cmpuint(sftp_client_in_flight(f.c), ==, 0);
	fake_free(&f);
}

/* Bytes arriving one at a time still frame correctly. */
static void test_byte_at_a_time(void)
{
	struct fake f;
	struct op_run o;
	GThread *t;
	GBytes *b;
	uint8_t qtype;
	uint32_t id;
	struct buf *pkt = buf_new(0);

	fake_start_v3(&f);
	o = (struct op_run){.f = &f, .op = OP_STAT};
	t = g_thread_new("op", op_thread, &o);
	b = fake_pop(&f, &qtype, &id);
	g_bytes_unref(b);
	g_assert_cmpint(buf_put_u32(pkt, 1 + 4 + 4 + 8), ==, 0);
	g_assert_cmpint(buf_put_u8(pkt, SSH_FXP_ATTRS), ==, 0);
	g_assert_cmpint(buf_put_u32(pkt, id), ==, 0);
	g_assert_cmpint(buf_put_u32(pkt, SFTP_ATTR_SIZE), ==, 0);
	g_assert_cmpint(buf_put_u64(pkt, 99), ==, 0);
	for (size_t i = 0; i < buf_len(pkt); i++)
		g_assert_cmpint(sftp_client_input(f.c, buf_peek(pkt) + i, 1), ==, 0);
	g_thread_join(t);
	g_assert_cmpint(o.result, ==, 0);
	buf_free(pkt);
	fake_free(&f);
}

/* Answers the next request, which must be of type want, with a bare STATUS
 * (or body of rtype); returns the request's first string argument. */
static char *script_step(struct fake *f, uint8_t want, uint8_t rtype, const struct buf *reply, char **second)
{
	uint8_t type;
	uint32_t id;
	GBytes *b = fake_pop(f, &type, &id);
	struct buf *v = buf_from(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	char *first = NULL;
	size_t len;

	g_assert_cmpuint(type, ==, want);
	g_assert_cmpint(buf_consume(v, 9), ==, 0);
	g_assert_cmpint(buf_get_cstring(v, &first, &len), ==, 0);
	if (second != NULL)
		g_assert_cmpint(buf_get_cstring(v, second, &len), ==, 0);
	buf_free(v);
	g_bytes_unref(b);
	g_assert_cmpint(fake_reply(f, rtype, &id, buf_peek(reply), buf_len(reply)), ==, 0);
	return first;
}

struct rename_run {
	struct fake *f;
	int result;
};

static gpointer rename_thread(gpointer arg)
{
	struct rename_run *r = arg;

	r->result = sftp_posix_rename(r->f->c, "/d/old", "/d/new");
	return NULL;
}

/* Without posix-rename@: RENAME fails (target exists), so the target is moved
 * aside, the rename retried, and the moved-aside file removed. */
static void test_rename_fallback(void)
{
	struct fake f;
	struct rename_run rr = {.f = &f};
	struct buf *failure = buf_new(0), *ok = buf_new(0), *attrs = buf_new(0), *dir_attrs = buf_new(0);
	char *a, *b, *tmp;
	GThread *t;

	g_assert_cmpint(buf_put_u32(failure, SFTP_FX_FAILURE), ==, 0);
	g_assert_cmpint(buf_put_cstring(failure, "Failure"), ==, 0);
	g_assert_cmpint(buf_put_cstring(failure, ""), ==, 0);
	g_assert_cmpint(buf_put_u32(ok, SFTP_FX_OK), ==, 0);
	g_assert_cmpint(buf_put_u32(attrs, SFTP_ATTR_SIZE | SFTP_ATTR_PERMISSIONS), ==, 0);
	g_assert_cmpint(buf_put_u64(attrs, 1), ==, 0);
	g_assert_cmpint(buf_put_u32(attrs, S_IFREG | 0644), ==, 0);
	g_assert_cmpint(buf_put_u32(dir_attrs, SFTP_ATTR_PERMISSIONS), ==, 0);
	g_assert_cmpint(buf_put_u32(dir_attrs, S_IFDIR | 0755), ==, 0);
	fake_start_v3(&f);
	g_assert_false(sftp_client_has(f.c, SFTP_EXT_POSIX_RENAME));
	t = g_thread_new("rename", rename_thread, &rr);
	a = script_step(&f, SSH_FXP_RENAME, SSH_FXP_STATUS, failure, &b);
	g_assert_cmpstr(a, ==, "/d/old");
	g_assert_cmpstr(b, ==, "/d/new");
	g_free(a);
	g_free(b);
	a = script_step(&f, SSH_FXP_LSTAT, SSH_FXP_ATTRS, attrs, NULL);
	g_assert_cmpstr(a, ==, "/d/new");
	g_free(a);
	a = script_step(&f, SSH_FXP_LSTAT, SSH_FXP_ATTRS, attrs, NULL);
	g_assert_cmpstr(a, ==, "/d/old");
	g_free(a);
	a = script_step(&f, SSH_FXP_RENAME, SSH_FXP_STATUS, ok, &tmp);
	g_assert_cmpstr(a, ==, "/d/new");
	g_assert_true(g_str_has_prefix(tmp, "/d/new.sftpfs-rename-"));
	g_free(a);
	a = script_step(&f, SSH_FXP_RENAME, SSH_FXP_STATUS, ok, &b);
	g_assert_cmpstr(a, ==, "/d/old");
	g_assert_cmpstr(b, ==, "/d/new");
	g_free(a);
	g_free(b);
	a = script_step(&f, SSH_FXP_REMOVE, SSH_FXP_STATUS, ok, NULL);
	g_assert_cmpstr(a, ==, tmp);
	g_free(a);
	g_thread_join(t);
	g_assert_cmpint(rr.result, ==, 0);
	g_free(tmp);

	/* When the second rename fails, the target is moved back. */
	t = g_thread_new("rename", rename_thread, &rr);
	g_free(script_step(&f, SSH_FXP_RENAME, SSH_FXP_STATUS, failure, NULL));
	g_free(script_step(&f, SSH_FXP_LSTAT, SSH_FXP_ATTRS, attrs, NULL));
	g_free(script_step(&f, SSH_FXP_LSTAT, SSH_FXP_ATTRS, attrs, NULL));
	g_free(script_step(&f, SSH_FXP_RENAME, SSH_FXP_STATUS, ok, &tmp));
	g_free(script_step(&f, SSH_FXP_RENAME, SSH_FXP_STATUS, failure, NULL));
	a = script_step(&f, SSH_FXP_RENAME, SSH_FXP_STATUS, ok, &b);
	g_assert_cmpstr(a, ==, tmp);
	g_assert_cmpstr(b, ==, "/d/new");
	g_free(a);
	g_free(b);
	g_free(tmp);
	g_thread_join(t);
	g_assert_cmpint(rr.result, ==, ERR_SFTP_STATUS);

	/* A directory target is never moved aside: the RENAME error stands. */
	t = g_thread_new("rename", rename_thread, &rr);
	g_free(script_step(&f, SSH_FXP_RENAME, SSH_FXP_STATUS, failure, NULL));
	g_free(script_step(&f, SSH_FXP_LSTAT, SSH_FXP_ATTRS, dir_attrs, NULL));
	g_thread_join(t);
	g_assert_cmpint(rr.result, ==, ERR_SFTP_STATUS);
	g_assert_cmpint(g_async_queue_length(f.sent), ==, 0);
	fake_free(&f);
	buf_free(dir_attrs);
	buf_free(failure);
	buf_free(ok);
	buf_free(attrs);
}

struct open_run {
	struct fake *f;
	int result;
	struct sftp_handle h;
};

static gpointer open_thread(gpointer arg)
{
	struct open_run *o = arg;

	o->result = sftp_open(o->f->c, "/f", SFTP_FXF_READ, NULL, &o->h);
	return NULL;
}

static gpointer limits_init_thread(gpointer arg)
{
	struct fake *f = arg;

	return GINT_TO_POINTER(sftp_client_init(f->c));
}

/* limits@openssh.com: sizes clamped to ours, the handle limit enforced. */
static void test_limits_honoured(void)
{
	struct fake f = {0};
	struct buf *v = buf_new(0), *lim = buf_new(0), *h = buf_new(0), *ok = buf_new(0);
	struct sftp_limits l;
	struct open_run o = {.f = &f};
	GThread *t;
	GBytes *b;
	uint8_t type;
	uint32_t id;

	g_assert_cmpint(buf_put_u32(v, 3), ==, 0);
	g_assert_cmpint(buf_put_cstring(v, "limits@openssh.com"), ==, 0);
	g_assert_cmpint(buf_put_cstring(v, "1"), ==, 0);
	f.sent = g_async_queue_new_full((GDestroyNotify)g_bytes_unref);
	f.c = sftp_client_new(fake_send, &f);
	t = g_thread_new("init", limits_init_thread, &f);
	g_bytes_unref(fake_pop(&f, &type, &id));
	g_assert_cmpint(fake_reply(&f, SSH_FXP_VERSION, NULL, buf_peek(v), buf_len(v)), ==, 0);
	b = fake_pop(&f, &type, &id);
	g_assert_cmpuint(type, ==, SSH_FXP_EXTENDED);
	g_bytes_unref(b);
	/* A server claiming 1 GiB reads and writes, and 2 handles. */
	g_assert_cmpint(buf_put_u64(lim, 1u << 30), ==, 0);
	g_assert_cmpint(buf_put_u64(lim, 1u << 30), ==, 0);
	g_assert_cmpint(buf_put_u64(lim, 1u << 30), ==, 0);
	g_assert_cmpint(buf_put_u64(lim, 2), ==, 0);
	g_assert_cmpint(fake_reply(&f, SSH_FXP_EXTENDED_REPLY, &id, buf_peek(lim), buf_len(lim)), ==, 0);
	g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t)), ==, 0);
	sftp_client_limits(f.c, &l);
	g_assert_cmpuint(l.read_length, ==, SFTP_READ_MAX);
	g_assert_cmpuint(l.write_length, ==, SFTP_PACKET_MAX - 1024);
	g_assert_cmpuint(l.open_handles, ==, 2);

	g_assert_cmpint(buf_put_string(h, "H", 1), ==, 0);
	g_assert_cmpint(buf_put_u32(ok, SFTP_FX_OK), ==, 0);
	for (int i = 0; i < 2; i++) {
		t = g_thread_new("open", open_thread, &o);
		g_free(script_step(&f, SSH_FXP_OPEN, SSH_FXP_HANDLE, h, NULL));
		g_thread_join(t);
		g_assert_cmpint(o.result, ==, 0);
	}
	/* The third open is refused before anything is sent. */
	g_assert_cmpint(sftp_open(f.c, "/f", SFTP_FXF_READ, NULL, &o.h), ==, ERR_LIMIT_EXCEEDED);
	g_assert_cmpint(g_async_queue_length(f.sent), ==, 0);
	/* After a close there is room again. */
	{
		struct op_run c = {.f = &f, .op = OP_CLOSE};

		t = g_thread_new("close", op_thread, &c);
		b = fake_pop(&f, &type, &id);
		g_bytes_unref(b);
		g_assert_cmpint(fake_reply(&f, SSH_FXP_STATUS, &id, buf_peek(ok), buf_len(ok)), ==, 0);
		g_thread_join(t);
		g_assert_cmpint(c.result, ==, 0);
	}
	t = g_thread_new("open", open_thread, &o);
	g_free(script_step(&f, SSH_FXP_OPEN, SSH_FXP_HANDLE, h, NULL));
	g_thread_join(t);
	g_assert_cmpint(o.result, ==, 0);
	fake_free(&f);

	/* Absurdly small claims are raised to 1 KiB; zero lengths mean "unknown". */
	f.sent = g_async_queue_new_full((GDestroyNotify)g_bytes_unref);
	f.c = sftp_client_new(fake_send, &f);
	t = g_thread_new("init", limits_init_thread, &f);
	g_bytes_unref(fake_pop(&f, &type, &id));
	g_assert_cmpint(fake_reply(&f, SSH_FXP_VERSION, NULL, buf_peek(v), buf_len(v)), ==, 0);
	g_bytes_unref(fake_pop(&f, &type, &id));
	buf_reset(lim);
	g_assert_cmpint(buf_put_u64(lim, 100), ==, 0);
	g_assert_cmpint(buf_put_u64(lim, 0), ==, 0);
	g_assert_cmpint(buf_put_u64(lim, 1), ==, 0);
	g_assert_cmpint(buf_put_u64(lim, 0), ==, 0);
	g_assert_cmpint(fake_reply(&f, SSH_FXP_EXTENDED_REPLY, &id, buf_peek(lim), buf_len(lim)), ==, 0);
	g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t)), ==, 0);
	sftp_client_limits(f.c, &l);
	g_assert_cmpuint(l.packet_length, ==, 2048);
	g_assert_cmpuint(l.read_length, ==, 1024);
	g_assert_cmpuint(l.write_length, ==, 1024);
	g_assert_cmpuint(l.open_handles, ==, 0);
	fake_free(&f);
	buf_free(v);
	buf_free(lim);
	buf_free(h);
	buf_free(ok);
}

/* Completion callbacks may queue more async work but never block. */
struct cb_ctx {
	struct sftp_client *c;
	int sync_result;
	int async_result[2];
	struct ooo later;
};

static void reentrant_cb(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct cb_ctx *x = ctx;
	struct sftp_attrs a;
	struct sftp_handle h;

	g_assert_cmpint(sftp_handle_adopt(x->c, "h", 1, &h), ==, 0);
	x->sync_result = sftp_stat(x->c, "/", &a);
	if (sftp_write(x->c, &h, 0, "x", 1) != ERR_INVALID_ARGUMENT)
		x->sync_result = 1;
	/* Flags 0 would wait for room; on the I/O thread it must not. */
	x->async_result[0] = sftp_read_async(x->c, &h, 0, 1, 0, ooo_cb, &x->later);
	x->async_result[1] = sftp_read_async(x->c, &h, 0, 1, 0, ooo_cb, &x->later);
}

static void test_callback_rules(void)
{
	struct fake f;
	struct sftp_handle h;
	struct cb_ctx x = {0};
	struct buf *eof = buf_new(0);
	uint8_t type;
	uint32_t id, id2;
	struct ooo o = {0};

	fake_start_v3(&f);
	g_assert_cmpint(sftp_handle_adopt(f.c, "h", 1, &h), ==, 0);
	x.c = f.c;
	sftp_client_set_window(f.c, 2, 0);
	g_assert_cmpint(sftp_read_async(f.c, &h, 0, 1, 0, reentrant_cb, &x), ==, 0);
	g_assert_cmpint(sftp_read_async(f.c, &h, 0, 1, 0, ooo_cb, &o), ==, 0);
	g_bytes_unref(fake_pop(&f, &type, &id));
	g_bytes_unref(fake_pop(&f, &type, &id2));
	g_assert_cmpint(buf_put_u32(eof, SFTP_FX_EOF), ==, 0);
	/* Completing the first frees one slot: the callback's first READ takes
	 * it, its second finds the window full. */
	g_assert_cmpint(fake_reply(&f, SSH_FXP_STATUS, &id, buf_peek(eof), buf_len(eof)), ==, 0);
	g_assert_cmpint(x.sync_result, ==, ERR_INVALID_ARGUMENT);
	g_assert_cmpint(x.async_result[0], ==, 0);
	g_assert_cmpint(x.async_result[1], ==, ERR_WOULD_BLOCK);
	g_assert_cmpuint(sftp_client_in_flight(f.c), ==, 2);
	fake_free(&f);
	/* Shutdown completed the two still pending. */
	g_assert_cmpuint(o.done + x.later.done, ==, 2);
	buf_free(eof);
}

/* Async READ replies truncated at every offset, or longer than asked: errors through the callback. */
struct one_result {
	int err;
	size_t len;
	unsigned calls;
};

static void one_cb(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct one_result *o = ctx;

	o->err = err;
	o->len = len;
	o->calls++;
}

static void test_hostile_async(void)
{
	struct buf *b = buf_new(0);

	g_assert_cmpint(buf_put_string(b, "0123456789", 10), ==, 0);
	for (size_t cut = 0; cut <= buf_len(b) + 1; cut++) {
		struct fake f;
		struct sftp_handle h;
		struct one_result o = {0};
		uint8_t type, body[32] = {0};
		uint32_t id;

		memcpy(body, buf_peek(b), buf_len(b));
		fake_start_v3(&f);
		g_assert_cmpint(sftp_handle_adopt(f.c, "h", 1, &h), ==, 0);
		/* Ask for 9 bytes at cut == len + 1 so that the 10 sent are too many. */
		g_assert_cmpint(sftp_read_async(f.c, &h, 0, cut == buf_len(b) + 1 ? 9 : 10, 0, one_cb, &o), ==, 0);
		g_bytes_unref(fake_pop(&f, &type, &id));
		g_assert_cmpint(fake_reply(&f, SSH_FXP_DATA, &id, body, cut > buf_len(b) ? buf_len(b) : cut), ==, 0);
		g_assert_cmpuint(o.calls, ==, 1);
		if (cut == buf_len(b)) {
			g_assert_cmpint(o.err, ==, 0);
			g_assert_cmpuint(o.len, ==, 10);
		} else {
			g_assert_cmpint(o.err, <, 0);
			g_assert_cmpuint(o.len, ==, 0);
		}
		fake_free(&f);
		g_assert_cmpuint(o.calls, ==, 1);
	}
	buf_free(b);
}

/* The window: a synchronous caller waits for room, async NOWAIT callers are
 * told ERR_WOULD_BLOCK, and the byte bound counts as well as the request bound. */
struct stat_run {
	struct fake *f;
	int result;
};

static gpointer window_stat_thread(gpointer arg)
{
	struct stat_run *s = arg;
	struct sftp_attrs a;

	s->result = sftp_stat(s->f->c, "/w", &a);
	sftp_attrs_clear(&a);
	return NULL;
}

static void test_window(void)
{
	struct fake f;
	struct sftp_handle h;
	struct one_result o = {0};
	struct stat_run sr = {.f = &f, .result = 1};
	struct buf *eof = buf_new(0), *attrs = buf_new(0);
	GThread *t;
	GBytes *b;
	uint8_t type;
	uint32_t id;

	g_assert_cmpint(buf_put_u32(eof, SFTP_FX_EOF), ==, 0);
	g_assert_cmpint(buf_put_u32(attrs, 0), ==, 0);
	fake_start_v3(&f);
	g_assert_cmpint(sftp_handle_adopt(f.c, "h", 1, &h), ==, 0);
	sftp_client_set_window(f.c, 1, 0);
	g_assert_cmpint(sftp_read_async(f.c, &h, 0, 100, SFTP_ASYNC_NOWAIT, one_cb, &o), ==, 0);
	g_bytes_unref(fake_pop(&f, &type, &id));
	t = g_thread_new("stat", window_stat_thread, &sr);
	/* The STAT is not sent while the window is full. */
	b = g_async_queue_timeout_pop(f.sent, 200000);
	g_assert_null(b);
	g_assert_cmpint(fake_reply(&f, SSH_FXP_STATUS, &id, buf_peek(eof), buf_len(eof)), ==, 0);
	g_assert_cmpuint(o.calls, ==, 1);
	g_free(script_step(&f, SSH_FXP_STAT, SSH_FXP_ATTRS, attrs, NULL));
	g_thread_join(t);
	g_assert_cmpint(sr.result, ==, 0);

	/* Bytes: the window holds one full-size READ (32 KiB here). */
	sftp_client_set_window(f.c, 10, 1);
	g_assert_cmpint(sftp_read_async(f.c, &h, 0, 32768, SFTP_ASYNC_NOWAIT, one_cb, &o), ==, 0);
	g_assert_cmpint(sftp_read_async(f.c, &h, 0, 1, SFTP_ASYNC_NOWAIT, one_cb, &o), ==, ERR_WOULD_BLOCK);
	g_bytes_unref(fake_pop(&f, &type, &id));
	g_assert_cmpint(fake_reply(&f, SSH_FXP_STATUS, &id, buf_peek(eof), buf_len(eof)), ==, 0);
	g_assert_cmpint(sftp_read_async(f.c, &h, 0, 1, SFTP_ASYNC_NOWAIT, one_cb, &o), ==, 0);
	fake_free(&f);
	buf_free(eof);
	buf_free(attrs);
}

static void count_status_cb(void *ctx, int err)
{
	struct one_result *o = ctx;

	o->err = err;
	o->calls++;
}

/* The write window counts only WRITE data; a WRITE alone always goes. */
static void test_write_window(void)
{
	static uint8_t data[32768];
	struct fake f;
	struct sftp_handle h;
	struct one_result w = {0}, r = {0};
	struct buf *ok = buf_new(0);
	uint8_t type;
	uint32_t id1, id2;

	g_assert_cmpint(buf_put_u32(ok, SFTP_FX_OK), ==, 0);
	fake_start_v3(&f);
	g_assert_cmpint(sftp_handle_adopt(f.c, "h", 1, &h), ==, 0);
	sftp_client_set_window(f.c, 16, 1024 * 1024);
	sftp_client_set_write_window(f.c, 40000);
	g_assert_cmpint(sftp_write_async(f.c, &h, 0, data, sizeof(data), SFTP_ASYNC_NOWAIT, count_status_cb, &w), ==, 0);
	g_assert_cmpint(sftp_write_async(f.c, &h, 32768, data, sizeof(data), SFTP_ASYNC_NOWAIT, count_status_cb, &w),
			==, ERR_WOULD_BLOCK);
	/* READs are the other direction: not held by it. */
	g_assert_cmpint(sftp_read_async(f.c, &h, 0, 32768, SFTP_ASYNC_NOWAIT, one_cb, &r), ==, 0);
	g_assert_cmpint(sftp_write_async(f.c, &h, 32768, data, 7232, SFTP_ASYNC_NOWAIT, count_status_cb, &w), ==, 0);
	g_assert_cmpint(sftp_write_async(f.c, &h, 40000, data, 1, SFTP_ASYNC_NOWAIT, count_status_cb, &w), ==,
			ERR_WOULD_BLOCK);
	g_bytes_unref(fake_pop(&f, &type, &id1));
	g_assert_cmpuint(type, ==, SSH_FXP_WRITE);
	g_bytes_unref(fake_pop(&f, &type, &id2));
	g_assert_cmpuint(type, ==, SSH_FXP_READ);
	g_assert_cmpint(fake_reply(&f, SSH_FXP_STATUS, &id1, buf_peek(ok), buf_len(ok)), ==, 0);
	g_assert_cmpuint(w.calls, ==, 1);
	g_assert_cmpint(w.err, ==, 0);
	g_assert_cmpint(sftp_write_async(f.c, &h, 40000, data, 32768, SFTP_ASYNC_NOWAIT, count_status_cb, &w), ==, 0);
	g_assert_cmpint(sftp_write_async(f.c, &h, 72768, data, 1, SFTP_ASYNC_NOWAIT, count_status_cb, &w), ==,
			ERR_WOULD_BLOCK);
	/* Lifted: only the SFTP window holds them. */
	sftp_client_set_write_window(f.c, 0);
	g_assert_cmpint(sftp_write_async(f.c, &h, 72768, data, 32768, SFTP_ASYNC_NOWAIT, count_status_cb, &w), ==, 0);
	fake_free(&f);
	buf_free(ok);
}

/* FSETSTAT behind writes: the request carries the handle and the attributes,
 * a STATUS completes it with the server's error, a bad reply is a protocol error. */
static void test_fsetstat_async(void)
{
	struct fake f;
	struct sftp_handle h;
	struct one_result o = {0};
	struct sftp_attrs a = {.flags = SFTP_ATTR_PERMISSIONS | SFTP_ATTR_ACMODTIME,
			       .permissions = 0644,
			       .atime = 11,
			       .mtime = 1700000000};
	struct buf *perm = buf_new(0), *body;
	const uint8_t *hs;
	uint8_t skip[9];
	size_t hlen;
	uint32_t flags, v;
	uint8_t type;
	uint32_t id;
	GBytes *b;

	g_assert_cmpint(buf_put_u32(perm, SFTP_FX_PERMISSION_DENIED), ==, 0);
	fake_start_v3(&f);
	g_assert_cmpint(sftp_handle_adopt(f.c, "h7", 2, &h), ==, 0);
	g_assert_cmpint(sftp_fsetstat_async(f.c, &h, &a, 0, NULL, &o), ==, ERR_INVALID_ARGUMENT);
	g_assert_cmpint(sftp_fsetstat_async(f.c, &h, &a, 0, count_status_cb, &o), ==, 0);
	b = fake_pop(&f, &type, &id);
	g_assert_cmpuint(type, ==, SSH_FXP_FSETSTAT);
	body = buf_from(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
	/* length, type, id (checked by fake_pop); string handle, ATTRS */
	g_assert_cmpint(buf_get(body, skip, 9), ==, 0);
	g_assert_cmpint(buf_get_string_direct(body, &hs, &hlen), ==, 0);
	g_assert_cmpuint(hlen, ==, 2);
	g_assert_cmpint(memcmp(hs, "h7", 2), ==, 0);
	g_assert_cmpint(buf_get_u32(body, &flags), ==, 0);
	g_assert_cmpuint(flags, ==, SFTP_ATTR_PERMISSIONS | SFTP_ATTR_ACMODTIME);
	g_assert_cmpint(buf_get_u32(body, &v), ==, 0);
	g_assert_cmpuint(v, ==, 0644);
	g_assert_cmpint(buf_get_u32(body, &v), ==, 0);
	g_assert_cmpuint(v, ==, 11);
	g_assert_cmpint(buf_get_u32(body, &v), ==, 0);
	g_assert_cmpuint(v, ==, 1700000000);
	g_assert_cmpuint(buf_len(body), ==, 0);
	buf_free(body);
	g_bytes_unref(b);
	g_assert_cmpuint(o.calls, ==, 0);
	g_assert_cmpint(fake_reply(&f, SSH_FXP_STATUS, &id, buf_peek(perm), buf_len(perm)), ==, 0);
	g_assert_cmpuint(o.calls, ==, 1);
	g_assert_cmpint(o.err, ==, ERR_PERMISSION_DENIED);
	/* Anything but a STATUS: a protocol error, once. */
	g_assert_cmpint(sftp_fsetstat_async(f.c, &h, &a, 0, count_status_cb, &o), ==, 0);
	g_bytes_unref(fake_pop(&f, &type, &id));
	(void)fake_reply(&f, SSH_FXP_HANDLE, &id, buf_peek(perm), buf_len(perm));
	g_assert_cmpuint(o.calls, ==, 2);
	g_assert_cmpint(o.err, ==, ERR_PROTOCOL);
	fake_free(&f);
	g_assert_cmpuint(o.calls, ==, 2);
	buf_free(perm);
}

/* The fd driver with two pipes (sshfs -o passive style) against a real server. */
static void test_pipe_fds(void)
{
	const char *argv[] = {OPENSSH_SFTP_SERVER, NULL};
	struct sftp_client *c;
	struct sftp_attrs a;
	GPid pid;
	gint in_fd, out_fd;
	int status;

	g_assert_true(g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
	                                       &in_fd, &out_fd, NULL, NULL));
	g_assert_cmpint(sftp_client_start_fds(out_fd, in_fd, &c), ==, 0);
	g_assert_cmpint(sftp_client_init(c), ==, 0);
	g_assert_cmpint(sftp_stat(c, "/", &a), ==, 0);
	g_assert_true(S_ISDIR(a.permissions));
	sftp_attrs_clear(&a);
	sftp_client_free(c); /* closes both pipes: the server exits */
	g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
	g_assert_true(WIFEXITED(status));
	g_spawn_close_pid(pid);
}

static void wedge_cb(void *ctx, int err)
{
	int *n = ctx;

	if (err != 0)
		(*n)++;
}

/* A peer that stops reading cannot wedge sftp_client_free. */
static void test_pipe_wedged_peer(void)
{
	static const uint8_t version[] = {0, 0, 0, 5, SSH_FXP_VERSION, 0, 0, 0, 3};
	struct sftp_client *c;
	struct sftp_handle h;
	uint8_t *chunk = g_malloc0(SFTP_IO_LEN_DEFAULT);
	int sv[2], failed = 0, queued = 0;
	gint64 t0;

	g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
	g_assert_cmpint(sftp_client_start_fds(sv[0], sv[0], &c), ==, 0);
	{
		struct fake f = {.c = c};
		GThread *t = g_thread_new("init", init_thread, &f);
		uint8_t init[9];

		/* VERSION only after INIT: earlier it would be a protocol error. */
		g_assert_cmpint(read(sv[1], init, sizeof(init)), ==, (ssize_t)sizeof(init));
		g_assert_cmpint(write(sv[1], version, sizeof(version)), ==, (ssize_t)sizeof(version));
		g_assert_cmpint(GPOINTER_TO_INT(g_thread_join(t)), ==, 0);
	}
	g_assert_cmpint(sftp_handle_adopt(c, "h", 1, &h), ==, 0);
	/* 8 MiB of WRITEs toward a peer that reads nothing. */
	while (sftp_write_async(c, &h, 0, chunk, SFTP_IO_LEN_DEFAULT, SFTP_ASYNC_NOWAIT, wedge_cb, &failed) == 0)
		queued++;
	g_assert_cmpint(queued, >, 64);
	t0 = g_get_monotonic_time();
	sftp_client_free(c);
	g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
	g_assert_cmpint(failed, ==, queued);
	close(sv[1]);
	g_free(chunk);
}

static void count_shutdown(void *ctx, int err)
{
	int *v = ctx;

	v[0]++;
	v[1] = err;
}

/* The shutdown callback runs once with the first error; init runs once. */
static void test_shutdown_callback(void)
{
	struct fake f;
	int seen[2] = {0, 0};

	fake_start_v3(&f);
	sftp_client_set_shutdown_callback(f.c, count_shutdown, seen);
	g_assert_cmpint(sftp_client_init(f.c), ==, ERR_INVALID_ARGUMENT);
	g_assert_cmpint(sftp_client_error(f.c), ==, 0);
	sftp_client_shutdown(f.c, ERR_TIMEOUT);
	sftp_client_shutdown(f.c, ERR_CONN_CLOSED);
	g_assert_cmpint(seen[0], ==, 1);
	g_assert_cmpint(seen[1], ==, ERR_TIMEOUT);
	g_assert_cmpint(sftp_client_error(f.c), ==, ERR_TIMEOUT);
	fake_free(&f);
	g_assert_cmpint(seen[0], ==, 1);
}

/* sftp_trail_lstat: the LSTAT behind a change sees the change; it follows
 * only the armed kinds, once; a failed change keeps the change's status. */
static void test_trail(struct fixture *f, gconstpointer data)
{
	char *d = tpath(f, "tdir"), *p = tpath(f, "tfile"), *missing = tpath(f, "no/such");
	struct sftp_attrs a = {0}, m = {.flags = SFTP_ATTR_PERMISSIONS, .permissions = 0750};
	const struct sftp_client *via = NULL;
	struct sftp_handle h;

	(void)data;
	/* nothing sent yet */
	sftp_trail_lstat(d, SFTP_TRAIL_MKDIR);
	g_assert_cmpint(sftp_trail_take(&a, &via), ==, ERR_INVALID_ARGUMENT);
	g_assert_null(via);
	/* not an armed kind: the STAT passes, the MKDIR after it gets the LSTAT */
	sftp_trail_lstat(d, SFTP_TRAIL_MKDIR);
	g_assert_cmpint(sftp_stat(f->c, f->dir, &a), ==, 0);
	sftp_attrs_clear(&a);
	g_assert_cmpint(sftp_mkdir(f->c, d, &m), ==, 0);
	g_assert_cmpint(sftp_trail_take(&a, &via), ==, 0);
	g_assert_true(via == f->c);
	g_assert_true(S_ISDIR(a.permissions));
	sftp_attrs_clear(&a);
	/* OPEN with CREAT: the new, empty file */
	sftp_trail_lstat(p, SFTP_TRAIL_OPEN);
	g_assert_cmpint(sftp_open(f->c, p, SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_EXCL, &m, &h), ==, 0);
	g_assert_cmpint(sftp_trail_take(&a, NULL), ==, 0);
	g_assert_true(S_ISREG(a.permissions));
	g_assert_cmpuint(a.size, ==, 0);
	sftp_attrs_clear(&a);
	g_assert_cmpint(sftp_write(f->c, &h, 0, "abc", 3), ==, 0);
	/* SETSTAT: the LSTAT sees the new times and the written size */
	m.flags = SFTP_ATTR_ACMODTIME;
	m.atime = 1500000000;
	m.mtime = 1600000000;
	sftp_trail_lstat(p, SFTP_TRAIL_SETSTAT);
	g_assert_cmpint(sftp_setstat(f->c, p, &m), ==, 0);
	g_assert_cmpint(sftp_trail_take(&a, NULL), ==, 0);
	g_assert_cmpuint(a.mtime, ==, 1600000000);
	g_assert_cmpuint(a.size, ==, 3);
	sftp_attrs_clear(&a);
	g_assert_cmpint(sftp_close(f->c, &h), ==, 0);
	/* the change fails: its own status stays the thread's last status,
	 * and the LSTAT's error is reported apart */
	sftp_trail_lstat(missing, SFTP_TRAIL_MKDIR);
	g_assert_cmpint(sftp_mkdir(f->c, missing, NULL), ==, ERR_NO_SUCH_FILE);
	g_assert_cmpuint(sftp_last_status(), ==, SFTP_FX_NO_SUCH_FILE);
	g_assert_cmpint(sftp_trail_take(&a, NULL), ==, ERR_NO_SUCH_FILE);
	/* disarmed: the next MKDIR has no LSTAT behind it */
	g_assert_cmpint(sftp_trail_take(&a, NULL), ==, ERR_INVALID_ARGUMENT);
	g_free(d);
	g_free(p);
	g_free(missing);
}

/* sftp_trail_also: more LSTATs behind the same change, answered by path,
 * at most SFTP_TRAIL_MAX in all; REMOVE/RMDIR and SYMLINK are kinds of
 * their own. */
static void test_trail_also(struct fixture *f, gconstpointer data)
{
	char *d = tpath(f, "adir"), *sub = tpath(f, "adir/sub"), *l = tpath(f, "adir/l");
	char *missing = tpath(f, "nothere");
	struct sftp_attrs a = {0}, m = {.flags = SFTP_ATTR_PERMISSIONS, .permissions = 0750};

	(void)data;
	g_assert_cmpint(sftp_mkdir(f->c, d, &m), ==, 0);
	/* mkdir of sub: its LSTAT, then its parent's and a missing path's */
	sftp_trail_lstat(sub, SFTP_TRAIL_MKDIR);
	sftp_trail_also(d);
	sftp_trail_also(missing);
	sftp_trail_also(f->dir); /* beyond SFTP_TRAIL_MAX: not sent */
	g_assert_cmpint(sftp_mkdir(f->c, sub, &m), ==, 0);
	g_assert_cmpint(sftp_trail_take_also(d, &a), ==, 0);
	g_assert_true(S_ISDIR(a.permissions));
	sftp_attrs_clear(&a);
	g_assert_cmpint(sftp_trail_take_also(d, &a), ==, ERR_INVALID_ARGUMENT); /* taken */
	g_assert_cmpint(sftp_trail_take_also(missing, &a), ==, ERR_NO_SUCH_FILE);
	g_assert_cmpint(sftp_trail_take_also(f->dir, &a), ==, ERR_INVALID_ARGUMENT);
	g_assert_cmpint(sftp_trail_take(&a, NULL), ==, 0);
	g_assert_true(S_ISDIR(a.permissions));
	sftp_attrs_clear(&a);
	/* taken: all forgotten */
	g_assert_cmpint(sftp_trail_take_also(missing, &a), ==, ERR_INVALID_ARGUMENT);
	/* SYMLINK: the new link itself */
	sftp_trail_lstat(l, SFTP_TRAIL_LINK);
	sftp_trail_also(d);
	g_assert_cmpint(sftp_symlink(f->c, "sub", l), ==, 0);
	g_assert_cmpint(sftp_trail_take_also(d, &a), ==, 0);
	sftp_attrs_clear(&a);
	g_assert_cmpint(sftp_trail_take(&a, NULL), ==, 0);
	g_assert_true(S_ISLNK(a.permissions));
	sftp_attrs_clear(&a);
	/* REMOVE and RMDIR: the LSTAT behind sees the name gone */
	sftp_trail_lstat(l, SFTP_TRAIL_REMOVE);
	g_assert_cmpint(sftp_remove(f->c, l), ==, 0);
	g_assert_cmpint(sftp_trail_take(&a, NULL), ==, ERR_NO_SUCH_FILE);
	sftp_trail_lstat(sub, SFTP_TRAIL_REMOVE);
	g_assert_cmpint(sftp_rmdir(f->c, sub), ==, 0);
	g_assert_cmpint(sftp_trail_take(&a, NULL), ==, ERR_NO_SUCH_FILE);
	/* nothing armed: sftp_trail_also adds nothing */
	sftp_trail_also(d);
	g_assert_cmpint(sftp_rmdir(f->c, d), ==, 0);
	g_assert_cmpint(sftp_trail_take_also(d, &a), ==, ERR_INVALID_ARGUMENT);
	g_free(d);
	g_free(sub);
	g_free(l);
	g_free(missing);
}

static void add_server_tests(const struct server *s)
{
	static const struct {
		const char *name;
		void (*fn)(struct fixture *, gconstpointer);
	} tests[] = {
		{"extensions", test_extensions},
		{"stat", test_stat},
		{"file-io", test_file_io},
		{"dirs", test_dirs},
		{"paths", test_paths},
		{"rename", test_rename},
		{"setstat", test_setstat},
		{"statvfs", test_statvfs},
		{"hardlink-fsync", test_hardlink_fsync},
		{"openssh-extensions", test_openssh_only_exts},
		{"pipelining", test_pipelining},
		{"shutdown", test_shutdown},
		{"reopen", test_reopen},
		{"trail", test_trail},
		{"trail-also", test_trail_also},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(tests); i++) {
		char *path = g_strdup_printf("/sftp/%s/%s", s->name, tests[i].name);

		g_test_add(path, struct fixture, s, fixture_setup, tests[i].fn, fixture_teardown);
		g_free(path);
	}
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	signal(SIGPIPE, SIG_IGN);
	add_server_tests(&openssh);
	add_server_tests(&gesftp);
	g_test_add_func("/sftp/scripted/out-of-order", test_out_of_order);
	g_test_add_func("/sftp/scripted/byte-at-a-time", test_byte_at_a_time);
	g_test_add_func("/sftp/scripted/many-threads", test_many_threads);
	g_test_add_func("/sftp/scripted/readdir-many", test_readdir_many);
	g_test_add_func("/sftp/scripted/rename-fallback", test_rename_fallback);
	g_test_add_func("/sftp/scripted/limits", test_limits_honoured);
	g_test_add_func("/sftp/scripted/callback-rules", test_callback_rules);
	g_test_add_func("/sftp/hostile/truncations", test_hostile_truncations);
	g_test_add_func("/sftp/hostile/values", test_hostile_values);
	g_test_add_func("/sftp/hostile/framing", test_hostile_framing);
	g_test_add_func("/sftp/hostile/async", test_hostile_async);
	g_test_add_func("/sftp/scripted/window", test_window);
	g_test_add_func("/sftp/scripted/write-window", test_write_window);
	g_test_add_func("/sftp/scripted/fsetstat-async", test_fsetstat_async);
	g_test_add_func("/sftp/scripted/shutdown-callback", test_shutdown_callback);
	g_test_add_func("/sftp/pipe/fds", test_pipe_fds);
	g_test_add_func("/sftp/pipe/wedged-peer", test_pipe_wedged_peer);
	g_test_add_func("/sftp/hostile/version", test_hostile_version);
	return g_test_run();
}
