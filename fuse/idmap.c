/*
 * idmap.c - sshfs's user and group ID mapping between the server's numbers
 * and local ones: idmap=none (numbers as they are), idmap=user (the remote
 * login's uid/gid shown as the local user's, and back), idmap=file (uidfile
 * and gidfile with "name:remote_id" lines, names resolved locally; unmapped
 * IDs kept with nomap=ignore, refused with nomap=error).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limits.h"
#include "sftpfs.h"

/* One "name:id" file into two maps; lookup resolves name to a local ID. */
static int read_map(const char *path, bool groups, GHashTable *r2l, GHashTable *l2r, char **errmsg)
{
	g_autofree char *text = NULL;
	g_auto(GStrv) lines = NULL;
	GError *gerr = NULL;
	gsize len = 0;

	if (!g_file_get_contents(path, &text, &len, &gerr)) {
		*errmsg = g_strdup_printf("%s: %s", path, gerr->message);
		g_error_free(gerr);
		return ERR_CONFIG;
	}
	lines = g_strsplit(text, "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]);
		char *colon;
		char *end = NULL;
		unsigned long remote;
		long local;

		if (*line == '\0' || *line == '#')
			continue;
		if (strlen(line) > CONFIG_LINE_MAX || (colon = strrchr(line, ':')) == NULL) {
			*errmsg = g_strdup_printf("%s:%zu: expected name:id", path, i + 1);
			return ERR_CONFIG;
		}
		*colon = '\0';
		errno = 0;
		remote = strtoul(colon + 1, &end, 10);
		if (errno != 0 || end == colon + 1 || *end != '\0' || remote > UINT32_MAX - 1) {
			*errmsg = g_strdup_printf("%s:%zu: bad id '%s'", path, i + 1, colon + 1);
			return ERR_CONFIG;
		}
		if (groups) {
			struct group *g = getgrnam(line);
			if (g == NULL) {
				*errmsg = g_strdup_printf("%s:%zu: unknown local group '%s'", path, i + 1, line);
				return ERR_CONFIG;
			}
			local = (long)g->gr_gid;
		} else {
			struct passwd *p = getpwnam(line);
			if (p == NULL) {
				*errmsg = g_strdup_printf("%s:%zu: unknown local user '%s'", path, i + 1, line);
				return ERR_CONFIG;
			}
			local = (long)p->pw_uid;
		}
		g_hash_table_insert(r2l, GUINT_TO_POINTER(remote + 1), GUINT_TO_POINTER((unsigned long)local + 1));
		g_hash_table_insert(l2r, GUINT_TO_POINTER((unsigned long)local + 1), GUINT_TO_POINTER(remote + 1));
	}
	return 0;
}

int idmap_setup(struct sftpfs *fs, char **errmsg)
{
	const struct sftpfs_opts *o = fs->opts;
	int r;

	*errmsg = NULL;
	fs->local_uid = getuid();
	fs->local_gid = getgid();
	if (o->idmap != IDMAP_FILE)
		return 0;
	fs->uid_r2l = g_hash_table_new(g_direct_hash, g_direct_equal);
	fs->uid_l2r = g_hash_table_new(g_direct_hash, g_direct_equal);
	fs->gid_r2l = g_hash_table_new(g_direct_hash, g_direct_equal);
	fs->gid_l2r = g_hash_table_new(g_direct_hash, g_direct_equal);
	if (o->uidfile != NULL && (r = read_map(o->uidfile, false, fs->uid_r2l, fs->uid_l2r, errmsg)) != 0)
		return r;
	if (o->gidfile != NULL && (r = read_map(o->gidfile, true, fs->gid_r2l, fs->gid_l2r, errmsg)) != 0)
		return r;
	return 0;
}

void idmap_clear(struct sftpfs *fs)
{
	g_clear_pointer(&fs->uid_r2l, g_hash_table_destroy);
	g_clear_pointer(&fs->uid_l2r, g_hash_table_destroy);
	g_clear_pointer(&fs->gid_r2l, g_hash_table_destroy);
	g_clear_pointer(&fs->gid_l2r, g_hash_table_destroy);
}

/* Table lookup with nomap semantics; keys and values are stored +1. */
static int map_lookup(const struct sftpfs *fs, GHashTable *t, uint32_t id, uint32_t *out)
{
	gpointer v;

	*out = id;
	if (t == NULL)
		return fs->opts->nomap == NOMAP_IGNORE ? 0 : -1;
	v = g_hash_table_lookup(t, GUINT_TO_POINTER((unsigned long)id + 1));
	if (v != NULL) {
		*out = (uint32_t)(GPOINTER_TO_UINT(v) - 1);
		return 0;
	}
	return fs->opts->nomap == NOMAP_IGNORE ? 0 : -1;
}

int idmap_uid_to_local(const struct sftpfs *fs, uint32_t remote, uid_t *out)
{
	uint32_t v = remote;
	int r = 0;

	if (fs->opts->idmap == IDMAP_USER && remote == fs->remote_uid)
		v = (uint32_t)fs->local_uid;
	else if (fs->opts->idmap == IDMAP_FILE)
		r = map_lookup(fs, fs->uid_r2l, remote, &v);
	*out = (uid_t)v;
	return r;
}

int idmap_gid_to_local(const struct sftpfs *fs, uint32_t remote, gid_t *out)
{
	uint32_t v = remote;
	int r = 0;

	if (fs->opts->idmap == IDMAP_USER && remote == fs->remote_gid)
		v = (uint32_t)fs->local_gid;
	else if (fs->opts->idmap == IDMAP_FILE)
		r = map_lookup(fs, fs->gid_r2l, remote, &v);
	*out = (gid_t)v;
	return r;
}

int idmap_uid_to_remote(const struct sftpfs *fs, uid_t local, uint32_t *out)
{
	*out = (uint32_t)local;
	if (fs->opts->idmap == IDMAP_USER && local == fs->local_uid) {
		*out = fs->remote_uid;
		return 0;
	}
	if (fs->opts->idmap == IDMAP_FILE)
		return map_lookup(fs, fs->uid_l2r, (uint32_t)local, out);
	return 0;
}

int idmap_gid_to_remote(const struct sftpfs *fs, gid_t local, uint32_t *out)
{
	*out = (uint32_t)local;
	if (fs->opts->idmap == IDMAP_USER && local == fs->local_gid) {
		*out = fs->remote_gid;
		return 0;
	}
	if (fs->opts->idmap == IDMAP_FILE)
		return map_lookup(fs, fs->gid_l2r, (uint32_t)local, out);
	return 0;
}
