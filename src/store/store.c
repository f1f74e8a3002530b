/* SPDX-License-Identifier: Apache-2.0 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "fs-util.h"
#include "macro.h"
#include "store.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(sqlite3_stmt *, sqlite3_finalize);
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)

#define COLUMNS                                                                            \
	"container_id, ifname, netns, network, port, host_ifname, mac, address, gateway, " \
	"mtu, state, created, pooled, binding, binding_data, address6, gateway6"

/* The statements of the ADD/DEL path, prepared once (a prepare costs
 * about as much as the write itself). */
enum store_stmt {
	STMT_INSERT,
	STMT_UPDATE,
	STMT_GET,
	STMT_DELETE,
	STMT_N
};

static const char *const stmt_sql[STMT_N] = {
	[STMT_INSERT] = "INSERT INTO attachments (" COLUMNS ") VALUES "
			"(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[STMT_UPDATE] = "UPDATE attachments SET netns=?3, network=?4, port=?5, host_ifname=?6,"
			" mac=?7, address=?8, gateway=?9, mtu=?10, state=?11, created=?12,"
			" pooled=?13, binding=?14, binding_data=?15, address6=?16, gateway6=?17"
			" WHERE container_id=?1 AND ifname=?2",
	[STMT_GET] = "SELECT " COLUMNS " FROM attachments WHERE container_id=?1 AND ifname=?2",
	[STMT_DELETE] = "DELETE FROM attachments WHERE container_id=?1 AND ifname=?2",
};

struct store {
	sqlite3 *db;
	pthread_mutex_t lock; /* the connection and its statements */
	sqlite3_stmt *stmt[STMT_N];
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS attachments ("
    " container_id TEXT NOT NULL, ifname TEXT NOT NULL, netns TEXT NOT NULL,"
    " network TEXT NOT NULL, port TEXT NOT NULL, host_ifname TEXT NOT NULL,"
    " mac TEXT NOT NULL, address TEXT NOT NULL, gateway TEXT NOT NULL,"
    " mtu INTEGER NOT NULL, state INTEGER NOT NULL, created INTEGER NOT NULL,"
    " pooled INTEGER NOT NULL DEFAULT 0, binding TEXT NOT NULL DEFAULT '',"
    " binding_data TEXT NOT NULL DEFAULT '',"
    " address6 TEXT NOT NULL DEFAULT '', gateway6 TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (container_id, ifname));"
    "CREATE TABLE IF NOT EXISTS records ("
    " kind TEXT NOT NULL, id TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (kind, id));";

const char *attach_state_to_string(enum attach_state s)
{
	static const char *const names[] = { "intent", "port", "plugged", "done" };

	return (unsigned)s < ELEMENTSOF(names) ? names[s] : "unknown";
}

static int sqlite_to_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	default:
		return -EIO;
	}
}

static bool has_column(sqlite3 *db, const char *column)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('attachments')", -1, &st,
			       NULL) != SQLITE_OK)
		return false;
	while (!found && sqlite3_step(st) == SQLITE_ROW)
		found = streq((const char *)sqlite3_column_text(st, 0), column);
	return found;
}

/* Stores of earlier versions: before pools (no pooled, no stub), before
 * binding drivers (a pre-wired entry's stub in "stub", the driver implied
 * by "pooled"), and before IPv6 (no address6, gateway6: IPv4 only). */
static int upgrade(sqlite3 *db, char **err)
{
	int rc = SQLITE_OK;

	if (!has_column(db, "pooled"))
		rc = sqlite3_exec(db,
				  "ALTER TABLE attachments ADD COLUMN pooled INTEGER NOT NULL "
				  "DEFAULT 0",
				  NULL, NULL, err);
	if (rc == SQLITE_OK && !has_column(db, "binding"))
		rc = sqlite3_exec(
		    db,
		    "ALTER TABLE attachments ADD COLUMN binding TEXT NOT NULL DEFAULT '';"
		    "ALTER TABLE attachments ADD COLUMN binding_data TEXT NOT NULL DEFAULT '';",
		    NULL, NULL, err);
	if (rc == SQLITE_OK && !has_column(db, "address6"))
		rc = sqlite3_exec(
		    db,
		    "ALTER TABLE attachments ADD COLUMN address6 TEXT NOT NULL DEFAULT '';"
		    "ALTER TABLE attachments ADD COLUMN gateway6 TEXT NOT NULL DEFAULT '';",
		    NULL, NULL, err);
	if (rc == SQLITE_OK && has_column(db, "stub"))
		rc = sqlite3_exec(db,
				  "UPDATE attachments SET binding_data = stub WHERE pooled = 2;"
				  "ALTER TABLE attachments DROP COLUMN stub;",
				  NULL, NULL, err);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(
		    db,
		    "UPDATE attachments SET binding = CASE pooled WHEN 2 THEN "
		    "'prewire' ELSE 'ovs' END WHERE binding = '' AND host_ifname != ''",
		    NULL, NULL, err);
	return rc;
}

int store_open(const char *dir, struct store **ret, char **reterr_msg)
{
	_cleanup_free_ char *path = NULL;
	struct store *s;
	char *err = NULL;
	int rc;

	rc = mkdir_p(dir, 0700);
	if (rc < 0) {
		set_errmsg(reterr_msg, "cannot create %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (asprintf(&path, "%s/kuryr.db", dir) < 0)
		return -ENOMEM;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	rc = sqlite3_open_v2(
	    path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	/* Rows are a few hundred bytes: small pages make each commit append
	 * less to the WAL (half the time of an insert here). Only a new store
	 * takes it. */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(
		    s->db,
		    "PRAGMA page_size=1024; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		    "PRAGMA busy_timeout=5000;",
		    NULL, NULL, &err);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(s->db, schema, NULL, NULL, &err);
	if (rc == SQLITE_OK)
		rc = upgrade(s->db, &err);
	for (size_t i = 0; i < STMT_N && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&s->stmt[i], NULL);
	if (rc != SQLITE_OK) {
		set_errmsg(reterr_msg, "%s: %s", path, err ? err : sqlite3_errmsg(s->db));
		sqlite3_free(err);
		store_free(s);
		return sqlite_to_errno(rc);
	}
	*ret = s;
	return 0;
}

void store_free(struct store *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < STMT_N; i++)
		sqlite3_finalize(s->stmt[i]);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void bind_row(sqlite3_stmt *st, const struct attachment *a)
{
	sqlite3_bind_text(st, 1, a->container_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, a->ifname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, a->netns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->network, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->port, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, a->host_ifname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, a->mac, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, a->address, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, a->gateway, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, a->mtu);
	sqlite3_bind_int(st, 11, (int)a->state);
	sqlite3_bind_int64(st, 12, a->created);
	sqlite3_bind_int(st, 13, (int)a->pooled);
	sqlite3_bind_text(st, 14, a->binding, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, a->binding_data, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 16, a->address6, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 17, a->gateway6, -1, SQLITE_STATIC);
}

static void copy_col(char *dst, size_t size, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", t ? (const char *)t : "");
}

static void read_row(sqlite3_stmt *st, struct attachment *a)
{
	*a = (struct attachment){ 0 };
	copy_col(a->container_id, sizeof(a->container_id), st, 0);
	copy_col(a->ifname, sizeof(a->ifname), st, 1);
	copy_col(a->netns, sizeof(a->netns), st, 2);
	copy_col(a->network, sizeof(a->network), st, 3);
	copy_col(a->port, sizeof(a->port), st, 4);
	copy_col(a->host_ifname, sizeof(a->host_ifname), st, 5);
	copy_col(a->mac, sizeof(a->mac), st, 6);
	copy_col(a->address, sizeof(a->address), st, 7);
	copy_col(a->gateway, sizeof(a->gateway), st, 8);
	a->mtu = (uint32_t)sqlite3_column_int64(st, 9);
	a->state = (enum attach_state)sqlite3_column_int(st, 10);
	a->created = sqlite3_column_int64(st, 11);
	a->pooled = (enum attach_pool)sqlite3_column_int(st, 12);
	copy_col(a->binding, sizeof(a->binding), st, 13);
	copy_col(a->binding_data, sizeof(a->binding_data), st, 14);
	copy_col(a->address6, sizeof(a->address6), st, 15);
	copy_col(a->gateway6, sizeof(a->gateway6), st, 16);
}

/* With s->lock held: statement @which, reset and unbound for reuse. */
static sqlite3_stmt *stmt(struct store *s, enum store_stmt which)
{
	sqlite3_stmt *st = s->stmt[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int exec_row(struct store *s, enum store_stmt which, const struct attachment *a,
		    bool want_change)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, which);
	bind_row(st, a);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE && want_change && sqlite3_changes(s->db) == 0)
		rc = SQLITE_NOTFOUND;
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	if (rc == SQLITE_NOTFOUND)
		return -ENOENT;
	return sqlite_to_errno(rc);
}

int store_insert(struct store *s, const struct attachment *a)
{
	struct attachment row = *a;

	if (!row.created)
		row.created = time(NULL);
	return exec_row(s, STMT_INSERT, &row, false);
}

int store_update(struct store *s, const struct attachment *a)
{
	return exec_row(s, STMT_UPDATE, a, true);
}

/* With s->lock held: bind (container_id, ifname) to @st. */
static void bind_key(sqlite3_stmt *st, const char *container_id, const char *ifname)
{
	sqlite3_bind_text(st, 1, container_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ifname, -1, SQLITE_STATIC);
}

/* Statement @which on the row of (container_id, ifname): its result code,
 * with the row read into *ret for a SELECT that found one. */
static int step_key(struct store *s, enum store_stmt which, const char *container_id,
		    const char *ifname, struct attachment *ret)
{
	sqlite3_stmt *st;
	int rc;

	pthread_mutex_lock(&s->lock);
	st = stmt(s, which);
	bind_key(st, container_id, ifname);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && ret)
		read_row(st, ret);
	sqlite3_reset(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int store_get(struct store *s, const char *container_id, const char *ifname, struct attachment *ret)
{
	int rc = step_key(s, STMT_GET, container_id, ifname, ret);

	return rc == SQLITE_DONE ? -ENOENT : sqlite_to_errno(rc);
}

int store_delete(struct store *s, const char *container_id, const char *ifname)
{
	return sqlite_to_errno(step_key(s, STMT_DELETE, container_id, ifname, NULL));
}

int store_list(struct store *s, struct attachment **ret, size_t *ret_n)
{
	_cleanup_free_ struct attachment *rows = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(
	    s->db, "SELECT " COLUMNS " FROM attachments ORDER BY created, rowid", -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			struct attachment *nr;

			cap = cap ? cap * 2 : 16;
			nr = realloc(rows, cap * sizeof(*rows));
			if (!nr) {
				rc = SQLITE_NOMEM;
				break;
			}
			rows = nr;
		}
		read_row(st, &rows[n++]);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	if (rc != SQLITE_DONE)
		return sqlite_to_errno(rc) ?: -EIO;
	*ret = TAKE_PTR(rows);
	*ret_n = n;
	return 0;
}

int store_foreach(struct store *s, int (*cb)(const struct attachment *a, void *userdata),
		  void *userdata)
{
	_cleanup_free_ struct attachment *rows = NULL;
	size_t n = 0;
	int r;

	/* Copied out under the lock, called back without it: callbacks may
	 * call back into the store. */
	r = store_list(s, &rows, &n);
	for (size_t i = 0; i < n && r >= 0; i++)
		r = cb(&rows[i], userdata);
	return r < 0 ? r : 0;
}

int store_count(struct store *s)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc, n = 0;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db, "SELECT count(*) FROM attachments", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_ROW ? n : (sqlite_to_errno(rc) ?: -EIO);
}

/* Records: rare (a Docker call each), so prepared per call. */
static int record_exec(struct store *s, const char *sql, const char *kind, const char *id,
		       const char *value, char **ret_value)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		if (value)
			sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_ROW && ret_value) {
		const unsigned char *t = sqlite3_column_text(st, 0);

		*ret_value = strdup(t ? (const char *)t : "");
		if (!*ret_value)
			rc = SQLITE_NOMEM;
	}
	pthread_mutex_unlock(&s->lock);
	if (ret_value && rc == SQLITE_DONE)
		return -ENOENT;
	return sqlite_to_errno(rc);
}

int store_record_put(struct store *s, const char *kind, const char *id, const char *value)
{
	return record_exec(s, "INSERT OR REPLACE INTO records (kind, id, value) VALUES (?1,?2,?3)",
			   kind, id, value, NULL);
}

int store_record_get(struct store *s, const char *kind, const char *id, char **ret_value)
{
	return record_exec(s, "SELECT value FROM records WHERE kind=?1 AND id=?2", kind, id, NULL,
			   ret_value);
}

int store_record_delete(struct store *s, const char *kind, const char *id)
{
	return record_exec(s, "DELETE FROM records WHERE kind=?1 AND id=?2", kind, id, NULL, NULL);
}

void store_records_free(struct store_record *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].id);
		free(r[i].value);
	}
	free(r);
}

int store_record_list(struct store *s, const char *kind, struct store_record **ret, size_t *ret_n)
{
	struct store_record *rows = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rc;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db, "SELECT id, value FROM records WHERE kind=?1 ORDER BY rowid",
				-1, &st, NULL);
	if (rc == SQLITE_OK)
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			struct store_record *nr;

			cap = cap ? cap * 2 : 16;
			nr = realloc(rows, cap * sizeof(*rows));
			if (!nr) {
				rc = SQLITE_NOMEM;
				break;
			}
			rows = nr;
		}
		rows[n].id = strdup((const char *)sqlite3_column_text(st, 0));
		rows[n].value = strdup((const char *)sqlite3_column_text(st, 1));
		n++;
		if (!rows[n - 1].id || !rows[n - 1].value) {
			rc = SQLITE_NOMEM;
			break;
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	if (rc != SQLITE_DONE) {
		store_records_free(rows, n);
		return sqlite_to_errno(rc) ?: -EIO;
	}
	*ret = rows;
	*ret_n = n;
	return 0;
}
