/*
 * links.c - the daemon's connections: max_conns slots, each holding the
 * current link (one connection's SFTP client), each lost and reconnected on
 * its own.
 *
 * A link is shared by reference (struct sftpfs_link in sftpfs.h). Operations
 * take it through sftpfs_client(), which keeps the reference in a per-thread
 * list until the operation ends (sftpfs_op_end, called by the wrapped
 * operations table), so a link replaced meanwhile is closed only when no
 * operation can still be inside a call on its client.
 *
 * When a slot's link is found dead (its client was shut down: I/O error,
 * DISCONNECT, keepalive timeout), the operation that noticed it starts the
 * slot's reconnect thread and waits, up to reconnect_timeout, for a new link.
 * The reconnect thread tries with exponential backoff (100 ms doubling to
 * 5 s), re-verifying the host key and authenticating without prompting
 * (remote_set_noninteractive), and gives up once nobody has wanted the slot
 * for reconnect_timeout; the next operation starts it again. An attempt that
 * fails for good reasons (host key changed or unknown, authentication refused)
 * fails the operations waiting for it at once instead of at their deadline.
 * Every fault and reconnect is logged at info level with a count.
 */
#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "sftpfs.h"

/* References one FUSE operation may hold at once (it uses a few). */
#define HELD_MAX 16

/* WRITE data in flight on one write lane (its channel window is 2 MiB at
 * OpenSSH's sshd): what the file queue holds beyond waits in the queue, not
 * in the lane's channel buffers. */
#define LANE_WINDOW_BYTES (3u * 1024 * 1024)

#define RECONNECT_BACKOFF_MIN_US (100 * 1000)
#define RECONNECT_BACKOFF_MAX_US (5 * 1000 * 1000)

static __thread struct sftpfs_link *held[HELD_MAX];
static __thread unsigned n_held;
static __thread gint64 op_deadline; /* 0 outside an operation */
static __thread bool op_retrying;   /* the operation runs again after a lost connection */

void sftpfs_op_set_retrying(bool on)
{
	op_retrying = on;
}

bool sftpfs_op_retrying(void)
{
	return op_retrying;
}

struct reconnect_job {
	struct sftpfs *fs;
	unsigned slot;
};

struct sftpfs_link *sftpfs_link_ref(struct sftpfs_link *l)
{
	g_atomic_int_inc(&l->refs);
	return l;
}

void sftpfs_link_unref(struct sftpfs_link *l)
{
	if (l == NULL || !g_atomic_int_dec_and_test(&l->refs))
		return;
	g_atomic_int_set(&l->closing, 1); /* our own close is no fault */
	if (l->lanes_thread != NULL) {
		bool starting;

		g_mutex_lock(&l->lanes_lock);
		starting = !l->lanes_ready;
		g_mutex_unlock(&l->lanes_lock);
		/* Lanes still being opened would wait for the server as long
		 * as it takes: the connection ends under them first. */
		if (starting)
			remote_abort_client(l->fs->remote, l->client);
		g_thread_join(l->lanes_thread);
	}
	remote_close_client(l->fs->remote, l->client); /* and its lanes */
	g_mutex_clear(&l->lanes_lock);
	g_free(l);
}

/* Threads started here must not take the signals FUSE's handlers wait for
 * (they inherit the mask). */
static void block_signals(sigset_t *old)
{
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, old);
}

struct parallel_job {
	void (*fn)(void *job);
	void *job;
};

static gpointer parallel_job_run(gpointer data)
{
	struct parallel_job *p = data;

	p->fn(p->job);
	return NULL;
}

void sftpfs_run_parallel(void (*fn)(void *job), void *jobs, size_t job_size, unsigned n)
{
	GThread *t[WRITE_LANES_MAX] = { NULL };
	struct parallel_job arg[WRITE_LANES_MAX];
	sigset_t old;

	block_signals(&old);
	for (unsigned i = 0; i < n; i++) {
		void *job = (uint8_t *)jobs + i * job_size;

		if (i < WRITE_LANES_MAX) {
			arg[i].fn = fn;
			arg[i].job = job;
			t[i] = g_thread_try_new("sftpfs-lane", parallel_job_run, &arg[i], NULL);
		}
		if (i >= WRITE_LANES_MAX || t[i] == NULL)
			fn(job); /* no thread: here, after the others started */
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (unsigned i = 0; i < n && i < WRITE_LANES_MAX; i++)
		if (t[i] != NULL)
			g_thread_join(t[i]);
}

struct lane_job {
	struct sftpfs_link *l;
	struct sftp_client *client;
	int r;
};

static void open_lane_job(void *data)
{
	struct lane_job *j = data;

	j->r = remote_open_lane(j->l->fs->remote, j->l->client, &j->client);
	if (j->r == 0) /* a lane's share of a file's queue, beyond its channel window */
		sftp_client_set_window(j->client, SFTP_WINDOW_REQUESTS_DEFAULT, LANE_WINDOW_BYTES);
}

/*
 * Opens l's lanes, all at once, off the writer's way: a session start costs
 * a few round trips plus whatever the server does to start its SFTP program
 * (the user's shell and its startup files: seconds on some hosts), during
 * which the file's writes go on on its own channel. Uses l without a
 * reference: sftpfs_link_unref joins it before l goes.
 */
static gpointer lanes_start_run(gpointer data)
{
	struct sftpfs_link *l = data;
	struct lane_job jobs[WRITE_LANES_MAX] = { { 0 } };
	unsigned want = l->lanes_want; /* set before the thread */

	for (unsigned i = 0; i < want; i++)
		jobs[i].l = l;
	sftpfs_run_parallel(open_lane_job, jobs, sizeof(jobs[0]), want);
	g_mutex_lock(&l->lanes_lock);
	for (unsigned i = 0; i < want; i++)
		if (jobs[i].r == 0)
			l->lanes[l->n_lanes++] = jobs[i].client;
	l->lanes_ready = true;
	log_debug(LOG_CAT_GENERAL, "connection %u: %u write lanes", l->slot + 1, l->n_lanes);
	g_mutex_unlock(&l->lanes_lock);
	return NULL;
}

unsigned sftpfs_link_lanes(struct sftpfs_link *l, unsigned want, struct sftp_client **out, bool *pending)
{
	unsigned n = 0;

	*pending = false;
	if (want > WRITE_LANES_MAX)
		want = WRITE_LANES_MAX;
	g_mutex_lock(&l->lanes_lock);
	if (!l->lanes_tried && !sftpfs_link_dead(l) && want > 0 && !g_atomic_int_get(&l->closing)) {
		sigset_t old;

		l->lanes_tried = true;
		l->lanes_want = want;
		block_signals(&old);
		l->lanes_thread = g_thread_try_new("sftpfs-lanes", lanes_start_run, l, NULL);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (l->lanes_thread == NULL)
			l->lanes_ready = true; /* no thread, no lanes: one channel it is */
	}
	if (l->lanes_tried && !l->lanes_ready) {
		g_mutex_unlock(&l->lanes_lock);
		*pending = true;
		return 0;
	}
	for (unsigned i = 0; i < l->n_lanes && n < want; i++)
		if (sftp_client_error(l->lanes[i]) == 0)
			out[n++] = l->lanes[i];
	g_mutex_unlock(&l->lanes_lock);
	return n;
}

bool sftpfs_link_dead(const struct sftpfs_link *l)
{
	return l == NULL || sftp_client_error(l->client) != 0;
}

gint64 sftpfs_deadline(const struct sftpfs *fs)
{
	if (op_deadline != 0)
		return op_deadline;
	return g_get_monotonic_time() + (gint64)fs->opts->reconnect_timeout * G_USEC_PER_SEC;
}

void sftpfs_op_begin(const struct sftpfs *fs)
{
	(void)sftpfs_op_drop(); /* anything an unwrapped caller left */
	op_deadline = 0;
	op_deadline = sftpfs_deadline(fs);
}

void sftpfs_hold(struct sftpfs_link *l)
{
	if (n_held == HELD_MAX) {
		/* Never with the operations as written. The caller goes on
		 * using l's client, so the reference is kept (leaked) rather
		 * than dropped under it. */
		log_error(LOG_CAT_GENERAL, "internal: too many connection references in one operation");
		return;
	}
	held[n_held++] = l;
}

bool sftpfs_op_drop(void)
{
	bool lost = false;

	for (unsigned i = 0; i < n_held; i++) {
		if (sftpfs_link_dead(held[i]))
			lost = true;
		sftpfs_link_unref(held[i]);
		held[i] = NULL;
	}
	n_held = 0;
	return lost;
}

bool sftpfs_op_end(void)
{
	bool lost = sftpfs_op_drop();

	op_deadline = 0;
	op_retrying = false;
	return lost;
}

bool sftpfs_connected(struct sftpfs *fs)
{
	bool up = true;

	g_mutex_lock(&fs->lock);
	for (unsigned i = 0; i < fs->n_slots && up; i++)
		up = fs->slots[i].cur != NULL && !sftpfs_link_dead(fs->slots[i].cur);
	g_mutex_unlock(&fs->lock);
	return up;
}

unsigned sftpfs_pick_slot(struct sftpfs *fs)
{
	unsigned s;

	if (fs->n_slots == 1)
		return 0;
	g_mutex_lock(&fs->lock);
	s = fs->next_slot++ % fs->n_slots;
	g_mutex_unlock(&fs->lock);
	return s;
}

static void start_reconnect_locked(struct sftpfs *fs, unsigned slot);

/* Marks the slot's link down (lock held): logged and counted once. */
static void mark_down_locked(struct sftpfs *fs, struct sftpfs_slot *s, unsigned slot, int err)
{
	if (s->down_since != 0)
		return;
	s->down_since = g_get_monotonic_time();
	fs->faults++;
	log_info(LOG_CAT_GENERAL, "connection %u to %s lost: %s; %u faults so far", slot + 1, fs->opts->host,
		 err_str(err), fs->faults);
}

/*
 * The client's shutdown callback (on the connection's I/O thread): the fault
 * is logged when it happens, and reconnecting starts at once, so the link is
 * often back before the next operation needs it.
 */
static void link_lost(void *ctx, int err)
{
	struct sftpfs_link *l = ctx;
	struct sftpfs *fs = l->fs;
	struct sftpfs_slot *s;

	if (g_atomic_int_get(&l->closing))
		return;
	g_mutex_lock(&fs->lock);
	s = &fs->slots[l->slot];
	if (s->cur == l && !fs->stopping) {
		mark_down_locked(fs, s, l->slot, err != 0 ? err : ERR_CONN_CLOSED);
		if (fs->mounted && fs->opts->reconnect && remote_can_reconnect(fs->remote) && !s->connecting) {
			s->last_demand = g_get_monotonic_time();
			start_reconnect_locked(fs, l->slot);
		}
	}
	g_mutex_unlock(&fs->lock);
}

/* A new link for slot (no lock held). The mount's first connection also
 * learns the remote login's IDs for idmap=user. */
static int open_link(struct sftpfs *fs, unsigned slot, struct sftpfs_link **out)
{
	struct sftp_client *c = NULL;
	struct sftpfs_link *l;
	sigset_t old;
	int r;

	*out = NULL;
	block_signals(&old);
	r = remote_open_client(fs->remote, &c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0)
		return r;
	if (fs->opts->idmap == IDMAP_USER && !g_atomic_int_get(&fs->idmap_known)) {
		/* sshfs's idmap=user: the owner of the login directory is the
		 * remote user. */
		struct sftp_attrs a = { 0 };

		if ((r = sftp_stat(c, ".", &a)) != 0 || !(a.flags & SFTP_ATTR_UIDGID)) {
			sftp_attrs_clear(&a);
			remote_close_client(fs->remote, c);
			return r != 0 ? r : ERR_PROTOCOL;
		}
		fs->remote_uid = a.uid;
		fs->remote_gid = a.gid;
		g_atomic_int_set(&fs->idmap_known, 1);
		sftp_attrs_clear(&a);
	}
	l = g_malloc0(sizeof(*l));
	l->refs = 1;
	l->fs = fs;
	l->client = c;
	l->slot = slot;
	g_mutex_init(&l->lanes_lock);
	sftp_client_set_shutdown_callback(c, link_lost, l);
	*out = l;
	return 0;
}

/* Makes l the slot's link (lock held); returns the old one to unref. */
static struct sftpfs_link *install_locked(struct sftpfs *fs, unsigned slot, struct sftpfs_link *l)
{
	struct sftpfs_slot *s = &fs->slots[slot];
	struct sftpfs_link *old = s->cur;

	l->serial = ++fs->next_serial;
	s->cur = l;
	if (s->ever_connected) {
		fs->reconnects++;
		log_info(LOG_CAT_GENERAL, "reconnected to %s (connection %u) after %.1f s; %u reconnects so far",
			 fs->opts->host, slot + 1, (double)(g_get_monotonic_time() - s->down_since) / G_USEC_PER_SEC,
			 fs->reconnects);
	} else {
		log_verbose(LOG_CAT_GENERAL, "connected to %s (connection %u, SFTP version %u)", fs->opts->host,
			    slot + 1, sftp_client_version(l->client));
	}
	s->ever_connected = true;
	s->down_since = 0;
	s->last_err = 0;
	s->attempts++;
	g_cond_broadcast(&fs->cond);
	return old;
}

/* Host key and authentication failures do not heal by retrying soon. */
static bool fatal_connect_error(int r)
{
	return r == ERR_HOSTKEY_CHANGED || r == ERR_HOSTKEY_UNKNOWN || r == ERR_HOSTKEY_REVOKED ||
	       r == ERR_AUTH_FAILED;
}

static gpointer reconnect_thread(gpointer data)
{
	struct reconnect_job *job = data;
	struct sftpfs *fs = job->fs;
	struct sftpfs_slot *s = &fs->slots[job->slot];
	gint64 backoff = RECONNECT_BACKOFF_MIN_US;
	unsigned failures = 0;

	for (;;) {
		struct sftpfs_link *l = NULL, *old;
		gint64 until;
		int r = open_link(fs, job->slot, &l);

		g_mutex_lock(&fs->lock);
		if (r == 0 && !fs->stopping) {
			old = install_locked(fs, job->slot, l);
			s->connecting = false;
			g_mutex_unlock(&fs->lock);
			sftpfs_link_unref(old);
			break;
		}
		if (r == 0) {
			/* Unmounting: nobody wants the link any more. */
			s->connecting = false;
			g_cond_broadcast(&fs->cond);
			g_mutex_unlock(&fs->lock);
			sftpfs_link_unref(l);
			break;
		}
		failures++;
		s->last_err = r;
		s->last_err_fatal = fatal_connect_error(r);
		s->attempts++;
		g_cond_broadcast(&fs->cond);
		log_info(LOG_CAT_GENERAL, "reconnecting to %s (connection %u): attempt %u failed: %s", fs->opts->host,
			 job->slot + 1, failures, err_str(r));
		if (fs->stopping ||
		    g_get_monotonic_time() - s->last_demand > (gint64)fs->opts->reconnect_timeout * G_USEC_PER_SEC) {
			/* Nobody has waited for a while: stop until the next
			 * operation asks again. */
			log_info(LOG_CAT_GENERAL, "giving up reconnecting to %s for now (connection %u)",
				 fs->opts->host, job->slot + 1);
			s->connecting = false;
			g_mutex_unlock(&fs->lock);
			break;
		}
		until = g_get_monotonic_time() + backoff;
		while (!fs->stopping && g_cond_wait_until(&fs->cond, &fs->lock, until))
			;
		if (fs->stopping) {
			s->connecting = false;
			g_cond_broadcast(&fs->cond);
			g_mutex_unlock(&fs->lock);
			break;
		}
		g_mutex_unlock(&fs->lock);
		backoff = backoff * 2 > RECONNECT_BACKOFF_MAX_US ? RECONNECT_BACKOFF_MAX_US : backoff * 2;
	}
	g_free(job);
	return NULL;
}

/* Starts the slot's reconnect thread (lock held). */
static void start_reconnect_locked(struct sftpfs *fs, unsigned slot)
{
	struct sftpfs_slot *s = &fs->slots[slot];
	struct reconnect_job *job = g_malloc0(sizeof(*job));
	GError *err = NULL;

	job->fs = fs;
	job->slot = slot;
	if (s->thread != NULL) {
		/* The previous run has ended (connecting was false). */
		g_thread_join(s->thread);
		s->thread = NULL;
	}
	s->connecting = true;
	s->thread = g_thread_try_new("sftpfs-reconnect", reconnect_thread, job, &err);
	if (s->thread == NULL) {
		log_error(LOG_CAT_GENERAL, "cannot start a reconnect thread: %s", err->message);
		g_error_free(err);
		g_free(job);
		s->connecting = false;
	}
}

int sftpfs_slot_link(struct sftpfs *fs, unsigned slot, gint64 deadline, struct sftpfs_link **out)
{
	struct sftpfs_slot *s = &fs->slots[slot];
	unsigned seen_attempts;
	int r;

	*out = NULL;
	g_mutex_lock(&fs->lock);
	seen_attempts = s->attempts;
	for (;;) {
		struct sftpfs_link *l = s->cur;

		if (l != NULL && !sftpfs_link_dead(l)) {
			*out = sftpfs_link_ref(l);
			g_mutex_unlock(&fs->lock);
			return 0;
		}
		if (l != NULL)
			mark_down_locked(fs, s, slot, sftp_client_error(l->client));
		if (fs->stopping || (l != NULL && !(fs->opts->reconnect && remote_can_reconnect(fs->remote)))) {
			g_mutex_unlock(&fs->lock);
			return ERR_CONN_CLOSED;
		}
		if (!fs->mounted) {
			/* Mount time (or no reconnect thread wanted yet): connect
			 * here, so a failure is the caller's message. */
			struct sftpfs_link *nl = NULL, *old;

			g_mutex_unlock(&fs->lock);
			r = open_link(fs, slot, &nl);
			g_mutex_lock(&fs->lock);
			if (r != 0) {
				fs->connect_err = r;
				g_mutex_unlock(&fs->lock);
				return r;
			}
			old = install_locked(fs, slot, nl);
			*out = sftpfs_link_ref(nl);
			g_mutex_unlock(&fs->lock);
			sftpfs_link_unref(old);
			return 0;
		}
		s->last_demand = g_get_monotonic_time();
		if (!s->connecting)
			start_reconnect_locked(fs, slot);
		if (s->attempts != seen_attempts && s->last_err_fatal) {
			g_mutex_unlock(&fs->lock);
			return ERR_CONN_CLOSED;
		}
		if (!g_cond_wait_until(&fs->cond, &fs->lock, deadline)) {
			if (s->cur != NULL && !sftpfs_link_dead(s->cur))
				continue;
			g_mutex_unlock(&fs->lock);
			return ERR_CONN_CLOSED;
		}
	}
}

int sftpfs_client(struct sftpfs *fs, struct sftp_client **out)
{
	struct sftpfs_link *l = NULL;
	int r;

	*out = NULL;
	if ((r = sftpfs_slot_link(fs, sftpfs_pick_slot(fs), sftpfs_deadline(fs), &l)) != 0)
		return r;
	sftpfs_hold(l);
	*out = l->client;
	return 0;
}

int sftpfs_connect(struct sftpfs *fs)
{
	for (unsigned i = 0; i < fs->n_slots; i++) {
		struct sftpfs_link *l = NULL;
		int r;

		if ((r = sftpfs_slot_link(fs, i, sftpfs_deadline(fs), &l)) != 0)
			return r;
		sftpfs_link_unref(l);
	}
	return 0;
}

void sftpfs_mounted(struct sftpfs *fs)
{
	remote_set_noninteractive(fs->remote);
	g_mutex_lock(&fs->lock);
	fs->mounted = true;
	g_mutex_unlock(&fs->lock);
}

void sftpfs_links_init(struct sftpfs *fs)
{
	g_mutex_init(&fs->lock);
	g_cond_init(&fs->cond);
	fs->n_slots = fs->opts->max_conns > 0 ? fs->opts->max_conns : 1;
	fs->slots = g_malloc0_n(fs->n_slots, sizeof(*fs->slots));
}

void sftpfs_disconnect(struct sftpfs *fs)
{
	if (fs->slots == NULL)
		return;
	g_mutex_lock(&fs->lock);
	fs->stopping = true;
	g_cond_broadcast(&fs->cond);
	g_mutex_unlock(&fs->lock);
	for (unsigned i = 0; i < fs->n_slots; i++) {
		struct sftpfs_slot *s = &fs->slots[i];

		if (s->thread != NULL)
			g_thread_join(s->thread);
		s->thread = NULL;
		g_clear_pointer(&s->cur, sftpfs_link_unref);
	}
	g_free(fs->slots);
	fs->slots = NULL;
	g_cond_clear(&fs->cond);
	g_mutex_clear(&fs->lock);
}
