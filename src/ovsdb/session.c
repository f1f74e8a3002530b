/* SPDX-License-Identifier: Apache-2.0 */
/* A reconnecting OVSDB session, shared by the OVN backend (Northbound) and
 * the integration bridge (Open_vSwitch). Readers transact under a read
 * lock; whoever finds the connection dead takes the write lock, opens a new
 * one and restarts the session's monitors on it. */
#include <pthread.h>
#include <stdio.h>

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

struct ovsdb_session {
	char *target;
	char *db;
	pthread_rwlock_t lock; /* guards client */
	struct ovsdb_client *client;
	pthread_mutex_t mlock; /* guards monitors */
	struct session_monitor *monitors;
};

/* A new connection with every monitor of @s started on it. */
static int session_connect(struct ovsdb_session *s, struct ovsdb_client **ret, char **reterr_msg)
{
	struct ovsdb_client *c = NULL;
	int r;

	r = ovsdb_client_connect(s->target, &c, reterr_msg);
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

/* Replace a dead connection; 0 if the session is connected afterwards. */
static int session_reconnect(struct ovsdb_session *s, char **reterr_msg)
{
	int r = 0;

	pthread_rwlock_wrlock(&s->lock);
	if (!s->client || !ovsdb_client_connected(s->client)) {
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

static int session_alloc(const char *target, const char *db, struct ovsdb_session **ret)
{
	struct ovsdb_session *s = calloc(1, sizeof(*s));

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
	*ret = s;
	return 0;
}

int ovsdb_session_new(const char *target, const char *db, struct ovsdb_session **ret,
		      char **reterr_msg)
{
	struct ovsdb_session *s;
	int r = session_alloc(target, db, &s);

	if (r < 0)
		return r;
	r = ovsdb_client_connect(s->target, &s->client, reterr_msg);
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
	int r = session_alloc(target, db, &s);

	if (r < 0)
		return r;
	r = ovsdb_client_connect(s->target, &s->client, &err);
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
	if (!s->client || !ovsdb_client_connected(s->client)) {
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
	c = s->client && ovsdb_client_connected(s->client);
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
