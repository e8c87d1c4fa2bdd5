/*
 * flip-proxy.c - test tool (not installed): relays between its own
 * stdin/stdout and a child command's, and damages the stream on purpose, to
 * prove the client's reaction to tampering (MAC error, clean disconnect).
 *
 * flip-proxy -d s2c|c2s [-f OFFSET] [-c OFFSET] [-B SECONDS] -- command [args...]
 *   -f OFFSET  flip (xor 0x01) the byte at OFFSET of the chosen direction
 *   -c OFFSET  cut the connection once OFFSET bytes went that way
 *   -B SECONDS after SECONDS, forward nothing more either way but keep the
 *              connection open (a black hole, for keepalive tests)
 * "s2c" is the child's output (server to client), "c2s" our input.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long parse_off(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0) {
		fprintf(stderr, "flip-proxy: bad offset %s\n", s);
		exit(2);
	}
	return v;
}

/* Copy one chunk from in to out, applying the damage; 0 on EOF or cut. */
static int relay(int in, int out, bool damaged, long long *pos, long long flip_at, long long cut_at)
{
	char b[16384];
	ssize_t n = read(in, b, sizeof(b));

	if (n <= 0)
		return 0;
	if (damaged) {
		if (cut_at >= 0 && *pos + n > cut_at)
			n = (ssize_t)(cut_at - *pos);
		if (flip_at >= *pos && flip_at < *pos + n)
			b[flip_at - *pos] ^= 0x01;
		*pos += n;
	}
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(out, b + off, (size_t)(n - off));

		if (w <= 0)
			return 0;
		off += w;
	}
	return !(damaged && cut_at >= 0 && *pos >= cut_at);
}

int main(int argc, char **argv)
{
	long long flip_at = -1, cut_at = -1, pos = 0, hole_after = -1;
	time_t start = time(NULL);
	bool s2c = true;
	int to_child[2], from_child[2], opt;
	pid_t pid;

	while ((opt = getopt(argc, argv, "d:f:c:B:")) != -1) {
		switch (opt) {
		case 'd':
			s2c = strcmp(optarg, "c2s") != 0;
			break;
		case 'f':
			flip_at = parse_off(optarg);
			break;
		case 'c':
			cut_at = parse_off(optarg);
			break;
		case 'B':
			hole_after = parse_off(optarg);
			break;
		default:
			return 2;
		}
	}
	if (optind >= argc)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	if (pipe(to_child) != 0 || pipe(from_child) != 0)
		return 1;
	if ((pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		dup2(to_child[0], 0);
		dup2(from_child[1], 1);
		close(to_child[1]);
		close(from_child[0]);
		execvp(argv[optind], argv + optind);
		_exit(127);
	}
	close(to_child[0]);
	close(from_child[1]);
	for (;;) {
		struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = from_child[0], .events = POLLIN}};

		if (poll(p, 2, hole_after >= 0 ? 200 : -1) < 0 && errno != EINTR)
			break;
		if (hole_after >= 0 && time(NULL) - start >= hole_after) {
			/* Black hole: hold everything open, move nothing, until the client gives up. */
			char b[4096];

			while (read(0, b, sizeof(b)) > 0)
				;
			break;
		}
		if ((p[0].revents & (POLLIN | POLLHUP)) &&
		    !relay(0, to_child[1], !s2c, &pos, flip_at, cut_at))
			break;
		if ((p[1].revents & (POLLIN | POLLHUP)) &&
		    !relay(from_child[0], 1, s2c, &pos, flip_at, cut_at))
			break;
	}
	/* Let the child see end of input and finish (it may still log what it read). */
	close(to_child[1]);
	close(0);
	for (int i = 0; i < 30 && waitpid(pid, NULL, WNOHANG) == 0; i++)
		usleep(100000);
	close(from_child[0]);
	close(1);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return 0;
}
