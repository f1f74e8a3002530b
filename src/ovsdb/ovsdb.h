/* SPDX-License-Identifier: Apache-2.0 */
/* OVSDB JSON-RPC client (RFC 7047), schema-agnostic.
 *
 * One connection to one ovsdb-server ("unix:PATH" or "tcp:IP:PORT"). A reader
 * thread owns the socket's receive side: it answers the server's "echo",
 * matches replies to waiting callers by id, and hands monitor "update"
 * notifications to the registered callback. Any number of threads may call
 * ovsdb_transact() at once; each blocks only for its own reply.
 *
 * JSON values are jansson's json_t. Functions that take a json_t* argument
 * marked "stolen" take ownership of it whatever they return. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct ovsdb_client;

/* Called on the reader thread for every "update" (or "update2") notification
 * of monitor @monitor_id. @table_updates is borrowed and valid only during the
 * call; to keep it, json_deep_copy() it (jansson's refcount does not make a
 * json_incref()ed value safe to hand to another thread). Must not call
 * ovsdb_transact() on the same client (it would deadlock the reader): hand
 * work to another thread instead. */
typedef void (*ovsdb_update_cb)(void *userdata, const char *monitor_id, json_t *table_updates);

/* Connect to @target ("unix:PATH" or "tcp:IPv4:PORT"). Returns 0 and a new
 * client in *ret, or -errno (-EINVAL bad target, connect errors as is) with a
 * message in *reterr_msg when non-NULL. */
int ovsdb_client_connect(const char *target, struct ovsdb_client **ret, char **reterr_msg);

/* 0 if @target is one ovsdb_client_connect() takes, else -EINVAL with a
 * message. */
int ovsdb_target_check(const char *target, char **reterr_msg);

/* Run the client over @fd, an already connected stream socket (owned from
 * now on, closed on failure too); @target only names it in messages. */
int ovsdb_client_adopt_fd(int fd, const char *target, struct ovsdb_client **ret, char **reterr_msg);

/* Close the connection, stop the reader thread, fail all pending calls with
 * -ECONNRESET, free. Accepts NULL. */
void ovsdb_client_free(struct ovsdb_client *c);

/* false once the server closed the connection or a read/write failed. */
bool ovsdb_client_connected(struct ovsdb_client *c);

/* Run one "transact" on database @db with the operations array @ops (stolen).
 * Waits at most @timeout_ms (<= 0: wait forever).
 * Returns 0 and the result array in *ret_result (owned by the caller; may be
 * NULL to discard) when every operation succeeded. When an operation fails or
 * the server reports an error, returns -EPROTO (or -ETIMEDOUT for a failed
 * "wait" operation whose error is "timed out", -EEXIST for a
 * "constraint violation") and puts "error: details" of the first failing
 * operation into *reterr_msg. Connection loss: -ECONNRESET. Local timeout:
 * -ETIMEDOUT. */
int ovsdb_transact(struct ovsdb_client *c, const char *db, json_t *ops, int timeout_ms,
		   json_t **ret_result, char **reterr_msg);

/* Start monitor @monitor_id on @db with @requests (stolen; the RFC 7047
 * "monitor-requests" object, table name -> request). The initial contents
 * are delivered through @cb (before this returns) exactly like later updates,
 * on the reader thread and before any later update. Returns 0 or -errno as
 * ovsdb_transact(); -EEXIST if @monitor_id is already in use on @c. */
int ovsdb_monitor(struct ovsdb_client *c, const char *db, const char *monitor_id, json_t *requests,
		  ovsdb_update_cb cb, void *userdata, int timeout_ms, char **reterr_msg);

/* Stop monitor @monitor_id ("monitor_cancel"). Once this returns, @cb of that
 * monitor is not called again, whatever the result, so its userdata may be
 * freed. Returns 0, -ENOENT if no such monitor was started on @c, or -errno
 * as ovsdb_transact(). Must not be called from a monitor callback. */
int ovsdb_monitor_cancel(struct ovsdb_client *c, const char *monitor_id, int timeout_ms,
			 char **reterr_msg);

/* Helpers for building operations. All return new references. */

/* ["named-uuid", name] / ["uuid", uuid] */
json_t *ovsdb_named_uuid(const char *name);
json_t *ovsdb_uuid(const char *uuid);
/* ["set", [...]] from a NULL-terminated list of strings */
json_t *ovsdb_string_set(const char *const *strings);
/* ["map", [[k, v], ...]] from a NULL-terminated key, value, key, value list */
json_t *ovsdb_string_map(const char *const *kv);
/* [column, function, value] with @value stolen */
json_t *ovsdb_cond(const char *column, const char *function, json_t *value);

/* Reading rows. */

/* The string set in an OVSDB datum: a bare string or ["set", [...]]. Returns
 * the number of strings and fills up to @max of them (borrowed) into @out. */
size_t ovsdb_datum_strings(json_t *datum, const char **out, size_t max);
/* Look up @key in an OVSDB map datum ["map", [[k, v], ...]]; borrowed string
 * or NULL. */
const char *ovsdb_map_get(json_t *datum, const char *key);
/* The uuid string of ["uuid", "..."], or NULL. */
const char *ovsdb_datum_uuid(json_t *datum);

/* A reconnecting session: one client to one server at a time, re-opened
 * when found dead. The monitors kept on a session are started again on
 * every new connection (their callbacks see the initial contents again, as
 * the request asks). Thread-safe.
 *
 * A target may name several servers, comma-separated ("tcp:A:6641,
 * tcp:B:6641,tcp:C:6641": the members of a clustered database, as OVSDB's
 * own tools take them). Then the session talks to the cluster's leader
 * only, as ovn-nbctl --leader-only does: a member is taken once its
 * _Server.Database row for the database says it leads (or that the
 * database is not clustered), and left as soon as that row says it no
 * longer does; a lost connection or a lost leadership is followed by the
 * next member in turn, so writes always go where RAFT commits them. */
struct ovsdb_session;

/* Connect to @target now and bind the session to database @db. 0 or
 * -errno as ovsdb_client_connect(). */
int ovsdb_session_new(const char *target, const char *db, struct ovsdb_session **ret,
		      char **reterr_msg);
/* The same, but a server that does not answer yet is no error: the first
 * transaction connects (-ENOTCONN until it can). A malformed @target is
 * still refused (-EINVAL). */
int ovsdb_session_new_lazy(const char *target, const char *db, struct ovsdb_session **ret,
			   char **reterr_msg);
/* Accepts NULL. */
void ovsdb_session_free(struct ovsdb_session *s);
const char *ovsdb_session_target(const struct ovsdb_session *s);

/* ovsdb_transact() on the session's database. A connection found dead
 * before sending is re-opened first (-ENOTCONN if that fails); a
 * transaction that was sent is never replayed. */
int ovsdb_session_transact(struct ovsdb_session *s, json_t *ops, int timeout_ms,
			   json_t **ret_result, char **reterr_msg);

/* true while the connection is up, or if a reconnect now succeeds. */
bool ovsdb_session_connected(struct ovsdb_session *s);

/* Keep monitor @monitor_id (@requests stolen; see ovsdb_monitor()) on this
 * and every later connection of @s. Started now: 0 or -errno. */
int ovsdb_session_monitor(struct ovsdb_session *s, const char *monitor_id, json_t *requests,
			  ovsdb_update_cb cb, void *userdata, int timeout_ms, char **reterr_msg);
