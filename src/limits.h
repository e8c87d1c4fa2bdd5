/*
 * limits.h - every size cap and every bound on a peer-supplied number, in one
 * place. Code that accepts a length or count from the network compares it
 * against one of these names; nothing decodes an unbounded value.
 */
#ifndef SFTPFS_LIMITS_H
#define SFTPFS_LIMITS_H

/* Default cap of a struct buf created with buf_new(0). */
#define BUF_DEFAULT_MAX (16u * 1024 * 1024)
/* Hard ceiling for any buffer, whatever its own cap says. */
#define BUF_ABSOLUTE_MAX (256u * 1024 * 1024)

/* RFC 4253 §4.2: the identification line is at most 255 chars incl. CR LF. */
#define SSH_VERSION_LINE_MAX 255
/* Lines a server may send before its version line, and their total size. */
#define SSH_BANNER_LINES_MAX 1024
#define SSH_BANNER_BYTES_MAX (64u * 1024)

/* RFC 4253 §6.1: implementations must handle 35000; OpenSSH accepts 256 KiB. */
#define SSH_PACKET_MAX (256u * 1024)
/* Largest payload we accept after decompression (bounds zlib expansion). */
#define SSH_PAYLOAD_INFLATED_MAX (256u * 1024)
/* A KEXINIT name-list, and the number of names in one. */
#define SSH_NAMELIST_MAX 8192
#define SSH_NAMELIST_NAMES_MAX 256
/* Public key / signature blobs (RSA 16384-bit keys fit easily). */
#define SSH_KEY_BLOB_MAX (16u * 1024)
#define SSH_SIGNATURE_BLOB_MAX (16u * 1024)
/* DH group exchange: moduli we accept, in bits (RFC 8270 minimum 2048). */
#define SSH_DH_GEX_MIN_BITS 2048
#define SSH_DH_GEX_PREFERRED_BITS 8192
#define SSH_DH_GEX_MAX_BITS 8192
/* Strings in auth and disconnect messages that we only log. */
#define SSH_MESSAGE_TEXT_MAX 4096
/* keyboard-interactive prompts per request. */
#define SSH_KBDINT_PROMPTS_MAX 32
/* Extensions in SSH_MSG_EXT_INFO (RFC 8308 §2.3). */
#define SSH_EXT_INFO_MAX 64

/* Channels: our receive window and max packet size. */
#define SSH_CHANNEL_WINDOW_DEFAULT (16u * 1024 * 1024)
#define SSH_CHANNEL_PACKET_DEFAULT (32u * 1024)
#define SSH_CHANNELS_MAX 64

/* SFTP (draft-ietf-secsh-filexfer-02). */
#define SFTP_PACKET_MAX (256u * 1024)
#define SFTP_HANDLE_MAX 256 /* filexfer-02 §3: handles are at most 256 bytes */
#define SFTP_NAME_COUNT_MAX 4096
#define SFTP_PATH_MAX 4096
#define SFTP_EXTENDED_ATTRS_MAX 64
#define SFTP_EXTENSIONS_MAX 64
#define SFTP_READ_MAX (255u * 1024)
#define SFTP_REQUESTS_IN_FLIGHT_MAX 256
/* Status messages and language tags we keep (longer ones are refused). */
#define SFTP_MESSAGE_MAX 4096
/* READDIR "longname" (display only). */
#define SFTP_LONGNAME_MAX 8192
/* Extension names and values in SSH_FXP_VERSION. */
#define SFTP_EXTENSION_NAME_MAX 256
#define SFTP_EXTENSION_DATA_MAX 4096
/* READ/WRITE size without limits@openssh.com (filexfer-02 §3: servers must
 * accept 34000-byte packets). */
#define SFTP_IO_LEN_DEFAULT 32768
/* Default window: requests and data bytes in flight per client. */
#define SFTP_WINDOW_REQUESTS_DEFAULT 128
#define SFTP_WINDOW_BYTES_DEFAULT (8u * 1024 * 1024)
/* ids per users-groups-by-id@openssh.com request. */
#define SFTP_IDS_PER_REQUEST_MAX 1024

/* Local files we parse. */
#define CONFIG_LINE_MAX 4096
#define CONFIG_INCLUDE_DEPTH_MAX 16
#define KNOWN_HOSTS_LINE_MAX 16384
#define KEY_FILE_MAX (1024u * 1024)
#define PASSWORD_MAX 1024

/* Keys (src/sshkey, src/keyfile, src/agent). */
/* OpenSSH RequiredRSASize defaults to 1024 bits; OpenSSL caps moduli at 16384. */
#define SSH_RSA_MIN_BITS 1024
#define SSH_RSA_MAX_BITS 16384
/* RSA public exponents we accept (OpenSSH's keys use 65537). */
#define SSH_RSA_MAX_E_BITS 64
/* PROTOCOL.certkeys: principals and options per certificate (OpenSSH: 256 principals). */
#define SSH_CERT_PRINCIPALS_MAX 256
#define SSH_CERT_OPTIONS_MAX 64
/* openssh-key-v1: keys per file (OpenSSH writes exactly one) and bcrypt rounds we run. */
#define KEYFILE_KEYS_MAX 1
#define KEYFILE_BCRYPT_ROUNDS_MAX 4096
#define KEYFILE_SALT_MAX 64
/* ssh-agent (draft-miller-ssh-agent): one reply and the identities in it. */
#define SSH_AGENT_REPLY_MAX (256u * 1024)
#define SSH_AGENT_IDENTITIES_MAX 1024
#define SSH_AGENT_COMMENT_MAX 4096

#endif

/*
 * -I src makes this file shadow the C library's <limits.h> for system headers
 * (openssl/err.h includes it): hand them the real one as well. Outside the
 * include guard on purpose, so every inclusion reaches it.
 */
#ifdef __clang__
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winclude-next-absolute-path"
#endif
#include_next <limits.h>
#ifdef __clang__
#pragma clang diagnostic pop
#endif
