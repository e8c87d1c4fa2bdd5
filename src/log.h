/*
 * log.h - leveled, categorised logging to stderr or syslog.
 *
 * Levels follow OpenSSH's LogLevel names (QUIET .. DEBUG3) so `-o LogLevel=`
 * means the same thing it means to ssh. Debug messages additionally carry a
 * category; `-d` enables all categories, `-o debug=kex,sftp` a subset.
 * Never log secrets: passwords, passphrases, private keys or session keys.
 */
#ifndef SFTPFS_LOG_H
#define SFTPFS_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_LEVEL_QUIET = 0,
	LOG_LEVEL_FATAL,
	LOG_LEVEL_ERROR,
	LOG_LEVEL_INFO,
	LOG_LEVEL_VERBOSE,
	LOG_LEVEL_DEBUG1,
	LOG_LEVEL_DEBUG2,
	LOG_LEVEL_DEBUG3,
};

enum log_category {
	LOG_CAT_GENERAL = 1u << 0,
	LOG_CAT_IO = 1u << 1,
	LOG_CAT_TRANSPORT = 1u << 2,
	LOG_CAT_KEX = 1u << 3,
	LOG_CAT_AUTH = 1u << 4,
	LOG_CAT_CHANNEL = 1u << 5,
	LOG_CAT_SFTP = 1u << 6,
	LOG_CAT_FUSE = 1u << 7,
	LOG_CAT_CACHE = 1u << 8,
	LOG_CAT_CONFIG = 1u << 9,
	LOG_CAT_ALL = 0x3ffu,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_set_categories(unsigned mask);
/* Send messages to syslog (daemon facility) instead of stderr. */
void log_use_syslog(const char *ident);
/* Parses an OpenSSH LogLevel name (case-insensitive); returns 0 or ERR_CONFIG. */
int log_level_parse(const char *name, enum log_level *out);
/* Parses "kex,sftp,..." or "all"; returns 0 or ERR_CONFIG. */
int log_categories_parse(const char *list, unsigned *out);
bool log_enabled(enum log_level level, enum log_category cat);

void log_msg(enum log_level level, enum log_category cat, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void log_vmsg(enum log_level level, enum log_category cat, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

#define log_error(cat, ...) log_msg(LOG_LEVEL_ERROR, (cat), __VA_ARGS__)
#define log_info(cat, ...) log_msg(LOG_LEVEL_INFO, (cat), __VA_ARGS__)
#define log_verbose(cat, ...) log_msg(LOG_LEVEL_VERBOSE, (cat), __VA_ARGS__)
#define log_debug(cat, ...) log_msg(LOG_LEVEL_DEBUG1, (cat), __VA_ARGS__)
#define log_debug2(cat, ...) log_msg(LOG_LEVEL_DEBUG2, (cat), __VA_ARGS__)
#define log_debug3(cat, ...) log_msg(LOG_LEVEL_DEBUG3, (cat), __VA_ARGS__)

#endif
