/*
 * replay.c - main() for fuzz targets built without libFuzzer: runs the target
 * on every file named on the command line (directories are walked one level)
 * and prints TAP, one test point per input, so a corpus is replayed as an
 * ordinary test in make check. A crash or sanitizer report fails the run.
 */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"
#include "limits.h"

static int replay_file(const char *path, unsigned *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data;
	size_t len;

	if (f == NULL) {
		printf("not ok %u - %s: cannot open\n", ++*n, path);
		return 1;
	}
	data = malloc(KEY_FILE_MAX);
	if (data == NULL) {
		fclose(f);
		return 1;
	}
	len = fread(data, 1, KEY_FILE_MAX, f);
	fclose(f);
	LLVMFuzzerTestOneInput(data, len);
	/* Also every truncation of small inputs: parsers must fail cleanly at any offset. */
	if (len <= 512) {
		for (size_t cut = 0; cut < len; cut++)
			LLVMFuzzerTestOneInput(data, cut);
	}
	free(data);
	printf("ok %u - %s\n", ++*n, path);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned n = 0;
	int failed = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			printf("not ok %u - %s: missing\n", ++n, argv[i]);
			failed = 1;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			struct dirent **ents;
			int m = scandir(argv[i], &ents, NULL, alphasort);

			for (int j = 0; j < m; j++) {
				char path[4096];

				if (ents[j]->d_name[0] != '.') {
					snprintf(path, sizeof(path), "%s/%s", argv[i], ents[j]->d_name);
					failed |= replay_file(path, &n);
				}
				free(ents[j]);
			}
			if (m >= 0)
				free(ents);
		} else {
			failed |= replay_file(argv[i], &n);
		}
	}
	if (n == 0) {
		printf("not ok 1 - empty corpus\n");
		n = 1;
		failed = 1;
	}
	printf("1..%u\n", n);
	return failed;
}
