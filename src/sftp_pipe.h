/*
 * sftp_pipe.h - runs an SFTP client over a pair of file descriptors: a
 * reader thread feeds sftp_client_input(), a writer thread drains a queue so
 * sends never block on the peer. Used for sshfs's `-o passive` (stdin and
 * stdout), `-o directport` (a TCP socket) and, in tests, a locally spawned
 * sftp-server. sftp_client_free() stops both threads, closes the fds and
 * reaps a spawned child.
 */
#ifndef SFTPFS_SFTP_PIPE_H
#define SFTPFS_SFTP_PIPE_H

#include <sys/types.h>

#include "sftp.h"

/* A new client wired to rfd/wfd (which may be the same fd; both are closed
 * by sftp_client_free). Does not call sftp_client_init. */
int sftp_client_start_fds(int rfd, int wfd, struct sftp_client **out) MUST_CHECK;
/* Forks argv[0] (a path; argv NULL-terminated) with a socketpair as its
 * stdin and stdout (stderr inherited) and starts a client on it. Does not
 * call sftp_client_init. If pid is not NULL it receives the child's pid. */
int sftp_client_spawn(const char *const argv[], struct sftp_client **out, pid_t *pid) MUST_CHECK;

#endif
