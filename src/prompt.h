/*
 * prompt.h - asking the user for passwords, passphrases and confirmations the
 * way ssh does (OpenSSH readpass.c read_passphrase): from /dev/tty with echo
 * off, never from argv; through the SSH_ASKPASS program when there is no
 * terminal, or when SSH_ASKPASS_REQUIRE says so (never / prefer / force,
 * with prefer needing DISPLAY or WAYLAND_DISPLAY); and, for sshfs's
 * password_stdin, one line from standard input. Every answer lives in memory
 * that prompt_free() wipes.
 */
#ifndef SFTPFS_PROMPT_H
#define SFTPFS_PROMPT_H

#include <stdbool.h>

#include "err.h"

enum {
	PROMPT_ECHO = 1u << 0,        /* show what is typed (questions, not secrets) */
	PROMPT_ALLOW_STDIN = 1u << 1, /* a key passphrase: askpass when stdin is not a tty */
	PROMPT_CONFIRM = 1u << 2,     /* tell askpass it is a yes/no question */
};

/*
 * Asks prompt and returns the answer without its newline (free with
 * prompt_free). ERR_CANCELLED when the user cancelled (askpass exited
 * non-zero, or end of input), ERR_NOT_SUPPORTED when there is neither a
 * terminal nor an allowed askpass program.
 */
int prompt_read(const char *prompt, unsigned flags, char **out) MUST_CHECK;
/* The terminal part alone, on the given descriptor (a tty: echo is turned off
 * unless PROMPT_ECHO, and restored even on SIGINT/SIGTERM/SIGTSTP). */
int prompt_read_tty_fd(int fd, const char *prompt, unsigned flags, char **out) MUST_CHECK;
/* Runs askpass with prompt as its argument and returns its first output line. */
int prompt_askpass(const char *askpass, const char *prompt, unsigned flags, char **out) MUST_CHECK;
/* password_stdin: one line from standard input (without its newline). */
int prompt_read_stdin(char **out) MUST_CHECK;
/* Wipes and frees an answer; NULL is allowed. */
void prompt_free(char *answer);

#endif
