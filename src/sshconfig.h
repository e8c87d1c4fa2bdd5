/*
 * sshconfig.h - the OpenSSH client configuration, resolved exactly as `ssh`
 * resolves it (ssh_config(5), OpenSSH 9.2): command-line `-o` entries first,
 * then `-F file` alone or ~/.ssh/config followed by /etc/ssh/ssh_config; the
 * first value obtained for a keyword wins, except list keywords
 * (IdentityFile, CertificateFile) which accumulate. Host and Match blocks,
 * Include with globs, quoting, `=` separators and the %-tokens follow
 * OpenSSH's readconf.c; `ssh -G` is the oracle the tests compare against.
 *
 * The parser is line-at-a-time (sshconfig_read_line) so it can be fuzzed
 * without touching files or spawning processes (SSHCONFIG_NO_SIDE_EFFECTS).
 * Errors name the file and line, like ssh: "FILE line N: message".
 */
#ifndef SFTPFS_SSHCONFIG_H
#define SFTPFS_SSHCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* OpenSSH's own caps (readconf.h SSH_MAX_IDENTITY_FILES, SSH_MAX_HOSTS_FILES). */
#define SSHCONFIG_IDENTITY_FILES_MAX 100
#define SSHCONFIG_CERTIFICATE_FILES_MAX 100
#define SSHCONFIG_HOSTS_FILES_MAX 16
/* Bound on the -o entries one resolution accepts. */
#define SSHCONFIG_CMDLINE_OPTIONS_MAX 256

enum sshconfig_strict {
	SSHCONFIG_STRICT_UNSET = -1,
	SSHCONFIG_STRICT_NO = 0,     /* "no", "off", "false": add new keys silently */
	SSHCONFIG_STRICT_YES = 1,    /* refuse unknown keys */
	SSHCONFIG_STRICT_ASK = 2,    /* ask on the terminal */
	SSHCONFIG_STRICT_ACCEPT_NEW = 3,
};

enum sshconfig_pubkey_auth {
	SSHCONFIG_PUBKEY_UNSET = -1,
	SSHCONFIG_PUBKEY_NO = 0,
	SSHCONFIG_PUBKEY_UNBOUND = 1,
	SSHCONFIG_PUBKEY_HOST_BOUND = 2,
	SSHCONFIG_PUBKEY_YES = 3,
};

enum sshconfig_update_hostkeys {
	SSHCONFIG_UPDATE_HOSTKEYS_UNSET = -1,
	SSHCONFIG_UPDATE_HOSTKEYS_NO = 0,
	SSHCONFIG_UPDATE_HOSTKEYS_YES = 1,
	SSHCONFIG_UPDATE_HOSTKEYS_ASK = 2,
};

enum sshconfig_address_family {
	SSHCONFIG_AF_UNSET = -1,
	SSHCONFIG_AF_ANY = 0,
	SSHCONFIG_AF_INET = 1,
	SSHCONFIG_AF_INET6 = 2,
};

/*
 * The resolved configuration. After sshconfig_resolve every field holds its
 * value or ssh's default; strings stay NULL where ssh -G prints nothing.
 * Booleans are 0/1. Paths are as ssh keeps them: IdentityFile,
 * CertificateFile and GlobalKnownHostsFile raw (expand at use with
 * sshconfig_expand_path), UserKnownHostsFile and IdentityAgent already
 * expanded (ssh expands them right after reading the configuration).
 */
struct sshconfig {
	char *host_arg;  /* the host as given ("%n") */
	char *hostname;  /* HostName with %h expanded, lowercased ("%h") */
	char *user;      /* User, or the local user name */
	int port;
	char *identity_files[SSHCONFIG_IDENTITY_FILES_MAX];
	size_t n_identity_files;
	char *certificate_files[SSHCONFIG_CERTIFICATE_FILES_MAX];
	size_t n_certificate_files;
	int identities_only;
	char *identity_agent; /* NULL: SSH_AUTH_SOCK; "none"; a path or "$VAR" */
	char *user_known_hosts[SSHCONFIG_HOSTS_FILES_MAX];
	size_t n_user_known_hosts;
	char *global_known_hosts[SSHCONFIG_HOSTS_FILES_MAX];
	size_t n_global_known_hosts;
	int strict_host_key_checking; /* enum sshconfig_strict */
	int hash_known_hosts;
	int update_host_keys; /* enum sshconfig_update_hostkeys; sftpfs never updates */
	char *preferred_authentications;
	int pubkey_authentication; /* enum sshconfig_pubkey_auth */
	int password_authentication;
	int kbd_interactive_authentication;
	int batch_mode;
	int connect_timeout; /* seconds, -1 = none */
	int server_alive_interval;
	int server_alive_count_max;
	int tcp_keepalive;
	int compression;
	/* Algorithm lists as written (OpenSSH +/-/^ syntax), NULL = default.
	 * sshconfig_assemble_algs resolves them against an implementation's lists. */
	char *ciphers;
	char *kex_algorithms;
	char *macs;
	char *host_key_algorithms;
	char *pubkey_accepted_algorithms;
	int64_t rekey_limit;  /* bytes, 0 = default */
	int rekey_interval;   /* seconds, 0 = none */
	int address_family;   /* enum sshconfig_address_family */
	char *bind_address;
	char *proxy_command;  /* NULL when none or when ProxyJump is used */
	char *proxy_jump;     /* comma list of [user@]host[:port] hops, NULL = none */
	int log_level;        /* enum log_level */
	char *ignore_unknown;

	/* Local facts used by tokens (%u %d %i %l %L). */
	char *local_user;
	char *home_dir;
	unsigned local_uid;
};

/* Flags for sshconfig_args.flags and sshconfig_reader_new. */
enum {
	/* No Include, no Match exec: for fuzzing (never touches files or processes). */
	SSHCONFIG_NO_SIDE_EFFECTS = 1u << 0,
	/* Skip the permission check on user configuration files (tests only). */
	SSHCONFIG_NO_PERM_CHECK = 1u << 1,
};

struct sshconfig_args {
	const char *config_file;         /* -F: read only this file ("none": none) */
	const char *const *options;      /* -o entries, "Key=Value" or "Key Value" */
	size_t n_options;
	const char *user;                /* user@host or -l: wins over User */
	int port;                        /* -p: wins over Port; 0 = unset */
	const char *system_config;       /* NULL = /etc/ssh/ssh_config (tests override) */
	unsigned flags;
};

/* Resolves the configuration for host as ssh does. On ERR_CONFIG the message
 * (with file and line) has been logged and, when errmsg is not NULL, stored
 * there (caller frees). */
int sshconfig_resolve(const char *host, const struct sshconfig_args *a, struct sshconfig **out,
                      char **errmsg) MUST_CHECK;
void sshconfig_free(struct sshconfig *c);

/*
 * The line-at-a-time parser. A reader applies lines to a configuration being
 * built for one host; sshconfig_read_line is what the fuzzer drives.
 */
struct sshconfig_reader;
int sshconfig_reader_new(const char *host, unsigned flags, struct sshconfig_reader **out) MUST_CHECK;
/* Applies one line (without its newline) read from file:linenum. */
int sshconfig_read_line(struct sshconfig_reader *r, const char *line, const char *file,
                        unsigned linenum) MUST_CHECK;
/* The message of the last ERR_CONFIG ("file line N: ..."), borrowed. */
const char *sshconfig_reader_error(const struct sshconfig_reader *r);
void sshconfig_reader_free(struct sshconfig_reader *r);

/*
 * "~" and then %-tokens and ${ENV} in a path, as ssh expands IdentityFile,
 * CertificateFile, UserKnownHostsFile and IdentityAgent: %% %C %d %h %i %k
 * %L %l %n %p %r %u. An unknown token or an unset variable is ERR_CONFIG.
 */
int sshconfig_expand_path(const struct sshconfig *c, const char *in, char **out) MUST_CHECK;

/*
 * OpenSSH's kex_assemble_names(): spec is an explicit list of names or
 * patterns, or "+list" (append to def), "-list" (remove from def), "^list"
 * (prepend to def); NULL or "" means def. Names and patterns select from all,
 * in all's order. An empty result is ERR_CONFIG.
 */
int sshconfig_assemble_algs(const char *spec, const char *def, const char *all, char **out) MUST_CHECK;

enum sshconfig_alg_kind {
	SSHCONFIG_ALG_CIPHERS,
	SSHCONFIG_ALG_MACS,
	SSHCONFIG_ALG_KEX,
	SSHCONFIG_ALG_HOSTKEY,
	SSHCONFIG_ALG_PUBKEY,
	SSHCONFIG_ALG_KIND_COUNT,
};
/* OpenSSH 9.2's default and supported lists, which `ssh -G` resolves against. */
void sshconfig_openssh_algs(enum sshconfig_alg_kind kind, const char **def, const char **all);

/* One ProxyJump hop "[user@]host[:port]" or "ssh://[user@]host[:port]";
 * *port is 0 when absent. */
int sshconfig_parse_hop(const char *hop, char **user, char **host, int *port) MUST_CHECK;

/* OpenSSH pattern matching (match.c): '*' and '?' globbing, and comma lists
 * with '!' negation: 1 match, 0 no match, -1 negated match. */
bool sshconfig_match_pattern(const char *s, const char *pattern);
int sshconfig_match_pattern_list(const char *s, const char *list, bool dolower);

#endif
