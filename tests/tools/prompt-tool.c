/*
 * prompt-tool.c - runs one src/prompt request for the tests:
 *   prompt-tool echo|noecho|passphrase|confirm PROMPT   (prompt_read)
 *   prompt-tool stdin                                  (prompt_read_stdin)
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

	if (argc == 2 && strcmp(argv[1], "stdin") == 0) {
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
