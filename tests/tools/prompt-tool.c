/*
 * prompt-tool.c - runs one src/prompt request for the tests:
 *   prompt-tool echo|noecho|passphrase|confirm PROMPT   (prompt_read)
 *   prompt-tool stdin                                  (prompt_read_stdin)
 *   prompt-tool password USER HOST [stdin|batch]       (prompt_password, twice with stdin)
 *   prompt-tool kbdint [batch]                         (prompt_kbdint: two prompts, the
 *                                                       second without echo; hostile name)
 * Prints "answer=[...]" and exits 0, or prints the error name and exits 1.
 * Test use only: it prints the secret it was given.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "prompt.h"

int main(int argc, char **argv)
{
	char *answer = NULL;
	unsigned flags = 0;
	int r;

	if (argc >= 4 && strcmp(argv[1], "password") == 0) {
		struct prompt_ctx ctx = { .password_stdin = argc > 4 && strcmp(argv[4], "stdin") == 0,
		                          .batch_mode = argc > 4 && strcmp(argv[4], "batch") == 0 };

		r = prompt_password(&ctx, argv[2], argv[3], &answer);
		if (r == 0 && ctx.password_stdin) {
			char *again = NULL;

			/* password_stdin is read once: a second request fails. */
			if (prompt_password(&ctx, argv[2], argv[3], &again) == 0) {
				prompt_free(again);
				printf("error: second stdin password\n");
				return 1;
			}
		}
	} else if (argc >= 2 && strcmp(argv[1], "kbdint") == 0) {
		struct prompt_ctx ctx = { .batch_mode = argc > 2 && strcmp(argv[2], "batch") == 0 };
		const char *prompts[] = { "Code: ", "Secret\033[2J: " };
		const bool echo[] = { true, false };
		char *answers[2];

		r = prompt_kbdint(&ctx, "Server\033]0;title\007 login", "Enter both.", 2, prompts, echo, answers);
		if (r == 0) {
			printf("answers=[%s][%s]\n", answers[0], answers[1]);
			prompt_free(answers[0]);
			prompt_free(answers[1]);
			return 0;
		}
	} else if (argc == 2 && strcmp(argv[1], "stdin") == 0) {
		r = prompt_read_stdin(&answer);
	} else if (argc == 3) {
		if (strcmp(argv[1], "echo") == 0)
			flags = PROMPT_ECHO;
		else if (strcmp(argv[1], "passphrase") == 0)
			flags = PROMPT_ALLOW_STDIN;
		else if (strcmp(argv[1], "confirm") == 0)
			flags = PROMPT_ECHO | PROMPT_CONFIRM;
		else if (strcmp(argv[1], "noecho") != 0)
			return 2;
		r = prompt_read(argv[2], flags, &answer);
	} else {
		fprintf(stderr, "usage: prompt-tool echo|noecho|passphrase|confirm PROMPT | stdin\n");
		return 2;
	}
	if (r != 0) {
		printf("error: %s\n", err_str(r));
		return 1;
	}
	printf("answer=[%s]\n", answer);
	prompt_free(answer);
	return 0;
}
