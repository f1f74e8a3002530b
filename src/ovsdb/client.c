/* SPDX-License-Identifier: Apache-2.0 */
/* OVSDB JSON-RPC client (RFC 7047): connection setup and the requests
 * (transact, monitor); the reader thread is in reader.c.
 *
 * Locks, and the order they nest in (outer first):
 *   monitor_lock  the monitor table; held by the reader while a monitor
 *                 callback runs, so that unregistering a monitor also waits
 *                 out a callback in flight.
 *   write_lock    one whole message at a time onto the socket.
 *   lock          pending calls, connection state, the echo-reply queue.
 *
 * The reader never blocks on anything that waits for the server: ovsdb-server
 * stops reading from a connection while it has unsent output for it, so a
 * reader stuck behind a writer that is stuck behind the server would deadlock
 * all three. Echo replies therefore go into a queue that whoever holds
 * write_lock drains; the reader itself only ever tries the lock and sends
 * with MSG_DONTWAIT, finishing later on POLLOUT. */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "macro.h"
#include "client-private.h"
#include "time-util.h"

void ovsdb_client_break(struct ovsdb_client *c, const char *reason)
{
	bool first = false;

	pthread_mutex_lock(&c->lock);
	if (c->connected) {
		c->connected = false;
		first = true;
		if (!c->lost_reason)
			c->lost_reason = strdup(reason);
	}
	pthread_mutex_unlock(&c->lock);
	if (first)
		shutdown(c->fd, SHUT_RDWR);
}

void ovsdb_client_break_errno(struct ovsdb_client *c, const char *what, int err)
{
	_cleanup_free_ char *m = NULL;

	errno = err;
	m = strdup_printf("%s: %m", what);
	ovsdb_client_break(c, m ?: what);
}

/* Send all of @buf, blocking. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* With write_lock held: send whatever the reader queued, blocking. */
static int outq_flush_blocking(struct ovsdb_client *c)
{
	for (;;) {
		_cleanup_free_ char *q = NULL;
		size_t len;
		int r;

		pthread_mutex_lock(&c->lock);
		q = TAKE_PTR(c->outq);
		len = c->outq_len;
		c->outq_len = 0;
		pthread_mutex_unlock(&c->lock);
		if (!q)
			return 0;
		r = send_all(c->fd, q, len);
		if (r < 0)
			return r;
	}
}

/* Release write_lock held by a writer thread. The reader may have queued an
 * echo reply and failed to get the lock after our last flush: it relies on
 * us to send it, so look once more after unlocking. */
static void write_unlock(struct ovsdb_client *c)
{
	for (;;) {
		bool more;
		int r;

		r = outq_flush_blocking(c);
		pthread_mutex_unlock(&c->write_lock);
		if (r < 0) {
			ovsdb_client_break_errno(c, "send", -r);
			return;
		}
		pthread_mutex_lock(&c->lock);
		more = c->outq != NULL;
		pthread_mutex_unlock(&c->lock);
		if (!more)
			return;
		pthread_mutex_lock(&c->write_lock);
	}
}

struct ovsdb_monitor_reg *ovsdb_monitor_find(struct ovsdb_client *c, const char *id)
{
	for (struct ovsdb_monitor_reg *m = c->monitors; m; m = m->next)
		if (streq(m->id, id))
			return m;
	return NULL;
}

static void monitor_reg_free(struct ovsdb_monitor_reg *m)
{
	if (!m)
		return;
	free(m->id);
	free(m);
}

/* Take @m out of the table; once this returns no callback for it runs. */
static void monitor_unregister(struct ovsdb_client *c, struct ovsdb_monitor_reg *m)
{
	pthread_mutex_lock(&c->monitor_lock);
	for (struct ovsdb_monitor_reg **p = &c->monitors; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	pthread_mutex_unlock(&c->monitor_lock);
	monitor_reg_free(m);
}

/* ---- requests ---- */

static void client_enter(struct ovsdb_client *c)
{
	pthread_mutex_lock(&c->lock);
	c->n_active++;
	pthread_mutex_unlock(&c->lock);
}

static void client_leave(struct ovsdb_client *c)
{
	pthread_mutex_lock(&c->lock);
	if (--c->n_active == 0)
		pthread_cond_broadcast(&c->idle);
	pthread_mutex_unlock(&c->lock);
}

/* With c->lock held. */
static void call_unlink(struct ovsdb_client *c, struct ovsdb_call *call)
{
	for (struct ovsdb_call **p = &c->calls; *p; p = &(*p)->next)
		if (*p == call) {
			*p = call->next;
			return;
		}
}

/* With c->lock held. */
static void set_lost_errmsg(struct ovsdb_client *c, char **reterr_msg)
{
	set_errmsg(reterr_msg, "connection to %s lost: %s", c->target,
		   c->lost_reason ?: "unknown reason");
}

/* Serialize and send one request with id @id; do not wait for the reply.
 * Returns 0 or -errno (the connection is then broken, unless -ENOMEM came
 * before anything was written). */
static int rpc_send(struct ovsdb_client *c, const char *method, json_t *params, json_int_t id)
{
	json_auto_t *msg = NULL;
	_cleanup_free_ char *s = NULL;
	int r;

	msg = json_pack("{s:I,s:s,s:O}", "id", id, "method", method, "params", params);
	if (!msg)
		return -ENOMEM;
	s = json_dumps(msg, JSON_COMPACT);
	if (!s)
		return -ENOMEM;

	pthread_mutex_lock(&c->write_lock);
	r = outq_flush_blocking(c);
	if (r >= 0)
		r = send_all(c->fd, s, strlen(s));
	if (r < 0) {
		pthread_mutex_unlock(&c->write_lock);
		ovsdb_client_break_errno(c, "send", -r);
		return r;
	}
	write_unlock(c);
	return 0;
}

/* Send @method(@params) and wait for its reply. @params is borrowed. When
 * @monitor is set the reader delivers a successful result to it before
 * waking us. Returns 0 with the whole reply object in *ret_reply, or
 * -ECONNRESET / -ETIMEDOUT / -ENOMEM with a message. */
static int rpc_call(struct ovsdb_client *c, const char *method, json_t *params, int timeout_ms,
		    struct ovsdb_monitor_reg *monitor, json_t **ret_reply, char **reterr_msg)
{
	struct ovsdb_call call = { .monitor = monitor };
	struct timespec deadline = {};
	int r;

	cond_init_monotonic(&call.cond);
	if (timeout_ms > 0)
		timespec_deadline_ms(&deadline, timeout_ms);

	pthread_mutex_lock(&c->lock);
	if (!c->connected) {
		set_lost_errmsg(c, reterr_msg);
		pthread_mutex_unlock(&c->lock);
		pthread_cond_destroy(&call.cond);
		return -ECONNRESET;
	}
	call.id = c->next_id++;
	call.next = c->calls;
	c->calls = &call;
	pthread_mutex_unlock(&c->lock);

	/* On a send error the connection is shut down and the reader fails
	 * this call like every other, so just go on waiting. */
	r = rpc_send(c, method, params, call.id);

	pthread_mutex_lock(&c->lock);
	if (r == -ENOMEM && !call.claimed && !call.done) {
		call_unlink(c, &call);
		pthread_mutex_unlock(&c->lock);
		pthread_cond_destroy(&call.cond);
		set_errmsg(reterr_msg, "out of memory building %s request", method);
		return -ENOMEM;
	}
	r = 0;
	while (!call.done) {
		if (timeout_ms <= 0 || call.claimed) {
			pthread_cond_wait(&call.cond, &c->lock);
			continue;
		}
		if (pthread_cond_timedwait(&call.cond, &c->lock, &deadline) == ETIMEDOUT &&
		    !call.done && !call.claimed) {
			call_unlink(c, &call);
			r = -ETIMEDOUT;
			break;
		}
	}
	if (r == -ETIMEDOUT)
		set_errmsg(reterr_msg, "%s: no reply from %s within %d ms", method, c->target,
			   timeout_ms);
	else if (call.error < 0) {
		r = call.error;
		set_lost_errmsg(c, reterr_msg);
	}
	pthread_mutex_unlock(&c->lock);
	pthread_cond_destroy(&call.cond);
	if (r < 0)
		return r;
	*ret_reply = call.reply;
	return 0;
}

/* "error: details", "error", or the JSON text of an odd error value. */
static void set_ovsdb_errmsg(char **reterr_msg, const char *prefix, json_t *err)
{
	json_t *e = err, *details = NULL;
	_cleanup_free_ char *dump = NULL;

	if (json_is_object(err)) {
		e = json_object_get(err, "error");
		details = json_object_get(err, "details");
	}
	if (json_is_string(e) && json_is_string(details))
		set_errmsg(reterr_msg, "%s%s: %s", prefix, json_string_value(e),
			   json_string_value(details));
	else if (json_is_string(e))
		set_errmsg(reterr_msg, "%s%s", prefix, json_string_value(e));
	else {
		dump = json_dumps(err, JSON_COMPACT | JSON_ENCODE_ANY);
		set_errmsg(reterr_msg, "%s%s", prefix, dump ?: "unknown error");
	}
}

/* A non-null "error" member of a reply: the request as a whole failed. */
static int reply_check(json_t *reply, const char *method, char **reterr_msg)
{
	json_t *err = json_object_get(reply, "error");
	_cleanup_free_ char *prefix = NULL;

	if (!err || json_is_null(err))
		return 0;
	prefix = strdup_printf("%s failed: ", method);
	set_ovsdb_errmsg(reterr_msg, prefix ?: "", err);
	return -EPROTO;
}

static int op_error_to_errno(const char *error)
{
	if (streq(error, "timed out"))
		return -ETIMEDOUT;
	if (streq(error, "constraint violation"))
		return -EEXIST;
	return -EPROTO;
}

/* Walk the per-operation results; the first element with an "error" wins.
 * An element past the last operation is the commit's own error. */
static int transact_result_check(json_t *result, size_t n_ops, char **reterr_msg)
{
	json_t *op;
	size_t i;

	if (!json_is_array(result)) {
		set_errmsg(reterr_msg, "malformed transact reply: result is not an array");
		return -EPROTO;
	}
	json_array_foreach(result, i, op) {
		json_t *err = json_object_get(op, "error");

		if (!err || json_is_null(err))
			continue;
		set_ovsdb_errmsg(reterr_msg, "", op);
		return json_is_string(err) ? op_error_to_errno(json_string_value(err)) : -EPROTO;
	}
	if (json_array_size(result) < n_ops) {
		set_errmsg(reterr_msg, "malformed transact reply: %zu results for %zu operations",
			   json_array_size(result), n_ops);
		return -EPROTO;
	}
	return 0;
}

int ovsdb_transact(struct ovsdb_client *c, const char *db, json_t *ops, int timeout_ms,
		   json_t **ret_result, char **reterr_msg)
{
	json_auto_t *ops_owned = ops;
	json_auto_t *params = NULL;
	json_auto_t *reply = NULL;
	json_t *result;
	int r;

	if (!c || !db || !json_is_array(ops)) {
		set_errmsg(reterr_msg, "transact: need a client, a database and an ops array");
		return -EINVAL;
	}
	params = json_array();
	if (!params || json_array_append_new(params, json_string(db)) < 0 ||
	    json_array_extend(params, ops) < 0) {
		set_errmsg(reterr_msg, "out of memory building transact request");
		return -ENOMEM;
	}

	client_enter(c);
	r = rpc_call(c, "transact", params, timeout_ms, NULL, &reply, reterr_msg);
	client_leave(c);
	if (r < 0)
		return r;
	r = reply_check(reply, "transact", reterr_msg);
	if (r < 0)
		return r;
	result = json_object_get(reply, "result");
	r = transact_result_check(result, json_array_size(ops_owned), reterr_msg);
	if (r < 0)
		return r;
	if (ret_result)
		*ret_result = json_incref(result);
	return 0;
}

int ovsdb_monitor(struct ovsdb_client *c, const char *db, const char *monitor_id, json_t *requests,
		  ovsdb_update_cb cb, void *userdata, int timeout_ms, char **reterr_msg)
{
	json_auto_t *requests_owned = requests;
	json_auto_t *params = NULL;
	json_auto_t *reply = NULL;
	struct ovsdb_monitor_reg *m;
	int r;

	if (!c || !db || !monitor_id || !json_is_object(requests_owned) || !cb) {
		set_errmsg(reterr_msg, "monitor: need a client, a database, an id, a requests "
				       "object and a callback");
		return -EINVAL;
	}
	params = json_pack("[s,s,O]", db, monitor_id, requests_owned);
	m = calloc(1, sizeof(*m));
	if (m)
		m->id = strdup(monitor_id);
	if (!params || !m || !m->id) {
		monitor_reg_free(m);
		set_errmsg(reterr_msg, "out of memory building monitor request");
		return -ENOMEM;
	}
	m->cb = cb;
	m->userdata = userdata;

	/* Registered before the request goes out so that nothing the server
	 * sends for this monitor can find it missing. */
	pthread_mutex_lock(&c->monitor_lock);
	if (ovsdb_monitor_find(c, monitor_id)) {
		pthread_mutex_unlock(&c->monitor_lock);
		monitor_reg_free(m);
		set_errmsg(reterr_msg, "monitor %s already exists on this connection", monitor_id);
		return -EEXIST;
	}
	m->next = c->monitors;
	c->monitors = m;
	pthread_mutex_unlock(&c->monitor_lock);

	client_enter(c);
	r = rpc_call(c, "monitor", params, timeout_ms, m, &reply, reterr_msg);
	if (r == -ETIMEDOUT) {
		/* The server may still set it up; do not leave it running for
		 * an id the caller believes unused. Its reply is dropped. */
		json_auto_t *cancel = json_pack("[s]", monitor_id);
		json_int_t id;

		pthread_mutex_lock(&c->lock);
		id = c->next_id++;
		pthread_mutex_unlock(&c->lock);
		if (cancel)
			(void)rpc_send(c, "monitor_cancel", cancel, id);
	}
	client_leave(c);
	if (r >= 0)
		r = reply_check(reply, "monitor", reterr_msg);
	if (r >= 0 && !json_is_object(json_object_get(reply, "result"))) {
		set_errmsg(reterr_msg, "malformed monitor reply: result is not an object");
		r = -EPROTO;
	}
	if (r < 0) {
		monitor_unregister(c, m);
		return r;
	}
	return 0;
}

int ovsdb_monitor_cancel(struct ovsdb_client *c, const char *monitor_id, int timeout_ms,
			 char **reterr_msg)
{
	json_auto_t *params = NULL;
	json_auto_t *reply = NULL;
	struct ovsdb_monitor_reg *m;
	int r;

	if (!c || !monitor_id)
		return -EINVAL;
	pthread_mutex_lock(&c->monitor_lock);
	m = ovsdb_monitor_find(c, monitor_id);
	pthread_mutex_unlock(&c->monitor_lock);
	if (!m) {
		set_errmsg(reterr_msg, "no monitor %s on this connection", monitor_id);
		return -ENOENT;
	}
	monitor_unregister(c, m);

	params = json_pack("[s]", monitor_id);
	if (!params) {
		set_errmsg(reterr_msg, "out of memory building monitor_cancel request");
		return -ENOMEM;
	}
	client_enter(c);
	r = rpc_call(c, "monitor_cancel", params, timeout_ms, NULL, &reply, reterr_msg);
	client_leave(c);
	if (r < 0)
		return r;
	return reply_check(reply, "monitor_cancel", reterr_msg);
}

/* ---- connection ---- */

union ovsdb_sockaddr {
	struct sockaddr sa;
	struct sockaddr_un un;
	struct sockaddr_in in;
};

static int parse_target(const char *target, union ovsdb_sockaddr *ret, socklen_t *ret_len,
			char **reterr_msg)
{
	const char *p;

	if (!target)
		goto bad;
	if (strncmp(target, "unix:", 5) == 0) {
		size_t n;

		p = target + 5;
		n = strlen(p);

		if (n == 0 || n >= sizeof(ret->un.sun_path)) {
			set_errmsg(reterr_msg,
				   "bad OVSDB target \"%s\": socket path empty or too long",
				   target);
			return -EINVAL;
		}
		*ret = (union ovsdb_sockaddr){ .un.sun_family = AF_UNIX };
		memcpy(ret->un.sun_path, p, n + 1);
		*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
		return 0;
	}
	if (strncmp(target, "tcp:", 4) == 0) {
		_cleanup_free_ char *host = NULL;
		const char *colon = strrchr(target + 4, ':');
		unsigned long port;
		char *end;

		if (!colon)
			goto bad;
		host = strndup(target + 4, (size_t)(colon - (target + 4)));
		if (!host)
			return -ENOMEM;
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (colon[1] < '0' || colon[1] > '9' || *end || errno || port == 0 || port > 65535)
			goto bad;
		*ret = (union ovsdb_sockaddr){ .in.sin_family = AF_INET,
					       .in.sin_port = htons((uint16_t)port) };
		if (inet_pton(AF_INET, host, &ret->in.sin_addr) != 1)
			goto bad;
		*ret_len = sizeof(ret->in);
		return 0;
	}
bad:
	set_errmsg(reterr_msg, "bad OVSDB target \"%s\": want unix:PATH or tcp:IPv4:PORT",
		   target ?: "(null)");
	return -EINVAL;
}

static void client_destroy(struct ovsdb_client *c)
{
	while (c->monitors) {
		struct ovsdb_monitor_reg *m = c->monitors;

		c->monitors = m->next;
		monitor_reg_free(m);
	}
	if (c->fd >= 0)
		close(c->fd);
	free(c->outq);
	free(c->lost_reason);
	free(c->target);
	pthread_cond_destroy(&c->idle);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->write_lock);
	pthread_mutex_destroy(&c->monitor_lock);
	free(c);
}

int ovsdb_target_check(const char *target, char **reterr_msg)
{
	union ovsdb_sockaddr addr;
	socklen_t addr_len;

	return parse_target(target, &addr, &addr_len, reterr_msg);
}

int ovsdb_client_connect(const char *target, struct ovsdb_client **ret, char **reterr_msg)
{
	union ovsdb_sockaddr addr;
	socklen_t addr_len;
	_cleanup_close_ int fd = -1;
	int r;

	if (!ret) {
		set_errmsg(reterr_msg, "connect: no place for the client");
		return -EINVAL;
	}
	r = parse_target(target, &addr, &addr_len, reterr_msg);
	if (r < 0)
		return r;

	fd = socket(addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		set_errmsg(reterr_msg, "socket for %s: %m", target);
		return r;
	}
	if (connect(fd, &addr.sa, addr_len) < 0) {
		r = -errno;
		set_errmsg(reterr_msg, "connect to %s: %m", target);
		return r;
	}
	if (addr.sa.sa_family == AF_INET) {
		int one = 1;

		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
			r = -errno;
			set_errmsg(reterr_msg, "TCP_NODELAY on %s: %m", target);
			return r;
		}
	}

	return ovsdb_client_adopt_fd(TAKE_FD(fd), target, ret, reterr_msg);
}

int ovsdb_client_adopt_fd(int fd, const char *target, struct ovsdb_client **ret, char **reterr_msg)
{
	struct ovsdb_client *c;
	sigset_t all, saved;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		set_errmsg(reterr_msg, "out of memory");
		return -ENOMEM;
	}
	c->fd = fd; /* client_destroy closes it from here on */
	pthread_mutex_init(&c->monitor_lock, NULL);
	pthread_mutex_init(&c->write_lock, NULL);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->idle, NULL);
	c->connected = true;
	c->next_id = 1;
	c->target = strdup(target);
	if (!c->target) {
		client_destroy(c);
		set_errmsg(reterr_msg, "out of memory");
		return -ENOMEM;
	}

	/* The reader must not take the process's signals. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	r = pthread_create(&c->reader, NULL, ovsdb_reader_main, c);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (r != 0) {
		client_destroy(c);
		errno = r;
		set_errmsg(reterr_msg, "starting OVSDB reader thread: %m");
		return -r;
	}
	c->reader_started = true;
	*ret = c;
	return 0;
}

void ovsdb_client_free(struct ovsdb_client *c)
{
	if (!c)
		return;
	ovsdb_client_break(c, "client closed the connection");
	/* ovsdb_client_break() only shuts down on the first break; make sure. */
	shutdown(c->fd, SHUT_RDWR);
	if (c->reader_started)
		pthread_join(c->reader, NULL);
	/* Waiters were failed by the reader; let them get out of the way. */
	pthread_mutex_lock(&c->lock);
	while (c->n_active > 0)
		pthread_cond_wait(&c->idle, &c->lock);
	pthread_mutex_unlock(&c->lock);
	client_destroy(c);
}

bool ovsdb_client_connected(struct ovsdb_client *c)
{
	bool r;

	if (!c)
		return false;
	pthread_mutex_lock(&c->lock);
	r = c->connected;
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* ---- helpers ---- */
