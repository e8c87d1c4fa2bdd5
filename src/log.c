/*
 * log.c - implementation of log.h. The level and category mask are read on
 * every call without a lock (set once at startup, before threads exist);
 * each message is written with a single write so lines from threads do not
 * interleave.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "err.h"
#include "log.h"

static enum log_level log_level = LOG_LEVEL_INFO;
static unsigned log_categories = LOG_CAT_ALL;
static bool log_syslog;

static const struct {
	const char *name;
	enum log_level level;
} log_level_names[] = {
	{"QUIET", LOG_LEVEL_QUIET},   {"FATAL", LOG_LEVEL_FATAL},   {"ERROR", LOG_LEVEL_ERROR},
	{"INFO", LOG_LEVEL_INFO},     {"VERBOSE", LOG_LEVEL_VERBOSE}, {"DEBUG", LOG_LEVEL_DEBUG1},
	{"DEBUG1", LOG_LEVEL_DEBUG1}, {"DEBUG2", LOG_LEVEL_DEBUG2}, {"DEBUG3", LOG_LEVEL_DEBUG3},
};

static const struct {
	const char *name;
	unsigned mask;
} log_cat_names[] = {
	{"general", LOG_CAT_GENERAL}, {"io", LOG_CAT_IO},     {"transport", LOG_CAT_TRANSPORT},
	{"kex", LOG_CAT_KEX},         {"auth", LOG_CAT_AUTH}, {"channel", LOG_CAT_CHANNEL},
	{"sftp", LOG_CAT_SFTP},       {"fuse", LOG_CAT_FUSE}, {"cache", LOG_CAT_CACHE},
	{"config", LOG_CAT_CONFIG},   {"all", LOG_CAT_ALL},
};

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

void log_set_categories(unsigned mask)
{
	log_categories = mask;
}

void log_use_syslog(const char *ident)
{
	openlog(ident, LOG_PID, LOG_DAEMON);
	log_syslog = true;
}

int log_level_parse(const char *name, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]); i++) {
		if (strcasecmp(name, log_level_names[i].name) == 0) {
			*out = log_level_names[i].level;
			return 0;
		}
	}
	return ERR_CONFIG;
}

int log_categories_parse(const char *list, unsigned *out)
{
	unsigned mask = 0;
	const char *p = list;

	*out = 0;
	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		bool found = false;

		for (size_t i = 0; i < sizeof(log_cat_names) / sizeof(log_cat_names[0]); i++) {
			if (strlen(log_cat_names[i].name) == n && strncmp(p, log_cat_names[i].name, n) == 0) {
				mask |= log_cat_names[i].mask;
				found = true;
			}
		}
		if (!found)
			return ERR_CONFIG;
		p += n;
		if (*p == ',')
			p++;
	}
	*out = mask;
	return 0;
}

bool log_enabled(enum log_level level, enum log_category cat)
{
	if (level > log_level)
		return false;
	if (level >= LOG_LEVEL_DEBUG1 && (log_categories & (unsigned)cat) == 0)
		return false;
	return true;
}

static int log_syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_FATAL:
		return LOG_CRIT;
	case LOG_LEVEL_ERROR:
		return LOG_ERR;
	case LOG_LEVEL_INFO:
	case LOG_LEVEL_VERBOSE:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

void log_vmsg(enum log_level level, enum log_category cat, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	if (!log_enabled(level, cat))
		return;
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (log_syslog) {
		line[n] = '\0';
		syslog(log_syslog_priority(level), "%s", line);
		return;
	}
	line[n++] = '\n';
	/* One write per line; a short or failed write to stderr is not actionable. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void log_msg(enum log_level level, enum log_category cat, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, cat, fmt, ap);
	va_end(ap);
}
