/*
 * sshconfig-dump.c - resolves the ssh configuration for a host with
 * src/sshconfig and prints the keywords sftpfs implements in `ssh -G`
 * format (lowercase keyword, space, value), so tests can compare the output
 * line for line with OpenSSH's own resolver.
 *
 * Usage: sshconfig-dump [-F file] [-o Key=Value]... [-l user] [-p port]
 *                       [-S system_config] [user@]host
 * Exits 255 on a configuration error, like ssh.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sshconfig.h"

static const char *flag(int v)
{
	return v ? "yes" : "no";
}

static const char *strict_name(int v)
{
	switch (v) {
	case SSHCONFIG_STRICT_YES:
		return "true";
	case SSHCONFIG_STRICT_NO:
		return "false";
	case SSHCONFIG_STRICT_ACCEPT_NEW:
		return "accept-new";
	default:
		return "ask";
	}
}

static const char *pubkey_name(int v)
{
	switch (v) {
	case SSHCONFIG_PUBKEY_NO:
		return "false";
	case SSHCONFIG_PUBKEY_UNBOUND:
		return "unbound";
	case SSHCONFIG_PUBKEY_HOST_BOUND:
		return "host-bound";
	default:
		return "true";
	}
}

static const char *log_level_name(int v)
{
	static const char *const names[] = {
		[LOG_LEVEL_QUIET] = "SILENT", [LOG_LEVEL_FATAL] = "FATAL",     [LOG_LEVEL_ERROR] = "ERROR",
		[LOG_LEVEL_INFO] = "INFO",   [LOG_LEVEL_VERBOSE] = "VERBOSE", [LOG_LEVEL_DEBUG1] = "DEBUG",
		[LOG_LEVEL_DEBUG2] = "DEBUG2", [LOG_LEVEL_DEBUG3] = "DEBUG3",
	};

	return v >= 0 && v <= LOG_LEVEL_DEBUG3 ? names[v] : "INFO";
}

static int print_algs(const char *kw, const char *spec, enum sshconfig_alg_kind kind)
{
	const char *def, *all;
	char *list;

	sshconfig_openssh_algs(kind, &def, &all);
	if (sshconfig_assemble_algs(spec, def, all, &list) != 0) {
		fprintf(stderr, "sshconfig-dump: bad %s list\n", kw);
		return -1;
	}
	printf("%s %s\n", kw, list);
	free(list);
	return 0;
}

static void print_jump(const char *jump)
{
	const char *last = strrchr(jump, ',');
	char *user, *host;
	int port;

	last = last != NULL ? last + 1 : jump;
	if (sshconfig_parse_hop(last, &user, &host, &port) != 0) {
		printf("proxyjump %s\n", jump);
		return;
	}
	printf("proxyjump %.*s%s%s%s%s%s%s", (int)(last - jump), jump, user != NULL ? user : "",
	       user != NULL ? "@" : "", strchr(host, ':') != NULL ? "[" : "", host,
	       strchr(host, ':') != NULL ? "]" : "", port > 0 ? ":" : "");
	if (port > 0)
		printf("%d", port);
	printf("\n");
	free(user);
	free(host);
}

int main(int argc, char **argv)
{
	struct sshconfig_args a = { .config_file = NULL };
	const char *opts[SSHCONFIG_CMDLINE_OPTIONS_MAX];
	struct sshconfig *c = NULL;
	char *err = NULL, *host, *at;
	int ch, rc = 0;

	log_set_level(LOG_LEVEL_ERROR);
	while ((ch = getopt(argc, argv, "F:o:l:p:S:v")) != -1) {
		switch (ch) {
		case 'F':
			a.config_file = optarg;
			break;
		case 'o':
			if (a.n_options >= SSHCONFIG_CMDLINE_OPTIONS_MAX)
				return 255;
			opts[a.n_options++] = optarg;
			break;
		case 'l':
			if (a.user == NULL)
				a.user = optarg;
			break;
		case 'p':
			a.port = (int)strtol(optarg, NULL, 10);
			break;
		case 'S':
			a.system_config = optarg;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG3);
			log_set_categories(LOG_CAT_ALL);
			break;
		default:
			return 255;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: sshconfig-dump [-F file] [-o opt]... [user@]host\n");
		return 255;
	}
	a.options = opts;
	host = argv[optind];
	at = strrchr(host, '@');
	if (at != NULL) {
		*at = '\0';
		if (a.user == NULL)
			a.user = host;
		host = at + 1;
	}
	if (sshconfig_resolve(host, &a, &c, &err) != 0) {
		fprintf(stderr, "%s\n", err != NULL ? err : "configuration error");
		free(err);
		return 255;
	}
	printf("host %s\n", c->host_arg);
	printf("user %s\n", c->user);
	printf("hostname %s\n", c->hostname);
	printf("port %d\n", c->port);
	printf("addressfamily %s\n", c->address_family == SSHCONFIG_AF_INET ? "inet"
	                             : c->address_family == SSHCONFIG_AF_INET6 ? "inet6" : "any");
	printf("batchmode %s\n", flag(c->batch_mode));
	printf("compression %s\n", flag(c->compression));
	printf("hashknownhosts %s\n", flag(c->hash_known_hosts));
	printf("identitiesonly %s\n", flag(c->identities_only));
	printf("kbdinteractiveauthentication %s\n", flag(c->kbd_interactive_authentication));
	printf("passwordauthentication %s\n", flag(c->password_authentication));
	printf("pubkeyauthentication %s\n", pubkey_name(c->pubkey_authentication));
	printf("stricthostkeychecking %s\n", strict_name(c->strict_host_key_checking));
	printf("tcpkeepalive %s\n", flag(c->tcp_keepalive));
	printf("updatehostkeys %s\n", c->update_host_keys == SSHCONFIG_UPDATE_HOSTKEYS_ASK ? "ask"
	                              : c->update_host_keys ? "true" : "false");
	printf("serveralivecountmax %d\n", c->server_alive_count_max);
	printf("serveraliveinterval %d\n", c->server_alive_interval);
	if (c->bind_address != NULL)
		printf("bindaddress %s\n", c->bind_address);
	if (print_algs("ciphers", c->ciphers, SSHCONFIG_ALG_CIPHERS) != 0 ||
	    print_algs("hostkeyalgorithms", c->host_key_algorithms, SSHCONFIG_ALG_HOSTKEY) != 0 ||
	    print_algs("kexalgorithms", c->kex_algorithms, SSHCONFIG_ALG_KEX) != 0 ||
	    print_algs("macs", c->macs, SSHCONFIG_ALG_MACS) != 0 ||
	    print_algs("pubkeyacceptedalgorithms", c->pubkey_accepted_algorithms, SSHCONFIG_ALG_PUBKEY) != 0)
		rc = 255;
	if (c->identity_agent != NULL)
		printf("identityagent %s\n", c->identity_agent);
	printf("loglevel %s\n", log_level_name(c->log_level));
	if (c->preferred_authentications != NULL)
		printf("preferredauthentications %s\n", c->preferred_authentications);
	for (size_t i = 0; i < c->n_identity_files; i++)
		printf("identityfile %s\n", c->identity_files[i]);
	for (size_t i = 0; i < c->n_certificate_files; i++)
		printf("certificatefile %s\n", c->certificate_files[i]);
	printf("globalknownhostsfile");
	for (size_t i = 0; i < c->n_global_known_hosts; i++)
		printf(" %s", c->global_known_hosts[i]);
	printf("\nuserknownhostsfile");
	for (size_t i = 0; i < c->n_user_known_hosts; i++)
		printf(" %s", c->user_known_hosts[i]);
	printf("\n");
	if (c->connect_timeout < 0)
		printf("connecttimeout none\n");
	else
		printf("connecttimeout %d\n", c->connect_timeout);
	printf("rekeylimit %lld %d\n", (long long)c->rekey_limit, c->rekey_interval);
	if (c->proxy_command != NULL)
		printf("proxycommand %s\n", c->proxy_command);
	if (c->proxy_jump != NULL)
		print_jump(c->proxy_jump);
	sshconfig_free(c);
	return rc;
}
