/*
 * remote.c - how the daemon gets an SFTP client: over SSH (our own client,
 * src/conn.h), or, as sshfs allows, without SSH: `-o directport=PORT` (a TCP
 * connection straight to an SFTP server) and `-o passive` (SFTP on the
 * stdin/stdout this process was started with). Whatever the transport,
 * remote_open_client returns an initialised client (INIT/VERSION done).
 * The SSH transport itself is ssh.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "sftp_pipe.h"
#include "sftpfs.h"
#include "ssh_session.h"

enum remote_kind {
	REMOTE_SSH,
	REMOTE_DIRECTPORT,
	REMOTE_PASSIVE,
};

struct remote {
	enum remote_kind kind;
	const struct sftpfs_opts *opts; /* borrowed, outlives the remote */
	int passive_rfd, passive_wfd;   /* REMOTE_PASSIVE: private dups of stdin/stdout */
	bool passive_used;              /* a passive stream serves one client only */
	struct ssh_session *ssh;        /* REMOTE_SSH */
};

int remote_new(const struct sftpfs_opts *o, struct remote **out)
{
	struct remote *r = g_malloc0(sizeof(*r));

	*out = NULL;
	r->opts = o;
	r->passive_rfd = r->passive_wfd = -1;
	if (o->passive) {
		r->kind = REMOTE_PASSIVE;
		/* Private copies, so daemonizing may point 0/1 at /dev/null. */
		r->passive_rfd = fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 3);
		r->passive_wfd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		if (r->passive_rfd < 0 || r->passive_wfd < 0) {
			fprintf(stderr, "sftpfs: passive: stdin/stdout: %s\n", strerror(errno));
			remote_free(r);
			return ERR_SYSTEM;
		}
	} else if (o->directport != NULL) {
		r->kind = REMOTE_DIRECTPORT;
	} else {
		int ret;

		r->kind = REMOTE_SSH;
		if ((ret = ssh_session_new(o, &r->ssh)) != 0) {
			remote_free(r);
			return ret;
		}
	}
	*out = r;
	return 0;
}

void remote_free(struct remote *r)
{
	if (r == NULL)
		return;
	ssh_session_free(r->ssh);
	if (!r->passive_used) {
		if (r->passive_rfd >= 0)
			close(r->passive_rfd);
		if (r->passive_wfd >= 0)
			close(r->passive_wfd);
	}
	g_free(r);
}

/* A TCP connection to host:port, trying every address getaddrinfo gives. */
static int tcp_connect(const char *host, const char *port, int *fdp)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int fd = -1;
	int gai;
	int one = 1;
	int last_errno = ENETUNREACH;

	*fdp = -1;
	gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		fprintf(stderr, "sftpfs: %s: %s\n", host, gai_strerror(gai));
		return ERR_RESOLVE;
	}
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		last_errno = errno;
		log_verbose(LOG_CAT_IO, "connect to %s port %s: %s", host, port, strerror(last_errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		fprintf(stderr, "sftpfs: cannot connect to %s port %s: %s\n", host, port, strerror(last_errno));
		return ERR_CONNECT;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fdp = fd;
	return 0;
}

static int open_ssh(struct remote *r, struct sftp_client **out);

int remote_open_client(struct remote *r, struct sftp_client **out)
{
	struct sftp_client *c = NULL;
	int fd = -1;
	int ret = ERR_INTERNAL;

	*out = NULL;
	switch (r->kind) {
	case REMOTE_PASSIVE:
		if (r->passive_used)
			return ERR_CONN_CLOSED; /* stdin/stdout cannot be reopened */
		if ((ret = sftp_client_start_fds(r->passive_rfd, r->passive_wfd, &c)) != 0)
			return ret;
		r->passive_used = true;
		break;
	case REMOTE_DIRECTPORT:
		if ((ret = tcp_connect(r->opts->host, r->opts->directport, &fd)) != 0)
			return ret;
		if ((ret = sftp_client_start_fds(fd, fd, &c)) != 0) {
			close(fd);
			return ret;
		}
		break;
	case REMOTE_SSH:
		return open_ssh(r, out);
	}
	if ((ret = sftp_client_init(c)) != 0) {
		fprintf(stderr, "sftpfs: SFTP session with %s failed: %s\n", r->opts->host, err_str(ret));
		sftp_client_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

static int open_ssh(struct remote *r, struct sftp_client **out)
{
	return ssh_session_open_client(r->ssh, out);
}

void remote_close_client(struct remote *r, struct sftp_client *c)
{
	if (c == NULL)
		return;
	if (r->kind == REMOTE_SSH)
		ssh_session_close_client(r->ssh, c);
	else
		sftp_client_free(c); /* the pipe driver closes its fds */
}

void remote_abort_client(struct remote *r, struct sftp_client *c)
{
	/* Only SSH connections carry lanes, whose start this interrupts. */
	if (c != NULL && r->kind == REMOTE_SSH)
		ssh_session_abort_client(r->ssh, c);
}

int remote_open_lane(struct remote *r, struct sftp_client *c, struct sftp_client **out)
{
	*out = NULL;
	if (r->kind != REMOTE_SSH)
		return ERR_NOT_SUPPORTED; /* one stream per connection there */
	return ssh_session_open_lane(r->ssh, c, out);
}

void remote_set_noninteractive(struct remote *r)
{
	if (r->kind == REMOTE_SSH)
		ssh_session_set_noninteractive(r->ssh);
}

bool remote_can_reconnect(const struct remote *r)
{
	return r->kind != REMOTE_PASSIVE;
}
