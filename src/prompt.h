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
#include <stdint.h>

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

/* State for the authentication prompt callbacks below. */
struct prompt_ctx {
	bool password_stdin; /* sshfs -o password_stdin: the password is stdin's first line */
	bool stdin_used;     /* set once that line was read */
	bool batch_mode;     /* BatchMode: never ask */
};

/*
 * conn_password_fn (conn.h): asks "user@host's password: " with echo off, or
 * reads stdin's first line once when ctx->password_stdin. ctx may be NULL.
 */
int prompt_password(void *ctx, const char *user, const char *host, char **out) MUST_CHECK;
/*
 * conn_kbdint_fn (conn.h, RFC 4256 §3.2): shows the server's name and
 * instruction, asks each prompt with the server's echo flag. Server text has
 * its control characters replaced before it reaches the terminal. On error
 * every answer is wiped and NULL.
 */
int prompt_kbdint(void *ctx, const char *name, const char *instruction, uint32_t n,
                  const char *const *prompts, const bool *echo, char **answers) MUST_CHECK;

#endif
