/*
 * test-options.c - unit tests for fuse/options.c: the remote spec (user,
 * IPv6 brackets, home and relative directories), short options, sshfs and
 * libfuse -o options, ssh_config keywords (case-insensitive), fstab options,
 * refused ssh-only options and one-line errors for bad input.
 */
#include "config.h"

#include <string.h>

#include <glib.h>

#include "err.h"
#include "options.h"

/* Parses a NULL-terminated argument list; returns the parse result. */
static int parse(struct sftpfs_opts *o, char **errmsg, ...)
{
	GPtrArray *argv = g_ptr_array_new();
	va_list ap;
	const char *a;
	int r;

	g_ptr_array_add(argv, (char *)"sftpfs");
	va_start(ap, errmsg);
	while ((a = va_arg(ap, const char *)) != NULL)
		g_ptr_array_add(argv, (char *)a);
	va_end(ap);
	sftpfs_opts_init(o);
	r = sftpfs_opts_parse(o, (int)argv->len, (char **)argv->pdata, errmsg);
	g_ptr_array_free(argv, TRUE);
	return r;
}

static void test_remote_spec(void)
{
	struct sftpfs_opts o;
	char *err = NULL;

	g_assert_cmpint(parse(&o, &err, "alice@example.org:/srv/data", "/mnt", NULL), ==, 0);
	g_assert_cmpstr(o.user, ==, "alice");
	g_assert_cmpstr(o.host, ==, "example.org");
	g_assert_cmpstr(o.remote_dir, ==, "/srv/data");
	g_assert_cmpstr(o.mountpoint, ==, "/mnt");
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "host:", "m", NULL), ==, 0);
	g_assert_null(o.user);
	g_assert_cmpstr(o.host, ==, "host");
	g_assert_cmpstr(o.remote_dir, ==, "");
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "host:rel/dir", "m", NULL), ==, 0);
	g_assert_cmpstr(o.remote_dir, ==, "rel/dir");
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "[::1]:d", "m", NULL), ==, 0);
	g_assert_cmpstr(o.host, ==, "::1");
	g_assert_cmpstr(o.remote_dir, ==, "d");
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "bob@[fe80::1%eth0]:/x:y", "m", NULL), ==, 0);
	g_assert_cmpstr(o.user, ==, "bob");
	g_assert_cmpstr(o.host, ==, "fe80::1%eth0");
	g_assert_cmpstr(o.remote_dir, ==, "/x:y");
	sftpfs_opts_clear(&o);

	/* '@' in the directory belongs to the directory. */
	g_assert_cmpint(parse(&o, &err, "h:/a@b", "m", NULL), ==, 0);
	g_assert_null(o.user);
	g_assert_cmpstr(o.remote_dir, ==, "/a@b");
	sftpfs_opts_clear(&o);

	/* A user name may itself contain '@' (domain accounts). */
	g_assert_cmpint(parse(&o, &err, "u@corp@h:", "m", NULL), ==, 0);
	g_assert_cmpstr(o.user, ==, "u@corp");
	g_assert_cmpstr(o.host, ==, "h");
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "hostonly", "m", NULL), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(err, "[user@]host:[dir]"));
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, ":dir", "m", NULL), ==, ERR_CONFIG);
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
	g_assert_cmpint(parse(&o, &err, "@h:dir", "m", NULL), ==, ERR_CONFIG);
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
	g_assert_cmpint(parse(&o, &err, "[::1:dir", "m", NULL), ==, ERR_CONFIG);
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
}

static void test_missing_args(void)
{
	struct sftpfs_opts o;
	char *err = NULL;

	g_assert_cmpint(parse(&o, &err, "h:", NULL), ==, ERR_CONFIG);
	g_assert_cmpstr(err, ==, "missing the mount point");
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, NULL), ==, ERR_CONFIG);
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "h:", "m", "extra", NULL), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(err, "extra"));
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);

	/* --help and --version need nothing else. */
	g_assert_cmpint(parse(&o, &err, "--help", NULL), ==, 0);
	g_assert_true(o.show_help);
	sftpfs_opts_clear(&o);
	g_assert_cmpint(parse(&o, &err, "-V", NULL), ==, 0);
	g_assert_true(o.show_version);
	sftpfs_opts_clear(&o);
}

static void test_short_options(void)
{
	struct sftpfs_opts o;
	char *err = NULL;

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-p", "2222", "-C", "-F", "/cfg", "-s", NULL), ==, 0);
	g_assert_cmpstr(sftpfs_opts_ssh_value(&o, "Port"), ==, "2222");
	g_assert_cmpstr(sftpfs_opts_ssh_value(&o, "compression"), ==, "yes");
	g_assert_cmpstr(o.config_file, ==, "/cfg");
	g_assert_true(o.single_thread);
	g_assert_false(o.foreground);
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "-p22", "-d", "h:", "m", NULL), ==, 0);
	g_assert_cmpstr(sftpfs_opts_ssh_value(&o, "port"), ==, "22");
	g_assert_true(o.debug);
	g_assert_true(o.foreground); /* -d implies -f */
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-p", "0", NULL), ==, ERR_CONFIG);
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
	g_assert_cmpint(parse(&o, &err, "h:", "m", "-p", "65536", NULL), ==, ERR_CONFIG);
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
	g_assert_cmpint(parse(&o, &err, "h:", "m", "-p", NULL), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(err, "needs an argument"));
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
	g_assert_cmpint(parse(&o, &err, "h:", "m", "-x", NULL), ==, ERR_CONFIG);
	g_assert_cmpstr(err, ==, "unknown option '-x' (see sftpfs --help)");
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
	g_assert_cmpint(parse(&o, &err, "h:", "m", "-1", NULL), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(err, "protocol 2"));
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);

	/* "--" ends options: a mount point may start with '-'. */
	g_assert_cmpint(parse(&o, &err, "h:", "--", "-odd", NULL), ==, 0);
	g_assert_cmpstr(o.mountpoint, ==, "-odd");
	sftpfs_opts_clear(&o);
}

static void test_sshfs_options(void)
{
	struct sftpfs_opts o;
	char *err = NULL;

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o",
			      "reconnect,delay_connect,idmap=user,follow_symlinks,transform_symlinks,"
			      "disable_hardlink,max_conns=4,password_stdin,sshfs_sync,no_readahead,"
			      "sync_readdir,dir_cache=no,dcache_timeout=7,cache_stat_timeout=3,"
			      "workaround=rename:truncate:norename,sftp_server=/usr/lib/sftp-server,"
			      "directport=2200,max_write=65536",
			      NULL),
			==, 0);
	g_assert_true(o.reconnect);
	g_assert_true(o.delay_connect);
	g_assert_cmpint(o.idmap, ==, IDMAP_USER);
	g_assert_true(o.follow_symlinks);
	g_assert_true(o.transform_symlinks);
	g_assert_true(o.disable_hardlink);
	g_assert_cmpuint(o.max_conns, ==, 4);
	g_assert_true(o.password_stdin);
	g_assert_true(o.sshfs_sync);
	g_assert_true(o.no_readahead);
	g_assert_true(o.sync_readdir);
	g_assert_false(o.dir_cache);
	g_assert_cmpuint(o.dcache_timeout, ==, 7);
	g_assert_cmpuint(o.dcache_stat_timeout, ==, 3);
	g_assert_cmpuint(o.dcache_dir_timeout, ==, OPT_UNSET);
	g_assert_cmpuint(o.workarounds, ==, WORKAROUND_TRUNCATE);
	g_assert_cmpstr(o.sftp_server, ==, "/usr/lib/sftp-server");
	g_assert_cmpstr(o.directport, ==, "2200");
	g_assert_cmpuint(o.max_write, ==, 65536);
	g_assert_cmpuint(o.fuse_options->len, ==, 0);
	g_assert_cmpuint(o.ssh_options->len, ==, 0);
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-oslave", "-o", "noreconnect", NULL), ==, 0);
	g_assert_true(o.passive);
	g_assert_false(o.reconnect);
	sftpfs_opts_clear(&o);
	g_assert_cmpint(parse(&o, &err, "h:", "m", "-oreconnect=yes,reconnect=no", NULL), ==, 0);
	g_assert_false(o.reconnect);
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", "idmap=file,uidfile=/u,nomap=ignore", NULL), ==, 0);
	g_assert_cmpint(o.idmap, ==, IDMAP_FILE);
	g_assert_cmpint(o.nomap, ==, NOMAP_IGNORE);
	g_assert_cmpstr(o.uidfile, ==, "/u");
	sftpfs_opts_clear(&o);

	/* idmap=file without files is an error, like sshfs. */
	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", "idmap=file", NULL), ==, ERR_CONFIG);
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);

	static const char *const bad[] = {
		"idmap=group", "nomap=maybe", "max_conns=0", "max_conns=x", "dir_cache=maybe",
		"dcache_timeout=-1", "dcache_max_size=1e3", "workaround=bogus", "reconnect=maybe",
		"uidfile", "sftp_server=", "max_write=99999999999",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", bad[i], NULL), ==, ERR_CONFIG);
		g_assert_nonnull(err);
		g_assert_null(strchr(err, '\n'));
		g_clear_pointer(&err, g_free);
		sftpfs_opts_clear(&o);
	}
}

static void test_rejected(void)
{
	struct sftpfs_opts o;
	char *err = NULL;

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", "ssh_command=ssh -v", NULL), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(err, "ProxyCommand"));
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", "ssh_protocol=1", NULL), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(err, "protocol 2"));
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
}

static void test_fuse_and_fstab(void)
{
	struct sftpfs_opts o;
	char *err = NULL;

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o",
			      "rw,_netdev,noauto,nofail,user,users,defaults,auto,x-systemd.automount,"
			      "x-systemd.idle-timeout=60,allow_other,default_permissions,uid=1000,"
			      "umask=022,fsname=h:/x,auto_unmount",
			      NULL),
			==, 0);
	g_assert_cmpuint(o.fuse_options->len, ==, 7);
	g_assert_cmpstr(g_ptr_array_index(o.fuse_options, 0), ==, "rw");
	g_assert_cmpstr(g_ptr_array_index(o.fuse_options, 1), ==, "allow_other");
	g_assert_cmpstr(g_ptr_array_index(o.fuse_options, 3), ==, "uid=1000");
	g_assert_cmpstr(g_ptr_array_index(o.fuse_options, 5), ==, "fsname=h:/x");
	g_assert_cmpuint(o.ssh_options->len, ==, 0);
	sftpfs_opts_clear(&o);

	/* An escaped comma stays in the value. */
	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", "fsname=a\\,b", NULL), ==, 0);
	g_assert_cmpstr(g_ptr_array_index(o.fuse_options, 0), ==, "fsname=a,b");
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", "allow_other=1", NULL), ==, ERR_CONFIG);
	g_assert_cmpstr(err, ==, "option 'allow_other' takes no value");
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);
}

static void test_ssh_keywords(void)
{
	struct sftpfs_opts o;
	char *err = NULL;

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o",
			      "IdentityFile=/k/id_ed25519,stricthostkeychecking=yes,port=2022,"
			      "USER=carol,ServerAliveInterval 5",
			      "-o", "UserKnownHostsFile=/k/known_hosts", NULL),
			==, 0);
	g_assert_cmpuint(o.ssh_options->len, ==, 6);
	/* Canonical spelling, whatever case was typed. */
	g_assert_cmpstr(g_ptr_array_index(o.ssh_options, 1), ==, "StrictHostKeyChecking=yes");
	g_assert_cmpstr(g_ptr_array_index(o.ssh_options, 3), ==, "User=carol");
	g_assert_cmpstr(sftpfs_opts_ssh_value(&o, "identityfile"), ==, "/k/id_ed25519");
	g_assert_cmpstr(sftpfs_opts_ssh_value(&o, "ServerAliveInterval"), ==, "5");
	g_assert_cmpstr(sftpfs_opts_ssh_value(&o, "Port"), ==, "2022");
	g_assert_null(sftpfs_opts_ssh_value(&o, "Ciphers"));
	sftpfs_opts_clear(&o);

	/* fstab's "user" without a value is not the User keyword. */
	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", "user,user=dave", NULL), ==, 0);
	g_assert_cmpuint(o.ssh_options->len, ==, 1);
	g_assert_cmpstr(sftpfs_opts_ssh_value(&o, "User"), ==, "dave");
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", "IdentityFile", NULL), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(err, "needs a value"));
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);

	g_assert_cmpint(parse(&o, &err, "h:", "m", "-o", "NoSuchKeyword=1", NULL), ==, ERR_CONFIG);
	g_assert_cmpstr(err, ==, "unknown option 'NoSuchKeyword' (see sftpfs --help)");
	g_clear_pointer(&err, g_free);
	sftpfs_opts_clear(&o);

	g_assert_true(sftpfs_is_ssh_keyword("proxyjump", 9));
	g_assert_false(sftpfs_is_ssh_keyword("proxy", 5));
}

static void test_help_lists_every_option(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	const char *const *names = sftpfs_opts_names();

	g_assert_nonnull(f);
	sftpfs_opts_help(f);
	fclose(f);
	for (size_t i = 0; names[i] != NULL; i++) {
		g_autofree char *needle = g_strdup_printf("-o %s", names[i]);
		if (strstr(text, needle) == NULL)
			g_error("--help does not list %s", names[i]);
	}
	free(text);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/options/remote-spec", test_remote_spec);
	g_test_add_func("/options/missing-args", test_missing_args);
	g_test_add_func("/options/short", test_short_options);
	g_test_add_func("/options/sshfs", test_sshfs_options);
	g_test_add_func("/options/rejected", test_rejected);
	g_test_add_func("/options/fuse-fstab", test_fuse_and_fstab);
	g_test_add_func("/options/ssh-keywords", test_ssh_keywords);
	g_test_add_func("/options/help", test_help_lists_every_option);
	return g_test_run();
}
