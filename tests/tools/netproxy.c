/*
 * netproxy.c - a TCP proxy on loopback that delays, throttles and breaks
 * connections on command. It is built twice from this one file:
 * bench/latency-proxy (the benchmark's 20 ms round trip) and
 * tests/tools/fault-proxy (the fault-injection tests); both accept every
 * option, the names only say what each build is for.
 *
 * It listens on 127.0.0.1:LISTEN and forwards each accepted connection to
 * 127.0.0.1:TARGET. Every byte read from one side becomes a timestamped chunk
 * in that direction's queue and is written to the other side once it is due:
 * due = (when the emulated link has finished sending it, with --rate) +
 * the one-way delay. One epoll loop serves every connection; the loop's
 * timeout is the next due time, so no thread sleeps per connection.
 *
 * A control socket (AF_UNIX, --control PATH) takes one command per
 * connection and answers "ok ..." or "error ...":
 *   cut            abort every open connection now (RST to both peers)
 *   cut-after N    deliver N more bytes (both directions together), then cut
 *   blackhole      stop reading and writing on every connection, close nothing
 *                  (new connections are accepted and connected, but carry
 *                  nothing); TCP's own buffers hold the data meanwhile
 *   heal           end blackhole and any pending cut-after
 *   stats          counters, one "name value" per line
 * `PROG --ctl PATH COMMAND...` is the matching client.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef NETPROXY_ROLE_LATENCY
#define PROG_NAME "latency-proxy"
#else
#define PROG_NAME "fault-proxy"
#endif

#define NETPROXY_MAX_CONNS 1024           /* open proxied connections */
#define NETPROXY_CHUNK_MAX (64u * 1024u)  /* bytes per read */
#define NETPROXY_QUEUE_MAX (8u * 1024u * 1024u) /* queued bytes per direction before we stop reading */
#define NETPROXY_CTL_LINE_MAX 256         /* control command length */
#define NETPROXY_MAX_EVENTS 64
#define NETPROXY_PATH_MAX 4096           /* --port-file name */

enum side { SIDE_CLIENT = 0, SIDE_SERVER = 1 };
/* Direction d carries bytes read from side d to side 1-d: 0 = up, 1 = down. */

struct chunk {
	struct chunk *next;
	int64_t due_ns; /* CLOCK_MONOTONIC time at which it may be written */
	size_t len;
	size_t off; /* already written */
	uint8_t data[];
};

struct direction {
	struct chunk *head, *tail;
	size_t queued;       /* bytes in the queue */
	int64_t link_free_ns; /* when the emulated link finishes its current send (--rate) */
	bool eof_read;       /* source sent FIN */
	bool shut_written;   /* FIN forwarded to the destination */
	bool dst_blocked;    /* last write hit EAGAIN: wait for EPOLLOUT */
};

struct conn;

/* What an epoll event points at. */
enum tag_kind { TAG_LISTEN, TAG_CONTROL, TAG_ENDPOINT };
struct tag {
	enum tag_kind kind;
	struct conn *conn; /* TAG_ENDPOINT only */
	enum side side;
};

struct conn {
	struct conn *prev, *next;
	int fd[2];
	uint32_t events[2]; /* current epoll interest per fd */
	bool parked[2];     /* fd finished and removed from epoll (see hangup()) */
	struct direction dir[2];
	struct tag tag[2];
};

struct proxy {
	int ep;
	int listen_fd;
	int control_fd;
	const char *control_path;
	uint16_t target_port;
	int64_t delay_ns[2]; /* one-way delay per direction */
	uint64_t rate[2];    /* bytes per second per direction, 0 = unlimited */
	struct conn *conns;
	unsigned nconns;
	bool blackhole;
	int64_t cut_budget; /* bytes left before a cut, -1 = none armed */
	uint64_t accepted, refused, cuts, bytes[2];
	struct tag listen_tag, control_tag;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/* ---- options ---- */

/* Parses a non-negative decimal number with an optional K/M/G suffix
 * (powers of 1000, as link speeds are quoted). */
static int parse_scaled(const char *s, double *out)
{
	char *end = NULL;
	double v;

	*out = 0;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v) || v < 0)
		return -1;
	if (*end == 'K' || *end == 'k')
		v *= 1e3, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6, end++;
	else if (*end == 'G' || *end == 'g')
		v *= 1e9, end++;
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int parse_port(const char *s, uint16_t *out)
{
	char *end = NULL;
	long v;

	*out = 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* ---- connection bookkeeping ---- */

static void update_interest(struct proxy *p, struct conn *c, enum side s)
{
	const struct direction *from = &c->dir[s];      /* bytes read from this fd */
	const struct direction *to = &c->dir[1 - s];    /* bytes written to this fd */
	uint32_t ev = 0;
	struct epoll_event e;

	if (!p->blackhole && !from->eof_read && from->queued < NETPROXY_QUEUE_MAX)
		ev |= EPOLLIN;
	if (!p->blackhole && to->dst_blocked)
		ev |= EPOLLOUT;
	if (ev == c->events[s] || c->parked[s])
		return;
	memset(&e, 0, sizeof(e));
	e.events = ev;
	e.data.ptr = &c->tag[s];
	if (epoll_ctl(p->ep, EPOLL_CTL_MOD, c->fd[s], &e) == 0)
		c->events[s] = ev;
}

static void direction_clear(struct direction *d)
{
	struct chunk *ch = d->head;

	while (ch != NULL) {
		struct chunk *next = ch->next;
		free(ch);
		ch = next;
	}
	memset(d, 0, sizeof(*d));
}

/* Closes both sockets; abortive = RST instead of FIN (a cut). */
static void conn_close(struct proxy *p, struct conn *c, bool abortive)
{
	int s;

	for (s = 0; s < 2; s++) {
		if (abortive) {
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(c->fd[s], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd[s], NULL);
		close(c->fd[s]);
		direction_clear(&c->dir[s]);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	p->nconns--;
	free(c);
}

static void cut_all(struct proxy *p)
{
	while (p->conns != NULL)
		conn_close(p, p->conns, true);
	p->cuts++;
	p->cut_budget = -1;
}

static int connect_target(uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	/* Loopback connects complete or fail at once, so a blocking connect
	 * keeps the state machine simple. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void accept_all(struct proxy *p)
{
	for (;;) {
		int one = 1;
		int s;
		int cfd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		int sfd;
		struct conn *c;

		if (cfd < 0)
			return;
		if (p->nconns >= NETPROXY_MAX_CONNS || (sfd = connect_target(p->target_port)) < 0) {
			/* Refused like the real server would be: reset the client. */
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };
			setsockopt(cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(cfd);
			p->refused++;
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL || set_nonblock(sfd) != 0) {
			free(c);
			close(cfd);
			close(sfd);
			p->refused++;
			continue;
		}
		c->fd[SIDE_CLIENT] = cfd;
		c->fd[SIDE_SERVER] = sfd;
		for (s = 0; s < 2; s++) {
			struct epoll_event e;

			setsockopt(c->fd[s], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			c->tag[s] = (struct tag){ .kind = TAG_ENDPOINT, .conn = c, .side = (enum side)s };
			memset(&e, 0, sizeof(e));
			e.events = 0;
			e.data.ptr = &c->tag[s];
			epoll_ctl(p->ep, EPOLL_CTL_ADD, c->fd[s], &e);
			c->events[s] = 0;
		}
		c->next = p->conns;
		if (p->conns != NULL)
			p->conns->prev = c;
		p->conns = c;
		p->nconns++;
		p->accepted++;
		update_interest(p, c, SIDE_CLIENT);
		update_interest(p, c, SIDE_SERVER);
	}
}

/* Reads what side s has for us into direction s. Returns -1 if the
 * connection must be closed. */
static int read_side(struct proxy *p, struct conn *c, enum side s, int64_t now)
{
	struct direction *d = &c->dir[s];
	size_t want = NETPROXY_CHUNK_MAX;
	struct chunk *ch;
	ssize_t n;

	if (p->blackhole || d->eof_read || d->queued >= NETPROXY_QUEUE_MAX)
		return 0;
	/* With a rate cap, small reads keep the emulated link smooth: about
	 * 5 ms of data per chunk. */
	if (p->rate[s] != 0 && p->rate[s] / 200 < want)
		want = p->rate[s] / 200 < 512 ? 512 : (size_t)(p->rate[s] / 200);
	ch = malloc(sizeof(*ch) + want);
	if (ch == NULL)
		return -1;
	n = read(c->fd[s], ch->data, want);
	if (n < 0) {
		free(ch);
		return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
	}
	if (n == 0) {
		free(ch);
		d->eof_read = true;
		return 0;
	}
	ch->next = NULL;
	ch->len = (size_t)n;
	ch->off = 0;
	if (p->rate[s] != 0) {
		int64_t start = d->link_free_ns > now ? d->link_free_ns : now;
		d->link_free_ns = start + (int64_t)((double)n * 1e9 / (double)p->rate[s]);
		ch->due_ns = d->link_free_ns + p->delay_ns[s];
	} else {
		ch->due_ns = now + p->delay_ns[s];
	}
	if (d->tail != NULL)
		d->tail->next = ch;
	else
		d->head = ch;
	d->tail = ch;
	d->queued += (size_t)n;
	return 0;
}

/* EPOLLHUP on side s: the socket can neither receive nor send any more, and
 * epoll keeps reporting it. If we have read its FIN and forwarded ours, it is
 * simply finished: stop watching it (the other direction may still be
 * delivering). In a black hole nothing reads it, so a peer that vanished
 * aborts the connection (returns true). Otherwise read_side() reads on to
 * the FIN or to the reset error. */
static bool hangup(struct proxy *p, struct conn *c, enum side s)
{
	if (c->dir[s].eof_read && c->dir[1 - s].shut_written) {
		if (!c->parked[s]) {
			epoll_ctl(p->ep, EPOLL_CTL_DEL, c->fd[s], NULL);
			c->parked[s] = true;
		}
		return false;
	}
	return p->blackhole;
}

/* Writes the due part of direction d to its destination. Returns -1 if
 * the connection must be closed, 1 if a cut-after fired (c is gone). */
static int flush_direction(struct proxy *p, struct conn *c, int d, int64_t now)
{
	struct direction *dir = &c->dir[d];
	int dst = c->fd[1 - d];

	while (!p->blackhole && dir->head != NULL && dir->head->due_ns <= now && !dir->dst_blocked) {
		struct chunk *ch = dir->head;
		size_t len = ch->len - ch->off;
		ssize_t n;

		if (p->cut_budget >= 0 && (uint64_t)p->cut_budget < len)
			len = (size_t)p->cut_budget;
		if (len == 0) {
			cut_all(p);
			return 1;
		}
		n = send(dst, ch->data + ch->off, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				dir->dst_blocked = true;
				break;
			}
			return -1;
		}
		ch->off += (size_t)n;
		dir->queued -= (size_t)n;
		p->bytes[d] += (uint64_t)n;
		if (p->cut_budget >= 0) {
			p->cut_budget -= n;
			if (p->cut_budget == 0) {
				cut_all(p);
				return 1;
			}
		}
		if (ch->off == ch->len) {
			dir->head = ch->next;
			if (dir->head == NULL)
				dir->tail = NULL;
			free(ch);
		}
	}
	if (dir->eof_read && dir->head == NULL && !dir->shut_written) {
		shutdown(dst, SHUT_WR);
		dir->shut_written = true;
	}
	return 0;
}

/* Flushes every connection's due data; returns the earliest future due time
 * (or INT64_MAX). */
static int64_t service_all(struct proxy *p, int64_t now)
{
	int64_t next = INT64_MAX;
	struct conn *c = p->conns;

	while (c != NULL) {
		struct conn *following = c->next;
		int d, r = 0;

		for (d = 0; d < 2 && r == 0; d++)
			r = flush_direction(p, c, d, now);
		if (r == 1)
			return INT64_MAX; /* every connection was cut */
		if (r < 0 || (c->dir[0].shut_written && c->dir[1].shut_written)) {
			conn_close(p, c, r < 0);
			c = following;
			continue;
		}
		for (d = 0; d < 2; d++) {
			if (c->dir[d].head != NULL && !c->dir[d].dst_blocked && c->dir[d].head->due_ns < next)
				next = c->dir[d].head->due_ns;
		}
		update_interest(p, c, SIDE_CLIENT);
		update_interest(p, c, SIDE_SERVER);
		c = following;
	}
	return next;
}

/* ---- control socket ---- */

static void reply(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(int fd, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0) {
		size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
		if (write(fd, line, len) < 0)
			return;
	}
}

static void control_command(struct proxy *p, int fd, char *line)
{
	char *arg = strchr(line, ' ');

	if (arg != NULL)
		*arg++ = '\0';
	if (strcmp(line, "cut") == 0 && arg == NULL) {
		unsigned n = p->nconns;
		cut_all(p);
		reply(fd, "ok cut %u\n", n);
	} else if (strcmp(line, "cut-after") == 0 && arg != NULL) {
		char *end = NULL;
		long long v;

		errno = 0;
		v = strtoll(arg, &end, 10);
		if (errno != 0 || end == arg || *end != '\0' || v < 0) {
			reply(fd, "error cut-after needs a byte count\n");
			return;
		}
		p->cut_budget = v;
		if (v == 0) {
			unsigned n = p->nconns;
			cut_all(p);
			reply(fd, "ok cut %u\n", n);
		} else {
			reply(fd, "ok cut-after %lld\n", v);
		}
	} else if (strcmp(line, "blackhole") == 0 && arg == NULL) {
		p->blackhole = true;
		reply(fd, "ok blackhole\n");
	} else if (strcmp(line, "heal") == 0 && arg == NULL) {
		p->blackhole = false;
		p->cut_budget = -1;
		reply(fd, "ok heal\n");
	} else if (strcmp(line, "stats") == 0 && arg == NULL) {
		reply(fd,
		      "ok stats\nstate %s\nconnections_open %u\nconnections_accepted %" PRIu64
		      "\nconnections_refused %" PRIu64 "\ncuts %" PRIu64 "\nbytes_up %" PRIu64
		      "\nbytes_down %" PRIu64 "\ncut_after %lld\ndelay_up_us %lld\ndelay_down_us %lld\n",
		      p->blackhole ? "blackhole" : "forwarding", p->nconns, p->accepted, p->refused,
		      p->cuts, p->bytes[0], p->bytes[1], (long long)p->cut_budget,
		      (long long)(p->delay_ns[0] / 1000), (long long)(p->delay_ns[1] / 1000));
	} else {
		reply(fd, "error unknown command (cut, cut-after N, blackhole, heal, stats)\n");
	}
}

static void control_accept(struct proxy *p)
{
	for (;;) {
		char line[NETPROXY_CTL_LINE_MAX];
		struct timeval tv = { .tv_sec = 1 };
		size_t len = 0;
		int fd = accept4(p->control_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		/* One short line from a local client; a stalled client costs at
		 * most a second of forwarding. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while (len < sizeof(line) - 1) {
			ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			if (memchr(line, '\n', len) != NULL)
				break;
		}
		line[len] = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		control_command(p, fd, line);
		close(fd);
	}
}

static int listen_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The client side: sends one command, copies the answer to stdout. */
static int control_client(const char *path, int argc, char **argv)
{
	char line[NETPROXY_CTL_LINE_MAX];
	char answer[4096];
	struct sockaddr_un sa;
	size_t len = 0, got = 0;
	int fd, i;

	line[0] = '\0';
	for (i = 0; i < argc; i++) {
		int n = snprintf(line + len, sizeof(line) - len, "%s%s", i ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - len - 1) {
			fprintf(stderr, PROG_NAME ": command too long\n");
			return 2;
		}
		len += (size_t)n;
	}
	line[len++] = '\n';
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, PROG_NAME ": control path too long\n");
		return 2;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, PROG_NAME ": cannot connect to %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 2;
	}
	if (write(fd, line, len) != (ssize_t)len) {
		close(fd);
		return 2;
	}
	shutdown(fd, SHUT_WR);
	while (got < sizeof(answer) - 1) {
		ssize_t n = read(fd, answer + got, sizeof(answer) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	answer[got] = '\0';
	fputs(answer, stdout);
	return strncmp(answer, "ok", 2) == 0 ? 0 : 1;
}

/* ---- main loop ---- */

static int listen_tcp(uint16_t port, uint16_t *bound)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	*bound = 0;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*bound = ntohs(sa.sin_port); /* stylecheck: allow (sockaddr) */
	return fd;
}

static int write_port_file(const char *path, uint16_t port)
{
	char tmp[NETPROXY_PATH_MAX];
	FILE *f;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%u\n", (unsigned)port);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

static int run(struct proxy *p)
{
	struct epoll_event events[NETPROXY_MAX_EVENTS];

	while (!stop_requested) {
		int64_t now = now_ns();
		int64_t next = service_all(p, now);
		int timeout = -1;
		int n, i;

		if (next != INT64_MAX) {
			int64_t wait_ns = next - now_ns();
			/* Round up: never deliver early. */
			timeout = wait_ns <= 0 ? 0 : (int)((wait_ns + 999999) / 1000000);
		}
		n = epoll_wait(p->ep, events, NETPROXY_MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror(PROG_NAME ": epoll_wait");
			return 1;
		}
		now = now_ns();
		for (i = 0; i < n; i++) {
			struct tag *t = events[i].data.ptr;

			if (t->kind == TAG_LISTEN) {
				accept_all(p);
			} else if (t->kind == TAG_CONTROL) {
				control_accept(p);
				/* A cut may have freed connections named by later
				 * events of this batch: start over. */
				break;
			} else {
				struct conn *c = t->conn;
				uint32_t ev = events[i].events;

				if (ev & EPOLLOUT)
					c->dir[1 - t->side].dst_blocked = false;
				if ((ev & EPOLLERR) ||
				    ((ev & (EPOLLIN | EPOLLHUP)) && read_side(p, c, t->side, now) < 0) ||
				    ((ev & EPOLLHUP) && hangup(p, c, t->side))) {
					/* Later events of this batch may name c: start over. */
					conn_close(p, c, true);
					break;
				}
			}
		}
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG_NAME " --target PORT [--listen PORT] [--port-file FILE]\n"
		"         [--delay MS | --delay-up MS --delay-down MS] [--rate BYTES/S]\n"
		"         [--rate-up BYTES/S] [--rate-down BYTES/S] [--control SOCKET]\n"
		"       " PROG_NAME " --ctl SOCKET cut | cut-after N | blackhole | heal | stats\n"
		"Forwards 127.0.0.1:LISTEN to 127.0.0.1:TARGET. --delay is the one-way delay\n"
		"in each direction (a 20 ms round trip is --delay 10); rates take K/M/G\n"
		"suffixes (powers of 1000). --listen 0 (default) picks a free port; the port\n"
		"is printed on stdout and written to --port-file.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "target", required_argument, NULL, 't' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "delay", required_argument, NULL, 'd' },
		{ "delay-up", required_argument, NULL, 'u' },
		{ "delay-down", required_argument, NULL, 'D' },
		{ "rate", required_argument, NULL, 'r' },
		{ "rate-up", required_argument, NULL, 'R' },
		{ "rate-down", required_argument, NULL, 'S' },
		{ "control", required_argument, NULL, 'c' },
		{ "ctl", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct proxy p;
	const char *port_file = NULL;
	uint16_t listen_port = 0, bound = 0;
	bool have_target = false;
	struct sigaction sa;
	struct epoll_event e;
	int opt, rc;

	memset(&p, 0, sizeof(p));
	p.listen_fd = p.control_fd = p.ep = -1;
	p.cut_budget = -1;
	while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		double v;

		switch (opt) {
		case 'C':
			return control_client(optarg, argc - optind, argv + optind);
		case 'l':
			if (parse_port(optarg, &listen_port) != 0)
				goto bad;
			break;
		case 't':
			if (parse_port(optarg, &p.target_port) != 0 || p.target_port == 0)
				goto bad;
			have_target = true;
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'd':
		case 'u':
		case 'D':
			if (parse_scaled(optarg, &v) != 0 || v > 60000)
				goto bad;
			if (opt != 'D')
				p.delay_ns[0] = (int64_t)(v * 1e6);
			if (opt != 'u')
				p.delay_ns[1] = (int64_t)(v * 1e6);
			break;
		case 'r':
		case 'R':
		case 'S':
			if (parse_scaled(optarg, &v) != 0 || v > 1e12 || (v > 0 && v < 1000))
				goto bad;
			if (opt != 'S')
				p.rate[0] = (uint64_t)v;
			if (opt != 'R')
				p.rate[1] = (uint64_t)v;
			break;
		case 'c':
			p.control_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			goto bad;
		}
	}
	if (!have_target || optind != argc)
		goto bad;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	p.ep = epoll_create1(EPOLL_CLOEXEC);
	p.listen_fd = listen_tcp(listen_port, &bound);
	if (p.ep < 0 || p.listen_fd < 0) {
		fprintf(stderr, PROG_NAME ": cannot listen on 127.0.0.1:%u: %s\n", (unsigned)listen_port,
			strerror(errno));
		return 1;
	}
	p.listen_tag.kind = TAG_LISTEN;
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.ptr = &p.listen_tag;
	epoll_ctl(p.ep, EPOLL_CTL_ADD, p.listen_fd, &e);
	if (p.control_path != NULL) {
		p.control_fd = listen_unix(p.control_path);
		if (p.control_fd < 0) {
			fprintf(stderr, PROG_NAME ": cannot listen on %s: %s\n", p.control_path, strerror(errno));
			return 1;
		}
		p.control_tag.kind = TAG_CONTROL;
		e.data.ptr = &p.control_tag;
		epoll_ctl(p.ep, EPOLL_CTL_ADD, p.control_fd, &e);
	}
	printf("%u\n", (unsigned)bound);
	fflush(stdout);
	if (port_file != NULL && write_port_file(port_file, bound) != 0) {
		fprintf(stderr, PROG_NAME ": cannot write %s: %s\n", port_file, strerror(errno));
		return 1;
	}
	rc = run(&p);
	while (p.conns != NULL)
		conn_close(&p, p.conns, false);
	if (p.control_path != NULL)
		unlink(p.control_path);
	return rc;
bad:
	usage(stderr);
	return 2;
}
