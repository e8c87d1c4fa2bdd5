/*
 * prompt.c - terminal, askpass and stdin prompts (see prompt.h). The choice
 * between terminal and askpass follows OpenSSH's readpass.c: askpass is
 * allowed when DISPLAY or WAYLAND_DISPLAY is set or SSH_ASKPASS_REQUIRE=force,
 * used first when SSH_ASKPASS_REQUIRE=prefer (and allowed) or force, and used
 * as the fallback when /dev/tty cannot be opened (or, for key passphrases,
 * when stdin is not a terminal); SSH_ASKPASS_REQUIRE=never forbids it.
 * Answers are read byte by byte into a PASSWORD_MAX buffer that is wiped.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "buf.h"
#include "limits.h"
#include "log.h"
#include "prompt.h"

#define ASKPASS_DEFAULT "/usr/bin/ssh-askpass"

void prompt_free(char *answer)
{
	if (answer == NULL)
		return;
	wipe(answer, strlen(answer));
	free(answer);
}

/* Set by the handler installed while echo is off; the reader then stops, the
 * terminal is restored and the signal raised again. */
static volatile sig_atomic_t caught_signal;

static void on_signal(int sig)
{
	caught_signal = sig;
}

/* Reads one line from fd into a fresh PASSWORD_MAX buffer. An overlong line
 * is an error (never silently truncated). EOF before any byte: ERR_CANCELLED. */
static int read_line_fd(int fd, char **out)
{
	char *buf = calloc(1, PASSWORD_MAX + 1);
	size_t n = 0;
	bool any = false;
	int r = ERR_INTERNAL;

	*out = NULL;
	if (buf == NULL)
		return ERR_ALLOC_FAIL;
	for (;;) {
		char c;
		ssize_t got = read(fd, &c, 1);

		if (got < 0 && errno == EINTR && caught_signal == 0)
			continue;
		if (got < 0 && caught_signal != 0) {
			r = ERR_CANCELLED;
			goto out;
		}
		if (got < 0) {
			r = ERR_SYSTEM;
			goto out;
		}
		if (got == 0) {
			if (!any) {
				r = ERR_CANCELLED;
				goto out;
			}
			break;
		}
		any = true;
		if (c == '\n' || c == '\r')
			break;
		if (n >= PASSWORD_MAX) {
			r = ERR_LIMIT_EXCEEDED;
			goto out;
		}
		buf[n++] = c;
	}
	*out = buf;
	buf = NULL;
	r = 0;
out:
	if (buf != NULL) {
		wipe(buf, PASSWORD_MAX + 1);
		free(buf);
	}
	return r;
}


int prompt_read_tty_fd(int fd, const char *prompt, unsigned flags, char **out)
{
	struct termios saved, quiet;
	struct sigaction sa, old_int, old_term, old_tstp, old_hup, old_quit;
	bool echo_off = false, handlers = false;
	int r;

	*out = NULL;
	caught_signal = 0;
	if ((flags & PROMPT_ECHO) == 0 && tcgetattr(fd, &saved) == 0) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		/* No SA_RESTART: a signal interrupts read() so we restore and re-raise. */
		sigaction(SIGINT, &sa, &old_int);
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGTSTP, &sa, &old_tstp);
		sigaction(SIGHUP, &sa, &old_hup);
		sigaction(SIGQUIT, &sa, &old_quit);
		handlers = true;
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			echo_off = true;
	}
	/* Start at the beginning of the line, over anything typed early (readpass.c). */
	if (write(fd, "\r", 1) < 0 || write(fd, prompt, strlen(prompt)) < 0) {
		r = ERR_SYSTEM;
		goto restore;
	}
	r = read_line_fd(fd, out);
	if (caught_signal != 0 && r == 0) {
		prompt_free(*out);
		*out = NULL;
		r = ERR_CANCELLED;
	}
restore:
	if (handlers) {
		if (echo_off) {
			tcsetattr(fd, TCSAFLUSH, &saved);
			if (write(fd, "\n", 1) < 0) {
				/* The newline only tidies the terminal. */
			}
		}
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGTSTP, &old_tstp, NULL);
		sigaction(SIGHUP, &old_hup, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		if (caught_signal != 0)
			raise(caught_signal); /* with the terminal restored, as readpassphrase does */
	}
	return r;
}

int prompt_askpass(const char *askpass, const char *prompt, unsigned flags, char **out)
{
	int pfd[2], status;
	pid_t pid;
	char *line = NULL;
	int r;

	*out = NULL;
	if (pipe2(pfd, O_CLOEXEC) != 0)
		return ERR_SYSTEM;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return ERR_SYSTEM;
	}
	if (pid == 0) {
		if (dup2(pfd[1], STDOUT_FILENO) < 0)
			_exit(1);
		if ((flags & PROMPT_CONFIRM) != 0)
			setenv("SSH_ASKPASS_PROMPT", "confirm", 1);
		execlp(askpass, askpass, prompt, (char *)NULL);
		_exit(1);
	}
	close(pfd[1]);
	r = read_line_fd(pfd[0], &line);
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			prompt_free(line);
			return ERR_SYSTEM;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* ssh: a failing askpass means the user cancelled. */
		prompt_free(line);
		return ERR_CANCELLED;
	}
	if (r == ERR_CANCELLED) {
		/* Exit 0 with no output: an empty answer. */
		line = calloc(1, 1);
		r = line == NULL ? ERR_ALLOC_FAIL : 0;
	}
	if (r != 0)
		return r;
	*out = line;
	return 0;
}

int prompt_read(const char *prompt, unsigned flags, char **out)
{
	const char *s, *askpass;
	bool allow_askpass = false, use_askpass = false;
	int fd, r;

	*out = NULL;
	if (((s = getenv("DISPLAY")) != NULL && *s != '\0') ||
	    ((s = getenv("WAYLAND_DISPLAY")) != NULL && *s != '\0'))
		allow_askpass = true;
	if ((s = getenv("SSH_ASKPASS_REQUIRE")) != NULL) {
		if (strcasecmp(s, "force") == 0) {
			use_askpass = true;
			allow_askpass = true;
		} else if (strcasecmp(s, "prefer") == 0) {
			use_askpass = allow_askpass;
		} else if (strcasecmp(s, "never") == 0) {
			allow_askpass = false;
		}
	}
	fd = -1;
	if (!use_askpass) {
		if ((flags & PROMPT_ALLOW_STDIN) != 0 && !isatty(STDIN_FILENO)) {
			use_askpass = true;
		} else {
			fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
			if (fd < 0) {
				log_debug(LOG_CAT_AUTH, "cannot open /dev/tty: %s", strerror(errno));
				use_askpass = true;
			}
		}
	}
	if (fd >= 0) {
		r = prompt_read_tty_fd(fd, prompt, flags, out);
		close(fd);
		return r;
	}
	if (!allow_askpass) {
		log_debug(LOG_CAT_AUTH, "no terminal and askpass not allowed (DISPLAY unset or SSH_ASKPASS_REQUIRE=never)");
		return ERR_NOT_SUPPORTED;
	}
	askpass = getenv("SSH_ASKPASS");
	if (askpass == NULL || *askpass == '\0')
		askpass = ASKPASS_DEFAULT;
	return prompt_askpass(askpass, prompt, flags, out);
}

int prompt_read_stdin(char **out)
{
	return read_line_fd(STDIN_FILENO, out);
}

/* Server-supplied text goes to the user's terminal: control characters are
 * shown as '?' so a server cannot move the cursor or fake local output. */
static char *sanitize(const char *s)
{
	char *out = strdup(s != NULL ? s : "");

	if (out == NULL)
		return NULL;
	for (char *p = out; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			*p = '?';
	}
	return out;
}

int prompt_password(void *ctx, const char *user, const char *host, char **out)
{
	struct prompt_ctx *pc = ctx;
	char *u, *h, *q;
	int r;

	*out = NULL;
	if (pc != NULL && pc->password_stdin) {
		/* sshfs password_stdin: one line, read once; a second request fails. */
		if (pc->stdin_used)
			return ERR_AUTH_FAILED;
		pc->stdin_used = true;
		return prompt_read_stdin(out);
	}
	if (pc != NULL && pc->batch_mode)
		return ERR_AUTH_FAILED;
	u = sanitize(user);
	h = sanitize(host);
	if (u == NULL || h == NULL) {
		free(u);
		free(h);
		return ERR_ALLOC_FAIL;
	}
	/* sshconnect2.c userauth_passwd: "user@host's password: ". */
	if (asprintf(&q, "%s@%s's password: ", u, h) < 0) {
		free(u);
		free(h);
		return ERR_ALLOC_FAIL;
	}
	r = prompt_read(q, 0, out);
	free(q);
	free(u);
	free(h);
	return r;
}

int prompt_kbdint(void *ctx, const char *name, const char *instruction, uint32_t n,
                  const char *const *prompts, const bool *echo, char **answers)
{
	struct prompt_ctx *pc = ctx;
	int r = 0;

	for (uint32_t i = 0; i < n; i++)
		answers[i] = NULL;
	if (pc != NULL && pc->batch_mode && n > 0)
		return ERR_AUTH_FAILED;
	/* sshconnect2.c input_userauth_info_req: name and instruction shown
	 * when not empty, then each prompt with the echo the server asked for. */
	if (n > 0) {
		char *sn = sanitize(name), *si = sanitize(instruction);
		int fd = open("/dev/tty", O_WRONLY | O_CLOEXEC | O_NOCTTY);

		if (fd >= 0) {
			if (sn != NULL && *sn != '\0' && (write(fd, sn, strlen(sn)) < 0 || write(fd, "\n", 1) < 0))
				r = ERR_SYSTEM;
			if (si != NULL && *si != '\0' && (write(fd, si, strlen(si)) < 0 || write(fd, "\n", 1) < 0))
				r = ERR_SYSTEM;
			close(fd);
		}
		free(sn);
		free(si);
	}
	for (uint32_t i = 0; i < n && r == 0; i++) {
		char *q = sanitize(prompts[i]);

		if (q == NULL) {
			r = ERR_ALLOC_FAIL;
			break;
		}
		r = prompt_read(q, echo[i] ? PROMPT_ECHO : 0, &answers[i]);
		free(q);
	}
	if (r != 0) {
		for (uint32_t i = 0; i < n; i++) {
			prompt_free(answers[i]);
			answers[i] = NULL;
		}
	}
	return r;
}
