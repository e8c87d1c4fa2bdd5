/*
 * main.c - the sftpfs program: parse the command line, connect and
 * authenticate *before* going to the background (so a bad host, key or
 * password is a message and a non-zero exit with nothing mounted), mount,
 * serve FUSE requests on libfuse's multithreaded loop, and unmount cleanly on
 * fusermount3 -u, umount, SIGTERM, SIGINT or SIGHUP.
 *
 * Going to the background: the I/O threads of a connection do not survive
 * fork(), so the process forks first and the child connects and mounts while
 * the parent waits on a pipe for one status byte; the parent's exit status is
 * the child's verdict. The child keeps the terminal until it is mounted (a
 * password prompt needs it), then starts a session, moves to "/", points
 * stdio at /dev/null and logs to syslog.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "sftpfs.h"

static void die_usage(const char *msg)
{
	fprintf(stderr, "sftpfs: %s\n", msg);
}

/* Fork; the parent waits for the child's status byte and exits with it. */
static int background_start(int *notify_fd)
{
	int p[2];
	pid_t pid;
	unsigned char status = 1;

	*notify_fd = -1;
	if (pipe2(p, O_CLOEXEC) != 0) {
		fprintf(stderr, "sftpfs: pipe: %s\n", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "sftpfs: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		ssize_t n;

		close(p[1]);
		do
			n = read(p[0], &status, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1) {
			int ws = 0;
			/* The child died before reporting. */
			(void)waitpid(pid, &ws, 0);
			status = 1;
		}
		_exit(status);
	}
	close(p[0]);
	*notify_fd = p[1];
	return 0;
}

static void background_finish(int notify_fd, unsigned char status)
{
	int null;

	if (notify_fd < 0)
		return;
	if (status == 0) {
		(void)setsid();
		if (chdir("/") != 0)
			status = 1;
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			(void)dup2(null, STDIN_FILENO);
			(void)dup2(null, STDOUT_FILENO);
			(void)dup2(null, STDERR_FILENO);
			if (null > STDERR_FILENO)
				close(null);
		}
		log_use_syslog("sftpfs");
	}
	while (write(notify_fd, &status, 1) < 0 && errno == EINTR)
		;
	close(notify_fd);
}

/* The remote base directory: "" is the login directory; relative paths are
 * relative to it (the SFTP server's working directory); with a connection
 * the base is made canonical and must be a directory (unless no_check_root). */
static int resolve_base(struct sftpfs *fs)
{
	const char *dir = fs->opts->remote_dir;
	struct sftp_client *c = NULL;
	struct sftp_attrs a = { 0 };
	char *canon = NULL;
	int r;

	if (*dir == '\0')
		dir = ".";
	fs->base = g_strdup(dir);
	if (fs->opts->delay_connect)
		return 0;
	if ((r = sftpfs_client(fs, &c)) != 0)
		return r;
	if ((r = sftp_realpath(c, dir, &canon)) != 0) {
		if (fs->opts->no_check_root)
			return 0;
		fprintf(stderr, "sftpfs: remote directory %s: %s\n", dir, strerror(sftpfs_errno(r)));
		return r;
	}
	g_free(fs->base);
	fs->base = g_strdup(canon);
	free(canon);
	if (fs->opts->no_check_root)
		return 0;
	r = sftp_stat(c, fs->base, &a);
	if (r == 0 && (!(a.flags & SFTP_ATTR_PERMISSIONS) || !S_ISDIR(a.permissions)))
		r = ERR_NOT_DIRECTORY;
	sftp_attrs_clear(&a);
	if (r != 0)
		fprintf(stderr, "sftpfs: remote directory %s: %s\n", fs->base, strerror(sftpfs_errno(r)));
	return r;
}

/* fsname=user@host:dir with ',' and '\' escaped for libfuse's option lists. */
static char *fsname_option(const struct sftpfs_opts *o)
{
	GString *s = g_string_new("-ofsname=");
	g_autofree char *src = NULL;
	bool v6 = strchr(o->host, ':') != NULL;

	src = g_strdup_printf("%s%s%s%s%s:%s", o->user != NULL ? o->user : "", o->user != NULL ? "@" : "",
			      v6 ? "[" : "", o->host, v6 ? "]" : "", o->remote_dir);
	for (const char *p = src; *p != '\0'; p++) {
		if (*p == ',' || *p == '\\')
			g_string_append_c(s, '\\');
		g_string_append_c(s, *p);
	}
	return g_string_free(s, FALSE);
}

static bool has_fuse_option(const struct sftpfs_opts *o, const char *prefix)
{
	for (guint i = 0; i < o->fuse_options->len; i++) {
		if (g_str_has_prefix(g_ptr_array_index(o->fuse_options, i), prefix))
			return true;
	}
	return false;
}

static int run(struct sftpfs_opts *opts, const char *argv0)
{
	struct sftpfs fs = { .opts = opts };
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f = NULL;
	struct fuse_session *se = NULL;
	char *errmsg = NULL;
	struct stat st = { 0 };
	int notify_fd = -1;
	int ret = 1;
	int r;

	sftpfs_links_init(&fs);
	sftpfs_files_init(&fs);
	if (stat(opts->mountpoint, &st) != 0) {
		fprintf(stderr, "sftpfs: mount point %s: %s\n", opts->mountpoint, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "sftpfs: mount point %s: %s\n", opts->mountpoint, strerror(ENOTDIR));
		goto out;
	}
	if (idmap_setup(&fs, &errmsg) != 0) {
		die_usage(errmsg);
		g_free(errmsg);
		goto out;
	}
	if (opts->dir_cache) {
		struct sftpfs_cache_config cc;
		sftpfs_cache_config_from_opts(opts, &cc);
		fs.cache = sftpfs_cache_new(&cc, NULL, NULL);
	}
	sftpfs_prefetch_init(&fs);
	sftpfs_fileahead_init(&fs);
	if (remote_new(opts, &fs.remote) != 0)
		goto out; /* remote_new said why */
	if (!opts->foreground && background_start(&notify_fd) != 0)
		goto out;
	if (!opts->delay_connect && sftpfs_connect(&fs) != 0)
		goto out; /* the transport said why */
	r = resolve_base(&fs);
	(void)sftpfs_op_end(); /* resolve_base's connection references */
	if (r != 0)
		goto out;

	/* libfuse's arguments: ours first, so the user's fsname/subtype win. */
	if (fuse_opt_add_arg(&args, argv0) != 0)
		goto out;
	if (!has_fuse_option(opts, "fsname=")) {
		g_autofree char *fsname = fsname_option(opts);
		if (fuse_opt_add_arg(&args, fsname) != 0)
			goto out;
	}
	if (!has_fuse_option(opts, "subtype=") && fuse_opt_add_arg(&args, "-osubtype=sftpfs") != 0)
		goto out;
	for (guint i = 0; i < opts->fuse_options->len; i++) {
		g_autofree char *o = g_strdup_printf("-o%s", (char *)g_ptr_array_index(opts->fuse_options, i));
		if (fuse_opt_add_arg(&args, o) != 0)
			goto out;
	}
	if (opts->debug && fuse_opt_add_arg(&args, "-d") != 0)
		goto out;

	f = fuse_new(&args, sftpfs_wrapped_ops(), sizeof(struct fuse_operations), &fs);
	if (f == NULL)
		goto out; /* libfuse printed why */
	if (fuse_mount(f, opts->mountpoint) != 0)
		goto out; /* libfuse printed "bad mount point ..." */
	se = fuse_get_session(f);
	if (fuse_set_signal_handlers(se) != 0) {
		fuse_unmount(f);
		goto out;
	}
	log_verbose(LOG_CAT_GENERAL, "mounted %s:%s on %s", opts->host, fs.base, opts->mountpoint);
	sftpfs_mounted(&fs);
	background_finish(notify_fd, 0);
	notify_fd = -1;

	r = opts->single_thread ? fuse_loop(f) : fuse_loop_mt(f, 0);

	fuse_remove_signal_handlers(se);
	fuse_unmount(f);
	log_verbose(LOG_CAT_GENERAL, "unmounted %s", opts->mountpoint);
	/* libfuse returns the number of the signal that ended the loop. */
	ret = r >= 0 ? 0 : 1;
out:
	background_finish(notify_fd, 1);
	if (f != NULL)
		fuse_destroy(f);
	fuse_opt_free_args(&args);
	sftpfs_fileahead_stop(&fs);
	sftpfs_prefetch_stop(&fs);
	sftpfs_disconnect(&fs);
	sftpfs_files_clear(&fs);
	remote_free(fs.remote);
	idmap_clear(&fs);
	sftpfs_cache_free(fs.cache);
	g_free(fs.base);
	return ret;
}

int main(int argc, char **argv)
{
	struct sftpfs_opts opts;
	char *errmsg = NULL;
	const char *v;
	enum log_level level;
	int ret;

	sftpfs_opts_init(&opts);
	if (sftpfs_opts_parse(&opts, argc, argv, &errmsg) != 0) {
		die_usage(errmsg);
		g_free(errmsg);
		sftpfs_opts_clear(&opts);
		return 1;
	}
	if (opts.show_help) {
		sftpfs_opts_help(stdout);
		sftpfs_opts_clear(&opts);
		return 0;
	}
	if (opts.show_version) {
		printf("sftpfs %s\nFUSE library version %s\n", PACKAGE_VERSION, fuse_pkgversion());
		sftpfs_opts_clear(&opts);
		return 0;
	}
	log_set_level(LOG_LEVEL_INFO);
	if ((v = sftpfs_opts_ssh_value(&opts, "LogLevel")) != NULL) {
		if (log_level_parse(v, &level) != 0) {
			fprintf(stderr, "sftpfs: LogLevel=%s: unknown level\n", v);
			sftpfs_opts_clear(&opts);
			return 1;
		}
		log_set_level(level);
	}
	if (opts.verbose)
		log_set_level(LOG_LEVEL_VERBOSE);
	if (opts.debug) {
		log_set_level(LOG_LEVEL_DEBUG3);
		log_set_categories(LOG_CAT_ALL);
	}
	ret = run(&opts, argv[0]);
	sftpfs_opts_clear(&opts);
	return ret;
}
