/*
 * options.h - the sftpfs command line: `sftpfs [user@]host:[dir] mountpoint
 * [options]`, parsed into one struct sftpfs_opts without touching libfuse, so
 * the parser is unit-tested on its own (tests/unit/test-options.c).
 *
 * Every `-o` name is looked up in one static const table (options.c): sftpfs
 * and sshfs 3.7 options set a field; libfuse options are collected verbatim
 * for fuse_new(); fstab-only options are accepted and dropped; options that
 * only made sense for a spawned ssh are refused with a message naming the
 * replacement. Anything else that is an ssh_config keyword (matched
 * case-insensitively, as ssh does) is collected as "Keyword=value" for the
 * ssh_config resolver; an unknown name is a one-line error.
 */
#ifndef SFTPFS_FUSE_OPTIONS_H
#define SFTPFS_FUSE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <glib.h>

#include "err.h"

enum idmap_type {
	IDMAP_NONE = 0,
	IDMAP_USER,
	IDMAP_FILE,
};

enum nomap_type {
	NOMAP_ERROR = 0, /* sshfs's default */
	NOMAP_IGNORE,
};

/* sshfs `-o workaround=` bits. */
enum {
	WORKAROUND_RENAME = 1u << 0,
	WORKAROUND_RENAMEXDEV = 1u << 1,
	WORKAROUND_TRUNCATE = 1u << 2,
	WORKAROUND_BUFLIMIT = 1u << 3,
	WORKAROUND_FSTAT = 1u << 4,
	WORKAROUND_CREATEMODE = 1u << 5,
	WORKAROUND_ALL = 0x3fu,
};

/* "Unset" for numeric options whose default is decided later. */
#define OPT_UNSET UINT32_MAX

/* -o dir_prefetch default: subdirectories listed ahead per listing. */
#define DIR_PREFETCH_DEFAULT 64
/* -o write_lanes: SFTP channels of one connection a large sequential write
 * is spread over (files.c), the file's own channel included. */
#define WRITE_LANES_DEFAULT 4
#define WRITE_LANES_MAX 8
/* -o write_lanes_rtt default (ms): below it one channel's window is no limit. */
#define WRITE_LANES_RTT_DEFAULT 5
/* -o file_prefetch default: small files of a directory read ahead. */
#define FILE_PREFETCH_DEFAULT 32

struct sftpfs_opts {
	/* The remote: [user@]host:[dir]. user NULL = from ssh_config/login name;
	 * remote_dir "" = the remote home; IPv6 brackets stripped from host. */
	char *user;
	char *host;
	char *remote_dir;
	char *mountpoint;

	/* ssh side */
	char *config_file;       /* -F; NULL = ~/.ssh/config and /etc/ssh/ssh_config */
	GPtrArray *ssh_options;  /* "Keyword=value", in command-line order (-p, -C, -o) */

	/* process */
	bool foreground;         /* -f */
	bool debug;              /* -d, -o debug, -o sshfs_debug */
	bool verbose;            /* -v, -o verbose, -o sshfs_verbose */
	bool single_thread;      /* -s */
	bool show_help;
	bool show_version;

	/* sshfs 3.7 options */
	bool reconnect;          /* default true */
	uint32_t reconnect_timeout; /* seconds an operation waits for a reconnect (default 60) */
	bool delay_connect;
	bool sshfs_sync;
	bool no_readahead;
	bool sync_readdir;
	bool dir_cache;          /* default true */
	bool direct_io;
	bool transform_symlinks;
	bool follow_symlinks;
	bool contain_symlinks;
	bool no_check_root;
	bool password_stdin;
	bool disable_hardlink;
	bool passive;            /* -o passive / -o slave: SFTP on stdin/stdout */
	enum idmap_type idmap;
	enum nomap_type nomap;
	char *uidfile;
	char *gidfile;
	char *sftp_server;       /* subsystem name or server path; NULL = "sftp" */
	char *directport;        /* TCP port of an SFTP server, no SSH */
	unsigned workarounds;
	uint32_t max_conns;      /* default 1 */
	uint32_t write_lanes;    /* 1..WRITE_LANES_MAX */
	uint32_t write_lanes_rtt; /* ms: lanes only over round trips this long */
	uint32_t max_write;      /* OPT_UNSET = server limit */
	uint32_t readahead_max;  /* bytes; OPT_UNSET = READAHEAD_FILE_MAX_DEFAULT */
	uint32_t dir_prefetch;   /* subdirectories listed ahead per listing (dirlist.c) */
	uint32_t file_prefetch;  /* small files of a directory read ahead (fileahead.c) */
	uint32_t dcache_timeout; /* dcache_* in seconds; OPT_UNSET = default */
	uint32_t dcache_stat_timeout;
	uint32_t dcache_dir_timeout;
	uint32_t dcache_link_timeout;
	uint32_t dcache_max_size;
	uint32_t dcache_clean_interval;
	uint32_t dcache_min_clean_interval;

	/* libfuse options, each "name" or "name=value", for fuse_new() */
	GPtrArray *fuse_options;
};

/* Fills defaults; free with sftpfs_opts_clear. */
void sftpfs_opts_init(struct sftpfs_opts *o);
void sftpfs_opts_clear(struct sftpfs_opts *o);

/*
 * Parses argv[1..argc) into o (initialised by sftpfs_opts_init). On error
 * returns ERR_CONFIG and sets *errmsg to a one-line message (caller frees).
 * A successful parse with show_help or show_version set may lack the host
 * and mountpoint; otherwise both are present.
 */
int sftpfs_opts_parse(struct sftpfs_opts *o, int argc, char **argv, char **errmsg) MUST_CHECK;

/* Parses one `-o` list ("a,b=c,d"; "\," escapes a comma). */
int sftpfs_opts_parse_olist(struct sftpfs_opts *o, const char *list, char **errmsg) MUST_CHECK;

/* Writes the --help text (usage and every option of the table) to out. */
void sftpfs_opts_help(FILE *out);

/* Every option name of the table, NULL-terminated (for the doc test). */
const char *const *sftpfs_opts_names(void);

/* True if name is an OpenSSH ssh_config keyword (case-insensitive). */
bool sftpfs_is_ssh_keyword(const char *name, size_t len);

/* The value of ssh option keyword (case-insensitive; last wins), or NULL. */
const char *sftpfs_opts_ssh_value(const struct sftpfs_opts *o, const char *keyword);

#endif
