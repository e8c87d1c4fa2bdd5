/*
 * keyfile.h - loading the user's key files: OpenSSH "openssh-key-v1"
 * private keys (PROTOCOL.key; plain or bcrypt-KDF encrypted with aes256-ctr
 * or aes256-gcm@openssh.com), PEM / PKCS#1 / PKCS#8 / SEC1 private keys (via
 * libcrypto's OSSL_DECODER), and one-line public keys and certificates
 * ("type base64 comment", the .pub and -cert.pub files ssh-keygen writes).
 * Files are read whole, bounded by KEY_FILE_MAX, and parsed strictly.
 */
#ifndef SFTPFS_KEYFILE_H
#define SFTPFS_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "sshkey.h"

/*
 * Loads a private key. passphrase NULL means none: an encrypted key then
 * fails with ERR_KEY_ENCRYPTED; a wrong passphrase gives
 * ERR_KEY_WRONG_PASSPHRASE. Like ssh, a private key file that is ours and
 * readable by group or others is refused (ERR_PERMISSION_DENIED).
 */
int keyfile_load_private(const char *path, const char *passphrase, struct sshkey **out) MUST_CHECK;
/*
 * The public key of a private key file, without its passphrase (to offer it
 * before asking for one, as ssh does): the clear public key in an
 * openssh-key-v1 header, an unencrypted PEM key's public part, else the
 * "<path>.pub" file.
 */
int keyfile_load_public_for(const char *path, struct sshkey **out) MUST_CHECK;
/* Loads a "type base64 [comment]" public key or certificate file (first key line). */
int keyfile_load_public(const char *path, struct sshkey **out) MUST_CHECK;

/*
 * A user certificate for priv: loads certpath (ssh looks for "<key>-cert.pub"
 * next to the key, or uses CertificateFile) and returns a key that signs with
 * priv and presents the certificate. ERR_NO_SUCH_FILE when there is no such
 * file; ERR_KEY_NOT_FOUND when the certificate is for another key;
 * ERR_INVALID_FORMAT when the file holds a plain key.
 */
int keyfile_attach_cert_file(const struct sshkey *priv, const char *certpath, struct sshkey **out) MUST_CHECK;

/*
 * The same from memory. keyfile_parse_private: the whole file's bytes;
 * comment (may be NULL) receives the key's comment (free()) for
 * openssh-key-v1 files, "" for PEM ones.
 */
int keyfile_parse_private(const uint8_t *data, size_t len, const char *passphrase, struct sshkey **out,
			  char **comment) MUST_CHECK;
/* One public key line "type base64 [comment]" (no newline needed). */
int keyfile_parse_public_line(const char *line, size_t len, struct sshkey **out, char **comment) MUST_CHECK;

/*
 * Strict base64 (RFC 4648 §4) decoding: the standard alphabet, '=' padding
 * only at the end; whitespace is skipped when skip_space. Returns a fresh
 * allocation (free()) and its length.
 */
int keyfile_base64_decode(const char *in, size_t inlen, bool skip_space, uint8_t **out, size_t *outlen) MUST_CHECK;

#endif
