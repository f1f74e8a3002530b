/* SPDX-License-Identifier: Apache-2.0 */
/* The OVSDB client's reader thread: it owns the receive side of the
 * socket, frames the JSON stream, answers the server's "echo", hands
 * replies to their waiting callers and monitor updates to their callbacks.
 * It never blocks on the write side (see the lock notes in client.c). */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>

#include "client-private.h"
#include "macro.h"

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
			ovsdb_client_break_errno(c, "send", errno);
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
		ovsdb_client_break(c, "out of memory answering echo");
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
		ovsdb_client_break(c, "out of memory answering request");
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
	m = ovsdb_monitor_find(c, json_string_value(mon_id));
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

void *ovsdb_reader_main(void *userdata)
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
