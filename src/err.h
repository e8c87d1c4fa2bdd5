/*
 * err.h - the one error model of src/: every fallible function returns 0 on
 * success or one of the negative codes below, and err_str() names it.
 * fuse/ maps these codes to errno in exactly one place (fuse/errmap.c).
 *
 * Add a code by adding one ERR_ROW line; the enum and the string table are
 * both generated from this list, so they cannot drift apart.
 */
#ifndef SFTPFS_ERR_H
#define SFTPFS_ERR_H

#define MUST_CHECK __attribute__((warn_unused_result))

/*      name                       value  message */
#define ERR_TABLE(ERR_ROW)                                                          \
	ERR_ROW(ERR_OK,                       0, "success")                             \
	ERR_ROW(ERR_INTERNAL,                -1, "internal error")                      \
	ERR_ROW(ERR_ALLOC_FAIL,              -2, "memory allocation failed")            \
	ERR_ROW(ERR_NO_BUFFER_SPACE,         -3, "buffer size limit exceeded")          \
	ERR_ROW(ERR_MESSAGE_INCOMPLETE,      -4, "message incomplete")                  \
	ERR_ROW(ERR_INVALID_FORMAT,          -5, "invalid format")                      \
	ERR_ROW(ERR_STRING_TOO_LARGE,        -6, "string too large")                    \
	ERR_ROW(ERR_TRAILING_DATA,           -7, "unexpected trailing data")            \
	ERR_ROW(ERR_BIGNUM_IS_NEGATIVE,      -8, "bignum is negative")                  \
	ERR_ROW(ERR_BIGNUM_TOO_LARGE,        -9, "bignum too large")                    \
	ERR_ROW(ERR_INVALID_ARGUMENT,       -10, "invalid argument")                    \
	ERR_ROW(ERR_LIBCRYPTO,              -11, "error in libcrypto")                  \
	ERR_ROW(ERR_MAC_INVALID,            -12, "message authentication code incorrect") \
	ERR_ROW(ERR_PROTOCOL,               -13, "protocol error")                      \
	ERR_ROW(ERR_NO_MATCH,               -14, "no matching algorithm")               \
	ERR_ROW(ERR_SIGNATURE_INVALID,      -15, "incorrect signature")                 \
	ERR_ROW(ERR_KEY_TYPE_UNKNOWN,       -16, "unknown or unsupported key type")     \
	ERR_ROW(ERR_HOSTKEY_UNKNOWN,        -17, "host key is not known")               \
	ERR_ROW(ERR_HOSTKEY_CHANGED,        -18, "host key has changed")                \
	ERR_ROW(ERR_HOSTKEY_REVOKED,        -19, "host key is revoked")                 \
	ERR_ROW(ERR_AUTH_FAILED,            -20, "authentication failed")               \
	ERR_ROW(ERR_DISCONNECTED,           -21, "disconnected by peer")                \
	ERR_ROW(ERR_CONN_CLOSED,            -22, "connection closed")                   \
	ERR_ROW(ERR_SYSTEM,                 -23, "system error")                        \
	ERR_ROW(ERR_TIMEOUT,                -24, "timed out")                           \
	ERR_ROW(ERR_KEY_WRONG_PASSPHRASE,   -25, "incorrect passphrase")                \
	ERR_ROW(ERR_KEY_ENCRYPTED,          -26, "key is encrypted")                    \
	ERR_ROW(ERR_CHANNEL_FAILED,         -27, "channel open or request refused")     \
	ERR_ROW(ERR_NOT_SUPPORTED,          -28, "feature not supported")               \
	ERR_ROW(ERR_LIMIT_EXCEEDED,         -29, "limit exceeded")                      \
	ERR_ROW(ERR_CONFIG,                 -30, "invalid configuration")               \
	ERR_ROW(ERR_CANCELLED,              -31, "operation cancelled")                 \
	ERR_ROW(ERR_AGENT_FAILURE,          -32, "agent refused operation")             \
	ERR_ROW(ERR_AGENT_NOT_PRESENT,      -33, "agent not present")                   \
	ERR_ROW(ERR_KEY_NOT_FOUND,          -34, "key not found")                       \
	ERR_ROW(ERR_SFTP_STATUS,            -35, "SFTP server returned an error status") \
	ERR_ROW(ERR_EOF,                    -36, "end of file")                         \
	ERR_ROW(ERR_NO_SUCH_FILE,           -37, "no such file")                        \
	ERR_ROW(ERR_PERMISSION_DENIED,      -38, "permission denied")                   \
	ERR_ROW(ERR_STALE,                  -39, "stale handle")                        \
	ERR_ROW(ERR_WOULD_BLOCK,            -40, "operation would block")               \
	ERR_ROW(ERR_RESOLVE,                -41, "could not resolve host name")         \
	ERR_ROW(ERR_CONNECT,                -42, "could not connect")                   \
	ERR_ROW(ERR_KEX_STRICT,             -43, "strict key exchange violation")       \
	ERR_ROW(ERR_DECOMPRESS,             -44, "decompression failed")                \
	ERR_ROW(ERR_HOSTKEY_MISMATCH_TYPE,  -45, "host key does not match negotiated type") \
	ERR_ROW(ERR_FILE_EXISTS,            -46, "file exists")                         \
	ERR_ROW(ERR_NOT_EMPTY,              -47, "directory not empty")                 \
	ERR_ROW(ERR_NOT_DIRECTORY,          -48, "not a directory")                     \
	ERR_ROW(ERR_IS_DIRECTORY,           -49, "is a directory")                      \
	ERR_ROW(ERR_NO_SPACE,               -50, "no space left or quota exceeded")     \
	ERR_ROW(ERR_READ_ONLY,              -51, "write protected")

enum err_code {
#define ERR_ENUM_ROW(name, value, msg) name = value,
	ERR_TABLE(ERR_ENUM_ROW)
#undef ERR_ENUM_ROW
	ERR_MIN_CODE = -52
};

/* Returns a static string naming code; never NULL. */
const char *err_str(int code);

#endif
