/* SPDX-License-Identifier: Apache-2.0 */
/* A reconnecting OVSDB session, shared by the OVN backend (Northbound) and
 * the integration bridge (Open_vSwitch). Readers transact under a read
 * lock; whoever finds the connection dead (or, on a cluster, no longer
 * the leader's) takes the write lock, opens a new one and restarts the
 * session's monitors on it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "json-util.h"
#include "log.h"
#include "macro.h"
#include "ovsdb.h"

struct session_monitor {
	struct session_monitor *next;
	char *id;
	json_t *requests;
	ovsdb_update_cb cb;
	void *userdata;
	int timeout_ms;
};

#define MAX_REMOTES    8
#define LEADER_MONITOR "kuryr-leader"

struct ovsdb_session {
	char *target;
	char *db;
	char *remotes[MAX_REMOTES]; /* the target's servers */
	size_t n_remotes;
	size_t current;	       /* the remote connected last: the next try starts there */
	atomic_bool stale;     /* the server said it no longer leads */
	pthread_rwlock_t lock; /* guards client, current */
	struct ovsdb_client *client;
	pthread_mutex_t mlock; /* guards monitors */
	struct session_monitor *monitors;
};

/* _Server's Database rows (a monitor's updates, or a select's rows):
 * whether the one of our database says this server leads it, or that it
 * is not clustered. */
static bool rows_say_leader(const struct ovsdb_session *s, json_t *rows)
{
	const char *key;
	json_t *row, *r;

	json_object_foreach(rows, key, r) {
		row = json_object_get(r, "new") ?: r;
		if (!streq_ptr(json_object_get_str(row, "name"), s->db))
			continue;
		return !streq_ptr(json_object_get_str(row, "model"), "clustered") ||
		       json_is_true(json_object_get(row, "leader"));
	}
	return true; /* no row: a server without clustering */
}

/* On the reader thread: the server's account of its role changed. */
static void leader_update(void *userdata, const char *monitor_id, json_t *table_updates)
{
	struct ovsdb_session *s = userdata;

	if (!rows_say_leader(s, json_object_get(table_updates, "Database"))) {
		atomic_store(&s->stale, true);
		log_info("event=ovsdb-not-leader db=%s: looking for the leader", s->db);
	}
}

/* Whether the server @c is connected to leads our database; then keep
 * watching, so that the session knows when it no longer does. 0, -EAGAIN
 * (a follower), or -errno. */
static int leader_check(struct ovsdb_session *s, struct ovsdb_client *c, char **reterr_msg)
{
	_cleanup_json_ json_t *res = NULL;
	json_t *rows, *byid;
	size_t i;
	int r;

	r = ovsdb_transact(c, "_Server",
			   json_pack("[{s:s, s:s, s:[o], s:[s, s, s]}]", "op", "select", "table",
				     "Database", "where",
				     ovsdb_cond("name", "==", json_string(s->db)), "columns",
				     "name", "model", "leader"),
			   5000, &res, reterr_msg);
	if (r < 0)
		return r;
	rows = json_object_get(json_array_get(res, 0), "rows");
	byid = json_object();
	for (i = 0; i < json_array_size(rows); i++) {
		char k[24];

		snprintf(k, sizeof(k), "%zu", i);
		json_object_set(byid, k, json_array_get(rows, i));
	}
	r = rows_say_leader(s, byid) ? 0 : -EAGAIN;
	json_decref(byid);
	if (r < 0)
		return r;
	atomic_store(&s->stale, false);
	return ovsdb_monitor(
	    c, "_Server", LEADER_MONITOR,
	    json_pack("{s:{s:[s, s, s]}}", "Database", "columns", "name", "model", "leader"),
	    leader_update, s, 5000, reterr_msg);
}

/* A connection to the target's server, or with several to the first one
 * that leads, starting where the last connection was. Caller holds the
 * write lock (or owns @s alone). */
static int session_open(struct ovsdb_session *s, struct ovsdb_client **ret, char **reterr_msg)
{
	_cleanup_free_ char *why = NULL;
	int r = -ENOTCONN;

	for (size_t k = 0; k < s->n_remotes; k++) {
		size_t i = (s->current + k) % s->n_remotes;
		struct ovsdb_client *c = NULL;

		free(why);
		why = NULL;
		r = ovsdb_client_connect(s->remotes[i], &c, &why);
		if (r == 0 && s->n_remotes > 1) {
			r = leader_check(s, c, &why);
			if (r == -EAGAIN)
				set_errmsg(&why, "%s is not the leader of %s", s->remotes[i],
					   s->db);
		}
		if (r == 0) {
			s->current = i;
			*ret = c;
			return 0;
		}
		ovsdb_client_free(c);
	}
	if (s->n_remotes > 1)
		set_errmsg(reterr_msg, "no leader of %s among %s%s%s", s->db, s->target,
			   why ? ": " : "", why ? why : "");
	else if (reterr_msg)
		*reterr_msg = TAKE_PTR(why);
	return r == -EAGAIN ? -ENOTCONN : r;
}

/* A new connection with every monitor of @s started on it. */
static int session_connect(struct ovsdb_session *s, struct ovsdb_client **ret, char **reterr_msg)
{
	struct ovsdb_client *c = NULL;
	int r;

	r = session_open(s, &c, reterr_msg);
	if (r < 0)
		return r;
	pthread_mutex_lock(&s->mlock);
	for (struct session_monitor *m = s->monitors; m && r == 0; m = m->next)
		r = ovsdb_monitor(c, s->db, m->id, json_deep_copy(m->requests), m->cb, m->userdata,
				  m->timeout_ms, reterr_msg);
	pthread_mutex_unlock(&s->mlock);
	if (r < 0) {
		ovsdb_client_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* Connected, and (on a cluster) to the leader as far as we know. */
static bool session_usable(struct ovsdb_session *s)
{
	return s->client && ovsdb_client_connected(s->client) && !atomic_load(&s->stale);
}

/* Replace a dead connection; 0 if the session is connected afterwards. */
static int session_reconnect(struct ovsdb_session *s, char **reterr_msg)
{
	int r = 0;

	pthread_rwlock_wrlock(&s->lock);
	if (!session_usable(s)) {
		struct ovsdb_client *c = NULL;

		r = session_connect(s, &c, reterr_msg);
		if (r == 0) {
			ovsdb_client_free(s->client);
			s->client = c;
		}
	}
	pthread_rwlock_unlock(&s->lock);
	return r;
}

/* Each of @target's servers is one ovsdb_client_connect() takes. */
static int targets_check(const char *target, char **reterr_msg)
{
	_cleanup_free_ char *copy = strdup(target ? target : "");
	char *save = NULL;
	int n = 0, r;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save), n++) {
		r = ovsdb_target_check(t, reterr_msg);
		if (r < 0)
			return r;
	}
	if (n == 0 || n > MAX_REMOTES) {
		set_errmsg(reterr_msg, "bad OVSDB target \"%s\": 1-%d servers, comma-separated",
			   target ? target : "", MAX_REMOTES);
		return -EINVAL;
	}
	return 0;
}

static int session_alloc(const char *target, const char *db, struct ovsdb_session **ret,
			 char **reterr_msg)
{
	struct ovsdb_session *s;
	int r = targets_check(target, reterr_msg);

	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->mlock, NULL);
	s->target = strdup(target);
	s->db = strdup(db);
	if (!s->target || !s->db) {
		ovsdb_session_free(s);
		return -ENOMEM;
	}
	for (const char *p = target; *p; p += strspn(p, ",")) {
		size_t n = strcspn(p, ",");

		if (n == 0)
			continue;
		if (s->n_remotes == MAX_REMOTES || !(s->remotes[s->n_remotes] = strndup(p, n))) {
			ovsdb_session_free(s);
			return -ENOMEM;
		}
		s->n_remotes++;
		p += n;
	}
	*ret = s;
	return 0;
}

int ovsdb_session_new(const char *target, const char *db, struct ovsdb_session **ret,
		      char **reterr_msg)
{
	struct ovsdb_session *s;
	int r = session_alloc(target, db, &s, reterr_msg);

	if (r < 0)
		return r;
	r = session_open(s, &s->client, reterr_msg);
	if (r < 0) {
		ovsdb_session_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int ovsdb_session_new_lazy(const char *target, const char *db, struct ovsdb_session **ret,
			   char **reterr_msg)
{
	_cleanup_free_ char *err = NULL;
	struct ovsdb_session *s;
	int r = session_alloc(target, db, &s, reterr_msg);

	if (r < 0)
		return r;
	r = session_open(s, &s->client, &err);
	if (r == -EINVAL || r == -ENOMEM) {
		if (reterr_msg && err)
			*reterr_msg = TAKE_PTR(err);
		ovsdb_session_free(s);
		return r;
	}
	if (r < 0)
		log_warn("event=ovsdb-unreachable target=%s: %s (retried on first use)", target,
			 err ? err : strerror(-r));
	*ret = s;
	return 0;
}

void ovsdb_session_free(struct ovsdb_session *s)
{
	if (!s)
		return;
	/* Stops the reader thread, so no callback runs after this. */
	ovsdb_client_free(s->client);
	while (s->monitors) {
		struct session_monitor *m = s->monitors;

		s->monitors = m->next;
		json_decref(m->requests);
		free(m->id);
		free(m);
	}
	pthread_mutex_destroy(&s->mlock);
	pthread_rwlock_destroy(&s->lock);
	for (size_t i = 0; i < s->n_remotes; i++)
		free(s->remotes[i]);
	free(s->target);
	free(s->db);
	free(s);
}

const char *ovsdb_session_target(const struct ovsdb_session *s)
{
	return s->target;
}

int ovsdb_session_transact(struct ovsdb_session *s, json_t *ops, int timeout_ms,
			   json_t **ret_result, char **reterr_msg)
{
	int r;

	pthread_rwlock_rdlock(&s->lock);
	if (!session_usable(s)) {
		pthread_rwlock_unlock(&s->lock);
		r = session_reconnect(s, reterr_msg);
		if (r < 0) {
			json_decref(ops);
			return -ENOTCONN;
		}
		pthread_rwlock_rdlock(&s->lock);
	}
	r = ovsdb_transact(s->client, s->db, ops, timeout_ms, ret_result, reterr_msg);
	pthread_rwlock_unlock(&s->lock);
	return r;
}

bool ovsdb_session_connected(struct ovsdb_session *s)
{
	bool c;

	pthread_rwlock_rdlock(&s->lock);
	c = session_usable(s);
	pthread_rwlock_unlock(&s->lock);
	return c || session_reconnect(s, NULL) == 0;
}

int ovsdb_session_monitor(struct ovsdb_session *s, const char *monitor_id, json_t *requests,
			  ovsdb_update_cb cb, void *userdata, int timeout_ms, char **reterr_msg)
{
	struct session_monitor *m = calloc(1, sizeof(*m));
	int r;

	if (!m || !(m->id = strdup(monitor_id))) {
		free(m);
		json_decref(requests);
		return -ENOMEM;
	}
	m->requests = requests;
	m->cb = cb;
	m->userdata = userdata;
	m->timeout_ms = timeout_ms;
	/* Listed before the read lock goes, so no reconnect can miss it. */
	pthread_rwlock_rdlock(&s->lock);
	r = ovsdb_monitor(s->client, s->db, m->id, json_deep_copy(requests), cb, userdata,
			  timeout_ms, reterr_msg);
	if (r == 0) {
		pthread_mutex_lock(&s->mlock);
		m->next = s->monitors;
		s->monitors = TAKE_PTR(m);
		pthread_mutex_unlock(&s->mlock);
	}
	pthread_rwlock_unlock(&s->lock);
	if (m) {
		json_decref(m->requests);
		free(m->id);
		free(m);
	}
	return r;
}
