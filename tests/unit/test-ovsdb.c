/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the OVSDB client: the datum helpers; the wire handling against a
 * scripted fake server on a unix socket (split and concatenated messages,
 * echo, late and garbage replies); and everything else against a real
 * ovsdb-server with the OVN northbound schema that the group setup starts in
 * /tmp/kuryr-test-ovsdb-XXXXXX. Rows they create are named kuryr-test-*.
 *
 * Without ovsdb-server or the schema the live tests are left out, saying why:
 * cmocka 1.1.5 prints a skip() as "not ok N # SKIP", which meson's TAP parser
 * counts as a failure. A watchdog process removes servers and directories if
 * this process dies before its teardown does. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "macro.h"
#include "ovsdb/ovsdb.h"

#define NB_DB	   "OVN_Northbound"
#define TIMEOUT_MS 10000

extern char **environ;

struct fake;

struct test_server {
	char dir[64];
	char target[128];
	bool running;
};

static struct {
	bool tools;		  /* ovsdb-server, ovsdb-tool and the schema exist */
	char why[PATH_MAX + 256]; /* why live tests cannot run */
	char server_bin[PATH_MAX];
	char tool_bin[PATH_MAX];
	char schema[PATH_MAX];
	struct test_server main;
	struct test_server aux; /* per-test server, stopped by test_cleanup */
	struct fake *fake;	/* per-test fake server, closed by test_cleanup */
	int watchdog_fd;
	pid_t watchdog_pid;
} fx = { .watchdog_fd = -1, .watchdog_pid = -1 };

/* ---- small utilities ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static json_t *jparse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("bad JSON in test: %s: %s", e.text, text);
	return j;
}

static bool find_exec(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *dirs = NULL;
	char *save = NULL;

	if (asprintf(&dirs, "%s:/usr/sbin:/sbin:/usr/bin:/usr/local/sbin", path ?: "") < 0)
		return false;
	for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		if (!*d)
			continue;
		snprintf(out, size, "%s/%s", d, name);
		if (access(out, X_OK) == 0)
			return true;
	}
	return false;
}

/* Run @argv to completion with output appended to @log. Returns the exit
 * status, or -1. */
static int run_wait(char *const *argv, const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int status, r;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	r = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void rm_rf_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX + 300];

	if (!d)
		return;
	while ((de = readdir(d)))
		if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

/* The detached server is not our child: treat a zombie as gone too. */
static bool pid_gone(pid_t pid)
{
	char p[64], buf[512];
	FILE *f;
	char *rp;

	if (kill(pid, 0) < 0 && errno == ESRCH)
		return true;
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	f = fopen(p, "re");
	if (!f)
		return true;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return true;
	}
	fclose(f);
	rp = strrchr(buf, ')');
	return rp && rp[1] == ' ' && rp[2] == 'Z';
}

static pid_t server_pid(const struct test_server *s)
{
	char p[96];
	FILE *f;
	int pid = -1;

	snprintf(p, sizeof(p), "%s/pid", s->dir);
	f = fopen(p, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &pid) != 1)
		pid = -1;
	fclose(f);
	return pid;
}

static void server_kill(struct test_server *s, int sig)
{
	pid_t pid;

	if (!s->running)
		return;
	s->running = false;
	pid = server_pid(s);
	if (pid <= 0)
		return;
	kill(pid, sig);
	for (int i = 0; i < 500 && !pid_gone(pid); i++)
		sleep_ms(10);
	if (!pid_gone(pid)) {
		kill(pid, SIGKILL);
		for (int i = 0; i < 500 && !pid_gone(pid); i++)
			sleep_ms(10);
	}
}

static void server_stop(struct test_server *s)
{
	server_kill(s, SIGTERM);
	if (s->dir[0])
		rm_rf_dir(s->dir);
	s->dir[0] = '\0';
}

/* Tell the watchdog about a directory to clean up should we die. */
static void watch_dir(const char *dir)
{
	char line[80];
	int n = snprintf(line, sizeof(line), "%s\n", dir);

	if (fx.watchdog_fd >= 0 && write(fx.watchdog_fd, line, (size_t)n) != n)
		fprintf(stderr, "# watchdog write failed: %s\n", strerror(errno));
}

/* Child: wait until the test process is gone (EOF on the pipe), then stop any
 * server still running in the directories it named and remove them. */
static _noreturn_ void watchdog_main(int rfd)
{
	char buf[8192];
	size_t len = 0;
	char *save = NULL;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (;;) {
		ssize_t n = read(rfd, buf + len, sizeof(buf) - 1 - len);

		if (n > 0)
			len += (size_t)n;
		else if (n == 0 || errno != EINTR || len == sizeof(buf) - 1)
			break;
	}
	buf[len] = '\0';
	for (char *d = strtok_r(buf, "\n", &save); d; d = strtok_r(NULL, "\n", &save)) {
		struct test_server s = { .running = true };

		snprintf(s.dir, sizeof(s.dir), "%s", d);
		server_stop(&s);
	}
	_exit(0);
}

static void watchdog_start(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		watchdog_main(p[0]);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return;
	}
	fx.watchdog_fd = p[1];
	fx.watchdog_pid = pid;
}

static void watchdog_stop(void)
{
	if (fx.watchdog_fd < 0)
		return;
	close(fx.watchdog_fd);
	while (waitpid(fx.watchdog_pid, NULL, 0) < 0 && errno == EINTR)
		;
	fx.watchdog_fd = -1;
}

/* Create a fresh northbound database and start ovsdb-server on it. It also
 * serves the remotes configured in NB_Global:connections. */
static int server_start(struct test_server *s, char *why, size_t why_size)
{
	char db[96], log[96], remote[128], pid[96], ctl[96], logfile[96], sock[96];

	*s = (struct test_server){};
	strcpy(s->dir, "/tmp/kuryr-test-ovsdb-XXXXXX");
	if (!mkdtemp(s->dir)) {
		snprintf(why, why_size, "mkdtemp: %s", strerror(errno));
		s->dir[0] = '\0';
		return -errno;
	}
	watch_dir(s->dir);
	snprintf(db, sizeof(db), "%s/nb.db", s->dir);
	snprintf(log, sizeof(log), "%s/spawn.log", s->dir);
	snprintf(sock, sizeof(sock), "%s/nb.sock", s->dir);
	snprintf(remote, sizeof(remote), "--remote=punix:%s", sock);
	snprintf(pid, sizeof(pid), "--pidfile=%s/pid", s->dir);
	snprintf(ctl, sizeof(ctl), "--unixctl=%s/ctl", s->dir);
	snprintf(logfile, sizeof(logfile), "--log-file=%s/log", s->dir);
	snprintf(s->target, sizeof(s->target), "unix:%s", sock);

	char *create[] = { fx.tool_bin, (char *)"create", db, fx.schema, NULL };
	if (run_wait(create, log) != 0) {
		snprintf(why, why_size, "ovsdb-tool create %s failed (see %s)", db, log);
		return -EIO;
	}
	char *serve[] = { fx.server_bin,
			  db,
			  remote,
			  (char *)"--remote=db:OVN_Northbound,NB_Global,connections",
			  pid,
			  ctl,
			  logfile,
			  (char *)"--detach",
			  (char *)"-vconsole:off",
			  NULL };
	if (run_wait(serve, log) != 0) {
		snprintf(why, why_size, "ovsdb-server failed to start (see %s)", log);
		return -EIO;
	}
	s->running = true;
	return 0;
}

static void probe_tools(void)
{
	const char *schema = getenv("KURYR_TEST_NB_SCHEMA");

	snprintf(fx.schema, sizeof(fx.schema), "%s", schema ?: "/usr/share/ovn/ovn-nb.ovsschema");
	if (!find_exec("ovsdb-server", fx.server_bin, sizeof(fx.server_bin)) ||
	    !find_exec("ovsdb-tool", fx.tool_bin, sizeof(fx.tool_bin))) {
		snprintf(fx.why, sizeof(fx.why),
			 "ovsdb-server/ovsdb-tool not found (install openvswitch-switch)");
		return;
	}
	if (access(fx.schema, R_OK) < 0) {
		snprintf(fx.why, sizeof(fx.why),
			 "OVN NB schema %s not readable: %s (install "
			 "ovn-central)",
			 fx.schema, strerror(errno));
		return;
	}
	fx.tools = true;
}

static int group_setup(void **state)
{
	watchdog_start();
	if (fx.tools)
		server_start(&fx.main, fx.why, sizeof(fx.why));
	return 0;
}

static void fake_close(struct fake *f);

/* Runs after every test, also after a failed one. */
static int test_cleanup(void **state)
{
	if (fx.fake)
		fake_close(fx.fake);
	fx.fake = NULL;
	server_stop(&fx.aux);
	return 0;
}

static int group_teardown(void **state)
{
	server_stop(&fx.main);
	watchdog_stop();
	return 0;
}

/* Skip when the tools are missing; fail when they exist but do not work. */
static void require_server(void)
{
	if (!fx.tools) {
		print_message("# skipped: %s\n", fx.why);
		skip();
	}
	if (!fx.main.running)
		fail_msg("live ovsdb-server not running: %s", fx.why);
}

static struct ovsdb_client *connect_main(void)
{
	struct ovsdb_client *c = NULL;
	_cleanup_free_ char *msg = NULL;
	int r;

	r = ovsdb_client_connect(fx.main.target, &c, &msg);
	if (r < 0)
		fail_msg("connect %s: %d %s", fx.main.target, r, msg ?: "");
	assert_true(ovsdb_client_connected(c));
	return c;
}

static int tx(struct ovsdb_client *c, json_t *ops, json_t **ret, char **msg)
{
	return ovsdb_transact(c, NB_DB, ops, TIMEOUT_MS, ret, msg);
}

/* Rows of Logical_Switch matching @where (stolen); new reference. */
static json_t *select_switches(struct ovsdb_client *c, json_t *where)
{
	json_auto_t *res = NULL;
	_cleanup_free_ char *msg = NULL;
	json_t *ops =
	    json_pack("[{s:s,s:s,s:o}]", "op", "select", "table", "Logical_Switch", "where", where);
	int r;

	assert_non_null(ops);
	r = tx(c, ops, &res, &msg);
	if (r < 0)
		fail_msg("select: %d %s", r, msg ?: "");
	assert_true(json_is_array(json_object_get(json_array_get(res, 0), "rows")));
	return json_incref(json_object_get(json_array_get(res, 0), "rows"));
}

static json_t *where_name(const char *name)
{
	return json_pack("[o]", ovsdb_cond("name", "==", json_string(name)));
}

static void insert_switch(struct ovsdb_client *c, const char *name)
{
	_cleanup_free_ char *msg = NULL;
	json_t *ops = json_pack("[{s:s,s:s,s:{s:s}}]", "op", "insert", "table", "Logical_Switch",
				"row", "name", name);
	int r = tx(c, ops, NULL, &msg);

	if (r < 0)
		fail_msg("insert %s: %d %s", name, r, msg ?: "");
}

/* ---- pure helper tests ---- */

static void assert_json_eq(json_t *got, const char *want_text)
{
	json_auto_t *want = jparse(want_text);

	if (!got || !json_equal(got, want)) {
		_cleanup_free_ char *g =
		    got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		fail_msg("got %s, want %s", g ?: "NULL", want_text);
	}
}

static void test_uuid_helpers(void **state)
{
	json_auto_t *n = ovsdb_named_uuid("row1");
	json_auto_t *u = ovsdb_uuid("0ef2a6f1-5f0c-4a6e-9b0e-1a2b3c4d5e6f");
	json_auto_t *bad = jparse("[\"named-uuid\", \"x\"]");
	json_auto_t *odd = jparse("[\"uuid\", 7]");

	assert_json_eq(n, "[\"named-uuid\", \"row1\"]");
	assert_json_eq(u, "[\"uuid\", \"0ef2a6f1-5f0c-4a6e-9b0e-1a2b3c4d5e6f\"]");
	assert_string_equal(ovsdb_datum_uuid(u), "0ef2a6f1-5f0c-4a6e-9b0e-1a2b3c4d5e6f");
	assert_null(ovsdb_datum_uuid(bad));
	assert_null(ovsdb_datum_uuid(odd));
	assert_null(ovsdb_datum_uuid(NULL));
	assert_null(ovsdb_named_uuid(NULL));
}

static void test_string_set(void **state)
{
	const char *const three[] = { "a", "b c", "\"d\"", NULL };
	const char *const none[] = { NULL };
	json_auto_t *s3 = ovsdb_string_set(three);
	json_auto_t *s0 = ovsdb_string_set(none);
	json_auto_t *snull = ovsdb_string_set(NULL);

	assert_json_eq(s3, "[\"set\", [\"a\", \"b c\", \"\\\"d\\\"\"]]");
	assert_json_eq(s0, "[\"set\", []]");
	assert_json_eq(snull, "[\"set\", []]");
}

static void test_string_map(void **state)
{
	const char *const kv[] = { "k1", "v1", "neutron:cidr", "10.0.0.0/24", NULL };
	const char *const odd[] = { "k1", "v1", "dangling", NULL };
	json_auto_t *m = ovsdb_string_map(kv);
	json_auto_t *mo = ovsdb_string_map(odd);

	assert_json_eq(m, "[\"map\", [[\"k1\", \"v1\"], [\"neutron:cidr\", \"10.0.0.0/24\"]]]");
	/* A key without a value ends the list. */
	assert_json_eq(mo, "[\"map\", [[\"k1\", \"v1\"]]]");
	assert_string_equal(ovsdb_map_get(m, "neutron:cidr"), "10.0.0.0/24");
}

static void test_cond(void **state)
{
	const char *const kv[] = { "owner", "kuryr", NULL };
	json_auto_t *c1 = ovsdb_cond("name", "==", json_string("ls0"));
	json_auto_t *c2 = ovsdb_cond("external_ids", "includes", ovsdb_string_map(kv));
	json_auto_t *c3 = ovsdb_cond("_uuid", "!=", ovsdb_uuid("u-1"));

	assert_json_eq(c1, "[\"name\", \"==\", \"ls0\"]");
	assert_json_eq(c2, "[\"external_ids\", \"includes\", [\"map\", [[\"owner\", \"kuryr\"]]]]");
	assert_json_eq(c3, "[\"_uuid\", \"!=\", [\"uuid\", \"u-1\"]]");
	assert_null(ovsdb_cond("name", "==", NULL));
	/* The value is consumed even when there is no condition to put it in
	 * (LeakSanitizer would catch a leak here). */
	assert_null(ovsdb_cond(NULL, "==", json_string("x")));
}

static void test_datum_strings(void **state)
{
	json_auto_t *bare = json_string("one");
	json_auto_t *set = jparse("[\"set\", [\"a\", \"b\", \"c\"]]");
	json_auto_t *empty = jparse("[\"set\", []]");
	json_auto_t *mixed = jparse("[\"set\", [\"a\", 5, \"b\"]]");
	json_auto_t *uuid = jparse("[\"uuid\", \"u\"]");
	json_auto_t *num = json_integer(3);
	const char *out[4] = {};

	assert_int_equal(ovsdb_datum_strings(bare, out, 4), 1);
	assert_string_equal(out[0], "one");

	memset(out, 0, sizeof(out));
	assert_int_equal(ovsdb_datum_strings(set, out, 4), 3);
	assert_string_equal(out[0], "a");
	assert_string_equal(out[1], "b");
	assert_string_equal(out[2], "c");
	assert_null(out[3]);

	/* Count is the full size even when @out is short. */
	memset(out, 0, sizeof(out));
	assert_int_equal(ovsdb_datum_strings(set, out, 2), 3);
	assert_string_equal(out[1], "b");
	assert_null(out[2]);
	assert_int_equal(ovsdb_datum_strings(set, NULL, 0), 3);

	assert_int_equal(ovsdb_datum_strings(empty, out, 4), 0);
	assert_int_equal(ovsdb_datum_strings(mixed, out, 4), 2);
	assert_string_equal(out[1], "b");
	assert_int_equal(ovsdb_datum_strings(uuid, out, 4), 0);
	assert_int_equal(ovsdb_datum_strings(num, out, 4), 0);
	assert_int_equal(ovsdb_datum_strings(NULL, out, 4), 0);
}

static void test_map_get(void **state)
{
	json_auto_t *m = jparse("[\"map\", [[\"a\", \"1\"], [\"b\", \"2\"], [\"n\", 3]]]");
	json_auto_t *empty = jparse("[\"map\", []]");
	json_auto_t *set = jparse("[\"set\", [[\"a\", \"1\"]]]");

	assert_string_equal(ovsdb_map_get(m, "a"), "1");
	assert_string_equal(ovsdb_map_get(m, "b"), "2");
	assert_null(ovsdb_map_get(m, "c"));
	assert_null(ovsdb_map_get(m, "n")); /* not a string value */
	assert_null(ovsdb_map_get(empty, "a"));
	assert_null(ovsdb_map_get(set, "a"));
	assert_null(ovsdb_map_get(NULL, "a"));
}

/* ---- connection errors ---- */

static void test_connect_bad_target(void **state)
{
	static const char *const bad[] = {
		"",
		"unix:",
		"tcp:",
		"tcp:127.0.0.1",
		"tcp:127.0.0.1:",
		"tcp:127.0.0.1:0",
		"tcp:127.0.0.1:65536",
		"tcp:127.0.0.1:12x",
		"tcp:localhost:6641",
		"tcp:1.2.3:6641",
		"ssl:127.0.0.1:6641",
		"/run/ovn/ovnnb_db.sock",
	};

	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct ovsdb_client *c = NULL;
		_cleanup_free_ char *msg = NULL;

		assert_int_equal(ovsdb_client_connect(bad[i], &c, &msg), -EINVAL);
		assert_null(c);
		assert_non_null(msg);
		assert_non_null(strstr(msg, bad[i]));
	}
}

static void test_connect_missing(void **state)
{
	char dir[] = "/tmp/kuryr-test-ovsdb-XXXXXX";
	char target[PATH_MAX];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ovsdb_client *c = NULL;
	_cleanup_free_ char *msg = NULL, *msg2 = NULL;
	int fd, r;

	assert_non_null(mkdtemp(dir));
	watch_dir(dir);
	snprintf(target, sizeof(target), "unix:%s/nope.sock", dir);
	r = ovsdb_client_connect(target, &c, &msg);
	assert_int_equal(r, -ENOENT);
	assert_null(c);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "nope.sock"));

	/* A socket file nobody listens on. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/dead.sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	snprintf(target, sizeof(target), "unix:%s", sa.sun_path);
	r = ovsdb_client_connect(target, &c, &msg2);
	assert_int_equal(r, -ECONNREFUSED);
	assert_non_null(msg2);
	rm_rf_dir(dir);
}

/* ---- monitor update recorder ---- */

struct recorder {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	json_t *updates; /* array of {"id":..., "u":...} */
	bool monitor_returned;
	bool early_after_return; /* set if an update beat the initial contents */
};

static void recorder_init(struct recorder *rec)
{
	pthread_condattr_t a;

	*rec = (struct recorder){ .updates = json_array() };
	pthread_mutex_init(&rec->lock, NULL);
	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(&rec->cond, &a);
	pthread_condattr_destroy(&a);
}

static void recorder_done(struct recorder *rec)
{
	json_decref(rec->updates);
	pthread_cond_destroy(&rec->cond);
	pthread_mutex_destroy(&rec->lock);
}

static void record_update(void *userdata, const char *monitor_id, json_t *table_updates)
{
	struct recorder *rec = userdata;

	pthread_mutex_lock(&rec->lock);
	/* A copy: the reader frees its message after we return. */
	json_array_append_new(rec->updates, json_pack("{s:s,s:o,s:b}", "id", monitor_id, "u",
						      json_deep_copy(table_updates), "after_return",
						      rec->monitor_returned));
	pthread_cond_broadcast(&rec->cond);
	pthread_mutex_unlock(&rec->lock);
}

/* Row update for @uuid in recorded update number >= @from, or NULL. Waits up
 * to @ms for it. Returns a new reference. */
static json_t *recorder_wait_row(struct recorder *rec, size_t from, const char *uuid, int ms)
{
	struct timespec deadline;
	json_t *found = NULL;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&rec->lock);
	for (;;) {
		for (size_t i = from; i < json_array_size(rec->updates) && !found; i++) {
			json_t *u = json_object_get(json_array_get(rec->updates, i), "u");
			json_t *row = json_object_get(json_object_get(u, "Logical_Switch"), uuid);

			if (row)
				found = json_incref(row);
		}
		if (found || pthread_cond_timedwait(&rec->cond, &rec->lock, &deadline) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&rec->lock);
	return found;
}

static size_t recorder_count(struct recorder *rec)
{
	size_t n;

	pthread_mutex_lock(&rec->lock);
	n = json_array_size(rec->updates);
	pthread_mutex_unlock(&rec->lock);
	return n;
}

/* Wait up to @ms until at least @n updates were recorded. */
static bool recorder_wait_count(struct recorder *rec, size_t n, int ms)
{
	struct timespec deadline;
	bool ok;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += ms / 1000;
	deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&rec->lock);
	while (json_array_size(rec->updates) < n &&
	       pthread_cond_timedwait(&rec->cond, &rec->lock, &deadline) != ETIMEDOUT)
		;
	ok = json_array_size(rec->updates) >= n;
	pthread_mutex_unlock(&rec->lock);
	return ok;
}

/* ---- scripted fake server ---- */

struct fake {
	char dir[64];
	char target[128];
	int lfd, fd;
	char buf[4 << 20];
	size_t len;
};

static void fake_listen(struct fake *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	*f = (struct fake){ .lfd = -1, .fd = -1 };
	strcpy(f->dir, "/tmp/kuryr-test-ovsdb-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	watch_dir(f->dir);
	fx.fake = f;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/fake.sock", f->dir);
	snprintf(f->target, sizeof(f->target), "unix:%s", sa.sun_path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
}

static void fake_accept(struct fake *f)
{
	struct pollfd p = { .fd = f->lfd, .events = POLLIN };

	assert_int_equal(poll(&p, 1, 5000), 1);
	f->fd = accept4(f->lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(f->fd >= 0);
}

static void fake_close(struct fake *f)
{
	if (f->fd >= 0)
		close(f->fd);
	if (f->lfd >= 0)
		close(f->lfd);
	f->fd = f->lfd = -1;
	if (f->dir[0])
		rm_rf_dir(f->dir);
	f->dir[0] = '\0';
}

/* Next message the client sent, within 5 s. */
static json_t *fake_recv(struct fake *f)
{
	for (;;) {
		struct pollfd p = { .fd = f->fd, .events = POLLIN };
		json_error_t e;
		json_t *j;
		ssize_t n;

		if (f->len > 0) {
			j = json_loadb(f->buf, f->len, JSON_DISABLE_EOF_CHECK, &e);
			if (j) {
				memmove(f->buf, f->buf + e.position, f->len - (size_t)e.position);
				f->len -= (size_t)e.position;
				return j;
			}
		}
		if (poll(&p, 1, 5000) != 1)
			fail_msg("fake server: nothing from the client in 5 s");
		n = recv(f->fd, f->buf + f->len, sizeof(f->buf) - f->len, 0);
		if (n <= 0)
			fail_msg("fake server: client closed or recv failed");
		f->len += (size_t)n;
	}
}

static void fake_send(struct fake *f, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = send(f->fd, s, n, MSG_NOSIGNAL);

		assert_true(w > 0);
		s += w;
		n -= (size_t)w;
	}
}

static char *dump(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);

	assert_non_null(s);
	return s;
}

static json_int_t fake_expect_transact(struct fake *f)
{
	json_auto_t *req = fake_recv(f);
	json_t *id = json_object_get(req, "id");

	assert_string_equal(json_string_value(json_object_get(req, "method")), "transact");
	assert_string_equal(json_string_value(json_array_get(json_object_get(req, "params"), 0)),
			    "fakedb");
	assert_true(json_is_integer(id));
	return json_integer_value(id);
}

#define TRICKY "x}\"{[\\]\xc3\xa9 \\\"{ \xe2\x82\xac"

struct fake_client {
	const char *target;
	int r[6];
	char *msg[6];
	json_t *res[6];
	bool connected_after;
};

static void *fake_client_main(void *userdata)
{
	struct fake_client *fc = userdata;
	struct ovsdb_client *c = NULL;
	static const int timeouts[6] = { 5000, 5000, 300, 5000, 0, 5000 };

	if (ovsdb_client_connect(fc->target, &c, &fc->msg[0]) < 0) {
		fc->r[0] = -999;
		return NULL;
	}
	for (int i = 0; i < 6; i++) {
		json_t *ops = json_pack("[{s:s,s:s,s:[]}]", "op", "select", "table", "T", "where");

		fc->r[i] = ovsdb_transact(c, "fakedb", ops, timeouts[i], &fc->res[i], &fc->msg[i]);
		if (i == 4)
			fc->connected_after = ovsdb_client_connected(c);
	}
	ovsdb_client_free(c);
	return NULL;
}

static void test_wire_fake_server(void **state)
{
	/* Static: after a failed assertion the client thread may outlive
	 * this frame. */
	static struct fake f;
	static struct fake_client fc;
	pthread_t t;
	json_int_t id;
	_cleanup_free_ char *echo = NULL, *reply = NULL, *burst = NULL, *late = NULL;
	json_auto_t *echo_reply = NULL, *want_echo = NULL, *j = NULL;
	size_t n;

	fc = (struct fake_client){};
	fake_listen(&f);
	fc.target = f.target;
	assert_int_equal(pthread_create(&t, NULL, fake_client_main, &fc), 0);
	fake_accept(&f);

	/* 1: an echo dribbled in one byte at a time, answered; then the reply
	 * (with braces and quotes in a string) and two notifications in one
	 * burst, split in the middle of the second message. */
	id = fake_expect_transact(&f);
	echo = strdup("{\"id\":\"e-1\",\"method\":\"echo\",\"params\":[\"x\",{\"a\":[1,\"}\"]}]}");
	assert_non_null(echo);
	for (const char *p = echo; *p; p++) {
		fake_send(&f, p, 1);
		sleep_ms(1);
	}
	echo_reply = fake_recv(&f);
	want_echo = jparse("{\"id\":\"e-1\",\"result\":[\"x\",{\"a\":[1,\"}\"]}],\"error\":null}");
	assert_true(json_equal(echo_reply, want_echo));

	j = json_pack("{s:I,s:[{s:[{s:s}]}],s:n}", "id", id, "result", "rows", "name", TRICKY,
		      "error");
	reply = dump(j);
	assert_true(asprintf(&burst,
			     "%s\n{\"id\":null,\"method\":\"update\",\"params\":[\"nope\",{}]}"
			     "  {\"id\":null,\"method\":\"locked\",\"params\":[\"l\"]}\r\n",
			     reply) > 0);
	n = strlen(reply) + 20;
	fake_send(&f, burst, n);
	sleep_ms(50);
	fake_send(&f, burst + n, strlen(burst) - n);

	/* 2: a commit failure, reported past the last operation. */
	id = fake_expect_transact(&f);
	json_decref(j);
	j = json_pack("{s:I,s:[{s:i},{s:s,s:s}],s:n}", "id", id, "result", "count", 0, "error",
		      "commit failed", "details", "disk on fire", "error");
	free(reply);
	reply = dump(j);
	fake_send(&f, reply, strlen(reply));

	/* 3: never answered in time; the client gives up after 300 ms and
	 * sends 4. The late answer to 3 must be dropped, 4 answered. */
	id = fake_expect_transact(&f);
	{
		json_int_t id4 = fake_expect_transact(&f);
		json_auto_t *j3 = json_pack("{s:I,s:[{}],s:n}", "id", id, "result", "error");
		json_auto_t *j4 =
		    json_pack("{s:I,s:[{s:[]}],s:n}", "id", id4, "result", "rows", "error");
		_cleanup_free_ char *s3 = dump(j3), *s4 = dump(j4);

		assert_true(asprintf(&late, "%s%s", s3, s4) > 0);
		fake_send(&f, late, strlen(late));
	}

	/* 5: the server goes away with the call outstanding. */
	(void)fake_expect_transact(&f);
	close(f.fd);
	f.fd = -1;

	assert_int_equal(pthread_join(t, NULL), 0);
	fake_close(&f);

	assert_int_equal(fc.r[0], 0);
	assert_null(fc.msg[0]);
	assert_string_equal(
	    json_string_value(json_object_get(
		json_array_get(json_object_get(json_array_get(fc.res[0], 0), "rows"), 0), "name")),
	    TRICKY);

	assert_int_equal(fc.r[1], -EPROTO);
	assert_string_equal(fc.msg[1], "commit failed: disk on fire");
	assert_null(fc.res[1]);

	assert_int_equal(fc.r[2], -ETIMEDOUT);
	assert_non_null(fc.msg[2]);

	assert_int_equal(fc.r[3], 0);
	assert_json_eq(fc.res[3], "[{\"rows\":[]}]");

	assert_int_equal(fc.r[4], -ECONNRESET);
	assert_non_null(strstr(fc.msg[4], "server closed the connection"));
	assert_false(fc.connected_after);
	assert_int_equal(fc.r[5], -ECONNRESET);

	for (int i = 0; i < 6; i++) {
		free(fc.msg[i]);
		json_decref(fc.res[i]);
	}
}

struct garbage_client {
	const char *target;
	int r;
	char *msg;
};

static void *garbage_client_main(void *userdata)
{
	struct garbage_client *gc = userdata;
	struct ovsdb_client *c = NULL;

	gc->r = ovsdb_client_connect(gc->target, &c, &gc->msg);
	if (gc->r < 0)
		return NULL;
	gc->r = ovsdb_transact(c, "fakedb", json_pack("[]"), 5000, NULL, &gc->msg);
	ovsdb_client_free(c);
	return NULL;
}

static void test_wire_garbage(void **state)
{
	static const char *const garbage[] = {
		"  {\"id\":424242,\"result\":[],\"error\":null} xyz",
		"{\"id\":1,,\"result\":[]}",
		"[1,2}",
	};
	static const char *const expect[] = { "unexpected byte", "invalid JSON", "invalid JSON" };

	for (size_t i = 0; i < ELEMENTSOF(garbage); i++) {
		static struct fake f;
		static struct garbage_client gc;
		pthread_t t;

		gc = (struct garbage_client){};
		fake_listen(&f);
		gc.target = f.target;
		assert_int_equal(pthread_create(&t, NULL, garbage_client_main, &gc), 0);
		fake_accept(&f);
		(void)fake_expect_transact(&f);
		fake_send(&f, garbage[i], strlen(garbage[i]));
		assert_int_equal(pthread_join(t, NULL), 0);
		fake_close(&f);
		assert_int_equal(gc.r, -ECONNRESET);
		assert_non_null(gc.msg);
		if (!strstr(gc.msg, expect[i]))
			fail_msg("garbage %zu: message \"%s\" lacks \"%s\"", i, gc.msg, expect[i]);
		free(gc.msg);
	}
}

struct stuck_client {
	const char *target;
	struct recorder *rec;
	int r_monitor, r_big;
	char *msg;
	int big_done; /* atomic */
};

static void *stuck_client_main(void *userdata)
{
	struct stuck_client *sc = userdata;
	struct ovsdb_client *c = NULL;
	_cleanup_free_ char *big = malloc(1 << 20);

	if (!big || ovsdb_client_connect(sc->target, &c, &sc->msg) < 0) {
		sc->r_monitor = -999;
		return NULL;
	}
	sc->r_monitor = ovsdb_monitor(c, "fakedb", "m1", json_pack("{s:{}}", "T"), record_update,
				      sc->rec, 5000, &sc->msg);
	memset(big, 'b', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	sc->r_big =
	    ovsdb_transact(c, "fakedb", json_pack("[{s:s,s:s}]", "op", "comment", "comment", big),
			   20000, NULL, &sc->msg);
	__atomic_store_n(&sc->big_done, 1, __ATOMIC_RELEASE);
	ovsdb_client_free(c);
	return NULL;
}

/* A writer blocked on a server that is not reading must not stop the reader:
 * updates keep flowing, and the echo reply queued meanwhile goes out right
 * after the blocked message. (ovsdb-server stops reading a connection while
 * it has output queued for it, so a reader stuck behind such a writer would
 * deadlock both sides.) */
static void test_wire_reader_not_blocked_by_writer(void **state)
{
	static struct fake f;
	static struct stuck_client sc;
	static struct recorder rec;
	json_auto_t *req = NULL, *big = NULL, *echo_reply = NULL, *j = NULL;
	_cleanup_free_ char *s = NULL;
	const char *notes = "{\"id\":\"e-2\",\"method\":\"echo\",\"params\":[]}"
			    "{\"id\":null,\"method\":\"update\",\"params\":[\"m1\","
			    "{\"T\":{\"u2\":{\"new\":{\"a\":2}}}}]}";
	pthread_t t;
	int queued = 0;

	recorder_init(&rec);
	sc = (struct stuck_client){ .rec = &rec };
	fake_listen(&f);
	sc.target = f.target;
	assert_int_equal(pthread_create(&t, NULL, stuck_client_main, &sc), 0);
	fake_accept(&f);

	req = fake_recv(&f);
	assert_string_equal(json_string_value(json_object_get(req, "method")), "monitor");
	j = json_pack("{s:O,s:{s:{s:{s:{s:i}}}},s:n}", "id", json_object_get(req, "id"), "result",
		      "T", "u1", "new", "a", 1, "error");
	s = dump(j);
	fake_send(&f, s, strlen(s));
	assert_true(recorder_wait_count(&rec, 1, 5000));

	/* Let the 1 MiB request fill the socket and block its writer. */
	for (int i = 0; i < 500 && queued < 100000; i++) {
		sleep_ms(10);
		assert_int_equal(ioctl(f.fd, FIONREAD, &queued), 0);
	}
	assert_true(queued >= 100000);
	assert_false(__atomic_load_n(&sc.big_done, __ATOMIC_ACQUIRE));

	fake_send(&f, notes, strlen(notes));
	if (!recorder_wait_count(&rec, 2, 3000))
		fail_msg("update not delivered while a writer was blocked");
	assert_false(__atomic_load_n(&sc.big_done, __ATOMIC_ACQUIRE));

	/* Now read: the whole big request, then the echo reply. */
	big = fake_recv(&f);
	assert_string_equal(json_string_value(json_object_get(big, "method")), "transact");
	echo_reply = fake_recv(&f);
	assert_string_equal(json_string_value(json_object_get(echo_reply, "id")), "e-2");
	assert_true(json_is_null(json_object_get(echo_reply, "error")));
	json_decref(j);
	free(s);
	j = json_pack("{s:O,s:[{}],s:n}", "id", json_object_get(big, "id"), "result", "error");
	s = dump(j);
	fake_send(&f, s, strlen(s));

	assert_int_equal(pthread_join(t, NULL), 0);
	fake_close(&f);
	assert_int_equal(sc.r_monitor, 0);
	assert_int_equal(sc.r_big, 0);
	free(sc.msg);
	recorder_done(&rec);
}

/* ---- live tests against ovsdb-server ---- */

static void test_insert_select(void **state)
{
	struct ovsdb_client *c;
	const char *const other[] = { "subnet", "10.1.0.0/24", "mcast_snoop", "true", NULL };
	const char *const ext[] = { "kuryr:net", "net-1", "kuryr:owner", "test", NULL };
	json_auto_t *ops = NULL, *res = NULL, *rows = NULL;
	_cleanup_free_ char *msg = NULL;
	const char *uuid, *names[2] = {};
	json_t *row;

	require_server();
	c = connect_main();

	ops =
	    json_pack("[{s:s,s:s,s:s,s:{s:s,s:o,s:o}}]", "op", "insert", "table", "Logical_Switch",
		      "uuid-name", "ls", "row", "name", "kuryr-test-ls-1", "other_config",
		      ovsdb_string_map(other), "external_ids", ovsdb_string_map(ext));
	assert_non_null(ops);
	assert_int_equal(tx(c, TAKE_PTR(ops), &res, &msg), 0);
	assert_null(msg);
	uuid = ovsdb_datum_uuid(json_object_get(json_array_get(res, 0), "uuid"));
	assert_non_null(uuid);

	rows = select_switches(c, where_name("kuryr-test-ls-1"));
	assert_int_equal(json_array_size(rows), 1);
	row = json_array_get(rows, 0);
	assert_string_equal(ovsdb_datum_uuid(json_object_get(row, "_uuid")), uuid);
	assert_int_equal(ovsdb_datum_strings(json_object_get(row, "name"), names, 2), 1);
	assert_string_equal(names[0], "kuryr-test-ls-1");
	assert_string_equal(ovsdb_map_get(json_object_get(row, "other_config"), "subnet"),
			    "10.1.0.0/24");
	assert_string_equal(ovsdb_map_get(json_object_get(row, "other_config"), "mcast_snoop"),
			    "true");
	assert_string_equal(ovsdb_map_get(json_object_get(row, "external_ids"), "kuryr:net"),
			    "net-1");
	assert_string_equal(ovsdb_map_get(json_object_get(row, "external_ids"), "kuryr:owner"),
			    "test");
	assert_null(ovsdb_map_get(json_object_get(row, "external_ids"), "subnet"));
	/* No ports were given: an empty set. */
	assert_int_equal(ovsdb_datum_strings(json_object_get(row, "ports"), NULL, 0), 0);
	assert_json_eq(json_object_get(row, "ports"), "[\"set\", []]");

	ovsdb_client_free(c);
}

static void test_op_error_rolls_back(void **state)
{
	struct ovsdb_client *c;
	json_auto_t *rows = NULL;
	_cleanup_free_ char *msg = NULL;
	json_t *res = NULL;
	json_t *ops;

	require_server();
	c = connect_main();

	/* A good insert then a bad one: the transaction fails as a whole. */
	ops = json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:s}}]", "op", "insert", "table",
			"Logical_Switch", "row", "name", "kuryr-test-rollback", "op", "insert",
			"table", "Logical_Switch", "row", "kuryr_bogus_column", "x");
	assert_int_equal(tx(c, ops, &res, &msg), -EPROTO);
	assert_null(res);
	assert_non_null(msg);
	if (!strstr(msg, "kuryr_bogus_column"))
		fail_msg("message does not name the column: %s", msg);

	rows = select_switches(c, where_name("kuryr-test-rollback"));
	assert_int_equal(json_array_size(rows), 0);
	ovsdb_client_free(c);
}

static void test_constraint_violation(void **state)
{
	struct ovsdb_client *c;
	_cleanup_free_ char *msg = NULL;
	json_auto_t *res = NULL;
	json_t *ops;

	require_server();
	c = connect_main();

	/* Address_Set is indexed on name. */
	ops = json_pack("[{s:s,s:s,s:{s:s}},{s:s,s:s,s:{s:s}}]", "op", "insert", "table",
			"Address_Set", "row", "name", "kuryr_test_as", "op", "insert", "table",
			"Address_Set", "row", "name", "kuryr_test_as");
	assert_int_equal(tx(c, ops, NULL, &msg), -EEXIST);
	assert_non_null(msg);
	assert_true(strncmp(msg, "constraint violation: ", 22) == 0);

	/* ovsdb-server reports this as an extra result after two successful
	 * looking inserts; neither may have landed. */
	ops = json_pack("[{s:s,s:s,s:o}]", "op", "select", "table", "Address_Set", "where",
			json_pack("[o]", ovsdb_cond("name", "==", json_string("kuryr_test_as"))));
	assert_int_equal(tx(c, ops, &res, NULL), 0);
	assert_int_equal(json_array_size(json_object_get(json_array_get(res, 0), "rows")), 0);
	ovsdb_client_free(c);
}

static void test_unknown_database(void **state)
{
	struct ovsdb_client *c;
	_cleanup_free_ char *msg = NULL;
	json_t *res = NULL;

	require_server();
	c = connect_main();
	assert_int_equal(
	    ovsdb_transact(c, "Kuryr_No_Such_DB", json_array(), TIMEOUT_MS, &res, &msg), -EPROTO);
	assert_null(res);
	assert_non_null(msg);
	if (!strstr(msg, "unknown database"))
		fail_msg("unexpected message: %s", msg);
	/* The connection stays usable. */
	assert_true(ovsdb_client_connected(c));
	json_decref(select_switches(c, where_name("kuryr-test-none")));
	ovsdb_client_free(c);
}

static json_t *wait_for_switch_op(const char *name, int timeout_ms)
{
	return json_pack("[{s:s,s:s,s:i,s:o,s:[s],s:s,s:[{s:s}]}]", "op", "wait", "table",
			 "Logical_Switch", "timeout", timeout_ms, "where", where_name(name),
			 "columns", "name", "until", "==", "rows", "name", name);
}

static void test_wait_timeout_zero(void **state)
{
	struct ovsdb_client *c;
	_cleanup_free_ char *msg = NULL;
	json_t *res = NULL;

	require_server();
	c = connect_main();
	assert_int_equal(tx(c, wait_for_switch_op("kuryr-test-never", 0), &res, &msg), -ETIMEDOUT);
	assert_null(res);
	assert_non_null(msg);
	assert_true(strncmp(msg, "timed out", 9) == 0);
	assert_true(ovsdb_client_connected(c));
	ovsdb_client_free(c);
}

struct waiter {
	struct ovsdb_client *c;
	const char *name;
	int server_timeout_ms;
	int r;
	char *msg;
	double done_at;
	int done; /* atomic */
};

static void *waiter_main(void *userdata)
{
	struct waiter *w = userdata;

	w->r = ovsdb_transact(w->c, NB_DB, wait_for_switch_op(w->name, w->server_timeout_ms), 0,
			      NULL, &w->msg);
	w->done_at = now_s();
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static bool waiter_done(struct waiter *w)
{
	return __atomic_load_n(&w->done, __ATOMIC_ACQUIRE);
}

/* A "wait" the server holds open neither blocks other calls on the same
 * client (ours) nor other transactions on the same connection (the server's),
 * and completes when another connection makes it true. */
static void test_wait_until_other_client_inserts(void **state)
{
	struct ovsdb_client *c, *c2;
	static struct waiter w;
	json_auto_t *rows = NULL;
	pthread_t t;
	double t0, t1, inserted_at;

	require_server();
	c = connect_main();
	c2 = connect_main();
	w = (struct waiter){ .c = c, .name = "kuryr-test-waited", .server_timeout_ms = 15000 };
	assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
	sleep_ms(300);
	assert_false(waiter_done(&w));

	t0 = now_s();
	rows = select_switches(c, where_name("kuryr-test-waited"));
	t1 = now_s();
	assert_int_equal(json_array_size(rows), 0);
	assert_false(waiter_done(&w));
	print_message("# transact on the same connection while a wait op was pending: %.1f ms\n",
		      (t1 - t0) * 1000);
	assert_true(t1 - t0 < 2.0);

	inserted_at = now_s();
	insert_switch(c2, "kuryr-test-waited");
	assert_int_equal(pthread_join(t, NULL), 0);
	if (w.r != 0)
		fail_msg("wait failed: %d %s", w.r, w.msg ?: "");
	print_message("# wait completed %.1f ms after the other client's insert\n",
		      (w.done_at - inserted_at) * 1000);
	assert_true(w.done_at - inserted_at < 5.0);
	free(w.msg);
	ovsdb_client_free(c2);
	ovsdb_client_free(c);
}

static const char *insert_switch_uuid(struct ovsdb_client *c, const char *name, json_t **keep)
{
	_cleanup_free_ char *msg = NULL;
	json_t *ops = json_pack("[{s:s,s:s,s:{s:s,s:o}}]", "op", "insert", "table",
				"Logical_Switch", "row", "name", name, "external_ids",
				json_pack("[s,[[s,s]]]", "map", "kuryr-test", "monitor"));
	int r = tx(c, ops, keep, &msg);

	if (r < 0)
		fail_msg("insert %s: %d %s", name, r, msg ?: "");
	return ovsdb_datum_uuid(json_object_get(json_array_get(*keep, 0), "uuid"));
}

static void test_monitor(void **state)
{
	struct ovsdb_client *c, *c2;
	static struct recorder rec; /* the reader may outlive a failed test */
	json_auto_t *res_old = NULL, *res_new = NULL, *res_late = NULL, *row = NULL, *row2 = NULL,
		    *first = NULL;
	_cleanup_free_ char *msg = NULL, *msg2 = NULL, *msg3 = NULL, *msg4 = NULL;
	const char *old_uuid, *new_uuid;
	json_t *ops;
	size_t n;

	require_server();
	c = connect_main();
	c2 = connect_main();
	recorder_init(&rec);

	old_uuid = insert_switch_uuid(c2, "kuryr-test-mon-old", &res_old);
	assert_non_null(old_uuid);

	assert_int_equal(ovsdb_monitor(c, NB_DB, "kuryr-test-mon",
				       jparse("{\"Logical_Switch\":{\"columns\":"
					      "[\"name\",\"external_ids\"]}}"),
				       record_update, &rec, TIMEOUT_MS, &msg),
			 0);
	pthread_mutex_lock(&rec.lock);
	rec.monitor_returned = true;
	pthread_mutex_unlock(&rec.lock);

	/* The initial contents came through the callback before return. */
	assert_true(recorder_count(&rec) >= 1);
	pthread_mutex_lock(&rec.lock);
	first = json_incref(json_array_get(rec.updates, 0));
	pthread_mutex_unlock(&rec.lock);
	assert_string_equal(json_string_value(json_object_get(first, "id")), "kuryr-test-mon");
	assert_false(json_is_true(json_object_get(first, "after_return")));
	row = json_incref(json_object_get(
	    json_object_get(json_object_get(json_object_get(first, "u"), "Logical_Switch"),
			    old_uuid),
	    "new"));
	assert_non_null(row);
	assert_string_equal(json_string_value(json_object_get(row, "name")), "kuryr-test-mon-old");
	assert_string_equal(ovsdb_map_get(json_object_get(row, "external_ids"), "kuryr-test"),
			    "monitor");
	assert_null(json_object_get(row, "ports")); /* not monitored */

	/* A second id on the same client is fine; the same one is not. */
	assert_int_equal(ovsdb_monitor(c, NB_DB, "kuryr-test-mon",
				       jparse("{\"Logical_Switch\":{}}"), record_update, &rec,
				       TIMEOUT_MS, &msg2),
			 -EEXIST);
	assert_non_null(msg2);

	/* Someone else inserts a row: it arrives as an update with "new"
	 * and no "old". */
	n = recorder_count(&rec);
	new_uuid = insert_switch_uuid(c2, "kuryr-test-mon-new", &res_new);
	json_decref(row);
	row = recorder_wait_row(&rec, n, new_uuid, 5000);
	if (!row)
		fail_msg("no update for the inserted row within 5 s");
	assert_null(json_object_get(row, "old"));
	assert_string_equal(json_string_value(json_object_get(json_object_get(row, "new"), "name")),
			    "kuryr-test-mon-new");

	/* A modification carries the old values of changed columns. */
	n = recorder_count(&rec);
	ops =
	    json_pack("[{s:s,s:s,s:o,s:{s:s}}]", "op", "update", "table", "Logical_Switch", "where",
		      where_name("kuryr-test-mon-new"), "row", "name", "kuryr-test-mon-renamed");
	assert_int_equal(tx(c2, ops, NULL, &msg3), 0);
	row2 = recorder_wait_row(&rec, n, new_uuid, 5000);
	if (!row2)
		fail_msg("no update for the renamed row within 5 s");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(row2, "old"), "name")),
	    "kuryr-test-mon-new");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(row2, "new"), "name")),
	    "kuryr-test-mon-renamed");

	/* After cancel the callback is not called again. */
	assert_int_equal(ovsdb_monitor_cancel(c, "kuryr-test-mon", TIMEOUT_MS, &msg4), 0);
	assert_int_equal(ovsdb_monitor_cancel(c, "kuryr-test-mon", TIMEOUT_MS, NULL), -ENOENT);
	n = recorder_count(&rec);
	(void)insert_switch_uuid(c2, "kuryr-test-mon-late", &res_late);
	json_decref(select_switches(c, where_name("kuryr-test-mon-late")));
	sleep_ms(300);
	assert_int_equal(recorder_count(&rec), n);

	ovsdb_client_free(c2);
	ovsdb_client_free(c);
	recorder_done(&rec);
}

#define CONC_THREADS	8
#define CONC_PER_THREAD 50

struct conc {
	struct ovsdb_client *c;
	int idx;
	int failures;
	int first_error;
	char *first_msg;
};

static char conc_pad[1025];

static void *conc_main(void *userdata)
{
	struct conc *w = userdata;

	for (int i = 0; i < CONC_PER_THREAD; i++) {
		char name[64];
		char *msg = NULL;
		json_t *res = NULL;
		json_t *ops;
		int r;

		snprintf(name, sizeof(name), "kuryr-test-conc-%d-%d", w->idx, i);
		/* The padding makes the final select reply several times the
		 * client's initial receive buffer. */
		ops = json_pack("[{s:s,s:s,s:{s:s,s:[s,[[s,s],[s,s]]]}}]", "op", "insert", "table",
				"Logical_Switch", "row", "name", name, "external_ids", "map",
				"kuryr-test", "conc", "kuryr-test-pad", conc_pad);
		r = ovsdb_transact(w->c, NB_DB, ops, 30000, &res, &msg);
		if (r < 0 || !ovsdb_datum_uuid(json_object_get(json_array_get(res, 0), "uuid"))) {
			if (w->failures++ == 0) {
				w->first_error = r;
				w->first_msg = TAKE_PTR(msg);
			}
		}
		free(msg);
		json_decref(res);
	}
	return NULL;
}

static void test_concurrent_transacts(void **state)
{
	struct ovsdb_client *c;
	static struct conc w[CONC_THREADS];
	pthread_t t[CONC_THREADS];
	json_auto_t *rows = NULL, *seen = json_object();
	json_t *row;
	size_t i;
	double t0;

	require_server();
	memset(conc_pad, 'p', sizeof(conc_pad) - 1);
	c = connect_main();
	t0 = now_s();
	for (int k = 0; k < CONC_THREADS; k++) {
		w[k] = (struct conc){ .c = c, .idx = k };
		assert_int_equal(pthread_create(&t[k], NULL, conc_main, &w[k]), 0);
	}
	for (int k = 0; k < CONC_THREADS; k++)
		assert_int_equal(pthread_join(t[k], NULL), 0);
	print_message("# %d transacts from %d threads on one client: %.0f ms\n",
		      CONC_THREADS * CONC_PER_THREAD, CONC_THREADS, (now_s() - t0) * 1000);
	for (int k = 0; k < CONC_THREADS; k++) {
		if (w[k].failures)
			fail_msg("thread %d: %d failures, first %d %s", k, w[k].failures,
				 w[k].first_error, w[k].first_msg ?: "");
	}

	rows = select_switches(
	    c, json_pack("[o]", ovsdb_cond("external_ids", "includes",
					   json_pack("[s,[[s,s]]]", "map", "kuryr-test", "conc"))));
	assert_int_equal(json_array_size(rows), CONC_THREADS * CONC_PER_THREAD);
	json_array_foreach(rows, i, row) {
		const char *name = json_string_value(json_object_get(row, "name"));

		assert_non_null(name);
		assert_null(json_object_get(seen, name));
		json_object_set_new(seen, name, json_true());
		assert_string_equal(
		    ovsdb_map_get(json_object_get(row, "external_ids"), "kuryr-test-pad"),
		    conc_pad);
	}
	for (int k = 0; k < CONC_THREADS; k++)
		for (int n = 0; n < CONC_PER_THREAD; n++) {
			char name[64];

			snprintf(name, sizeof(name), "kuryr-test-conc-%d-%d", k, n);
			assert_non_null(json_object_get(seen, name));
		}
	ovsdb_client_free(c);
}

static struct ovsdb_client *connect_retry(const char *target)
{
	struct ovsdb_client *c = NULL;
	_cleanup_free_ char *msg = NULL;
	int r = -1;

	for (int i = 0; i < 500 && r < 0; i++) {
		free(msg);
		msg = NULL;
		r = ovsdb_client_connect(target, &c, &msg);
		if (r < 0)
			sleep_ms(10);
	}
	if (r < 0)
		fail_msg("server did not open %s: %d %s", target, r, msg ?: "");
	return c;
}

/* The port ovsdb-server bound for remote @target, from Connection:status. */
static int bound_port(struct ovsdb_client *c, const char *target)
{
	for (int i = 0; i < 100; i++) {
		_cleanup_free_ char *msg = NULL;
		json_auto_t *res = NULL;
		json_t *ops =
		    json_pack("[{s:s,s:s,s:[[s,s,s]],s:[s]}]", "op", "select", "table",
			      "Connection", "where", "target", "==", target, "columns", "status");
		const char *port;
		int r = tx(c, ops, &res, &msg);

		if (r < 0)
			fail_msg("select Connection: %d %s", r, msg ?: "");
		port = ovsdb_map_get(
		    json_object_get(
			json_array_get(json_object_get(json_array_get(res, 0), "rows"), 0),
			"status"),
		    "bound_port");
		if (port)
			return atoi(port);
		sleep_ms(100);
	}
	fail_msg("no bound_port for %s in Connection:status after 10 s", target);
	return -1;
}

/* Remotes from NB_Global:connections with a 1 s inactivity probe: the server
 * sends "echo" after 1 s of silence and drops a connection that has not
 * answered a second later. One unix socket, one TCP port picked by the kernel
 * and read back from Connection:status. */
static void test_echo_unix_and_tcp(void **state)
{
	struct ovsdb_client *c, *cu, *ct;
	_cleanup_free_ char *msg = NULL;
	json_auto_t *rows = NULL;
	char sock[96], target[128], tcp[64];
	json_t *ops;

	require_server();
	c = connect_main();
	snprintf(sock, sizeof(sock), "%s/probe.sock", fx.main.dir);
	snprintf(target, sizeof(target), "unix:%s", sock);
	ops =
	    json_pack("[{s:s,s:s,s:s,s:{s:o,s:i}},{s:s,s:s,s:s,s:{s:s,s:i}},"
		      "{s:s,s:s,s:{s:[s,[[s,s],[s,s]]]}}]",
		      "op", "insert", "table", "Connection", "uuid-name", "cu", "row", "target",
		      json_sprintf("punix:%s", sock), "inactivity_probe", 1000, "op", "insert",
		      "table", "Connection", "uuid-name", "ct", "row", "target", "ptcp:0:127.0.0.1",
		      "inactivity_probe", 1000, "op", "insert", "table", "NB_Global", "row",
		      "connections", "set", "named-uuid", "cu", "named-uuid", "ct");
	assert_non_null(ops);
	if (tx(c, ops, NULL, &msg) < 0)
		fail_msg("configuring remotes: %s", msg);

	cu = connect_retry(target);
	snprintf(tcp, sizeof(tcp), "tcp:127.0.0.1:%d", bound_port(c, "ptcp:0:127.0.0.1"));
	ct = connect_retry(tcp);

	sleep_ms(3500);
	assert_true(ovsdb_client_connected(cu));
	assert_true(ovsdb_client_connected(ct));
	insert_switch(ct, "kuryr-test-over-tcp");
	rows = select_switches(cu, where_name("kuryr-test-over-tcp"));
	assert_int_equal(json_array_size(rows), 1);
	ovsdb_client_free(ct);
	ovsdb_client_free(cu);
	ovsdb_client_free(c);
}

/* Freeing a client fails a call blocked in another thread and waits for it
 * to leave before the memory goes. */
static void test_free_with_pending_call(void **state)
{
	static struct waiter w;
	pthread_t t;

	require_server();
	w = (struct waiter){ .name = "kuryr-test-free-never", .server_timeout_ms = 30000 };
	w.c = connect_main();
	assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
	sleep_ms(300);
	assert_false(waiter_done(&w));
	ovsdb_client_free(w.c);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.r, -ECONNRESET);
	assert_non_null(w.msg);
	free(w.msg);
}

/* On a server of its own, which it kills. */
static void test_server_killed(void **state)
{
	struct test_server *s = &fx.aux;
	static struct waiter w;
	struct ovsdb_client *c = NULL;
	_cleanup_free_ char *msg = NULL, *msg2 = NULL;
	char why[PATH_MAX + 256];
	pthread_t t;

	require_server();
	if (server_start(s, why, sizeof(why)) < 0)
		fail_msg("second ovsdb-server: %s", why);
	assert_int_equal(ovsdb_client_connect(s->target, &c, &msg), 0);
	insert_switch(c, "kuryr-test-doomed");
	w = (struct waiter){ .c = c, .name = "kuryr-test-killed", .server_timeout_ms = 30000 };
	assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
	sleep_ms(200);
	assert_false(waiter_done(&w));

	server_kill(s, SIGKILL);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.r, -ECONNRESET);
	assert_non_null(w.msg);
	assert_false(ovsdb_client_connected(c));

	assert_int_equal(tx(c, json_array(), NULL, &msg2), -ECONNRESET);
	assert_non_null(strstr(msg2, "lost"));

	free(w.msg);
	ovsdb_client_free(c);
}

/* A session over several servers (a cluster's members) takes the first
 * that answers and leads; a standalone server leads itself. */
static void test_session_several_remotes(void **state)
{
	struct ovsdb_session *sess = NULL;
	_cleanup_free_ char *msg = NULL, *target = NULL;
	json_auto_t *res = NULL;

	require_server();
	assert_true(asprintf(&target, "unix:%s/none.sock,%s", fx.main.dir, fx.main.target) > 0);
	assert_int_equal(ovsdb_session_new(target, "OVN_Northbound", &sess, &msg), 0);
	assert_null(msg);
	assert_int_equal(ovsdb_session_transact(sess,
						json_pack("[{s:s, s:s, s:[]}]", "op", "select",
							  "table", "Logical_Switch", "where"),
						5000, &res, &msg),
			 0);
	assert_true(ovsdb_session_connected(sess));
	ovsdb_session_free(sess);
	sess = NULL;

	/* No server answers: the error names the database and the list. */
	free(target);
	assert_true(asprintf(&target, "unix:%s/none.sock,unix:%s/none2.sock", fx.main.dir,
			     fx.main.dir) > 0);
	assert_true(ovsdb_session_new(target, "OVN_Northbound", &sess, &msg) < 0);
	assert_null(sess);
	assert_non_null(strstr(msg, "no leader of OVN_Northbound among"));
	free(msg);
	msg = NULL;

	/* A malformed member is refused before any connection. */
	assert_int_equal(
	    ovsdb_session_new_lazy("unix:/x.sock,bogus:1", "OVN_Northbound", &sess, &msg), -EINVAL);
	assert_non_null(msg);
}

#define T(f) cmocka_unit_test_teardown(f, test_cleanup)

int main(void)
{
	const struct CMUnitTest unit[] = {
		T(test_uuid_helpers),
		T(test_string_set),
		T(test_string_map),
		T(test_cond),
		T(test_datum_strings),
		T(test_map_get),
		T(test_connect_bad_target),
		T(test_connect_missing),
		T(test_wire_fake_server),
		T(test_wire_garbage),
		T(test_wire_reader_not_blocked_by_writer),
	};
	const struct CMUnitTest live[] = {
		T(test_insert_select),
		T(test_op_error_rolls_back),
		T(test_constraint_violation),
		T(test_unknown_database),
		T(test_wait_timeout_zero),
		T(test_wait_until_other_client_inserts),
		T(test_monitor),
		T(test_concurrent_transacts),
		T(test_echo_unix_and_tcp),
		T(test_free_with_pending_call),
		T(test_server_killed),
		T(test_session_several_remotes),
	};
	struct CMUnitTest all[ELEMENTSOF(unit) + ELEMENTSOF(live)];
	size_t n = 0;

	cmocka_set_message_output(CM_OUTPUT_TAP);
	probe_tools();
	for (size_t i = 0; i < ELEMENTSOF(unit); i++)
		all[n++] = unit[i];
	if (fx.tools)
		for (size_t i = 0; i < ELEMENTSOF(live); i++)
			all[n++] = live[i];
	else
		printf("# skipping %zu live tests: %s\n", ELEMENTSOF(live), fx.why);
	fflush(stdout);
	return _cmocka_run_group_tests("ovsdb", all, n, group_setup, group_teardown);
}
