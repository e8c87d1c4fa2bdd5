/*
 * tcp-probe.c - measures a TCP path on loopback, to test the proxies.
 *
 *   tcp-probe serve [PORT_FILE]   echo server on a free 127.0.0.1 port (one
 *                                 child process per connection); prints the port
 *   tcp-probe exec PORT_FILE CMD [ARG...]
 *                                 like serve, but each connection runs CMD with
 *                                 the socket as its stdin and stdout (for example
 *                                 sftp-server, for sshfs/sftpfs -o directport=)
 *   tcp-probe rtt PORT COUNT      COUNT one-byte ping-pongs; prints
 *                                 "min_ms X median_ms Y max_ms Z"
 *   tcp-probe bulk PORT BYTES     streams BYTES through the echo server and
 *                                 reads them back; prints "bytes N seconds S Bps R"
 *                                 and fails unless every byte came back in order
 * Exit status: 0 on success, 1 on a network or data error, 2 on bad usage.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROBE_RTT_MAX 10000
#define PROBE_BULK_MAX (1ull << 34)

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end = NULL;
	unsigned long long v;

	*out = 0;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int connect_port(unsigned port)
{
	struct sockaddr_in sa;
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("tcp-probe: connect");
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Each connection: CMD with the socket as stdin and stdout. */
static void exec_child(int fd, char **cmd)
{
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
		_exit(127);
	if (fd > 1)
		close(fd);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	execv(cmd[0], cmd);
	perror("tcp-probe: exec");
	_exit(127);
}

static void echo_child(int fd)
{
	uint8_t b[65536];

	for (;;) {
		ssize_t n = read(fd, b, sizeof(b));
		ssize_t off = 0;

		if (n <= 0)
			_exit(0);
		while (off < n) {
			ssize_t w = write(fd, b + off, (size_t)(n - off));
			if (w <= 0)
				_exit(0);
			off += w;
		}
	}
}

static int serve(const char *port_file, char **cmd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	signal(SIGCHLD, SIG_IGN); /* children are reaped automatically */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		perror("tcp-probe: listen");
		return 1;
	}
	printf("%u\n", (unsigned)ntohs(sa.sin_port)); /* stylecheck: allow (sockaddr) */
	fflush(stdout);
	if (port_file != NULL) {
		FILE *f = fopen(port_file, "w");
		if (f == NULL)
			return 1;
		fprintf(f, "%u\n", (unsigned)ntohs(sa.sin_port)); /* stylecheck: allow (sockaddr) */
		if (fclose(f) != 0)
			return 1;
	}
	for (;;) {
		int one = 1;
		int c = accept(fd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (fork() == 0) {
			close(fd);
			if (cmd != NULL)
				exec_child(c, cmd);
			echo_child(c);
		}
		close(c);
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int rtt(unsigned port, unsigned count)
{
	double *t = calloc(count, sizeof(*t));
	int fd = connect_port(port);
	unsigned i;

	if (t == NULL || fd < 0)
		return 1;
	for (i = 0; i < count; i++) {
		uint8_t b = (uint8_t)i, r = 0;
		double start = now_s();

		if (write(fd, &b, 1) != 1 || read(fd, &r, 1) != 1 || r != b) {
			fprintf(stderr, "tcp-probe: ping %u failed\n", i);
			return 1;
		}
		t[i] = (now_s() - start) * 1e3;
	}
	qsort(t, count, sizeof(*t), cmp_double);
	printf("min_ms %.3f median_ms %.3f max_ms %.3f\n", t[0], t[count / 2], t[count - 1]);
	free(t);
	close(fd);
	return 0;
}

/* Byte i of the stream is (i * 7 + i / 251) & 0xff: not periodic at any
 * buffer size we use, so a dropped or repeated block is caught. */
static uint8_t pattern(unsigned long long i)
{
	return (uint8_t)((i * 7 + i / 251) & 0xff);
}

static int bulk(unsigned port, unsigned long long total)
{
	uint8_t out[16384], in[16384];
	unsigned long long sent = 0, got = 0;
	double start = now_s(), secs;
	int fd = connect_port(port);

	if (fd < 0)
		return 1;
	while (got < total) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | (sent < total ? POLLOUT : 0) };

		if (poll(&pfd, 1, 30000) <= 0) {
			fprintf(stderr, "tcp-probe: stalled after %llu of %llu bytes\n", got, total);
			return 1;
		}
		if ((pfd.revents & POLLOUT) && sent < total) {
			size_t n = sizeof(out), k;
			ssize_t w;

			if (total - sent < n)
				n = (size_t)(total - sent);
			for (k = 0; k < n; k++)
				out[k] = pattern(sent + k);
			w = write(fd, out, n);
			if (w < 0)
				return 1;
			sent += (unsigned long long)w;
			if (sent == total)
				shutdown(fd, SHUT_WR);
		}
		if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t r = read(fd, in, sizeof(in)), k;

			if (r <= 0) {
				fprintf(stderr, "tcp-probe: connection ended after %llu of %llu bytes\n", got, total);
				return 1;
			}
			for (k = 0; k < r; k++) {
				if (in[k] != pattern(got + (unsigned long long)k)) {
					fprintf(stderr, "tcp-probe: byte %llu differs\n", got + (unsigned long long)k);
					return 1;
				}
			}
			got += (unsigned long long)r;
		}
	}
	secs = now_s() - start;
	printf("bytes %llu seconds %.3f Bps %.0f\n", got, secs, secs > 0 ? (double)got / secs : 0.0);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long long port, n;

	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "serve") == 0 && argc <= 3)
		return serve(argc == 3 ? argv[2] : NULL, NULL);
	if (argc >= 4 && strcmp(argv[1], "exec") == 0 && argv[3][0] == '/')
		return serve(argv[2], argv + 3);
	if (argc == 4 && parse_u64(argv[2], 65535, &port) == 0 && port != 0) {
		if (strcmp(argv[1], "rtt") == 0 && parse_u64(argv[3], PROBE_RTT_MAX, &n) == 0 && n > 0)
			return rtt((unsigned)port, (unsigned)n);
		if (strcmp(argv[1], "bulk") == 0 && parse_u64(argv[3], PROBE_BULK_MAX, &n) == 0 && n > 0)
			return bulk((unsigned)port, n);
	}
	fprintf(stderr, "usage: tcp-probe serve [PORT_FILE] | exec PORT_FILE /CMD [ARG...] |\n"
			"       rtt PORT COUNT | bulk PORT BYTES\n");
	return 2;
}
