/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the attachment store: every column round-trips, the error codes
 * of the API, iteration order, durability across close and across a process
 * that dies without closing, WAL mode on disk, and concurrent writers. Each
 * test gets its own /tmp/kuryr-test-store-XXXXXX, removed in teardown. */
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "macro.h"
#include "store/store.h"

#define N_THREADS    8
#define N_PER_THREAD 50

struct fixture {
	char dir[64];
	struct store *s;
};

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 ? -errno : 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	_cleanup_free_ char *msg = NULL;
	int r;

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/kuryr-test-store-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	r = store_open(f->dir, &f->s, &msg);
	if (r < 0) {
		print_error("store_open(%s): %s\n", f->dir, msg ? msg : strerror(-r));
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int r;

	store_free(f->s);
	r = nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r == 0 ? 0 : -1;
}

static void fill(struct attachment *a, const char *cid, const char *ifname, int64_t created)
{
	*a = (struct attachment){
		.mtu = 1442,
		.state = ATTACH_PLUGGED,
		.created = created,
	};
	snprintf(a->container_id, sizeof(a->container_id), "%s", cid);
	snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
	snprintf(a->netns, sizeof(a->netns), "/var/run/netns/%s", cid);
	snprintf(a->network, sizeof(a->network), "net-%s", cid);
	snprintf(a->port, sizeof(a->port), "port-%s-%s", cid, ifname);
	snprintf(a->host_ifname, sizeof(a->host_ifname), "tap%.11s", cid);
	strcpy(a->mac, "02:00:00:00:00:02");
	strcpy(a->address, "10.0.0.5/24");
	strcpy(a->gateway, "10.0.0.1");
}

static void assert_attachment_equal(const struct attachment *got, const struct attachment *want)
{
	assert_string_equal(got->container_id, want->container_id);
	assert_string_equal(got->ifname, want->ifname);
	assert_string_equal(got->netns, want->netns);
	assert_string_equal(got->network, want->network);
	assert_string_equal(got->port, want->port);
	assert_string_equal(got->host_ifname, want->host_ifname);
	assert_string_equal(got->mac, want->mac);
	assert_string_equal(got->address, want->address);
	assert_string_equal(got->gateway, want->gateway);
	assert_string_equal(got->address6, want->address6);
	assert_string_equal(got->gateway6, want->gateway6);
	assert_int_equal(got->mtu, want->mtu);
	assert_int_equal(got->state, want->state);
	assert_int_equal(got->created, want->created);
}

static void fill_str(char *dst, size_t size, char c)
{
	memset(dst, c, size - 1);
	dst[size - 1] = '\0';
}

/* ---- tests ---- */

static void test_state_names(void **state)
{
	assert_string_equal(attach_state_to_string(ATTACH_INTENT), "intent");
	assert_string_equal(attach_state_to_string(ATTACH_PORT), "port");
	assert_string_equal(attach_state_to_string(ATTACH_PLUGGED), "plugged");
	assert_string_equal(attach_state_to_string(ATTACH_DONE), "done");
	assert_string_equal(attach_state_to_string((enum attach_state)4), "unknown");
	assert_string_equal(attach_state_to_string((enum attach_state) - 1), "unknown");
}

static void test_open_creates_dir(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *sub = NULL, *db = NULL;
	struct store *s2 = NULL;
	struct stat st;

	/* Parents too, as mkdir -p: a state_dir of /run/kuryr/state. */
	assert_true(asprintf(&sub, "%s/run/kuryr/state", f->dir) > 0);
	assert_true(asprintf(&db, "%s/kuryr.db", sub) > 0);
	assert_int_equal(store_open(sub, &s2, NULL), 0);
	assert_non_null(s2);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	/* State holds netns paths and addresses: not world readable. */
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(db, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(store_count(s2), 0);
	store_free(s2);
}

static void test_open_fails(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *file = NULL, *bad = NULL, *msg = NULL;
	struct store *sentinel = (struct store *)0x1, *s2 = sentinel;
	FILE *fp;

	/* A directory below a regular file cannot be created. */
	assert_true(asprintf(&file, "%s/plain", f->dir) > 0);
	assert_true(asprintf(&bad, "%s/sub", file) > 0);
	fp = fopen(file, "we");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(store_open(bad, &s2, &msg), -ENOTDIR);
	assert_ptr_equal(s2, sentinel);
	assert_non_null(msg);
	if (!strstr(msg, bad))
		fail_msg("message \"%s\" does not name %s", msg, bad);

	store_free(NULL);
}

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct attachment a = { 0 }, got;

	/* Every field at its longest, odd values in the numeric ones. */
	fill_str(a.container_id, sizeof(a.container_id), 'c');
	fill_str(a.ifname, sizeof(a.ifname), 'i');
	fill_str(a.netns, sizeof(a.netns), 'n');
	fill_str(a.network, sizeof(a.network), 'w');
	fill_str(a.port, sizeof(a.port), 'p');
	fill_str(a.host_ifname, sizeof(a.host_ifname), 'h');
	strcpy(a.mac, "02:ab:cd:ef:01:23");
	strcpy(a.address, "fd00:1234:5678:9abc:def0:1234:5678:9abc/128");
	strcpy(a.gateway, "fd00:1234:5678:9abc:def0:1234:5678:1");
	fill_str(a.address6, sizeof(a.address6), '6');
	fill_str(a.gateway6, sizeof(a.gateway6), 'g');
	a.mtu = UINT32_MAX;
	a.state = ATTACH_DONE;
	a.created = INT64_C(1700000000123);

	assert_int_equal(store_insert(f->s, &a), 0);
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(store_get(f->s, a.container_id, a.ifname, &got), 0);
	assert_attachment_equal(&got, &a);

	/* Quotes and non-ASCII are data, not SQL. */
	fill(&a, "x'); DROP TABLE attachments; --", "eth0", 42);
	strcpy(a.network, "réseau \"bleu\" 'vert'");
	a.state = ATTACH_INTENT;
	a.mtu = 0;
	a.gateway[0] = '\0';
	assert_int_equal(store_insert(f->s, &a), 0);
	assert_int_equal(store_get(f->s, a.container_id, "eth0", &got), 0);
	assert_attachment_equal(&got, &a);
	assert_int_equal(store_count(f->s), 2);
}

static void test_created_defaults_to_now(void **state)
{
	struct fixture *f = *state;
	struct attachment a, got;
	time_t before, after;

	fill(&a, "c1", "eth0", 0);
	before = time(NULL);
	assert_int_equal(store_insert(f->s, &a), 0);
	after = time(NULL);
	assert_int_equal(store_get(f->s, "c1", "eth0", &got), 0);
	assert_in_range(got.created, before, after);
}

static void test_insert_duplicate(void **state)
{
	struct fixture *f = *state;
	struct attachment a, b, got;

	fill(&a, "c1", "eth0", 100);
	assert_int_equal(store_insert(f->s, &a), 0);
	fill(&b, "c1", "eth0", 200);
	strcpy(b.network, "other");
	assert_int_equal(store_insert(f->s, &b), -EEXIST);
	/* The first row is untouched. */
	assert_int_equal(store_get(f->s, "c1", "eth0", &got), 0);
	assert_attachment_equal(&got, &a);
	assert_int_equal(store_count(f->s), 1);

	/* The key is the pair: either half alone may repeat. */
	fill(&b, "c1", "eth1", 300);
	assert_int_equal(store_insert(f->s, &b), 0);
	fill(&b, "c2", "eth0", 400);
	assert_int_equal(store_insert(f->s, &b), 0);
	assert_int_equal(store_count(f->s), 3);
}

static void test_update(void **state)
{
	struct fixture *f = *state;
	struct attachment a, b, got;

	fill(&a, "c1", "eth0", 100);
	a.state = ATTACH_INTENT;
	assert_int_equal(store_insert(f->s, &a), 0);

	b = a;
	strcpy(b.netns, "/proc/77/ns/net");
	strcpy(b.network, "net-b");
	strcpy(b.port, "port-b");
	strcpy(b.host_ifname, "tapb");
	strcpy(b.mac, "02:00:00:00:00:bb");
	strcpy(b.address, "10.1.0.9/16");
	strcpy(b.gateway, "");
	b.mtu = 9000;
	b.state = ATTACH_DONE;
	b.created = 555;
	assert_int_equal(store_update(f->s, &b), 0);
	assert_int_equal(store_get(f->s, "c1", "eth0", &got), 0);
	assert_attachment_equal(&got, &b);
	assert_int_equal(store_count(f->s), 1);

	/* Updating with identical values still finds the row. */
	assert_int_equal(store_update(f->s, &b), 0);
}

static void test_update_missing(void **state)
{
	struct fixture *f = *state;
	struct attachment a, got;

	fill(&a, "c1", "eth0", 100);
	assert_int_equal(store_update(f->s, &a), -ENOENT);
	assert_int_equal(store_count(f->s), 0);

	/* Another row of the same container does not count. */
	assert_int_equal(store_insert(f->s, &a), 0);
	fill(&a, "c1", "eth1", 100);
	assert_int_equal(store_update(f->s, &a), -ENOENT);
	assert_int_equal(store_get(f->s, "c1", "eth1", &got), -ENOENT);
	assert_int_equal(store_count(f->s), 1);
}

static void test_get_missing(void **state)
{
	struct fixture *f = *state;
	struct attachment a, got, pristine;

	memset(&got, 0x5a, sizeof(got));
	pristine = got;
	assert_int_equal(store_get(f->s, "nope", "eth0", &got), -ENOENT);
	/* ret_ is untouched on failure. */
	assert_memory_equal(&got, &pristine, sizeof(got));

	fill(&a, "c1", "eth0", 1);
	assert_int_equal(store_insert(f->s, &a), 0);
	assert_int_equal(store_get(f->s, "c1", "eth1", &got), -ENOENT);
	assert_int_equal(store_get(f->s, "c2", "eth0", &got), -ENOENT);
	assert_int_equal(store_get(f->s, "C1", "eth0", &got), -ENOENT);
	assert_memory_equal(&got, &pristine, sizeof(got));
}

static void test_delete(void **state)
{
	struct fixture *f = *state;
	struct attachment a, got;

	fill(&a, "c1", "eth0", 1);
	assert_int_equal(store_insert(f->s, &a), 0);
	fill(&a, "c1", "eth1", 2);
	assert_int_equal(store_insert(f->s, &a), 0);
	assert_int_equal(store_count(f->s), 2);

	assert_int_equal(store_delete(f->s, "c1", "eth0"), 0);
	assert_int_equal(store_get(f->s, "c1", "eth0", &got), -ENOENT);
	/* Only that pair went. */
	assert_int_equal(store_get(f->s, "c1", "eth1", &got), 0);
	assert_attachment_equal(&got, &a);
	assert_int_equal(store_count(f->s), 1);

	/* Idempotent. */
	assert_int_equal(store_delete(f->s, "c1", "eth0"), 0);
	assert_int_equal(store_delete(f->s, "never", "there"), 0);
	assert_int_equal(store_count(f->s), 1);

	/* The key can be reused after a delete. */
	fill(&a, "c1", "eth0", 3);
	assert_int_equal(store_insert(f->s, &a), 0);
	assert_int_equal(store_count(f->s), 2);
}

struct collect {
	char ids[16][sizeof(((struct attachment *)0)->container_id) + 16];
	int n;
	int stop_at;  /* return -42 from the call with this index, -1: never */
	int positive; /* return this (>= 0) otherwise */
};

static int collect_cb(const struct attachment *a, void *userdata)
{
	struct collect *c = userdata;

	if (c->n >= (int)ELEMENTSOF(c->ids))
		return -E2BIG;
	snprintf(c->ids[c->n], sizeof(c->ids[0]), "%s/%s", a->container_id, a->ifname);
	if (c->n++ == c->stop_at)
		return -42;
	return c->positive;
}

static void insert_ordered_rows(struct store *s)
{
	struct attachment a;

	/* Inserted out of creation order; two share a timestamp. */
	fill(&a, "c3", "eth0", 300);
	assert_int_equal(store_insert(s, &a), 0);
	fill(&a, "c1", "eth0", 100);
	assert_int_equal(store_insert(s, &a), 0);
	fill(&a, "c2b", "eth0", 200);
	assert_int_equal(store_insert(s, &a), 0);
	fill(&a, "c2a", "eth0", 200);
	assert_int_equal(store_insert(s, &a), 0);
	fill(&a, "c4", "eth1", 400);
	assert_int_equal(store_insert(s, &a), 0);
}

static void test_foreach_order(void **state)
{
	struct fixture *f = *state;
	struct collect c = { .stop_at = -1, .positive = 1 };

	assert_int_equal(store_foreach(f->s, collect_cb, &c), 0);
	assert_int_equal(c.n, 0);

	insert_ordered_rows(f->s);
	/* A positive return does not stop the walk and is not returned. */
	assert_int_equal(store_foreach(f->s, collect_cb, &c), 0);
	assert_int_equal(c.n, 5);
	/* Oldest first; ties in insertion order. */
	assert_string_equal(c.ids[0], "c1/eth0");
	assert_string_equal(c.ids[1], "c2b/eth0");
	assert_string_equal(c.ids[2], "c2a/eth0");
	assert_string_equal(c.ids[3], "c3/eth0");
	assert_string_equal(c.ids[4], "c4/eth1");
}

static void test_list(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ struct attachment *rows = NULL;
	size_t n = 99;

	assert_int_equal(store_list(f->s, &rows, &n), 0);
	assert_int_equal(n, 0);
	free(TAKE_PTR(rows));
	insert_ordered_rows(f->s);
	assert_int_equal(store_list(f->s, &rows, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(rows[0].container_id, "c1");
	assert_string_equal(rows[2].container_id, "c2a");
	assert_string_equal(rows[4].ifname, "eth1");
}

static void test_foreach_stop(void **state)
{
	struct fixture *f = *state;
	struct collect c = { .stop_at = 1 };

	insert_ordered_rows(f->s);
	assert_int_equal(store_foreach(f->s, collect_cb, &c), -42);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.ids[0], "c1/eth0");
	assert_string_equal(c.ids[1], "c2b/eth0");
	/* Stopping changes nothing. */
	assert_int_equal(store_count(f->s), 5);
}

static int delete_cb(const struct attachment *a, void *userdata)
{
	struct store *s = userdata;

	return store_delete(s, a->container_id, a->ifname);
}

static void test_foreach_reentrant(void **state)
{
	struct fixture *f = *state;

	/* The callback may call back into the store (the lock is not held). */
	insert_ordered_rows(f->s);
	assert_int_equal(store_foreach(f->s, delete_cb, f->s), 0);
	assert_int_equal(store_count(f->s), 0);
}

static void test_count(void **state)
{
	struct fixture *f = *state;
	struct attachment a;
	char id[32];

	assert_int_equal(store_count(f->s), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "c%d", i);
		fill(&a, id, "eth0", i + 1);
		assert_int_equal(store_insert(f->s, &a), 0);
		assert_int_equal(store_count(f->s), i + 1);
	}
	assert_int_equal(store_insert(f->s, &a), -EEXIST);
	assert_int_equal(store_count(f->s), 20);
	assert_int_equal(store_delete(f->s, "c7", "eth0"), 0);
	assert_int_equal(store_count(f->s), 19);
}

/* Records: put replaces, get and list see the latest, delete is quiet
 * about what is not there, and all of it survives a reopen. */
static void test_records(void **state)
{
	struct fixture *f = *state;
	struct store_record *recs = NULL;
	_cleanup_free_ char *v = NULL;
	size_t n = 0;

	assert_int_equal(store_record_get(f->s, "k", "a", &v), -ENOENT);
	assert_int_equal(store_record_put(f->s, "k", "a", "{\"x\":1}"), 0);
	assert_int_equal(store_record_put(f->s, "k", "b", "2"), 0);
	assert_int_equal(store_record_put(f->s, "other", "a", "3"), 0);
	assert_int_equal(store_record_put(f->s, "k", "a", "{\"x\":4}"), 0);
	assert_int_equal(store_record_get(f->s, "k", "a", &v), 0);
	assert_string_equal(v, "{\"x\":4}");
	assert_int_equal(store_record_delete(f->s, "k", "nope"), 0);
	store_free(f->s);
	assert_int_equal(store_open(f->dir, &f->s, NULL), 0);
	assert_int_equal(store_record_list(f->s, "k", &recs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(recs[0].id, "b");
	assert_string_equal(recs[1].id, "a"); /* replaced: a new row */
	assert_string_equal(recs[1].value, "{\"x\":4}");
	store_records_free(recs, n);
	assert_int_equal(store_record_delete(f->s, "k", "a"), 0);
	assert_int_equal(store_record_list(f->s, "k", &recs, &n), 0);
	assert_int_equal(n, 1);
	store_records_free(recs, n);
	/* Attachments do not see them. */
	assert_int_equal(store_count(f->s), 0);
}

static void test_durable_across_reopen(void **state)
{
	struct fixture *f = *state;
	struct attachment a, b, got;

	fill(&a, "c1", "eth0", 100);
	assert_int_equal(store_insert(f->s, &a), 0);
	fill(&b, "c2", "eth0", 200);
	assert_int_equal(store_insert(f->s, &b), 0);
	b.state = ATTACH_DONE;
	strcpy(b.port, "updated");
	assert_int_equal(store_update(f->s, &b), 0);
	fill(&got, "c3", "eth0", 300);
	assert_int_equal(store_insert(f->s, &got), 0);
	assert_int_equal(store_delete(f->s, "c3", "eth0"), 0);

	store_free(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->dir, &f->s, NULL), 0);

	assert_int_equal(store_count(f->s), 2);
	assert_int_equal(store_get(f->s, "c1", "eth0", &got), 0);
	assert_attachment_equal(&got, &a);
	assert_int_equal(store_get(f->s, "c2", "eth0", &got), 0);
	assert_attachment_equal(&got, &b);
	assert_int_equal(store_get(f->s, "c3", "eth0", &got), -ENOENT);
}

static void test_durable_after_crash(void **state)
{
	struct fixture *f = *state;
	struct attachment a, got;
	int status;
	pid_t pid;

	/* A writer that dies without store_free(): a committed row must still
	 * be there for the next process. */
	fill(&a, "crash", "eth0", 123);
	/* SQLite connections must not cross fork(): close ours first. */
	store_free(f->s);
	f->s = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *s;

		if (store_open(f->dir, &s, NULL) < 0 || store_insert(s, &a) < 0)
			_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	assert_int_equal(store_open(f->dir, &f->s, NULL), 0);
	assert_int_equal(store_get(f->s, "crash", "eth0", &got), 0);
	assert_attachment_equal(&got, &a);
}

/* A store of before IPv6 (no address6, gateway6) opens, keeps its rows
 * (IPv4 only), and takes rows with both families. */
static void test_upgrade_v6(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = NULL, *msg = NULL;
	struct attachment a, got;
	sqlite3 *db = NULL;

	store_free(f->s);
	f->s = NULL;
	assert_true(asprintf(&path, "%s/kuryr.db", f->dir) > 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db,
			 "CREATE TABLE attachments (container_id TEXT NOT NULL, ifname TEXT NOT "
			 "NULL, netns TEXT NOT NULL, network TEXT NOT NULL, port TEXT NOT NULL,"
			 " host_ifname TEXT NOT NULL, mac TEXT NOT NULL, address TEXT NOT NULL,"
			 " gateway TEXT NOT NULL, mtu INTEGER NOT NULL, state INTEGER NOT NULL,"
			 " created INTEGER NOT NULL, pooled INTEGER NOT NULL DEFAULT 0, binding "
			 "TEXT NOT NULL DEFAULT '', binding_data TEXT NOT NULL DEFAULT '', "
			 "PRIMARY KEY (container_id, ifname));"
			 "INSERT INTO attachments VALUES ('old', 'eth0', '/n', 'net', 'p', "
			 "'tap1', '02:00:00:00:00:02', '10.0.0.5/24', '10.0.0.1', 1442, 3, 7, "
			 "0, 'ovs', '');",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(f->dir, &f->s, &msg), 0);
	assert_int_equal(store_get(f->s, "old", "eth0", &got), 0);
	assert_string_equal(got.address, "10.0.0.5/24");
	assert_string_equal(got.address6, "");
	assert_string_equal(got.gateway6, "");
	fill(&a, "new", "eth0", 8);
	strcpy(a.address6, "fd00:1::5/64");
	strcpy(a.gateway6, "fd00:1::1");
	assert_int_equal(store_insert(f->s, &a), 0);
	assert_int_equal(store_get(f->s, "new", "eth0", &got), 0);
	assert_attachment_equal(&got, &a);
}

static void test_wal_mode(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *path = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	struct attachment a;

	fill(&a, "c1", "eth0", 1);
	assert_int_equal(store_insert(f->s, &a), 0);

	assert_true(asprintf(&path, "%s/kuryr.db", f->dir) > 0);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);

	/* And another connection sees the committed row. */
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM attachments", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

struct writer {
	struct store *s;
	int id;
	int failures;
	int first_error;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	for (int i = 0; i < N_PER_THREAD; i++) {
		struct attachment a;
		char cid[32], ifname[16];
		int r;

		snprintf(cid, sizeof(cid), "t%d-r%d", w->id, i);
		snprintf(ifname, sizeof(ifname), "eth%d", i % 4);
		fill(&a, cid, ifname, 1000 + i);
		a.mtu = (uint32_t)(w->id * 1000 + i);
		r = store_insert(w->s, &a);
		if (r < 0 && w->failures++ == 0)
			w->first_error = r;
	}
	return NULL;
}

static void check_all_written(struct store *s)
{
	struct attachment got;

	assert_int_equal(store_count(s), N_THREADS * N_PER_THREAD);
	for (int t = 0; t < N_THREADS; t++)
		for (int i = 0; i < N_PER_THREAD; i++) {
			char cid[32], ifname[16];

			snprintf(cid, sizeof(cid), "t%d-r%d", t, i);
			snprintf(ifname, sizeof(ifname), "eth%d", i % 4);
			assert_int_equal(store_get(s, cid, ifname, &got), 0);
			assert_int_equal(got.mtu, t * 1000 + i);
			assert_string_equal(got.container_id, cid);
		}
}

static void run_writers(struct store *stores[N_THREADS])
{
	pthread_t th[N_THREADS];
	struct writer w[N_THREADS];

	for (int t = 0; t < N_THREADS; t++) {
		w[t] = (struct writer){ .s = stores[t], .id = t };
		assert_int_equal(pthread_create(&th[t], NULL, writer_main, &w[t]), 0);
	}
	for (int t = 0; t < N_THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	for (int t = 0; t < N_THREADS; t++)
		if (w[t].failures)
			fail_msg("thread %d: %d inserts failed, first with %s", t, w[t].failures,
				 strerror(-w[t].first_error));
}

static void test_concurrent_inserts(void **state)
{
	struct fixture *f = *state;
	struct store *stores[N_THREADS];

	/* One handle shared by every thread, as in kuryrd. */
	for (int t = 0; t < N_THREADS; t++)
		stores[t] = f->s;
	run_writers(stores);
	check_all_written(f->s);
}

static void test_concurrent_handles(void **state)
{
	struct fixture *f = *state;
	struct store *stores[N_THREADS];

	/* A handle per thread: SQLite's file locking (busy_timeout) serialises
	 * them, as it would two processes. */
	for (int t = 0; t < N_THREADS; t++)
		assert_int_equal(store_open(f->dir, &stores[t], NULL), 0);
	run_writers(stores);
	for (int t = 0; t < N_THREADS; t++)
		store_free(stores[t]);
	check_all_written(f->s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test_setup_teardown(test_open_creates_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upgrade_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_created_defaults_to_now, setup, teardown),
		cmocka_unit_test_setup_teardown(test_insert_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_reentrant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_across_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_durable_after_crash, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_inserts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_handles, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
