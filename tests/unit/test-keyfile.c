/*
 * test-keyfile.c - src/keyfile.c and src/sshkey.c against OpenSSH itself.
 *
 * Every key, certificate and foreign signature here is made at test time by
 * the system's ssh-keygen in a private temporary directory: openssh-key-v1
 * keys of every type (plain, and encrypted with bcrypt + aes256-ctr or
 * aes256-gcm@openssh.com), PEM / PKCS#8 keys, user and host certificates
 * (and one Ed25519 PKCS#8 key from `openssl genpkey`, which ssh-keygen cannot write).
 * Checks: the loaded private key matches the .pub, our fingerprint equals
 * `ssh-keygen -lf`, signatures interoperate both ways through the SSHSIG
 * format (OpenSSH PROTOCOL.sshsig: ssh-keygen -Y sign / check-novalidate),
 * wrong passphrases give ERR_KEY_WRONG_PASSPHRASE, and malformed files
 * (every truncation, trailing data, bad padding, bad check words) fail.
 * A missing ssh-keygen fails the test (scripts/deps/test-keys.txt).
 */
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"
#include "err.h"
#include "keyfile.h"
#include "sshkey.h"

static char *tmpdir;

/* Runs argv (stdin from stdin_text when given); fails the test on a non-zero exit. */
static char *run(const char *const *argv, const char *stdin_text)
{
	GError *err = NULL;
	gchar *out = NULL, *errout = NULL, *inpath = NULL;
	gint status = 0;
	const char *full[32];
	size_t n = 0;

	if (stdin_text != NULL) {
		inpath = g_build_filename(tmpdir, "stdin", NULL);
		g_assert_true(g_file_set_contents(inpath, stdin_text, -1, NULL));
		full[n++] = "/bin/sh";
		full[n++] = "-c";
		full[n++] = "f=$1; shift; exec \"$@\" < \"$f\"";
		full[n++] = "sh";
		full[n++] = inpath;
	}
	for (size_t i = 0; argv[i] != NULL; i++) {
		g_assert_cmpuint(n, <, G_N_ELEMENTS(full) - 1);
		full[n++] = argv[i];
	}
	full[n] = NULL;
	g_assert_true(g_spawn_sync(NULL, (gchar **)full, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &errout, &status, &err));
	g_assert_no_error(err);
	if (!g_spawn_check_wait_status(status, NULL))
		g_error("%s failed: %s", argv[0], errout);
	g_free(errout);
	g_free(inpath);
	return out;
}

static char *path_of(const char *name)
{
	return g_build_filename(tmpdir, name, NULL);
}

/* ssh-keygen -t type [-b bits] -N pass [-Z cipher] [-m format] -f path. */
static char *keygen(const char *name, const char *type, const char *bits, const char *pass, const char *cipher,
		    const char *format)
{
	char *path = path_of(name);
	const char *argv[20];
	int n = 0;

	g_unlink(path);
	argv[n++] = "ssh-keygen";
	argv[n++] = "-q";
	argv[n++] = "-t";
	argv[n++] = type;
	if (bits != NULL) {
		argv[n++] = "-b";
		argv[n++] = bits;
	}
	argv[n++] = "-N";
	argv[n++] = pass != NULL ? pass : "";
	if (cipher != NULL) {
		argv[n++] = "-Z";
		argv[n++] = cipher;
	}
	if (format != NULL) {
		argv[n++] = "-m";
		argv[n++] = format;
	}
	argv[n++] = "-a";
	argv[n++] = "4"; /* few bcrypt rounds keep the test quick; the format is the same */
	argv[n++] = "-C";
	argv[n++] = "test comment";
	argv[n++] = "-f";
	argv[n++] = path;
	argv[n] = NULL;
	g_free(run(argv, NULL));
	return path;
}

static char *read_text(const char *path)
{
	char *s = NULL;

	g_assert_true(g_file_get_contents(path, &s, NULL, NULL));
	return s;
}

/* ssh-keygen -lf's fingerprint field. */
static char *keygen_fingerprint(const char *path)
{
	const char *argv[] = {"ssh-keygen", "-l", "-E", "sha256", "-f", path, NULL};
	char *out = run(argv, NULL);
	char **f = g_strsplit(out, " ", 3);
	char *fp = g_strdup(f[1]);

	g_strfreev(f);
	g_free(out);
	return fp;
}

static void sshsig_signed_data(struct buf *out, const char *ns, const uint8_t *msg, size_t len)
{
	uint8_t h[64];
	unsigned hl = 0;

	/* PROTOCOL.sshsig: "SSHSIG" string namespace, string reserved, string hash_alg, string H(msg). */
	g_assert_cmpint(EVP_Digest(msg, len, h, &hl, EVP_sha512(), NULL), ==, 1);
	g_assert_cmpint(buf_put(out, "SSHSIG", 6), ==, 0);
	g_assert_cmpint(buf_put_cstring(out, ns), ==, 0);
	g_assert_cmpint(buf_put_string(out, "", 0), ==, 0);
	g_assert_cmpint(buf_put_cstring(out, "sha512"), ==, 0);
	g_assert_cmpint(buf_put_string(out, h, hl), ==, 0);
}

static const char msg_text[] = "a message signed through the SSHSIG format\n";

/* ssh-keygen signs; we verify. */
static void check_verify_theirs(const char *keypath, const struct sshkey *pub)
{
	char *msgpath = path_of("msg"), *sigpath = g_strconcat(msgpath, ".sig", NULL);
	const char *argv[] = {"ssh-keygen", "-q", "-Y", "sign", "-f", keypath, "-n", "test@sftpfs", msgpath, NULL};
	char *armored, *b64start, *b64end;
	uint8_t *bin = NULL;
	size_t binlen = 0;
	struct buf *b, *sd = buf_new(0);
	const uint8_t *pk, *sig;
	size_t pklen, siglen;
	uint32_t version;
	char *ns = NULL, *hashalg = NULL;

	g_assert_true(g_file_set_contents(msgpath, msg_text, -1, NULL));
	g_unlink(sigpath);
	g_free(run(argv, NULL));
	armored = read_text(sigpath);
	b64start = strstr(armored, "-----BEGIN SSH SIGNATURE-----");
	g_assert_nonnull(b64start);
	b64start += strlen("-----BEGIN SSH SIGNATURE-----");
	b64end = strstr(b64start, "-----END SSH SIGNATURE-----");
	g_assert_nonnull(b64end);
	g_assert_cmpint(keyfile_base64_decode(b64start, (size_t)(b64end - b64start), true, &bin, &binlen), ==, 0);
	b = buf_from(bin, binlen);
	g_assert_cmpint(binlen, >, 6);
	g_assert_cmpmem(bin, 6, "SSHSIG", 6);
	g_assert_cmpint(buf_consume(b, 6), ==, 0);
	g_assert_cmpint(buf_get_u32(b, &version), ==, 0);
	g_assert_cmpint(version, ==, 1);
	g_assert_cmpint(buf_get_string_direct(b, &pk, &pklen), ==, 0);
	g_assert_cmpint(buf_get_cstring(b, &ns, NULL), ==, 0);
	g_assert_cmpint(buf_get_string_direct(b, &sig, &siglen), ==, 0); /* reserved */
	g_assert_cmpint(buf_get_cstring(b, &hashalg, NULL), ==, 0);
	g_assert_cmpstr(hashalg, ==, "sha512");
	g_assert_cmpint(buf_get_string_direct(b, &sig, &siglen), ==, 0);
	g_assert_cmpint(buf_expect_end(b), ==, 0);
	{
		struct buf *mine = buf_new(0);

		g_assert_cmpint(sshkey_to_blob(pub, mine), ==, 0);
		g_assert_cmpmem(pk, pklen, buf_peek(mine), buf_len(mine));
		buf_free(mine);
	}
	sshsig_signed_data(sd, ns, (const uint8_t *)msg_text, strlen(msg_text));
	g_assert_cmpint(sshkey_verify(pub, sig, siglen, buf_peek(sd), buf_len(sd), NULL), ==, 0);
	/* The same signature over other data fails. */
	g_assert_cmpint(sshkey_verify(pub, sig, siglen, buf_peek(sd), buf_len(sd) - 1, NULL), ==, ERR_SIGNATURE_INVALID);
	free(ns);
	free(hashalg);
	buf_free(b);
	buf_free(sd);
	free(bin);
	g_free(armored);
	g_free(msgpath);
	g_free(sigpath);
}

/* We sign; ssh-keygen -Y check-novalidate verifies. */
static void check_theirs_verify_ours(const struct sshkey *k, const char *alg)
{
	char *msgpath = path_of("msg2"), *sigpath = path_of("msg2.sig");
	const char *argv[] = {"ssh-keygen", "-Y", "check-novalidate", "-n", "test@sftpfs", "-s", sigpath, NULL};
	struct buf *sd = buf_new(0), *sig = buf_new(0), *file = buf_new(0), *blob = buf_new(0);
	gchar *b64, *armored, *out;
	GString *wrapped = g_string_new(NULL);

	sshsig_signed_data(sd, "test@sftpfs", (const uint8_t *)msg_text, strlen(msg_text));
	g_assert_cmpint(sshkey_sign(k, alg, buf_peek(sd), buf_len(sd), sig), ==, 0);
	g_assert_cmpint(sshkey_to_blob(k, blob), ==, 0);
	g_assert_cmpint(buf_put(file, "SSHSIG", 6), ==, 0);
	g_assert_cmpint(buf_put_u32(file, 1), ==, 0);
	g_assert_cmpint(buf_put_stringb(file, blob), ==, 0);
	g_assert_cmpint(buf_put_cstring(file, "test@sftpfs"), ==, 0);
	g_assert_cmpint(buf_put_string(file, "", 0), ==, 0);
	g_assert_cmpint(buf_put_cstring(file, "sha512"), ==, 0);
	g_assert_cmpint(buf_put_stringb(file, sig), ==, 0);
	b64 = g_base64_encode(buf_peek(file), buf_len(file));
	for (size_t i = 0; i < strlen(b64); i += 70)
		g_string_append_printf(wrapped, "%.70s\n", b64 + i);
	armored = g_strdup_printf("-----BEGIN SSH SIGNATURE-----\n%s-----END SSH SIGNATURE-----\n", wrapped->str);
	g_assert_true(g_file_set_contents(sigpath, armored, -1, NULL));
	out = run(argv, msg_text); /* exits non-zero (and fails the test) on a bad signature */
	g_assert_nonnull(strstr(out, "Good"));
	g_free(out);
	g_free(armored);
	g_free(b64);
	g_string_free(wrapped, TRUE);
	buf_free(sd);
	buf_free(sig);
	buf_free(file);
	buf_free(blob);
	g_free(msgpath);
	g_free(sigpath);
}

struct type_case {
	const char *name, *type, *bits, *sshname;
};

static const struct type_case type_cases[] = {
	{"ed25519", "ed25519", NULL, "ssh-ed25519"},
	{"ecdsa256", "ecdsa", "256", "ecdsa-sha2-nistp256"},
	{"ecdsa384", "ecdsa", "384", "ecdsa-sha2-nistp384"},
	{"ecdsa521", "ecdsa", "521", "ecdsa-sha2-nistp521"},
	{"rsa2048", "rsa", "2048", "ssh-rsa"},
};

static void check_pair(const char *path, const char *pass, const char *sshname)
{
	char *pubpath = g_strconcat(path, ".pub", NULL);
	struct sshkey *priv = NULL, *pub = NULL;
	char *fp = NULL, *theirs;

	g_assert_cmpint(keyfile_load_private(path, pass, &priv), ==, 0);
	g_assert_cmpint(keyfile_load_public(pubpath, &pub), ==, 0);
	g_assert_true(sshkey_has_private(priv));
	g_assert_false(sshkey_has_private(pub));
	g_assert_cmpstr(sshkey_type_name(priv), ==, sshname);
	g_assert_cmpint(sshkey_equal_public(priv, pub), ==, 1);
	g_assert_cmpint(sshkey_fingerprint(pub, &fp), ==, 0);
	theirs = keygen_fingerprint(pubpath);
	g_assert_cmpstr(fp, ==, theirs);
	/* ssh-keygen -Y sign would prompt for an encrypted key's passphrase. */
	if (pass == NULL)
		check_verify_theirs(path, pub);
	if (sshkey_is_rsa(priv)) {
		check_theirs_verify_ours(priv, "rsa-sha2-512");
		check_theirs_verify_ours(priv, "rsa-sha2-256");
	} else {
		check_theirs_verify_ours(priv, NULL);
	}
	free(fp);
	g_free(theirs);
	sshkey_free(priv);
	sshkey_free(pub);
	g_free(pubpath);
}

static void test_openssh_plain(gconstpointer data)
{
	const struct type_case *tc = data;
	char *path = keygen(tc->name, tc->type, tc->bits, NULL, NULL, NULL);
	char *text = read_text(path);
	struct sshkey *k = NULL;
	char *comment = NULL;

	g_assert_nonnull(strstr(text, "BEGIN OPENSSH PRIVATE KEY"));
	check_pair(path, NULL, tc->sshname);
	g_assert_cmpint(keyfile_parse_private((const uint8_t *)text, strlen(text), NULL, &k, &comment), ==, 0);
	g_assert_cmpstr(comment, ==, "test comment");
	/* A passphrase given for an unencrypted key is ignored, as ssh does. */
	sshkey_free(k);
	g_assert_cmpint(keyfile_parse_private((const uint8_t *)text, strlen(text), "unused", &k, NULL), ==, 0);
	sshkey_free(k);
	free(comment);
	g_free(text);
	g_free(path);
}

static void test_openssh_encrypted(gconstpointer data)
{
	const char *cipher = data;
	struct sshkey *k = NULL;

	for (size_t i = 0; i < G_N_ELEMENTS(type_cases); i += 2) { /* ed25519, ecdsa384, rsa */
		const struct type_case *tc = &type_cases[i];
		char *path = keygen(tc->name, tc->type, tc->bits, "correct horse", cipher, NULL);
		char *text = read_text(path);

		g_assert_cmpint(keyfile_load_private(path, NULL, &k), ==, ERR_KEY_ENCRYPTED);
		g_assert_null(k);
		/* The public key is readable without the passphrase, from the header. */
		{
			char *pubpath = g_strconcat(path, ".pub", NULL);
			struct sshkey *hp = NULL, *pp = NULL;

			g_assert_cmpint(keyfile_load_public(pubpath, &pp), ==, 0);
			g_unlink(pubpath);
			g_assert_cmpint(keyfile_load_public_for(path, &hp), ==, 0);
			g_assert_false(sshkey_has_private(hp));
			g_assert_cmpint(sshkey_equal_public(hp, pp), ==, 1);
			sshkey_free(hp);
			sshkey_free(pp);
			g_free(pubpath);
			g_free(text);
			/* Regenerate the .pub that check_pair compares against. */
			g_free(path);
			path = keygen(tc->name, tc->type, tc->bits, "correct horse", cipher, NULL);
			text = read_text(path);
		}
		g_assert_cmpint(keyfile_load_private(path, "wrong horse", &k), ==, ERR_KEY_WRONG_PASSPHRASE);
		g_assert_null(k);
		g_assert_cmpint(keyfile_load_private(path, "", &k), ==, ERR_KEY_WRONG_PASSPHRASE);
		check_pair(path, "correct horse", tc->sshname);
		g_free(text);
		g_free(path);
	}
}

/* Every other cipher ssh-keygen -Z can use for a key file (Ed25519 keys, to stay quick). */
static void test_openssh_other_ciphers(void)
{
	static const char *const ciphers[] = {"aes128-ctr", "aes192-ctr", "aes128-cbc", "aes192-cbc", "aes256-cbc",
					      "3des-cbc", "aes128-gcm@openssh.com"};

	for (size_t i = 0; i < G_N_ELEMENTS(ciphers); i++) {
		char *path = keygen("cipher", "ed25519", NULL, "p", ciphers[i], NULL);
		struct sshkey *k = NULL;

		g_assert_cmpint(keyfile_load_private(path, "q", &k), ==, ERR_KEY_WRONG_PASSPHRASE);
		check_pair(path, "p", "ssh-ed25519");
		g_free(path);
	}
	/* chacha20-poly1305@openssh.com is not supported for key files: refused, not misread. */
	{
		char *path = keygen("chacha", "ed25519", NULL, "p", "chacha20-poly1305@openssh.com", NULL);
		struct sshkey *k = NULL;

		g_assert_cmpint(keyfile_load_private(path, "p", &k), ==, ERR_KEY_TYPE_UNKNOWN);
		g_assert_null(k);
		g_free(path);
	}
}

/* ssh-keygen -p re-encrypts an existing key; we must read the result. */
static void test_openssh_reencrypt(void)
{
	char *path = keygen("reenc", "ed25519", NULL, NULL, NULL, NULL);
	const char *argv[] = {"ssh-keygen", "-q", "-p", "-N", "new pass", "-a", "4", "-f", path, NULL};
	struct sshkey *before = NULL, *after = NULL;

	g_assert_cmpint(keyfile_load_private(path, NULL, &before), ==, 0);
	g_free(run(argv, NULL));
	g_assert_cmpint(keyfile_load_private(path, "new pass", &after), ==, 0);
	g_assert_cmpint(sshkey_equal_public(before, after), ==, 1);
	sshkey_free(before);
	sshkey_free(after);
	g_free(path);
}

static void test_pem_formats(void)
{
	static const struct {
		const char *type, *bits, *format, *sshname;
	} cases[] = {
		{"rsa", "2048", "PEM", "ssh-rsa"},
		{"ecdsa", "256", "PEM", "ecdsa-sha2-nistp256"},
		{"ecdsa", "521", "PKCS8", "ecdsa-sha2-nistp521"},
		{"rsa", "2048", "PKCS8", "ssh-rsa"},
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *path = keygen("pem", cases[i].type, cases[i].bits, NULL, NULL, cases[i].format);
		char *text = read_text(path);

		g_assert_null(strstr(text, "OPENSSH PRIVATE KEY"));
		check_pair(path, NULL, cases[i].sshname);
		g_free(text);
		g_free(path);
		/* Encrypted PEM: ssh-keygen -m PEM -N encrypts with a passphrase. */
		if (strcmp(cases[i].type, "ed25519") != 0) {
			struct sshkey *k = NULL;

			path = keygen("pemenc", cases[i].type, cases[i].bits, "pem pass", NULL, cases[i].format);
			g_assert_cmpint(keyfile_load_private(path, NULL, &k), ==, ERR_KEY_ENCRYPTED);
			/* Encrypted PEM has no clear public key: keyfile_load_public_for falls back to .pub. */
			g_assert_cmpint(keyfile_load_public_for(path, &k), ==, 0);
			g_assert_false(sshkey_has_private(k));
			sshkey_free(k);
			k = NULL;
			g_assert_cmpint(keyfile_load_private(path, "not it", &k), ==, ERR_KEY_WRONG_PASSPHRASE);
			g_assert_null(k);
			check_pair(path, "pem pass", cases[i].sshname);
			g_free(path);
		}
	}
}

/* Ed25519 in PKCS#8 (ssh-keygen cannot write it): made by openssl genpkey. */
static void test_pem_ed25519(void)
{
	char *path = path_of("ed-pkcs8"), *der = path_of("ed-pub.der");
	const char *gen[] = {"openssl", "genpkey", "-algorithm", "ed25519", "-out", path, NULL};
	const char *pub[] = {"openssl", "pkey", "-in", path, "-pubout", "-outform", "DER", "-out", der, NULL};
	struct sshkey *k = NULL;
	struct buf *blob = buf_new(0), *sig = buf_new(0);
	gchar *spki = NULL;
	gsize spkilen = 0;

	g_unlink(path);
	g_free(run(gen, NULL));
	g_free(run(pub, NULL));
	g_assert_cmpint(g_chmod(path, 0600), ==, 0);
	g_assert_cmpint(keyfile_load_private(path, NULL, &k), ==, 0);
	g_assert_cmpstr(sshkey_type_name(k), ==, "ssh-ed25519");
	/* The SubjectPublicKeyInfo ends with the 32-byte key, as does our blob. */
	g_assert_true(g_file_get_contents(der, &spki, &spkilen, NULL));
	g_assert_cmpint(sshkey_to_blob(k, blob), ==, 0);
	g_assert_cmpuint(spkilen, >, 32);
	g_assert_cmpmem(spki + spkilen - 32, 32, buf_peek(blob) + buf_len(blob) - 32, 32);
	g_assert_cmpint(sshkey_sign(k, NULL, (const uint8_t *)"m", 1, sig), ==, 0);
	g_assert_cmpint(sshkey_verify(k, buf_peek(sig), buf_len(sig), (const uint8_t *)"m", 1, "ssh-ed25519"), ==, 0);
	check_theirs_verify_ours(k, NULL);
	g_free(spki);
	buf_free(blob);
	buf_free(sig);
	sshkey_free(k);
	g_free(path);
	g_free(der);
}

/* Decoded openssh-key-v1 bytes of an unencrypted key, for mutation tests. */
static uint8_t *decode_armor(const char *text, size_t *len)
{
	const char *b = strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----");
	const char *e = strstr(text, "-----END OPENSSH PRIVATE KEY-----");
	uint8_t *bin = NULL;

	g_assert_nonnull(b);
	g_assert_nonnull(e);
	b += strlen("-----BEGIN OPENSSH PRIVATE KEY-----");
	g_assert_cmpint(keyfile_base64_decode(b, (size_t)(e - b), true, &bin, len), ==, 0);
	return bin;
}

static int parse_bin(const uint8_t *bin, size_t len)
{
	gchar *b64 = g_base64_encode(bin, len);
	gchar *text = g_strdup_printf("-----BEGIN OPENSSH PRIVATE KEY-----\n%s\n-----END OPENSSH PRIVATE KEY-----\n", b64);
	struct sshkey *k = NULL;
	int r = keyfile_parse_private((const uint8_t *)text, strlen(text), NULL, &k, NULL);

	if (r == 0)
		g_assert_nonnull(k);
	else
		g_assert_null(k);
	sshkey_free(k);
	g_free(text);
	g_free(b64);
	return r;
}

static void test_openssh_malformed(void)
{
	char *path = keygen("mal", "ed25519", NULL, NULL, NULL, NULL);
	char *text = read_text(path);
	size_t len;
	uint8_t *bin = decode_armor(text, &len), *ext;

	g_assert_cmpint(parse_bin(bin, len), ==, 0);
	for (size_t cut = 0; cut < len; cut++)
		g_assert_cmpint(parse_bin(bin, cut), <, 0);
	ext = g_malloc(len + 1);
	memcpy(ext, bin, len);
	ext[len] = 0;
	g_assert_cmpint(parse_bin(ext, len + 1), ==, ERR_TRAILING_DATA);
	/* The last byte is padding (an ed25519 private section is padded to 8): corrupt it. */
	memcpy(ext, bin, len);
	ext[len - 1] ^= 0x40;
	g_assert_cmpint(parse_bin(ext, len), ==, ERR_INVALID_FORMAT);
	/* Any flipped byte anywhere fails or, in a comment byte, still loads: never crashes. */
	for (size_t i = 0; i < len; i++) {
		memcpy(ext, bin, len);
		ext[i] ^= 0x01;
		(void)parse_bin(ext, len);
	}
	/* The wrong magic. */
	memcpy(ext, bin, len);
	ext[0] = 'O';
	g_assert_cmpint(parse_bin(ext, len), ==, ERR_INVALID_FORMAT);
	/* Garbage around the armour, or a bad base64 character. */
	{
		gchar *bad = g_strconcat("junk\n", text, NULL);
		struct sshkey *k = NULL;

		g_assert_cmpint(keyfile_parse_private((const uint8_t *)bad, strlen(bad), NULL, &k, NULL), ==,
				ERR_INVALID_FORMAT);
		g_free(bad);
		bad = g_strdup(text);
		bad[60] = '*';
		g_assert_cmpint(keyfile_parse_private((const uint8_t *)bad, strlen(bad), NULL, &k, NULL), ==,
				ERR_INVALID_FORMAT);
		g_free(bad);
	}
	g_free(ext);
	free(bin);
	g_free(text);
	g_free(path);
}

/* Key types we do not support fail cleanly: DSA (OpenSSH 9.2 still makes it). */
static void test_unsupported_types(void)
{
	char *path = keygen("dsa", "dsa", NULL, NULL, NULL, NULL);
	char *pub = g_strconcat(path, ".pub", NULL);
	struct sshkey *k = NULL;

	g_assert_cmpint(keyfile_load_private(path, NULL, &k), ==, ERR_KEY_TYPE_UNKNOWN);
	g_assert_null(k);
	g_assert_cmpint(keyfile_load_public(pub, &k), ==, ERR_KEY_TYPE_UNKNOWN);
	g_assert_null(k);
	g_free(pub);
	g_free(path);
}

static void test_permissions(void)
{
	char *path = keygen("perm", "ed25519", NULL, NULL, NULL, NULL);
	struct sshkey *k = NULL;

	g_assert_cmpint(g_chmod(path, 0644), ==, 0);
	g_assert_cmpint(keyfile_load_private(path, NULL, &k), ==, ERR_PERMISSION_DENIED);
	g_assert_null(k);
	g_assert_cmpint(g_chmod(path, 0600), ==, 0);
	g_assert_cmpint(keyfile_load_private(path, NULL, &k), ==, 0);
	sshkey_free(k);
	g_free(path);
	path = path_of("does-not-exist");
	g_assert_cmpint(keyfile_load_private(path, NULL, &k), ==, ERR_NO_SUCH_FILE);
	g_free(path);
}

static void test_base64(void)
{
	uint8_t *out = NULL;
	size_t len = 0;

	/* RFC 4648 §10 test vectors. */
	static const struct {
		const char *in, *out;
	} v[] = {{"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"},
		 {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}};

	for (size_t i = 0; i < G_N_ELEMENTS(v); i++) {
		g_assert_cmpint(keyfile_base64_decode(v[i].in, strlen(v[i].in), false, &out, &len), ==, 0);
		g_assert_cmpmem(out, len, v[i].out, strlen(v[i].out));
		free(out);
	}
	g_assert_cmpint(keyfile_base64_decode("Zg=", 3, false, &out, &len), ==, ERR_INVALID_FORMAT);
	g_assert_cmpint(keyfile_base64_decode("Zh==", 4, false, &out, &len), ==, ERR_INVALID_FORMAT);
	g_assert_cmpint(keyfile_base64_decode("Zg==Zg==", 8, false, &out, &len), ==, ERR_INVALID_FORMAT);
	g_assert_cmpint(keyfile_base64_decode("Z", 1, false, &out, &len), ==, ERR_INVALID_FORMAT);
	g_assert_cmpint(keyfile_base64_decode("Zm 9v", 5, false, &out, &len), ==, ERR_INVALID_FORMAT);
	g_assert_cmpint(keyfile_base64_decode("Zm\n9v", 5, true, &out, &len), ==, 0);
	free(out);
}

static void test_public_line(void)
{
	char *path = keygen("publine", "ed25519", NULL, NULL, NULL, NULL);
	char *pubpath = g_strconcat(path, ".pub", NULL);
	char *text = read_text(pubpath);
	struct sshkey *k = NULL;
	char *comment = NULL;
	char **f;
	gchar *bad;

	g_assert_cmpint(keyfile_parse_public_line(text, strlen(text), &k, &comment), ==, 0);
	g_assert_cmpstr(comment, ==, "test comment");
	sshkey_free(k);
	free(comment);
	/* The type word must match the blob. */
	f = g_strsplit(text, " ", 3);
	bad = g_strdup_printf("ssh-rsa %s", f[1]);
	g_assert_cmpint(keyfile_parse_public_line(bad, strlen(bad), &k, NULL), ==, ERR_INVALID_FORMAT);
	g_assert_null(k);
	g_free(bad);
	g_strfreev(f);
	g_free(text);
	g_free(pubpath);
	g_free(path);
}

/* ssh-keygen -s: user and host certificates (PROTOCOL.certkeys). */
static void test_certificates(void)
{
	char *ca = keygen("ca", "ed25519", NULL, NULL, NULL, NULL);
	char *rsaca = keygen("rsaca", "rsa", "2048", NULL, NULL, NULL);
	char *user = keygen("user", "ecdsa", "256", NULL, NULL, NULL);
	char *host = keygen("host", "rsa", "2048", NULL, NULL, NULL);
	char *userpub = g_strconcat(user, ".pub", NULL), *hostpub = g_strconcat(host, ".pub", NULL);
	char *usercert = g_strconcat(user, "-cert.pub", NULL), *hostcert = g_strconcat(host, "-cert.pub", NULL);
	const char *a1[] = {"ssh-keygen", "-q", "-s", ca, "-I", "user-id", "-n", "alice,bob", "-V", "+52w", "-z", "42",
			    "-O", "force-command=/bin/true", "-O", "no-pty", userpub, NULL};
	const char *a2[] = {"ssh-keygen", "-q", "-s", rsaca, "-h", "-I", "host-id", "-n", "server.example", "-V",
			    "-1d:+1d", hostpub, NULL};
	struct sshkey *ucert = NULL, *hcert = NULL, *capub = NULL, *upriv = NULL, *uplain = NULL, *signer = NULL;
	char *capath = g_strconcat(ca, ".pub", NULL);
	uint64_t now = (uint64_t)time(NULL);
	struct buf *blob = buf_new(0), *sig = buf_new(0);

	g_free(run(a1, NULL));
	g_free(run(a2, NULL));
	g_assert_cmpint(keyfile_load_public(usercert, &ucert), ==, 0);
	g_assert_cmpint(keyfile_load_public(hostcert, &hcert), ==, 0);
	g_assert_cmpint(keyfile_load_public(capath, &capub), ==, 0);
	g_assert_cmpint(keyfile_load_public(userpub, &uplain), ==, 0);
	g_assert_true(sshkey_is_cert(ucert));
	g_assert_cmpstr(sshkey_type_name(ucert), ==, "ecdsa-sha2-nistp256-cert-v01@openssh.com");
	g_assert_cmpstr(sshkey_plain_type_name(ucert), ==, "ecdsa-sha2-nistp256");
	g_assert_cmpuint(sshkey_cert_type(ucert), ==, SSHKEY_CERT_USER);
	g_assert_cmpuint(sshkey_cert_serial(ucert), ==, 42);
	g_assert_cmpstr(sshkey_cert_key_id(ucert), ==, "user-id");
	g_assert_cmpuint(sshkey_cert_nprincipals(ucert), ==, 2);
	g_assert_cmpstr(sshkey_cert_principal(ucert, 0), ==, "alice");
	g_assert_cmpstr(sshkey_cert_principal(ucert, 1), ==, "bob");
	g_assert_null(sshkey_cert_principal(ucert, 2));
	g_assert_cmpint(sshkey_equal_public(sshkey_cert_signature_key(ucert), capub), ==, 1);
	g_assert_cmpint(sshkey_equal_plain(ucert, uplain), ==, 1);
	g_assert_cmpint(sshkey_equal_public(ucert, uplain), ==, 0);
	g_assert_cmpint(sshkey_cert_check(ucert, false, "alice", now), ==, 0);
	g_assert_cmpint(sshkey_cert_check(ucert, false, "mallory", now), ==, ERR_AUTH_FAILED);
	g_assert_cmpint(sshkey_cert_check(ucert, true, "alice", now), ==, ERR_AUTH_FAILED);
	g_assert_cmpint(sshkey_cert_check(ucert, false, "alice", now + 60ull * 86400 * 7 * 53), ==, ERR_AUTH_FAILED);
	/* The fingerprint of a certificate is that of its key, as ssh-keygen -l shows. */
	{
		char *fp = NULL, *theirs = keygen_fingerprint(usercert);

		g_assert_cmpint(sshkey_fingerprint(ucert, &fp), ==, 0);
		g_assert_cmpstr(fp, ==, theirs);
		free(fp);
		g_free(theirs);
	}
	g_assert_true(sshkey_matches_pubkey_alg(ucert, "ecdsa-sha2-nistp256-cert-v01@openssh.com"));
	g_assert_false(sshkey_matches_pubkey_alg(ucert, "ecdsa-sha2-nistp256"));
	g_assert_true(sshkey_matches_pubkey_alg(uplain, "ecdsa-sha2-nistp256"));
	g_assert_false(sshkey_matches_pubkey_alg(uplain, "ecdsa-sha2-nistp256-cert-v01@openssh.com"));
	g_assert_false(sshkey_matches_pubkey_alg(uplain, "ecdsa-sha2-nistp384"));
	g_assert_cmpuint(sshkey_bits(ucert), ==, 256);
	g_assert_cmpstr(sshkey_type_name(hcert), ==, "ssh-rsa-cert-v01@openssh.com");
	g_assert_true(sshkey_matches_pubkey_alg(hcert, "rsa-sha2-512-cert-v01@openssh.com"));
	g_assert_true(sshkey_matches_pubkey_alg(hcert, "rsa-sha2-256-cert-v01@openssh.com"));
	g_assert_false(sshkey_matches_pubkey_alg(hcert, "rsa-sha2-512"));
	g_assert_cmpuint(sshkey_bits(hcert), ==, 2048);
	g_assert_cmpuint(sshkey_cert_type(hcert), ==, SSHKEY_CERT_HOST);
	g_assert_cmpint(sshkey_cert_check(hcert, true, "server.example", now), ==, 0);
	g_assert_cmpint(sshkey_cert_check(hcert, true, "other.example", now), ==, ERR_AUTH_FAILED);
	g_assert_cmpint(sshkey_cert_check(hcert, true, "server.example", now - 3 * 86400), ==, ERR_AUTH_FAILED);
	g_assert_true(sshkey_is_rsa(sshkey_cert_signature_key(hcert)));
	/* A user certificate next to its private key signs as the certificate. */
	g_assert_cmpint(keyfile_load_private(user, NULL, &upriv), ==, 0);
	g_assert_cmpint(sshkey_attach_cert(upriv, ucert, &signer), ==, 0);
	g_assert_true(sshkey_has_private(signer));
	g_assert_cmpint(sshkey_equal_public(signer, ucert), ==, 1);
	g_assert_cmpint(sshkey_sign(signer, "ecdsa-sha2-nistp256-cert-v01@openssh.com", (const uint8_t *)"d", 1, sig), ==, 0);
	g_assert_cmpint(sshkey_verify(ucert, buf_peek(sig), buf_len(sig), (const uint8_t *)"d", 1,
				      "ecdsa-sha2-nistp256-cert-v01@openssh.com"),
			==, 0);
	g_assert_cmpint(sshkey_verify(uplain, buf_peek(sig), buf_len(sig), (const uint8_t *)"d", 1, NULL), ==, 0);
	/* The same through the file next to the key. */
	{
		struct sshkey *viafile = NULL;

		g_assert_cmpint(keyfile_attach_cert_file(upriv, usercert, &viafile), ==, 0);
		g_assert_cmpint(sshkey_equal_public(viafile, ucert), ==, 1);
		g_assert_true(sshkey_has_private(viafile));
		sshkey_free(viafile);
		g_assert_cmpint(keyfile_attach_cert_file(upriv, userpub, &viafile), ==, ERR_INVALID_FORMAT);
		g_assert_cmpint(keyfile_attach_cert_file(upriv, hostcert, &viafile), ==, ERR_KEY_NOT_FOUND);
		g_assert_null(viafile);
	}
	/* A certificate whose CA signature is corrupted is refused; so is every truncation. */
	g_assert_cmpint(sshkey_to_blob(ucert, blob), ==, 0);
	{
		uint8_t *p = g_memdup2(buf_peek(blob), buf_len(blob));
		struct sshkey *bad = NULL;
		size_t len = buf_len(blob);

		p[len - 5] ^= 1;
		g_assert_cmpint(sshkey_from_blob(p, len, &bad), ==, ERR_SIGNATURE_INVALID);
		p[len - 5] ^= 1;
		/* The serial is covered by the signature too. */
		for (size_t cut = 0; cut < len; cut++) {
			g_assert_cmpint(sshkey_from_blob(p, cut, &bad), <, 0);
			g_assert_null(bad);
		}
		g_free(p);
	}
	/* A CA signature made with SHA-1 "ssh-rsa" is refused (OpenSSH's default CASignatureAlgorithms). */
	{
		const char *a3[] = {"ssh-keygen", "-q", "-s", rsaca, "-t", "ssh-rsa", "-h", "-I", "sha1", hostpub, NULL};
		struct sshkey *bad = NULL;

		g_free(run(a3, NULL));
		g_assert_cmpint(keyfile_load_public(hostcert, &bad), ==, ERR_SIGNATURE_INVALID);
		g_assert_null(bad);
	}
	/* No principals: refused, as current OpenSSH does (CVE-2026-35414 closed the fail-open). */
	{
		const char *a4[] = {"ssh-keygen", "-q", "-s", ca, "-h", "-I", "any", hostpub, NULL};
		struct sshkey *anyc = NULL;

		g_free(run(a4, NULL));
		g_assert_cmpint(keyfile_load_public(hostcert, &anyc), ==, 0);
		g_assert_cmpuint(sshkey_cert_nprincipals(anyc), ==, 0);
		g_assert_cmpint(sshkey_cert_check(anyc, true, "whatever.example", now), ==, ERR_AUTH_FAILED);
		g_assert_cmpint(sshkey_cert_check(anyc, true, NULL, now), ==, ERR_AUTH_FAILED);
		sshkey_free(anyc);
	}
	/* Host certificate principals may be patterns; user certificate principals may not. */
	{
		const char *a5[] = {"ssh-keygen", "-q", "-s", ca, "-h", "-I", "wild", "-n", "*.example.org,db?.example.net",
				    hostpub, NULL};
		const char *a6[] = {"ssh-keygen", "-q", "-s", ca, "-I", "wild", "-n", "a*", userpub, NULL};
		struct sshkey *wc = NULL;

		g_free(run(a5, NULL));
		g_assert_cmpint(keyfile_load_public(hostcert, &wc), ==, 0);
		g_assert_cmpint(sshkey_cert_check(wc, true, "www.example.org", now), ==, 0);
		g_assert_cmpint(sshkey_cert_check(wc, true, "a.b.example.org", now), ==, 0);
		g_assert_cmpint(sshkey_cert_check(wc, true, "example.org", now), ==, ERR_AUTH_FAILED);
		g_assert_cmpint(sshkey_cert_check(wc, true, "db1.example.net", now), ==, 0);
		g_assert_cmpint(sshkey_cert_check(wc, true, "db12.example.net", now), ==, ERR_AUTH_FAILED);
		g_assert_cmpint(sshkey_cert_check(wc, true, "www.example.org.evil", now), ==, ERR_AUTH_FAILED);
		sshkey_free(wc);
		g_free(run(a6, NULL));
		g_assert_cmpint(keyfile_load_public(usercert, &wc), ==, 0);
		g_assert_cmpint(sshkey_cert_check(wc, false, "alice", now), ==, ERR_AUTH_FAILED);
		g_assert_cmpint(sshkey_cert_check(wc, false, "a*", now), ==, 0);
		sshkey_free(wc);
	}
	/* A certificate for another key does not attach. */
	{
		struct sshkey *other = NULL, *x = NULL;
		char *o = keygen("other", "ecdsa", "256", NULL, NULL, NULL);

		g_assert_cmpint(keyfile_load_private(o, NULL, &other), ==, 0);
		g_assert_cmpint(sshkey_attach_cert(other, ucert, &x), ==, ERR_KEY_NOT_FOUND);
		g_assert_null(x);
		sshkey_free(other);
		g_free(o);
	}
	buf_free(blob);
	buf_free(sig);
	sshkey_free(signer);
	sshkey_free(upriv);
	sshkey_free(ucert);
	sshkey_free(hcert);
	sshkey_free(capub);
	sshkey_free(uplain);
	g_free(capath);
	g_free(ca);
	g_free(rsaca);
	g_free(user);
	g_free(host);
	g_free(userpub);
	g_free(hostpub);
	g_free(usercert);
	g_free(hostcert);
}

int main(int argc, char **argv)
{
	GError *err = NULL;
	int r;

	g_test_init(&argc, &argv, NULL);
	tmpdir = g_dir_make_tmp("sftpfs-keyfile-XXXXXX", &err);
	g_assert_no_error(err);
	for (size_t i = 0; i < G_N_ELEMENTS(type_cases); i++) {
		char *name = g_strdup_printf("/keyfile/openssh/%s", type_cases[i].name);

		g_test_add_data_func(name, &type_cases[i], test_openssh_plain);
		g_free(name);
	}
	g_test_add_data_func("/keyfile/encrypted/aes256-ctr", "aes256-ctr", test_openssh_encrypted);
	g_test_add_data_func("/keyfile/encrypted/aes256-gcm", "aes256-gcm@openssh.com", test_openssh_encrypted);
	g_test_add_func("/keyfile/encrypted/reencrypt", test_openssh_reencrypt);
	g_test_add_func("/keyfile/encrypted/other-ciphers", test_openssh_other_ciphers);
	g_test_add_func("/keyfile/pem", test_pem_formats);
	g_test_add_func("/keyfile/pem-ed25519", test_pem_ed25519);
	g_test_add_func("/keyfile/malformed", test_openssh_malformed);
	g_test_add_func("/keyfile/permissions", test_permissions);
	g_test_add_func("/keyfile/unsupported-types", test_unsupported_types);
	g_test_add_func("/keyfile/base64", test_base64);
	g_test_add_func("/keyfile/public-line", test_public_line);
	g_test_add_func("/keyfile/certificates", test_certificates);
	r = g_test_run();
	{
		const char *rm[] = {"rm", "-rf", tmpdir, NULL};

		g_free(run(rm, NULL));
	}
	g_free(tmpdir);
	return r;
}
