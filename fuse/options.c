/*
 * options.c - the sftpfs command-line parser and its one option table.
 *
 * The table below is the single list of every `-o` name sftpfs knows: what
 * it sets, how --help describes it, and (by a test) what man/sftpfs.1 must
 * document. Names are matched exactly, as sshfs and libfuse do; a name that
 * is not in the table but is an OpenSSH ssh_config keyword (matched
 * case-insensitively, like ssh) is kept as "Keyword=value" for the ssh_config
 * resolver, which gives command-line values precedence over files.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"

enum opt_kind {
	OPT_FLAG,       /* no value; sets a bool field to .flag */
	OPT_BOOL,       /* yes|no value; sets a bool field */
	OPT_UINT,       /* decimal value into a uint32_t field */
	OPT_STRING,     /* value copied into a char * field */
	OPT_CUSTOM,     /* value (or none) handed to .parse */
	OPT_FUSE,       /* libfuse option without a value, passed through */
	OPT_FUSE_VALUE, /* libfuse option name=value, passed through */
	OPT_FSTAB,      /* fstab/mount(8) bookkeeping: accepted, dropped */
	OPT_REJECT,     /* meaningful only for a spawned ssh: refused with .help */
};

struct opt_spec {
	const char *name;
	enum opt_kind kind;
	size_t offset;   /* field in struct sftpfs_opts (FLAG/BOOL/UINT/STRING) */
	bool flag;       /* OPT_FLAG: value stored */
	bool prefix;     /* name matches as a prefix (x-systemd.*) */
	bool yes_no;     /* OPT_FLAG: also accepts =yes / =no */
	int (*parse)(struct sftpfs_opts *o, const char *value, char **errmsg);
	const char *arg; /* --help placeholder for the value */
	const char *help;
};

#define FIELD(f) offsetof(struct sftpfs_opts, f)

static int parse_idmap(struct sftpfs_opts *o, const char *v, char **errmsg);
static int parse_nomap(struct sftpfs_opts *o, const char *v, char **errmsg);
static int parse_workaround(struct sftpfs_opts *o, const char *v, char **errmsg);
static int parse_dcache_timeout(struct sftpfs_opts *o, const char *v, char **errmsg);
static int parse_max_conns(struct sftpfs_opts *o, const char *v, char **errmsg);
static int parse_write_lanes(struct sftpfs_opts *o, const char *v, char **errmsg);

/* clang-format off */
static const struct opt_spec opt_table[] = {
	/* sshfs 3.7 options, same meaning */
	{ .name = "reconnect", .kind = OPT_FLAG, .offset = FIELD(reconnect), .flag = true, .yes_no = true,
	  .arg = "[=yes|no]", .help = "reconnect to the server when the connection is lost (default yes)" },
	{ .name = "noreconnect", .kind = OPT_FLAG, .offset = FIELD(reconnect), .flag = false,
	  .help = "do not reconnect" },
	{ .name = "reconnect_timeout", .kind = OPT_UINT, .offset = FIELD(reconnect_timeout), .arg = "SECONDS",
	  .help = "how long an operation waits for a lost connection to come back before failing with EIO "
		  "(default 60)" },
	{ .name = "delay_connect", .kind = OPT_FLAG, .offset = FIELD(delay_connect), .flag = true,
	  .help = "connect on first access instead of at mount time" },
	{ .name = "sshfs_sync", .kind = OPT_FLAG, .offset = FIELD(sshfs_sync), .flag = true,
	  .help = "synchronous writes" },
	{ .name = "no_readahead", .kind = OPT_FLAG, .offset = FIELD(no_readahead), .flag = true,
	  .help = "synchronous reads (no speculative read-ahead)" },
	{ .name = "readahead_max", .kind = OPT_UINT, .offset = FIELD(readahead_max), .arg = "N",
	  .help = "largest read-ahead of one open file in bytes (default 16777216)" },
	{ .name = "dir_prefetch", .kind = OPT_UINT, .offset = FIELD(dir_prefetch), .arg = "N",
	  .help = "list up to N subdirectories of a listed directory ahead, in the background; 0 turns it off "
		  "(default 64)" },
	{ .name = "file_prefetch", .kind = OPT_UINT, .offset = FIELD(file_prefetch), .arg = "N",
	  .help = "once two files of a directory are opened for reading, read up to N of its next small files "
		  "ahead, in the background; 0 turns it off (default 32)" },
	{ .name = "sync_readdir", .kind = OPT_FLAG, .offset = FIELD(sync_readdir), .flag = true,
	  .help = "synchronous readdir" },
	{ .name = "sshfs_debug", .kind = OPT_FLAG, .offset = FIELD(debug), .flag = true,
	  .help = "print debugging information (like -d, without implying -f)" },
	{ .name = "sshfs_verbose", .kind = OPT_FLAG, .offset = FIELD(verbose), .flag = true,
	  .help = "print SSH and SFTP messages" },
	{ .name = "debug", .kind = OPT_FLAG, .offset = FIELD(debug), .flag = true,
	  .help = "same as -d" },
	{ .name = "verbose", .kind = OPT_FLAG, .offset = FIELD(verbose), .flag = true,
	  .help = "same as -v" },
	{ .name = "dir_cache", .kind = OPT_BOOL, .offset = FIELD(dir_cache), .arg = "yes|no",
	  .help = "cache directory contents, attributes and symlink targets (default yes)" },
	{ .name = "cache", .kind = OPT_BOOL, .offset = FIELD(dir_cache), .arg = "yes|no",
	  .help = "same as dir_cache" },
	{ .name = "dcache_max_size", .kind = OPT_UINT, .offset = FIELD(dcache_max_size), .arg = "N",
	  .help = "maximum number of cache entries; least recently used go first (default 10000)" },
	{ .name = "dcache_timeout", .kind = OPT_CUSTOM, .parse = parse_dcache_timeout, .arg = "N",
	  .help = "cache timeout in seconds for all cached items (default 20)" },
	{ .name = "dcache_stat_timeout", .kind = OPT_UINT, .offset = FIELD(dcache_stat_timeout), .arg = "N",
	  .help = "cache timeout for attributes and missing names (default: dcache_timeout)" },
	{ .name = "dcache_dir_timeout", .kind = OPT_UINT, .offset = FIELD(dcache_dir_timeout), .arg = "N",
	  .help = "cache timeout for directory listings (default: dcache_timeout)" },
	{ .name = "dcache_link_timeout", .kind = OPT_UINT, .offset = FIELD(dcache_link_timeout), .arg = "N",
	  .help = "cache timeout for symlink targets (default: dcache_timeout)" },
	{ .name = "dcache_clean_interval", .kind = OPT_UINT, .offset = FIELD(dcache_clean_interval), .arg = "N",
	  .help = "seconds between automatic cache cleanings (default 60)" },
	{ .name = "dcache_min_clean_interval", .kind = OPT_UINT, .offset = FIELD(dcache_min_clean_interval), .arg = "N",
	  .help = "seconds between forced cleanings of a full cache (default 5)" },
	{ .name = "cache_max_size", .kind = OPT_UINT, .offset = FIELD(dcache_max_size), .arg = "N",
	  .help = "same as dcache_max_size" },
	{ .name = "cache_timeout", .kind = OPT_CUSTOM, .parse = parse_dcache_timeout, .arg = "N",
	  .help = "same as dcache_timeout" },
	{ .name = "cache_stat_timeout", .kind = OPT_UINT, .offset = FIELD(dcache_stat_timeout), .arg = "N",
	  .help = "same as dcache_stat_timeout" },
	{ .name = "cache_dir_timeout", .kind = OPT_UINT, .offset = FIELD(dcache_dir_timeout), .arg = "N",
	  .help = "same as dcache_dir_timeout" },
	{ .name = "cache_link_timeout", .kind = OPT_UINT, .offset = FIELD(dcache_link_timeout), .arg = "N",
	  .help = "same as dcache_link_timeout" },
	{ .name = "cache_clean_interval", .kind = OPT_UINT, .offset = FIELD(dcache_clean_interval), .arg = "N",
	  .help = "same as dcache_clean_interval" },
	{ .name = "cache_min_clean_interval", .kind = OPT_UINT, .offset = FIELD(dcache_min_clean_interval), .arg = "N",
	  .help = "same as dcache_min_clean_interval" },
	{ .name = "direct_io", .kind = OPT_FLAG, .offset = FIELD(direct_io), .flag = true,
	  .help = "bypass the kernel page cache for file contents" },
	{ .name = "workaround", .kind = OPT_CUSTOM, .parse = parse_workaround, .arg = "LIST",
	  .help = "colon-separated list of none, all, [no]rename, [no]renamexdev, [no]truncate, "
		  "[no]buflimit, [no]fstat, [no]createmode" },
	{ .name = "idmap", .kind = OPT_CUSTOM, .parse = parse_idmap, .arg = "none|user|file",
	  .help = "user/group ID mapping: none, the connecting user only, or uidfile/gidfile" },
	{ .name = "uidfile", .kind = OPT_STRING, .offset = FIELD(uidfile), .arg = "FILE",
	  .help = "username:remote_uid lines for idmap=file" },
	{ .name = "gidfile", .kind = OPT_STRING, .offset = FIELD(gidfile), .arg = "FILE",
	  .help = "groupname:remote_gid lines for idmap=file" },
	{ .name = "nomap", .kind = OPT_CUSTOM, .parse = parse_nomap, .arg = "ignore|error",
	  .help = "with idmap=file, keep unmapped IDs (ignore) or fail the operation (error, default)" },
	{ .name = "sftp_server", .kind = OPT_STRING, .offset = FIELD(sftp_server), .arg = "SERV",
	  .help = "SFTP subsystem name, or path of a server program to run (default: subsystem sftp)" },
	{ .name = "directport", .kind = OPT_STRING, .offset = FIELD(directport), .arg = "PORT",
	  .help = "connect to an SFTP server listening on TCP PORT of host, without SSH" },
	{ .name = "passive", .kind = OPT_FLAG, .offset = FIELD(passive), .flag = true,
	  .help = "speak SFTP over stdin and stdout, without SSH or network" },
	{ .name = "slave", .kind = OPT_FLAG, .offset = FIELD(passive), .flag = true,
	  .help = "same as passive" },
	{ .name = "disable_hardlink", .kind = OPT_FLAG, .offset = FIELD(disable_hardlink), .flag = true,
	  .help = "link(2) fails with ENOSYS" },
	{ .name = "transform_symlinks", .kind = OPT_FLAG, .offset = FIELD(transform_symlinks), .flag = true,
	  .help = "show absolute symlinks inside the remote directory as relative ones" },
	{ .name = "contain_symlinks", .kind = OPT_FLAG, .offset = FIELD(contain_symlinks), .flag = true,
	  .help = "hide absolute symlink targets and targets containing .. (readlink fails with EPERM)" },
	{ .name = "no_contain_symlinks", .kind = OPT_FLAG, .offset = FIELD(contain_symlinks), .flag = false,
	  .help = "show every symlink target as it is (default)" },
	{ .name = "follow_symlinks", .kind = OPT_FLAG, .offset = FIELD(follow_symlinks), .flag = true,
	  .help = "follow symlinks on the server (stat instead of lstat)" },
	{ .name = "no_check_root", .kind = OPT_FLAG, .offset = FIELD(no_check_root), .flag = true,
	  .help = "do not check at mount time that dir exists on the server" },
	{ .name = "password_stdin", .kind = OPT_FLAG, .offset = FIELD(password_stdin), .flag = true,
	  .help = "read the password from stdin" },
	{ .name = "max_conns", .kind = OPT_CUSTOM, .parse = parse_max_conns, .arg = "N",
	  .help = "number of parallel SSH connections (default 1)" },
	{ .name = "write_lanes", .kind = OPT_CUSTOM, .parse = parse_write_lanes, .arg = "N",
	  .help = "SFTP channels a large sequential write is spread over (default 4, 1 = one)" },
	{ .name = "write_lanes_rtt", .kind = OPT_UINT, .offset = FIELD(write_lanes_rtt), .arg = "MS",
	  .help = "spread writes over lanes only when the connection's round trip is at least MS milliseconds "
		  "(default 5; 0 = always)" },
	{ .name = "max_write", .kind = OPT_UINT, .offset = FIELD(max_write), .arg = "N",
	  .help = "largest SFTP WRITE in bytes (default: the server's limit)" },
	{ .name = "ssh_command", .kind = OPT_REJECT,
	  .help = "sftpfs has its own SSH client and runs no ssh command; use ssh_config "
		  "options instead (-F FILE, -o ProxyCommand=..., -o ProxyJump=...)" },
	{ .name = "ssh_protocol", .kind = OPT_REJECT,
	  .help = "sftpfs always speaks SSH protocol 2; remove the option" },

	/* libfuse options, passed to libfuse */
	{ .name = "allow_other", .kind = OPT_FUSE, .help = "allow access by all users" },
	{ .name = "allow_root", .kind = OPT_FUSE, .help = "allow access by root" },
	{ .name = "default_permissions", .kind = OPT_FUSE, .help = "let the kernel check permissions from file modes" },
	{ .name = "auto_unmount", .kind = OPT_FUSE, .help = "unmount when the sftpfs process ends" },
	{ .name = "ro", .kind = OPT_FUSE, .help = "mount read-only" },
	{ .name = "rw", .kind = OPT_FUSE, .help = "mount read-write (default)" },
	{ .name = "nosuid", .kind = OPT_FUSE, .help = "ignore set-user-ID bits" },
	{ .name = "suid", .kind = OPT_FUSE, .help = "honour set-user-ID bits" },
	{ .name = "nodev", .kind = OPT_FUSE, .help = "ignore device files" },
	{ .name = "dev", .kind = OPT_FUSE, .help = "honour device files" },
	{ .name = "noexec", .kind = OPT_FUSE, .help = "forbid execution" },
	{ .name = "exec", .kind = OPT_FUSE, .help = "allow execution" },
	{ .name = "noatime", .kind = OPT_FUSE, .help = "do not update access times" },
	{ .name = "atime", .kind = OPT_FUSE, .help = "update access times" },
	{ .name = "sync", .kind = OPT_FUSE, .help = "synchronous I/O on the mount" },
	{ .name = "async", .kind = OPT_FUSE, .help = "asynchronous I/O on the mount (default)" },
	{ .name = "dirsync", .kind = OPT_FUSE, .help = "synchronous directory updates" },
	{ .name = "kernel_cache", .kind = OPT_FUSE, .help = "keep file contents in the kernel cache across opens" },
	{ .name = "auto_cache", .kind = OPT_FUSE, .help = "keep cached contents while size and mtime are unchanged" },
	{ .name = "noauto_cache", .kind = OPT_FUSE, .help = "drop cached contents on every open" },
	{ .name = "no_rofd_flush", .kind = OPT_FUSE, .help = "do not flush read-only file descriptors on close" },
	{ .name = "noforget", .kind = OPT_FUSE, .help = "never forget cached inodes" },
	{ .name = "uid", .kind = OPT_FUSE_VALUE, .arg = "N", .help = "show every file as owned by user N" },
	{ .name = "gid", .kind = OPT_FUSE_VALUE, .arg = "N", .help = "show every file as owned by group N" },
	{ .name = "umask", .kind = OPT_FUSE_VALUE, .arg = "M", .help = "mask file permissions with octal M" },
	{ .name = "fsname", .kind = OPT_FUSE_VALUE, .arg = "NAME", .help = "source shown in mount tables (default: the remote)" },
	{ .name = "subtype", .kind = OPT_FUSE_VALUE, .arg = "TYPE", .help = "file system subtype (default sftpfs)" },
	{ .name = "max_read", .kind = OPT_FUSE_VALUE, .arg = "N", .help = "largest read request from the kernel" },
	{ .name = "entry_timeout", .kind = OPT_FUSE_VALUE, .arg = "T", .help = "kernel cache timeout for names (seconds)" },
	{ .name = "negative_timeout", .kind = OPT_FUSE_VALUE, .arg = "T", .help = "kernel cache timeout for missing names" },
	{ .name = "attr_timeout", .kind = OPT_FUSE_VALUE, .arg = "T", .help = "kernel cache timeout for attributes" },
	{ .name = "ac_attr_timeout", .kind = OPT_FUSE_VALUE, .arg = "T", .help = "auto_cache timeout for attributes" },
	{ .name = "remember", .kind = OPT_FUSE_VALUE, .arg = "T", .help = "remember inodes for T seconds" },
	{ .name = "modules", .kind = OPT_FUSE_VALUE, .arg = "M1[:M2...]", .help = "libfuse modules to stack (subdir, iconv)" },

	/* fstab and mount(8) bookkeeping, accepted and ignored */
	{ .name = "defaults", .kind = OPT_FSTAB, .help = "fstab: accepted and ignored" },
	{ .name = "auto", .kind = OPT_FSTAB, .help = "fstab: accepted and ignored" },
	{ .name = "noauto", .kind = OPT_FSTAB, .help = "fstab: accepted and ignored" },
	{ .name = "nofail", .kind = OPT_FSTAB, .help = "fstab: accepted and ignored" },
	{ .name = "_netdev", .kind = OPT_FSTAB, .help = "fstab: accepted and ignored" },
	{ .name = "user", .kind = OPT_FSTAB, .help = "fstab: accepted and ignored (User=NAME sets the remote user)" },
	{ .name = "nouser", .kind = OPT_FSTAB, .help = "fstab: accepted and ignored" },
	{ .name = "users", .kind = OPT_FSTAB, .help = "fstab: accepted and ignored" },
	{ .name = "x-systemd.", .kind = OPT_FSTAB, .prefix = true, .help = "fstab: x-systemd.* accepted and ignored" },
	{ .name = "comment=", .kind = OPT_FSTAB, .prefix = true, .help = "fstab: comment=* accepted and ignored" },
};
/* clang-format on */

/*
 * OpenSSH 9.2 ssh_config(5) keywords. `-o Keyword=value` with one of these
 * is handed to the ssh_config resolver; matching is case-insensitive.
 */
static const char *const ssh_keywords[] = {
	"AddKeysToAgent", "AddressFamily", "BatchMode", "BindAddress", "BindInterface",
	"CanonicalDomains", "CanonicalizeFallbackLocal", "CanonicalizeHostname",
	"CanonicalizeMaxDots", "CanonicalizePermittedCNAMEs", "CASignatureAlgorithms",
	"CertificateFile", "CheckHostIP", "Ciphers", "ClearAllForwardings", "Compression",
	"ConnectionAttempts", "ConnectTimeout", "ControlMaster", "ControlPath", "ControlPersist",
	"DynamicForward", "EnableEscapeCommandline", "EnableSSHKeysign", "EscapeChar",
	"ExitOnForwardFailure", "FingerprintHash", "ForkAfterAuthentication", "ForwardAgent",
	"ForwardX11", "ForwardX11Timeout", "ForwardX11Trusted", "GatewayPorts",
	"GlobalKnownHostsFile", "GSSAPIAuthentication", "GSSAPIClientIdentity",
	"GSSAPIDelegateCredentials", "GSSAPIKeyExchange", "GSSAPIRenewalForcesRekey",
	"GSSAPIServerIdentity", "GSSAPITrustDns", "GSSAPIKexAlgorithms", "HashKnownHosts",
	"HostbasedAcceptedAlgorithms", "HostbasedAuthentication", "HostKeyAlgorithms",
	"HostKeyAlias", "Hostname", "IdentitiesOnly", "IdentityAgent", "IdentityFile",
	"IgnoreUnknown", "Include", "IPQoS", "KbdInteractiveAuthentication", "KbdInteractiveDevices",
	"KexAlgorithms", "KnownHostsCommand", "LocalCommand", "LocalForward", "LogLevel",
	"LogVerbose", "MACs", "NoHostAuthenticationForLocalhost", "NumberOfPasswordPrompts",
	"PasswordAuthentication", "PermitLocalCommand", "PermitRemoteOpen", "PKCS11Provider",
	"Port", "PreferredAuthentications", "ProxyCommand", "ProxyJump", "ProxyUseFdpass",
	"PubkeyAcceptedAlgorithms", "PubkeyAcceptedKeyTypes", "PubkeyAuthentication",
	"RekeyLimit", "RemoteCommand", "RemoteForward", "RequestTTY", "RequiredRSASize",
	"RevokedHostKeys", "SecurityKeyProvider", "SendEnv", "ServerAliveCountMax",
	"ServerAliveInterval", "SessionType", "SetEnv", "StdinNull", "StreamLocalBindMask",
	"StreamLocalBindUnlink", "StrictHostKeyChecking", "SyslogFacility", "TCPKeepAlive",
	"Tunnel", "TunnelDevice", "UpdateHostKeys", "User", "UserKnownHostsFile",
	"VerifyHostKeyDNS", "VisualHostKey", "XAuthLocation",
};

static const char *ssh_keyword_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < G_N_ELEMENTS(ssh_keywords); i++) {
		if (strlen(ssh_keywords[i]) == len && g_ascii_strncasecmp(ssh_keywords[i], name, len) == 0)
			return ssh_keywords[i];
	}
	return NULL;
}

bool sftpfs_is_ssh_keyword(const char *name, size_t len)
{
	return ssh_keyword_lookup(name, len) != NULL;
}

void sftpfs_opts_init(struct sftpfs_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ssh_options = g_ptr_array_new_with_free_func(g_free);
	o->fuse_options = g_ptr_array_new_with_free_func(g_free);
	o->dir_cache = true;
	o->reconnect = true;
	o->reconnect_timeout = 60;
	o->max_conns = 1;
	o->write_lanes = WRITE_LANES_DEFAULT;
	o->write_lanes_rtt = WRITE_LANES_RTT_DEFAULT;
	o->max_write = OPT_UNSET;
	o->readahead_max = OPT_UNSET;
	o->dir_prefetch = DIR_PREFETCH_DEFAULT;
	o->file_prefetch = FILE_PREFETCH_DEFAULT;
	o->dcache_timeout = OPT_UNSET;
	o->dcache_stat_timeout = OPT_UNSET;
	o->dcache_dir_timeout = OPT_UNSET;
	o->dcache_link_timeout = OPT_UNSET;
	o->dcache_max_size = OPT_UNSET;
	o->dcache_clean_interval = OPT_UNSET;
	o->dcache_min_clean_interval = OPT_UNSET;
}

void sftpfs_opts_clear(struct sftpfs_opts *o)
{
	g_free(o->user);
	g_free(o->host);
	g_free(o->remote_dir);
	g_free(o->mountpoint);
	g_free(o->config_file);
	g_free(o->uidfile);
	g_free(o->gidfile);
	g_free(o->sftp_server);
	g_free(o->directport);
	if (o->ssh_options != NULL)
		g_ptr_array_free(o->ssh_options, TRUE);
	if (o->fuse_options != NULL)
		g_ptr_array_free(o->fuse_options, TRUE);
	memset(o, 0, sizeof(*o));
}

/* A decimal number 0..UINT32_MAX-1 with nothing around it. */
static int parse_u32(const char *s, uint32_t *out)
{
	char *end = NULL;
	unsigned long long v;

	*out = 0;
	if (s == NULL || *s < '0' || *s > '9')
		return ERR_CONFIG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v >= OPT_UNSET)
		return ERR_CONFIG;
	*out = (uint32_t)v;
	return 0;
}

static int fail(char **errmsg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char **errmsg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	g_free(*errmsg);
	*errmsg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	/* One line, whatever the user typed into the quoted argument. */
	for (char *p = *errmsg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	}
	return ERR_CONFIG;
}

static int parse_idmap(struct sftpfs_opts *o, const char *v, char **errmsg)
{
	if (strcmp(v, "none") == 0)
		o->idmap = IDMAP_NONE;
	else if (strcmp(v, "user") == 0)
		o->idmap = IDMAP_USER;
	else if (strcmp(v, "file") == 0)
		o->idmap = IDMAP_FILE;
	else
		return fail(errmsg, "idmap=%s: expected none, user or file", v);
	return 0;
}

static int parse_nomap(struct sftpfs_opts *o, const char *v, char **errmsg)
{
	if (strcmp(v, "ignore") == 0)
		o->nomap = NOMAP_IGNORE;
	else if (strcmp(v, "error") == 0)
		o->nomap = NOMAP_ERROR;
	else
		return fail(errmsg, "nomap=%s: expected ignore or error", v);
	return 0;
}

static const struct {
	const char *name;
	unsigned bit;
} workaround_table[] = {
	{ .name = "rename", .bit = WORKAROUND_RENAME },
	{ .name = "renamexdev", .bit = WORKAROUND_RENAMEXDEV },
	{ .name = "truncate", .bit = WORKAROUND_TRUNCATE },
	{ .name = "buflimit", .bit = WORKAROUND_BUFLIMIT },
	{ .name = "fstat", .bit = WORKAROUND_FSTAT },
	{ .name = "createmode", .bit = WORKAROUND_CREATEMODE },
};

static int parse_workaround(struct sftpfs_opts *o, const char *v, char **errmsg)
{
	g_auto(GStrv) items = g_strsplit(v, ":", -1);

	for (size_t i = 0; items[i] != NULL; i++) {
		const char *w = items[i];
		bool off = false;
		bool found = false;

		if (*w == '\0')
			continue;
		if (strcmp(w, "none") == 0) {
			o->workarounds = 0;
			continue;
		}
		if (strcmp(w, "all") == 0) {
			o->workarounds = WORKAROUND_ALL;
			continue;
		}
		if (strncmp(w, "no", 2) == 0) {
			off = true;
			w += 2;
		}
		for (size_t j = 0; j < G_N_ELEMENTS(workaround_table); j++) {
			if (strcmp(w, workaround_table[j].name) == 0) {
				if (off)
					o->workarounds &= ~workaround_table[j].bit;
				else
					o->workarounds |= workaround_table[j].bit;
				found = true;
			}
		}
		if (!found)
			return fail(errmsg, "workaround=%s: unknown workaround '%s'", v, items[i]);
	}
	return 0;
}

static int parse_dcache_timeout(struct sftpfs_opts *o, const char *v, char **errmsg)
{
	uint32_t t;

	if (parse_u32(v, &t) != 0)
		return fail(errmsg, "dcache_timeout=%s: expected a number of seconds", v);
	o->dcache_timeout = t;
	return 0;
}

static int parse_max_conns(struct sftpfs_opts *o, const char *v, char **errmsg)
{
	uint32_t n;

	if (parse_u32(v, &n) != 0 || n < 1 || n > 32)
		return fail(errmsg, "max_conns=%s: expected a number from 1 to 32", v);
	o->max_conns = n;
	return 0;
}

static int parse_write_lanes(struct sftpfs_opts *o, const char *v, char **errmsg)
{
	uint32_t n;

	if (parse_u32(v, &n) != 0 || n < 1 || n > WRITE_LANES_MAX)
		return fail(errmsg, "write_lanes=%s: expected a number from 1 to %u", v, WRITE_LANES_MAX);
	o->write_lanes = n;
	return 0;
}

static const struct opt_spec *opt_lookup(const char *name, size_t len, const char *full)
{
	for (size_t i = 0; i < G_N_ELEMENTS(opt_table); i++) {
		const struct opt_spec *s = &opt_table[i];

		if (s->prefix) {
			if (g_str_has_prefix(full, s->name))
				return s;
		} else if (strlen(s->name) == len && memcmp(s->name, name, len) == 0) {
			return s;
		}
	}
	return NULL;
}

/* One option "name" or "name=value" (ssh keywords also "Name value"). */
static int parse_one(struct sftpfs_opts *o, const char *opt, char **errmsg)
{
	const char *eq = strchr(opt, '=');
	size_t nlen = eq != NULL ? (size_t)(eq - opt) : strlen(opt);
	const char *value = eq != NULL ? eq + 1 : NULL;
	const struct opt_spec *s;
	const char *kw;
	uint32_t u;

	if (*opt == '\0')
		return 0; /* "a,,b" and trailing commas, as libfuse allows */
	s = opt_lookup(opt, nlen, opt);
	if (s == NULL) {
		/* ssh_config keywords: "Keyword=value" or "Keyword value". */
		size_t klen = strcspn(opt, "= \t");
		kw = ssh_keyword_lookup(opt, klen);
		if (kw == NULL)
			return fail(errmsg, "unknown option '%.*s' (see sftpfs --help)", (int)nlen, opt);
		value = opt + klen;
		value += strspn(value, " \t");
		if (*value == '=')
			value++;
		value += strspn(value, " \t");
		if (*value == '\0')
			return fail(errmsg, "option '%s' needs a value (%s=VALUE)", kw, kw);
		g_ptr_array_add(o->ssh_options, g_strdup_printf("%s=%s", kw, value));
		return 0;
	}
	if (value == NULL && (s->kind == OPT_BOOL || s->kind == OPT_UINT || s->kind == OPT_STRING ||
			      s->kind == OPT_CUSTOM || s->kind == OPT_FUSE_VALUE))
		return fail(errmsg, "option '%s' needs a value (%s=%s)", s->name, s->name, s->arg);
	if (value != NULL && s->yes_no) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return fail(errmsg, "%s=%s: expected yes or no", s->name, value);
		*(bool *)((char *)o + s->offset) = strcmp(value, "yes") == 0;
		return 0;
	}
	if (value != NULL && !s->prefix &&
	    (s->kind == OPT_FLAG || s->kind == OPT_FUSE || s->kind == OPT_FSTAB)) {
		/* "user=bob" is the ssh_config User keyword, not fstab's "user". */
		kw = ssh_keyword_lookup(opt, nlen);
		if (kw != NULL && *value != '\0') {
			g_ptr_array_add(o->ssh_options, g_strdup_printf("%s=%s", kw, value));
			return 0;
		}
		return fail(errmsg, "option '%s' takes no value", s->name);
	}
	switch (s->kind) {
	case OPT_FLAG:
		*(bool *)((char *)o + s->offset) = s->flag;
		return 0;
	case OPT_BOOL:
		if (strcmp(value, "yes") == 0)
			*(bool *)((char *)o + s->offset) = true;
		else if (strcmp(value, "no") == 0)
			*(bool *)((char *)o + s->offset) = false;
		else
			return fail(errmsg, "%s=%s: expected yes or no", s->name, value);
		return 0;
	case OPT_UINT:
		if (parse_u32(value, &u) != 0)
			return fail(errmsg, "%s=%s: expected a non-negative number", s->name, value);
		*(uint32_t *)((char *)o + s->offset) = u;
		return 0;
	case OPT_STRING: {
		char **field = (char **)((char *)o + s->offset);
		if (*value == '\0')
			return fail(errmsg, "option '%s' needs a value (%s=%s)", s->name, s->name, s->arg);
		g_free(*field);
		*field = g_strdup(value);
		return 0;
	}
	case OPT_CUSTOM:
		return s->parse(o, value, errmsg);
	case OPT_FUSE:
	case OPT_FUSE_VALUE:
		g_ptr_array_add(o->fuse_options, g_strdup(opt));
		return 0;
	case OPT_FSTAB:
		return 0;
	case OPT_REJECT:
		return fail(errmsg, "option '%s' is not supported: %s", s->name, s->help);
	}
	return fail(errmsg, "option '%s': internal error", s->name);
}

int sftpfs_opts_parse_olist(struct sftpfs_opts *o, const char *list, char **errmsg)
{
	GString *cur = g_string_new(NULL);
	int r = 0;

	for (const char *p = list;; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			g_string_append_c(cur, *p);
		} else if (*p == ',' || *p == '\0') {
			r = parse_one(o, cur->str, errmsg);
			g_string_truncate(cur, 0);
			if (r != 0 || *p == '\0')
				break;
		} else {
			g_string_append_c(cur, *p);
		}
	}
	g_string_free(cur, TRUE);
	return r;
}

/*
 * "[user@]host:[dir]": the separator is the first ':' outside IPv6
 * brackets; the user is everything before the last '@' of the left part.
 */
static int parse_remote(struct sftpfs_opts *o, const char *spec, char **errmsg)
{
	const char *sep = NULL;
	const char *at;
	const char *host;
	bool bracket = false;
	size_t hlen;

	for (const char *p = spec; *p != '\0'; p++) {
		if (*p == '[')
			bracket = true;
		else if (*p == ']')
			bracket = false;
		else if (*p == ':' && !bracket) {
			sep = p;
			break;
		}
	}
	if (sep == NULL)
		return fail(errmsg, "'%s': the remote must be written [user@]host:[dir]", spec);
	at = NULL;
	for (const char *p = spec; p < sep; p++) {
		if (*p == '@')
			at = p;
	}
	host = at != NULL ? at + 1 : spec;
	hlen = (size_t)(sep - host);
	if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	}
	if (hlen == 0 || memchr(host, '[', hlen) != NULL || memchr(host, ']', hlen) != NULL)
		return fail(errmsg, "'%s': missing or malformed host name", spec);
	if (at != NULL && at == spec)
		return fail(errmsg, "'%s': empty user name before '@'", spec);
	g_free(o->user);
	g_free(o->host);
	g_free(o->remote_dir);
	o->user = at != NULL ? g_strndup(spec, (size_t)(at - spec)) : NULL;
	o->host = g_strndup(host, hlen);
	o->remote_dir = g_strdup(sep + 1);
	return 0;
}

/* "-p 22" and "-p22" alike; returns the value or NULL (error set). */
static const char *short_value(int argc, char **argv, int *i, size_t flag_len, char **errmsg)
{
	const char *a = argv[*i];

	if (a[flag_len] != '\0')
		return a + flag_len;
	if (*i + 1 >= argc) {
		fail(errmsg, "option '%s' needs an argument", a);
		return NULL;
	}
	(*i)++;
	return argv[*i];
}

int sftpfs_opts_parse(struct sftpfs_opts *o, int argc, char **argv, char **errmsg)
{
	int positional = 0;
	bool only_positional = false;
	const char *v;
	uint32_t port;

	*errmsg = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (only_positional || a[0] != '-' || a[1] == '\0') {
			if (positional == 0) {
				if (parse_remote(o, a, errmsg) != 0)
					return ERR_CONFIG;
			} else if (positional == 1) {
				o->mountpoint = g_strdup(a);
			} else {
				return fail(errmsg, "unexpected argument '%s'", a);
			}
			positional++;
		} else if (strcmp(a, "--") == 0) {
			only_positional = true;
		} else if (strncmp(a, "-o", 2) == 0) {
			if ((v = short_value(argc, argv, &i, 2, errmsg)) == NULL)
				return ERR_CONFIG;
			if (sftpfs_opts_parse_olist(o, v, errmsg) != 0)
				return ERR_CONFIG;
		} else if (strncmp(a, "-p", 2) == 0) {
			if ((v = short_value(argc, argv, &i, 2, errmsg)) == NULL)
				return ERR_CONFIG;
			if (parse_u32(v, &port) != 0 || port == 0 || port > 65535)
				return fail(errmsg, "-p %s: expected a port number 1-65535", v);
			g_ptr_array_add(o->ssh_options, g_strdup_printf("Port=%u", port));
		} else if (strncmp(a, "-F", 2) == 0) {
			if ((v = short_value(argc, argv, &i, 2, errmsg)) == NULL)
				return ERR_CONFIG;
			g_free(o->config_file);
			o->config_file = g_strdup(v);
		} else if (strcmp(a, "-C") == 0) {
			g_ptr_array_add(o->ssh_options, g_strdup("Compression=yes"));
		} else if (strcmp(a, "-f") == 0) {
			o->foreground = true;
		} else if (strcmp(a, "-d") == 0 || strcmp(a, "--debug") == 0) {
			o->debug = true;
			o->foreground = true;
		} else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			o->verbose = true;
		} else if (strcmp(a, "-s") == 0) {
			o->single_thread = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			o->show_help = true;
		} else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
			o->show_version = true;
		} else if (strcmp(a, "-1") == 0) {
			return fail(errmsg, "-1: sftpfs always speaks SSH protocol 2; remove the option");
		} else {
			return fail(errmsg, "unknown option '%s' (see sftpfs --help)", a);
		}
	}
	if (o->show_help || o->show_version)
		return 0;
	if (positional == 0)
		return fail(errmsg, "missing the remote ([user@]host:[dir]) and the mount point");
	if (positional == 1)
		return fail(errmsg, "missing the mount point");
	if (o->idmap == IDMAP_FILE && o->uidfile == NULL && o->gidfile == NULL)
		return fail(errmsg, "idmap=file needs uidfile=FILE and/or gidfile=FILE");
	if (o->passive && o->directport != NULL)
		return fail(errmsg, "passive and directport cannot be combined");
	return 0;
}

const char *sftpfs_opts_ssh_value(const struct sftpfs_opts *o, const char *keyword)
{
	size_t klen = strlen(keyword);

	for (guint i = o->ssh_options->len; i-- > 0;) {
		const char *s = g_ptr_array_index(o->ssh_options, i);
		if (g_ascii_strncasecmp(s, keyword, klen) == 0 && s[klen] == '=')
			return s + klen + 1;
	}
	return NULL;
}

const char *const *sftpfs_opts_names(void)
{
	static const char *names[G_N_ELEMENTS(opt_table) + 1];

	for (size_t i = 0; i < G_N_ELEMENTS(opt_table); i++)
		names[i] = opt_table[i].name;
	names[G_N_ELEMENTS(opt_table)] = NULL;
	return names;
}

void sftpfs_opts_help(FILE *out)
{
	static const char *const heading[] = {
		[OPT_FLAG] = "sftpfs and sshfs options",
		[OPT_FUSE] = "libfuse options (passed through)",
		[OPT_FSTAB] = "fstab options (accepted and ignored)",
	};
	const char *last = NULL;

	fprintf(out,
		"usage: sftpfs [user@]host:[dir] mountpoint [options]\n"
		"\n"
		"  host: alone mounts the remote home; a relative dir is relative to it;\n"
		"  an IPv6 address is written in brackets: [::1]:dir.\n"
		"\n"
		"    -h, --help             print this help\n"
		"    -V, --version          print the version\n"
		"    -f                     stay in the foreground\n"
		"    -d, --debug            print debugging information (implies -f)\n"
		"    -v, --verbose          print SSH and SFTP messages\n"
		"    -s                     single-threaded operation\n"
		"    -p PORT                same as -o Port=PORT\n"
		"    -C                     same as -o Compression=yes\n"
		"    -F FILE                read this ssh_config file instead of ~/.ssh/config\n"
		"    -o OPT[,OPT...]        options, below\n"
		"    -o Keyword=VALUE       any ssh_config(5) keyword (IdentityFile, User, Port,\n"
		"                           ProxyJump, StrictHostKeyChecking, Ciphers, ...),\n"
		"                           case-insensitive, overriding the config files\n");
	for (size_t i = 0; i < G_N_ELEMENTS(opt_table); i++) {
		const struct opt_spec *s = &opt_table[i];
		enum opt_kind k = s->kind;
		const char *h;
		g_autofree char *left = NULL;

		if (k == OPT_FUSE_VALUE)
			k = OPT_FUSE;
		else if (k != OPT_FUSE && k != OPT_FSTAB)
			k = OPT_FLAG;
		h = heading[k];
		if (h != last) {
			fprintf(out, "\n%s:\n", h);
			last = h;
		}
		if (s->prefix)
			left = g_strdup_printf("%s*", s->name);
		else if (s->yes_no)
			left = g_strdup_printf("%s%s", s->name, s->arg);
		else if (s->arg != NULL)
			left = g_strdup_printf("%s=%s", s->name, s->arg);
		else
			left = g_strdup(s->name);
		if (s->kind == OPT_REJECT)
			fprintf(out, "    -o %-22s refused: %s\n", left, s->help);
		else
			fprintf(out, "    -o %-22s %s\n", left, s->help);
	}
}
