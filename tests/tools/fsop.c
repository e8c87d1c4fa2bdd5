/*
 * fsop.c - runs one file system call and prints its result as the errno
 * name ("OK", "ENOENT", "EEXIST", ...), so the daemon's bats tests can check
 * the exact errno of each operation on a mount, including calls the shell
 * cannot make (renameat2 flags, O_EXCL, copy_file_range, xattrs, mknod,
 * 64-bit pwrite/pread). Exit status 0 whatever the call returned; 2 on a
 * usage error.
 *
 *   fsop open PATH FLAGS [MODE]     FLAGS: comma list of rdonly wronly rdwr
 *                                   creat excl trunc append directory
 *   fsop mkdir|rmdir|unlink|stat|lstat PATH
 *   fsop rename FROM TO [noreplace|exchange]
 *   fsop link FROM TO | symlink TARGET LINK
 *   fsop mknod PATH reg|fifo|chr
 *   fsop setxattr|getxattr|listxattr|removexattr PATH
 *   fsop copy FROM TO               copy_file_range of the whole file
 *   fsop access PATH f|r|w|x|rw
 *   fsop ftruncate PATH SIZE | fsync PATH
 *   fsop pwrite PATH OFFSET TEXT | pread PATH OFFSET LEN
 *   fsop create-write-mtime PATH TEXT MTIME   tar's sequence: O_CREAT|O_EXCL,
 *                                   write, futimens(UTIME_OMIT, MTIME), close
 *   fsop create-read-mtime PATH TEXT MTIME    the same with a read of the
 *                                   file (through a second descriptor) before the futimens
 *   fsop create-write-fstat PATH SIZE git checkout's: O_CREAT|O_EXCL, write
 *                                   SIZE bytes, fstat (its size is printed), close
 *   fsop create-setattrs PATH TEXT MTIME MODE UID GID [HOOK]  tar's sequence as
 *                                   root: O_CREAT|O_EXCL (0600), write, fsync, HOOK
 *                                   (a shell command), futimens(UTIME_OMIT, MTIME),
 *                                   fchown, fchmod (octal MODE), fstat, close; prints
 *                                   each call's result, then "size mode mtime uid gid"
 *                                   from the fstat, then close's result
 *   fsop read-size PATH             open read-only, fstat (size printed), read, close
 *   fsop unlinked PATH [HOOK]       an unlinked open file: open PATH (4 bytes)
 *                                   O_RDWR, unlink it, HOOK (a shell command),
 *                                   then on the descriptor fstat, pwrite "+tail"
 *                                   at 4, pread, fchmod 0600, ftruncate 4,
 *                                   futimens, lseek to the end, close; prints
 *                                   each call's result ("nlink N size N" for
 *                                   fstat), the data read and the end offset
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

static int report(long r)
{
	if (r < 0) {
		const char *name = strerrorname_np(errno);
		printf("%s\n", name != NULL ? name : "E?");
	} else {
		printf("OK\n");
	}
	return 0;
}

static int usage(void)
{
	fprintf(stderr, "usage: fsop OP ARGS... (see the comment in tests/tools/fsop.c)\n");
	return 2;
}

/* fsop pwrites: the pieces OFF+LEN@SHIFT in order, through one descriptor. */
static int pwrites(const char *path, const char *src, int n, char **pieces)
{
	enum { PIECE = 1 << 20 };
	char *b = malloc(PIECE);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	long r = 0;

	if (b == NULL || fd < 0 || in < 0) {
		fprintf(stderr, "fsop: pwrites: %s or %s: %s\n", path, src, strerror(errno));
		exit(2);
	}
	for (int i = 0; i < n && r >= 0; i++) {
		long long off, len, shift;
		char tail;

		if (sscanf(pieces[i], "%lld+%lld@%lld%c", &off, &len, &shift, &tail) != 3 || off < 0 || len < 0 ||
		    off + shift < 0) {
			fprintf(stderr, "fsop: bad piece '%s'\n", pieces[i]);
			exit(2);
		}
		for (long long done = 0; done < len && r >= 0; done += r) {
			size_t want = len - done < PIECE ? (size_t)(len - done) : PIECE;

			if (pread(in, b, want, (off_t)(off + shift + done)) != (ssize_t)want) {
				fprintf(stderr, "fsop: pwrites: %s too short\n", src);
				exit(2);
			}
			r = pwrite(fd, b, want, (off_t)(off + done));
			if (r == 0)
				r = -1;
		}
	}
	if (r >= 0)
		r = fsync(fd);
	if (r >= 0)
		r = close(fd);
	free(b);
	close(in);
	return report(r);
}

static int open_flags(const char *list)
{
	static const struct {
		const char *name;
		int flag;
	} names[] = {
		{ "rdonly", O_RDONLY }, { "wronly", O_WRONLY }, { "rdwr", O_RDWR },
		{ "creat", O_CREAT },   { "excl", O_EXCL },     { "trunc", O_TRUNC },
		{ "append", O_APPEND }, { "directory", O_DIRECTORY },
	};
	char *copy = strdup(list);
	char *save = NULL;
	int flags = 0;

	for (char *t = strtok_r(copy, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			if (strcmp(t, names[i].name) == 0) {
				flags |= names[i].flag;
				break;
			}
		}
		if (i == sizeof(names) / sizeof(names[0])) {
			free(copy);
			return -1;
		}
	}
	free(copy);
	return flags;
}

static long long number(const char *s)
{
	char *end = NULL;
	long long v = strtoll(s, &end, 0);

	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "fsop: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	const char *op;
	int fd;
	long r;

	if (argc < 3)
		return usage();
	op = argv[1];
	if (strcmp(op, "open") == 0 && argc >= 4) {
		int flags = open_flags(argv[3]);
		if (flags < 0)
			return usage();
		fd = open(argv[2], flags | O_CLOEXEC, argc > 4 ? (mode_t)number(argv[4]) : 0644);
		report(fd);
		if (fd >= 0 && close(fd) != 0)
			printf("close: %s\n", strerrorname_np(errno));
		return 0;
	}
	if (strcmp(op, "mkdir") == 0)
		return report(mkdir(argv[2], 0755));
	if (strcmp(op, "rmdir") == 0)
		return report(rmdir(argv[2]));
	if (strcmp(op, "unlink") == 0)
		return report(unlink(argv[2]));
	if (strcmp(op, "stat") == 0 || strcmp(op, "lstat") == 0) {
		struct stat st;
		return report(op[0] == 's' ? stat(argv[2], &st) : lstat(argv[2], &st));
	}
	if (strcmp(op, "rename") == 0 && argc >= 4) {
		unsigned flags = 0;
		if (argc > 4 && strcmp(argv[4], "noreplace") == 0)
			flags = RENAME_NOREPLACE;
		else if (argc > 4 && strcmp(argv[4], "exchange") == 0)
			flags = RENAME_EXCHANGE;
		else if (argc > 4)
			return usage();
		return report(renameat2(AT_FDCWD, argv[2], AT_FDCWD, argv[3], flags));
	}
	if (strcmp(op, "link") == 0 && argc >= 4)
		return report(link(argv[2], argv[3]));
	if (strcmp(op, "symlink") == 0 && argc >= 4)
		return report(symlink(argv[2], argv[3]));
	if (strcmp(op, "mknod") == 0 && argc >= 4) {
		mode_t type = strcmp(argv[3], "reg") == 0    ? S_IFREG
			      : strcmp(argv[3], "fifo") == 0 ? S_IFIFO
			      : strcmp(argv[3], "chr") == 0  ? S_IFCHR
							     : 0;
		if (type == 0)
			return usage();
		return report(mknod(argv[2], type | 0644, type == S_IFCHR ? makedev(1, 3) : 0));
	}
	if (strcmp(op, "setxattr") == 0)
		return report(setxattr(argv[2], "user.sftpfs", "v", 1, 0));
	if (strcmp(op, "getxattr") == 0) {
		char v[16];
		return report(getxattr(argv[2], "user.sftpfs", v, sizeof(v)));
	}
	if (strcmp(op, "listxattr") == 0) {
		char v[256];
		r = listxattr(argv[2], v, sizeof(v));
		/* An empty list is as good as ENOTSUP to callers; say which. */
		if (r == 0) {
			printf("EMPTY\n");
			return 0;
		}
		return report(r);
	}
	if (strcmp(op, "removexattr") == 0)
		return report(removexattr(argv[2], "user.sftpfs"));
	if (strcmp(op, "copy") == 0 && argc >= 4) {
		int in = open(argv[2], O_RDONLY | O_CLOEXEC);
		int out = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		struct stat st;
		loff_t left;

		if (in < 0 || out < 0 || fstat(in, &st) != 0)
			return report(-1);
		for (left = st.st_size; left > 0; left -= r) {
			r = (long)copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
			if (r <= 0)
				break;
		}
		if (left > 0 && r < 0)
			return report(r);
		if (close(out) != 0)
			return report(-1);
		close(in);
		return report(left == 0 ? 0 : -1);
	}
	if (strcmp(op, "access") == 0 && argc >= 4) {
		int mode = 0;
		if (strchr(argv[3], 'r') != NULL)
			mode |= R_OK;
		if (strchr(argv[3], 'w') != NULL)
			mode |= W_OK;
		if (strchr(argv[3], 'x') != NULL)
			mode |= X_OK;
		return report(access(argv[2], mode == 0 ? F_OK : mode));
	}
	if (strcmp(op, "ftruncate") == 0 && argc >= 4) {
		fd = open(argv[2], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return report(fd);
		r = ftruncate(fd, (off_t)number(argv[3]));
		report(r);
		close(fd);
		return 0;
	}
	if (strcmp(op, "fsync") == 0) {
		fd = open(argv[2], O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return report(fd);
		if (write(fd, "", 0) < 0 || fsync(fd) != 0) {
			report(-1);
			close(fd);
			return 0;
		}
		return report(close(fd));
	}
	if (strcmp(op, "pwrite") == 0 && argc >= 5) {
		size_t len = strlen(argv[4]);
		fd = open(argv[2], O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return report(fd);
		r = pwrite(fd, argv[4], len, (off_t)number(argv[3]));
		if (r >= 0 && (size_t)r != len) {
			printf("SHORT\n");
			close(fd);
			return 0;
		}
		if (r >= 0)
			r = close(fd);
		return report(r);
	}
	if (strcmp(op, "pwrites") == 0 && argc >= 5)
		return pwrites(argv[2], argv[3], argc - 4, argv + 4);
	if (strcmp(op, "pread") == 0 && argc >= 5) {
		long long len = number(argv[4]);
		char *b = malloc((size_t)len + 1);
		fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		if (b == NULL || fd < 0)
			return report(-1);
		r = pread(fd, b, (size_t)len, (off_t)number(argv[3]));
		if (r < 0)
			return report(r);
		fwrite(b, 1, (size_t)r, stdout);
		printf("\n");
		free(b);
		close(fd);
		return 0;
	}
	if ((strcmp(op, "create-write-mtime") == 0 || strcmp(op, "create-read-mtime") == 0) && argc >= 5) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)number(argv[4]) } };
		size_t len = strlen(argv[3]);
		char buf[64];

		fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return report(fd);
		if (write(fd, argv[3], len) != (ssize_t)len)
			return report(-1);
		if (strcmp(op, "create-read-mtime") == 0) {
			int rfd = open(argv[2], O_RDONLY | O_CLOEXEC);

			if (rfd < 0 || read(rfd, buf, sizeof(buf)) < 0)
				return report(-1);
			close(rfd);
		}
		if (futimens(fd, ts) != 0)
			return report(-1);
		return report(close(fd));
	}
	if (strcmp(op, "create-setattrs") == 0 && argc >= 8) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT }, { .tv_sec = (time_t)number(argv[4]) } };
		size_t len = strlen(argv[3]);
		struct stat st;

		fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			return report(fd);
		if (write(fd, argv[3], len) != (ssize_t)len || fsync(fd) != 0)
			return report(-1);
		if (argc >= 9 && system(argv[8]) != 0) {
			printf("hook failed\n");
			return 0;
		}
		printf("%s ", futimens(fd, ts) == 0 ? "OK" : strerrorname_np(errno));
		printf("%s ", fchown(fd, (uid_t)number(argv[6]), (gid_t)number(argv[7])) == 0 ? "OK" :
										     strerrorname_np(errno));
		printf("%s ", fchmod(fd, (mode_t)strtol(argv[5], NULL, 8)) == 0 ? "OK" : strerrorname_np(errno));
		if (fstat(fd, &st) != 0)
			return report(-1);
		printf("%lld %o %lld %u %u ", (long long)st.st_size, (unsigned)(st.st_mode & 07777),
		       (long long)st.st_mtime, (unsigned)st.st_uid, (unsigned)st.st_gid);
		fflush(stdout);
		return report(close(fd));
	}
	if (strcmp(op, "unlinked") == 0) {
		struct timespec ts[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
		char b[256];
		struct stat st;
		ssize_t n;

		fd = open(argv[2], O_RDWR | O_CLOEXEC);
		if (fd < 0 || unlink(argv[2]) != 0)
			return report(-1);
		if (argc >= 4 && system(argv[3]) != 0) {
			printf("hook failed\n");
			return 0;
		}
		if (fstat(fd, &st) == 0)
			printf("nlink %lu size %lld ", (unsigned long)st.st_nlink, (long long)st.st_size);
		else
			printf("%s ", strerrorname_np(errno));
		printf("%s ", pwrite(fd, "+tail", 5, 4) == 5 ? "OK" : strerrorname_np(errno));
		n = pread(fd, b, sizeof(b) - 1, 0);
		if (n < 0)
			return report(-1);
		b[n] = '\0';
		printf("%s ", b);
		printf("%s ", fchmod(fd, 0600) == 0 ? "OK" : strerrorname_np(errno));
		printf("%s ", ftruncate(fd, 4) == 0 ? "OK" : strerrorname_np(errno));
		printf("%s ", futimens(fd, ts) == 0 ? "OK" : strerrorname_np(errno));
		printf("%lld ", (long long)lseek(fd, 0, SEEK_END));
		fflush(stdout);
		return report(close(fd));
	}
	if (strcmp(op, "create-write-fstat") == 0 && argc >= 4) {
		size_t len = (size_t)number(argv[3]);
		char *b = malloc(len + 1);
		struct stat st;

		if (b != NULL)
			memset(b, 'x', len); /* faulted in: one FUSE write, not one per page */

		fd = open(argv[2], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (b == NULL || fd < 0)
			return report(-1);
		if (write(fd, b, len) != (ssize_t)len || fstat(fd, &st) != 0)
			return report(-1);
		free(b);
		if (close(fd) != 0)
			return report(-1);
		printf("%lld\n", (long long)st.st_size);
		return 0;
	}
	if (strcmp(op, "write-read-back") == 0 && argc >= 4) {
		long long count = number(argv[3]);
		char want[1500], got[3000];
		off_t at = 0;
		int rfd;

		fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		rfd = open(argv[2], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || rfd < 0)
			return report(-1);
		for (long long i = 0; i < count; i++) {
			size_t len = 700 + (size_t)(i * 37 % 800);

			for (size_t k = 0; k < len; k++)
				want[k] = (char)('a' + (i + (long long)k) % 26);
			if (pwrite(fd, want, len, at) != (ssize_t)len)
				return report(-1);
			/* what was just written, and nothing after it */
			r = pread(rfd, got, sizeof(got), at);
			if (r != (long)len || memcmp(got, want, len) != 0) {
				printf("mismatch at write %lld: read %ld of %zu bytes\n", i, r, len);
				return 0;
			}
			at += (off_t)len;
		}
		close(rfd);
		return report(close(fd));
	}
	if (strcmp(op, "read-size") == 0) {
		struct stat st;
		char buf[4096];

		fd = open(argv[2], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0)
			return report(-1);
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			;
		if (r < 0)
			return report(r);
		close(fd);
		printf("%lld\n", (long long)st.st_size);
		return 0;
	}
	return usage();
}
