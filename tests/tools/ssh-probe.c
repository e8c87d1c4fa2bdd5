/*
 * ssh-probe.c - test tool (not installed): runs a remote command or an SFTP
 * transfer over sftpfs's own SSH transport and prints what was negotiated,
 * so integration tests can prove algorithms, rekeys and data integrity
 * against real servers.
 *
 * ssh-probe -p PORT -i KEYFILE -H HOSTKEY.pub [-H ...] [-o Key=Value ...]
 *           [-R BYTES] [-v] user@host  exec CMD | sftp-get REMOTE LOCAL | sftp-put LOCAL REMOTE
 *           | tcp HOST PORT
 *
 * -J HOST:PORT connects through a jump host first (ProxyJump, same user,
 * key and trusted host keys): the target is reached over a direct-tcpip
 * channel of that connection (conn_open_via).
 * "tcp" opens a direct-tcpip channel (RFC 4254 §7.2) to HOST:PORT as seen
 * from the server and prints the first line that comes back (a banner).
 *
 * -H names the server's public host key file(s): an exact key match is this
 * tool's whole host verification. -o takes Ciphers, KexAlgorithms, MACs,
 * HostKeyAlgorithms, PubkeyAcceptedAlgorithms, Compression, RekeyLimit,
 * ServerAliveInterval, ServerAliveCountMax, ConnectTimeout, AddressFamily.
 * -R asks for a client-initiated rekey after every BYTES transferred.
 * -P CMD talks to the stdin/stdout of CMD (run by /bin/sh) instead of a TCP
 * port, like ProxyCommand; the tests use it to run "sshd -i" restricted per
 * algorithm without a listening socket.
 * Negotiated algorithms go to stderr as "probe: <name> <value>" lines.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "conn.h"
#include "conn_chan.h"
#include "err.h"
#include "keyfile.h"
#include "log.h"
#include "sftp.h"
#include "sshkey.h"

#define MAX_HOSTKEYS 8

static struct sshkey *hostkeys[MAX_HOSTKEYS];
static size_t n_hostkeys;

static int verify_cb(void *ctx, const char *host, uint16_t port, const struct sshkey *key)
{
	for (size_t i = 0; i < n_hostkeys; i++) {
		if (sshkey_equal_public(hostkeys[i], key) == 1)
			return 0;
	}
	fprintf(stderr, "probe: host key of %s:%u not among -H keys\n", host, (unsigned)port);
	return ERR_HOSTKEY_UNKNOWN;
}

static _Noreturn void usage(void)
{
	fprintf(stderr, "usage: ssh-probe -p PORT -i KEY -H HOSTKEY.pub [-o K=V] [-R BYTES] [-v] user@host "
			"exec CMD | sftp-get REMOTE LOCAL | sftp-put LOCAL REMOTE\n");
	exit(2);
}

static unsigned long long parse_size(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		usage();
	switch (*end) {
	case 'K': case 'k': v <<= 10; break;
	case 'M': case 'm': v <<= 20; break;
	case 'G': case 'g': v <<= 30; break;
	default: break;
	}
	return v;
}

static void set_option(struct conn_params *p, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char key[64];
	const char *v;

	if (eq == NULL || (size_t)(eq - kv) >= sizeof(key))
		usage();
	memcpy(key, kv, (size_t)(eq - kv));
	key[eq - kv] = '\0';
	v = eq + 1;
	if (strcasecmp(key, "Ciphers") == 0)
		p->ciphers = v;
	else if (strcasecmp(key, "KexAlgorithms") == 0)
		p->kex_algorithms = v;
	else if (strcasecmp(key, "MACs") == 0)
		p->macs = v;
	else if (strcasecmp(key, "HostKeyAlgorithms") == 0)
		p->host_key_algorithms = v;
	else if (strcasecmp(key, "PubkeyAcceptedAlgorithms") == 0)
		p->pubkey_accepted_algorithms = v;
	else if (strcasecmp(key, "Compression") == 0)
		p->compression = strcasecmp(v, "yes") == 0;
	else if (strcasecmp(key, "RekeyLimit") == 0) {
		const char *sp = strchr(v, ' ');

		p->rekey_limit_bytes = parse_size(v);
		if (sp != NULL)
			p->rekey_limit_seconds = (uint32_t)parse_size(sp + 1);
	} else if (strcasecmp(key, "ServerAliveInterval") == 0)
		p->server_alive_interval = (unsigned)parse_size(v);
	else if (strcasecmp(key, "ServerAliveCountMax") == 0)
		p->server_alive_count_max = (unsigned)parse_size(v);
	else if (strcasecmp(key, "ConnectTimeout") == 0)
		p->connect_timeout = (unsigned)parse_size(v);
	else if (strcasecmp(key, "AddressFamily") == 0)
		p->address_family = strcmp(v, "inet") == 0 ? AF_INET : strcmp(v, "inet6") == 0 ? AF_INET6 : AF_UNSPEC;
	else {
		fprintf(stderr, "probe: unknown option %s\n", key);
		exit(2);
	}
}

static void print_info(struct conn *c)
{
	struct conn_info i;

	conn_get_info(c, &i);
	fprintf(stderr, "probe: server %s\nprobe: kex %s\nprobe: hostkey %s\nprobe: cipher %s %s\nprobe: mac %s %s\n"
			"probe: compression %s %s\nprobe: strict-kex %s\nprobe: auth %s\nprobe: rekeys %u\n",
		i.server_version, i.kex, i.hostkey_alg, i.cipher_c2s, i.cipher_s2c, i.mac_c2s, i.mac_s2c, i.comp_c2s,
		i.comp_s2c, i.strict_kex ? "yes" : "no", i.auth_method, i.rekeys);
}

/* ---- pipelined SFTP transfers ---- */

struct xfer {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned outstanding;
	int err;
	int fd;
};

struct xfer_req {
	struct xfer *x;
	uint64_t off;
	size_t len;
};

static void xfer_done(struct xfer *x, int err)
{
	pthread_mutex_lock(&x->lock);
	if (err != 0 && x->err == 0)
		x->err = err;
	x->outstanding--;
	pthread_cond_broadcast(&x->cond);
	pthread_mutex_unlock(&x->lock);
}

static void read_cb(void *ctx, int err, const uint8_t *data, size_t len)
{
	struct xfer_req *rq = ctx;

	if (err == 0 && len != rq->len)
		err = ERR_PROTOCOL; /* short read of a file of known size */
	if (err == 0 && pwrite(rq->x->fd, data, len, (off_t)rq->off) != (ssize_t)len)
		err = ERR_SYSTEM;
	xfer_done(rq->x, err);
	free(rq);
}

static void write_cb(void *ctx, int err)
{
	struct xfer_req *rq = ctx;

	xfer_done(rq->x, err);
	free(rq);
}

static int xfer_wait(struct xfer *x)
{
	pthread_mutex_lock(&x->lock);
	while (x->outstanding > 0)
		pthread_cond_wait(&x->cond, &x->lock);
	pthread_mutex_unlock(&x->lock);
	return x->err;
}

static void maybe_rekey(struct conn *c, unsigned long long rekey_every, unsigned long long *since, size_t n)
{
	*since += n;
	if (rekey_every > 0 && *since >= rekey_every) {
		*since = 0;
		if (conn_rekey(c) != 0)
			fprintf(stderr, "probe: rekey request failed\n");
	}
}

static int do_sftp(struct conn *c, bool get, const char *src, const char *dst, unsigned long long rekey_every)
{
	struct sftp_client *s = NULL;
	struct sftp_handle h;
	struct sftp_attrs a;
	struct sftp_limits lim;
	struct xfer x = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .fd = -1};
	unsigned long long since = 0;
	uint64_t size, off;
	struct stat st;
	int r, r2;

	if ((r = conn_start_sftp(c, &s)) != 0 || (r = sftp_client_init(s)) != 0)
		goto out;
	sftp_client_limits(s, &lim);
	memset(&a, 0, sizeof(a));
	if (get) {
		if ((r = sftp_stat(s, src, &a)) != 0)
			goto out;
		size = a.size;
		sftp_attrs_clear(&a);
		if ((x.fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
			r = ERR_SYSTEM;
			goto out;
		}
		if ((r = sftp_open(s, src, SFTP_FXF_READ, NULL, &h)) != 0)
			goto out;
	} else {
		if ((x.fd = open(src, O_RDONLY | O_CLOEXEC)) < 0 || fstat(x.fd, &st) != 0) {
			r = ERR_SYSTEM;
			goto out;
		}
		size = (uint64_t)st.st_size;
		if ((r = sftp_open(s, dst, SFTP_FXF_WRITE | SFTP_FXF_CREAT | SFTP_FXF_TRUNC, NULL, &h)) != 0)
			goto out;
	}
	for (off = 0; off < size && r == 0;) {
		size_t n = (size_t)(get ? lim.read_length : lim.write_length);
		struct xfer_req *rq;

		if (n > size - off)
			n = (size_t)(size - off);
		if ((rq = calloc(1, sizeof(*rq))) == NULL) {
			r = ERR_ALLOC_FAIL;
			break;
		}
		rq->x = &x;
		rq->off = off;
		rq->len = n;
		pthread_mutex_lock(&x.lock);
		x.outstanding++;
		r = x.err;
		pthread_mutex_unlock(&x.lock);
		if (r == 0) {
			if (get) {
				r = sftp_read_async(s, &h, off, n, 0, read_cb, rq);
			} else {
				uint8_t *data = malloc(n);

				if (data == NULL || pread(x.fd, data, n, (off_t)off) != (ssize_t)n)
					r = ERR_SYSTEM;
				else
					r = sftp_write_async(s, &h, off, data, n, 0, write_cb, rq);
				free(data);
			}
		}
		if (r != 0) {
			xfer_done(&x, 0);
			free(rq);
			break;
		}
		off += n;
		maybe_rekey(c, rekey_every, &since, n);
	}
	r2 = xfer_wait(&x);
	if (r == 0)
		r = r2;
	r2 = sftp_close(s, &h);
	if (r == 0)
		r = r2;
out:
	if (x.fd >= 0 && close(x.fd) != 0 && r == 0)
		r = ERR_SYSTEM;
	if (r != 0)
		fprintf(stderr, "probe: sftp %s failed: %s\n", get ? "get" : "put", err_str(r));
	print_info(c);
	sftp_client_free(s);
	return r;
}

/* ---- direct-tcpip: read the first line the far end sends ---- */

struct line_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char line[256];
	size_t len;
	bool done;
	int err;
};

static int line_data(void *ctx, const uint8_t *data, size_t len)
{
	struct line_wait *w = ctx;

	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < len && !w->done; i++) {
		if (data[i] == '\n' || w->len == sizeof(w->line) - 1)
			w->done = true;
		else
			w->line[w->len++] = (char)data[i];
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

static void line_close(void *ctx, int err)
{
	struct line_wait *w = ctx;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	w->err = err;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static int do_tcp(struct conn *c, const char *host, const char *port)
{
	static const struct conn_stream_ops ops = {.on_data = line_data, .on_close = line_close};
	struct line_wait w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
	struct conn_stream *s = NULL;
	int r;

	if ((r = conn_stream_open_direct_tcpip(c, host, (uint16_t)parse_size(port), &ops, &w, &s)) != 0) {
		fprintf(stderr, "probe: direct-tcpip failed: %s\n", err_str(r));
		print_info(c);
		return r;
	}
	pthread_mutex_lock(&w.lock);
	while (!w.done)
		pthread_cond_wait(&w.cond, &w.lock);
	w.line[w.len] = '\0';
	pthread_mutex_unlock(&w.lock);
	printf("%s\n", w.line);
	conn_stream_detach(s);
	print_info(c);
	return w.len > 0 ? 0 : (w.err != 0 ? w.err : ERR_EOF);
}

/* ProxyCommand-style: a socketpair to CMD's stdin and stdout. */
static int spawn_proxy(const char *cmd, pid_t *pid)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	*pid = fork();
	if (*pid < 0)
		return -1;
	if (*pid == 0) {
		if (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	return sv[0];
}

int main(int argc, char **argv)
{
	struct conn_params p;
	struct conn_identity id;
	struct sshkey *priv = NULL, *pub = NULL;
	struct conn *c = NULL;
	const char *keyfile = NULL, *proxy = NULL, *jump = NULL;
	struct conn *jc = NULL;
	pid_t proxy_pid = -1;
	unsigned long long rekey_every = 0;
	char *user, *host;
	int opt, r, status = -1, rc = 1;

	memset(&p, 0, sizeof(p));
	p.fd = -1;
	p.port = 22;
	log_set_level(LOG_LEVEL_ERROR);
	while ((opt = getopt(argc, argv, "p:i:H:o:R:P:J:v")) != -1) {
		switch (opt) {
		case 'p':
			p.port = (uint16_t)parse_size(optarg);
			break;
		case 'i':
			keyfile = optarg;
			break;
		case 'H':
			if (n_hostkeys == MAX_HOSTKEYS || keyfile_load_public(optarg, &hostkeys[n_hostkeys]) != 0) {
				fprintf(stderr, "probe: cannot load host key %s\n", optarg);
				return 2;
			}
			n_hostkeys++;
			break;
		case 'o':
			set_option(&p, optarg);
			break;
		case 'R':
			rekey_every = parse_size(optarg);
			break;
		case 'P':
			proxy = optarg;
			break;
		case 'J':
			jump = optarg;
			break;
		case 'v':
			log_set_level(log_get_level() < LOG_LEVEL_VERBOSE ? LOG_LEVEL_VERBOSE : LOG_LEVEL_DEBUG3);
			log_set_categories(LOG_CAT_ALL);
			break;
		default:
			usage();
		}
	}
	if (optind + 2 > argc || keyfile == NULL || n_hostkeys == 0)
		usage();
	user = strdup(argv[optind]);
	if (user == NULL || (host = strchr(user, '@')) == NULL)
		usage();
	*host++ = '\0';
	if ((r = keyfile_load_private(keyfile, NULL, &priv)) != 0 || (r = sshkey_demote(priv, &pub)) != 0) {
		fprintf(stderr, "probe: cannot load %s: %s\n", keyfile, err_str(r));
		return 2;
	}
	id.pub = pub;
	id.sign = conn_sign_with_key;
	id.sign_ctx = priv;
	p.host = host;
	p.user = user;
	p.identities = &id;
	p.n_identities = 1;
	p.verify_host_key = verify_cb;
	p.preferred_auth = "publickey";
	if (proxy != NULL && (p.fd = spawn_proxy(proxy, &proxy_pid)) < 0) {
		fprintf(stderr, "probe: cannot run %s\n", proxy);
		return 2;
	}
	if (jump != NULL) {
		struct conn_params jp = p;
		char *jhost = strdup(jump), *colon;

		if (jhost == NULL || (colon = strrchr(jhost, ':')) == NULL)
			usage();
		*colon = '\0';
		jp.host = jhost;
		jp.port = (uint16_t)parse_size(colon + 1);
		r = conn_open(&jp, &jc);
		free(jhost);
		if (r != 0) {
			fprintf(stderr, "probe: jump host connect failed: %s\n", err_str(r));
			goto out;
		}
		r = conn_open_via(jc, &p, &c);
	} else {
		r = conn_open(&p, &c);
	}
	if (r != 0) {
		fprintf(stderr, "probe: connect failed: %s\n", err_str(r));
		goto out;
	}
	optind++;
	if (strcmp(argv[optind], "exec") == 0 && optind + 2 == argc) {
		struct buf *o = buf_new(BUF_ABSOLUTE_MAX);

		if (o == NULL)
			goto out;
		r = conn_exec(c, argv[optind + 1], NULL, 0, o, &status);
		if (r == 0 && fwrite(buf_peek(o), 1, buf_len(o), stdout) != buf_len(o))
			r = ERR_SYSTEM;
		buf_free(o);
		print_info(c);
		if (r != 0)
			fprintf(stderr, "probe: exec failed: %s\n", err_str(r));
		else
			rc = status < 0 ? 255 : status;
	} else if ((strcmp(argv[optind], "sftp-get") == 0 || strcmp(argv[optind], "sftp-put") == 0) &&
		   optind + 3 == argc) {
		r = do_sftp(c, strcmp(argv[optind], "sftp-get") == 0, argv[optind + 1], argv[optind + 2], rekey_every);
		rc = r == 0 ? 0 : 1;
	} else if (strcmp(argv[optind], "tcp") == 0 && optind + 3 == argc) {
		rc = do_tcp(c, argv[optind + 1], argv[optind + 2]) == 0 ? 0 : 1;
	} else {
		usage();
	}
out:
	conn_close(c);
	conn_close(jc);
	sshkey_free(pub);
	sshkey_free(priv);
	for (size_t i = 0; i < n_hostkeys; i++)
		sshkey_free(hostkeys[i]);
	free(user);
	if (proxy_pid > 0)
		waitpid(proxy_pid, NULL, 0);
	return rc;
}
