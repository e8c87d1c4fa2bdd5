/*
 * test-sshconfig.c - the parts of src/sshconfig the ssh -G oracle cannot
 * show: the line API (sshconfig_read_line) and its errors naming file:line,
 * unknown keywords ignored (our documented deviation), the permission check
 * on included user files, the system file after the user file, token and
 * tilde expansion at use, algorithm list assembly against other lists,
 * ProxyJump hop parsing and the pattern matcher.
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "sshconfig.h"

static void test_patterns(void)
{
	g_assert_true(sshconfig_match_pattern("foo.example.com", "*.example.com"));
	g_assert_true(sshconfig_match_pattern("a", "?"));
	g_assert_false(sshconfig_match_pattern("ab", "?"));
	g_assert_true(sshconfig_match_pattern("", "*"));
	g_assert_true(sshconfig_match_pattern("abcabd", "*ab?"));
	g_assert_false(sshconfig_match_pattern("Foo", "foo"));
	/* Pathological patterns stay fast (no exponential backtracking). */
	g_assert_false(sshconfig_match_pattern("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
	                                       "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c"));
	g_assert_cmpint(sshconfig_match_pattern_list("web1", "web?,!web3", false), ==, 1);
	g_assert_cmpint(sshconfig_match_pattern_list("web3", "web?,!web3", false), ==, -1);
	g_assert_cmpint(sshconfig_match_pattern_list("db1", "web?,!web3", false), ==, 0);
	g_assert_cmpint(sshconfig_match_pattern_list("host", "HOST", true), ==, 1);
	g_assert_cmpint(sshconfig_match_pattern_list("host", "HOST", false), ==, 0);
}

static void test_read_line(void)
{
	struct sshconfig_reader *r = NULL;

	g_assert_cmpint(sshconfig_reader_new("myhost", SSHCONFIG_NO_SIDE_EFFECTS, &r), ==, 0);
	g_assert_cmpint(sshconfig_read_line(r, "# comment", "f", 1), ==, 0);
	g_assert_cmpint(sshconfig_read_line(r, "   ", "f", 2), ==, 0);
	/* Unknown keywords are ignored (ssh would stop here). */
	g_assert_cmpint(sshconfig_read_line(r, "NoSuchKeyword value", "f", 3), ==, 0);
	g_assert_cmpint(sshconfig_read_line(r, "Port=2222", "f", 4), ==, 0);
	/* Errors name the file and line. */
	g_assert_cmpint(sshconfig_read_line(r, "Port 0", "/etc/x.conf", 5), ==, ERR_CONFIG);
	g_assert_cmpstr(sshconfig_reader_error(r), ==, "/etc/x.conf line 5: Bad port '0'.");
	g_assert_cmpint(sshconfig_read_line(r, "User \"unterminated", "cfg", 6), ==, ERR_CONFIG);
	g_assert_cmpstr(sshconfig_reader_error(r), ==, "cfg line 6: invalid quotes");
	g_assert_cmpint(sshconfig_read_line(r, "Compression", "cfg", 7), ==, ERR_CONFIG);
	g_assert_cmpstr(sshconfig_reader_error(r), ==, "cfg line 7: no argument after keyword \"compression\"");
	g_assert_cmpint(sshconfig_read_line(r, "Match nothing", "cfg", 8), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(sshconfig_reader_error(r), "cfg line 8: "));
	g_assert_cmpint(sshconfig_read_line(r, "ConnectTimeout 5x", "cfg", 9), ==, ERR_CONFIG);
	g_assert_cmpint(sshconfig_read_line(r, "ServerAliveInterval 99999999999", "cfg", 10), ==, ERR_CONFIG);
	g_assert_cmpint(sshconfig_read_line(r, "RekeyLimit 8", "cfg", 11), ==, ERR_CONFIG);
	g_assert_cmpint(sshconfig_read_line(r, "RekeyLimit 99999999999E", "cfg", 12), ==, ERR_CONFIG);
	/* Side effects off: Include and Match exec do nothing. */
	g_assert_cmpint(sshconfig_read_line(r, "Include /etc/passwd", "cfg", 13), ==, 0);
	g_assert_cmpint(sshconfig_read_line(r, "Match exec \"touch /nonexistent/x\"", "cfg", 14), ==, 0);
	/* An overlong line is refused, not truncated. */
	{
		char *longline = g_strnfill(5000, 'a');

		memcpy(longline, "User ", 5);
		g_assert_cmpint(sshconfig_read_line(r, longline, "cfg", 15), ==, ERR_CONFIG);
		g_free(longline);
	}
	sshconfig_reader_free(r);
}

struct fixture {
	char *dir;
};

static void fixture_set_up(struct fixture *fx, gconstpointer unused)
{
	fx->dir = g_dir_make_tmp("sshcfg-XXXXXX", NULL);
	g_assert_nonnull(fx->dir);
}

static void fixture_tear_down(struct fixture *fx, gconstpointer unused)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", fx->dir);

	g_assert_cmpint(system(cmd), ==, 0);
	g_free(cmd);
	g_free(fx->dir);
}

static char *write_in(struct fixture *fx, const char *name, const char *text)
{
	char *p = g_build_filename(fx->dir, name, NULL);

	g_assert_true(g_file_set_contents(p, text, -1, NULL));
	return p;
}

static void test_files(struct fixture *fx, gconstpointer unused)
{
	char *sys = write_in(fx, "system.conf", "Host *\n\tUser from-system\n\tPort 2022\n");
	char *user, *inc, *text;
	struct sshconfig *c = NULL;
	char *err = NULL;
	struct sshconfig_args a = { .system_config = sys };

	/* -F none: nothing read, defaults only. */
	a.config_file = "none";
	g_assert_cmpint(sshconfig_resolve("h", &a, &c, NULL), ==, 0);
	g_assert_cmpint(c->port, ==, 22);
	sshconfig_free(c);
	/* -F file only: the system file is not read. */
	user = write_in(fx, "user.conf", "Port 2100\n");
	a.config_file = user;
	g_assert_cmpint(sshconfig_resolve("h", &a, &c, NULL), ==, 0);
	g_assert_cmpint(c->port, ==, 2100);
	g_assert_cmpstr(c->user, !=, "from-system");
	sshconfig_free(c);
	/* Missing -F file: an error naming it. */
	a.config_file = "/nonexistent/config";
	g_assert_cmpint(sshconfig_resolve("h", &a, &c, &err), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(err, "/nonexistent/config"));
	g_free(err);
	/* An included file writable by others is refused, like ssh. */
	inc = write_in(fx, "inc.conf", "User from-include\n");
	g_assert_cmpint(chmod(inc, 0666), ==, 0);
	text = g_strdup_printf("Include %s\n", inc);
	g_free(user);
	user = write_in(fx, "user.conf", text);
	a.config_file = user;
	g_assert_cmpint(sshconfig_resolve("h", &a, &c, &err), ==, ERR_CONFIG);
	g_assert_nonnull(strstr(err, "Bad owner or permissions"));
	g_free(err);
	g_assert_cmpint(chmod(inc, 0644), ==, 0);
	g_assert_cmpint(sshconfig_resolve("h", &a, &c, NULL), ==, 0);
	g_assert_cmpstr(c->user, ==, "from-include");
	sshconfig_free(c);
	/* Command-line entries may not open blocks. */
	{
		const char *opts[] = { "Host x" };
		struct sshconfig_args b = { .config_file = "none", .options = opts, .n_options = 1 };

		g_assert_cmpint(sshconfig_resolve("h", &b, &c, &err), ==, ERR_CONFIG);
		g_assert_nonnull(strstr(err, "command-line line 1"));
		g_free(err);
	}
	g_free(text);
	g_free(inc);
	g_free(user);
	g_free(sys);
}

static void test_expand(struct fixture *fx, gconstpointer unused)
{
	const char *opts[] = { "User=remote", "Port=2200", "HostName=%h.example" };
	struct sshconfig_args a = { .config_file = "none", .options = opts, .n_options = 3 };
	struct passwd *pw = getpwuid(getuid());
	struct sshconfig *c = NULL;
	char *out = NULL, *want;

	g_assert_cmpint(sshconfig_resolve("Alias", &a, &c, NULL), ==, 0);
	g_assert_cmpstr(c->hostname, ==, "alias.example");
	g_assert_cmpint(sshconfig_expand_path(c, "~/.ssh/id_%h_%p_%r_%n_%%", &out), ==, 0);
	want = g_strdup_printf("%s/.ssh/id_alias.example_2200_remote_Alias_%%", pw->pw_dir);
	g_assert_cmpstr(out, ==, want);
	g_free(want);
	g_free(out);
	g_assert_cmpint(sshconfig_expand_path(c, "%d|%u|%i", &out), ==, 0);
	want = g_strdup_printf("%s|%s|%u", pw->pw_dir, pw->pw_name, (unsigned)getuid());
	g_assert_cmpstr(out, ==, want);
	g_free(want);
	g_free(out);
	/* %C is 40 hex digits. */
	g_assert_cmpint(sshconfig_expand_path(c, "%C", &out), ==, 0);
	g_assert_cmpuint(strlen(out), ==, 40);
	g_free(out);
	g_setenv("SFTPFS_TEST_VAR", "value", TRUE);
	g_assert_cmpint(sshconfig_expand_path(c, "/x/${SFTPFS_TEST_VAR}/y", &out), ==, 0);
	g_assert_cmpstr(out, ==, "/x/value/y");
	g_free(out);
	g_unsetenv("SFTPFS_TEST_VAR");
	g_assert_cmpint(sshconfig_expand_path(c, "/x/${SFTPFS_TEST_VAR}", &out), ==, ERR_CONFIG);
	g_assert_cmpint(sshconfig_expand_path(c, "%z", &out), ==, ERR_CONFIG);
	g_assert_cmpint(sshconfig_expand_path(c, "trailing%", &out), ==, ERR_CONFIG);
	g_assert_null(out);
	sshconfig_free(c);
}

static void test_assemble(void)
{
	const char *def = "a-1,b-2,c-3", *all = "a-1,b-2,c-3,d-4,e-5";
	char *out;

	g_assert_cmpint(sshconfig_assemble_algs(NULL, def, all, &out), ==, 0);
	g_assert_cmpstr(out, ==, def);
	free(out);
	g_assert_cmpint(sshconfig_assemble_algs("+e-5,a-1", def, all, &out), ==, 0);
	g_assert_cmpstr(out, ==, "a-1,b-2,c-3,e-5");
	free(out);
	g_assert_cmpint(sshconfig_assemble_algs("-b*", def, all, &out), ==, 0);
	g_assert_cmpstr(out, ==, "a-1,c-3");
	free(out);
	g_assert_cmpint(sshconfig_assemble_algs("^d-4", def, all, &out), ==, 0);
	g_assert_cmpstr(out, ==, "d-4,a-1,b-2,c-3");
	free(out);
	/* Patterns select in the supported list's order. */
	g_assert_cmpint(sshconfig_assemble_algs("e-5,*-[0-9]*,?-2", def, all, &out), ==, 0);
	g_assert_cmpstr(out, ==, "e-5,b-2");
	free(out);
	g_assert_cmpint(sshconfig_assemble_algs("x-9", def, all, &out), ==, ERR_CONFIG);
	g_assert_cmpint(sshconfig_assemble_algs("a-1,!b-2", def, all, &out), ==, ERR_CONFIG);
}

static void test_hops(void)
{
	char *u, *h;
	int p;

	g_assert_cmpint(sshconfig_parse_hop("alice@jump:2022", &u, &h, &p), ==, 0);
	g_assert_cmpstr(u, ==, "alice");
	g_assert_cmpstr(h, ==, "jump");
	g_assert_cmpint(p, ==, 2022);
	g_free(u);
	g_free(h);
	g_assert_cmpint(sshconfig_parse_hop("[::1]:22", &u, &h, &p), ==, 0);
	g_assert_null(u);
	g_assert_cmpstr(h, ==, "::1");
	g_assert_cmpint(p, ==, 22);
	g_free(h);
	g_assert_cmpint(sshconfig_parse_hop("ssh://bob@host", &u, &h, &p), ==, 0);
	g_assert_cmpstr(u, ==, "bob");
	g_assert_cmpstr(h, ==, "host");
	g_assert_cmpint(p, ==, 0);
	g_free(u);
	g_free(h);
	const char *bad[] = { "", "@host", "host:0", "host:99999", "host:x", "[::1", "ssh://h/path" };
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++)
		g_assert_cmpint(sshconfig_parse_hop(bad[i], &u, &h, &p), ==, ERR_CONFIG);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/sshconfig/patterns", test_patterns);
	g_test_add_func("/sshconfig/read-line", test_read_line);
	g_test_add("/sshconfig/files", struct fixture, NULL, fixture_set_up, test_files, fixture_tear_down);
	g_test_add("/sshconfig/expand", struct fixture, NULL, fixture_set_up, test_expand, fixture_tear_down);
	g_test_add_func("/sshconfig/assemble", test_assemble);
	g_test_add_func("/sshconfig/hops", test_hops);
	return g_test_run();
}
