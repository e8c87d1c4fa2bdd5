/*
 * errmap.c - the one place where err.h codes become errno values for FUSE.
 *
 * Operations refine the SFTP layer's generic failure (SSH_FX_FAILURE, which
 * OpenSSH's server sends for EEXIST, ENOTEMPTY, EISDIR, ...) into a precise
 * err.h code first (see ops.c, refine_*); this table only translates. Codes
 * with no row - protocol and transport faults - become EIO, as a local disk
 * reports a failing device.
 */
#include "config.h"

#include <errno.h>

#include "sftpfs.h"

static const int errno_of[-ERR_MIN_CODE] = {
	[-ERR_OK] = 0,
	[-ERR_ALLOC_FAIL] = ENOMEM,
	[-ERR_INVALID_ARGUMENT] = EINVAL,
	[-ERR_NO_SUCH_FILE] = ENOENT,
	[-ERR_PERMISSION_DENIED] = EACCES,
	[-ERR_FILE_EXISTS] = EEXIST,
	[-ERR_NOT_EMPTY] = ENOTEMPTY,
	[-ERR_NOT_DIRECTORY] = ENOTDIR,
	[-ERR_IS_DIRECTORY] = EISDIR,
	[-ERR_NO_SPACE] = ENOSPC,
	[-ERR_READ_ONLY] = EROFS,
	[-ERR_NOT_SUPPORTED] = EOPNOTSUPP,
	[-ERR_STALE] = ESTALE,
	[-ERR_WOULD_BLOCK] = EAGAIN,
	[-ERR_LIMIT_EXCEEDED] = EMFILE,
	[-ERR_STRING_TOO_LARGE] = ENAMETOOLONG,
	[-ERR_TIMEOUT] = ETIMEDOUT,
	[-ERR_CONN_CLOSED] = EIO,
	[-ERR_DISCONNECTED] = EIO,
	[-ERR_SFTP_STATUS] = EIO,
};

int sftpfs_errno(int err)
{
	int e;

	if (err >= 0)
		return 0;
	if (err <= ERR_MIN_CODE)
		return EIO;
	e = errno_of[-err];
	return e != 0 ? e : EIO;
}
