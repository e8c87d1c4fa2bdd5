/*
 * knownhosts-tool.c - drives src/knownhosts from tests with real files:
 *   knownhosts-tool check FILE HOST PORT KEY.pub
 *       prints "ok FILE:LINE", "new", "changed FILE:LINE" or "revoked FILE:LINE"
 *   knownhosts-tool verify ask|yes|no|accept-new hash(0|1) batch(0|1) FILE HOST PORT KEY.pub
 *       runs the verify_host_key callback (asking on /dev/tty for "ask");
 *       exits 0 when accepted, 1 when refused (the error named on stdout).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keyfile.h"
#include "knownhosts.h"
#include "log.h"
#include "sshconfig.h"
#include "sshkey.h"

static int parse_port(const char *s, uint16_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*end != '\0' || v <= 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int do_check(char **argv)
{
	const char *files[] = { argv[0] };
	struct knownhosts_result res;
	struct sshkey *key = NULL;
	uint16_t port;
	int r;

	if (parse_port(argv[2], &port) != 0 || keyfile_load_public(argv[3], &key) != 0)
		return 2;
	r = knownhosts_check(files, 1, argv[1], port, key, (uint64_t)time(NULL), &res);
	sshkey_free(key);
	if (r != 0) {
		printf("error %s\n", err_str(r));
		return 1;
	}
	switch (res.status) {
	case KNOWNHOSTS_OK:
		printf("ok %s:%u\n", res.file, res.line);
		break;
	case KNOWNHOSTS_NEW:
		printf("new\n");
		break;
	case KNOWNHOSTS_CHANGED:
		printf("changed %s:%u\n", res.file, res.line);
		break;
	case KNOWNHOSTS_REVOKED:
		printf("revoked %s:%u\n", res.file, res.line);
		break;
	}
	knownhosts_result_clear(&res);
	return 0;
}

static int do_verify(char **argv)
{
	static const struct {
		const char *name;
		int value;
	} policies[] = {
		{ "ask", SSHCONFIG_STRICT_ASK }, { "yes", SSHCONFIG_STRICT_YES },
		{ "no", SSHCONFIG_STRICT_NO },   { "accept-new", SSHCONFIG_STRICT_ACCEPT_NEW },
	};
	const char *files[] = { argv[3] };
	struct knownhosts_verifier v = { .user_files = files, .n_user_files = 1, .strict = -1 };
	struct sshkey *key = NULL;
	uint16_t port;
	int r;

	for (size_t i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		if (strcmp(policies[i].name, argv[0]) == 0)
			v.strict = policies[i].value;
	}
	v.hash_known_hosts = strcmp(argv[1], "1") == 0;
	v.batch_mode = strcmp(argv[2], "1") == 0;
	if (v.strict < 0 || parse_port(argv[5], &port) != 0 || keyfile_load_public(argv[6], &key) != 0)
		return 2;
	r = knownhosts_verify(&v, argv[4], port, key);
	sshkey_free(key);
	knownhosts_verifier_clear(&v);
	printf("%s\n", r == 0 ? "accepted" : err_str(r));
	return r == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	log_set_level(LOG_LEVEL_INFO);
	if (argc == 6 && strcmp(argv[1], "check") == 0)
		return do_check(argv + 2);
	if (argc == 9 && strcmp(argv[1], "verify") == 0)
		return do_verify(argv + 2);
	fprintf(stderr, "usage: knownhosts-tool check FILE HOST PORT KEY.pub\n"
	                "       knownhosts-tool verify POLICY HASH BATCH FILE HOST PORT KEY.pub\n");
	return 2;
}
