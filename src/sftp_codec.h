/*
 * sftp_codec.h - internal to the SFTP client: encoders and decoders of the
 * draft-ietf-secsh-filexfer-02 structures shared by sftp.c, sftp_ext.c, the
 * tests and the reply fuzzer. Every decoder checks each peer length against a
 * limits.h bound, rejects what the spec does not allow, clears its outputs on
 * failure and (for whole messages) rejects trailing bytes.
 */
#ifndef SFTPFS_SFTP_CODEC_H
#define SFTPFS_SFTP_CODEC_H

#include <stdbool.h>
#include <stdint.h>

#include "buf.h"
#include "sftp.h"

/* filexfer-02 §3: packet types. */
enum sftp_packet_type {
	SSH_FXP_INIT = 1,
	SSH_FXP_VERSION = 2,
	SSH_FXP_OPEN = 3,
	SSH_FXP_CLOSE = 4,
	SSH_FXP_READ = 5,
	SSH_FXP_WRITE = 6,
	SSH_FXP_LSTAT = 7,
	SSH_FXP_FSTAT = 8,
	SSH_FXP_SETSTAT = 9,
	SSH_FXP_FSETSTAT = 10,
	SSH_FXP_OPENDIR = 11,
	SSH_FXP_READDIR = 12,
	SSH_FXP_REMOVE = 13,
	SSH_FXP_MKDIR = 14,
	SSH_FXP_RMDIR = 15,
	SSH_FXP_REALPATH = 16,
	SSH_FXP_STAT = 17,
	SSH_FXP_RENAME = 18,
	SSH_FXP_READLINK = 19,
	SSH_FXP_SYMLINK = 20,
	SSH_FXP_STATUS = 101,
	SSH_FXP_HANDLE = 102,
	SSH_FXP_DATA = 103,
	SSH_FXP_NAME = 104,
	SSH_FXP_ATTRS = 105,
	SSH_FXP_EXTENDED = 200,
	SSH_FXP_EXTENDED_REPLY = 201,
};

/* Name of a packet type for logs ("?" if unknown); never NULL. */
const char *sftp_type_name(uint8_t type);

/* Kinds of NAME reply, which bound the names differently. */
enum sftp_name_kind {
	SFTP_NAMES_DIRENT, /* READDIR: single non-empty components, no "/" */
	SFTP_NAMES_PATH,   /* REALPATH/READLINK/expand-path/home-directory: exactly one path */
};

int sftp_attrs_encode(struct buf *b, const struct sftp_attrs *a) MUST_CHECK;
/* Decodes one ATTRS from the front of b (not the whole buffer). */
int sftp_attrs_decode(struct buf *b, struct sftp_attrs *out) MUST_CHECK;
/* Body of SSH_FXP_NAME after the id; rejects trailing bytes. */
int sftp_names_decode(struct buf *b, enum sftp_name_kind kind, struct sftp_names *out) MUST_CHECK;
/* Body of SSH_FXP_HANDLE after the id; rejects trailing bytes. */
int sftp_handle_decode(struct buf *b, struct sftp_handle *out) MUST_CHECK;
/* Body of SSH_FXP_STATUS after the id: code, and the message copied
 * (truncated, NUL-free) into msg. Rejects trailing bytes. */
int sftp_status_decode(struct buf *b, uint32_t *code, char *msg, size_t msgsize) MUST_CHECK;
/* SFTP status -> err.h code (the one table). */
int sftp_status_to_err(uint32_t code);
/* Body of SSH_FXP_DATA after the id; at most max bytes. Borrowed from b. */
int sftp_data_decode(struct buf *b, size_t max, const uint8_t **data, size_t *len) MUST_CHECK;
/* Body of statvfs@ / limits@ EXTENDED_REPLY; reject trailing bytes. */
int sftp_statvfs_decode(struct buf *b, struct sftp_statvfs *out) MUST_CHECK;
int sftp_limits_decode(struct buf *b, struct sftp_limits *out) MUST_CHECK;
/* Body of the users-groups-by-id@ reply: exactly nu and ng names. */
int sftp_idnames_decode(struct buf *b, size_t nu, size_t ng, char ***unames, char ***gnames) MUST_CHECK;

/* SSH_FXP_VERSION body (after the type byte). */
struct sftp_version_info {
	uint32_t version;
	unsigned exts;       /* enum sftp_ext bits we recognised at a usable version */
	bool symlink_reversed; /* SYMLINK sent as (targetpath, linkpath) */
};
int sftp_version_decode(struct buf *b, struct sftp_version_info *out) MUST_CHECK;

/* The non-blocking first half of sftp_client_init: sends INIT and awaits
 * VERSION through sftp_client_input (no limits@ query). For the fuzzer and
 * for drivers that cannot block. */
int sftp_client_init_start(struct sftp_client *c) MUST_CHECK;

#endif
