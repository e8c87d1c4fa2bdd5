/*
 * test-log.c - unit tests for src/log.c: LogLevel names as OpenSSH spells
 * them, category lists, and the level/category filter.
 */
#include "config.h"

#include <glib.h>

#include "err.h"
#include "log.h"

static void test_level_parse(void)
{
	enum log_level l;

	g_assert_cmpint(log_level_parse("quiet", &l), ==, 0);
	g_assert_cmpint(l, ==, LOG_LEVEL_QUIET);
	g_assert_cmpint(log_level_parse("DEBUG", &l), ==, 0);
	g_assert_cmpint(l, ==, LOG_LEVEL_DEBUG1);
	g_assert_cmpint(log_level_parse("Debug3", &l), ==, 0);
	g_assert_cmpint(l, ==, LOG_LEVEL_DEBUG3);
	g_assert_cmpint(log_level_parse("loud", &l), ==, ERR_CONFIG);
}

static void test_categories(void)
{
	unsigned m;

	g_assert_cmpint(log_categories_parse("kex,sftp", &m), ==, 0);
	g_assert_cmpuint(m, ==, LOG_CAT_KEX | LOG_CAT_SFTP);
	g_assert_cmpint(log_categories_parse("all", &m), ==, 0);
	g_assert_cmpuint(m, ==, LOG_CAT_ALL);
	g_assert_cmpint(log_categories_parse("kex,bogus", &m), ==, ERR_CONFIG);
	g_assert_cmpuint(m, ==, 0);
}

static void test_filter(void)
{
	log_set_level(LOG_LEVEL_INFO);
	g_assert_true(log_enabled(LOG_LEVEL_ERROR, LOG_CAT_KEX));
	g_assert_false(log_enabled(LOG_LEVEL_DEBUG1, LOG_CAT_KEX));
	log_set_level(LOG_LEVEL_DEBUG3);
	log_set_categories(LOG_CAT_SFTP);
	g_assert_true(log_enabled(LOG_LEVEL_DEBUG2, LOG_CAT_SFTP));
	g_assert_false(log_enabled(LOG_LEVEL_DEBUG2, LOG_CAT_KEX));
	/* Categories filter debug output only; errors always pass. */
	g_assert_true(log_enabled(LOG_LEVEL_ERROR, LOG_CAT_KEX));
	log_set_categories(LOG_CAT_ALL);
	log_set_level(LOG_LEVEL_INFO);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/log/level-parse", test_level_parse);
	g_test_add_func("/log/categories", test_categories);
	g_test_add_func("/log/filter", test_filter);
	return g_test_run();
}
