/* SPDX-License-Identifier: Apache-2.0 */
/* OVSDB JSON-RPC client (RFC 7047): connection setup, the reader thread,
 * request/reply matching for transact and monitor, and the datum helpers.
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
#include "ovsdb.h"
#include "time-util.h"

/* Upper bound for one message from the server; a larger one is treated as a
 * protocol error rather than growing the buffer without limit. */
#define OVSDB_MAX_MESSAGE (256u * 1024u * 1024u)
#define OVSDB_READ_CHUNK  65536u

struct ovsdb_monitor_reg {
	struct ovsdb_monitor_reg *next;
	char *id;
	ovsdb_update_cb cb;
	void *userdata;
	/* Set once the initial contents were delivered; updates before that
	 * (which RFC 7047 servers do not send) are dropped, never reordered. */
	bool active;
};

/* One outstanding request; lives on the caller's stack. */
struct ovsdb_call {
	struct ovsdb_call *next;
	json_int_t id;
	pthread_cond_t cond;
	/* Reader took it off the list and will finish it: the caller must
	 * keep waiting even past its deadline. */
	bool claimed;
	bool done;
	int error;			   /* with done: 0 or -ECONNRESET */
	json_t *reply;			   /* with done and !error: the whole reply object */
	struct ovsdb_monitor_reg *monitor; /* deliver the result here first */
};

struct ovsdb_client {
	int fd;
	char *target;
	pthread_t reader;
	bool reader_started;

	pthread_mutex_t monitor_lock;
	struct ovsdb_monitor_reg *monitors;

	pthread_mutex_t write_lock;

	pthread_mutex_t lock;
	bool connected;
	char *lost_reason; /* why the connection went away */
	json_int_t next_id;
	struct ovsdb_call *calls;
	unsigned n_active; /* threads inside public calls; free waits them out */
	pthread_cond_t idle;
	char *outq; /* echo replies not yet sent */
	size_t outq_len;
};

/* Record why the connection is unusable (first reason wins) and make the
 * reader see EOF, which fails every waiter. Call without c->lock. */
static void client_break(struct ovsdb_client *c, const char *reason)
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

static void client_break_errno(struct ovsdb_client *c, const char *what, int err)
{
	_cleanup_free_ char *m = NULL;

	errno = err;
	m = strdup_printf("%s: %m", what);
	client_break(c, m ?: what);
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
			client_break_errno(c, "send", -r);
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

/* Reader side: send the echo queue without blocking if nobody else holds
 * write_lock. Returns true when bytes are left that the reader itself must
 * retry on POLLOUT. The reader is the only one that appends to the queue, so
 * putting an unsent tail back cannot reorder anything. */
static bool outq_flush_nonblocking(struct ovsdb_client *c)
{
	_cleanup_free_ char *q = NULL;
	size_t len, off = 0;
	bool again = false;

	if (pthread_mutex_trylock(&c->write_lock) != 0)
		return false; /* the holder drains the queue in write_unlock() */

	pthread_mutex_lock(&c->lock);
	q = TAKE_PTR(c->outq);
	len = c->outq_len;
	c->outq_len = 0;
	pthread_mutex_unlock(&c->lock);

	while (off < len) {
		ssize_t n = send(c->fd, q + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				again = true;
				break;
			}
			pthread_mutex_unlock(&c->write_lock);
			client_break_errno(c, "send", errno);
			return false;
		}
		off += (size_t)n;
	}
	if (again) {
		/* Nothing can have been queued meanwhile: only we queue. */
		memmove(q, q + off, len - off);
		pthread_mutex_lock(&c->lock);
		c->outq = TAKE_PTR(q);
		c->outq_len = len - off;
		pthread_mutex_unlock(&c->lock);
	}
	pthread_mutex_unlock(&c->write_lock);
	return again;
}

/* Reader side: queue one serialized message. */
static int outq_append(struct ovsdb_client *c, const char *s)
{
	size_t n = strlen(s);
	char *p;

	pthread_mutex_lock(&c->lock);
	p = realloc(c->outq, c->outq_len + n);
	if (!p) {
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	memcpy(p + c->outq_len, s, n);
	c->outq = p;
	c->outq_len += n;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static struct ovsdb_monitor_reg *monitor_find(struct ovsdb_client *c, const char *id)
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

/* ---- reader thread ---- */

struct ovsdb_rbuf {
	char *data;
	size_t len, cap;
	size_t start; /* first byte not yet consumed */
	size_t scan;  /* first byte the framer has not looked at */
	size_t depth;
	bool in_string, escape;
};

static void reader_echo(struct ovsdb_client *c, json_t *msg, bool *want_out)
{
	json_t *id = json_object_get(msg, "id");
	json_t *params = json_object_get(msg, "params");
	json_auto_t *reply = NULL;
	_cleanup_free_ char *s = NULL;

	if (!id || json_is_null(id))
		return; /* a notification; nothing to answer */
	reply = json_pack("{s:O,s:O,s:n}", "id", id, "result", params ?: json_null(), "error");
	s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	if (!s || outq_append(c, s) < 0) {
		client_break(c, "out of memory answering echo");
		return;
	}
	*want_out = outq_flush_nonblocking(c);
}

static void reader_refuse(struct ovsdb_client *c, json_t *msg, const char *method, bool *want_out)
{
	json_t *id = json_object_get(msg, "id");
	json_auto_t *reply = NULL;
	_cleanup_free_ char *s = NULL;

	if (!id || json_is_null(id))
		return; /* "locked", "stolen" and other notifications we do not use */
	reply = json_pack("{s:O,s:n,s:{s:s,s:s}}", "id", id, "result", "error", "error",
			  "unknown method", "details", method);
	s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
	if (!s || outq_append(c, s) < 0) {
		client_break(c, "out of memory answering request");
		return;
	}
	*want_out = outq_flush_nonblocking(c);
}

static void reader_update(struct ovsdb_client *c, json_t *mon_id, json_t *updates)
{
	struct ovsdb_monitor_reg *m;

	if (!json_is_string(mon_id) || !json_is_object(updates))
		return;
	pthread_mutex_lock(&c->monitor_lock);
	m = monitor_find(c, json_string_value(mon_id));
	if (m && m->active)
		m->cb(m->userdata, m->id, updates);
	pthread_mutex_unlock(&c->monitor_lock);
}

/* Takes @msg. A reply changes hands whole, never shared: jansson's refcount
 * is not a safe way to pass a value between threads (its decrement is only
 * release-ordered and its read of the count is plain). */
static void reader_reply(struct ovsdb_client *c, json_t *msg)
{
	json_t *id = json_object_get(msg, "id");
	struct ovsdb_call *call = NULL;
	json_t *err, *result;

	if (!json_is_integer(id)) {
		json_decref(msg);
		return;
	}
	pthread_mutex_lock(&c->lock);
	for (struct ovsdb_call **p = &c->calls; *p; p = &(*p)->next)
		if ((*p)->id == json_integer_value(id)) {
			call = *p;
			*p = call->next;
			call->claimed = true;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	if (!call) {
		json_decref(msg); /* its caller gave up (local timeout) */
		return;
	}

	/* The initial monitor contents go out from here, before this thread
	 * reads the next message, so no later update can overtake them. */
	err = json_object_get(msg, "error");
	result = json_object_get(msg, "result");
	if (call->monitor && (!err || json_is_null(err)) && json_is_object(result)) {
		struct ovsdb_monitor_reg *m = call->monitor;

		pthread_mutex_lock(&c->monitor_lock);
		m->active = true;
		m->cb(m->userdata, m->id, result);
		pthread_mutex_unlock(&c->monitor_lock);
	}

	pthread_mutex_lock(&c->lock);
	call->reply = msg;
	call->error = 0;
	call->done = true;
	pthread_cond_signal(&call->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Takes @msg. */
static void reader_dispatch(struct ovsdb_client *c, json_t *msg, bool *want_out)
{
	json_t *method = json_object_get(msg, "method");
	json_t *params = json_object_get(msg, "params");

	if (json_is_string(method)) {
		const char *m = json_string_value(method);

		if (streq(m, "echo"))
			reader_echo(c, msg, want_out);
		else if (streq(m, "update") || streq(m, "update2"))
			reader_update(c, json_array_get(params, 0), json_array_get(params, 1));
		else if (streq(m, "update3")) /* [id, last-txn-id, updates] */
			reader_update(c, json_array_get(params, 0), json_array_get(params, 2));
		else
			reader_refuse(c, msg, m, want_out);
		json_decref(msg);
		return;
	}
	if (json_object_get(msg, "result") || json_object_get(msg, "error"))
		reader_reply(c, msg);
	else
		json_decref(msg);
}

/* Split the receive buffer into complete top-level JSON texts and dispatch
 * each. A small framer tracks nesting and strings so that a partial object
 * costs nothing to re-examine after the next read; jansson then parses the
 * exact frame. Returns -EBADMSG with *ret_why on garbage from the server. */
static int reader_consume(struct ovsdb_client *c, struct ovsdb_rbuf *b, bool *want_out,
			  char **ret_why)
{
	while (b->scan < b->len) {
		char ch = b->data[b->scan++];

		if (b->depth == 0) {
			if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r') {
				b->start = b->scan;
				continue;
			}
			if (ch != '{' && ch != '[') {
				*ret_why = strdup_printf("unexpected byte 0x%02x between messages",
							 (unsigned char)ch);
				return -EBADMSG;
			}
			b->depth = 1;
			continue;
		}
		if (b->in_string) {
			if (b->escape)
				b->escape = false;
			else if (ch == '\\')
				b->escape = true;
			else if (ch == '"')
				b->in_string = false;
			continue;
		}
		switch (ch) {
		case '"':
			b->in_string = true;
			break;
		case '{':
		case '[':
			b->depth++;
			break;
		case '}':
		case ']':
			if (--b->depth == 0) {
				size_t n = b->scan - b->start;
				json_error_t jerr;
				json_t *msg;

				msg = json_loadb(b->data + b->start, n, JSON_DISABLE_EOF_CHECK,
						 &jerr);
				if (!msg || (size_t)jerr.position != n) {
					json_decref(msg);
					*ret_why = strdup_printf("invalid JSON from server: %s",
								 msg ? "trailing data" : jerr.text);
					return -EBADMSG;
				}
				if (json_is_object(msg))
					reader_dispatch(c, msg, want_out);
				else
					json_decref(msg);
				b->start = b->scan;
			}
			break;
		default:
			break;
		}
	}

	if (b->start > 0) {
		memmove(b->data, b->data + b->start, b->len - b->start);
		b->len -= b->start;
		b->scan -= b->start;
		b->start = 0;
	}
	return 0;
}

static void reader_fail_all(struct ovsdb_client *c, const char *why)
{
	pthread_mutex_lock(&c->lock);
	c->connected = false;
	if (!c->lost_reason)
		c->lost_reason = strdup(why);
	while (c->calls) {
		struct ovsdb_call *call = c->calls;

		c->calls = call->next;
		call->error = -ECONNRESET;
		call->done = true;
		pthread_cond_signal(&call->cond);
	}
	pthread_mutex_unlock(&c->lock);
}

static void *reader_main(void *userdata)
{
	struct ovsdb_client *c = userdata;
	struct ovsdb_rbuf b = {};
	_cleanup_free_ char *why = NULL;
	bool want_out = false;

	for (;;) {
		struct pollfd pfd = {
			.fd = c->fd,
			.events = POLLIN | (want_out ? POLLOUT : 0),
		};
		ssize_t n;

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			why = strdup_printf("poll: %m");
			break;
		}
		if (pfd.revents & POLLOUT)
			want_out = outq_flush_nonblocking(c);
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)))
			continue;

		if (b.cap - b.len < OVSDB_READ_CHUNK) {
			size_t ncap = b.cap ? b.cap * 2 : 2 * OVSDB_READ_CHUNK;
			char *p;

			if (ncap > OVSDB_MAX_MESSAGE + OVSDB_READ_CHUNK) {
				why = strdup_printf("message from server larger than %u bytes",
						    OVSDB_MAX_MESSAGE);
				break;
			}
			p = realloc(b.data, ncap);
			if (!p) {
				why = strdup_printf("out of memory reading from server");
				break;
			}
			b.data = p;
			b.cap = ncap;
		}
		n = recv(c->fd, b.data + b.len, b.cap - b.len, MSG_DONTWAIT);
		if (n == 0) {
			why = strdup_printf("server closed the connection");
			break;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			why = strdup_printf("recv: %m");
			break;
		}
		b.len += (size_t)n;
		if (reader_consume(c, &b, &want_out, &why) < 0)
			break;
	}

	reader_fail_all(c, why ?: "connection lost");
	/* Nobody reads any more: make writers fail instead of filling the
	 * socket buffer and blocking. */
	shutdown(c->fd, SHUT_RDWR);
	free(b.data);
	return NULL;
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
		client_break_errno(c, "send", -r);
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
	if (monitor_find(c, monitor_id)) {
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
	m = monitor_find(c, monitor_id);
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
	r = pthread_create(&c->reader, NULL, reader_main, c);
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
	client_break(c, "client closed the connection");
	/* client_break() only shuts down on the first break; make sure. */
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

static json_t *tagged_string(const char *tag, const char *s)
{
	json_t *a;

	if (!s)
		return NULL;
	a = json_array();
	if (!a || json_array_append_new(a, json_string(tag)) < 0 ||
	    json_array_append_new(a, json_string(s)) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *ovsdb_named_uuid(const char *name)
{
	return tagged_string("named-uuid", name);
}

json_t *ovsdb_uuid(const char *uuid)
{
	return tagged_string("uuid", uuid);
}

/* [tag, @inner] with @inner stolen. */
static json_t *tagged(const char *tag, json_t *inner)
{
	json_t *a;

	if (!inner)
		return NULL;
	a = json_array();
	if (!a || json_array_append_new(a, json_string(tag)) < 0 ||
	    json_array_append_new(a, inner) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *ovsdb_string_set(const char *const *strings)
{
	json_auto_t *elems = json_array();

	if (!elems)
		return NULL;
	for (size_t i = 0; strings && strings[i]; i++)
		if (json_array_append_new(elems, json_string(strings[i])) < 0)
			return NULL;
	return tagged("set", TAKE_PTR(elems));
}

json_t *ovsdb_string_map(const char *const *kv)
{
	json_auto_t *pairs = json_array();

	if (!pairs)
		return NULL;
	for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
		json_t *pair = json_array();

		if (!pair || json_array_append_new(pair, json_string(kv[i])) < 0 ||
		    json_array_append_new(pair, json_string(kv[i + 1])) < 0 ||
		    json_array_size(pair) != 2) {
			json_decref(pair);
			return NULL;
		}
		if (json_array_append_new(pairs, pair) < 0)
			return NULL;
	}
	return tagged("map", TAKE_PTR(pairs));
}

json_t *ovsdb_cond(const char *column, const char *function, json_t *value)
{
	json_t *a;

	if (!column || !function || !value) {
		json_decref(value);
		return NULL;
	}
	a = json_array();
	if (!a || json_array_append_new(a, json_string(column)) < 0 ||
	    json_array_append_new(a, json_string(function)) < 0) {
		json_decref(a);
		json_decref(value);
		return NULL;
	}
	if (json_array_append_new(a, value) < 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* The payload of [tag, payload], or NULL if @datum is not that. */
static json_t *datum_tagged(json_t *datum, const char *tag)
{
	json_t *t = json_array_get(datum, 0);

	if (json_array_size(datum) != 2 || !json_is_string(t) || !streq(json_string_value(t), tag))
		return NULL;
	return json_array_get(datum, 1);
}

size_t ovsdb_datum_strings(json_t *datum, const char **out, size_t max)
{
	json_t *elems, *e;
	size_t i, n = 0;

	if (json_is_string(datum)) {
		if (out && max > 0)
			out[0] = json_string_value(datum);
		return 1;
	}
	elems = datum_tagged(datum, "set");
	if (!json_is_array(elems))
		return 0;
	json_array_foreach(elems, i, e) {
		if (!json_is_string(e))
			continue;
		if (out && n < max)
			out[n] = json_string_value(e);
		n++;
	}
	return n;
}

const char *ovsdb_map_get(json_t *datum, const char *key)
{
	json_t *pairs = datum_tagged(datum, "map"), *pair;
	size_t i;

	if (!key || !json_is_array(pairs))
		return NULL;
	json_array_foreach(pairs, i, pair) {
		json_t *k = json_array_get(pair, 0), *v = json_array_get(pair, 1);

		if (json_is_string(k) && json_is_string(v) && streq(json_string_value(k), key))
			return json_string_value(v);
	}
	return NULL;
}

const char *ovsdb_datum_uuid(json_t *datum)
{
	json_t *u = datum_tagged(datum, "uuid");

	return json_is_string(u) ? json_string_value(u) : NULL;
}
