/*
 * keyfile.c - the user's key files (see keyfile.h).
 *
 * openssh-key-v1 (OpenSSH PROTOCOL.key): after the PEM-style armour comes
 *   "openssh-key-v1\0" string ciphername, string kdfname, string kdfoptions,
 *   uint32 N (=1), string publickey, string encrypted-section [, tag]
 * and the (decrypted) section is
 *   uint32 check, uint32 check, private key fields, string comment,
 *   padding 1, 2, 3, … up to the cipher's block size.
 * Everything is checked: the magic, known cipher and KDF names, the KDF
 * options, the count, the check words, the padding bytes, the public key in
 * the header against the private one, and that nothing trails.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "bcrypt_pbkdf.h"
#include "keyfile.h"
#include "limits.h"
#include "log.h"

#define OPENSSH_MAGIC "openssh-key-v1" /* followed by a NUL byte */
#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END "-----END OPENSSH PRIVATE KEY-----"

/*
 * Ciphers an openssh-key-v1 file may use for its private section: every one
 * `ssh-keygen -Z` accepts except chacha20-poly1305@openssh.com (never a
 * default, and its key-file use is OpenSSH-internal), which is refused.
 */
struct key_cipher {
	const char *name;
	const EVP_CIPHER *(*evp)(void); /* NULL: "none" */
	size_t key_len;
	size_t iv_len;
	size_t block_len; /* padding unit of the private section */
	size_t tag_len;   /* AEAD tag that follows the encrypted string */
};

static const struct key_cipher key_ciphers[] = {
	{.name = "none", .block_len = 8},
	{.name = "aes256-ctr", .evp = EVP_aes_256_ctr, .key_len = 32, .iv_len = 16, .block_len = 16},
	{.name = "aes256-gcm@openssh.com", .evp = EVP_aes_256_gcm, .key_len = 32, .iv_len = 12,
	 .block_len = 16, .tag_len = 16},
	{.name = "aes128-ctr", .evp = EVP_aes_128_ctr, .key_len = 16, .iv_len = 16, .block_len = 16},
	{.name = "aes192-ctr", .evp = EVP_aes_192_ctr, .key_len = 24, .iv_len = 16, .block_len = 16},
	{.name = "aes128-cbc", .evp = EVP_aes_128_cbc, .key_len = 16, .iv_len = 16, .block_len = 16},
	{.name = "aes192-cbc", .evp = EVP_aes_192_cbc, .key_len = 24, .iv_len = 16, .block_len = 16},
	{.name = "aes256-cbc", .evp = EVP_aes_256_cbc, .key_len = 32, .iv_len = 16, .block_len = 16},
	{.name = "3des-cbc", .evp = EVP_des_ede3_cbc, .key_len = 24, .iv_len = 8, .block_len = 8},
	{.name = "aes128-gcm@openssh.com", .evp = EVP_aes_128_gcm, .key_len = 16, .iv_len = 12,
	 .block_len = 16, .tag_len = 16},
};

static const struct key_cipher *key_cipher_by_name(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < sizeof(key_ciphers) / sizeof(key_ciphers[0]); i++) {
		if (strlen(key_ciphers[i].name) == len && memcmp(key_ciphers[i].name, name, len) == 0)
			return &key_ciphers[i];
	}
	return NULL;
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int keyfile_base64_decode(const char *in, size_t inlen, bool skip_space, uint8_t **out, size_t *outlen)
{
	uint8_t *d;
	size_t n = 0, pad = 0;
	uint32_t acc = 0;
	unsigned have = 0;

	*out = NULL;
	*outlen = 0;
	if ((d = malloc(inlen / 4 * 3 + 3)) == NULL)
		return ERR_ALLOC_FAIL;
	for (size_t i = 0; i < inlen; i++) {
		char c = in[i];
		int v;

		if (skip_space && is_space(c))
			continue;
		if (c == '=') {
			/* Padding: at most two, only to complete the final quantum. */
			if (have < 2 || have + pad >= 4)
				goto bad;
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_value(c)) < 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		if (++have == 4) {
			d[n++] = (uint8_t)(acc >> 16);
			d[n++] = (uint8_t)(acc >> 8);
			d[n++] = (uint8_t)acc;
			acc = 0;
			have = 0;
		}
	}
	if (pad > 0 && have + pad != 4)
		goto bad;
	if (have == 1)
		goto bad;
	if (have == 2) {
		if ((acc & 0xf) != 0) /* non-canonical: stray low bits */
			goto bad;
		d[n++] = (uint8_t)(acc >> 4);
	} else if (have == 3) {
		if ((acc & 0x3) != 0)
			goto bad;
		d[n++] = (uint8_t)(acc >> 10);
		d[n++] = (uint8_t)(acc >> 2);
	}
	*out = d;
	*outlen = n;
	return 0;
bad:
	wipe(d, inlen / 4 * 3 + 3);
	free(d);
	return ERR_INVALID_FORMAT;
}

/* Reads a whole regular file of at most KEY_FILE_MAX bytes into a wiping buffer. */
static int read_file(const char *path, bool private_key, struct buf **out)
{
	struct buf *b = NULL;
	struct stat st;
	uint8_t *p;
	int fd, r = ERR_SYSTEM;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return errno == ENOENT ? ERR_NO_SUCH_FILE : errno == EACCES ? ERR_PERMISSION_DENIED : ERR_SYSTEM;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		r = ERR_INVALID_ARGUMENT;
		goto out;
	}
	if (st.st_size > (off_t)KEY_FILE_MAX) {
		r = ERR_LIMIT_EXCEEDED;
		goto out;
	}
	/* Like ssh (sshkey_perm_ok): our private key must not be open to others. */
	if (private_key && st.st_uid == getuid() && (st.st_mode & 077) != 0) {
		log_error(LOG_CAT_AUTH, "permissions 0%03o for '%s' are too open; the private key is ignored",
			  (unsigned)(st.st_mode & 0777), path);
		r = ERR_PERMISSION_DENIED;
		goto out;
	}
	if ((b = buf_new(KEY_FILE_MAX)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	for (;;) {
		size_t chunk = buf_room(b) < 4096 ? buf_room(b) : 4096;
		uint8_t extra;
		ssize_t n;

		if (chunk == 0) {
			/* At the cap: only end of file may follow (the file may have grown). */
			while ((n = read(fd, &extra, 1)) < 0 && errno == EINTR)
				;
			if (n != 0) {
				r = n > 0 ? ERR_LIMIT_EXCEEDED : ERR_SYSTEM;
				goto out;
			}
			break;
		}
		if ((r = buf_reserve(b, chunk, &p)) != 0)
			goto out;
		while ((n = read(fd, p, chunk)) < 0 && errno == EINTR)
			;
		if (n < 0) {
			r = ERR_SYSTEM;
			goto out;
		}
		/* Give back the part of the reservation that read did not fill. */
		if ((r = buf_consume_end(b, chunk - (size_t)n)) != 0)
			goto out;
		if (n == 0)
			break;
	}
	*out = b;
	b = NULL;
	r = 0;
out:
	buf_free(b);
	close(fd);
	return r;
}

/* Decrypts (or copies, for "none") the private section into a new buffer. */
static int decrypt_section(const struct key_cipher *c, const uint8_t *kdfopts, size_t kdfoptslen,
			   const uint8_t *kdfname, size_t kdfnamelen, const char *passphrase, const uint8_t *enc,
			   size_t enclen, const uint8_t *tag, struct buf **out)
{
	struct buf *opts = NULL, *plain = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	const uint8_t *salt;
	size_t saltlen;
	uint32_t rounds;
	uint8_t keyiv[64], *p;
	int r, outl = 0, finl = 0;

	*out = NULL;
	/* At least the two check words; also keeps buf_put away from zero-length appends. */
	if (enclen < 8)
		return ERR_INVALID_FORMAT;
	if ((plain = buf_new(KEY_FILE_MAX)) == NULL)
		return ERR_ALLOC_FAIL;
	if (c->evp == NULL) {
		/* PROTOCOL.key: cipher "none" goes with kdf "none" and empty options. */
		if (kdfnamelen != 4 || memcmp(kdfname, "none", 4) != 0 || kdfoptslen != 0) {
			r = ERR_INVALID_FORMAT;
			goto out;
		}
		if ((r = buf_put(plain, enc, enclen)) != 0)
			goto out;
		*out = plain;
		return 0;
	}
	if (kdfnamelen != 6 || memcmp(kdfname, "bcrypt", 6) != 0) {
		r = ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if (passphrase == NULL) {
		r = ERR_KEY_ENCRYPTED;
		goto out;
	}
	/* bcrypt_pbkdf takes no empty password: "" cannot be this key's passphrase (as in OpenSSH). */
	if (passphrase[0] == '\0') {
		r = ERR_KEY_WRONG_PASSPHRASE;
		goto out;
	}
	/* kdfoptions for bcrypt: string salt, uint32 rounds. */
	if ((opts = buf_from(kdfopts, kdfoptslen)) == NULL) {
		r = ERR_ALLOC_FAIL;
		goto out;
	}
	if ((r = buf_get_string_direct(opts, &salt, &saltlen)) != 0 || (r = buf_get_u32(opts, &rounds)) != 0 ||
	    (r = buf_expect_end(opts)) != 0)
		goto out;
	if (saltlen == 0 || saltlen > KEYFILE_SALT_MAX || rounds == 0 || rounds > KEYFILE_BCRYPT_ROUNDS_MAX) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	if (enclen % c->block_len != 0) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = bcrypt_pbkdf(passphrase, strlen(passphrase), salt, saltlen, keyiv, c->key_len + c->iv_len,
			      rounds)) != 0)
		goto out;
	r = ERR_LIBCRYPTO;
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto out;
	if (EVP_DecryptInit_ex(ctx, c->evp(), NULL, NULL, NULL) != 1)
		goto out;
	if (c->tag_len != 0 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)c->iv_len, NULL) != 1)
		goto out;
	if (EVP_DecryptInit_ex(ctx, NULL, NULL, keyiv, keyiv + c->key_len) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		goto out;
	if ((r = buf_reserve(plain, enclen + 16, &p)) != 0)
		goto out;
	r = ERR_LIBCRYPTO;
	if (EVP_DecryptUpdate(ctx, p, &outl, enc, (int)enclen) != 1)
		goto out;
	if (c->tag_len != 0 && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, (int)c->tag_len, (void *)tag) != 1)
		goto out;
	if (EVP_DecryptFinal_ex(ctx, p + outl, &finl) != 1) {
		/* The GCM tag did not verify: with a well-formed file, a wrong passphrase. */
		r = ERR_KEY_WRONG_PASSPHRASE;
		goto out;
	}
	if ((r = buf_consume_end(plain, enclen + 16 - (size_t)outl - (size_t)finl)) != 0)
		goto out;
	*out = plain;
	plain = NULL;
	r = 0;
out:
	ERR_clear_error();
	wipe(keyiv, sizeof(keyiv));
	EVP_CIPHER_CTX_free(ctx);
	buf_free(opts);
	buf_free(plain);
	return r;
}

/* The binary openssh-key-v1 structure (after base64). */
static int parse_openssh_v1(const uint8_t *bin, size_t binlen, const char *passphrase, bool public_only,
			    struct sshkey **out, char **comment)
{
	struct buf *b = NULL, *priv = NULL;
	const struct key_cipher *c;
	const uint8_t *cname, *kdfname, *kdfopts, *pub, *enc, *tag = NULL;
	size_t cnamelen, kdfnamelen, kdfoptslen, publen, enclen;
	uint32_t nkeys, check1, check2;
	struct sshkey *pubkey = NULL, *k = NULL;
	char *cmt = NULL;
	size_t i;
	int r;

	*out = NULL;
	if ((b = buf_from(bin, binlen)) == NULL)
		return ERR_ALLOC_FAIL;
	if (binlen < sizeof(OPENSSH_MAGIC) || memcmp(bin, OPENSSH_MAGIC, sizeof(OPENSSH_MAGIC)) != 0) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = buf_consume(b, sizeof(OPENSSH_MAGIC))) != 0)
		goto out;
	if ((r = buf_get_string_direct(b, &cname, &cnamelen)) != 0 ||
	    (r = buf_get_string_direct(b, &kdfname, &kdfnamelen)) != 0 ||
	    (r = buf_get_string_direct(b, &kdfopts, &kdfoptslen)) != 0 || (r = buf_get_u32(b, &nkeys)) != 0)
		goto out;
	if ((c = key_cipher_by_name(cname, cnamelen)) == NULL) {
		r = ERR_KEY_TYPE_UNKNOWN;
		goto out;
	}
	if (nkeys == 0 || nkeys > KEYFILE_KEYS_MAX) {
		r = ERR_LIMIT_EXCEEDED;
		goto out;
	}
	if ((r = buf_get_string_direct(b, &pub, &publen)) != 0 || (r = sshkey_from_blob(pub, publen, &pubkey)) != 0)
		goto out;
	if ((r = buf_get_string_direct(b, &enc, &enclen)) != 0)
		goto out;
	if (c->tag_len != 0) {
		/* PROTOCOL.key: an AEAD tag follows the encrypted string, outside it. */
		if (buf_len(b) < c->tag_len) {
			r = ERR_MESSAGE_INCOMPLETE;
			goto out;
		}
		tag = buf_peek(b);
		if ((r = buf_consume(b, c->tag_len)) != 0)
			goto out;
	}
	if ((r = buf_expect_end(b)) != 0)
		goto out;
	if (public_only) {
		/* The header's public key is in the clear even when the rest is encrypted. */
		*out = pubkey;
		pubkey = NULL;
		r = 0;
		goto out;
	}
	if ((r = decrypt_section(c, kdfopts, kdfoptslen, kdfname, kdfnamelen, passphrase, enc, enclen, tag, &priv)) != 0)
		goto out;
	if ((r = buf_get_u32(priv, &check1)) != 0 || (r = buf_get_u32(priv, &check2)) != 0)
		goto out;
	if (check1 != check2) {
		/* Equal random words: a mismatch after decryption means a wrong passphrase. */
		r = c->evp != NULL ? ERR_KEY_WRONG_PASSPHRASE : ERR_INVALID_FORMAT;
		goto out;
	}
	if ((r = sshkey_private_from_buf(priv, &k)) != 0)
		goto out;
	if ((r = buf_get_cstring(priv, &cmt, NULL)) != 0)
		goto out;
	/* Padding 1, 2, 3, … shorter than one block. */
	if (buf_len(priv) >= c->block_len) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	for (i = 0; buf_len(priv) > 0; i++) {
		uint8_t pad;

		if ((r = buf_get_u8(priv, &pad)) != 0)
			goto out;
		if (pad != (uint8_t)(i + 1)) {
			r = ERR_INVALID_FORMAT;
			goto out;
		}
	}
	if (!sshkey_equal_public(k, pubkey)) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	*out = k;
	k = NULL;
	if (comment != NULL) {
		*comment = cmt;
		cmt = NULL;
	}
	r = 0;
out:
	free(cmt);
	sshkey_free(k);
	sshkey_free(pubkey);
	buf_free(priv);
	buf_free(b);
	return r;
}

static const char *find_mem(const char *hay, size_t haylen, const char *needle)
{
	size_t n = strlen(needle);

	if (haylen < n)
		return NULL;
	for (size_t i = 0; i <= haylen - n; i++) {
		if (memcmp(hay + i, needle, n) == 0)
			return hay + i;
	}
	return NULL;
}

/* Never let libcrypto ask the terminal for a passphrase: we were given one or none. */
static int no_passphrase_cb(char *buf, size_t size, size_t *len, const OSSL_PARAM params[], void *arg)
{
	(void)buf;
	(void)size;
	(void)params;
	(void)arg;
	*len = 0;
	return 0;
}

/* PEM, PKCS#1, PKCS#8 and SEC1 files through libcrypto's decoders. */
static int parse_pem(const uint8_t *data, size_t len, const char *passphrase, struct sshkey **out)
{
	const char *text = (const char *)data;
	bool encrypted;
	OSSL_DECODER_CTX *dctx = NULL;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p = data;
	size_t left = len;
	int r;

	*out = NULL;
	if (find_mem(text, len, "-----BEGIN ") == NULL || find_mem(text, len, " PRIVATE KEY-----") == NULL)
		return ERR_KEY_TYPE_UNKNOWN;
	encrypted = find_mem(text, len, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
		    find_mem(text, len, "Proc-Type: 4,ENCRYPTED") != NULL;
	if (encrypted && passphrase == NULL)
		return ERR_KEY_ENCRYPTED;
	dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", NULL, NULL, EVP_PKEY_KEYPAIR, NULL, NULL);
	if (dctx == NULL)
		return ERR_LIBCRYPTO;
	if (passphrase != NULL ? OSSL_DECODER_CTX_set_passphrase(dctx, (const unsigned char *)passphrase,
								 strlen(passphrase)) != 1
			       : OSSL_DECODER_CTX_set_passphrase_cb(dctx, no_passphrase_cb, NULL) != 1) {
		r = ERR_LIBCRYPTO;
		goto out;
	}
	if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || pkey == NULL) {
		r = encrypted ? ERR_KEY_WRONG_PASSPHRASE : ERR_INVALID_FORMAT;
		goto out;
	}
	r = sshkey_from_evp(pkey, true, out);
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	OSSL_DECODER_CTX_free(dctx);
	return r;
}

static int parse_private(const uint8_t *data, size_t len, const char *passphrase, bool public_only,
			 struct sshkey **out, char **comment)
{
	const char *text = (const char *)data, *begin, *end;
	uint8_t *bin = NULL;
	size_t binlen = 0;
	int r;

	*out = NULL;
	if (comment != NULL)
		*comment = NULL;
	if (len > KEY_FILE_MAX)
		return ERR_LIMIT_EXCEEDED;
	if ((begin = find_mem(text, len, OPENSSH_BEGIN)) == NULL) {
		if ((r = parse_pem(data, len, passphrase, out)) == 0 && public_only) {
			struct sshkey *full = *out;

			r = sshkey_demote(full, out);
			sshkey_free(full);
		}
		if (r == 0 && comment != NULL && (*comment = strdup("")) == NULL) {
			sshkey_free(*out);
			*out = NULL;
			return ERR_ALLOC_FAIL;
		}
		return r;
	}
	/* Only whitespace may surround the armour. */
	for (const char *q = text; q < begin; q++) {
		if (!is_space(*q))
			return ERR_INVALID_FORMAT;
	}
	begin += strlen(OPENSSH_BEGIN);
	if ((end = find_mem(begin, len - (size_t)(begin - text), OPENSSH_END)) == NULL)
		return ERR_INVALID_FORMAT;
	for (const char *q = end + strlen(OPENSSH_END); q < text + len; q++) {
		if (!is_space(*q))
			return ERR_INVALID_FORMAT;
	}
	if ((r = keyfile_base64_decode(begin, (size_t)(end - begin), true, &bin, &binlen)) != 0)
		return r;
	r = parse_openssh_v1(bin, binlen, passphrase, public_only, out, comment);
	wipe(bin, binlen);
	free(bin);
	return r;
}

int keyfile_parse_private(const uint8_t *data, size_t len, const char *passphrase, struct sshkey **out,
			  char **comment)
{
	return parse_private(data, len, passphrase, false, out, comment);
}

int keyfile_load_public_for(const char *path, struct sshkey **out)
{
	struct buf *b = NULL;
	char *pubpath;
	int r;

	*out = NULL;
	if ((r = read_file(path, true, &b)) == 0) {
		r = parse_private(buf_peek(b), buf_len(b), NULL, true, out, NULL);
		buf_free(b);
		if (r == 0)
			return 0;
	}
	/* Like ssh: fall back to "<path>.pub" (an encrypted PEM key, say). */
	if ((pubpath = malloc(strlen(path) + 5)) == NULL)
		return ERR_ALLOC_FAIL;
	memcpy(pubpath, path, strlen(path));
	memcpy(pubpath + strlen(path), ".pub", 5);
	r = keyfile_load_public(pubpath, out);
	free(pubpath);
	return r;
}

int keyfile_load_private(const char *path, const char *passphrase, struct sshkey **out)
{
	struct buf *b = NULL;
	int r;

	*out = NULL;
	if ((r = read_file(path, true, &b)) != 0)
		return r;
	r = keyfile_parse_private(buf_peek(b), buf_len(b), passphrase, out, NULL);
	buf_free(b);
	return r;
}

int keyfile_parse_public_line(const char *line, size_t len, struct sshkey **out, char **comment)
{
	size_t i = 0, tstart, tend, bstart, bend;
	uint8_t *blob = NULL;
	size_t bloblen = 0;
	struct sshkey *k = NULL;
	int r;

	*out = NULL;
	if (comment != NULL)
		*comment = NULL;
	while (i < len && is_space(line[i]))
		i++;
	tstart = i;
	while (i < len && !is_space(line[i]))
		i++;
	tend = i;
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	bstart = i;
	while (i < len && !is_space(line[i]))
		i++;
	bend = i;
	if (tend == tstart || bend == bstart)
		return ERR_INVALID_FORMAT;
	if (bend - bstart > 2 * SSH_KEY_BLOB_MAX)
		return ERR_STRING_TOO_LARGE;
	if ((r = keyfile_base64_decode(line + bstart, bend - bstart, false, &blob, &bloblen)) != 0)
		return r;
	if ((r = sshkey_from_blob(blob, bloblen, &k)) != 0)
		goto out;
	/* The type word must name the blob's type. */
	if (strlen(sshkey_type_name(k)) != tend - tstart ||
	    memcmp(sshkey_type_name(k), line + tstart, tend - tstart) != 0) {
		r = ERR_INVALID_FORMAT;
		goto out;
	}
	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (comment != NULL) {
		size_t cend = len;

		while (cend > i && is_space(line[cend - 1]))
			cend--;
		if (memchr(line + i, '\0', cend - i) != NULL) {
			r = ERR_INVALID_FORMAT;
			goto out;
		}
		if ((*comment = strndup(line + i, cend - i)) == NULL) {
			r = ERR_ALLOC_FAIL;
			goto out;
		}
	}
	*out = k;
	k = NULL;
	r = 0;
out:
	sshkey_free(k);
	free(blob);
	return r;
}

int keyfile_load_public(const char *path, struct sshkey **out)
{
	struct buf *b = NULL;
	const char *p, *end;
	int r;

	*out = NULL;
	if ((r = read_file(path, false, &b)) != 0)
		return r;
	p = (const char *)buf_peek(b);
	end = p + buf_len(b);
	r = ERR_KEY_NOT_FOUND;
	/* The first line that is neither blank nor a comment is the key (as OpenSSH reads it). */
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		const char *s = p;

		while (s < le && is_space(*s))
			s++;
		if (s < le && *s != '#') {
			r = keyfile_parse_public_line(s, (size_t)(le - s), out, NULL);
			break;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	buf_free(b);
	return r;
}

int keyfile_attach_cert_file(const struct sshkey *priv, const char *certpath, struct sshkey **out)
{
	struct sshkey *cert = NULL;
	int r;

	*out = NULL;
	if ((r = keyfile_load_public(certpath, &cert)) != 0)
		return r;
	if (!sshkey_is_cert(cert))
		r = ERR_INVALID_FORMAT;
	else
		r = sshkey_attach_cert(priv, cert, out);
	sshkey_free(cert);
	return r;
}
